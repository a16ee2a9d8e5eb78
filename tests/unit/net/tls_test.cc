// TLS through net::Connection against an in-process TLS broker, with certificates made at run
// time by the openssl tool: trust, hostname verification, expiry, mutual TLS and rotation of
// the certificate files while connections are up.
#include <gtest/gtest.h>

#include <filesystem>

#include "tiermirror/net/call.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tls_broker.h"

namespace tiermirror::net {
namespace {

using test::CertDir;
using test::TlsBroker;
using MetaCall = std::pair<std::error_code, protocol::MetadataResponse>;

MetaCall metadata(const std::shared_ptr<Connection>& c) {
  return await<MetaCall>([&](auto done) {
    call<protocol::MetadataResponse>(c, protocol::MetadataRequest{}, Millis(3000),
                                     [done](std::error_code ec, protocol::MetadataResponse r, int16_t) { done({ec, r}); });
  });
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!certs_.ok()) GTEST_SKIP() << "the openssl command line tool is missing: TLS tests need it to make certificates";
    ASSERT_TRUE(certs_.ca("ca"));
    ASSERT_TRUE(certs_.leaf("server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1"));
  }

  ConnectionOptions options(TlsOptions tls) {
    ConnectionOptions o;
    o.connect_timeout = Millis(3000);
    o.backoff_initial = Millis(10);
    o.backoff_max = Millis(50);
    o.security.tls = TlsContext::create(std::move(tls));
    o.on_login_failure = [this](std::error_code, const std::string& detail) {
      std::lock_guard lk(mu_);
      details_ += detail + "\n";
    };
    return o;
  }
  TlsOptions trusting(const std::string& ca) { return TlsOptions{certs_.path(ca + ".pem"), "", "", true}; }
  std::string details() {
    std::lock_guard lk(mu_);
    return details_;
  }
  TlsBroker::Options server(const std::string& name = "server", const std::string& client_ca = "") {
    return {certs_.path(name + ".pem"), certs_.path(name + ".key"), client_ca.empty() ? "" : certs_.path(client_ca + ".pem")};
  }

  CertDir certs_;
  std::mutex mu_;
  std::string details_;
};

TEST_F(Tls, ConnectsByIpAndByName) {
  TlsBroker broker(server());
  IoThread io;
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto c = Connection::create(io.io(), {host, broker.port()}, 1, options(trusting("ca")));
    auto [ec, md] = metadata(c);
    EXPECT_FALSE(ec) << host << ": " << ec.message() << " " << details();
    EXPECT_EQ(md.brokers.size(), 1u);
    c->close();
  }
  EXPECT_EQ(broker.handshakes_ok(), 2);
}

TEST_F(Tls, UntrustedCaFails) {
  ASSERT_TRUE(certs_.ca("other-ca"));
  TlsBroker broker(server());
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(trusting("other-ca")));
  auto [ec, md] = metadata(c);
  EXPECT_EQ(ec, login_errc::tls_handshake_failed) << ec.message();
  EXPECT_TRUE(is_login_failure(ec));
  EXPECT_NE(details().find("certificate verify failed"), std::string::npos) << details();
  c->close();
}

TEST_F(Tls, WrongHostnameFailsUnlessVerificationIsOff) {
  ASSERT_TRUE(certs_.leaf("elsewhere", "ca", "kafka.example.com", "DNS:kafka.example.com"));
  TlsBroker broker(server("elsewhere"));
  IoThread io;
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto c = Connection::create(io.io(), {host, broker.port()}, 1, options(trusting("ca")));
    auto [ec, md] = metadata(c);
    EXPECT_EQ(ec, login_errc::tls_handshake_failed) << host << ": " << ec.message();
    c->close();
  }
  EXPECT_NE(details().find("mismatch"), std::string::npos) << details();

  auto off = trusting("ca");
  off.verify_hostname = false;  // still verified against the CA, only the name is not checked
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(off));
  auto [ec, md] = metadata(c);
  EXPECT_FALSE(ec) << ec.message() << " " << details();
  c->close();
}

