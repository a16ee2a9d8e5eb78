#pragma once
// The tiermirror commands, each returning the process exit status.
// Exit statuses: 0 success, 1 the command's check failed (invalid config, failed proof),
// 2 usage error, 3 a runtime failure (cannot reach a broker, ...).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tiermirror::app {

struct RunOptions {
  std::string config_path;
  bool until_caught_up = false;
  bool force_repack = false;  // benchmarks: what decompress-and-recompress costs
  std::optional<std::string> log_level;
};
struct DemoOptions {
  bool serve = false;
  int records_per_codec = 2000;
};
struct ProbeOptions {
  std::string bootstrap;
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  std::optional<int64_t> offset;  // default: the partition's earliest offset
  int count = 10;                 // batches to print
  int timeout_ms = 10000;
};

struct SyncCommandOptions {
  std::string config_path;
  bool dry_run = false;
};

/// `tiermirror members`: the route's group, its members and their partitions.
struct MembersOptions {
  std::string config_path;
  std::string format = "table";  // table or json
};

/// `tiermirror audit report|check|scan` (docs/audit.md).
struct AuditOptions {
  enum class Action { report, check, scan } action = Action::report;
  std::string bootstrap;
  std::string audit_topic = "__tiermirror_audit";
  std::optional<std::string> topic;             // required for check and scan
  std::optional<std::string> from, to;          // report, scan (UTC times)
  std::string window;                           // check: START/DURATION
  double min_completeness = 0.999;              // check
  std::string grace = "10m";                    // report, check
  std::string bucket = "10m";                   // scan
  bool exact = false;                           // scan
  std::string format = "table";                 // report, scan: table or json
  std::vector<std::string> recount_sources;     // check: NAME=HOST:PORT[,HOST:PORT...]
  int timeout_ms = 10000;
};

int cmd_audit(const AuditOptions& opts);
int cmd_validate(const std::string& config_path);
int cmd_sync(const SyncCommandOptions& opts);
int cmd_run(const RunOptions& opts);
int cmd_demo(const DemoOptions& opts);
int cmd_probe(const ProbeOptions& opts);
int cmd_members(const MembersOptions& opts);

}  // namespace tiermirror::app
