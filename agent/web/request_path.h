// The path a request is routed by, made from the request target exactly
// once, as Go's net/http does for Prometheus: percent-decoded, then cleaned
// of "." and ".." segments and repeated slashes.
//
// A target that decodes to a NUL byte, or has a broken escape, is refused
// (400): C strings end at a NUL, so "/metrics%00.txt" must not become
// "/metrics" somewhere downstream. A target whose decoded path is not clean
// ("/x/%2e%2e%2fmetrics" decodes to "/x/../metrics") is redirected to the
// clean path, as Go's ServeMux does, so no route ever answers for a path
// other than its own.
#pragma once

#include <string>
#include <string_view>

namespace txmon {

struct RequestPath {
  enum class Verdict { kServe, kRedirect, kBad };
  Verdict verdict = Verdict::kBad;
  std::string path;    // kServe: the path to route; kRedirect: where to
  std::string reason;  // kBad: why, for the 400 body
};

// `target` is the request target without its query string: "/a/b",
// "/a%20b", or absolute "http://host/a".
RequestPath ResolveRequestPath(std::string_view target);

// Go's path.Clean for a rooted path, keeping a trailing slash as ServeMux
// does: "/a//b/./c/.." -> "/a/b", "/a/b/" -> "/a/b/", "" -> "/".
std::string CleanPath(std::string_view path);

}  // namespace txmon
