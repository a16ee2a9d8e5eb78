#pragma once
// A broker played by a script, on loopback: accepts connections, reads request frames and
// answers what the script says. Drives net::Connection through failures no real broker
// produces on demand (silence, wrong correlation ids, absurd frame sizes, frames cut short).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tiermirror/net/connection.h"
#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages/api_versions.h"

namespace tiermirror::test {

struct Reply {
  // raw_close: write the raw bytes, then close the connection (a frame cut short).
  enum class Kind { frame, silence, close, raw, raw_close } kind = Kind::frame;
  Bytes bytes;  // frame body (size prefix added) or raw bytes
};

class ScriptedBroker {
 public:
  /// The script sees each request (header decoded, whole frame body) and says what to do.
  using Script = std::function<Reply(const protocol::RequestHeader&, const SharedBuffer& frame, int connection)>;

  explicit ScriptedBroker(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedBroker() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    {
      std::lock_guard lk(mu_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }

  /// A well-formed ApiVersions response advertising tiermirror's own ranges.
  static Reply api_versions(const protocol::RequestHeader& h) {
    protocol::ApiVersionsResponse resp;
    for (auto api : {protocol::ApiKey::produce, protocol::ApiKey::fetch, protocol::ApiKey::list_offsets,
                     protocol::ApiKey::metadata, protocol::ApiKey::api_versions}) {
      auto r = protocol::supported_versions(api);
      resp.api_keys.push_back({static_cast<int16_t>(api), r.min, r.max});
    }
    return frame(h, resp, h.api_version);
  }
  template <typename Msg>
  static Reply frame(const protocol::RequestHeader& h, const Msg& body, int16_t version) {
    protocol::Writer w;
    w.i32(h.correlation_id);
    if (protocol::response_header_version(h.api_key, version) >= 1) {
      w.set_flexible(true);
      w.empty_tagged_fields();
    }
    w.set_flexible(protocol::is_flexible(h.api_key, version));
    body.encode(w, version);
    return Reply{Reply::Kind::frame, w.flatten()};
  }

 private:
  static bool read_exact(int fd, uint8_t* p, size_t n) {
    while (n) {
      ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  static void write_all(int fd, const Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t w = ::write(fd, b.data() + off, b.size() - off);
      if (w <= 0) return;
      off += static_cast<size_t>(w);
    }
  }
  void serve() {
    while (!stop_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      int conn_no = ++accepted_;
      {
        std::lock_guard lk(mu_);
        conns_.push_back(fd);
      }
      // One connection at a time is enough for these tests.
      while (!stop_) {
        uint8_t sz[4];
        if (!read_exact(fd, sz, 4)) break;
        uint32_t n = (uint32_t(sz[0]) << 24) | (uint32_t(sz[1]) << 16) | (uint32_t(sz[2]) << 8) | sz[3];
        Bytes body(n);
        if (!read_exact(fd, body.data(), n)) break;
        SharedBuffer frame(std::move(body));
        protocol::Reader r{BufferSlice(frame)};
        auto h = protocol::read_request_header(r);
        Reply reply = script_(h, frame, conn_no);
        if (reply.kind == Reply::Kind::close) break;
        if (reply.kind == Reply::Kind::silence) continue;
        if (reply.kind == Reply::Kind::raw || reply.kind == Reply::Kind::raw_close) {
          write_all(fd, reply.bytes);
          if (reply.kind == Reply::Kind::raw_close) break;
          continue;
        }
        Bytes out(4);
        uint32_t len = static_cast<uint32_t>(reply.bytes.size());
        out[0] = uint8_t(len >> 24), out[1] = uint8_t(len >> 16), out[2] = uint8_t(len >> 8), out[3] = uint8_t(len);
        out.insert(out.end(), reply.bytes.begin(), reply.bytes.end());
        write_all(fd, out);
      }
      ::close(fd);
      std::lock_guard lk(mu_);
      std::erase(conns_, fd);
    }
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> conns_;
  std::thread thread_;
};

/// Connection options for tests against a ScriptedBroker on loopback: quick reconnects.
inline net::ConnectionOptions fast_options() {
  net::ConnectionOptions o;
  o.connect_timeout = net::Millis(2000);
  o.backoff_initial = net::Millis(10);
  o.backoff_max = net::Millis(50);
  return o;
}

}  // namespace tiermirror::test
