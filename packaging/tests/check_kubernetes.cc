// ctest packaging.kubernetes: the manifests of packaging/kubernetes parse; the route config of
// their ConfigMap loads through tiermirror's own loader as a pod sees it (its volumes written out
// under a temporary root, its environment set from the Secret); and every place that names the
// HTTP port or an endpoint agrees with the config's metrics.listen and with what the status
// server serves. A port changed in one manifest only, a probe on a path the server does not
// serve, a password key the Secret lacks, or three replicas without group membership fail here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tiermirror/app/ops.h"
#include "tiermirror/config/config.h"

namespace tiermirror::packaging {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = TIERMIRROR_KUBERNETES_DIR;
const fs::path kContainerfile = TIERMIRROR_CONTAINERFILE;

// yaml-cpp: a default Node is a defined null, a missing key a "zombie" that throws when indexed
// again, and `a = b` writes into a's tree. So: undefined nodes for "absent", and at() to walk.
YAML::Node none() { return YAML::Node(YAML::NodeType::Undefined); }

/// node[path[0]][path[1]]...; an undefined node when a step is missing or not a map.
YAML::Node at(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node n = node;  // copies bind, they do not assign
  for (const char* key : path) {
    if (!n || !n.IsMap()) return none();
    const YAML::Node& cn = n;
    YAML::Node next = cn[key];
    if (!next) return none();
    n.reset(next);
  }
  return n;
}

std::string str(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : std::string(); }

// ---------------------------------------------------------------------------------------------
// The manifests, as kustomization.yaml lists them

struct Manifests {
  std::vector<std::string> problems;  // parse errors, missing files
  std::vector<std::string> resources;
  std::map<std::string, std::vector<YAML::Node>> by_kind;
};

const Manifests& manifests() {
  static const Manifests m = [] {
    Manifests m;
    try {
      YAML::Node k = YAML::LoadFile((kDir / "kustomization.yaml").string());
      for (const auto& r : at(k, {"resources"})) m.resources.push_back(r.as<std::string>());
    } catch (const YAML::Exception& e) {
      m.problems.push_back("kustomization.yaml: " + std::string(e.what()));
    }
    for (const auto& r : m.resources) {
      try {
        for (const auto& doc : YAML::LoadAllFromFile((kDir / r).string())) {
          if (doc.IsNull()) continue;
          if (!doc.IsMap() || str(at(doc, {"apiVersion"})).empty() || str(at(doc, {"kind"})).empty() ||
              str(at(doc, {"metadata", "name"})).empty()) {
            m.problems.push_back(r + ": a document without apiVersion, kind and metadata.name");
            continue;
          }
          m.by_kind[str(at(doc, {"kind"}))].push_back(doc);
        }
      } catch (const YAML::Exception& e) {
        m.problems.push_back(r + ": " + e.what());
      }
    }
    return m;
  }();
  return m;
}

/// The only object of `kind` (an undefined node when there is not exactly one).
YAML::Node one(const std::string& kind) {
  const auto& m = manifests();
  auto it = m.by_kind.find(kind);
  return it != m.by_kind.end() && it->second.size() == 1 ? it->second.front() : none();
}

YAML::Node object(const std::string& kind, const std::string& name) {
  const auto& m = manifests();
  if (auto it = m.by_kind.find(kind); it != m.by_kind.end())
    for (const auto& o : it->second)
      if (str(at(o, {"metadata", "name"})) == name) return o;
  return none();
}

YAML::Node pod_spec() { return one("Deployment")["spec"]["template"]["spec"]; }

YAML::Node container() {
  auto cs = at(pod_spec(), {"containers"});
  return cs && cs.IsSequence() && cs.size() == 1 ? cs[0] : none();
}

/// The image's CMD as a list of words (`CMD ["run", ...]` is a YAML flow sequence too).
std::vector<std::string> image_cmd() {
  std::ifstream in(kContainerfile);
  std::string line, last;
  while (std::getline(in, line))
    if (line.rfind("CMD [", 0) == 0) last = line.substr(4);
  std::vector<std::string> words;
  if (!last.empty())
    for (const auto& w : YAML::Load(last)) words.push_back(w.as<std::string>());
  return words;
}

/// Where the container's `run` reads its config: --config of its args, else of the image's CMD.
std::string config_path_in_pod() {
  std::vector<std::string> args;
  if (auto a = at(container(), {"args"})) {
    for (const auto& w : a) args.push_back(w.as<std::string>());
  } else {
    args = image_cmd();
  }
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config") return args[i + 1];
  return "";
}

// ---------------------------------------------------------------------------------------------
// The pod's view: its volumes written under a temporary root, its environment from the Secret

struct PodView {
  std::vector<std::string> problems;
  fs::path root;
  std::map<std::string, std::string> origin;  // path in the pod -> "Secret NAME" / "ConfigMap NAME"
  std::set<std::string> env_from_secret;       // variables set from a secretKeyRef
  std::optional<config::Config> config;
  std::vector<std::string> diagnostics;
};

/// Writes the keys of a ConfigMap or Secret (all of them, or `items`) under `dir`.
void write_source(PodView& v, const std::string& kind, const YAML::Node& ref, const std::string& dir) {
  const std::string name = str(at(ref, {"name"}));
  YAML::Node obj = object(kind, name);
  if (!obj) return v.problems.push_back("the pod mounts " + kind + " '" + name + "', which no manifest defines");
  if (kind == "Secret" && at(obj, {"data"}))
    v.problems.push_back("Secret '" + name + "' has base64 `data`; this check reads `stringData`");
  YAML::Node values = at(obj, {kind == "Secret" ? "stringData" : "data"});
  std::vector<std::pair<std::string, std::string>> files;  // key, path
  if (at(ref, {"items"})) {
    for (const auto& it : at(ref, {"items"})) files.emplace_back(str(at(it, {"key"})), str(at(it, {"path"})));
  } else if (values) {
    for (const auto& kv : values) files.emplace_back(kv.first.as<std::string>(), kv.first.as<std::string>());
  }
  for (const auto& [key, path] : files) {
    const YAML::Node value = at(values, {key.c_str()});
    if (!value) {
      v.problems.push_back("the pod mounts key '" + key + "' of " + kind + " '" + name + "', which it does not have");
      continue;
    }
    const std::string in_pod = dir + "/" + path;
    fs::path p = v.root / fs::path(in_pod).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream(p) << str(value);
    v.origin[in_pod] = kind + " " + name;
  }
}

fs::path pod_root() { return fs::temp_directory_path() / ("tm-k8s-" + std::to_string(::getpid())); }

struct RemovePodRootAtExit {
  ~RemovePodRootAtExit() {
    std::error_code ec;
    fs::remove_all(pod_root(), ec);
  }
} remove_pod_root_at_exit;

const PodView& pod_view() {
  static const PodView view = [] {
    PodView v;
    v.root = pod_root();
    fs::remove_all(v.root);
    std::map<std::string, YAML::Node> volumes;
    for (const auto& vol : at(pod_spec(), {"volumes"})) volumes.emplace(str(at(vol, {"name"})), vol);
    for (const auto& mount : at(container(), {"volumeMounts"})) {
      const std::string dir = str(at(mount, {"mountPath"}));
      auto found = volumes.find(str(at(mount, {"name"})));
      YAML::Node vol = found != volumes.end() ? found->second : none();
      if (!vol) {
        v.problems.push_back("volumeMount " + str(at(mount, {"name"})) + " names no volume");
      } else if (at(vol, {"projected"})) {
        for (const auto& src : at(vol, {"projected", "sources"})) {
          if (at(src, {"configMap"})) write_source(v, "ConfigMap", at(src, {"configMap"}), dir);
          if (at(src, {"secret"})) write_source(v, "Secret", at(src, {"secret"}), dir);
        }
      } else if (at(vol, {"configMap"})) {
        write_source(v, "ConfigMap", at(vol, {"configMap"}), dir);
      } else if (at(vol, {"secret"})) {
        YAML::Node ref = YAML::Clone(at(vol, {"secret"}));
        ref["name"] = str(at(vol, {"secret", "secretName"}));
        write_source(v, "Secret", ref, dir);
      }
    }
    for (const auto& e : at(container(), {"env"})) {
      const std::string name = str(at(e, {"name"}));
      if (at(e, {"value"})) {
        ::setenv(name.c_str(), str(at(e, {"value"})).c_str(), 1);
      } else if (auto ref = at(e, {"valueFrom", "secretKeyRef"})) {
        YAML::Node value = none();
        if (auto data = at(object("Secret", str(at(ref, {"name"}))), {"stringData"}))
          value.reset(at(data, {str(at(ref, {"key"})).c_str()}));
        if (!value) {
          v.problems.push_back("env " + name + " takes key '" + str(at(ref, {"key"})) + "' of Secret '" +
                               str(at(ref, {"name"})) + "', which does not exist");
          continue;
        }
        ::setenv(name.c_str(), str(value).c_str(), 1);
        v.env_from_secret.insert(name);
      }
    }
    const std::string path = config_path_in_pod();
    if (path.empty()) {
      v.problems.push_back("neither the container's args nor the image's CMD has --config FILE");
      return v;
    }
    // The real loader, on the file as the pod sees it: relative paths in it resolve inside the
    // written volumes, password files must exist, password variables must be set.
    auto r = config::load_file((v.root / fs::path(path).relative_path()).string());
    for (const auto& d : r.errors) v.diagnostics.push_back(config::format_diagnostic(path, d));
    v.config = r.config;
    return v;
  }();
  return view;
}

/// The pod's path of a file the loader resolved under the temporary root.
std::string in_pod(const PodView& v, const std::string& resolved) {
  return "/" + fs::path(resolved).lexically_relative(v.root).string();
}

/// A probe's or annotation's port: a number, or the name of one of the container's ports.
int resolve_port(const YAML::Node& port) {
  const std::string p = str(port);
  if (!p.empty() && p.find_first_not_of("0123456789") == std::string::npos) return std::stoi(p);
  for (const auto& cp : at(container(), {"ports"}))
    if (str(at(cp, {"name"})) == p) return at(cp, {"containerPort"}).as<int>();
  return -1;
}

/// The status code of GET `path` on 127.0.0.1:port (-1 when nothing answers).
int http_status(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string got;
  char buf[512];
  ssize_t n;
  while (got.find("\r\n") == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, n);
  ::close(fd);
  int status = -1;
  std::istringstream(got.substr(got.find(' ') + 1)) >> status;
  return status;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// ---------------------------------------------------------------------------------------------

TEST(Kubernetes, ManifestsParseAndTheKustomizationListsEveryOne) {
  const auto& m = manifests();
  EXPECT_TRUE(m.problems.empty()) << joined(m.problems);
  std::set<std::string> listed(m.resources.begin(), m.resources.end());
  for (const auto& e : fs::directory_iterator(kDir)) {
    const std::string f = e.path().filename().string();
    if (e.path().extension() == ".yaml" && f != "kustomization.yaml") {
      EXPECT_TRUE(listed.count(f)) << f << " is not in kustomization.yaml's resources";
    }
  }
  for (const char* kind : {"ConfigMap", "Secret", "Deployment", "PodDisruptionBudget"})
    EXPECT_TRUE(one(kind)) << "expected exactly one " << kind;
  EXPECT_TRUE(container()) << "expected exactly one container in the Deployment";
}

TEST(Kubernetes, TheRouteConfigLoadsAsThePodsSeeIt) {
  ASSERT_TRUE(container());
  const auto& v = pod_view();
  EXPECT_TRUE(v.problems.empty()) << joined(v.problems);
  ASSERT_TRUE(v.config) << "the loader refused the config the pods read (files checked under " << v.root.string()
                        << ", the pod's volumes; name files relative to the config):\n"
                        << joined(v.diagnostics);
  EXPECT_EQ(v.config->config_file, (v.root / fs::path(config_path_in_pod()).relative_path()).string());
  // Passwords come from the Secret, never from the ConfigMap or a literal env value.
  for (const auto* cluster : {&v.config->source, &v.config->target}) {
    const auto& sasl = cluster->security.sasl;
    if (!sasl) continue;
    if (!sasl->password_file.empty()) {
      const std::string p = in_pod(v, sasl->password_file);
      EXPECT_EQ(v.origin.count(p) ? v.origin.at(p).rfind("Secret ", 0) : std::string::npos, 0u)
          << cluster->name << ": password_file " << p << " is not a key of a Secret";
    } else {
      EXPECT_TRUE(v.env_from_secret.count(sasl->password_env))
          << cluster->name << ": password_env " << sasl->password_env << " is not set from a Secret";
    }
  }
}

TEST(Kubernetes, ReplicasShareTheRouteThroughTheGroup) {
  const auto& v = pod_view();
  ASSERT_TRUE(v.config);
  ASSERT_TRUE(one("Deployment")["spec"]["replicas"]);
  const int replicas = one("Deployment")["spec"]["replicas"].as<int>();
  EXPECT_EQ(replicas, 3);
  // Two mode none processes of one route would each mirror every partition.
  if (replicas > 1) {
    EXPECT_EQ(v.config->membership.mode, config::MembershipConfig::Mode::group)
        << replicas << " replicas need membership.mode: group";
  }
}

TEST(Kubernetes, EveryPortIsTheConfigsMetricsPort) {
  const auto& v = pod_view();
  ASSERT_TRUE(v.config);
  ASSERT_TRUE(v.config->metrics.enabled()) << "metrics.listen is off: no probes, no scraping";
  const auto& listen = *v.config->metrics.listen;
  const int port = listen.port;
  EXPECT_TRUE(listen.host == "0.0.0.0" || listen.host == "::")
      << "metrics.listen " << listen.str() << ": the kubelet and Prometheus connect to the pod's IP";
  bool declared = false;
  for (const auto& cp : at(container(), {"ports"})) declared |= at(cp, {"containerPort"}).as<int>() == port;
  EXPECT_TRUE(declared) << "no containerPort " << port;
  EXPECT_EQ(resolve_port(at(container(), {"livenessProbe", "httpGet", "port"})), port) << "livenessProbe port";
  EXPECT_EQ(resolve_port(at(container(), {"readinessProbe", "httpGet", "port"})), port) << "readinessProbe port";
  auto ann = one("Deployment")["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(str(at(ann, {"prometheus.io/scrape"})), "true");
  EXPECT_EQ(str(at(ann, {"prometheus.io/port"})), std::to_string(port)) << "prometheus.io/port";
}

TEST(Kubernetes, ProbesAndScrapeUseEndpointsTheServerServes) {
  const auto& v = pod_view();
  ASSERT_TRUE(v.config);
  const std::string liveness = str(at(container(), {"livenessProbe", "httpGet", "path"}));
  const std::string readiness = str(at(container(), {"readinessProbe", "httpGet", "path"}));
  const std::string scrape = str(one("Deployment")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]);
  // Liveness must be the io-thread check, not readiness: an unready route (a cluster down) is
  // no reason to restart it.
  EXPECT_EQ(liveness, "/healthz");
  EXPECT_EQ(readiness, "/readyz");
  EXPECT_EQ(scrape, "/metrics");
  // The status server of `run`, with the pods' config, on a free loopback port.
  app::OpsServer ops(*v.config);
  ASSERT_FALSE(ops.start("127.0.0.1", 0));
  EXPECT_EQ(http_status(ops.port(), liveness), 200) << liveness;
  const int ready = http_status(ops.port(), readiness);
  EXPECT_TRUE(ready == 200 || ready == 503) << readiness << " answered " << ready;  // 503: no route yet
  EXPECT_EQ(http_status(ops.port(), scrape), 200) << scrape;
  EXPECT_EQ(http_status(ops.port(), "/no-such-endpoint"), 404) << "the server must tell unknown paths";
  ops.stop();
}

TEST(Kubernetes, PodsRunAsTheImageUserAndStopGracefully) {
  auto spec = pod_spec();
  auto c = container();
  ASSERT_TRUE(c);
  // A container setting wins over the pod's.
  auto pick = [&](const char* key) {
    auto own = at(c, {"securityContext", key});
    return own ? own : at(spec, {"securityContext", key});
  };
  EXPECT_TRUE(pick("runAsNonRoot") && pick("runAsNonRoot").as<bool>());
  EXPECT_EQ(str(pick("runAsUser")), "10001");
  EXPECT_EQ(str(at(c, {"securityContext", "readOnlyRootFilesystem"})), "true");
  EXPECT_EQ(str(at(c, {"securityContext", "allowPrivilegeEscalation"})), "false");
  EXPECT_FALSE(at(c, {"command"})) << "the image's ENTRYPOINT (/usr/bin/tiermirror) must stay";
  // SIGTERM: up to 10 s for requests in flight, then revoked partitions drain and commit.
  ASSERT_TRUE(at(spec, {"terminationGracePeriodSeconds"}));
  EXPECT_GE(at(spec, {"terminationGracePeriodSeconds"}).as<int>(), 30);
  EXPECT_TRUE(at(c, {"resources", "requests", "memory"}) && at(c, {"resources", "limits", "memory"}));
  auto strategy = one("Deployment")["spec"]["strategy"];
  EXPECT_EQ(str(at(strategy, {"type"})), "RollingUpdate");
  EXPECT_EQ(str(at(strategy, {"rollingUpdate", "maxUnavailable"})), "1");
}

TEST(Kubernetes, DisruptionBudgetCoversTheDeploymentsPods) {
  auto pdb = one("PodDisruptionBudget");
  auto dep = one("Deployment");
  ASSERT_TRUE(pdb && dep);
  EXPECT_EQ(str(at(pdb, {"spec", "maxUnavailable"})), "1");
  auto labels = at(dep, {"spec", "template", "metadata", "labels"});
  auto selector = at(dep, {"spec", "selector", "matchLabels"});
  auto pdb_selector = at(pdb, {"spec", "selector", "matchLabels"});
  ASSERT_TRUE(selector && selector.size() > 0 && pdb_selector);
  EXPECT_EQ(YAML::Dump(selector), YAML::Dump(pdb_selector));
  for (const auto& kv : selector)
    EXPECT_EQ(str(labels[kv.first.as<std::string>()]), str(kv.second)) << "template label " << kv.first;
}

TEST(Kubernetes, TheSecretHoldsPlaceholdersOnly) {
  auto secret = one("Secret");
  ASSERT_TRUE(secret && at(secret, {"stringData"}));
  for (const auto& kv : at(secret, {"stringData"}))
    EXPECT_NE(str(kv.second).find("CHANGE-ME"), std::string::npos)
        << kv.first << ": the repository's Secret must hold placeholders, never a password";
}

}  // namespace
}  // namespace tiermirror::packaging
