#include "tiermirror/net/connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <atomic>
#include <mutex>
#include <random>

#include "tiermirror/common/log.h"
#include "tiermirror/protocol/messages/api_versions.h"
#include "tiermirror/protocol/messages/sasl_authenticate.h"
#include "tiermirror/protocol/messages/sasl_handshake.h"

namespace tiermirror::net {

namespace {
std::mutex g_observer_mu;
std::shared_ptr<RequestObserver> g_observer;

std::shared_ptr<RequestObserver> observer() {
  std::lock_guard lk(g_observer_mu);
  return g_observer;
}

constexpr const char* kComponent = "net";

// Segments below this size are copied together before a TLS write: OpenSSL takes one buffer
// per SSL_write, so each gather segment would otherwise become a record of its own.
constexpr size_t kTlsCoalesceBelow = 16 * 1024;

bool is_tls_error(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated;
}
}  // namespace

std::vector<Endpoint> parse_endpoints(const std::string& list) {
  std::vector<Endpoint> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      size_t colon = item.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return {};
      std::string host = item.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      try {
        size_t used = 0;
        int port = std::stoi(item.substr(colon + 1), &used);
        if (used != item.size() - colon - 1 || port < 1 || port > 65535) return {};
        out.push_back(Endpoint{host, static_cast<uint16_t>(port)});
      } catch (...) {
        return {};
      }
    }
    start = end + 1;
  }
  return out;
}

void Connection::set_request_observer(RequestObserver obs) {
  std::lock_guard lk(g_observer_mu);
  g_observer = obs ? std::make_shared<RequestObserver>(std::move(obs)) : nullptr;
}

std::shared_ptr<Connection> Connection::create(asio::io_context& io, Endpoint ep, int32_t broker_id,
                                               ConnectionOptions opts) {
  return std::shared_ptr<Connection>(new Connection(io, std::move(ep), broker_id, std::move(opts)));
}

Connection::Connection(asio::io_context& io, Endpoint ep, int32_t broker_id, ConnectionOptions opts)
    : io_(io),
      strand_(asio::make_strand(io)),
      ep_(std::move(ep)),
      broker_id_(broker_id),
      opts_(std::move(opts)),
      resolver_(strand_),
      socket_(strand_),
      connect_timer_(strand_),
      deadline_timer_(strand_),
      backoff_timer_(strand_),
      reauth_timer_(strand_),
      backoff_(opts_.backoff_initial),
      decoder_(opts_.max_frame_bytes, opts_.frame_pool) {}

Connection::~Connection() = default;

std::optional<int16_t> Connection::version_for(protocol::ApiKey api) const {
  auto it = broker_versions_.find(static_cast<int16_t>(api));
  if (it == broker_versions_.end()) return std::nullopt;
  // Kafka 4.0 advertises Produce v0 but rejects v0-2: our own minimum (3) wins anyway.
  return protocol::negotiate(protocol::supported_versions(api), it->second);
}

void Connection::send(protocol::ApiKey api, RequestEncoder encode, Millis timeout, ResponseHandler handler,
                      bool fail_if_unreachable) {
  auto p = std::make_shared<Pending>();
  p->api = api;
  p->fail_if_unreachable = fail_if_unreachable;
  p->encode = std::move(encode);
  p->handler = std::move(handler);
  p->deadline = Clock::now() + timeout;
  asio::post(strand_, [self = shared_from_this(), p] { self->enqueue(p); });
}

void Connection::connect(std::function<void(std::error_code)> handler) {
  asio::post(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
    if (self->ready()) return h({});
    if (self->state_ == State::closed) return h(errc::shutting_down);
    self->ready_waiters_.push_back(std::move(h));
    if (self->state_ == State::idle) self->start_connect();
  });
}

