// Loading: the example, defaults, several errors at once with their lines, sorting, syntax
// errors, file handling and diagnostic formatting.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/paths.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {
namespace {

using std::chrono::milliseconds;
using test::fixture_path;
using test::source_path;

std::string dump(const std::vector<Diagnostic>& errors) {
  std::string r;
  for (const auto& d : errors) r += format_diagnostic("cfg", d) + "\n";
  return r;
}

const Diagnostic* find(const std::vector<Diagnostic>& errors, std::string_view path, std::string_view text) {
  for (const auto& d : errors) {
    if (d.path == path && d.message.find(text) != std::string::npos) return &d;
  }
  return nullptr;
}

const char* kMinimal = R"(route:
  name: r1
source:
  name: a
  bootstrap_servers: [localhost:9092]
target:
  name: b
  bootstrap_servers: [localhost:9093]
topics:
  include: [orders]
)";

TEST(Load, ExampleLoadsWithoutErrors) {
  auto r = load_file(source_path("config/tiermirror.example.yaml"));
  ASSERT_TRUE(r.errors.empty()) << dump(r.errors);
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  EXPECT_EQ(c.route.name, "dc-a-to-aggregate");
  EXPECT_EQ(c.source.name, "dc-a");
  EXPECT_EQ(c.source.bootstrap_string(), "localhost:9092");
  EXPECT_EQ(c.target.bootstrap_string(), "localhost:9093,localhost:9094");
  EXPECT_EQ(c.source.security.protocol, SecurityProtocol::plaintext);
  EXPECT_FALSE(c.source.security.sasl.has_value());
  EXPECT_TRUE(c.topics.matches("orders"));
  EXPECT_TRUE(c.topics.matches("metrics.cpu"));
  EXPECT_FALSE(c.topics.matches("metrics.cpu.tmp"));
  EXPECT_FALSE(c.topics.matches("payments"));
  EXPECT_EQ(c.consumer_group, "tiermirror-dc-a-to-aggregate");
  EXPECT_EQ(c.config_file, source_path("config/tiermirror.example.yaml"));
  EXPECT_EQ(c.base_dir, source_path("config"));
}

TEST(Load, ExampleStatesTheDefaults) {
  // The example spells out every default; loading it must equal loading the minimal config.
  auto ex = load_file(source_path("config/tiermirror.example.yaml"));
  auto min = load_string(kMinimal, "");
  ASSERT_TRUE(ex.ok() && min.ok()) << dump(ex.errors) << dump(min.errors);
  const Config& a = *ex.config;
  const Config& b = *min.config;
  EXPECT_EQ(a.start_position, b.start_position);
  EXPECT_EQ(a.crc_check, b.crc_check);
  EXPECT_EQ(a.commit_interval, b.commit_interval);
  EXPECT_EQ(a.partition_sync.enabled, b.partition_sync.enabled);
  EXPECT_EQ(a.partition_sync.create_missing_topics, b.partition_sync.create_missing_topics);
  EXPECT_EQ(a.partition_sync.replication_factor, b.partition_sync.replication_factor);
  EXPECT_EQ(a.partition_sync.interval, b.partition_sync.interval);
  EXPECT_EQ(a.partition_sync.copy_configs, b.partition_sync.copy_configs);
  EXPECT_EQ(a.partition_sync.identity_violation, b.partition_sync.identity_violation);
  EXPECT_EQ(a.audit.enabled, b.audit.enabled);
  EXPECT_EQ(a.audit.topic, b.audit.topic);
  EXPECT_EQ(a.audit.cluster, b.audit.cluster);
  EXPECT_EQ(a.audit.bucket, b.audit.bucket);
  EXPECT_EQ(a.audit.publish_interval, b.audit.publish_interval);
  EXPECT_EQ(a.audit.create_topic, b.audit.create_topic);
  EXPECT_EQ(a.audit.topic_partitions, b.audit.topic_partitions);
  EXPECT_EQ(a.audit.topic_replication_factor, b.audit.topic_replication_factor);
  EXPECT_EQ(a.audit.topic_retention, b.audit.topic_retention);
  EXPECT_EQ(a.limits.bytes_per_partition, b.limits.bytes_per_partition);
  EXPECT_EQ(a.limits.total_bytes, b.limits.total_bytes);
  EXPECT_EQ(a.limits.inflight_per_partition, b.limits.inflight_per_partition);
  EXPECT_EQ(a.limits.fetch_max_bytes, b.limits.fetch_max_bytes);
  EXPECT_EQ(a.limits.request_timeout, b.limits.request_timeout);
  EXPECT_EQ(a.membership.mode, b.membership.mode);
  EXPECT_EQ(a.membership.session_timeout, b.membership.session_timeout);
  EXPECT_EQ(a.metrics.listen, b.metrics.listen);
  EXPECT_EQ(a.metrics.per_partition_labels, b.metrics.per_partition_labels);
  EXPECT_EQ(a.logging.level, b.logging.level);
  EXPECT_EQ(a.logging.format, b.logging.format);
}

