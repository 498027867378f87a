#include "agent/web/live_page.h"

#include "agent/web/web_assets.h"

namespace txmon {

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
      [board](const HttpRequest&, ResponseStream& stream) { board->ServeEvents(stream); });
}

}  // namespace txmon