void Connection::close() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->state_ == State::closed) return;
    self->state_ = State::closed;
    ++self->generation_;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
    self->resolver_.cancel();
    self->connect_timer_.cancel();
    self->deadline_timer_.cancel();
    self->backoff_timer_.cancel();
    self->reauth_timer_.cancel();
    self->scram_.reset();
    auto in_flight = std::move(self->in_flight_);
    auto queue = std::move(self->queue_);
    for (auto& p : in_flight) self->complete(p, errc::shutting_down, {});
    for (auto& p : queue) self->complete(p, errc::shutting_down, {});
    auto waiters = std::move(self->ready_waiters_);
    for (auto& w : waiters) w(errc::shutting_down);
  });
}

void Connection::abort(std::error_code ec, const char* why) {
  asio::post(strand_, [self = shared_from_this(), ec, why] {
    switch (self->state_) {
      case State::connecting:
      case State::negotiating:
      case State::authenticating:
      case State::ready:
      case State::reauthenticating:
        self->fail_connection(ec, why);
        break;
      default:
        break;
    }
  });
}

// ---------------------------------------------------------------- connecting

void Connection::start_connect() {
  state_ = State::connecting;
  uint64_t gen = ++generation_;
  decoder_ = protocol::FrameDecoder(opts_.max_frame_bytes, opts_.frame_pool);
  tls_.reset();
  tls_ctx_.reset();
  if (opts_.security.tls) {
    // Picks up rotated certificate files: every new connection asks for the current context.
    std::string why;
    auto ctx = opts_.security.tls->context(&why);
    if (!ctx) return fail_login(ctx.error(), why);
    tls_ctx_ = std::move(*ctx);
  }
  // One deadline for TCP, TLS handshake, ApiVersions and SASL together.
  connect_timer_.expires_after(opts_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
    if (ec || gen != self->generation_) return;
    if (self->state_ == State::connecting || self->state_ == State::negotiating ||
        self->state_ == State::authenticating)
      self->fail_connection(errc::timed_out, "connect");
  });
  resolver_.async_resolve(ep_.host, std::to_string(ep_.port),
                          [self = shared_from_this(), gen](const std::error_code& ec, auto results) {
                            if (gen != self->generation_) return;
                            self->on_resolved(ec, results);
                          });
}

void Connection::on_resolved(const std::error_code& ec, asio::ip::tcp::resolver::results_type results) {
  if (ec) return fail_connection(ec, "resolve");
  uint64_t gen = generation_;
  asio::async_connect(socket_, results, [self = shared_from_this(), gen](const std::error_code& ec, const auto&) {
    if (gen != self->generation_) return;
    self->on_connected(ec);
  });
}

void Connection::on_connected(const std::error_code& ec) {
  if (ec) return fail_connection(ec, "connect");
  frames_ = 0;
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // requests are latency-bound
  // Closed (or the process killed), the connection is reset, not finished: a broker reads a
  // connection's next request only once it answered the previous one (KafkaChannel mutes it),
  // and an acks=all Produce answers only when replicated. After a FIN it still answers, then
  // reads and appends the Produce requests queued behind, after a restarted process's
  // exactly-once resume scan looked at the target: duplicates (seen on Kafka 3.9). After a RST
  // its answer fails and the queued requests are dropped with the connection.
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  if (tls_ctx_) {
    tls_ = std::make_shared<TlsStream>(socket_, *tls_ctx_);
    SSL* ssl = tls_->native_handle();
    boost::system::error_code not_ip;
    asio::ip::make_address(ep_.host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(ssl, ep_.host.c_str());  // SNI is for names only (RFC 6066)
    if (opts_.security.tls->options().verify_hostname) {
      // RFC 6125 / RFC 2818: the certificate must name the host we dialled (SAN DNS or IP).
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (not_ip) {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, ep_.host.c_str(), ep_.host.size());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, ep_.host.c_str());
      }
    }
    uint64_t gen = generation_;
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this(), gen, keep = tls_](const boost::system::error_code& ec) {
                            if (gen != self->generation_) return;
                            self->on_tls_handshake(ec);
                          });
    return;
  }
  state_ = State::negotiating;
  start_read();
  negotiate(3);
}

