#pragma once
// Turns a validated Config into a running route (clusters + pipeline) and back to a stop.
#include <memory>

#include "tiermirror/audit/counters.h"
#include "tiermirror/audit/publisher.h"
#include "tiermirror/common/buffer_pool.h"
#include "tiermirror/config/config.h"
#include "tiermirror/control/group_member.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::app {

/// The data path's TLS and SASL settings for a cluster (the password is read at each login
/// through config::read_password, never here).
net::SecurityOptions security_options(const config::SecurityConfig& sec);

/// Loads a route config for a command that will connect (run, sync): prints every
/// diagnostic on stderr and returns nullopt.
std::optional<config::Config> load_route_config(const std::string& path);

/// The pipeline's options from the route config (the pipeline never sees YAML).
pipeline::RouteOptions route_options(const config::Config& cfg);
net::ClusterOptions cluster_options(const config::ClusterConfig& c, const config::Config& cfg);
/// How much memory the route's receive-buffer pool may keep (from limits.total_bytes).
BufferPool::Limits frame_pool_limits(const config::Config& cfg);

struct RunningRoute {
  std::shared_ptr<net::Cluster> source, target;
  std::shared_ptr<pipeline::Route> route;
  std::shared_ptr<audit::Counters> audit_counters;    // null when audit.enabled is false
  std::shared_ptr<audit::Publisher> audit_publisher;
  std::shared_ptr<BufferPool> frames;  // both clusters' response frames are received into it
  /// membership.mode group: this instance's membership in the route's group (null otherwise).
  std::shared_ptr<control::GroupMember> group;
  /// Scale-out: whether this instance does the partition-count syncer's writes. One member
  /// at a time: the owner of partition 0 of the first subscribed topic. Always true alone.
  bool syncer_writes() const;
  /// Stops the route (publishes the last audit counts, then commits what was acknowledged),
  /// leaves the group (its partitions move to the other members at once) and closes the
  /// clusters; blocks. Returns how many partitions' audit counts could not be
  /// published (logged as an error: their offsets stay uncommitted, so the next run of the
  /// route counts them again).
  size_t stop(net::Millis timeout);

  struct GroupLink;  // route_runner.cc: what the group member's callbacks reach
  std::shared_ptr<GroupLink> group_link;
};

/// TIERMIRROR_CHECK_PRODUCE_RULES, a diagnostic: when set, every Produce request this process
/// sends is first checked against what a real broker enforces (protocol::ProduceRequestChecker);
/// each broken rule is logged as an error and, when the value is an absolute file path, appended
/// to that file (the test tiers read it). Returns whether checking is on.
bool check_produce_rules_from_env();

/// Creates clusters and route on `io` and starts it. `fatal` as for Route::start.
/// `observers` are told about every batch (metrics, audit counters).
RunningRoute start_route(boost::asio::io_context& io, const config::Config& cfg,
                         std::function<void(std::error_code, std::string)> fatal, bool force_repack = false,
                         std::vector<std::shared_ptr<pipeline::RouteObserver>> observers = {});

}  // namespace tiermirror::app
