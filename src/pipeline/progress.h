#pragma once
// The progress of a route's partitions (route_core.h): where each starts (the group's commit,
// else the configured position), the exactly-once resume scan of the target before it runs
// (pipeline/resume.h: screened in batches, at most resume_scans_in_parallel at once, retried or
// duplicated on failure), the offset commits of the released prefix (through the commit gate),
// and the caught-up check. Runs on the route strand.
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "route_core.h"
#include "tiermirror/pipeline/group_offsets.h"

namespace tiermirror::pipeline {
struct ResumeScanResult;
}

namespace tiermirror::pipeline::detail {

class TargetSide;

class Progress {
 public:
  /// `target`: the target topics' batch limit (the resume scan repacks as the source side would).
  Progress(RouteCore& core, TargetSide& target);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Reads the partitions' committed offsets and starts each (resume scan, then running).
  void start_partitions(std::vector<TopicPartition> tps);
  /// Running when the target partition exists, else waiting for it; a deferred resume scans now.
  void set_running_or_waiting(Partition& p);

  /// The route's start: the first commit round after commit_interval.
  void arm_commit_timer();
  /// Commits the released prefixes (and renewals); `done` after (or at once if one is running).
  void commit(std::function<void()> done);
  /// The route's stop: no more rounds, and this one runs even if another is still out.
  void commit_last(std::function<void()> done);
  bool committing() const { return committing_; }
  /// Bounds the commit gate of the last commit (stop()).
  void set_stop_timeout(net::Millis timeout) { stop_timeout_ = timeout; }

  /// `done` once every partition reached the end seen at its start and that was committed.
  void on_caught_up(std::function<void()> done);
  void check_caught_up();

 private:
  struct StartCommit {
    SourceOffset next;
    std::string metadata;
  };
  struct Screening {
    Partition* p;
    SourceOffset from;
    std::optional<int64_t> hint;
  };

  void resolve_start(std::vector<TopicPartition> tps, std::map<TopicPartition, std::optional<StartCommit>> committed);
  void start_from_earliest(std::vector<Partition*> parts);
  void retry_start(std::vector<TopicPartition> tps, std::error_code ec, const char* what);
  void resume(Partition& p, SourceOffset from, std::optional<int64_t> hint);
  /// Screens the partition with the others starting now (screen_scans), then scans if needed.
  void screen_for_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint);
  void screen_scans();
  void queue_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint);
  void run_next_scan();
  void on_resume_scanned(Partition& p, SourceOffset from, ResumeScanResult r);
  /// False when the partition goes on at `from` (policy duplicate); else it waits or pauses.
  bool on_resume_scan_failed(Partition& p, SourceOffset from, std::optional<int64_t> hint,
                             const ResumeScanResult& r);
  void add_renewals(std::map<TopicPartition, GroupOffsets::Commit>& todo) const;
  void commit_offsets(std::map<TopicPartition, GroupOffsets::Commit> todo, std::function<void()> done,
                      std::function<void()> rearm);
  /// membership.mode none beside group members: their broker refuses our commits; fatal.
  void refuse_beside_group_members(std::error_code ec, const std::map<TopicPartition, std::error_code>& errors);
  void check_caught_up_now();

  RouteCore& core_;
  TargetSide& target_;
  std::shared_ptr<GroupOffsets> offsets_;
  boost::asio::steady_timer commit_timer_;
  net::Millis stop_timeout_{10000};
  bool committing_ = false;
  bool refused_beside_members_ = false;  // reported once: the process stops
  std::function<void()> caught_up_;
  bool caught_up_reported_ = false;
  bool caught_up_check_armed_ = false;
  std::vector<Screening> screening_;  // partitions whose target log end is asked next (screen_scans)
  bool screen_armed_ = false;
  std::deque<std::function<void()>> scans_waiting_;  // resume scans beyond resume_scans_in_parallel
  int scans_running_ = 0;
};

}  // namespace tiermirror::pipeline::detail
