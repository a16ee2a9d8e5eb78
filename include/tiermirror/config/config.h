#pragma once
// The route configuration: YAML → validated structs. One process serves one route (one
// source cluster → one target cluster). See docs/configuration.md for every key.
//
// Loading never stops at the first problem: every problem found is returned as a Diagnostic
// with the key path ("source.security.sasl.password_file") and the 1-based line:column of the
// offending key or value. A Config is returned only when there are no diagnostics.
//
// Secrets: the Config holds the password file path or environment variable name, never the
// password. read_password() reads it when a connection is made. No diagnostic or error ever
// contains a password.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tiermirror/common/log.h"
#include "tiermirror/common/result.h"
#include "tiermirror/config/topics.h"
#include "tiermirror/config/units.h"

namespace tiermirror::config {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Clusters

enum class SecurityProtocol { plaintext, ssl, sasl_plaintext, sasl_ssl };
enum class SaslMechanism { plain, scram_sha_256, scram_sha_512 };

/// "plaintext", "ssl", "sasl_plaintext", "sasl_ssl" (config spelling; librdkafka accepts it).
std::string_view to_string(SecurityProtocol p);
/// "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" (Kafka's names).
std::string_view to_string(SaslMechanism m);

struct HostPort {
  std::string host;  // hostname, IPv4, or IPv6 without brackets
  uint16_t port = 0;
  /// "host:port", IPv6 as "[::1]:9092".
  std::string str() const;
  auto operator<=>(const HostPort&) const = default;
};
/// Parses "host:port" or "[ipv6]:port" (port 1..65535). On failure returns nullopt and, if
/// `why` is given, a reason fit for a message.
std::optional<HostPort> parse_host_port(std::string_view s, std::string* why = nullptr);

struct TlsConfig {
  std::string ca_file;    // absolute path, or "" = system trust store
  std::string cert_file;  // absolute path; cert_file and key_file are both set or both ""
  std::string key_file;
  bool verify_hostname = true;
};

struct SaslConfig {
  SaslMechanism mechanism = SaslMechanism::plain;
  std::string username;
  std::string password_file;  // absolute path; exactly one of password_file / password_env is set
  std::string password_env;   // name of an environment variable
};

struct SecurityConfig {
  SecurityProtocol protocol = SecurityProtocol::plaintext;
  std::optional<TlsConfig> tls;    // set only for ssl / sasl_ssl (may be absent: defaults)
  std::optional<SaslConfig> sasl;  // set exactly for sasl_plaintext / sasl_ssl
  bool uses_tls() const {
    return protocol == SecurityProtocol::ssl || protocol == SecurityProtocol::sasl_ssl;
  }
  bool uses_sasl() const {
    return protocol == SecurityProtocol::sasl_plaintext || protocol == SecurityProtocol::sasl_ssl;
  }
};

struct ClusterConfig {
  std::string name;
  std::vector<HostPort> bootstrap_servers;  // never empty in a loaded Config
  SecurityConfig security;
  /// "h1:9092,h2:9092" (librdkafka's bootstrap.servers).
  std::string bootstrap_string() const;
};

/// Reads the SASL password at connect time: the file's contents without the trailing line
/// break(s), or the environment variable's value. Errors (missing, unreadable, empty, unset)
/// come back as error codes; nothing about the password's contents is ever reported.
Result<std::string> read_password(const SaslConfig& sasl);

// ---------------------------------------------------------------------------------------------
// Route behaviour

enum class StartPosition { earliest, latest };
/// Who checks the CRC-32C of a batch forwarded as fetched: the target broker on Produce, or also
/// tiermirror at fetch (one more pass over every byte).
enum class CrcCheck { target, fetch };
enum class IdentityViolation { warn, refuse };
enum class AuditCluster { target, source };

inline constexpr uint64_t KiB = 1024;
inline constexpr uint64_t MiB = 1024 * KiB;
inline constexpr uint64_t GiB = 1024 * MiB;

struct PartitionSyncConfig {
  bool enabled = true;
  bool create_missing_topics = true;
  int32_t replication_factor = -1;  // -1 = broker default, else 1..32767
  milliseconds interval{std::chrono::seconds(30)};
  std::vector<std::string> copy_configs{"cleanup.policy", "retention.ms", "retention.bytes",
                                        "max.message.bytes", "message.timestamp.type"};
  IdentityViolation identity_violation = IdentityViolation::warn;
};

struct AuditConfig {
  bool enabled = true;
  std::string topic = "__tiermirror_audit";
  AuditCluster cluster = AuditCluster::target;
  milliseconds bucket{std::chrono::minutes(10)};  // >= 1m and divides 24h
  milliseconds publish_interval{std::chrono::seconds(60)};
  /// `run` creates the audit topic at start when it is missing (as MirrorMaker 2 creates its
  /// internal topics): production brokers run with auto.create.topics.enable=false.
  bool create_topic = true;
  int32_t topic_partitions = 1;
  int32_t topic_replication_factor = -1;  // -1 = the broker's default
  milliseconds topic_retention{std::chrono::hours(24 * 30)};
};

struct LimitsConfig {
  uint64_t bytes_per_partition = 8 * MiB;
  uint64_t total_bytes = 512 * MiB;  // >= bytes_per_partition
  int32_t inflight_per_partition = 5;  // 1..5 (idempotent producer limit)
  uint64_t fetch_max_bytes = 16 * MiB;  // <= 2^31-1 (Fetch carries an int32)
  milliseconds request_timeout{std::chrono::seconds(30)};
};

/// What a partition does when its exactly-once resume scan fails (broker down, deadline).
enum class ResumeOnScanFailure { wait, duplicate };

struct ResumeConfig {
  ResumeOnScanFailure on_scan_failure = ResumeOnScanFailure::wait;
};

/// How the process shares the route's partitions with other instances (`membership`).
struct MembershipConfig {
  /// none: this process mirrors every selected partition (never run two). group: it joins the
  /// route's consumer group on the source cluster, which assigns each member its partitions.
  enum class Mode { none, group };
  Mode mode = Mode::none;
  /// A member silent this long loses its partitions (Kafka's session.timeout.ms); 6s..300s.
  milliseconds session_timeout{30000};
};

struct MetricsConfig {
  std::optional<HostPort> listen = HostPort{"127.0.0.1", 9644};  // nullopt = disabled ("")
  bool per_partition_labels = true;
  bool enabled() const { return listen.has_value(); }
};

struct LoggingConfig {
  log::Level level = log::Level::info;
  log::Format format = log::Format::text;
};

struct RouteConfig {
  std::string name;  // [A-Za-z0-9._-]+
};

struct Config {
  RouteConfig route;
  ClusterConfig source;
  ClusterConfig target;
  TopicSelection topics;
  StartPosition start_position = StartPosition::earliest;
  CrcCheck crc_check = CrcCheck::target;
  std::string consumer_group;  // on the SOURCE cluster; default "tiermirror-<route.name>"
  milliseconds commit_interval{std::chrono::seconds(5)};
  PartitionSyncConfig partition_sync;
  AuditConfig audit;
  LimitsConfig limits;
  ResumeConfig resume;
  MembershipConfig membership;
  MetricsConfig metrics;
  LoggingConfig logging;

