#pragma once
// One broker connection over Boost.Asio. Runs on its own strand; every callback it makes
// runs on that strand. Requests are pipelined (Kafka answers in order per connection)
// and matched by correlation id, with a bounded number in flight and a bounded queue.
// Every request has a deadline. The connection negotiates API versions on connect and
// reconnects with exponential backoff when it breaks; requests not yet written survive a
// reconnect, requests in flight fail with errc::disconnected (the caller decides whether
// resending is safe — for Produce the idempotent sequence makes it so).
//
// Security: optionally TLS (before anything else) and SASL (after ApiVersions: SaslHandshake
// v1 + SaslAuthenticate, KIP-152), all within connect_timeout. When the broker grants a
// session lifetime, the connection logs in again before it ends (KIP-368) without dropping
// requests in flight; new requests wait while it does. A failed login fails the waiting
// requests with the login error (retrying the same credentials would only time out) and
// reports it through ConnectionOptions::on_login_failure.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/buffer_pool.h"
#include "tiermirror/common/errors.h"
#include "tiermirror/net/security.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/frame.h"

namespace tiermirror::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};
/// Parses "host:port[,host:port...]"; empty on a malformed list.
std::vector<Endpoint> parse_endpoints(const std::string& list);

struct ConnectionOptions {
  std::string client_id = "tiermirror";
  size_t max_in_flight = 16;         // requests written and not yet answered
  size_t max_queued = 4096;          // requests waiting to be written
  size_t max_frame_bytes = 256u << 20;
  /// Where response frames are received (shared by a route's connections); null: the allocator.
  std::shared_ptr<BufferPool> frame_pool;
  Millis connect_timeout{10000};
  Millis backoff_initial{100};
  Millis backoff_max{10000};
  SecurityOptions security;
  /// Called on the connection's strand when a login fails (TLS files or handshake, SASL, the
  /// password source), with a one-line reason naming the broker; never a secret.
  std::function<void(std::error_code, const std::string& detail)> on_login_failure;
  /// Called on the connection's strand when the connection fails (logins included), with one
  /// line naming the broker, the step, the error and, where the bytes tell, the likely
  /// misconfiguration; never a secret.
  std::function<void(const std::string& line)> on_connection_failure;
};

/// API version ranges a broker advertised.
using BrokerVersions = std::map<int16_t, protocol::VersionRange>;

/// Called with the response frame body (correlation id first) and the version used.
using ResponseHandler = std::function<void(std::error_code ec, SharedBuffer frame, int16_t version)>;
/// Builds the request for the version the connection picked.
using RequestEncoder = std::function<std::vector<BufferSlice>(const protocol::RequestHeader&)>;

