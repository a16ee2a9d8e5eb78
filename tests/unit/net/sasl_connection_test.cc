// SASL through net::Connection against the scripted broker: PLAIN, SCRAM-SHA-256/512, a
// refused password, an unknown mechanism, re-authentication (KIP-368). The broker behaves
// as Kafka's does on a SASL listener: anything but ApiVersions and the SASL requests before
// the login closes the connection, and so does a request after the session expired.
#include <gtest/gtest.h>

#include <mutex>

#include "scram_server.h"
#include "scripted_broker.h"
#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/protocol/messages/metadata.h"
#include "tiermirror/protocol/messages/sasl_authenticate.h"
#include "tiermirror/protocol/messages/sasl_handshake.h"

namespace tiermirror::net {
namespace {

using test::Reply;
using test::ScramServer;
using test::ScriptedBroker;
using MetaCall = std::pair<std::error_code, protocol::MetadataResponse>;

// Every password these tests use: none may ever show in a log line or an error message.
constexpr const char* kPassword = "Corr3ct-H0rse-Battery";
constexpr const char* kWrongPassword = "Wr0ng-Stapl3-Guess";

Reply sasl_api_versions(const protocol::RequestHeader& h) {
  protocol::ApiVersionsResponse resp;
  for (auto api : {protocol::ApiKey::metadata, protocol::ApiKey::api_versions, protocol::ApiKey::sasl_handshake,
                   protocol::ApiKey::sasl_authenticate}) {
    auto r = protocol::supported_versions(api);
    resp.api_keys.push_back({static_cast<int16_t>(api), r.min, r.max});
  }
  return ScriptedBroker::frame(h, resp, h.api_version);
}

// A SASL listener: mechanisms it enables, the user's password, the session lifetime it grants.
struct SaslBroker {
  std::vector<std::string> mechanisms{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
  std::string password = kPassword;
  int64_t session_lifetime_ms = 0;

  std::mutex mu;
  int logins = 0;            // successful, over all connections
  int other_requests = 0;    // answered Metadata requests
  bool violation = false;    // a request came before the login or after the session ended
  std::string last_plain_user;

  struct Conn {
    std::string mechanism;
    std::unique_ptr<ScramServer> scram;
    bool authenticated = false;
    Clock::time_point expires = Clock::time_point::max();
  };
  std::map<int, Conn> conns;

  Reply handle(const protocol::RequestHeader& h, const SharedBuffer& frame, int conn_no) {
    std::lock_guard lk(mu);
    auto& c = conns[conn_no];
    switch (h.api_key) {
      case protocol::ApiKey::api_versions:
        return sasl_api_versions(h);
      case protocol::ApiKey::sasl_handshake: {
        auto req = protocol::decode_request<protocol::SaslHandshakeRequest>(frame);
        protocol::SaslHandshakeResponse resp;
        resp.mechanisms = mechanisms;
        if (std::find(mechanisms.begin(), mechanisms.end(), req.value->mechanism) == mechanisms.end())
          resp.error_code = static_cast<int16_t>(kafka_errc::unsupported_sasl_mechanism);
        c.mechanism = req.value->mechanism;
        c.scram.reset();
        return ScriptedBroker::frame(h, resp, h.api_version);
      }
      case protocol::ApiKey::sasl_authenticate: {
        auto req = protocol::decode_request<protocol::SaslAuthenticateRequest>(frame);
        std::string token(req.value->auth_bytes.begin(), req.value->auth_bytes.end());
        protocol::SaslAuthenticateResponse resp;
        bool done = false;
        if (c.mechanism == "PLAIN") {
          auto a = token.find('\0'), b = token.find('\0', a + 1);
          last_plain_user = token.substr(a + 1, b - a - 1);
          done = token.substr(b + 1) == password;
          if (!done) {
            resp.error_code = static_cast<int16_t>(kafka_errc::sasl_authentication_failed);
            resp.error_message = "Authentication failed: Invalid username or password";
          }
        } else {
          if (!c.scram) {
            c.scram = std::make_unique<ScramServer>(c.mechanism == "SCRAM-SHA-256" ? EVP_sha256() : EVP_sha512(),
                                                    password, Bytes{7, 7, 7, 7, 7, 7}, 4096, "srv");
            std::string sf = c.scram->first(token);
            resp.auth_bytes.assign(sf.begin(), sf.end());
          } else {
            std::string fin = c.scram->final_(token);
            done = c.scram->authenticated();
            if (!done) {
              resp.error_code = static_cast<int16_t>(kafka_errc::sasl_authentication_failed);
              resp.error_message = "Authentication failed during authentication due to invalid credentials with SASL mechanism " + c.mechanism;
            } else {
              resp.auth_bytes.assign(fin.begin(), fin.end());
            }
          }
        }
        if (done) {
          ++logins;
          c.authenticated = true;
          resp.session_lifetime_ms = session_lifetime_ms;
          c.expires = session_lifetime_ms > 0 ? Clock::now() + Millis(session_lifetime_ms) : Clock::time_point::max();
        }
        return ScriptedBroker::frame(h, resp, h.api_version);
      }
      default:
        if (!c.authenticated || Clock::now() > c.expires) {
          violation = true;
          return Reply{Reply::Kind::close, {}};
        }
        ++other_requests;
        protocol::MetadataResponse md;
        md.brokers.push_back({1, "127.0.0.1", 9092, std::nullopt});
        return ScriptedBroker::frame(h, md, h.api_version);
    }
  }
};

MetaCall metadata(const std::shared_ptr<Connection>& c) {
  return await<MetaCall>([&](auto done) {
    call<protocol::MetadataResponse>(c, protocol::MetadataRequest{}, Millis(3000),
                                     [done](std::error_code ec, protocol::MetadataResponse r, int16_t) { done({ec, r}); });
  });
}

class SaslConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(log::Level::trace, log::Format::text);  // everything a login might say
    ::testing::internal::CaptureStderr();
  }
  void TearDown() override {
    std::string logs = ::testing::internal::GetCapturedStderr();
    log::init(log::Level::info, log::Format::text);
    // The capture works: what the test expects to be logged is there.
    if (!expect_in_log_.empty()) {
      EXPECT_NE(logs.find(expect_in_log_), std::string::npos) << logs;
    }
    for (const char* secret : {kPassword, kWrongPassword}) {
      EXPECT_EQ(logs.find(secret), std::string::npos) << "a password was logged";
      std::lock_guard lk(mu_);
      for (const auto& m : messages_) EXPECT_EQ(m.find(secret), std::string::npos) << "in error message: " << m;
    }
  }

