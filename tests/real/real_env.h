#pragma once
// The real Kafka clusters a ctest fixture started for this test run (scripts/kafka fixture-up):
// one version of Apache Kafka, a 1-broker source and a 3-broker target, every listener kind on
// both, one CA and one SASL user for all of them. ctest points TIERMIRROR_REAL_FIXTURE at the
// fixture's KEY=VALUE file; a test without it, or whose fixture could not start the clusters
// (no Java or Maven, jars not resolvable), is skipped with the reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include <string>
#include <vector>

namespace tiermirror::test::real {

struct RealCluster {
  std::string name;  // "source", "target"
  std::string dir;   // node-N/broker.log, node-N/server.properties
  int brokers = 1;
  std::string bootstrap;       // PLAINTEXT
  std::string bootstrap_ssl;   // SSL, server certificate verified by the client
  std::string bootstrap_mtls;  // SSL, the broker requires a client certificate
  std::string bootstrap_sasl_plaintext;
  std::string bootstrap_sasl_ssl;
};

struct RealEnv {
  std::string kafka_version;  // "4.4.0"
  int major = 0, minor = 0;
  bool zookeeper = false;     // 2.x: ZooKeeper mode; else KRaft (combined controller + broker)
  std::string script;         // scripts/kafka, for node restarts and Kafka's own tools
  std::string fixture_dir;
  std::string tls_ca, tls_client_cert, tls_client_key;  // PEM; the brokers' certificates name 127.0.0.1
  std::string sasl_username, sasl_password;              // valid for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
  RealCluster source, target;

  bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
  const RealCluster& cluster(const std::string& name) const { return name == "target" ? target : source; }

  /// `scripts/kafka ARGS...` for this fixture's version; its exit status and stdout.
  struct Result {
    int status = -1;
    std::string out;
  };
  Result kafka(const std::string& args) const;
  /// Kafka's own command-line tool NAME (consumer-groups, topics, configs, reassign-partitions,
  /// leader-election) with ARGS, against `bootstrap` (added as --bootstrap-server).
  Result tool(const std::string& name, const std::string& bootstrap, const std::string& args) const;
  /// Stops broker NODE (1-based) of a cluster: SIGTERM, or SIGKILL when `hard`.
  bool stop_node(const RealCluster& c, int node, bool hard = false) const;
  /// Starts broker NODE of a cluster again and waits until it serves.
  bool start_node(const RealCluster& c, int node) const;
};

/// The fixture's clusters, or nullptr with `why` set.
const RealEnv* real_env(std::string* why);

/// A topic name unique to this test process, scenario and call.
std::string unique_topic(const std::string& scenario);

/// Runs `f` when the scope ends, however it ends (a failed ASSERT returns early): where a test
/// kills the children it started and stops its producer threads.
struct AtScopeExit {
  std::function<void()> f;
  ~AtScopeExit() {
    if (f) f();
  }
};

/// A directory for one test's configs and logs, `<tmp>/<prefix>-<pid>-<test name>`: removed when
/// the test passed (unless TIERMIRROR_KEEP_SCRATCH is set), kept and its path printed when it failed.
struct Scratch {
  std::filesystem::path dir;
  explicit Scratch(const std::string& prefix) {
    dir = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    if (::testing::Test::HasFailure())
      std::printf("logs kept in %s\n", dir.c_str());
    else if (!std::getenv("TIERMIRROR_KEEP_SCRATCH"))
      std::filesystem::remove_all(dir);
  }
  std::filesystem::path operator/(const std::string& name) const { return dir / name; }
};

}  // namespace tiermirror::test::real

/// First line of every real test: skips with the reason when no fixture clusters are there.
#define TIERMIRROR_REAL_ENV(var)                                      \
  std::string var##_why;                                              \
  const auto* var##_ptr = ::tiermirror::test::real::real_env(&var##_why); \
  if (!var##_ptr) GTEST_SKIP() << var##_why;                          \
  const auto& var = *var##_ptr
