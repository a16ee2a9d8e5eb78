#pragma once
// The state of one partition of a route, shared by every part of it (route_core.h): the
// source side fetches into its queue, the target side produces and releases from it, the
// progress part starts, resumes and commits it, and the route retires it. Internal to the
// pipeline layer; everything here is touched on the route's strand only.
#include <chrono>
#include <optional>
#include <string>

#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/partition_queue.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::pipeline::detail {

struct Partition {
  explicit Partition(TopicPartition t, int max_in_flight) : tp(std::move(t)), queue(max_in_flight) {}
  TopicPartition tp;
  PartitionState state = PartitionState::starting;
  std::string reason;
  SourceOffset next_fetch{0};
  bool fetching = false;
  PartitionQueue queue;
  AbortedFilter aborted;
  int64_t high_watermark = -1;
  std::optional<int64_t> end_at_start;  // read_committed log end when the partition started
  std::optional<SourceOffset> committed;
  std::string committed_metadata;  // stored with `committed` (kept when a commit round renews it)
  size_t fetch_size_floor = 0;          // raised when one batch exceeds the budget
  bool sending_stopped = false;         // paused for a target-side reason
  PartitionStatus counters;
  // Its topic is no longer selected (reconfigure), or the group took it away (remove): removed
  // once idle and committed. A lost partition is never committed again (another member may
  // own it already).
  bool retiring = false;
  bool lost = false;
  std::chrono::steady_clock::time_point retire_deadline{};
  // resolve_start's callbacks and retries hold a raw pointer until set_running_or_waiting.
  bool start_pending = false;
  int resume_failures = 0;  // resume scans failed in a row (the backoff grows with it)
  // A resume whose target partition is not in the target metadata yet: scanned once it is
  // there. Metadata can lag (a partition another member's syncer just created, a broker that
  // learns of it late) while an earlier owner already wrote past the commit: starting without
  // the scan would send those batches again.
  struct DeferredResume {
    SourceOffset from;
    std::optional<int64_t> hint;
  };
  std::optional<DeferredResume> deferred_resume;
  // The target offset just after the last batch released (acknowledged in order), stored
  // with each commit as the exactly-once resume hint; else a lower bound of where this
  // process's deliveries land (the target high watermark when the resume scan ran).
  std::optional<int64_t> target_hint;
  // The target broker this partition's Produce requests in flight went to. While any is out,
  // nothing new goes to another broker: after a leader move, a request still queued for the
  // old leader (its connection down) would otherwise land after later batches sent to the new
  // one, which answers OUT_OF_ORDER_SEQUENCE_NUMBER (ProducerAppendInfo.checkSequence).
  int32_t produce_broker = -1;
};

}  // namespace tiermirror::pipeline::detail
