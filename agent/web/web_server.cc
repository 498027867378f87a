#include "agent/web/web_server.h"

#include <civetweb.h>
#include <malloc.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

#include "agent/base/large_stack.h"
#include "agent/base/log.h"
#include "agent/web/metrics_text.h"
#include "agent/web/request_path.h"
#include "agent/web/tls_context.h"

namespace txmon {

namespace {

constexpr char kComponent[] = "web";
constexpr char kUnmatchedHandlerLabel[] = "other";
constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// From half a millisecond (a /-/healthy probe) to seconds (a slow scrape).
struct ListenAddress {
  std::string host;  // without brackets; empty means all interfaces
  bool ipv6 = false;
  int port = 0;
};

std::optional<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

// "[host]:port" as Prometheus (Go's net.SplitHostPort) accepts it.
std::optional<ListenAddress> ParseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::optional<int> port = ParsePort(text.substr(colon + 1));
  if (!port) return std::nullopt;
  ListenAddress address;
  address.port = *port;
  std::string_view host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    address.ipv6 = true;
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return std::nullopt;
  }
  address.host = std::string(host);
  return address;
}

bool CivetwebHasIpv6() { return mg_check_feature(MG_FEATURES_IPV6) != 0; }

// CivetWeb's "listening_ports" syntax: "PORT" is every IPv4 interface, "+PORT"
// every IPv4 and IPv6 interface; a trailing "s" makes it a TLS port.
std::string CivetwebListeningPort(const ListenAddress& address, bool tls) {
  std::string port = std::to_string(address.port) + (tls ? "s" : "");
  if (address.ipv6) return "[" + address.host + "]:" + port;
  if (address.host.empty()) return CivetwebHasIpv6() ? "+" + port : port;
  return address.host + ":" + port;
}

std::string FormatAddress(const ListenAddress& address, int port) {
  std::string host = address.ipv6 ? "[" + address.host + "]" : address.host;
  return host + ":" + std::to_string(port);
}

// A host a local client can connect to for this listen address.
std::string LocalHost(const ListenAddress& address) {
  if (address.host.empty() || address.host == "0.0.0.0") return "127.0.0.1";
  if (address.host == "::") return "::1";
  return address.host;
}

void ConnectAndClose(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses) != 0) return;
  int socket_fd = socket(addresses->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket_fd >= 0) {
    (void)connect(socket_fd, addresses->ai_addr, addresses->ai_addrlen);
    close(socket_fd);
  }
  freeaddrinfo(addresses);
}

