// The live page's files (agent/web/assets/), compiled into the binary at build
// time (agent/web/embed_assets.cmake), so the agent needs no files at run
// time and the page fetches nothing from elsewhere.
// Thread-safety: immutable data; any thread.
#pragma once

#include <string_view>

namespace txmon {

struct WebAsset {
  std::string_view path;  // "/" for index.html, else "/" + the file name
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path`, or null.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace txmon
