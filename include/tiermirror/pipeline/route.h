#pragma once
// One route: every selected topic-partition N of the source cluster mirrored to partition
// N of the target, batch by batch, records sections unchanged.
//
//   source leader ──Fetch (read_committed, many partitions)──► per-partition filter:
//     corrupt → pause · control/aborted → dropped (kept in order for commits) ·
//     gaps/empty/legacy/too large → repack · else forward as fetched
//   ──► PartitionQueue (byte budget, idempotent sequences, in-order release)
//   ──Produce (acks=all, one batch per partition, many partitions)──► target leader
//   released prefix ──► OffsetCommit to the route's group on the SOURCE cluster
//
// Everything here runs on the route's strand; network callbacks are posted to it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/group_offsets.h"
#include "tiermirror/pipeline/partition_queue.h"
#include "tiermirror/pipeline/route_observer.h"
#include "tiermirror/protocol/messages/fetch.h"

namespace tiermirror::pipeline {

class GroupOffsets;  // group_offsets.h
struct ResumeScanResult;
/// What a route does when a partition's exactly-once resume scan fails (resume.h).
enum class ResumeScanFailurePolicy {
  wait,       // retry with backoff until a scan succeeds (exactly-once kept)
  duplicate,  // resume at the committed offset at once: what was delivered since is sent again
};

struct PartitionStatus;

/// Runs before each offset commit, on the route strand, with the offsets about to be
/// committed (maybe none) and the partitions' status taken at the same moment; the commit goes
/// ahead only after done(true). The audit publishes the counts of what a commit covers first
/// (audit/publisher.h). `timeout`: how long it may take; `stopping`: the route's last commit.
using CommitGate = std::function<void(const std::map<TopicPartition, SourceOffset>& ends,
                                      std::vector<PartitionStatus> status, net::Millis timeout, bool stopping,
                                      std::function<void(bool)> done)>;

struct RouteOptions {
  std::string name = "route";
  std::function<bool(const std::string&)> select_topic;  // the whitelist
  std::string group;                                      // on the source cluster
  bool start_earliest = true;                             // without a committed offset
  net::Millis commit_interval{5000};
  net::Millis metadata_interval{30000};
  net::Millis request_timeout{30000};
  net::Millis fetch_max_wait{500};
  net::Millis retry_backoff{200};
  size_t bytes_per_partition = 8u << 20;
  size_t total_bytes = 512u << 20;
  size_t fetch_max_bytes = 16u << 20;
  int inflight_per_partition = 5;   // Kafka's idempotent producer keeps state for 5
  int produce_requests_per_broker = 5;
  /// Batches above this are repacked (split). Kafka's default max.message.bytes, for topics
  /// whose target value the partition-count syncer has not read (set_max_message_bytes).
  size_t max_message_bytes = 1048588;
  /// Set when a partition-count syncer reports the target topics' max.message.bytes
  /// (`tiermirror run` with partition_sync): a new partition starts only once its topic's
  /// limit was reported, so its first batches (and its resume scan's repacking) already use
  /// the target's limit rather than Kafka's default.
  bool await_target_limits = false;
  /// How long a new partition waits for its limit at most; then it starts at max_message_bytes.
  net::Millis target_limits_wait{5000};
  /// Exactly-once resume (pipeline/resume.h): target bytes read at most per partition when
  /// it starts from a committed offset. Without a usable hint in the commit, the scan starts
  /// about half of this before the target's high watermark.
  size_t resume_scan_bytes = 64u << 20;
  /// Partitions scanning at once (each holds at most two fetch responses of ~1 MiB). Not
  /// counted: the batched log end look that spares the scan where the target holds nothing
  /// after the commit's hint (one ListOffsets per target broker for all partitions starting).
  int resume_scans_in_parallel = 4;
  /// Check the CRC-32C of every fetched batch before it is sent (config `crc_check: fetch`).
  /// Off, a batch forwarded as fetched is checked by the target broker, which refuses a corrupt
  /// one (CORRUPT_MESSAGE) and the partition pauses before it; batches dropped or repacked are
  /// checked here either way.
  bool verify_crc_on_fetch = false;
  /// A failed resume scan (broker down, deadline, retriable errors): `wait` retries it, after
  /// retry_backoff doubling up to resume_retry_max, until it succeeds; `duplicate` resumes at
  /// the committed offset at once (at-least-once: what was delivered since is sent again).
  ResumeScanFailurePolicy resume_on_scan_failure = ResumeScanFailurePolicy::wait;
  net::Millis resume_retry_max{30000};
  /// Scale-out (several instances share the route through its consumer group; wired by the app
  /// to control::GroupMember). Partitions start only when the group assigns them (assign()),
  /// not when discovered; discovery still tells on_selected_topics what to subscribe to.
  bool assigned_only = false;
  /// Commits go here instead of as a "simple consumer" (GroupOffsets): a member of an active
  /// group must commit with its member id and generation. The handler may run on any thread.
  std::function<void(std::map<TopicPartition, GroupOffsets::Commit>, GroupOffsets::CommitHandler)> commit_through;
  /// When set, Produce requests go out only while it answers true: the group member's fence
  /// against writing after its session may have expired (control/group_member.h). With
  /// commit_through, every commit round also commits unchanged offsets, which renews it.
  std::function<bool()> may_produce;
  /// Benchmarks only: repack every batch (decompress, renumber, recompress), to measure
  /// what the identity path saves. Never set in production.
  bool force_repack = false;
  /// Told about every batch fetched, acknowledged or lost (audit counters, metrics).
  std::vector<std::shared_ptr<RouteObserver>> observers;
  /// Optional: asked before every offset commit (the audit's publish).
  CommitGate before_commit;
};

/// resume_waiting: its exactly-once resume scan failed and is retried (the reason says why).
enum class PartitionState { starting, waiting_target, resume_waiting, running, paused };
std::string_view to_string(PartitionState s);

struct PartitionStatus {
  TopicPartition tp;
  PartitionState state = PartitionState::starting;
  std::string reason;                   // why paused or waiting
  int64_t next_fetch_offset = -1;
  int64_t committed_offset = -1;        // last committed next-offset, -1 none
  /// The next source offset the target has not acknowledged (end of the released prefix;
  /// before the first release the committed or start offset), -1 while unknown.
  int64_t acked_offset = -1;
  int64_t high_watermark = -1;
  size_t buffered_bytes = 0;
  uint64_t batches = 0, records = 0, bytes = 0;  // acknowledged by the target
  uint64_t repacked = 0, dropped = 0;
  /// Exactly-once resume at start: source batches found already in the target (delivered by
  /// an earlier process after its last commit) and skipped, and target batches scanned.
  uint64_t resume_matched_batches = 0, resume_scanned_batches = 0;
  /// Resume scans that failed (each retried, or the partition paused / duplicated).
  uint64_t resume_scan_failures = 0;
  std::map<std::string, uint64_t> repacked_by_reason;  // offset_gaps, empty, legacy_format, too_large
  int64_t acked_max_timestamp = -1;     // latest record time the target acknowledged
  /// Running, everything fetched was acknowledged, and the fetch position reached the
  /// high watermark of the last fetch: nothing known to the route is still on its way.
  bool caught_up = false;
};

/// The route as a whole, for status pages and readiness (see Route::route_status).
struct RouteStatus {
  std::vector<PartitionStatus> partitions;  // retiring partitions are left out
  size_t buffered_bytes = 0;  // charged against total_bytes: live fetch responses + fetches in flight
  size_t budget_bytes = 0;    // total_bytes
  bool metadata_loaded = false;  // both clusters' metadata read and the partitions discovered
  bool producer_ready = false;   // an idempotent producer id from the target is held
  bool stopping = false;
};

class Route : public std::enable_shared_from_this<Route> {
 public:
  static std::shared_ptr<Route> create(boost::asio::io_context& io, std::shared_ptr<net::Cluster> source,
                                       std::shared_ptr<net::Cluster> target, RouteOptions opts);
  ~Route();

