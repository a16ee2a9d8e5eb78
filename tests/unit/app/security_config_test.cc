// The route config's security section mapped to the data path (net::SecurityOptions) and to
// librdkafka's settings for the control plane; the password only through read_password.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/sync_runner.h"

namespace tiermirror::app {
namespace {

constexpr const char* kSecret = "Sekr1t-Value-Never-Shown";

config::ClusterConfig sasl_ssl_cluster() {
  config::ClusterConfig c;
  c.name = "dc-a";
  c.bootstrap_servers = {{"127.0.0.1", 1}};
  c.security.protocol = config::SecurityProtocol::sasl_ssl;
  c.security.tls = config::TlsConfig{"", "", "", false};
  c.security.sasl = config::SaslConfig{config::SaslMechanism::scram_sha_512, "mirror", "", "TIERMIRROR_UNIT_PW"};
  return c;
}

TEST(SecurityConfig, DataPathOptions) {
  ::setenv("TIERMIRROR_UNIT_PW", kSecret, 1);
  auto o = security_options(sasl_ssl_cluster().security);
  ASSERT_TRUE(o.tls);
  EXPECT_EQ(o.tls->options().ca_file, "");
  EXPECT_FALSE(o.tls->options().verify_hostname);
  ASSERT_TRUE(o.sasl);
  EXPECT_EQ(o.sasl->mechanism, net::SaslMechanism::scram_sha_512);
  EXPECT_EQ(o.sasl->username, "mirror");
  auto pw = o.sasl->password();  // read at login time, not when the options are made
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(*pw, kSecret);

  auto plain = security_options(config::SecurityConfig{});
  EXPECT_FALSE(plain.tls);
  EXPECT_FALSE(plain.sasl);
}

TEST(SecurityConfig, RdKafkaSettings) {
  auto s = rdkafka_security(sasl_ssl_cluster().security);
  EXPECT_EQ(s["security.protocol"], "sasl_ssl");
  EXPECT_EQ(s.count("ssl.ca.location"), 0u);  // the system trust store
  EXPECT_EQ(s["ssl.endpoint.identification.algorithm"], "none");
  EXPECT_EQ(s["sasl.mechanisms"], "SCRAM-SHA-512");
  EXPECT_EQ(s["sasl.username"], "mirror");
  for (const auto& [k, v] : s) EXPECT_EQ(v.find(kSecret), std::string::npos) << k;
  EXPECT_EQ(s.count("sasl.password"), 0u);

  config::SecurityConfig tls;
  tls.protocol = config::SecurityProtocol::ssl;
  tls.tls = config::TlsConfig{"/etc/ca.pem", "/etc/c.pem", "/etc/c.key", true};
  auto t = rdkafka_security(tls);
  EXPECT_EQ(t["ssl.ca.location"], "/etc/ca.pem");
  EXPECT_EQ(t["ssl.certificate.location"], "/etc/c.pem");
  EXPECT_EQ(t["ssl.key.location"], "/etc/c.key");
  EXPECT_EQ(t["ssl.endpoint.identification.algorithm"], "https");
  EXPECT_EQ(t.count("sasl.mechanisms"), 0u);
}

TEST(SecurityConfig, AdminClientTakesThePasswordAtCreation) {
  ::setenv("TIERMIRROR_UNIT_PW", kSecret, 1);
  config::Config cfg;
  cfg.route.name = "r";
  // librdkafka accepts the settings (it is built with SSL and SASL) and reads the password now.
  EXPECT_NO_THROW(control::RdKafkaAdmin admin(admin_connection(sasl_ssl_cluster(), cfg)));

  ::unsetenv("TIERMIRROR_UNIT_PW");
  try {
    control::RdKafkaAdmin admin(admin_connection(sasl_ssl_cluster(), cfg));
    FAIL() << "a missing password must stop the admin client";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("SASL password"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace tiermirror::app
