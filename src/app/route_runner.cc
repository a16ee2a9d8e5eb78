#include "tiermirror/app/route_runner.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <future>
#include <iostream>

#include "tiermirror/app/sync_runner.h"
#include "tiermirror/common/log.h"
#include "tiermirror/protocol/produce_check.h"

namespace tiermirror::app {

bool check_produce_rules_from_env() {
  const char* value = std::getenv("TIERMIRROR_CHECK_PRODUCE_RULES");
  if (!value || !*value) return false;
  std::string file = value[0] == '/' ? value : "";
  auto checker = std::make_shared<protocol::ProduceRequestChecker>();
  auto mu = std::make_shared<std::mutex>();
  net::Connection::set_request_observer([checker, mu, file](protocol::ApiKey api, int16_t version, const Bytes& frame) {
    if (api != protocol::ApiKey::produce) return;
    for (const auto& problem : checker->check(version, frame)) {
      TM_ERROR("net", "Produce request breaks a broker rule", {{"rule", problem}});
      if (file.empty()) continue;
      std::lock_guard lk(*mu);
      std::ofstream(file, std::ios::app) << "pid " << ::getpid() << ": " << problem << "\n";
    }
  });
  TM_WARN("app", "TIERMIRROR_CHECK_PRODUCE_RULES: every Produce request is checked before it is sent (diagnostic)");
  return true;
}

net::SecurityOptions security_options(const config::SecurityConfig& sec) {
  net::SecurityOptions o;
  if (sec.uses_tls()) {
    config::TlsConfig tls = sec.tls.value_or(config::TlsConfig{});
    o.tls = net::TlsContext::create(net::TlsOptions{tls.ca_file, tls.cert_file, tls.key_file, tls.verify_hostname});
  }
  if (sec.uses_sasl() && sec.sasl) {
    net::SaslOptions s;
    switch (sec.sasl->mechanism) {
      case config::SaslMechanism::plain: s.mechanism = net::SaslMechanism::plain; break;
      case config::SaslMechanism::scram_sha_256: s.mechanism = net::SaslMechanism::scram_sha_256; break;
      case config::SaslMechanism::scram_sha_512: s.mechanism = net::SaslMechanism::scram_sha_512; break;
    }
    s.username = sec.sasl->username;
    // Read at every login, so a rotated password file is used by the next connection.
    s.password = [sasl = *sec.sasl] { return config::read_password(sasl); };
    o.sasl = std::move(s);
  }
  return o;
}

std::optional<config::Config> load_route_config(const std::string& path) {
  auto loaded = config::load_file(path);
  if (!loaded.errors.empty()) {
    for (const auto& d : loaded.errors) std::cerr << config::format_diagnostic(path, d) << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

pipeline::RouteOptions route_options(const config::Config& cfg) {
  pipeline::RouteOptions o;
  o.name = cfg.route.name;
  auto topics = std::make_shared<config::TopicSelection>(cfg.topics);
  o.select_topic = [topics](const std::string& t) { return topics->matches(t); };
  o.group = cfg.consumer_group;
  o.start_earliest = cfg.start_position == config::StartPosition::earliest;
  o.verify_crc_on_fetch = cfg.crc_check == config::CrcCheck::fetch;
  o.commit_interval = cfg.commit_interval;
  o.metadata_interval = cfg.partition_sync.interval;
  o.request_timeout = cfg.limits.request_timeout;
  o.bytes_per_partition = cfg.limits.bytes_per_partition;
  o.total_bytes = cfg.limits.total_bytes;
  o.fetch_max_bytes = cfg.limits.fetch_max_bytes;
  o.inflight_per_partition = cfg.limits.inflight_per_partition;
  o.resume_on_scan_failure = cfg.resume.on_scan_failure == config::ResumeOnScanFailure::duplicate
                                 ? pipeline::ResumeScanFailurePolicy::duplicate
                                 : pipeline::ResumeScanFailurePolicy::wait;
  return o;
}

net::ClusterOptions cluster_options(const config::ClusterConfig& c, const config::Config& cfg) {
  net::ClusterOptions o;
  o.name = c.name;
  o.metadata_timeout = cfg.limits.request_timeout;
  o.connection.connect_timeout = cfg.limits.request_timeout;
  o.connection.client_id = "tiermirror-" + cfg.route.name;
  o.connection.max_frame_bytes = std::max<size_t>(cfg.limits.fetch_max_bytes * 2, 64u << 20);
  o.connection.security = security_options(c.security);
  return o;
}

BufferPool::Limits frame_pool_limits(const config::Config& cfg) {
  // The route keeps live fetch responses within total_bytes; a block may be a quarter larger than
  // its frame, so blocks in use and idle together stay within total_bytes + a quarter. Idle blocks
  // may take all of that: the amount in use swings by hundreds of MiB while the target lags, and a
  // block freed at the top of one swing comes back as fresh pages (a fault each) in the next. So
  // the resident size stays at the high-water mark, which the budget bounds anyway.
  const size_t total = cfg.limits.total_bytes;
  return BufferPool::Limits{total + total / 4, total + total / 4};
}

struct RunningRoute::GroupLink {
  std::mutex mu;
  std::shared_ptr<pipeline::Route> route;  // guarded by mu; null once the route stopped
  net::Millis revoke_timeout{0};
};

namespace {

// Scale-out: the member joins the route's group; the route runs the partitions it is
// assigned, commits through it, and sends only while its session is proven (the fence).
void join_group(RunningRoute& r, pipeline::RouteOptions& ro, const config::Config& cfg) {
  auto link = std::make_shared<RunningRoute::GroupLink>();
  control::GroupMemberOptions go;
  go.connection = admin_connection(cfg.source, cfg);
  go.connection.client_id = "tiermirror-" + cfg.route.name;
  go.group = cfg.consumer_group;
  go.session_timeout = cfg.membership.session_timeout;
  // A revocation lets the partitions' Produce requests finish (each bounded by the request
  // timeout plus 5 s, see Route::send_produce) and commits once more.
  link->revoke_timeout = cfg.limits.request_timeout * 2 + net::Millis(5000);
  go.revoke_timeout = link->revoke_timeout;
  go.fence_margin = std::min(net::Millis(5000), cfg.membership.session_timeout / 4);
  control::GroupListener listener;
  listener.assigned = [link](std::vector<TopicPartition> tps) {
    std::lock_guard lk(link->mu);
    if (link->route) link->route->assign(std::move(tps));
  };
  listener.removed = [link](std::vector<TopicPartition> tps, control::RemoveReason why, std::function<void()> done) {
    std::lock_guard lk(link->mu);
    if (!link->route) return done();  // stopped: everything acknowledged was committed then
    link->route->remove(std::move(tps),
                        why == control::RemoveReason::lost ? pipeline::Route::Removal::lost
                                                           : pipeline::Route::Removal::revoked,
                        link->revoke_timeout, std::move(done));
  };
  r.group = std::make_shared<control::GroupMember>(std::move(go), std::move(listener));
  r.group_link = link;
  ro.assigned_only = true;
  ro.commit_through = [g = r.group](std::map<TopicPartition, pipeline::GroupOffsets::Commit> commits,
                                    pipeline::GroupOffsets::CommitHandler handler) {
    std::map<TopicPartition, control::GroupCommit> out;
    for (auto& [tp, c] : commits) out[tp] = control::GroupCommit{c.next, std::move(c.metadata)};
    g->commit(std::move(out), std::move(handler));
  };
  ro.may_produce = [g = r.group] { return g->may_produce(); };
}

}  // namespace

bool RunningRoute::syncer_writes() const {
  if (!group) return true;
  auto s = group->status();
  if (s.subscribed.empty()) return false;
  TopicPartition first{*s.subscribed.begin(), 0};
  return std::find(s.assigned.begin(), s.assigned.end(), first) != s.assigned.end();
}

RunningRoute start_route(boost::asio::io_context& io, const config::Config& cfg,
                         std::function<void(std::error_code, std::string)> fatal, bool force_repack,
                         std::vector<std::shared_ptr<pipeline::RouteObserver>> observers) {
  RunningRoute r;
  r.frames = std::make_shared<BufferPool>(frame_pool_limits(cfg));
  auto source_options = cluster_options(cfg.source, cfg);
  auto target_options = cluster_options(cfg.target, cfg);
  source_options.connection.frame_pool = target_options.connection.frame_pool = r.frames;
  r.source = net::Cluster::create(io, net::parse_endpoints(cfg.source.bootstrap_string()), source_options);
  r.target = net::Cluster::create(io, net::parse_endpoints(cfg.target.bootstrap_string()), target_options);
  auto ro = route_options(cfg);
  ro.force_repack = force_repack;
  // cmd_run runs the syncer exactly when partition_sync is enabled; its passes report the limits.
  ro.await_target_limits = cfg.partition_sync.enabled;
  ro.observers.insert(ro.observers.end(), observers.begin(), observers.end());
  if (cfg.audit.enabled) {
    r.audit_counters = std::make_shared<audit::Counters>(cfg.audit.bucket.count());
    ro.observers.push_back(r.audit_counters);
    audit::PublisherOptions po;
    po.route = cfg.route.name;
    po.source_cluster = cfg.source.name;
    po.target_cluster = cfg.target.name;
    po.topic = cfg.audit.topic;
    po.interval = cfg.audit.publish_interval;
    po.timeout = cfg.limits.request_timeout;
    r.audit_publisher = audit::Publisher::create(
        io, cfg.audit.cluster == config::AuditCluster::target ? r.target : r.source, r.audit_counters, std::move(po));
    // Offsets are committed only after the audit holds the counts of what they cover.
    ro.before_commit = r.audit_publisher->commit_gate();
  }
  if (cfg.membership.mode == config::MembershipConfig::Mode::group) join_group(r, ro, cfg);
  r.route = pipeline::Route::create(io, r.source, r.target, std::move(ro));
  if (r.group_link) {
    r.group_link->route = r.route;
    // The whitelist applied to the source's metadata is what the member subscribes to; every
    // instance computes the same set, and the group splits its partitions.
    r.route->on_selected_topics([g = r.group](std::set<std::string> topics) { g->subscribe(std::move(topics)); });
  }
  r.route->start(std::move(fatal));
  return r;
}

size_t RunningRoute::stop(net::Millis timeout) {
  std::promise<void> done;
  route->stop(timeout, [&done] { done.set_value(); });
  done.get_future().wait();
  size_t unpublished = 0;
  if (audit_publisher) {
    // The route's last commit published the counts; this retries what that could not carry.
    std::promise<std::error_code> flushed;
    audit_publisher->flush_and_stop(timeout, [&flushed](std::error_code ec) { flushed.set_value(ec); });
    auto ec = flushed.get_future().get();
    unpublished = audit_counters->unpublished_partitions();
    if (unpublished > 0)
      TM_ERROR("app", "audit counts not published: their offsets stay uncommitted, and the next run of this route "
                      "counts them again",
               {{"partitions", unpublished}, {"error", ec ? ec.message() : std::string("not acknowledged")}});
    else if (ec)
      TM_WARN("app", "the last audit progress records were not published", {{"error", ec.message()}});
  }
  if (group) {
    {
      std::lock_guard lk(group_link->mu);
      group_link->route.reset();  // a revocation from now on has nothing left to drain
    }
    group->close();  // LeaveGroup: the others take the partitions over without a session timeout
  }
  source->close();
  target->close();
  if (frames) {
    auto s = frames->stats();
    TM_DEBUG("app", "receive buffers", {{"reused", s.reused}, {"allocated", s.allocated}, {"idle_bytes", s.idle_bytes}});
  }
  return unpublished;
}

}  // namespace tiermirror::app
