// One failing case per constraint: each mutates one section of a valid config and expects a
// diagnostic at a given key path whose message contains a given text.
#include <gtest/gtest.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/paths.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {
namespace {

struct Doc {
  std::string route = "route:\n  name: r1\n";
  std::string source = "source:\n  name: a\n  bootstrap_servers: [localhost:9092]\n";
  std::string target = "target:\n  name: b\n  bootstrap_servers: [localhost:9093]\n";
  std::string topics = "topics:\n  include: [orders]\n";
  std::string extra;
  std::string str() const { return route + source + target + topics + extra; }
};

std::string dump(const std::vector<Diagnostic>& errors) {
  std::string r;
  for (const auto& d : errors) r += format_diagnostic("cfg", d) + "\n";
  return r;
}

LoadResult load(const Doc& d) { return load_string(d.str(), test::fixture_path("config")); }

// Sets a source security section (indented under source:).
Doc with_source_security(const std::string& security) {
  Doc d;
  d.source += "  security:\n" + security;
  return d;
}

struct Case {
  const char* label;
  Doc doc;
  const char* path;
  const char* text;
};

Doc route(const char* r) {
  Doc d;
  d.route = r;
  return d;
}
Doc source(const char* s) {
  Doc d;
  d.source = s;
  return d;
}
Doc topics(const char* t) {
  Doc d;
  d.topics = t;
  return d;
}
Doc extra(const char* e) {
  Doc d;
  d.extra = e;
  return d;
}

class ConfigEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    ::setenv("TIERMIRROR_TEST_EMPTY", "", 1);
    ::setenv("TIERMIRROR_TEST_PW", "pw", 1);
    ::unsetenv("TIERMIRROR_TEST_UNSET");
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ConfigEnv);