void Connection::on_tls_handshake(const boost::system::error_code& ec) {
  if (ec) {
    if (is_tls_error(ec)) return fail_login(make_error_code(login_errc::tls_handshake_failed), tls_error_detail(ec));
    return fail_connection(ec, "TLS handshake");
  }
  state_ = State::negotiating;
  start_read();
  negotiate(3);
}

std::string Connection::tls_error_detail(const boost::system::error_code& ec) const {
  std::string d = "TLS handshake: " + ec.message();
  if (!tls_) return d;
  SSL* ssl = tls_->native_handle();
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) return d + std::string(" (") + X509_verify_cert_error_string(v) + ")";
  if (!SSL_get0_peer_certificate(ssl)) {
    // No certificate came back: the peer closed or answered in something else than TLS. A
    // Kafka listener without TLS reads the ClientHello as an absurd frame size and closes.
    if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER)
      d += std::string(" (") + hint::kNoTlsOnPort + ")";
    return d;
  }
  // The broker's certificate was accepted and it still refused: a listener with
  // ssl.client.auth=required refuses clients that send no certificate (with TLS 1.3, as an
  // alert on the first read after the handshake).
  if (opts_.security.tls && opts_.security.tls->options().cert_file.empty())
    d += std::string(" (") + hint::kClientCertificate + ")";
  return d;
}

void Connection::send_internal(protocol::ApiKey api, int16_t version, RequestEncoder encode, ResponseHandler handler) {
  auto p = std::make_shared<Pending>();
  p->api = api;
  p->version = version;
  p->internal = true;
  p->deadline = Clock::now() + opts_.connect_timeout;
  p->encode = std::move(encode);
  uint64_t gen = generation_;
  p->handler = [self = shared_from_this(), gen, h = std::move(handler)](std::error_code ec, SharedBuffer frame,
                                                                        int16_t v) {
    if (gen != self->generation_) return;
    h(ec, std::move(frame), v);
  };
  // First in line: ahead of requests that wait for the connection to be (again) ready.
  queue_.push_front(p);
  arm_deadline_timer();
  pump();
}

void Connection::negotiate(int16_t v) {
  send_internal(
      protocol::ApiKey::api_versions, v,
      [](const protocol::RequestHeader& h) {
        protocol::ApiVersionsRequest req;
        req.client_software_name = "tiermirror";
        req.client_software_version = TIERMIRROR_VERSION;
        return protocol::encode_request(h, req);
      },
      [self = shared_from_this()](std::error_code ec, SharedBuffer frame, int16_t version) {
        self->on_api_versions(ec, std::move(frame), version);
      });
}

void Connection::on_api_versions(std::error_code ec, SharedBuffer frame, int16_t version) {
  if (ec) {
    if (state_ == State::negotiating) fail_connection(ec, "ApiVersions");
    return;
  }
  // Impl note: a broker that does not know the ApiVersions version we sent answers with
  // UNSUPPORTED_VERSION in a v0 body (KIP-511). The body of that error response is not
  // to be trusted (librdkafka 2.0.2's mock sends a malformed one): read only the error
  // code and retry with an older version.
  auto span = frame.span();
  if (span.size() >= 6) {
    int16_t error_code = static_cast<int16_t>((span[4] << 8) | span[5]);
    if (error_code == static_cast<int16_t>(kafka_errc::unsupported_version) && version > 0) {
      TM_DEBUG(kComponent, "ApiVersions version refused, retrying older",
               {{"broker", ep_.str()}, {"version", version}});
      return negotiate(version == 3 ? 2 : 0);
    }
  }
  auto decoded = protocol::decode_response<protocol::ApiVersionsResponse>(frame, protocol::ApiKey::api_versions, version);
  if (!decoded.ok()) {
    TM_WARN(kComponent, "malformed ApiVersions response", {{"broker", ep_.str()}, {"error", decoded.error.describe()}});
    return fail_connection(errc::malformed, "ApiVersions");
  }
  if (decoded.value->error_code != 0)
    return fail_connection(make_error_code(static_cast<kafka_errc>(decoded.value->error_code)), "ApiVersions");
  broker_versions_.clear();
  for (const auto& k : decoded.value->api_keys)
    broker_versions_[k.api_key] = protocol::VersionRange{k.min_version, k.max_version};
  api_versions_version_ = version;
  if (opts_.security.sasl) return start_sasl(false);
  became_ready();
}