  /// Starts mirroring. `fatal` is called if the route cannot run at all (no producer id
  /// from the target, no metadata from the source before the deadline).
  void start(std::function<void(std::error_code, std::string)> fatal);
  /// Calls `done` once every partition reached the source high watermark (read_committed
  /// end) seen when the partition started, and that was committed.
  void on_caught_up(std::function<void()> done);
  /// Stops fetching, lets requests in flight finish (at most `timeout`), commits what the
  /// target acknowledged, then calls `done`.
  void stop(net::Millis timeout, std::function<void()> done);
  /// Scale-out: the group assigned these partitions (only the new ones: cooperative
  /// rebalancing). Each starts with the exactly-once resume, as at a start.
  void assign(std::vector<TopicPartition> tps);
  enum class Removal { revoked, lost };
  /// Scale-out: the group takes these partitions away. revoked: fetching stops, what was
  /// never sent is dropped, requests in flight finish and the acknowledged offsets are
  /// committed, then `done` (on the strand); after `timeout` a partition goes anyway. lost
  /// (the session expired; another member may own them): nothing more is sent or committed
  /// for them; `done` once their requests in flight finished.
  void remove(std::vector<TopicPartition> tps, Removal why, net::Millis timeout, std::function<void()> done);
  /// Called (on the strand) with the whitelisted source topics whenever that set changes:
  /// what a group member subscribes to.
  void on_selected_topics(std::function<void(std::set<std::string>)> fn);