/// Test hook: sees every request frame the connection writes (flattened), e.g. to run
/// the produce-rules validator over it. Runs on the connection's strand.
using RequestObserver = std::function<void(protocol::ApiKey api, int16_t version, const Bytes& frame)>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Strand = asio::strand<asio::io_context::executor_type>;

  static std::shared_ptr<Connection> create(asio::io_context& io, Endpoint ep, int32_t broker_id,
                                            ConnectionOptions opts = {});
  ~Connection();

  /// Sends a request. The version is the highest both sides support for `api`; when the
  /// broker supports none of ours, the handler gets errc::unsupported_version and nothing
  /// is sent (a broker closes the connection on a version it does not know).
  /// Thread-safe; the handler runs on the connection's strand.
  /// A request not yet written waits for the next connection when this one breaks. With
  /// `fail_if_unreachable` it fails instead once a connection attempt fails (refused, TLS,
  /// login): for a caller that can turn to another broker, such as a Produce to a partition
  /// whose leader may have moved away from a stopped broker.
  void send(protocol::ApiKey api, RequestEncoder encode, Millis timeout, ResponseHandler handler,
            bool fail_if_unreachable = false);

  /// Connects (and negotiates) now instead of at the first send; handler(ec) once ready.
  void connect(std::function<void(std::error_code)> handler);
  /// Closes the socket, fails everything pending with errc::shutting_down. Idempotent.
  void close();
  /// Breaks the current connection as if the network had (a response that did not
  /// decode, say); it reconnects with backoff when requests are waiting.
  void abort(std::error_code ec, const char* why);

  /// Versions known after negotiation (strand only, or after connect() reported ready).
  std::optional<int16_t> version_for(protocol::ApiKey api) const;
  const BrokerVersions& broker_versions() const { return broker_versions_; }
  int16_t api_versions_version() const { return api_versions_version_; }

  const Endpoint& endpoint() const { return ep_; }
  int32_t broker_id() const { return broker_id_; }
  Strand& strand() { return strand_; }
  /// Safe from any thread (clusters and routes pick ready connections from their own strands).
  bool ready() const {
    const State s = state_.load(std::memory_order_relaxed);
    return s == State::ready || s == State::reauthenticating;
  }
  /// SASL logins completed on this connection, first ones and re-authentications (tests).
  uint64_t sasl_logins() const { return sasl_logins_; }
  size_t in_flight() const { return in_flight_.size(); }

  static void set_request_observer(RequestObserver obs);

 private:
  enum class State { idle, connecting, negotiating, authenticating, ready, reauthenticating, backoff, closed };
  struct Pending {
    protocol::ApiKey api{};
    int16_t version = -1;           // -1 until chosen
    int32_t correlation_id = 0;
    RequestEncoder encode;
    ResponseHandler handler;
    Clock::time_point deadline;
    bool internal = false;          // ApiVersions and SASL: written even while not ready
    bool fail_if_unreachable = false;
  };
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;

  Connection(asio::io_context& io, Endpoint ep, int32_t broker_id, ConnectionOptions opts);

  void start_connect();
  void on_resolved(const std::error_code& ec, asio::ip::tcp::resolver::results_type results);
  void on_connected(const std::error_code& ec);
  void on_tls_handshake(const boost::system::error_code& ec);
  std::string tls_error_detail(const boost::system::error_code& ec) const;
  void send_internal(protocol::ApiKey api, int16_t version, RequestEncoder encode, ResponseHandler handler);
  void negotiate(int16_t api_versions_version);
  void on_api_versions(std::error_code ec, SharedBuffer frame, int16_t version);
  void start_sasl(bool reauthenticate);
  void on_sasl_handshake(std::error_code ec, SharedBuffer frame, int16_t version);
  void send_sasl_token(Bytes token);
  void on_sasl_authenticate(std::error_code ec, SharedBuffer frame, int16_t version);
  void sasl_done(int64_t session_lifetime_ms);
  void became_ready();
  void fail_login(std::error_code ec, const std::string& detail);
  void fail_connection(std::error_code ec, const char* where, const std::string& hint = "");
  std::string read_failure_hint(const boost::system::error_code& ec) const;
  void schedule_reconnect();

  void enqueue(std::shared_ptr<Pending> p);
  void pump();                      // writes queued requests while in-flight room remains
  void write_next();
  void start_read();
  void on_read(const boost::system::error_code& ec, size_t n);
  void dispatch_frame(SharedBuffer frame);
  void arm_deadline_timer();
  void on_deadline_timer();
  void complete(const std::shared_ptr<Pending>& p, std::error_code ec, SharedBuffer frame);

  asio::io_context& io_;
  Strand strand_;
  Endpoint ep_;
  int32_t broker_id_;
  ConnectionOptions opts_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer connect_timer_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer backoff_timer_;
  asio::steady_timer reauth_timer_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;  // the files this connection was made with
  // Shared so that an operation still pending on a broken connection keeps its stream alive.
  std::shared_ptr<TlsStream> tls_;
  std::vector<Bytes> tls_chunks_;                 // small segments coalesced for one TLS record
  std::unique_ptr<ScramClient> scram_;
  int sasl_step_ = 0;
  uint64_t sasl_logins_ = 0;
  std::atomic<State> state_{State::idle};  // written on the strand only; atomic for ready()
  uint64_t generation_ = 0;          // bumps on every (re)connect; stale callbacks check it
  Millis backoff_;
  int32_t next_correlation_id_ = 1;

  std::deque<std::shared_ptr<Pending>> queue_;     // not yet written
  std::deque<std::shared_ptr<Pending>> in_flight_; // written (or being written), awaiting a response
  bool writing_ = false;
  std::vector<BufferSlice> write_segments_;
  protocol::FrameDecoder decoder_;
  std::span<const uint8_t> read_region_;  // where the read under way receives
  uint64_t frames_ = 0;                  // frames received on this connection (since the connect)
  std::vector<std::function<void(std::error_code)>> ready_waiters_;

  BrokerVersions broker_versions_;
  int16_t api_versions_version_ = -1;
};

}  // namespace tiermirror::net