// ---------------------------------------------------------------- SASL (KIP-152, KIP-368)

void Connection::start_sasl(bool reauthenticate) {
  const auto& sasl = *opts_.security.sasl;
  state_ = reauthenticate ? State::reauthenticating : State::authenticating;
  auto hv = version_for(protocol::ApiKey::sasl_handshake);
  if (!hv || !version_for(protocol::ApiKey::sasl_authenticate))
    return fail_login(make_error_code(kafka_errc::illegal_sasl_state),
                      "the broker does not offer SaslHandshake v1 and SaslAuthenticate (not a SASL listener?)");
  auto password = sasl.password ? sasl.password() : Result<std::string>(make_error_code(errc::invalid_argument));
  if (!password)
    return fail_login(make_error_code(login_errc::password_unavailable),
                      "cannot read the SASL password: " + password.error().message());
  scram_.reset();
  sasl_step_ = 0;
  Bytes first;
  if (sasl.mechanism == SaslMechanism::plain) {
    first = plain_initial_response(sasl.username, *password);
  } else {
    auto hash = sasl.mechanism == SaslMechanism::scram_sha_256 ? ScramClient::Hash::sha256 : ScramClient::Hash::sha512;
    scram_ = std::make_unique<ScramClient>(hash, sasl.username, std::move(*password));
    auto cf = scram_->client_first();
    first.assign(cf.begin(), cf.end());
  }
  wipe(*password);
  protocol::SaslHandshakeRequest req{std::string(mechanism_name(sasl.mechanism))};
  send_internal(
      protocol::ApiKey::sasl_handshake, *hv,
      [req](const protocol::RequestHeader& h) { return protocol::encode_request(h, req); },
      [self = shared_from_this(), first = std::move(first)](std::error_code ec, SharedBuffer frame,
                                                            int16_t version) mutable {
        self->on_sasl_handshake(ec, std::move(frame), version);
        if (self->state_ == State::authenticating || self->state_ == State::reauthenticating)
          self->send_sasl_token(std::move(first));
        else
          wipe(first);
      });
}

void Connection::on_sasl_handshake(std::error_code ec, SharedBuffer frame, int16_t version) {
  if (ec) return fail_connection(ec, "SaslHandshake");
  auto d = protocol::decode_response<protocol::SaslHandshakeResponse>(frame, protocol::ApiKey::sasl_handshake, version);
  if (!d.ok()) return fail_connection(errc::malformed, "SaslHandshake");
  if (d.value->error_code == 0) return;
  auto kec = make_error_code(static_cast<kafka_errc>(d.value->error_code));
  std::string enabled;
  for (const auto& m : d.value->mechanisms) enabled += (enabled.empty() ? "" : ", ") + m;
  std::string detail = "SASL mechanism " + std::string(mechanism_name(opts_.security.sasl->mechanism)) + " refused (" +
                       kec.message() + "); the broker enables: " + (enabled.empty() ? "none" : enabled);
  // A listener without SASL still answers SaslHandshake, through KafkaApis: ILLEGAL_SASL_STATE
  // and no mechanisms.
  if (kec == kafka_errc::illegal_sasl_state && enabled.empty())
    detail += std::string(" (") + hint::kNoSaslOnListener + ")";
  fail_login(kec, detail);
}