  ConnectionOptions options(SaslMechanism mech, std::string password) {
    ConnectionOptions o;
    o.connect_timeout = Millis(3000);
    o.backoff_initial = Millis(10);
    o.backoff_max = Millis(50);
    o.security.sasl = SaslOptions{mech, "mirror", [password] { return Result<std::string>(password); }};
    o.on_login_failure = [this](std::error_code ec, const std::string& detail) {
      std::lock_guard lk(mu_);
      messages_.push_back(ec.message());
      messages_.push_back(detail);
    };
    return o;
  }
  void remember(std::error_code ec) {
    std::lock_guard lk(mu_);
    messages_.push_back(ec.message());
  }
  std::vector<std::string> login_details() {
    std::lock_guard lk(mu_);
    return messages_;
  }

  std::mutex mu_;
  std::vector<std::string> messages_;
  std::string expect_in_log_;
};

TEST_F(SaslConnection, PlainLogsInThenServes) {
  SaslBroker sb;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(SaslMechanism::plain, kPassword));
  auto [ec, md] = metadata(c);
  remember(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(sb.logins, 1);
  EXPECT_EQ(sb.last_plain_user, "mirror");
  EXPECT_FALSE(sb.violation);
  EXPECT_EQ(c->sasl_logins(), 1u);
  c->close();
}

TEST_F(SaslConnection, BadPasswordIsAClearLoginError) {
  SaslBroker sb;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(SaslMechanism::plain, kWrongPassword));
  expect_in_log_ = "login failed";
  auto start = Clock::now();
  auto [ec, md] = metadata(c);
  remember(ec);
  EXPECT_EQ(ec, kafka_errc::sasl_authentication_failed) << ec.message();
  EXPECT_TRUE(is_login_failure(ec));
  EXPECT_LT(Clock::now() - start, Millis(2000)) << "the request should fail with the login, not time out";
  auto details = login_details();
  bool named = false;
  for (const auto& d : details) named |= d.find("Invalid username or password") != std::string::npos &&
                                         d.find("PLAIN login as 'mirror'") != std::string::npos;
  EXPECT_TRUE(named) << "the login failure should name the mechanism, the user and the broker's reason";
  EXPECT_EQ(sb.other_requests, 0);
  EXPECT_FALSE(sb.violation);
  c->close();
}