TEST(Load, Defaults) {
  auto r = load_string(kMinimal, "");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.consumer_group, "tiermirror-r1");
  EXPECT_EQ(c.start_position, StartPosition::earliest);
  EXPECT_EQ(c.crc_check, CrcCheck::target);
  EXPECT_EQ(c.resume.on_scan_failure, ResumeOnScanFailure::wait);  // exactly-once unless chosen
  EXPECT_EQ(c.membership.mode, MembershipConfig::Mode::none);  // one process mirrors everything
  EXPECT_EQ(c.membership.session_timeout, milliseconds(30'000));
  EXPECT_EQ(c.commit_interval, milliseconds(5000));
  EXPECT_TRUE(c.partition_sync.enabled);
  EXPECT_TRUE(c.partition_sync.create_missing_topics);
  EXPECT_EQ(c.partition_sync.replication_factor, -1);
  EXPECT_EQ(c.partition_sync.interval, milliseconds(30'000));
  EXPECT_EQ(c.partition_sync.copy_configs,
            (std::vector<std::string>{"cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes",
                                      "message.timestamp.type"}));
  EXPECT_EQ(c.partition_sync.identity_violation, IdentityViolation::warn);
  EXPECT_TRUE(c.audit.enabled);
  EXPECT_EQ(c.audit.topic, "__tiermirror_audit");
  EXPECT_EQ(c.audit.cluster, AuditCluster::target);
  EXPECT_EQ(c.audit.bucket, milliseconds(600'000));
  EXPECT_EQ(c.audit.publish_interval, milliseconds(60'000));
  EXPECT_TRUE(c.audit.create_topic);
  EXPECT_EQ(c.audit.topic_partitions, 1);
  EXPECT_EQ(c.audit.topic_replication_factor, -1);
  EXPECT_EQ(c.audit.topic_retention, milliseconds(30LL * 24 * 3600 * 1000));
  EXPECT_EQ(c.limits.bytes_per_partition, 8 * MiB);
  EXPECT_EQ(c.limits.total_bytes, 512 * MiB);
  EXPECT_EQ(c.limits.inflight_per_partition, 5);
  EXPECT_EQ(c.limits.fetch_max_bytes, 16 * MiB);
  EXPECT_EQ(c.limits.request_timeout, milliseconds(30'000));
  ASSERT_TRUE(c.metrics.enabled());
  EXPECT_EQ(c.metrics.listen->str(), "127.0.0.1:9644");
  EXPECT_TRUE(c.metrics.per_partition_labels);
  EXPECT_EQ(c.logging.level, log::Level::info);
  EXPECT_EQ(c.logging.format, log::Format::text);
  EXPECT_EQ(c.source.security.protocol, SecurityProtocol::plaintext);
}

TEST(Load, ExplicitValues) {
  std::string yaml = std::string(kMinimal) + R"(start_position: latest
crc_check: fetch
consumer_group: my-group
commit_interval: 1m30s
partition_sync: {enabled: false, create_missing_topics: no, replication_factor: 3, interval: 2m,
                 copy_configs: [min.insync.replicas, confluent.placement.constraints], identity_violation: refuse}
audit: {enabled: false, topic: audit.x, cluster: source, bucket: 1h, publish_interval: 10s, create_topic: false,
        topic_partitions: 3, topic_replication_factor: 3, topic_retention: 7d}
limits: {bytes_per_partition: 1MiB, total_bytes: 1GB, inflight_per_partition: 1, fetch_max_bytes: 2147483647,
         request_timeout: 1500ms}
resume: {on_scan_failure: duplicate}
membership: {mode: group, session_timeout: 45s}
metrics: {listen: "", per_partition_labels: false}
logging: {level: debug, format: json}
)";
  auto r = load_string(yaml, "");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.start_position, StartPosition::latest);
  EXPECT_EQ(c.crc_check, CrcCheck::fetch);
  EXPECT_EQ(c.resume.on_scan_failure, ResumeOnScanFailure::duplicate);
  EXPECT_EQ(c.membership.mode, MembershipConfig::Mode::group);
  EXPECT_EQ(c.membership.session_timeout, milliseconds(45'000));
  EXPECT_EQ(c.consumer_group, "my-group");
  EXPECT_EQ(c.commit_interval, milliseconds(90'000));
  EXPECT_FALSE(c.partition_sync.enabled);
  EXPECT_FALSE(c.partition_sync.create_missing_topics);
  EXPECT_EQ(c.partition_sync.replication_factor, 3);
  EXPECT_EQ(c.partition_sync.copy_configs,
            (std::vector<std::string>{"min.insync.replicas", "confluent.placement.constraints"}));
  EXPECT_EQ(c.partition_sync.identity_violation, IdentityViolation::refuse);
  EXPECT_FALSE(c.audit.enabled);
  EXPECT_EQ(c.audit.topic, "audit.x");
  EXPECT_EQ(c.audit.cluster, AuditCluster::source);
  EXPECT_EQ(c.audit.bucket, milliseconds(3'600'000));
  EXPECT_FALSE(c.audit.create_topic);
  EXPECT_EQ(c.audit.topic_partitions, 3);
  EXPECT_EQ(c.audit.topic_replication_factor, 3);
  EXPECT_EQ(c.audit.topic_retention, milliseconds(7LL * 24 * 3600 * 1000));
  EXPECT_EQ(c.limits.bytes_per_partition, MiB);
  EXPECT_EQ(c.limits.total_bytes, 1'000'000'000u);
  EXPECT_EQ(c.limits.inflight_per_partition, 1);
  EXPECT_EQ(c.limits.fetch_max_bytes, 2147483647u);
  EXPECT_EQ(c.limits.request_timeout, milliseconds(1500));
  EXPECT_FALSE(c.metrics.enabled());
  EXPECT_FALSE(c.metrics.per_partition_labels);
  EXPECT_EQ(c.logging.level, log::Level::debug);
  EXPECT_EQ(c.logging.format, log::Format::json);
}

TEST(Load, SecureClustersResolveRelativePaths) {
  ::setenv("TIERMIRROR_TEST_TARGET_PW", "x", 1);
  std::string yaml = R"(route: {name: r1}
source:
  name: a
  bootstrap_servers: ["[::1]:9092", kafka-1.example.com:9093]
  security:
    protocol: sasl_ssl
    tls: {ca_file: ca.pem, cert_file: ./client.pem, key_file: ../config/client.key, verify_hostname: false}
    sasl: {mechanism: SCRAM-SHA-512, username: u, password_file: source.password}
target:
  name: b
  bootstrap_servers: [localhost:9093]
  security:
    protocol: sasl_plaintext
    sasl: {mechanism: PLAIN, username: v, password_env: TIERMIRROR_TEST_TARGET_PW}
topics: {include: [orders]}
)";
  auto r = load_string(yaml, fixture_path("config"));
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const auto& s = r.config->source;
  EXPECT_EQ(s.bootstrap_servers[0].host, "::1");
  EXPECT_EQ(s.bootstrap_servers[0].port, 9092);
  EXPECT_EQ(s.bootstrap_string(), "[::1]:9092,kafka-1.example.com:9093");
  ASSERT_TRUE(s.security.tls.has_value());
  EXPECT_EQ(s.security.tls->ca_file, fixture_path("config/ca.pem"));
  EXPECT_EQ(s.security.tls->cert_file, fixture_path("config/client.pem"));
  EXPECT_EQ(s.security.tls->key_file, fixture_path("config/client.key"));
  EXPECT_FALSE(s.security.tls->verify_hostname);
  ASSERT_TRUE(s.security.sasl.has_value());
  EXPECT_EQ(s.security.sasl->mechanism, SaslMechanism::scram_sha_512);
  EXPECT_EQ(s.security.sasl->password_file, fixture_path("config/source.password"));
  EXPECT_TRUE(s.security.sasl->password_env.empty());
  const auto& t = r.config->target;
  EXPECT_EQ(t.security.sasl->password_env, "TIERMIRROR_TEST_TARGET_PW");
  EXPECT_FALSE(t.security.tls.has_value());
  ::unsetenv("TIERMIRROR_TEST_TARGET_PW");
}

TEST(Load, ReportsEveryProblemWithItsLine) {
  // three_errors.yaml: a misspelled key (line 6), a missing password file (line 13), an
  // invalid regex (line 20); the misspelling also leaves bootstrap_servers missing (line 4).
  auto r = load_file(fixture_path("config/three_errors.yaml"));
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 4u) << dump(r.errors);

  const Diagnostic* typo = find(r.errors, "source.bootstrap_server",
                                "unknown key 'bootstrap_server' (did you mean 'bootstrap_servers'?)");
  ASSERT_NE(typo, nullptr) << dump(r.errors);
  EXPECT_EQ(typo->line, 6);
  EXPECT_EQ(typo->column, 3);

  const Diagnostic* missing = find(r.errors, "source", "missing required key 'bootstrap_servers'");
  ASSERT_NE(missing, nullptr) << dump(r.errors);
  EXPECT_EQ(missing->line, 4);

  const Diagnostic* pw = find(r.errors, "source.security.sasl.password_file", "does not exist");
  ASSERT_NE(pw, nullptr) << dump(r.errors);
  EXPECT_EQ(pw->line, 13);
  EXPECT_EQ(pw->column, 22);
  EXPECT_NE(pw->message.find(fixture_path("config/does-not-exist.password")), std::string::npos) << pw->message;

  const Diagnostic* re = find(r.errors, "topics.include[1].regex", "invalid regular expression 'metrics\\.(.*': ");
  ASSERT_NE(re, nullptr) << dump(r.errors);
  EXPECT_EQ(re->line, 20);
  EXPECT_EQ(re->column, 14);
  EXPECT_GT(re->message.size(), std::string("invalid regular expression 'metrics\\.(.*': ").size())
      << "std::regex's error text is included";

  std::string formatted = format_diagnostic("three_errors.yaml", *re);
  EXPECT_EQ(formatted.rfind("three_errors.yaml:20:14: topics.include[1].regex: invalid regular expression", 0), 0u)
      << formatted;
}

TEST(Load, DiagnosticsAreSortedByLine) {
  std::string yaml = R"(logging: {level: loud}
route: {name: 'x y'}
source: {name: a, bootstrap_servers: [localhost:0]}
target: {name: b, bootstrap_servers: [localhost:9093]}
topics: {include: ['a b']}
limits: {inflight_per_partition: 9}
start_position: never
)";
  auto r = load_string(yaml, "");
  ASSERT_EQ(r.errors.size(), 6u) << dump(r.errors);
  for (size_t i = 1; i < r.errors.size(); ++i) {
    EXPECT_LE(r.errors[i - 1].line, r.errors[i].line) << dump(r.errors);
  }
  EXPECT_EQ(r.errors.front().path, "logging.level");
  EXPECT_EQ(r.errors.back().path, "start_position");
  EXPECT_EQ(r.errors.back().line, 7);
}

TEST(Load, YamlSyntaxErrorHasParserPosition) {
  auto r = load_string("route:\n  name: r1\ntopics: [a, b\nsource: {}\n", "");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_GE(r.errors[0].line, 3);
  EXPECT_GT(r.errors[0].column, 0);

  auto r2 = load_string("route:\n  name: r1\n bad: indent\n", "");
  ASSERT_EQ(r2.errors.size(), 1u) << dump(r2.errors);
  EXPECT_EQ(r2.errors[0].line, 3);
}

TEST(Load, UnclosedFlowCollectionPointsAtItsOpeningBracket) {
  // yaml-cpp notices an unclosed '[' or '{' where the next key cannot belong to it, lines later.
  struct Case {
    const char* yaml;
    int line, column;
    const char* message;
  };
  const Case cases[] = {
      {"route:\n  name: r1\nsource:\n  name: a\n  bootstrap_servers: [\"a:9092\", \"b:9092\"\ntarget:\n  name: b\n",
       5, 22, "unclosed '[' opened on line 5 (the parser stopped on line 6: end of sequence flow not found)"},
      {"limits: {request_timeout: 2s,\n  # a comment with [ and {\n  retry_backoff: 1s\n"
       "topics: [a]\nroute: {name: r}\n",
       1, 9, "unclosed '{' opened on line 1 (the parser stopped on line 4: end of map flow not found)"},
      // Brackets inside quoted, plain and block scalars, and closed collections, open nothing.
      {"route: {name: 'r [1'}\nnote: see [docs\ntext: |\n  a { b\n  [ c\nq: \"x \\\" [\"\ntopics:\n  - [a, {b: c}]\n"
       "  - &x [d,\n     e\nsource: {}\n",
       9, 8, "unclosed '[' opened on line 9 (the parser stopped on line 11: end of sequence flow not found)"},
  };
  for (const auto& c : cases) {
    auto r = load_string(c.yaml, "");
    ASSERT_EQ(r.errors.size(), 1u) << c.yaml << "\n" << dump(r.errors);
    EXPECT_EQ(r.errors[0].line, c.line) << c.yaml << "\n" << dump(r.errors);
    EXPECT_EQ(r.errors[0].column, c.column) << c.yaml << "\n" << dump(r.errors);
    EXPECT_EQ(r.errors[0].message, std::string("YAML syntax error: ") + c.message) << c.yaml;
  }
}

TEST(Load, MismatchedClosingBracketNamesWhatItCannotClose) {
  auto r = load_string("route: {name: r1}\ntopics: {include: [a, b}\n", "");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].message,
            "YAML syntax error: illegal flow end: '}' cannot close the '[' opened on line 2, column 19")
      << dump(r.errors);
}

TEST(Load, EmptyAndNonMapDocuments) {
  auto empty = load_string("# nothing but a comment\n", "");
  EXPECT_FALSE(empty.ok());
  EXPECT_NE(find(empty.errors, "", "missing required key 'route'"), nullptr) << dump(empty.errors);
  EXPECT_NE(find(empty.errors, "", "missing required key 'topics'"), nullptr) << dump(empty.errors);

  auto list = load_string("- a\n- b\n", "");
  ASSERT_EQ(list.errors.size(), 1u) << dump(list.errors);
  EXPECT_NE(list.errors[0].message.find("expected a map"), std::string::npos);

  auto two = load_string(std::string(kMinimal) + "---\nroute: {name: r2}\n", "");
  ASSERT_EQ(two.errors.size(), 1u) << dump(two.errors);
  EXPECT_NE(two.errors[0].message.find("one YAML document"), std::string::npos);
}

TEST(Load, UnknownAndDuplicateKeys) {
  std::string yaml = std::string(kMinimal) + R"(topic: {include: [x]}
comit_interval: 5s
logging: {levle: info, fromat: json}
partition_sync: {copyConfigs: []}
mystery: 1
consumer_group: a
consumer_group: b
)";
  auto r = load_string(yaml, "");
  EXPECT_NE(find(r.errors, "topic", "unknown key 'topic' (did you mean 'topics'?)"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "comit_interval", "(did you mean 'commit_interval'?)"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "logging.levle", "(did you mean 'level'?)"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "logging.fromat", "(did you mean 'format'?)"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "partition_sync.copyConfigs", "(did you mean 'copy_configs'?)"), nullptr)
      << dump(r.errors);
  const Diagnostic* m = find(r.errors, "mystery", "unknown key 'mystery'; valid keys here: route, source");
  ASSERT_NE(m, nullptr) << dump(r.errors);
  EXPECT_EQ(m->line, 15);
  const Diagnostic* dup = find(r.errors, "consumer_group", "duplicate key 'consumer_group' (first given at line 16)");
  ASSERT_NE(dup, nullptr) << dump(r.errors);
  EXPECT_EQ(dup->line, 17);
  EXPECT_EQ(r.errors.size(), 7u) << dump(r.errors);
}

TEST(Load, WrongTypes) {
  std::string yaml = R"(route: [r1]
source: {name: a, bootstrap_servers: localhost:9092}
target: {name: [b], bootstrap_servers: [localhost:9093, {host: x}]}
topics: {include: orders, exclude: [[x]]}
partition_sync: {enabled: maybe, replication_factor: three}
commit_interval: {s: 5}
)";
  auto r = load_string(yaml, "");
  EXPECT_NE(find(r.errors, "route", "expected a map"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "source.bootstrap_servers", "expected a list, got 'localhost:9092'"), nullptr)
      << dump(r.errors);
  EXPECT_NE(find(r.errors, "target.name", "expected a string, got a list"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "target.bootstrap_servers[1]", "expected a string, got a map"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "topics.include", "expected a list"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "topics.exclude[0]", "expected a topic name or {regex: '...'}, got a list"), nullptr)
      << dump(r.errors);
  EXPECT_NE(find(r.errors, "partition_sync.enabled", "expected a boolean"), nullptr) << dump(r.errors);
  EXPECT_NE(find(r.errors, "partition_sync.replication_factor", "expected an integer, got 'three'"), nullptr)
      << dump(r.errors);
  EXPECT_NE(find(r.errors, "commit_interval", "expected a duration"), nullptr) << dump(r.errors);
}

TEST(Load, MissingFileIsOneDiagnostic) {
  auto r = load_file(fixture_path("config/no-such-file.yaml"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("cannot read config file"), std::string::npos);
  EXPECT_EQ(format_diagnostic("x.yaml", r.errors[0]), "x.yaml: " + r.errors[0].message);

  auto dir = load_file(fixture_path("config"));
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_NE(dir.errors[0].message.find("directory"), std::string::npos);
}

TEST(Load, FormatDiagnostic) {
  EXPECT_EQ(format_diagnostic("f.yaml", {"a.b", 12, 5, "bad"}), "f.yaml:12:5: a.b: bad");
  EXPECT_EQ(format_diagnostic("f.yaml", {"", 3, 1, "YAML syntax error: x"}), "f.yaml:3:1: YAML syntax error: x");
  EXPECT_EQ(format_diagnostic("f.yaml", {"a", 0, 0, "bad"}), "f.yaml: a: bad");
  EXPECT_EQ(format_diagnostic("f.yaml", {"a", 7, 0, "bad"}), "f.yaml:7: a: bad");
}

TEST(HostPort, Parse) {
  auto hp = parse_host_port("kafka-1:9092");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "kafka-1");
  EXPECT_EQ(hp->port, 9092);
  EXPECT_EQ(parse_host_port("[fe80::1]:65535")->str(), "[fe80::1]:65535");
  std::string why;
  for (const char* bad : {"kafka-1", "kafka-1:", ":9092", "h:0", "h:65536", "h:99999999", "h:-1", "h:port",
                          "::1:9092", "[::1]9092", "[::1", "PLAINTEXT://h:9092", "h h:1", ""}) {
    EXPECT_FALSE(parse_host_port(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  parse_host_port("SASL_SSL://h:9092", &why);
  EXPECT_NE(why.find("security.protocol"), std::string::npos) << why;
}

}  // namespace
}  // namespace tiermirror::config
