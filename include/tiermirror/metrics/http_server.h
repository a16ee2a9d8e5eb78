#pragma once
// A small, bounded HTTP/1.1 server (Boost.Beast) for /metrics and the status endpoints.
// It runs on an io thread of its own, so a slow scrape never delays the data path and a
// stuck data path cannot stop /healthz from answering 503.
//
// Bounds: at most `max_connections` connections (more are closed at once), request headers
// up to `max_header_bytes` (else 431 and close), bodies up to `max_body_bytes` (else 413 and
// close), every request must arrive within `read_timeout` of the previous response (else
// the connection is closed), a handler that does not answer within `handler_timeout` gets
// 503 on its behalf, and every response must be written within `write_timeout`.
// Only GET and HEAD are served. Nothing a handler throws escapes: the client gets 500.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace tiermirror::metrics {

struct HttpRequest {
  std::string method;  // GET or HEAD
  std::string path;    // target without the query, e.g. "/status"
  std::string query;   // after '?', "" if none
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Completes a request. Callable from any thread; the first call counts, later calls (and
/// calls after the handler timeout answered) are ignored.
using HttpRespond = std::function<void(HttpResponse)>;
/// Runs on the server's io thread; must not block: answer through `respond`, now or later.
using HttpHandler = std::function<void(const HttpRequest&, HttpRespond respond)>;

struct HttpServerOptions {
  size_t max_connections = 32;
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 1024;
  size_t max_requests_per_connection = 1000;
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds handler_timeout{5000};
  std::chrono::milliseconds write_timeout{10000};
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions opts = {});
  /// Stops and joins the io thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Serves `path` (exact match) with `handler`. Call before start().
  void handle(std::string path, HttpHandler handler);
  /// Binds host:port (port 0 = any free port) and starts serving on a thread of its own.
  std::error_code start(const std::string& host, uint16_t port);
  /// The bound port (after a successful start).
  uint16_t port() const;
  /// Closes the listener and every connection; joins the thread. Idempotent.
  void stop();
  /// A function that runs its argument on the server's io thread (to render a response
  /// there rather than on the thread that produced its data). Thread-safe, and safe to call
  /// after the server is gone: work is dropped once stop() began.
  std::function<void(std::function<void()>)> deferrer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiermirror::metrics
