#pragma once
// A minimal Kafka broker behind TLS, in-process (Asio's ssl::stream, blocking, a thread per
// connection): it answers ApiVersions and Metadata, can require a client certificate, and
// records the common name of each client certificate it saw. Plus certificates made at run
// time with the openssl command line tool.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scripted_broker.h"
#include "tiermirror/protocol/messages/metadata.h"

namespace tiermirror::test {

/// A temporary directory of PEM files made with `openssl`. ok() is false when the tool is
/// missing or failed (tests skip then).
class CertDir {
 public:
  CertDir() {
    char tmpl[] = "/tmp/tiermirror-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ok_ = std::system("openssl version >/dev/null 2>&1") == 0;
  }
  ~CertDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  /// A self-signed CA: NAME.pem, NAME.key.
  bool ca(const std::string& name) {
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + path(name + ".key") +
               " -out " + path(name + ".pem") + " -days 3650 -subj /CN=" + name +
               " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
  }
  /// A leaf NAME.pem / NAME.key signed by CA, with subject CN and the given subjectAltName
  /// (empty: none); `days` -1 makes one that expired at once.
  bool leaf(const std::string& name, const std::string& ca, const std::string& cn, const std::string& san, int days = 365) {
    std::string ext = path(name + ".ext");
    std::ofstream(ext) << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
                       << (san.empty() ? "" : "subjectAltName=" + san + "\n");
    return run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + path(name + ".key") +
               " -out " + path(name + ".csr") + " -subj /CN=" + cn) &&
           run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + path(ca + ".pem") + " -CAkey " +
               path(ca + ".key") + " -CAcreateserial -out " + path(name + ".pem") + " -days " + std::to_string(days) +
               " -extfile " + ext);
  }

 private:
  bool run(const std::string& cmd) { return ok_ && std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
  std::string dir_;
  bool ok_ = false;
};

class TlsBroker {
 public:
  struct Options {
    std::string cert_file, key_file;
    std::string client_ca_file;  // set: a client certificate signed by it is required
  };

  explicit TlsBroker(Options o) : ctx_(boost::asio::ssl::context::tls_server), acceptor_(io_) {
    ctx_.use_certificate_chain_file(o.cert_file);
    ctx_.use_private_key_file(o.key_file, boost::asio::ssl::context::pem);
    if (!o.client_ca_file.empty()) {
      ctx_.load_verify_file(o.client_ca_file);
      ctx_.set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert);
    }
    using boost::asio::ip::tcp;
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~TlsBroker() {
    stop_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    {
      std::lock_guard lk(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conn_threads_) t.join();
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int handshakes_ok() const { return handshakes_ok_.load(); }
  std::vector<std::string> client_names() {
    std::lock_guard lk(mu_);
    return client_names_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      boost::asio::ip::tcp::socket sock(io_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      ++accepted_;
      {
        std::lock_guard lk(mu_);
        fds_.push_back(sock.native_handle());
      }
      conn_threads_.emplace_back([this, s = std::move(sock)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(boost::asio::ip::tcp::socket sock) {
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> s(std::move(sock), ctx_);
    boost::system::error_code ec;
    s.handshake(boost::asio::ssl::stream_base::server, ec);
    if (ec) return;
    ++handshakes_ok_;
    if (X509* peer = SSL_get1_peer_certificate(s.native_handle())) {
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      X509_free(peer);
      std::lock_guard lk(mu_);
      client_names_.push_back(cn);
    }
    for (;;) {
      uint8_t sz[4];
      if (boost::asio::read(s, boost::asio::buffer(sz, 4), ec) != 4 || ec) return;
      uint32_t n = (uint32_t(sz[0]) << 24) | (uint32_t(sz[1]) << 16) | (uint32_t(sz[2]) << 8) | sz[3];
      Bytes body(n);
      if (boost::asio::read(s, boost::asio::buffer(body), ec) != n || ec) return;
      SharedBuffer frame(std::move(body));
      protocol::Reader r{BufferSlice(frame)};
      auto h = protocol::read_request_header(r);
      Reply reply;
      if (h.api_key == protocol::ApiKey::api_versions) {
        reply = ScriptedBroker::api_versions(h);
      } else {
        protocol::MetadataResponse md;
        md.brokers.push_back({1, "localhost", 9093, std::nullopt});
        reply = ScriptedBroker::frame(h, md, h.api_version);
      }
      uint32_t len = static_cast<uint32_t>(reply.bytes.size());
      Bytes out{uint8_t(len >> 24), uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len)};
      out.insert(out.end(), reply.bytes.begin(), reply.bytes.end());
      boost::asio::write(s, boost::asio::buffer(out), ec);
      if (ec) return;
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0}, handshakes_ok_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::string> client_names_;
  std::thread accept_thread_;
  std::vector<std::thread> conn_threads_;  // touched by the accept thread only, then joined
};

}  // namespace tiermirror::test
