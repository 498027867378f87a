// WebServer: the agent's one HTTP server (CivetWeb). Everything the agent
// serves over HTTP is a handler registered here by path, so cross-cutting
// concerns (self-metrics, TLS, basic auth, extra headers) live in one place.
// With WebServerOptions::security every route, built-in or not, is behind the
// same TLS port and the same credentials, as with exporter-toolkit.
//
// Built-in routes: /-/healthy, /-/ready (from `ready`), /metrics (the
// `collect_metrics` families followed by the server's own families). Any other
// path without a handler answers 404.
//
// Streaming routes (HandleStream, e.g. Server-Sent Events) keep their
// connection, and so a CivetWeb worker thread, until the client goes or the
// server stops. At most `max_streams` run at once (more answer 503), and they
// get worker threads of their own on top of `threads`, so scrapes and API
// calls are never starved by open streams.
//
// Routing follows Go's ServeMux: a pattern ending in '/' matches its whole
// subtree ("/api/v1/rules/" matches "/api/v1/rules/x"), any other pattern
// matches only itself; the longest matching pattern wins. The path routed
// is the request's, decoded and cleaned once (request_path.h): a NUL or a
// broken escape is 400 and an unclean path is redirected, as Go's server
// does, and so are two disagreeing Content-Length headers (400).
//
// Memory: after a large request (a body of 64 KiB or more, a response of
// 1 MiB or more) the heap's free pages are handed back to the system once
// no other large request is running, so a burst does not leave RSS at its
// peak.
//
// Threading: handlers and the option callbacks run concurrently on CivetWeb's
// worker threads, so they must be thread-safe. Handle() and
// CollectSelfMetrics() may be called from any thread at any time. Stop() (and
// the destructor) waits for running handlers, so it must not be called from
// one, nor from two threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include <vector>
#include "agent/base/status.h"

#include <prometheus/metric_family.h>

#include "agent/web/coalesced_render.h"
#include "agent/web/connection_limiter.h"
#include "agent/web/request_stats.h"
#include "agent/web/web_security.h"

struct mg_connection;
struct mg_context;
struct mg_request_info;

namespace txmon {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One request as a handler sees it. Copies, so a handler may keep it.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // URL-decoded and cleaned, without the query string
  std::string query;   // raw query string after '?', without the '?'
  std::string body;
  HttpHeaders headers;
  std::string remote_address;

  // The first header of that name (compared case-insensitively), or "".
  std::string_view Header(std::string_view name) const;
  // The URL-decoded value of query parameter `name`, if present.
  std::optional<std::string> QueryParameter(std::string_view name) const;
  // Every URL-decoded value of a repeated parameter (`match[]=a&match[]=b`).
  std::vector<std::string> QueryParameters(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HttpHeaders headers;  // extra headers; Content-Type and Content-Length are set from the fields
  // Set only by HandleStream's routes: writes the body piece by piece after
  // the headers (sent without Content-Length), on the request's thread.
  std::function<void(mg_connection*)> stream_body;

  static HttpResponse Text(int status, std::string body);
  // 405 with an Allow header listing the methods the route takes.
  static HttpResponse MethodNotAllowed(std::string allowed,
                                       std::string body = "Method Not Allowed");
};

// The body of a streamed response, as its StreamHandler sees it.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends `bytes` now; false once the client has gone or the server is
  // stopping, after which the handler should return.
  virtual bool Write(std::string_view bytes) = 0;
  // False once the server is stopping: a handler waiting for data must
  // look at it at least every few hundred milliseconds and then return.
  virtual bool Open() const = 0;
};

// Runs for the whole life of one streamed response, on its worker thread.
using StreamHandler = std::function<void(const HttpRequest&, ResponseStream&)>;

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Wraps `handler` so that it runs on a thread with a large, known stack
// (base/large_stack.h) rather than on CivetWeb's small worker stack: for
// handlers that parse, evaluate or print PromQL, or reload rule files.
HttpHandler OnLargeStack(HttpHandler handler);

using MetricsCollector = std::function<std::vector<prometheus::MetricFamily>()>;

struct WebServerOptions {
  // Prometheus style: ":9464" (all interfaces), "127.0.0.1:9464",
  // "[::1]:9464", "localhost:9464". Port 0 picks a free port; see port().
  std::string listen_address = ":9464";
  // CivetWeb worker threads for ordinary requests: how many are served at
  // once. Streams have max_streams threads more, of their own.
  int threads = 8;
  // CivetWeb holds a worker thread per open connection, from accept until
  // close, so connections that have not sent a request yet (idle, slow, in
  // a TLS handshake) get workers of their own on top of the above: that
  // many may wait at once without delaying a scrape. They cost a sleeping
  // thread each.
  int waiting_connections = 512;
  // Connections one client address may hold open; past it, its oldest idle
  // one is shut down (connection_limiter.h). 0: no limit.
  int max_connections_per_address = 64;
  // Time a connection has to send its complete request headers (and to
  // finish the TLS handshake), and the limit of each network read or write
  // after that. Bounds what an idle or slow client costs.
  int request_header_timeout_ms = 5000;
  // Added to the nice value of the worker threads. Under CPU contention the
  // kernel then favours the pipeline thread over serving HTTP, so a scrape
  // storm slows scrapes, not ingest. 0: same priority.
  int worker_nice = 10;
  // Streaming responses open at once; more answer 503.
  int max_streams = 8;
  // Requests whose body is larger are answered 413 without calling a handler.
  size_t max_request_body_bytes = 1 << 20;
  // /-/ready answers 200 while this returns true, else 503. Unset: ready.
  std::function<bool()> ready;
  // Families served on /metrics before the server's own. Unset: none.
  MetricsCollector collect_metrics;
  // TLS, basic auth and response headers (--web.config.file). Default: plain
  // HTTP, open to anyone who can reach the port.
  WebSecurity security;
};

