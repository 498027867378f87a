// The live order screen's routes on the agent's WebServer:
//   GET /              the page (agent/web/assets/index.html) and, at
//                      /NAME, its other files
//   GET /live/events   Server-Sent Events: each `data:` is one LiveBoard
//                      frame (JSON), several a second
// "/" is a subtree pattern (see WebServer), so it also answers 404 for the
// paths no other route takes.
//
// Threading: the handlers are thread-safe; `board` must outlive the server's
// use of them (stop the server first).
#pragma once

#include "agent/live/live_board.h"
#include "agent/web/web_server.h"

namespace txmon {

inline constexpr char kLiveEventsPath[] = "/live/events";

void RegisterLivePage(WebServer* web, const LiveBoard* board);

// The embedded file at the request's path (GET or HEAD), else 404.
HttpResponse ServeLivePageFile(const HttpRequest& request);

}  // namespace txmon
