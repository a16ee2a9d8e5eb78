#pragma once
// How a connection proves who it talks to and who it is: TLS (Asio over OpenSSL) and SASL.
// Plain structs, filled by the app from the route config (net does not know the config layer).
//
// Certificates rotate without a restart: TlsContext re-reads its files when their
// modification time, size or inode changed (checked whenever a connection is made) or after
// reload() (the app calls it on SIGHUP). Connections already up keep the context they were
// made with; only new connections use the new files.
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "tiermirror/common/result.h"
#include "tiermirror/net/scram.h"

namespace tiermirror::net {

/// Failures to log in that are not Kafka error codes. A login failure (these, and the
/// SASL error codes) does not fix itself by retrying with the same files and credentials.
enum class login_errc {
  tls_files_unusable = 1,  // CA, certificate or key missing, unreadable or not matching
  tls_handshake_failed,    // includes an untrusted, expired or misnamed broker certificate
  password_unavailable,    // the password source (file, environment variable) failed
};
const std::error_category& login_category();
inline std::error_code make_error_code(login_errc e) { return {static_cast<int>(e), login_category()}; }

/// The likely misconfiguration behind a failed connection, in the operator's terms (config keys):
/// the data path derives them from the broker's bytes (Connection), the admin client's path
/// from librdkafka's words (app::admin_login_failure).
namespace hint {
inline constexpr const char* kNoTlsOnPort =
    "the broker does not speak TLS on this port: is it a PLAINTEXT or SASL_PLAINTEXT listener? then set "
    "security.protocol to match";
inline constexpr const char* kNoSaslOnListener =
    "this listener does not use SASL: set security.protocol to PLAINTEXT or SSL, without sasl";
inline constexpr const char* kClientCertificate =
    "the broker may require a client certificate: set tls.cert_file and tls.key_file";
}  // namespace hint

/// TLS_HANDSHAKE / SASL_AUTHENTICATION_FAILED / UNSUPPORTED_SASL_MECHANISM / ILLEGAL_SASL_STATE
/// and login_errc: errors a route treats as fatal at start.
bool is_login_failure(std::error_code ec);

struct TlsOptions {
  std::string ca_file;    // PEM bundle; "" = the system trust store
  std::string cert_file;  // PEM client certificate (chain) for mutual TLS; "" = none
  std::string key_file;   // PEM private key of cert_file (unencrypted)
  bool verify_hostname = true;  // the broker certificate must name the host we dialled
};

class TlsContext {
 public:
  static std::shared_ptr<TlsContext> create(TlsOptions opts);

  /// The context a new connection should use (TLS 1.2 or later, peer verified). The files
  /// are re-read first when they changed on disk or reload() was called. When re-reading
  /// fails (a half-written rotation, say), the previous context stays in use and the
  /// failure is logged; with no previous context the error is returned, `why` says which
  /// file and what OpenSSL said. Thread-safe.
  Result<std::shared_ptr<boost::asio::ssl::context>> context(std::string* why = nullptr);
  /// Re-read the files at the next context() even if they look unchanged (SIGHUP).
  void reload();
  const TlsOptions& options() const { return opts_; }
  /// How many times the files were (re)loaded successfully (tests, status).
  uint64_t generation() const;

 private:
  explicit TlsContext(TlsOptions opts) : opts_(std::move(opts)) {}
  struct FileStamp {
    int64_t mtime_ns = -1, size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  std::vector<FileStamp> stamps() const;
  Result<std::shared_ptr<boost::asio::ssl::context>> build(std::string& why) const;

  TlsOptions opts_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::vector<FileStamp> loaded_stamps_;
  bool force_reload_ = false;
  uint64_t generation_ = 0;
};

struct SaslOptions {
  SaslMechanism mechanism = SaslMechanism::plain;
  std::string username;
  /// Called at every login (and re-login) for the password, so a rotated password file is
  /// picked up. Its error must not contain the password; the value is never logged.
  std::function<Result<std::string>()> password;
};

struct SecurityOptions {
  std::shared_ptr<TlsContext> tls;  // null = plaintext
  std::optional<SaslOptions> sasl;  // nullopt = no SASL
};

}  // namespace tiermirror::net

template <>
struct std::is_error_code_enum<tiermirror::net::login_errc> : std::true_type {};