class WebServer {
 public:
  // Starts serving at once, into `out`. An error (e.g. "listen
  // 127.0.0.1:9464: address in use") if the address is bad or cannot be bound.
  static Status Start(WebServerOptions options, std::unique_ptr<WebServer>* out);

  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // "https" when serving TLS, else "http".
  const char* scheme() const { return options_.security.tls ? "https" : "http"; }
  // The bound port (the real one when the options asked for port 0).
  int port() const { return port_; }
  // The listen address with the bound port, e.g. "127.0.0.1:41234", ":9464".
  const std::string& address() const { return address_; }

  // Registers (or replaces) the handler for `pattern`; see routing above.
  // The pattern doubles as the `handler` label of the self-metrics.
  // `max_body_bytes` bounds this route's request bodies (larger: 413
  // unread); 0 keeps WebServerOptions::max_request_body_bytes.
  void Handle(std::string pattern, HttpHandler handler, size_t max_body_bytes = 0);

  // Registers a streaming GET route: `handler` writes the body of type
  // `content_type` (e.g. "text/event-stream") for as long as it runs. Its
  // requests pass the same routing, instrumentation (counted when the
  // stream starts) and checks as any other.
  void HandleStream(std::string pattern, std::string content_type, StreamHandler handler);

  // Stops accepting, waits for running handlers, and closes the port.
  // Idempotent.
  void Stop();

  // txmon_http_requests_total{handler,code} and
  // txmon_http_request_duration_seconds{handler}. Requests that match no
  // pattern are counted with handler="other". A request is counted before its
  // response is sent, so a client that has a response sees it counted.
  std::vector<prometheus::MetricFamily> CollectSelfMetrics() const;

 private:
  explicit WebServer(WebServerOptions options);

  static int OnRequest(mg_connection* connection, void* self);
  static int OnLogMessage(const mg_connection* connection, const char* message);
  static int OnInitSsl(void* ssl_context, void* self);
  static void* OnInitThread(const mg_context* context, int thread_type);
  static int OnInitConnection(const mg_connection* connection, void** connection_data);
  static void OnConnectionClose(const mg_connection* connection);

  struct RouteEntry {
    HttpHandler handler;
    size_t max_body_bytes = 0;
  };

  void InstallBuiltInRoutes();
  std::shared_ptr<const RouteEntry> Route(const std::string& path, std::string* pattern) const;
  HttpResponse Respond(mg_connection* connection, const mg_request_info& info, HttpRequest& request,
                       std::string* handler_label);
  HttpResponse RunHandler(const RouteEntry& route, const HttpRequest& request,
                          const std::string& handler_label);
  // Gives the heap's free pages back to the system once the last large
  // request in flight has finished (see web_server.cc).
  void ReleaseMemoryAfter(size_t request_bytes, size_t response_bytes);
  HttpResponse ServeMetrics();
  std::string RenderMetrics() const;
  // 401 with a challenge unless the request carries valid credentials.
  std::optional<HttpResponse> Authenticate(const HttpRequest& request);
  void Record(const std::string& handler_label, int status, double seconds);
  std::string StartError(const std::string& listen_address, const std::string& civetweb_error);
  HttpResponse StartStream(const HttpRequest& request, const std::string& content_type,
                           std::shared_ptr<const StreamHandler> handler);
  void ServeStream(mg_connection* connection, const HttpRequest& request,
                   const StreamHandler& handler) const;

  const WebServerOptions options_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  std::string address_;
  std::string local_host_;  // where Stop() connects to wake the accept loop
  BasicAuthenticator authenticator_;

  mutable std::shared_mutex routes_mutex_;
  std::map<std::string, std::shared_ptr<const RouteEntry>> routes_;
  std::atomic<int> large_requests_in_flight_{0};

  RequestStats request_stats_;
  // Concurrent scrapes share one rendering of /metrics.
  CoalescedRender metrics_render_;

  ConnectionLimiter connection_limiter_;

  std::atomic<int> open_streams_{0};
  std::atomic<bool> stopping_{false};  // set when Stop begins: streams end

  // CivetWeb explains a failed start only through its log callback.
  std::atomic<bool> started_{false};
  std::mutex start_log_mutex_;
  std::vector<std::string> start_log_;
  std::string tls_error_;  // why OnInitSsl refused, reported by Start
};

}  // namespace txmon