void Connection::send_sasl_token(Bytes token) {
  auto v = version_for(protocol::ApiKey::sasl_authenticate);
  auto req = std::make_shared<protocol::SaslAuthenticateRequest>();
  req->auth_bytes = std::move(token);
  ++sasl_step_;
  send_internal(
      protocol::ApiKey::sasl_authenticate, v.value_or(0),
      [req](const protocol::RequestHeader& h) {
        auto out = protocol::encode_request(h, *req);
        wipe(req->auth_bytes);  // the token may hold the password (PLAIN); it is on the wire now
        return out;
      },
      [self = shared_from_this()](std::error_code ec, SharedBuffer frame, int16_t version) {
        self->on_sasl_authenticate(ec, std::move(frame), version);
      });
}

void Connection::on_sasl_authenticate(std::error_code ec, SharedBuffer frame, int16_t version) {
  if (ec) return fail_connection(ec, "SaslAuthenticate");
  auto d = protocol::decode_response<protocol::SaslAuthenticateResponse>(frame, protocol::ApiKey::sasl_authenticate,
                                                                         version);
  if (!d.ok()) return fail_connection(errc::malformed, "SaslAuthenticate");
  const auto& sasl = *opts_.security.sasl;
  const std::string who = std::string(mechanism_name(sasl.mechanism)) + " login as '" + sasl.username + "'";
  if (d.value->error_code != 0) {
    auto kec = make_error_code(static_cast<kafka_errc>(d.value->error_code));
    // The broker's message ("Authentication failed: Invalid username or password") holds no secret.
    return fail_login(kec, who + " refused: " + kec.message() +
                               (d.value->error_message ? ": " + *d.value->error_message : std::string()));
  }
  if (!scram_) return sasl_done(d.value->session_lifetime_ms);  // PLAIN: one round trip
  std::string server_msg(d.value->auth_bytes.begin(), d.value->auth_bytes.end());
  if (sasl_step_ == 1) {
    auto final_msg = scram_->client_final(server_msg);
    if (!final_msg) return fail_login(final_msg.error(), who + ": " + scram_->error_detail());
    return send_sasl_token(Bytes(final_msg->begin(), final_msg->end()));
  }
  if (auto vec = scram_->verify_server_final(server_msg)) return fail_login(vec, who + ": " + scram_->error_detail());
  sasl_done(d.value->session_lifetime_ms);
}

void Connection::sasl_done(int64_t session_lifetime_ms) {
  scram_.reset();
  ++sasl_logins_;
  if (session_lifetime_ms > 0) {
    // KIP-368: log in again before the broker's session ends, at 85-95% of the lifetime
    // (jittered so that the connections of a cluster do not all pause at once).
    static thread_local std::mt19937 rng{std::random_device{}()};
    double share = std::uniform_real_distribution<double>(0.85, 0.95)(rng);
    auto delay = Millis(static_cast<int64_t>(static_cast<double>(session_lifetime_ms) * share));
    reauth_timer_.expires_after(delay);
    uint64_t gen = generation_;
    reauth_timer_.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
      if (ec || gen != self->generation_ || self->state_ != State::ready) return;
      TM_DEBUG(kComponent, "re-authenticating (KIP-368)", {{"broker", self->ep_.str()}});
      self->start_sasl(true);
    });
  }
  if (state_ == State::reauthenticating) {
    state_ = State::ready;
    TM_DEBUG(kComponent, "re-authenticated", {{"broker", ep_.str()}, {"session_lifetime_ms", session_lifetime_ms}});
    return pump();
  }
  became_ready();
}

void Connection::fail_login(std::error_code ec, const std::string& detail) {
  if (state_ == State::closed) return;
  const std::string line = "broker " + ep_.str() + ": " + detail;
  TM_ERROR(kComponent, "login failed", {{"broker", ep_.str()}, {"broker_id", broker_id_}, {"error", ec.message()},
                                         {"detail", detail}});
  scram_.reset();
  if (opts_.on_login_failure) opts_.on_login_failure(ec, line);
  // The same files and credentials would fail again: waiting requests hear why now instead
  // of timing out, and the next attempt waits the longest backoff.
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& p : queue)
    if (!p->internal) complete(p, ec, {});
  backoff_ = opts_.backoff_max;
  fail_connection(ec, "login");
}