std::vector<Case> cases() {
  return {
      // route
      {"route name required", route("route: {}\n"), "route", "missing required key 'name'"},
      {"route name charset", route("route: {name: 'dc a/b'}\n"), "route.name", "may only contain letters"},
      {"route required", route(""), "", "missing required key 'route'"},
      // clusters
      {"cluster name required", source("source: {bootstrap_servers: [h:1]}\n"), "source",
       "missing required key 'name'"},
      {"cluster name not empty", source("source: {name: '', bootstrap_servers: [h:1]}\n"), "source.name",
       "must not be empty"},
      {"bootstrap required", source("source: {name: a}\n"), "source", "missing required key 'bootstrap_servers'"},
      {"bootstrap is a list", source("source: {name: a, bootstrap_servers: 'h:1,h:2'}\n"),
       "source.bootstrap_servers", "expected a list"},
      {"bootstrap not empty", source("source: {name: a, bootstrap_servers: []}\n"), "source.bootstrap_servers",
       "at least one"},
      {"port missing", source("source: {name: a, bootstrap_servers: [kafka-1]}\n"), "source.bootstrap_servers[0]",
       "missing port"},
      {"port zero", source("source: {name: a, bootstrap_servers: ['h:1', 'h:0']}\n"), "source.bootstrap_servers[1]",
       "between 1 and 65535"},
      {"port too big", source("source: {name: a, bootstrap_servers: ['h:65536']}\n"), "source.bootstrap_servers[0]",
       "between 1 and 65535"},
      {"scheme in bootstrap", source("source: {name: a, bootstrap_servers: ['SSL://h:9093']}\n"),
       "source.bootstrap_servers[0]", "security.protocol"},
      {"same names", source("source: {name: b, bootstrap_servers: [h:1]}\n"), "target.name", "must differ"},
      {"same cluster", source("source: {name: a, bootstrap_servers: [h:1, localhost:9093]}\n"),
       "target.bootstrap_servers[0]", "would loop"},
      // security
      {"protocol value", with_source_security("    protocol: sasl-ssl\n"), "source.security.protocol",
       "did you mean 'sasl_ssl'?"},
      {"tls needs ssl", with_source_security("    tls: {ca_file: ca.pem}\n"), "source.security.tls",
       "tls settings require protocol ssl or sasl_ssl (protocol is plaintext, the default)"},
      {"tls needs ssl, sasl_plaintext",
       with_source_security("    protocol: sasl_plaintext\n    tls: {ca_file: ca.pem}\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_env: TIERMIRROR_TEST_PW}\n"),
       "source.security.tls", "(protocol is sasl_plaintext)"},
      {"sasl needs sasl_*",
       with_source_security("    protocol: ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_env: TIERMIRROR_TEST_PW}\n"),
       "source.security.sasl", "sasl settings require protocol sasl_plaintext or sasl_ssl (protocol is ssl)"},
      {"sasl_* needs sasl", with_source_security("    protocol: sasl_ssl\n"), "source.security.protocol",
       "needs a 'sasl' section"},
      {"ca file exists", with_source_security("    protocol: ssl\n    tls: {ca_file: nope.pem}\n"),
       "source.security.tls.ca_file", "does not exist"},
      {"ca file is a file", with_source_security("    protocol: ssl\n    tls: {ca_file: ../config}\n"),
       "source.security.tls.ca_file", "is a directory"},
      {"cert needs key", with_source_security("    protocol: ssl\n    tls: {cert_file: client.pem}\n"),
       "source.security.tls.cert_file", "cert_file needs key_file"},
      {"key needs cert", with_source_security("    protocol: ssl\n    tls: {key_file: client.key}\n"),
       "source.security.tls.key_file", "key_file needs cert_file"},
      {"verify_hostname bool", with_source_security("    protocol: ssl\n    tls: {verify_hostname: sometimes}\n"),
       "source.security.tls.verify_hostname", "expected a boolean"},
      {"mechanism value",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: plain, username: u, password_env: TIERMIRROR_TEST_PW}\n"),
       "source.security.sasl.mechanism", "did you mean 'PLAIN'?"},
      {"mechanism required",
       with_source_security("    protocol: sasl_ssl\n    sasl: {username: u, password_env: TIERMIRROR_TEST_PW}\n"),
       "source.security.sasl", "missing required key 'mechanism'"},
      {"username required",
       with_source_security("    protocol: sasl_ssl\n    sasl: {mechanism: PLAIN, password_env: TIERMIRROR_TEST_PW}\n"),
       "source.security.sasl", "missing required key 'username'"},
      {"one password source, not two",
       with_source_security("    protocol: sasl_ssl\n    sasl: {mechanism: PLAIN, username: u,\n"
                            "           password_env: TIERMIRROR_TEST_PW, password_file: source.password}\n"),
       "source.security.sasl.password_env", "exactly one of password_file or password_env"},
      {"a password source", with_source_security("    protocol: sasl_ssl\n    sasl: {mechanism: PLAIN, username: u}\n"),
       "source.security.sasl", "missing password"},
      {"password file exists",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_file: secrets/none}\n"),
       "source.security.sasl.password_file", "does not exist"},
      {"password file not empty",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_file: empty.password}\n"),
       "source.security.sasl.password_file", "is empty"},
      {"password file not a directory",
       with_source_security("    protocol: sasl_ssl\n    sasl: {mechanism: PLAIN, username: u, password_file: .}\n"),
       "source.security.sasl.password_file", "is a directory"},
      {"password env set",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_env: TIERMIRROR_TEST_UNSET}\n"),
       "source.security.sasl.password_env", "environment variable 'TIERMIRROR_TEST_UNSET' is not set"},
      {"password env not empty",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_env: TIERMIRROR_TEST_EMPTY}\n"),
       "source.security.sasl.password_env", "is empty"},
      {"password env is a name",
       with_source_security("    protocol: sasl_ssl\n"
                            "    sasl: {mechanism: PLAIN, username: u, password_env: 'p@ss'}\n"),
       "source.security.sasl.password_env", "is not an environment variable name"},
      // topics
      {"topics required", topics(""), "", "missing required key 'topics'"},
      {"include required", topics("topics: {exclude: [a]}\n"), "topics", "missing required key 'include'"},
      {"include not empty", topics("topics: {include: []}\n"), "topics.include", "at least one"},
      {"include is a list", topics("topics: {include: orders}\n"), "topics.include", "expected a list"},
      {"illegal name", topics("topics: {include: ['a b']}\n"), "topics.include[0]",
       "topic name 'a b' can never match: it contains ' '"},
      {"name too long", topics(("topics: {include: [" + std::string(250, 'x') + "]}\n").c_str()),
       "topics.include[0]", "longer than 249"},
      {"dot name", topics("topics: {include: ['..']}\n"), "topics.include[0]", "can never match"},
      {"glob hints regex", topics("topics: {include: ['orders.*']}\n"), "topics.include[0]",
       "for a pattern write {regex: 'orders.*'}"},
      {"illegal exclude name", topics("topics: {include: [a], exclude: ['b c']}\n"), "topics.exclude[0]",
       "can never match"},
      {"invalid regex", topics("topics: {include: [{regex: 'a[b'}]}\n"), "topics.include[0].regex",
       "invalid regular expression 'a[b': "},
      {"invalid exclude regex", topics("topics: {include: [a], exclude: [{regex: '*x'}]}\n"),
       "topics.exclude[0].regex", "invalid regular expression"},
      {"empty regex", topics("topics: {include: [{regex: ''}]}\n"), "topics.include[0].regex", "can never match"},
      {"regex key typo", topics("topics: {include: [{regexp: 'a.*'}]}\n"), "topics.include[0].regexp",
       "did you mean 'regex'?"},
      {"include excluded by regex",
       topics("topics:\n  include: [orders, payments]\n  exclude:\n    - x\n    - regex: 'pay.*'\n"),
       "topics.include[1]", "'payments' can never match: excluded by exclude item at line 13 (regex 'pay.*')"},
      {"include excluded by name", topics("topics:\n  include: [orders]\n  exclude: [orders]\n"), "topics.include[0]",
       "can never match: excluded by exclude item at line 11 ('orders')"},
      {"same regex both sides",
       topics("topics:\n  include: [{regex: 'm\\..*'}]\n  exclude: [{regex: 'm\\..*'}]\n"),
       "topics.include[0].regex", "can never match: excluded by exclude item at line 11"},
      // route behaviour
      {"start position", extra("start_position: oldest\n"), "start_position", "expected one of: earliest, latest"},
      {"crc check", extra("crc_check: never\n"), "crc_check", "expected one of: target, fetch"},
      {"resume on scan failure", extra("resume:\n  on_scan_failure: skip\n"), "resume.on_scan_failure",
       "expected one of: wait, duplicate"},
      {"resume unknown key", extra("resume:\n  on_failure: wait\n"), "resume.on_failure", "unknown key"},
      {"membership mode", extra("membership:\n  mode: cluster\n"), "membership.mode", "expected one of: none, group"},
      {"membership unknown key", extra("membership:\n  session_timeout_ms: 30000\n"),
       "membership.session_timeout_ms", "did you mean 'session_timeout'?"},
      {"session timeout needs a unit", extra("membership: {session_timeout: 30}\n"), "membership.session_timeout",
       "needs a unit"},
      {"session timeout too short", extra("membership: {session_timeout: 5999ms}\n"), "membership.session_timeout",
       "must be between 6s and 300s, got 5s999ms"},
      {"session timeout too long", extra("membership: {session_timeout: 5m1s}\n"), "membership.session_timeout",
       "must be between 6s and 300s, got 5m1s"},
      {"consumer group not empty", extra("consumer_group: ''\n"), "consumer_group", "must not be empty"},
      {"duration needs a unit", extra("commit_interval: 5\n"), "commit_interval", "needs a unit, e.g. 5s"},
      {"duration not negative", extra("commit_interval: -5s\n"), "commit_interval", "cannot be negative"},
      {"duration unknown unit", extra("commit_interval: 5sec\n"), "commit_interval", "invalid duration '5sec'"},
      {"commit interval positive", extra("commit_interval: 0s\n"), "commit_interval", "greater than 0"},
      // partition_sync
      {"replication factor 0", extra("partition_sync: {replication_factor: 0}\n"),
       "partition_sync.replication_factor", "must be -1"},
      {"replication factor -2", extra("partition_sync: {replication_factor: -2}\n"),
       "partition_sync.replication_factor", "must be -1"},
      {"sync interval", extra("partition_sync: {interval: 30}\n"), "partition_sync.interval", "needs a unit"},
      {"sync bool", extra("partition_sync: {create_missing_topics: 1x}\n"), "partition_sync.create_missing_topics",
       "expected a boolean"},
      {"copy_configs typo", extra("partition_sync: {copy_configs: [retention.mss]}\n"),
       "partition_sync.copy_configs[0]", "did you mean 'retention.ms'?"},
      {"copy_configs twice", extra("partition_sync: {copy_configs: [retention.ms, retention.ms]}\n"),
       "partition_sync.copy_configs[1]", "listed twice"},
      {"copy_configs list", extra("partition_sync: {copy_configs: retention.ms}\n"), "partition_sync.copy_configs",
       "expected a list"},
      {"identity violation", extra("partition_sync: {identity_violation: ignore}\n"),
       "partition_sync.identity_violation", "expected one of: warn, refuse"},
      // audit
      {"audit topic legal", extra("audit: {topic: 'audit topic'}\n"), "audit.topic", "not a legal Kafka topic name"},
      {"audit cluster", extra("audit: {cluster: both}\n"), "audit.cluster", "expected one of: target, source"},
      {"bucket >= 1m", extra("audit: {bucket: 30s}\n"), "audit.bucket", "at least 1m"},
      {"bucket divides a day", extra("audit: {bucket: 7m}\n"), "audit.bucket", "must divide 1 day evenly"},
      {"bucket divides a day, 25h", extra("audit: {bucket: 25h}\n"), "audit.bucket", "must divide 1 day evenly"},
      {"publish interval", extra("audit: {publish_interval: 0ms}\n"), "audit.publish_interval", "greater than 0"},
      {"audit partitions", extra("audit: {topic_partitions: 0}\n"), "audit.topic_partitions", "between 1 and 10000"},
      {"audit replication", extra("audit: {topic_replication_factor: 0}\n"), "audit.topic_replication_factor",
       "must be -1"},
      {"audit retention", extra("audit: {topic_retention: 1h}\n"), "audit.topic_retention", "at least 1d"},
      {"audit topic not mirrored", topics("topics: {include: [a, {regex: '.*'}]}\n"), "topics.include[1].regex",
       "selects the audit topic '__tiermirror_audit'"},
      // limits
      {"size unit", extra("limits: {bytes_per_partition: 8 MiB}\n"), "limits.bytes_per_partition",
       "invalid size '8 MiB'"},
      {"size negative", extra("limits: {bytes_per_partition: -8MiB}\n"), "limits.bytes_per_partition",
       "cannot be negative"},
      {"size overflow", extra("limits: {total_bytes: 99999999999999999999}\n"), "limits.total_bytes", "too large"},
      {"size unknown unit", extra("limits: {total_bytes: 1EiB}\n"), "limits.total_bytes", "invalid size '1EiB'"},
      {"size positive", extra("limits: {bytes_per_partition: 0}\n"), "limits.bytes_per_partition", "greater than 0"},
      {"total >= per partition", extra("limits: {bytes_per_partition: 64MiB, total_bytes: 32MiB}\n"),
       "limits.total_bytes", "total_bytes (32MiB) must be at least bytes_per_partition (64MiB)"},
      {"total >= per partition default", extra("limits: {bytes_per_partition: 1GiB}\n"),
       "limits.bytes_per_partition", "must be at least bytes_per_partition (1GiB)"},
      {"inflight 0", extra("limits: {inflight_per_partition: 0}\n"), "limits.inflight_per_partition",
       "between 1 and 5"},
      {"inflight 6", extra("limits: {inflight_per_partition: 6}\n"), "limits.inflight_per_partition",
       "between 1 and 5"},
      {"fetch max int32", extra("limits: {fetch_max_bytes: 2GiB}\n"), "limits.fetch_max_bytes",
       "at most 2147483647"},
      {"request timeout", extra("limits: {request_timeout: 30}\n"), "limits.request_timeout", "needs a unit"},
      // metrics, logging
      {"metrics listen", extra("metrics: {listen: '9644'}\n"), "metrics.listen", "is not host:port"},
      {"metrics labels", extra("metrics: {per_partition_labels: []}\n"), "metrics.per_partition_labels",
       "expected a boolean"},
      {"log level", extra("logging: {level: verbose}\n"), "logging.level",
       "expected one of: trace, debug, info, warn, error"},
      {"log level typo", extra("logging: {level: warning}\n"), "logging.level", "did you mean 'warn'?"},
      {"log format", extra("logging: {format: xml}\n"), "logging.format", "expected one of: text, json"},
  };
}

