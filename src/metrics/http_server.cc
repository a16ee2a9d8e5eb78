#include "tiermirror/metrics/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "tiermirror/common/log.h"

namespace tiermirror::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr const char* kLog = "http";

// Lets handlers answer from any thread without outliving the io_context: stop() clears
// `io` under the mutex before the io_context goes away.
struct Gate {
  std::mutex mu;
  asio::io_context* io = nullptr;
};
}  // namespace

struct HttpServer::Impl {
  // Declared before `io`: sessions destroyed with the io_context's handlers still use them.
  HttpServerOptions opts;
  std::map<std::string, HttpHandler> routes;
  std::atomic<size_t> sessions{0};
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  uint16_t port = 0;
  std::chrono::steady_clock::time_point last_refusal_log{};

  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& opts, const std::map<std::string, HttpHandler>& routes,
          std::atomic<size_t>& count, std::shared_ptr<Gate> gate)
      : stream_(std::move(socket)),
        buffer_(opts.max_header_bytes + opts.max_body_bytes),
        handler_timer_(stream_.get_executor()),
        opts_(opts),
        routes_(routes),
        count_(count),
        gate_(std::move(gate)) {
    ++count_;
  }
  ~Session() { --count_; }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
    parser_->body_limit(opts_.max_body_bytes);
    // One deadline for the whole request: a client trickling bytes cannot hold the slot.
    stream_.expires_after(opts_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return answer_and_close(431, "request header fields too large\n");
    if (ec == http::error::body_limit) return answer_and_close(413, "request body too large\n");
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::partial_message)
      return answer_and_close(400, "bad request\n");
    if (ec) return close();  // timeout (the stream is closed already), reset, ...
    ++requests_;
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive() && requests_ < opts_.max_requests_per_connection;
    head_ = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head_) {
      HttpResponse r{405, "text/plain; charset=utf-8", "only GET and HEAD are served\n"};
      return write(std::move(r), "GET, HEAD");
    }
    HttpRequest request;
    request.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    auto q = target.find('?');
    request.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
    auto route = routes_.find(request.path);
    if (route == routes_.end()) return write({404, "text/plain; charset=utf-8", "not found\n"});
    dispatch(route->second, request);
  }

  void dispatch(const HttpHandler& handler, const HttpRequest& request) {
    uint64_t seq = ++seq_;
    awaiting_ = true;
    handler_timer_.expires_after(opts_.handler_timeout);
    handler_timer_.async_wait([self = shared_from_this(), seq](beast::error_code ec) {
      if (!ec) self->complete(seq, {503, "text/plain; charset=utf-8", "timed out waiting for the process to answer\n"});
    });
    HttpRespond respond = [weak = weak_from_this(), gate = gate_, seq](HttpResponse r) {
      std::lock_guard lk(gate->mu);
      if (!gate->io) return;
      asio::post(*gate->io, [weak, seq, r = std::move(r)]() mutable {
        if (auto self = weak.lock()) self->complete(seq, std::move(r));
      });
    };
    try {
      handler(request, respond);
    } catch (const std::exception& e) {
      TM_ERROR(kLog, "HTTP handler failed", {{"path", request.path}, {"error", e.what()}});
      complete(seq, {500, "text/plain; charset=utf-8", "internal error\n"});
    } catch (...) {
      complete(seq, {500, "text/plain; charset=utf-8", "internal error\n"});
    }
  }

  void complete(uint64_t seq, HttpResponse r) {
    if (!awaiting_ || seq != seq_) return;  // answered already (or timed out)
    awaiting_ = false;
    handler_timer_.cancel();
    write(std::move(r));
  }

  void answer_and_close(unsigned status, std::string body) {
    keep_alive_ = false;
    head_ = false;
    write({status, "text/plain; charset=utf-8", std::move(body)});
  }

  void write(HttpResponse r, const char* allow = nullptr) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, "tiermirror");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    if (allow) res->set(http::field::allow, allow);
    size_t length = r.body.size();
    if (!head_) res->body() = std::move(r.body);
    res->content_length(length);
    res->keep_alive(keep_alive_);
    stream_.expires_after(opts_.write_timeout);
    // HEAD: the length of the body a GET would get, and no body.
    if (head_) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, size_t) {
        self->after_write(ec);
      });
      return;
    }
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) { self->after_write(ec); });
  }

  void after_write(beast::error_code ec) {
    if (ec || !keep_alive_) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
    handler_timer_.cancel();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer handler_timer_;
  const HttpServerOptions& opts_;
  const std::map<std::string, HttpHandler>& routes_;
  std::atomic<size_t>& count_;
  std::shared_ptr<Gate> gate_;
  uint64_t seq_ = 0;
  size_t requests_ = 0;
  bool awaiting_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (sessions.load() >= opts.max_connections) {
        // Over the limit: close at once rather than queue (a scraper retries). Logged at
        // most every 10 s, so a flood cannot flood the log too.
        auto now = std::chrono::steady_clock::now();
        if (now - last_refusal_log >= std::chrono::seconds(10)) {
          last_refusal_log = now;
          TM_WARN(kLog, "HTTP connection refused: too many connections", {{"limit", opts.max_connections}});
        }
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), opts, routes, sessions, gate)->start();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(HttpServerOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = opts; }

HttpServer::~HttpServer() { stop(); }

void HttpServer::handle(std::string path, HttpHandler handler) { impl_->routes[std::move(path)] = std::move(handler); }

uint16_t HttpServer::port() const { return impl_->port; }

std::error_code HttpServer::start(const std::string& host, uint16_t port) {
  auto& im = *impl_;
  if (im.thread.joinable()) return std::make_error_code(std::errc::operation_in_progress);
  beast::error_code ec;
  tcp::resolver resolver(im.io);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
  if (ec) return ec;
  if (results.empty()) return std::make_error_code(std::errc::address_not_available);
  tcp::endpoint ep = results.begin()->endpoint();
  im.acceptor.emplace(im.io);
  if (im.acceptor->open(ep.protocol(), ec); ec) return ec;
  if (im.acceptor->set_option(asio::socket_base::reuse_address(true), ec); ec) return ec;
  if (im.acceptor->bind(ep, ec); ec) return ec;
  if (im.acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) return ec;
  im.port = im.acceptor->local_endpoint(ec).port();
  if (ec) return ec;
  {
    std::lock_guard lk(im.gate->mu);
    im.gate->io = &im.io;
  }
  im.accept();
  im.thread = std::thread([&im] {
    // Handlers catch their own exceptions; this keeps a surprise from ending the process.
    for (;;) {
      try {
        im.io.run();
        return;
      } catch (const std::exception& e) {
        TM_ERROR(kLog, "HTTP server handler threw; continuing", {{"error", e.what()}});
      }
    }
  });
  return {};
}

std::function<void(std::function<void()>)> HttpServer::deferrer() const {
  return [gate = impl_->gate](std::function<void()> fn) {
    std::lock_guard lk(gate->mu);
    if (gate->io) asio::post(*gate->io, std::move(fn));
  };
}

void HttpServer::stop() {
  auto& im = *impl_;
  {
    std::lock_guard lk(im.gate->mu);
    im.gate->io = nullptr;
  }
  if (!im.thread.joinable()) return;
  asio::post(im.io, [&im] {
    beast::error_code ignored;
    if (im.acceptor) im.acceptor->close(ignored);
  });
  im.io.stop();
  im.thread.join();
}

}  // namespace tiermirror::metrics
