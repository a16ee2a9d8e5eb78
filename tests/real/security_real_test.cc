// TLS and SASL against real Kafka listeners, through both the data path (net::Cluster) and the
// control plane (librdkafka's admin client), each configured from a route config the way
// `tiermirror run` does it. Runs only when TIERMIRROR_TEST_SOURCE and TIERMIRROR_TEST_TARGET
// are set and the listener variables below name a TLS or SASL listener; skipped otherwise.
//
//   TIERMIRROR_TEST_TLS_BOOTSTRAP      host:port of an SSL listener
//   TIERMIRROR_TEST_TLS_CA             CA bundle (PEM); unset: the system trust store
//   TIERMIRROR_TEST_TLS_CERT/_KEY      client certificate and key, for listeners that want one
//   TIERMIRROR_TEST_TLS_VERIFY_HOSTNAME  "false" to skip hostname verification
//   TIERMIRROR_TEST_SASL_BOOTSTRAP     host:port of a SASL_PLAINTEXT (or, with
//                                      TIERMIRROR_TEST_SASL_TLS=1, SASL_SSL) listener
//   TIERMIRROR_TEST_SASL_MECHANISM     PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//   TIERMIRROR_TEST_SASL_USERNAME
//   TIERMIRROR_TEST_SASL_PASSWORD      read through config::read_password (password_env)
#include <gtest/gtest.h>

#include <cstdlib>

#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::test {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

config::TlsConfig tls_from_env() {
  config::TlsConfig t;
  t.ca_file = env("TIERMIRROR_TEST_TLS_CA").value_or("");
  t.cert_file = env("TIERMIRROR_TEST_TLS_CERT").value_or("");
  t.key_file = env("TIERMIRROR_TEST_TLS_KEY").value_or("");
  t.verify_hostname = env("TIERMIRROR_TEST_TLS_VERIFY_HOSTNAME").value_or("true") != "false";
  return t;
}

class RealSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!env("TIERMIRROR_TEST_SOURCE") || !env("TIERMIRROR_TEST_TARGET"))
      GTEST_SKIP() << "set TIERMIRROR_TEST_SOURCE and TIERMIRROR_TEST_TARGET (and the TIERMIRROR_TEST_TLS_* / "
                      "TIERMIRROR_TEST_SASL_* variables) to run the real-broker security tests";
    cfg_.route.name = "security-real-test";
  }

  std::optional<config::ClusterConfig> tls_cluster() {
    auto b = env("TIERMIRROR_TEST_TLS_BOOTSTRAP");
    if (!b) return std::nullopt;
    config::ClusterConfig c;
    c.name = "tls";
    c.bootstrap_servers = {*config::parse_host_port(*b)};
    c.security.protocol = config::SecurityProtocol::ssl;
    c.security.tls = tls_from_env();
    return c;
  }
  std::optional<config::ClusterConfig> sasl_cluster(const std::string& password_env = "TIERMIRROR_TEST_SASL_PASSWORD") {
    auto b = env("TIERMIRROR_TEST_SASL_BOOTSTRAP");
    auto user = env("TIERMIRROR_TEST_SASL_USERNAME");
    if (!b || !user || !env("TIERMIRROR_TEST_SASL_PASSWORD")) return std::nullopt;
    config::ClusterConfig c;
    c.name = "sasl";
    c.bootstrap_servers = {*config::parse_host_port(*b)};
    bool tls = env("TIERMIRROR_TEST_SASL_TLS").value_or("") == "1";
    c.security.protocol = tls ? config::SecurityProtocol::sasl_ssl : config::SecurityProtocol::sasl_plaintext;
    if (tls) c.security.tls = tls_from_env();
    config::SaslConfig s;
    auto mech = env("TIERMIRROR_TEST_SASL_MECHANISM").value_or("PLAIN");
    s.mechanism = mech == "SCRAM-SHA-256"   ? config::SaslMechanism::scram_sha_256
                  : mech == "SCRAM-SHA-512" ? config::SaslMechanism::scram_sha_512
                                            : config::SaslMechanism::plain;
    s.username = *user;
    s.password_env = password_env;
    c.security.sasl = s;
    return c;
  }

  // Data path: metadata through net::Cluster with the options `run` would use.
  std::pair<std::error_code, net::MetadataPtr> data_path_metadata(const config::ClusterConfig& c,
                                                                  std::optional<std::string>* login = nullptr) {
    net::IoThread io;
    auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(c.bootstrap_string()), app::cluster_options(c, cfg_));
    using R = std::pair<std::error_code, net::MetadataPtr>;
    auto r = net::await<R>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
    if (login) *login = cluster->login_failure();
    cluster->close();
    return r;
  }

  config::Config cfg_;
};

TEST_F(RealSecurity, TlsDataPathAndControlPlaneReadMetadata) {
  auto c = tls_cluster();
  if (!c) GTEST_SKIP() << "set TIERMIRROR_TEST_TLS_BOOTSTRAP (and TIERMIRROR_TEST_TLS_CA, ...) to a TLS listener";
  auto [ec, md] = data_path_metadata(*c);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(md->brokers.empty());
  control::RdKafkaAdmin admin(app::admin_connection(*c, cfg_));
  auto topics = admin.list_topics(std::chrono::seconds(15));
  ASSERT_TRUE(topics.ok()) << topics.error().message;
}

TEST_F(RealSecurity, SaslDataPathAndControlPlaneReadMetadata) {
  auto c = sasl_cluster();
  if (!c) GTEST_SKIP() << "set TIERMIRROR_TEST_SASL_BOOTSTRAP, _USERNAME and _PASSWORD to a SASL listener's";
  auto [ec, md] = data_path_metadata(*c);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(md->brokers.empty());
  control::RdKafkaAdmin admin(app::admin_connection(*c, cfg_));
  auto topics = admin.list_topics(std::chrono::seconds(15));
  ASSERT_TRUE(topics.ok()) << topics.error().message;
}

TEST_F(RealSecurity, SaslWrongPasswordIsALoginFailure) {
  ::setenv("TIERMIRROR_TEST_WRONG_PASSWORD", "definitely-not-the-password", 1);
  auto c = sasl_cluster("TIERMIRROR_TEST_WRONG_PASSWORD");
  if (!c) GTEST_SKIP() << "set TIERMIRROR_TEST_SASL_BOOTSTRAP, _USERNAME and _PASSWORD to a SASL listener's";
  std::optional<std::string> login;
  auto [ec, md] = data_path_metadata(*c, &login);
  EXPECT_TRUE(net::is_login_failure(ec)) << ec.message();
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(login->find("definitely-not-the-password"), std::string::npos);
}

}  // namespace
}  // namespace tiermirror::test
