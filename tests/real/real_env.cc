#include "real_env.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>

namespace tiermirror::test::real {
namespace {

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> kv;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

RealCluster cluster_from(const std::map<std::string, std::string>& kv, const std::string& prefix,
                         const std::string& name) {
  auto get = [&](const std::string& k) {
    auto it = kv.find(prefix + k);
    return it == kv.end() ? std::string() : it->second;
  };
  RealCluster c;
  c.name = name;
  c.dir = get("DIR");
  c.brokers = std::atoi(get("BROKERS").c_str());
  c.bootstrap = get("BOOTSTRAP");
  c.bootstrap_ssl = get("BOOTSTRAP_SSL");
  c.bootstrap_mtls = get("BOOTSTRAP_MTLS");
  c.bootstrap_sasl_plaintext = get("BOOTSTRAP_SASL_PLAINTEXT");
  c.bootstrap_sasl_ssl = get("BOOTSTRAP_SASL_SSL");
  return c;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

struct Loaded {
  std::unique_ptr<RealEnv> env;
  std::string why;
};

Loaded load() {
  Loaded l;
  const char* path = std::getenv("TIERMIRROR_REAL_FIXTURE");
  if (!path || !*path) {
    l.why = "no real-Kafka fixture: run the real tier through ctest (ctest --preset real, label 'real'), which "
            "starts the clusters with scripts/kafka";
    return l;
  }
  auto kv = read_env_file(path);
  if (kv.empty()) {
    l.why = std::string("the real-Kafka fixture wrote nothing to ") + path + ": did its setup test run?";
    return l;
  }
  if (auto it = kv.find("UNAVAILABLE"); it != kv.end()) {
    l.why = "real Kafka unavailable: " + it->second;
    return l;
  }
  auto e = std::make_unique<RealEnv>();
  e->kafka_version = kv["KAFKA_VERSION"];
  std::sscanf(e->kafka_version.c_str(), "%d.%d", &e->major, &e->minor);
  e->zookeeper = kv["KAFKA_MODE"] == "zookeeper";
  e->script = kv["KAFKA_SCRIPT"];
  e->fixture_dir = kv["FIXTURE_DIR"];
  e->tls_ca = kv["TLS_CA"];
  e->tls_client_cert = kv["TLS_CLIENT_CERT"];
  e->tls_client_key = kv["TLS_CLIENT_KEY"];
  e->sasl_username = kv["SASL_USERNAME"];
  e->sasl_password = kv["SASL_PASSWORD"];
  e->source = cluster_from(kv, "SOURCE_", "source");
  e->target = cluster_from(kv, "TARGET_", "target");
  if (e->source.bootstrap.empty() || e->target.bootstrap.empty()) {
    l.why = std::string("the real-Kafka fixture file ") + path + " names no SOURCE_BOOTSTRAP/TARGET_BOOTSTRAP";
    return l;
  }
  l.env = std::move(e);
  return l;
}

}  // namespace

const RealEnv* real_env(std::string* why) {
  static const Loaded loaded = load();
  if (!loaded.env && why) *why = loaded.why;
  return loaded.env.get();
}

std::string unique_topic(const std::string& scenario) {
  static std::atomic<int> n{0};  // --gtest_repeat runs a scenario again in the same process
  return "tm-real-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" + scenario;
}

RealEnv::Result RealEnv::kafka(const std::string& args) const {
  Result r;
  std::string cmd = quote(script) + " " + args + " 2>>" + quote(fixture_dir + "/kafka-script.log");
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int status = ::pclose(f);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

RealEnv::Result RealEnv::tool(const std::string& name, const std::string& bootstrap, const std::string& args) const {
  return kafka("tool " + quote(kafka_version) + " " + quote(name) + " --bootstrap-server " + quote(bootstrap) + " " +
               args);
}

bool RealEnv::stop_node(const RealCluster& c, int node, bool hard) const {
  return kafka(std::string(hard ? "kill-node " : "stop-node ") + quote(c.dir) + " " + std::to_string(node)).status == 0;
}

bool RealEnv::start_node(const RealCluster& c, int node) const {
  return kafka("start-node " + quote(c.dir) + " " + std::to_string(node)).status == 0;
}

}  // namespace tiermirror::test::real