void Connection::became_ready() {
  state_ = State::ready;
  backoff_ = opts_.backoff_initial;
  connect_timer_.cancel();
  TM_DEBUG(kComponent, "connected", {{"broker", ep_.str()}, {"broker_id", broker_id_}});
  auto waiters = std::move(ready_waiters_);
  for (auto& w : waiters) w({});
  pump();
}

void Connection::fail_connection(std::error_code ec, const char* where, const std::string& hint) {
  if (state_ == State::closed) return;
  if (hint.empty())
    TM_WARN(kComponent, "connection failed",
            {{"broker", ep_.str()}, {"broker_id", broker_id_}, {"during", where}, {"error", ec.message()}});
  else
    TM_WARN(kComponent, "connection failed", {{"broker", ep_.str()}, {"broker_id", broker_id_}, {"during", where},
                                              {"error", ec.message()}, {"hint", hint}});
  if (opts_.on_connection_failure)
    opts_.on_connection_failure("broker " + ep_.str() + ": " + where + ": " + ec.message() +
                                (hint.empty() ? "" : " (" + hint + ")"));
  // This attempt never became ready: the broker is not there now (send(), fail_if_unreachable).
  const bool attempt_failed =
      state_ == State::connecting || state_ == State::negotiating || state_ == State::authenticating;
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  connect_timer_.cancel();
  reauth_timer_.cancel();
  scram_.reset();
  writing_ = false;
  // Requests on the wire are lost with the connection: their handlers hear about it.
  // Requests not yet written stay queued for the next connection (but not the internal
  // ApiVersions, which belongs to the dead one).
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  auto now = Clock::now();
  for (auto& p : in_flight)
    if (!p->internal) complete(p, p->deadline <= now ? std::error_code(errc::timed_out) : std::error_code(errc::disconnected), {});
  std::erase_if(queue_, [](const auto& p) { return p->internal; });
  if (attempt_failed) {
    std::vector<std::shared_ptr<Pending>> unreachable;
    std::erase_if(queue_, [&](const auto& p) {
      if (!p->fail_if_unreachable) return false;
      unreachable.push_back(p);
      return true;
    });
    for (auto& p : unreachable) complete(p, p->deadline <= now ? std::error_code(errc::timed_out) : ec, {});
  }
  auto waiters = std::move(ready_waiters_);
  ready_waiters_.clear();
  for (auto& w : waiters) w(ec);
  schedule_reconnect();  // requests still queued wait for it, within their deadlines
}

void Connection::schedule_reconnect() {
  state_ = State::backoff;
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto jitter = std::uniform_int_distribution<int64_t>(0, backoff_.count() / 5)(rng);
  backoff_timer_.expires_after(backoff_ + Millis(jitter));
  backoff_ = std::min(backoff_ * 2, opts_.backoff_max);
  uint64_t gen = generation_;
  backoff_timer_.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
    if (ec || gen != self->generation_ || self->state_ != State::backoff) return;
    if (!self->queue_.empty() || !self->ready_waiters_.empty())
      self->start_connect();
    else
      self->state_ = State::idle;
  });
}

// ---------------------------------------------------------------- requests

void Connection::enqueue(std::shared_ptr<Pending> p) {
  if (state_ == State::closed) return complete(p, errc::shutting_down, {});
  if (queue_.size() >= opts_.max_queued) return complete(p, errc::queue_full, {});
  queue_.push_back(std::move(p));
  arm_deadline_timer();
  if (state_ == State::idle) return start_connect();
  pump();
}

