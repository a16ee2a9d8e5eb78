#include "tiermirror/net/security.h"

#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tiermirror/common/errors.h"
#include "tiermirror/common/log.h"

namespace tiermirror::net {

namespace asio = boost::asio;

namespace {
class LoginCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "login"; }
  std::string message(int code) const override {
    switch (static_cast<login_errc>(code)) {
      case login_errc::tls_files_unusable: return "TLS certificate files unusable";
      case login_errc::tls_handshake_failed: return "TLS handshake failed";
      case login_errc::password_unavailable: return "SASL password unavailable";
    }
    return "login error " + std::to_string(code);
  }
};
}  // namespace

const std::error_category& login_category() {
  static const LoginCategory c;
  return c;
}

bool is_login_failure(std::error_code ec) {
  if (ec.category() == login_category()) return true;
  return ec == kafka_errc::sasl_authentication_failed || ec == kafka_errc::unsupported_sasl_mechanism ||
         ec == kafka_errc::illegal_sasl_state;
}

std::shared_ptr<TlsContext> TlsContext::create(TlsOptions opts) {
  return std::shared_ptr<TlsContext>(new TlsContext(std::move(opts)));
}

std::vector<TlsContext::FileStamp> TlsContext::stamps() const {
  std::vector<FileStamp> out;
  for (const auto* f : {&opts_.ca_file, &opts_.cert_file, &opts_.key_file}) {
    FileStamp s;
    struct stat st {};
    if (!f->empty() && ::stat(f->c_str(), &st) == 0) {
      s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      s.size = static_cast<int64_t>(st.st_size);
      s.inode = static_cast<uint64_t>(st.st_ino);  // a rename into place is a new inode
    }
    out.push_back(s);
  }
  return out;
}

Result<std::shared_ptr<asio::ssl::context>> TlsContext::build(std::string& why) const {
  // OpenSSL says little more than "error" for a missing file: name the cause first.
  for (const auto& [what, f] : {std::pair{"CA file", &opts_.ca_file}, std::pair{"certificate file", &opts_.cert_file},
                                std::pair{"key file", &opts_.key_file}}) {
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0) {
      why = std::string(what) + " '" + *f + "': " + std::strerror(errno);
      return make_error_code(login_errc::tls_files_unusable);
    }
  }
  boost::system::error_code ec;
  std::shared_ptr<asio::ssl::context> ctx;
  try {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const std::exception& e) {
    why = std::string("cannot create a TLS context: ") + e.what();
    return make_error_code(login_errc::tls_files_unusable);
  }
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 is the oldest version Kafka still recommends; 1.0/1.1 are broken (RFC 8996).
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::no_compression, ec);  // CRIME
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (opts_.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      why = "system trust store: " + ec.message();
      return make_error_code(login_errc::tls_files_unusable);
    }
  } else {
    ctx->load_verify_file(opts_.ca_file, ec);
    if (ec) {
      why = "CA file '" + opts_.ca_file + "': " + ec.message();
      return make_error_code(login_errc::tls_files_unusable);
    }
  }
  if (!opts_.cert_file.empty()) {
    ctx->use_certificate_chain_file(opts_.cert_file, ec);
    if (ec) {
      why = "certificate file '" + opts_.cert_file + "': " + ec.message();
      return make_error_code(login_errc::tls_files_unusable);
    }
    ctx->use_private_key_file(opts_.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      why = "key file '" + opts_.key_file + "': " + ec.message();
      return make_error_code(login_errc::tls_files_unusable);
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      why = "key file '" + opts_.key_file + "' does not match certificate '" + opts_.cert_file + "'";
      return make_error_code(login_errc::tls_files_unusable);
    }
  }
  return ctx;
}

Result<std::shared_ptr<asio::ssl::context>> TlsContext::context(std::string* why) {
  std::lock_guard lk(mu_);
  auto now = stamps();
  if (current_ && !force_reload_ && now == loaded_stamps_) return current_;
  std::string reason;
  auto built = build(reason);
  force_reload_ = false;
  if (built) {
    if (current_) TM_INFO("net", "TLS files reloaded; new connections use them", {{"ca_file", opts_.ca_file},
                                                                                  {"cert_file", opts_.cert_file}});
    current_ = *built;
    loaded_stamps_ = std::move(now);
    ++generation_;
    return current_;
  }
  if (current_) {
    // A rotation half done (certificate replaced, key not yet) must not break new
    // connections: keep the files that worked until the set is consistent again.
    TM_ERROR("net", "TLS files changed but cannot be loaded; new connections keep the previous ones",
             {{"reason", reason}});
    loaded_stamps_ = std::move(now);  // log once per change, not once per connection
    return current_;
  }
  if (why) *why = reason;
  return built.error();
}

void TlsContext::reload() {
  std::lock_guard lk(mu_);
  force_reload_ = true;
}

uint64_t TlsContext::generation() const {
  std::lock_guard lk(mu_);
  return generation_;
}

}  // namespace tiermirror::net
