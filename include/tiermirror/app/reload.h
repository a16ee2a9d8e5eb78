#pragma once
// SIGHUP: re-read the route's config file and apply what can change without a restart.
//
// Live: topics (include/exclude), start_position (for partitions started from now on),
// commit_interval, partition_sync.{interval, create_missing_topics, replication_factor,
// copy_configs, identity_violation}, limits.*, metrics.per_partition_labels, logging.*.
// Restart: route.name, source.*, target.*, consumer_group, partition_sync.enabled,
// metrics.listen, audit.*: a changed value is named in a warning and the old one is kept.
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/common/buffer_pool.h"
#include "tiermirror/config/config.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::app {

class OpsServer;
class SyncThread;

struct ReloadPlan {
  config::Config effective;          // the new config with every restart-only key kept as running
  std::vector<std::string> live;     // changed keys that apply now
  std::vector<std::string> restart;  // changed keys that need a restart (ignored)
};

/// Compares the running config with a newly loaded one. Key names only: no values, so no
/// secret (a password file path, a variable name) ever reaches a log line.
ReloadPlan plan_reload(const config::Config& running, const config::Config& next);


struct ReloadTargets {
  std::shared_ptr<pipeline::Route> route;
  std::shared_ptr<BufferPool> frames;  // the route's receive buffers: their limits follow total_bytes
  SyncThread* syncer = nullptr;  // null when partition_sync is disabled
  OpsServer* ops = nullptr;      // null when metrics.listen is ""
  bool keep_log_level = false;   // --log-level given on the command line wins
};

/// Loads `path` and applies it: on errors logs every diagnostic and returns false, keeping
/// `running` as it is; on success applies the live keys, warns about the others, logs one
/// summary line, updates `running` to the effective config and returns true.
bool reload_route(const std::string& path, config::Config& running, const ReloadTargets& targets);

}  // namespace tiermirror::app