  /// A snapshot of every partition (runs on the strand; handler there too).
  void status(std::function<void(std::vector<PartitionStatus>)> handler);

  /// Topics whose target configuration would make the broker rewrite batches, with the
  /// reason, under the refuse policy: their partitions pause (target side).
  void refuse_topics(std::map<std::string, std::string> reasons);
  /// The target topics' max.message.bytes (read by the syncer): batches above a topic's
  /// limit are repacked (split) rather than sent to be refused. Topics not listed keep
  /// RouteOptions::max_message_bytes; 0 says the syncer could not read the topic's limit
  /// (the default applies, and partitions waiting for it start). Partitions held by
  /// await_target_limits start once their topic is listed, or all of them (at the default
  /// where no limit is known) on `release_all`: a syncer pass that failed as a whole.
  void set_max_message_bytes(std::map<std::string, size_t> limits, bool release_all = false);
  /// Re-reads both clusters' metadata now (after the syncer created or grew topics).
  void refresh_now();
  /// Called (on the strand) when discovery finds source partitions the route did not have,
  /// so the partition-count syncer can run at once.
  void on_new_partitions(std::function<void(std::vector<TopicPartition>)> fn);

  /// status() plus the route-wide figures and readiness (runs on the strand; handler there too).
  void route_status(std::function<void(RouteStatus)> handler);
  /// Applies a reloaded configuration without a restart. Limits and intervals apply from
  /// the next fetch, produce or commit. Partitions of topics no longer selected retire: they
  /// stop fetching, drop what was never sent, let their requests in flight finish, commit
  /// their acknowledged offsets and are removed. Newly selected topics start at the next
  /// metadata pass, which this triggers. Taken from `next`: select_topic, start_earliest,
  /// commit_interval, metadata_interval, request_timeout, bytes_per_partition, total_bytes,
  /// fetch_max_bytes, inflight_per_partition, resume_on_scan_failure (from the next failed scan);
  /// everything else stays as it started.
  void reconfigure(RouteOptions next);

 private:
  // The parts (src/pipeline/route_core.h): the source side (fetching), the target side
  // (producing), the progress (start offsets, resume scans, commits), and the route's own
  // wiring (discovery, assignment changes, reload, stop). All run on one strand.
  struct Impl;

  Route(boost::asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
        RouteOptions opts);

  std::unique_ptr<Impl> impl_;
};

}  // namespace tiermirror::pipeline