void Connection::pump() {
  if (writing_ || queue_.empty()) return;
  if (state_ == State::ready) {
    if (in_flight_.size() >= opts_.max_in_flight) return;
  } else if (state_ == State::negotiating || state_ == State::authenticating || state_ == State::reauthenticating) {
    // Only the login's own requests go out; a SASL listener refuses anything else before
    // it, and re-authentication pauses new requests (KIP-368).
    if (!queue_.front()->internal) return;
  } else {
    return;
  }
  write_next();
}

void Connection::write_next() {
  auto p = queue_.front();
  queue_.pop_front();
  if (!p->internal) {
    auto v = version_for(p->api);
    if (!v) {
      complete(p, errc::unsupported_version, {});
      return pump();
    }
    p->version = *v;
  }
  p->correlation_id = next_correlation_id_;
  next_correlation_id_ = next_correlation_id_ == INT32_MAX ? 1 : next_correlation_id_ + 1;
  protocol::RequestHeader h{p->api, p->version, p->correlation_id, opts_.client_id};
  write_segments_ = p->encode(h);
  if (auto obs = observer()) {
    Bytes flat;
    for (const auto& s : write_segments_) flat.insert(flat.end(), s.span().begin(), s.span().end());
    (*obs)(p->api, p->version, flat);
  }
  in_flight_.push_back(p);
  writing_ = true;
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(write_segments_.size());
  if (tls_) {
    tls_chunks_.clear();
    for (const auto& s : write_segments_) {
      if (s.size() >= kTlsCoalesceBelow) {
        bufs.emplace_back(s.data(), s.size());
        continue;
      }
      if (tls_chunks_.empty() || bufs.empty() || bufs.back().data() != tls_chunks_.back().data()) {
        tls_chunks_.emplace_back();
        tls_chunks_.back().reserve(kTlsCoalesceBelow * 2);
        bufs.emplace_back(tls_chunks_.back().data(), 0);
      }
      auto& chunk = tls_chunks_.back();
      chunk.insert(chunk.end(), s.span().begin(), s.span().end());
      bufs.back() = asio::const_buffer(chunk.data(), chunk.size());
    }
  } else {
    for (const auto& s : write_segments_) bufs.emplace_back(s.data(), s.size());
  }
  uint64_t gen = generation_;
  auto done = [self = shared_from_this(), gen, keep = tls_](const boost::system::error_code& ec, size_t) {
    if (gen != self->generation_) return;
    self->writing_ = false;
    self->write_segments_.clear();
    self->tls_chunks_.clear();
    if (ec) {
      if (self->tls_ && self->state_ == State::negotiating && is_tls_error(ec))
        return self->fail_login(make_error_code(login_errc::tls_handshake_failed), self->tls_error_detail(ec));
      return self->fail_connection(ec, "write");
    }
    self->pump();
  };
  if (tls_)
    asio::async_write(*tls_, bufs, std::move(done));
  else
    asio::async_write(socket_, bufs, std::move(done));
}

void Connection::start_read() {
  auto region = decoder_.prepare();
  read_region_ = region;
  uint64_t gen = generation_;
  auto done = [self = shared_from_this(), gen, keep = tls_](const boost::system::error_code& ec, size_t n) {
    if (gen != self->generation_) return;
    self->on_read(ec, n);
  };
  if (tls_)
    tls_->async_read_some(asio::buffer(region.data(), region.size()), std::move(done));
  else
    socket_.async_read_some(asio::buffer(region.data(), region.size()), std::move(done));
}

