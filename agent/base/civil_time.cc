#include "agent/base/civil_time.h"

#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace txmon {

namespace {

bool ReadDigits(std::string_view text, size_t pos, size_t count, int64_t* out) {
  if (pos + count > text.size()) return false;
  int64_t value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool Expect(std::string_view text, size_t pos, char c) {
  return pos < text.size() && text[pos] == c;
}

}  // namespace

std::optional<int64_t> ParseCivilMicros(std::string_view text) {
  int64_t year, month, day, hour = 0, minute = 0, second = 0, micros = 0;
  if (!ReadDigits(text, 0, 4, &year) || !Expect(text, 4, '-') || !ReadDigits(text, 5, 2, &month) ||
      !Expect(text, 7, '-') || !ReadDigits(text, 8, 2, &day)) {
    return std::nullopt;
  }
  if (text.size() > 10) {
    if (!(Expect(text, 10, ' ') || Expect(text, 10, 'T')) || !ReadDigits(text, 11, 2, &hour) ||
        !Expect(text, 13, ':') || !ReadDigits(text, 14, 2, &minute) || !Expect(text, 16, ':') ||
        !ReadDigits(text, 17, 2, &second)) {
      return std::nullopt;
    }
    if (text.size() > 19) {
      if (!Expect(text, 19, '.')) return std::nullopt;
      size_t digits = text.size() - 20;
      if (digits == 0 || digits > 6 || !ReadDigits(text, 20, digits, &micros)) return std::nullopt;
      for (size_t i = digits; i < 6; ++i) micros *= 10;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return seconds * 1'000'000 + micros;
}

Status LocalZone::Check(const std::string& name) {
  if (name != "UTC" && !std::filesystem::is_regular_file("/usr/share/zoneinfo/" + name)) {
    return Status::Error("unknown time zone \"" + name + "\" (no /usr/share/zoneinfo/" + name +
                         ")");
  }
  return Status::Ok();
}

Status LocalZone::Use(const std::string& name) {
  if (Status s = Check(name); !s.ok()) return s;
  setenv("TZ", name.c_str(), 1);
  tzset();
  return Status::Ok();
}

int64_t LocalZone::OffsetSecondsForLocalHour(int64_t local_hour) {
  CacheEntry& entry = cache_[static_cast<uint64_t>(local_hour) % cache_.size()];
  if (entry.local_hour == local_hour) return entry.offset_seconds;
  // Guess with the offset at the same instant read as UTC, then correct once:
  // exact except inside a DST gap or overlap, where either answer is a
  // reasonable reading of an ambiguous wall clock.
  const time_t local_seconds = static_cast<time_t>(local_hour * 3600);
  struct tm parts;
  localtime_r(&local_seconds, &parts);
  time_t guess = local_seconds - parts.tm_gmtoff;
  localtime_r(&guess, &parts);
  entry = {local_hour, parts.tm_gmtoff};
  return entry.offset_seconds;
}

std::optional<int64_t> LocalZone::ToEpochMicros(std::string_view text) {
  std::optional<int64_t> wall = ParseCivilMicros(text);
  if (!wall) return std::nullopt;
  int64_t local_hour = *wall / 3'600'000'000LL;
  if (*wall < 0 && *wall % 3'600'000'000LL != 0) --local_hour;
  return *wall - OffsetSecondsForLocalHour(local_hour) * 1'000'000;
}

}  // namespace txmon