TEST(Constraints, EachHasAFailingCase) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.label);
    auto r = load(c.doc);
    EXPECT_FALSE(r.ok());
    bool found = false;
    for (const auto& d : r.errors) {
      if (d.path == c.path && d.message.find(c.text) != std::string::npos) {
        found = true;
        EXPECT_GT(d.line, 0) << "every diagnostic of a parsed document has a line";
      }
    }
    EXPECT_TRUE(found) << "want " << c.path << ": ..." << c.text << "...\n got:\n" << dump(r.errors) << "\nfor:\n"
                       << c.doc.str();
  }
}

TEST(Constraints, BaseDocIsValid) {
  auto r = load(Doc{});
  EXPECT_TRUE(r.ok()) << dump(r.errors);
}

TEST(Constraints, BoundaryValuesAreAccepted) {
  Doc d;
  d.extra =
      "audit: {bucket: 1m, topic: x}\n"
      "limits: {bytes_per_partition: 1, total_bytes: 1, inflight_per_partition: 1, fetch_max_bytes: 2147483647}\n"
      "partition_sync: {replication_factor: 32767, copy_configs: []}\n"
      "metrics: {listen: '0.0.0.0:65535'}\n";
  auto r = load(d);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.config->partition_sync.copy_configs.empty());

  Doc day;
  day.extra = "audit: {bucket: 1d}\n";
  EXPECT_TRUE(load(day).ok());
  Doc excluded;  // the audit topic check is satisfied by an exclude
  excluded.topics = "topics: {include: [{regex: '.*'}], exclude: [{regex: '__.*'}]}\n";
  EXPECT_TRUE(load(excluded).ok()) << dump(load(excluded).errors);
  Doc audit_off;
  audit_off.topics = "topics: {include: [{regex: '.*'}]}\n";
  audit_off.extra = "audit: {enabled: false}\n";
  EXPECT_TRUE(load(audit_off).ok()) << dump(load(audit_off).errors);
  Doc membership_low;
  membership_low.extra = "membership: {mode: group, session_timeout: 6s}\n";
  EXPECT_TRUE(load(membership_low).ok()) << dump(load(membership_low).errors);
  Doc membership_high;
  membership_high.extra = "membership: {session_timeout: 300s}\n";
  EXPECT_TRUE(load(membership_high).ok()) << dump(load(membership_high).errors);
  Doc empty_section;  // an empty section takes every default
  empty_section.extra = "limits:\naudit:\n";
  EXPECT_TRUE(load(empty_section).ok()) << dump(load(empty_section).errors);
}