TEST_F(Tls, ExpiredCertificateFails) {
  ASSERT_TRUE(certs_.leaf("expired", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", -1));
  TlsBroker broker(server("expired"));
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(trusting("ca")));
  auto [ec, md] = metadata(c);
  EXPECT_EQ(ec, login_errc::tls_handshake_failed) << ec.message();
  EXPECT_NE(details().find("expired"), std::string::npos) << details();
  c->close();
}

TEST_F(Tls, ClientCertificateRequired) {
  ASSERT_TRUE(certs_.leaf("client", "ca", "tiermirror-client", ""));
  TlsBroker broker(server("server", "ca"));
  IoThread io;
  {
    auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(trusting("ca")));
    auto [ec, md] = metadata(c);
    EXPECT_EQ(ec, login_errc::tls_handshake_failed) << ec.message();
    c->close();
  }
  {
    auto mtls = trusting("ca");
    mtls.cert_file = certs_.path("client.pem");
    mtls.key_file = certs_.path("client.key");
    auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, options(mtls));
    auto [ec, md] = metadata(c);
    EXPECT_FALSE(ec) << ec.message() << " " << details();
    c->close();
  }
  EXPECT_EQ(broker.client_names(), std::vector<std::string>{"tiermirror-client"});
}

TEST_F(Tls, UnusableFilesAreALoginError) {
  auto bad = trusting("ca");
  bad.cert_file = certs_.path("missing.pem");
  bad.key_file = certs_.path("missing.key");
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", 1}, 1, options(bad));
  auto [ec, md] = metadata(c);
  EXPECT_EQ(ec, login_errc::tls_files_unusable) << ec.message();
  EXPECT_NE(details().find("missing.pem"), std::string::npos) << details();
  c->close();
}

TEST_F(Tls, RotatedCertificateFilesServeNewConnectionsOnly) {
  ASSERT_TRUE(certs_.leaf("client1", "ca", "client-one", ""));
  ASSERT_TRUE(certs_.leaf("client2", "ca", "client-two", ""));
  ASSERT_TRUE(certs_.leaf("client3", "ca", "client-three", ""));
  namespace fs = std::filesystem;
  const std::string cert = certs_.path("client.pem"), key = certs_.path("client.key");
  // Rotation as deployment tools do it: write aside, rename into place.
  auto install = [&](const std::string& from, bool with_key = true) {
    fs::copy_file(certs_.path(from + ".pem"), cert + ".tmp", fs::copy_options::overwrite_existing);
    fs::rename(cert + ".tmp", cert);
    if (!with_key) return;
    fs::copy_file(certs_.path(from + ".key"), key + ".tmp", fs::copy_options::overwrite_existing);
    fs::rename(key + ".tmp", key);
  };
  install("client1");
  TlsBroker broker(server("server", "ca"));
  IoThread io;
  auto mtls = trusting("ca");
  mtls.cert_file = cert;
  mtls.key_file = key;
  auto opts = options(mtls);  // one TlsContext shared by the connections, as in a Cluster
  auto first = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, opts);
  ASSERT_FALSE(metadata(first).first);

  install("client2");
  // The connection that is up stays up and keeps serving...
  ASSERT_FALSE(metadata(first).first);
  EXPECT_EQ(broker.accepted(), 1);
  // ...and a new connection presents the new certificate.
  auto second = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 2, opts);
  ASSERT_FALSE(metadata(second).first) << details();
  EXPECT_EQ(broker.client_names(), (std::vector<std::string>{"client-one", "client-two"}));
  EXPECT_EQ(opts.security.tls->generation(), 2u);

  // Half a rotation (certificate replaced, key not yet) keeps the previous files in use.
  install("client3", /*with_key=*/false);
  auto third = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 3, opts);
  ASSERT_FALSE(metadata(third).first) << details();
  EXPECT_EQ(broker.client_names().back(), "client-two");

  // reload() (SIGHUP) re-reads even when nothing looks changed.
  fs::copy_file(certs_.path("client3.key"), key, fs::copy_options::overwrite_existing);
  opts.security.tls->reload();
  auto fourth = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 4, opts);
  ASSERT_FALSE(metadata(fourth).first) << details();
  EXPECT_EQ(broker.client_names().back(), "client-three");
  ASSERT_FALSE(metadata(first).first) << "the first connection is still up";
  EXPECT_EQ(broker.accepted(), 4);
  for (auto& c : {first, second, third, fourth}) c->close();
}

}  // namespace
}  // namespace tiermirror::net
