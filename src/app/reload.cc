#include "tiermirror/app/reload.h"

#include "tiermirror/app/ops.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/common/log.h"

namespace tiermirror::app {

namespace {
constexpr const char* kLog = "reload";

bool same_patterns(const std::vector<config::TopicPattern>& a, const std::vector<config::TopicPattern>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].kind() != b[i].kind() || a[i].text() != b[i].text()) return false;
  return true;
}

bool same_security(const config::SecurityConfig& a, const config::SecurityConfig& b) {
  if (a.protocol != b.protocol || a.tls.has_value() != b.tls.has_value() || a.sasl.has_value() != b.sasl.has_value())
    return false;
  if (a.tls && (a.tls->ca_file != b.tls->ca_file || a.tls->cert_file != b.tls->cert_file ||
                a.tls->key_file != b.tls->key_file || a.tls->verify_hostname != b.tls->verify_hostname))
    return false;
  if (a.sasl && (a.sasl->mechanism != b.sasl->mechanism || a.sasl->username != b.sasl->username ||
                 a.sasl->password_file != b.sasl->password_file || a.sasl->password_env != b.sasl->password_env))
    return false;
  return true;
}

void cluster_diff(const std::string& key, const config::ClusterConfig& a, const config::ClusterConfig& b,
                  std::vector<std::string>& restart) {
  if (a.name != b.name) restart.push_back(key + ".name");
  if (a.bootstrap_servers != b.bootstrap_servers) restart.push_back(key + ".bootstrap_servers");
  if (!same_security(a.security, b.security)) restart.push_back(key + ".security");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
}  // namespace

ReloadPlan plan_reload(const config::Config& running, const config::Config& next) {
  ReloadPlan plan;
  auto& live = plan.live;
  auto& restart = plan.restart;
  if (running.route.name != next.route.name) restart.push_back("route.name");
  cluster_diff("source", running.source, next.source, restart);
  cluster_diff("target", running.target, next.target, restart);
  if (running.consumer_group != next.consumer_group) restart.push_back("consumer_group");
  if (running.metrics.listen != next.metrics.listen) restart.push_back("metrics.listen");
  if (running.partition_sync.enabled != next.partition_sync.enabled) restart.push_back("partition_sync.enabled");
  if (running.crc_check != next.crc_check) restart.push_back("crc_check");
  if (running.membership.mode != next.membership.mode) restart.push_back("membership.mode");
  if (running.membership.session_timeout != next.membership.session_timeout)
    restart.push_back("membership.session_timeout");
  const auto& ra = running.audit;
  const auto& na = next.audit;
  if (ra.enabled != na.enabled || ra.topic != na.topic || ra.cluster != na.cluster || ra.bucket != na.bucket ||
      ra.publish_interval != na.publish_interval)
    restart.push_back("audit");

  if (!same_patterns(running.topics.include, next.topics.include)) live.push_back("topics.include");
  if (!same_patterns(running.topics.exclude, next.topics.exclude)) live.push_back("topics.exclude");
  if (running.start_position != next.start_position) live.push_back("start_position");
  if (running.commit_interval != next.commit_interval) live.push_back("commit_interval");
  const auto& rp = running.partition_sync;
  const auto& np = next.partition_sync;
  if (rp.interval != np.interval) live.push_back("partition_sync.interval");
  if (rp.create_missing_topics != np.create_missing_topics) live.push_back("partition_sync.create_missing_topics");
  if (rp.replication_factor != np.replication_factor) live.push_back("partition_sync.replication_factor");
  if (rp.copy_configs != np.copy_configs) live.push_back("partition_sync.copy_configs");
  if (rp.identity_violation != np.identity_violation) live.push_back("partition_sync.identity_violation");
  const auto& rl = running.limits;
  const auto& nl = next.limits;
  if (rl.bytes_per_partition != nl.bytes_per_partition) live.push_back("limits.bytes_per_partition");
  if (rl.total_bytes != nl.total_bytes) live.push_back("limits.total_bytes");
  if (rl.inflight_per_partition != nl.inflight_per_partition) live.push_back("limits.inflight_per_partition");
  if (rl.fetch_max_bytes != nl.fetch_max_bytes) live.push_back("limits.fetch_max_bytes");
  if (rl.request_timeout != nl.request_timeout) live.push_back("limits.request_timeout");
  if (running.resume.on_scan_failure != next.resume.on_scan_failure) live.push_back("resume.on_scan_failure");
  if (running.metrics.per_partition_labels != next.metrics.per_partition_labels)
    live.push_back("metrics.per_partition_labels");
  if (running.logging.level != next.logging.level) live.push_back("logging.level");
  if (running.logging.format != next.logging.format) live.push_back("logging.format");

  plan.effective = next;
  plan.effective.route = running.route;
  plan.effective.source = running.source;
  plan.effective.target = running.target;
  plan.effective.consumer_group = running.consumer_group;
  plan.effective.metrics.listen = running.metrics.listen;
  plan.effective.partition_sync.enabled = running.partition_sync.enabled;
  plan.effective.audit = running.audit;
  plan.effective.membership = running.membership;
  return plan;
}


bool reload_route(const std::string& path, config::Config& running, const ReloadTargets& t) {
  TM_INFO(kLog, "SIGHUP: reloading the configuration", {{"config", path}});
  auto loaded = config::load_file(path);
  if (!loaded.ok()) {
    for (const auto& d : loaded.errors)
      TM_ERROR(kLog, "config reload rejected", {{"diagnostic", config::format_diagnostic(path, d)}});
    TM_ERROR(kLog, "config reload rejected; the running configuration stays",
             {{"config", path}, {"errors", loaded.errors.size()}});
    if (t.ops) t.ops->observer()->reload(false);
    return false;
  }
  auto plan = plan_reload(running, *loaded.config);
  for (const auto& key : plan.restart)
    TM_WARN(kLog, "config key changed but cannot apply while running; restart to apply it (old value kept)",
            {{"key", key}});
  const auto& cfg = plan.effective;
  if (!t.keep_log_level) log::init(cfg.logging.level, cfg.logging.format);
  if (t.route) t.route->reconfigure(route_options(cfg));  // the route takes the live fields
  if (t.frames) t.frames->set_limits(frame_pool_limits(cfg));
  if (t.syncer) {
    t.syncer->reconfigure(cfg);
    t.syncer->poke();  // newly selected topics get their target topics now
  }
  if (t.ops) {
    t.ops->set_per_partition_labels(cfg.metrics.per_partition_labels);
    t.ops->observer()->reload(true);
  }
  TM_INFO(kLog, "config reloaded",
          {{"applied", plan.live.empty() ? std::string("nothing changed") : join(plan.live)},
           {"needs_restart", join(plan.restart)}});
  running = cfg;
  return true;
}

}  // namespace tiermirror::app
