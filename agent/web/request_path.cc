#include "agent/web/request_path.h"

#include <optional>
#include <vector>

namespace txmon {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a path ('+' is a plus here, unlike in a query).
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = HexValue(text[i + 1]);
    int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// "http://host:port/a" -> "/a"; a target in origin form is returned as is.
std::string_view OriginForm(std::string_view target) {
  size_t scheme_end = target.find("://");
  if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) {
    return target;
  }
  size_t path = target.find('/', scheme_end + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

}  // namespace

std::string CleanPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string clean;
  for (std::string_view segment : segments) clean.append("/").append(segment);
  if (clean.empty()) return "/";
  if (path.ends_with('/')) clean.push_back('/');
  return clean;
}

RequestPath ResolveRequestPath(std::string_view target) {
  RequestPath result;
  std::string_view origin = OriginForm(target);
  if (origin.empty() || origin.front() != '/') {
    result.reason = "the request target is not a path";
    return result;
  }
  std::optional<std::string> decoded = PercentDecode(origin);
  if (!decoded) {
    result.reason = "invalid percent-encoding in the path";
    return result;
  }
  if (decoded->find('\0') != std::string::npos) {
    result.reason = "NUL byte in the path";
    return result;
  }
  result.path = CleanPath(*decoded);
  result.verdict =
      result.path == *decoded ? RequestPath::Verdict::kServe : RequestPath::Verdict::kRedirect;
  return result;
}

}  // namespace txmon