  std::string config_file;  // absolute path when loaded by load_file, else ""
  std::string base_dir;     // directory relative paths were resolved against
};

// ---------------------------------------------------------------------------------------------
// Loading

struct Diagnostic {
  std::string path;  // key path, e.g. "topics.include[1].regex"; "" for the whole file
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string message;
};

/// "file:12:5: topics.include[1].regex: invalid regular expression: ..." (the location and
/// path parts are left out when unknown/empty).
std::string format_diagnostic(std::string_view file, const Diagnostic& d);

struct LoadResult {
  std::optional<Config> config;      // set only when errors is empty
  std::vector<Diagnostic> errors;    // sorted by line, then column; unknown lines last
  bool ok() const { return config.has_value(); }
};

/// load_file refuses files larger than this (one diagnostic); load_string takes any size.
inline constexpr uint64_t kMaxConfigBytes = 16 * MiB;

/// Loads and validates a config file. Relative paths in it resolve against its directory.
/// An unreadable file, or one larger than kMaxConfigBytes, gives one diagnostic.
LoadResult load_file(const std::string& path);

/// Loads and validates YAML text; relative paths resolve against `base_dir` ("" = the
/// current directory). YAML syntax errors give one diagnostic at the parser's line:column.
LoadResult load_string(std::string_view yaml, const std::string& base_dir);

}  // namespace tiermirror::config