TEST_F(SaslConnection, UnsupportedMechanismListsTheBrokersMechanisms) {
  SaslBroker sb;
  sb.mechanisms = {"PLAIN", "GSSAPI"};
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1,
                              options(SaslMechanism::scram_sha_512, kPassword));
  auto [ec, md] = metadata(c);
  remember(ec);
  EXPECT_EQ(ec, kafka_errc::unsupported_sasl_mechanism) << ec.message();
  bool listed = false;
  for (const auto& d : login_details())
    listed |= d.find("SCRAM-SHA-512") != std::string::npos && d.find("PLAIN, GSSAPI") != std::string::npos;
  EXPECT_TRUE(listed);
  EXPECT_FALSE(sb.violation);
  c->close();
}

TEST_F(SaslConnection, ScramSha256FullExchange) {
  SaslBroker sb;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1,
                              options(SaslMechanism::scram_sha_256, kPassword));
  auto [ec, md] = metadata(c);
  remember(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(sb.logins, 1);
  EXPECT_FALSE(sb.violation);
  c->close();
}

TEST_F(SaslConnection, ScramSha512WrongPasswordFails) {
  SaslBroker sb;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1,
                              options(SaslMechanism::scram_sha_512, kWrongPassword));
  expect_in_log_ = "SCRAM-SHA-512 login as 'mirror' refused";
  auto [ec, md] = metadata(c);
  remember(ec);
  EXPECT_EQ(ec, kafka_errc::sasl_authentication_failed) << ec.message();
  EXPECT_EQ(sb.logins, 0);
  c->close();
}

TEST_F(SaslConnection, UnreadablePasswordIsALoginError) {
  SaslBroker sb;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto o = options(SaslMechanism::plain, kPassword);
  o.security.sasl->password = [] { return Result<std::string>(std::error_code(ENOENT, std::generic_category())); };
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, o);
  auto [ec, md] = metadata(c);
  remember(ec);
  EXPECT_EQ(ec, login_errc::password_unavailable) << ec.message();
  c->close();
}

TEST_F(SaslConnection, ReauthenticatesBeforeTheSessionEndsWithoutDroppingRequests) {
  SaslBroker sb;
  sb.session_lifetime_ms = 1000;
  ScriptedBroker broker([&](const auto& h, const auto& f, int n) { return sb.handle(h, f, n); });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1,
                              options(SaslMechanism::scram_sha_256, kPassword));
  // Keep requests flowing, several in flight at a time, across a few session lifetimes.
  auto until = Clock::now() + Millis(3300);
  int ok = 0, failed = 0;
  while (Clock::now() < until) {
    std::vector<std::future<MetaCall>> batch;
    for (int i = 0; i < 4; ++i) batch.push_back(std::async(std::launch::async, [&] { return metadata(c); }));
    for (auto& f : batch) {
      auto [ec, md] = f.get();
      remember(ec);
      (ec ? failed : ok)++;
    }
    std::this_thread::sleep_for(Millis(20));
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 20);
  EXPECT_GE(sb.logins, 3) << "expected a login and re-authentications every ~85-95% of 1 s";
  EXPECT_EQ(broker.connections(), 1) << "re-authentication happens on the same connection";
  EXPECT_FALSE(sb.violation) << "a request reached the broker after the session expired";
  EXPECT_GE(c->sasl_logins(), 3u);
  c->close();
}

}  // namespace
}  // namespace tiermirror::net
