// The status server's bounds, over real loopback sockets: every limit answers with the
// status the HTTP spec names and closes, a slow client is cut off at its deadline, and a
// handler that never answers or throws still gets its client a response.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <prometheus/counter.h>

#include "tiermirror/metrics/exposition.h"
#include "tiermirror/metrics/http_server.h"

namespace tiermirror::metrics {
namespace {

using namespace std::chrono_literals;

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) { (void)!::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  /// Everything until the peer closes or `timeout` passes; `closed` says which.
  std::string read_all(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    if (closed) *closed = false;
    return out;
  }
  /// One response (reads until the headers and Content-Length bytes of body arrived).
  std::string read_response(std::chrono::milliseconds timeout = 3000ms) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = out.find("Content-Length: ");
        size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions o = {}) {
    server_ = std::make_unique<HttpServer>(o);
    server_->handle("/healthz", [](const HttpRequest&, HttpRespond r) { r({200, "text/plain", "ok\n"}); });
    server_->handle("/later", [](const HttpRequest& q, HttpRespond r) {
      // Answers from another thread, as the route's strand does.
      std::thread([r, q] { r({200, "text/plain", "later " + q.query + "\n"}); }).detach();
    });
    server_->handle("/never", [](const HttpRequest&, HttpRespond) {});
    server_->handle("/throws", [](const HttpRequest&, HttpRespond) { throw std::runtime_error("boom"); });
    ASSERT_FALSE(server_->start("127.0.0.1", 0));
    ASSERT_NE(server_->port(), 0);
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesKnownPathsAnd404sTheRest) {
  start();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("\r\n\r\nok\n"), std::string::npos) << r;
  // Keep-alive: the same connection serves the next request.
  c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 404", 0), 0u) << r;
  c.send("GET /later?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_response();
  EXPECT_NE(r.find("later x=1"), std::string::npos) << r;
}

TEST_F(HttpServerTest, HeadAndOtherMethods) {
  start();
  Client c(server_->port());
  c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_all(500ms);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 3\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("ok\n"), std::string::npos) << "HEAD has no body: " << r;
  Client d(server_->port());
  d.send("DELETE /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  r = d.read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
  EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos) << r;
}

TEST_F(HttpServerTest, OversizeHeaderGets431AndClose) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  start(o);
  Client c(server_->port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  bool closed = false;
  auto r = c.read_all(3000ms, &closed);
  EXPECT_EQ(r.rfind("HTTP/1.1 431", 0), 0u) << r;
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, OversizeBodyGets413AndClose) {
  HttpServerOptions o;
  o.max_body_bytes = 16;
  start(o);
  Client c(server_->port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(100, 'b'));
  bool closed = false;
  auto r = c.read_all(3000ms, &closed);
  EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, GarbageGets400) {
  start();
  Client c(server_->port());
  c.send("\x01\x02 nonsense\r\n\r\n");
  bool closed = false;
  auto r = c.read_all(3000ms, &closed);
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, SlowClientIsCutOffAtTheDeadline) {
  HttpServerOptions o;
  o.read_timeout = 300ms;
  start(o);
  Client c(server_->port());
  auto t0 = std::chrono::steady_clock::now();
  c.send("GET /healthz HTTP/1.1\r\nHo");  // and then nothing
  bool closed = false;
  auto r = c.read_all(5000ms, &closed);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_TRUE(r.empty()) << r;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3000ms);
  // An idle keep-alive connection is cut off the same way.
  Client idle(server_->port());
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(idle.read_response().rfind("HTTP/1.1 200", 0), 0u);
  idle.read_all(3000ms, &closed);
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, HandlerThatNeverAnswersGets503AndOneThatThrows500) {
  HttpServerOptions o;
  o.handler_timeout = 200ms;
  start(o);
  Client c(server_->port());
  c.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
  c.send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 500", 0), 0u) << r;
  // The connection (and the server) still work.
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read_response().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  HttpServerOptions o;
  o.max_connections = 2;
  start(o);
  Client a(server_->port()), b(server_->port());
  a.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.read_response().rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(b.read_response().rfind("HTTP/1.1 200", 0), 0u);
  Client extra(server_->port());
  extra.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto r = extra.read_all(3000ms, &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(r.empty()) << r;
}

TEST_F(HttpServerTest, StopsWithConnectionsOpenAndLateAnswersAreDropped) {
  start();
  Client c(server_->port());
  c.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(50ms);
  server_->stop();
  server_.reset();
  SUCCEED();
}

TEST(HtmlEscape, EscapesEverythingThatMatters) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain-topic.name_1"), "plain-topic.name_1");
}

TEST(Exposition, RendersRegistryAndExtraFamilies) {
  Exposition e;
  prometheus::BuildCounter().Name("tiermirror_test_total").Help("h").Register(*e.registry()).Add({{"a", "b"}}).Increment(3);
  auto f = make_family("tiermirror_test_gauge", "g", prometheus::MetricType::Gauge);
  add_sample(f, {{"x", "y"}}, 7);
  auto text = e.render({f});
  EXPECT_NE(text.find("# TYPE tiermirror_test_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_test_total{a=\"b\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE tiermirror_test_gauge gauge"), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_test_gauge{x=\"y\"} 7"), std::string::npos) << text;
}

}  // namespace
}  // namespace tiermirror::metrics