// Initializes CivetWeb once per process, with TLS when OpenSSL can be loaded
// (see civetweb_openssl3.cc). Returns whether TLS is available.
bool InitCivetwebOnce() {
  static const bool tls = (mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) != 0;
  return tls;
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// CivetWeb reports "cannot bind to 127.0.0.1:9464: 98 (Address already in use)";
// the reason is the part in parentheses.
std::optional<std::string> BindFailureReason(const std::string& message) {
  if (message.find("cannot bind") == std::string::npos) return std::nullopt;
  size_t open = message.rfind('(');
  size_t close = message.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return message;
  std::string reason = ToLower(std::string_view(message).substr(open + 1, close - open - 1));
  if (reason == "address already in use") return "address in use";
  return reason;
}

HttpRequest ToRequest(const mg_request_info& info) {
  HttpRequest request;
  request.method = info.request_method ? info.request_method : "";
  request.path = info.local_uri ? info.local_uri : "";
  request.query = info.query_string ? info.query_string : "";
  request.remote_address = info.remote_addr;
  for (int i = 0; i < info.num_headers; ++i) {
    request.headers.emplace_back(info.http_headers[i].name, info.http_headers[i].value);
  }
  return request;
}

// Reads the whole body; false if it is larger than `limit`.
bool ReadBody(mg_connection* connection, long long content_length, size_t limit,
              std::string* body) {
  if (content_length > static_cast<long long>(limit)) return false;
  if (content_length > 0) body->reserve(static_cast<size_t>(content_length));
  char buffer[16 * 1024];
  for (;;) {
    int read = mg_read(connection, buffer, sizeof buffer);
    if (read <= 0) return true;
    if (body->size() + static_cast<size_t>(read) > limit) return false;
    body->append(buffer, static_cast<size_t>(read));
  }
}

void WriteResponse(mg_connection* connection, const HttpResponse& response,
                   const std::map<std::string, std::string>& extra_headers, bool send_body) {
  mg_response_header_start(connection, response.status);
  for (const auto& [name, value] : extra_headers) {
    mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_add(connection, "Content-Type", response.content_type.c_str(), -1);
  if (!response.stream_body) {
    mg_response_header_add(connection, "Content-Length",
                           std::to_string(response.body.size()).c_str(), -1);
  }
  for (const auto& [name, value] : response.headers) {
    mg_response_header_add(connection, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(connection);
  if (response.stream_body) {
    if (send_body) response.stream_body(connection);
    return;
  }
  if (send_body && !response.body.empty()) {
    mg_write(connection, response.body.data(), response.body.size());
  }
}

// Built-in routes are read-only: GET and HEAD.
HttpHandler GetOnly(std::function<HttpResponse()> serve) {
  return [serve = std::move(serve)](const HttpRequest& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      return HttpResponse::MethodNotAllowed("GET, HEAD");
    }
    return serve();
  };
}

// A streamed body over one CivetWeb connection. mg_write itself gives up
// once CivetWeb is stopping, so a write to a stalled client cannot hold up
// Stop for longer than CivetWeb's own stop.
class ConnectionStream final : public ResponseStream {
 public:
  ConnectionStream(mg_connection* connection, const std::atomic<bool>* stopping)
      : connection_(connection), stopping_(stopping) {}

  bool Write(std::string_view bytes) override {
    if (!Open()) return false;
    return mg_write(connection_, bytes.data(), bytes.size()) == static_cast<int>(bytes.size());
  }
  bool Open() const override { return !stopping_->load(); }

 private:
  mg_connection* const connection_;
  const std::atomic<bool>* const stopping_;
};

// One of the max_streams places, held by a stream's response from its start
// until the response is dropped (sent or not).
class StreamSlot {
 public:
  explicit StreamSlot(std::atomic<int>* open_streams) : open_streams_(open_streams) {}
  ~StreamSlot() { open_streams_->fetch_sub(1); }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  std::atomic<int>* const open_streams_;
};

// Requests this large (body in, or response out) leave freed memory behind
// in the heap arenas of the threads that served them; see
// ReleaseMemoryAfter.
constexpr size_t kLargeRequestBodyBytes = size_t{64} << 10;
constexpr size_t kLargeResponseBytes = size_t{1} << 20;

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Two Content-Length headers that disagree make the body's end ambiguous
// (the basis of request smuggling through a proxy): refused, as Go does.
bool HasConflictingContentLength(const mg_request_info& info) {
  std::optional<std::string_view> first;
  for (int i = 0; i < info.num_headers; ++i) {
    if (ToLower(info.http_headers[i].name) != "content-length") continue;
    std::string_view value = TrimSpaces(info.http_headers[i].value);
    if (first && *first != value) return true;
    if (value.find(',') != std::string_view::npos) return true;  // "5, 6" in one header
    first = value;
  }
  return false;
}

// The request target as the client sent it, without the query string.
std::string_view RawTarget(const mg_request_info& info) {
  std::string_view target = info.request_uri ? info.request_uri : "";
  return target.substr(0, target.find('?'));
}

HttpResponse Redirect(const std::string& path, const std::string& query) {
  HttpResponse response = HttpResponse::Text(301, "Moved Permanently");
  response.headers.emplace_back("Location", query.empty() ? path : path + "?" + query);
  return response;
}

bool PatternMatches(const std::string& pattern, const std::string& path) {
  if (pattern.empty() || pattern.back() != '/') return pattern == path;
  return path.compare(0, pattern.size(), pattern) == 0;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [header, value] : headers) {
    if (header.size() == name.size() && ToLower(header) == ToLower(name)) return value;
  }
  return {};
}

std::optional<std::string> HttpRequest::QueryParameter(std::string_view name) const {
  std::string name_text(name);
  // A decoded value is never longer than the encoded query.
  std::string value(query.size() + 1, '\0');
  int length =
      mg_get_var(query.data(), query.size(), name_text.c_str(), value.data(), value.size());
  if (length < 0) return std::nullopt;
  value.resize(static_cast<size_t>(length));
  return value;
}

std::vector<std::string> HttpRequest::QueryParameters(std::string_view name) const {
  std::string name_text(name);
  std::vector<std::string> values;
  std::string value(query.size() + 1, '\0');
  for (size_t occurrence = 0;; ++occurrence) {
    int length = mg_get_var2(query.data(), query.size(), name_text.c_str(), value.data(),
                             value.size(), occurrence);
    if (length < 0) break;
    values.emplace_back(value.data(), static_cast<size_t>(length));
  }
  return values;
}

HttpResponse HttpResponse::MethodNotAllowed(std::string allowed, std::string body) {
  HttpResponse response = Text(405, std::move(body));
  response.headers.emplace_back("Allow", std::move(allowed));
  return response;
}

HttpHandler OnLargeStack(HttpHandler handler) {
  return [handler = std::move(handler)](const HttpRequest& request) {
    HttpResponse response;
    RunOnLargeStack([&] { response = handler(request); });
    return response;
  };
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

WebServer::WebServer(WebServerOptions options)
    : options_(std::move(options)),
      authenticator_(options_.security.users),
      metrics_render_([this] { return RenderMetrics(); }),
      connection_limiter_(options_.max_connections_per_address) {}

WebServer::~WebServer() { Stop(); }

Status WebServer::Start(WebServerOptions options, std::unique_ptr<WebServer>* out) {
  const std::string listen_address = options.listen_address;
  std::optional<ListenAddress> address = ParseListenAddress(listen_address);
  if (!address) {
    return Status::Error("listen " + listen_address + ": invalid address, want [host]:port");
  }
  if (address->ipv6 && !CivetwebHasIpv6()) {
    return Status::Error("listen " + listen_address +
                         ": IPv6 is not supported by the installed CivetWeb");
  }
  const bool tls = options.security.tls.has_value();
  if (!InitCivetwebOnce() && tls) {
    return Status::Error(
        "listen " + listen_address +
        ": TLS is not available: CivetWeb could not load OpenSSL (libssl.so, libcrypto.so)");
  }

  std::unique_ptr<WebServer> server(new WebServer(std::move(options)));
  server->InstallBuiltInRoutes();
  const std::string listening_port = CivetwebListeningPort(*address, tls);
  const std::string threads = std::to_string(std::max(1, server->options_.threads) +
                                             std::max(0, server->options_.max_streams) +
                                             std::max(0, server->options_.waiting_connections));
  const std::string timeout =
      std::to_string(std::max(1, server->options_.request_header_timeout_ms));
  // The accept queue must hold a burst of connections while workers pick
  // them up; CivetWeb's default of 20 makes the accept loop stall instead.
  // decode_url=no: the path reaches us as sent and is decoded once, by
  // ResolveRequestPath; CivetWeb's own decoding ends the path at a %00.
  const char* civetweb_options[] = {"listening_ports",
                                    listening_port.c_str(),
                                    "num_threads",
                                    threads.c_str(),
                                    "request_timeout_ms",
                                    timeout.c_str(),
                                    "connection_queue",
                                    "256",
                                    "listen_backlog",
                                    "1024",
                                    "decode_url",
                                    "no",
                                    nullptr};
  mg_callbacks callbacks = {};
  callbacks.log_message = &WebServer::OnLogMessage;
  if (tls) callbacks.init_ssl = &WebServer::OnInitSsl;
  callbacks.init_thread = &WebServer::OnInitThread;
  callbacks.init_connection = &WebServer::OnInitConnection;
  callbacks.connection_close = &WebServer::OnConnectionClose;
  mg_init_data init = {&callbacks, server.get(), civetweb_options};
  unsigned error_code = 0;
  char error_text[256] = "";
  mg_error_data error_data = {&error_code, error_text, sizeof error_text};
  server->context_ = mg_start2(&init, &error_data);
  if (server->context_ == nullptr) {
    return Status::Error(server->StartError(listen_address, error_text));
  }
  server->started_ = true;

  mg_server_port ports[4] = {};
  int port_count = mg_get_server_ports(server->context_, 4, ports);
  server->port_ = port_count > 0 ? ports[0].port : address->port;
  server->address_ = FormatAddress(*address, server->port_);
  server->local_host_ = LocalHost(*address);
  // One catch-all CivetWeb handler; routing is ours so that every request,
  // including a 404, passes the same instrumentation (and later, auth).
  mg_set_request_handler(server->context_, "/", &WebServer::OnRequest, server.get());
  Log(LogLevel::kInfo, kComponent, "Listening on",
      {{"address", server->address_},
       {"tls", tls ? "true" : "false"},
       {"basic_auth_users", std::to_string(server->options_.security.users.size())}});
  *out = std::move(server);
  return Status::Ok();
}

std::string WebServer::StartError(const std::string& listen_address,
                                  const std::string& civetweb_error) {
  std::lock_guard<std::mutex> lock(start_log_mutex_);
  if (!tls_error_.empty()) return "listen " + listen_address + ": TLS: " + tls_error_;
  for (const std::string& message : start_log_) {
    if (std::optional<std::string> reason = BindFailureReason(message)) {
      return "listen " + listen_address + ": " + *reason;
    }
  }
  std::string detail = !start_log_.empty()       ? start_log_.front()
                       : !civetweb_error.empty() ? civetweb_error
                                                 : "cannot start the web server";
  return "listen " + listen_address + ": " + detail;
}

void WebServer::Stop() {
  if (context_ == nullptr) return;
  stopping_ = true;  // streams return, so mg_stop need not wait for them
  // CivetWeb's accept loop looks at its stop flag only between polls of up to
  // 2 s; a connection (closed at once, so no worker waits on it) ends the
  // poll early. Repeated because the first may arrive before the flag is set.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped) {
      ConnectAndClose(local_host_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(context_);
  stopped = true;
  waker.join();
  context_ = nullptr;
  Log(LogLevel::kInfo, kComponent, "Stopped", {{"address", address_}});
}

void WebServer::Handle(std::string pattern, HttpHandler handler, size_t max_body_bytes) {
  auto shared = std::make_shared<const RouteEntry>(RouteEntry{std::move(handler), max_body_bytes});
  std::unique_lock<std::shared_mutex> lock(routes_mutex_);
  routes_[std::move(pattern)] = std::move(shared);
}

void WebServer::HandleStream(std::string pattern, std::string content_type, StreamHandler handler) {
  auto shared = std::make_shared<const StreamHandler>(std::move(handler));
  Handle(std::move(pattern),
         [this, content_type = std::move(content_type), shared](const HttpRequest& request) {
           return StartStream(request, content_type, shared);
         });
}

HttpResponse WebServer::StartStream(const HttpRequest& request, const std::string& content_type,
                                    std::shared_ptr<const StreamHandler> handler) {
  if (request.method != "GET" && request.method != "HEAD")
    return HttpResponse::MethodNotAllowed("GET, HEAD");
  if (open_streams_.fetch_add(1) >= options_.max_streams) {
    open_streams_.fetch_sub(1);
    HttpResponse busy = HttpResponse::Text(503, "Too many open streams");
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  auto slot = std::make_shared<StreamSlot>(&open_streams_);
  HttpResponse response;
  response.content_type = content_type;
  response.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  // `slot` rides along so that the place is freed with the response.
  response.stream_body = [this, request, handler, slot](mg_connection* connection) {
    ServeStream(connection, request, *handler);
  };
  return response;
}

void WebServer::ServeStream(mg_connection* connection, const HttpRequest& request,
                            const StreamHandler& handler) const {
  ConnectionStream stream(connection, &stopping_);
  try {
    handler(request, stream);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, kComponent, "Stream handler failed", {{"err", e.what()}});
  }
}

void WebServer::InstallBuiltInRoutes() {
  Handle("/-/healthy", GetOnly([] { return HttpResponse::Text(200, "Healthy"); }));
  Handle("/-/ready", GetOnly([this] {
           bool ready = !options_.ready || options_.ready();
           return ready ? HttpResponse::Text(200, "Ready") : HttpResponse::Text(503, "Not ready");
         }));
  Handle("/metrics", GetOnly([this] { return ServeMetrics(); }));
}

HttpResponse WebServer::ServeMetrics() {
  HttpResponse response;
  response.content_type = kMetricsContentType;
  response.body = *metrics_render_.Get();
  return response;
}

std::string WebServer::RenderMetrics() const {
  std::vector<prometheus::MetricFamily> families;
  if (options_.collect_metrics) families = options_.collect_metrics();
  std::vector<prometheus::MetricFamily> self = CollectSelfMetrics();
  families.insert(families.end(), std::make_move_iterator(self.begin()),
                  std::make_move_iterator(self.end()));
  return SerializeMetricsText(families);
}

std::vector<prometheus::MetricFamily> WebServer::CollectSelfMetrics() const {
  return request_stats_.Collect();
}

std::shared_ptr<const WebServer::RouteEntry> WebServer::Route(const std::string& path,
                                                              std::string* pattern) const {
  std::shared_lock<std::shared_mutex> lock(routes_mutex_);
  const std::string* best_pattern = nullptr;
  std::shared_ptr<const RouteEntry> best;
  for (const auto& [candidate, route] : routes_) {
    if (!PatternMatches(candidate, path)) continue;
    if (best_pattern == nullptr || candidate.size() > best_pattern->size()) {
      best_pattern = &candidate;
      best = route;
    }
  }
  if (best_pattern != nullptr) *pattern = *best_pattern;
  return best;
}

void WebServer::Record(const std::string& handler_label, int status, double seconds) {
  request_stats_.Record(handler_label, status, seconds);
}

int WebServer::OnRequest(mg_connection* connection, void* self) {
  auto* server = static_cast<WebServer*>(self);
  const auto started = std::chrono::steady_clock::now();
  const mg_request_info* info = mg_get_request_info(connection);
  server->connection_limiter_.MarkActive(
      reinterpret_cast<uintptr_t>(mg_get_user_connection_data(connection)));
  const bool large = info->content_length >= static_cast<long long>(kLargeRequestBodyBytes);
  if (large) server->large_requests_in_flight_.fetch_add(1);
  HttpRequest request = ToRequest(*info);
  std::string handler_label = kUnmatchedHandlerLabel;
  HttpResponse response = server->Respond(connection, *info, request, &handler_label);
  // Recorded before sending, so a client that has its response also sees it
  // counted; the duration is the time to produce the response.
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  server->Record(handler_label, response.status, elapsed.count());
  WriteResponse(connection, response, server->options_.security.headers, request.method != "HEAD");
  const int status = response.status;
  const size_t response_bytes = response.body.size();
  request = HttpRequest();  // freed before the heap is trimmed
  response = HttpResponse();
  if (large) server->large_requests_in_flight_.fetch_sub(1);
  server->ReleaseMemoryAfter(large ? kLargeRequestBodyBytes : 0, response_bytes);
  return status;
}

HttpResponse WebServer::Respond(mg_connection* connection, const mg_request_info& info,
                                HttpRequest& request, std::string* handler_label) {
  if (HasConflictingContentLength(info)) {
    return HttpResponse::Text(400, "Bad Request: conflicting Content-Length headers");
  }
  RequestPath resolved = ResolveRequestPath(RawTarget(info));
  if (resolved.verdict == RequestPath::Verdict::kBad) {
    return HttpResponse::Text(400, "Bad Request: " + resolved.reason);
  }
  std::shared_ptr<const RouteEntry> route;
  if (resolved.verdict == RequestPath::Verdict::kServe) {
    request.path = resolved.path;
    route = Route(request.path, handler_label);
  }
  if (std::optional<HttpResponse> refused = Authenticate(request)) return std::move(*refused);
  if (resolved.verdict == RequestPath::Verdict::kRedirect) {
    return Redirect(resolved.path, request.query);
  }
  if (!route) return HttpResponse::Text(404, "Not Found");
  const size_t limit =
      route->max_body_bytes > 0 ? route->max_body_bytes : options_.max_request_body_bytes;
  if (!ReadBody(connection, info.content_length, limit, &request.body)) {
    return HttpResponse::Text(413, "Request Entity Too Large");
  }
  return RunHandler(*route, request, *handler_label);
}

HttpResponse WebServer::RunHandler(const RouteEntry& route, const HttpRequest& request,
                                   const std::string& handler_label) {
  try {
    return route.handler(request);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, kComponent, "Handler failed",
        {{"handler", handler_label}, {"err", e.what()}});
    return HttpResponse::Text(500, "Internal Server Error");
  }
}

// glibc keeps memory a thread freed in that thread's arena, and CivetWeb
// runs hundreds of worker threads (plus a fresh large-stack thread per
// query), so a burst of large queries left RSS at its peak for good.
// malloc_trim hands every arena's free pages back; it walks the heaps
// (about a millisecond), so it runs only after large requests, once the
// last of a burst has finished.
void WebServer::ReleaseMemoryAfter(size_t request_bytes, size_t response_bytes) {
  if (request_bytes < kLargeRequestBodyBytes && response_bytes < kLargeResponseBytes) return;
  if (large_requests_in_flight_.load() > 0) return;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

std::optional<HttpResponse> WebServer::Authenticate(const HttpRequest& request) {
  if (!authenticator_.enabled() || authenticator_.Check(request.Header("Authorization"))) {
    return std::nullopt;
  }
  HttpResponse response = HttpResponse::Text(401, "Unauthorized");
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"txmon\", charset=\"UTF-8\"");
  return response;
}

void* WebServer::OnInitThread(const mg_context* context, int thread_type) {
  constexpr int kWorkerThread = 1;
  auto* server = static_cast<WebServer*>(mg_get_user_data(context));
  if (thread_type == kWorkerThread && server != nullptr && server->options_.worker_nice != 0) {
    // Linux applies a nice value per thread: this worker only.
    errno = 0;
    int current = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    if (errno == 0) {
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()),
                        current + server->options_.worker_nice);
    }
  }
  return nullptr;
}

int WebServer::OnInitConnection(const mg_connection* connection, void** connection_data) {
  auto* server = static_cast<WebServer*>(mg_get_user_data(mg_get_context(connection)));
  const mg_request_info* info = mg_get_request_info(connection);
  if (server == nullptr || info == nullptr) return 0;
  const uint64_t evicted_before = server->connection_limiter_.evicted();
  const uint64_t id =
      server->connection_limiter_.Admit(info->remote_addr, info->remote_port, info->server_port);
  const uint64_t evicted = server->connection_limiter_.evicted() - evicted_before;
  if (evicted > 0) server->request_stats_.CountEvicted(evicted);
  *connection_data = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  return 0;
}

void WebServer::OnConnectionClose(const mg_connection* connection) {
  auto* server = static_cast<WebServer*>(mg_get_user_data(mg_get_context(connection)));
  if (server == nullptr) return;
  // Ids are never reused, so a stale value left by an earlier connection of
  // this worker (a failed TLS handshake skips init) releases nothing.
  server->connection_limiter_.Release(
      reinterpret_cast<uintptr_t>(mg_get_user_connection_data(connection)));
}

int WebServer::OnInitSsl(void* ssl_context, void* self) {
  auto* server = static_cast<WebServer*>(self);
  std::string error;
  if (!ConfigureTlsContext(static_cast<SSL_CTX*>(ssl_context), *server->options_.security.tls,
                           &error)) {
    std::lock_guard<std::mutex> lock(server->start_log_mutex_);
    server->tls_error_ = error;
    return -1;
  }
  return 1;  // certificate and key are set: CivetWeb must not load its own
}

int WebServer::OnLogMessage(const mg_connection* connection, const char* message) {
  const mg_context* context = mg_get_context(connection);
  auto* server = context ? static_cast<WebServer*>(mg_get_user_data(context)) : nullptr;
  if (server != nullptr && !server->started_) {
    std::lock_guard<std::mutex> lock(server->start_log_mutex_);
    server->start_log_.emplace_back(message);
    return 1;
  }
  static LogRateLimit rate_limit(5);
  uint64_t suppressed = 0;
  if (rate_limit.Allow(&suppressed)) {
    Log(LogLevel::kWarn, kComponent, "CivetWeb",
        {{"err", message}, {"suppressed", std::to_string(suppressed)}});
  }
  return 1;  // handled: CivetWeb must not write its own log
}

}  // namespace txmon