void Connection::on_read(const boost::system::error_code& ec, size_t n) {
  if (ec) {
    // With TLS 1.3 the broker checks our client certificate after the handshake completed:
    // its refusal arrives as an alert on the first read.
    if (tls_ && state_ == State::negotiating && is_tls_error(ec))
      return fail_login(make_error_code(login_errc::tls_handshake_failed), tls_error_detail(ec));
    return fail_connection(ec, "read", read_failure_hint(ec));
  }
  std::error_code fec;
  const bool first_bytes = frames_ == 0 && decoder_.partial_size() == 0;
  decoder_.commit(n, fec);
  if (fec) {
    // A TLS record starts with its content type (21 alert, 22 handshake) and version 3.x; read
    // as a Kafka frame size that is hundreds of MB: a TLS listener answered our plaintext.
    const bool tls_bytes = first_bytes && !tls_ && n >= 2 && (read_region_[0] == 21 || read_region_[0] == 22) &&
                           read_region_[1] == 3;
    return fail_connection(fec, "read frame size",
                           tls_bytes ? "the broker answered with TLS: this is a TLS listener, set security.protocol "
                                       "to SSL (or SASL_SSL)"
                                     : "");
  }
  uint64_t gen = generation_;
  if (auto frame = decoder_.pop()) {
    dispatch_frame(std::move(*frame));
    if (gen != generation_) return;  // the frame broke the connection
  }
  start_read();
}

std::string Connection::read_failure_hint(const boost::system::error_code& ec) const {
  const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  // Kafka answers ApiVersions before a SASL login (KIP-152) and closes the connection at the
  // next request of a client that did not log in.
  if (closed && !opts_.security.sasl && state_ == State::ready && frames_ == 1)
    return "the broker closed the connection at the first request after ApiVersions: a SASL listener does that "
           "to clients that do not log in; set security.protocol to SASL_PLAINTEXT or SASL_SSL, with sasl settings";
  // Some TLS stacks close without an alert when the first bytes are not a ClientHello.
  if (closed && !tls_ && state_ == State::negotiating && frames_ == 0)
    return "the broker closed the connection before answering ApiVersions: is it a TLS listener? then set "
           "security.protocol to SSL (or SASL_SSL)";
  return "";
}

void Connection::dispatch_frame(SharedBuffer frame) {
  ++frames_;
  auto corr = protocol::peek_correlation_id(frame.span());
  if (in_flight_.empty() || !corr || *corr != in_flight_.front()->correlation_id) {
    // Kafka answers in order on a connection: anything else means we lost track.
    TM_WARN(kComponent, "response with unexpected correlation id",
            {{"broker", ep_.str()},
             {"got", corr ? *corr : -1},
             {"expected", in_flight_.empty() ? -1 : in_flight_.front()->correlation_id}});
    return fail_connection(errc::malformed, "read");
  }
  auto p = in_flight_.front();
  in_flight_.pop_front();
  complete(p, {}, std::move(frame));
  pump();
}

void Connection::complete(const std::shared_ptr<Pending>& p, std::error_code ec, SharedBuffer frame) {
  if (!p->handler) return;
  auto h = std::move(p->handler);
  p->handler = nullptr;
  h(ec, std::move(frame), p->version);
}

void Connection::arm_deadline_timer() {
  Clock::time_point earliest = Clock::time_point::max();
  for (const auto& p : queue_) earliest = std::min(earliest, p->deadline);
  for (const auto& p : in_flight_) earliest = std::min(earliest, p->deadline);
  if (earliest == Clock::time_point::max()) return;
  deadline_timer_.expires_at(earliest);
  deadline_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec) return;  // re-armed or closed
    self->on_deadline_timer();
  });
}

void Connection::on_deadline_timer() {
  if (state_ == State::closed) return;
  auto now = Clock::now();
  std::vector<std::shared_ptr<Pending>> expired;
  std::erase_if(queue_, [&](const auto& p) {
    if (p->deadline > now) return false;
    expired.push_back(p);
    return true;
  });
  for (auto& p : expired) complete(p, errc::timed_out, {});
  bool in_flight_expired = false;
  for (const auto& p : in_flight_) in_flight_expired |= p->deadline <= now;
  if (in_flight_expired) {
    // The broker may still answer later; the connection's request/response pairing can
    // no longer be trusted, so it goes (as Kafka's NetworkClient does on request timeout).
    fail_connection(errc::timed_out, "request deadline");
  }
  arm_deadline_timer();
}

}  // namespace tiermirror::net
