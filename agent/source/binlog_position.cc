#include "agent/source/binlog_position.h"

#include <charconv>
#include <cstdio>

namespace txmon {

namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string BinlogGtid::ToString() const {
  return std::to_string(domain) + "-" + std::to_string(server_id) + "-" + std::to_string(sequence);
}

std::optional<BinlogGtid> ParseBinlogGtid(std::string_view text) {
  const size_t first = text.find('-');
  const size_t second = first == std::string_view::npos ? first : text.find('-', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  BinlogGtid gtid;
  if (!ParseNumber(text.substr(0, first), &gtid.domain) ||
      !ParseNumber(text.substr(first + 1, second - first - 1), &gtid.server_id) ||
      !ParseNumber(text.substr(second + 1), &gtid.sequence)) {
    return std::nullopt;
  }
  return gtid;
}

bool SplitBinlogFileName(std::string_view file, std::string* base, uint32_t* sequence) {
  const size_t dot = file.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  if (!ParseNumber(file.substr(dot + 1), sequence)) return false;
  base->assign(file.substr(0, dot));
  return true;
}

std::string BinlogFileName(std::string_view base, uint32_t sequence) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06u", sequence);
  return std::string(base) + "." + digits;
}

std::string BinlogTopicFor(std::string_view file) {
  std::string base;
  uint32_t sequence = 0;
  if (!SplitBinlogFileName(file, &base, &sequence)) base.assign(file);
  return std::string(kBinlogTopicPrefix) + base;
}

bool BinlogOffsetFor(const BinlogFilePosition& end, int64_t* offset) {
  std::string base;
  uint32_t sequence = 0;
  if (!SplitBinlogFileName(end.file, &base, &sequence) || end.position == 0) return false;
  *offset = static_cast<int64_t>((static_cast<uint64_t>(sequence) << 32) | (end.position - 1));
  return true;
}

std::string BinlogGtidTopic(uint32_t domain) {
  return std::string(kBinlogGtidTopicPrefix) + std::to_string(domain);
}

int64_t BinlogGtidOffset(const BinlogGtid& gtid) { return static_cast<int64_t>(gtid.sequence) - 1; }

std::string BinlogResumePoint::GtidState() const {
  std::string state;
  for (const BinlogGtid& gtid : gtids) state += (state.empty() ? "" : ",") + gtid.ToString();
  return state;
}

BinlogResumePoint BinlogResumePointFrom(const std::vector<SourceOffset>& offsets) {
  BinlogResumePoint point;
  uint64_t best = 0;
  for (const SourceOffset& o : offsets) {
    const std::string_view topic = o.topic;
    if (topic.starts_with(kBinlogTopicPrefix) && o.next_offset > 0) {
      const auto next = static_cast<uint64_t>(o.next_offset);
      if (point.file_position && next <= best) continue;
      best = next;
      point.file_position =
          BinlogFilePosition{BinlogFileName(topic.substr(kBinlogTopicPrefix.size()),
                                            static_cast<uint32_t>(next >> 32)),
                             static_cast<uint32_t>(next & 0xffffffffu)};
    } else if (topic.starts_with(kBinlogGtidTopicPrefix)) {
      uint32_t domain = 0;
      if (!ParseNumber(topic.substr(kBinlogGtidTopicPrefix.size()), &domain)) continue;
      BinlogGtid gtid{domain, static_cast<uint32_t>(o.partition),
                      static_cast<uint64_t>(o.next_offset)};
      bool merged = false;
      for (BinlogGtid& known : point.gtids) {
        if (known.domain != domain) continue;
        if (gtid.sequence > known.sequence) known = gtid;
        merged = true;
      }
      if (!merged) point.gtids.push_back(gtid);
    }
  }
  return point;
}

}  // namespace txmon