/// Takes CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of this thread's effective capabilities
/// while it lives: root (as CI runs) then meets file permissions like anyone, and reading a file
/// whose mode denies its owner fails with EACCES. Without those capabilities it changes nothing.
class WithoutPermissionOverride {
 public:
  WithoutPermissionOverride() {
    if (::syscall(SYS_capget, &header_, saved_) != 0) {
      error_ = errno;
      return;
    }
    __user_cap_data_struct lowered[2] = {saved_[0], saved_[1]};
    lowered[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    if (::syscall(SYS_capset, &header_, lowered) != 0) error_ = errno;
  }
  ~WithoutPermissionOverride() {
    if (error_ == 0) ::syscall(SYS_capset, &header_, saved_);
  }
  int error() const { return error_; }

 private:
  __user_cap_header_struct header_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct saved_[2]{};
  int error_ = 0;
};

TEST(Constraints, UnreadableFile) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tiermirror-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path pw = dir / "locked.password";
  { std::ofstream(pw) << "x\n"; }
  fs::permissions(pw, fs::perms::none);
  Doc d = with_source_security("    protocol: sasl_ssl\n"
                               "    sasl: {mechanism: PLAIN, username: u, password_file: locked.password}\n");
  LoadResult r;
  {
    WithoutPermissionOverride unprivileged;
    ASSERT_EQ(unprivileged.error(), 0) << "capget/capset: " << std::strerror(unprivileged.error());
    r = load_string(d.str(), dir.string());
  }
  fs::remove_all(dir);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "source.security.sasl.password_file");
  EXPECT_NE(r.errors[0].message.find("cannot be read: Permission denied"), std::string::npos) << dump(r.errors);
}

}  // namespace
}  // namespace tiermirror::config
