#include "agent/web/live_page.h"

#include <chrono>

#include "agent/web/web_assets.h"

namespace txmon {

namespace {

constexpr std::chrono::milliseconds kStreamPoll{250};
constexpr int kPollsPerKeepAlive = 8;

// Writes each new frame as an SSE "data:" event until the client goes or
// the server stops.
void ServeLiveEvents(const LiveBoard& board, ResponseStream& stream) {
  // A browser reconnects this soon after the stream breaks (agent restart).
  if (!stream.Write("retry: 2000\n\n")) return;
  uint64_t seen = 0;
  int quiet_polls = 0;
  while (stream.Open()) {
    LiveBoard::Frame frame = board.WaitForFrame(seen, kStreamPoll);
    if (frame.number == 0) {
      if (++quiet_polls < kPollsPerKeepAlive) continue;
      quiet_polls = 0;
      if (!stream.Write(": keep-alive\n\n")) return;
      continue;
    }
    quiet_polls = 0;
    seen = frame.number;
    if (!stream.Write("data: " + *frame.json + "\n\n")) return;
  }
}

}  // namespace

HttpResponse ServeLivePageFile(const HttpRequest& request) {
  const WebAsset* asset = FindWebAsset(request.path);
  if (asset == nullptr) return HttpResponse::Text(404, "Not Found");
  if (request.method != "GET" && request.method != "HEAD") {
    return HttpResponse::MethodNotAllowed("GET, HEAD");
  }
  HttpResponse response;
  response.content_type = std::string(asset->content_type);
  response.body = std::string(asset->body);
  // The files change only with the binary; revalidating each load is cheap.
  response.headers.emplace_back("Cache-Control", "no-cache");
  return response;
}

void RegisterLivePage(WebServer* web, const LiveBoard* board) {
  web->Handle("/", &ServeLivePageFile);
  web->HandleStream(
      kLiveEventsPath, "text/event-stream",
      [board](const HttpRequest&, ResponseStream& stream) { ServeLiveEvents(*board, stream); });
}

}  // namespace txmon
