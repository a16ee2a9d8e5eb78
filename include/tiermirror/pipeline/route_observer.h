#pragma once
// What a route tells the layers that count it (audit, metrics), from batch headers only:
// nothing here ever decompresses or looks at keys and values.
//
/// runs on: the route strand. Observers must be cheap (a few counter updates) and guard
/// whatever their readers (publisher, HTTP scrapes) share with a mutex of their own.
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "tiermirror/common/strong_types.h"
#include "tiermirror/protocol/api.h"

namespace tiermirror::pipeline {

/// One source batch as the counters see it. For a repacked batch, `fetched` reports the
/// source batch once and `acked` each piece, but every piece carries the source batch's
/// base timestamp, so both tiers put the same records into the same time bucket.
struct BatchFacts {
  SourceOffset first{0}, last{0};  // source offsets accounted for (inclusive)
  int32_t records = 0;             // recordsCount of the header(s)
  size_t bytes = 0;                // batch size as fetched (fetched) or as sent (acked)
  int64_t base_timestamp = -1;     // the source batch's baseTimestamp: the bucket key
  int64_t max_timestamp = -1;      // maxTimestamp: the latest record's time (latency)
};

class RouteObserver {
 public:
  virtual ~RouteObserver() = default;
  /// The partition (re)starts at `from` in this process (the committed offset, or where it
  /// starts without one), before anything of it is reported: counting begins there.
  virtual void counting_from(const TopicPartition& tp, SourceOffset from) {}
  /// `next` was committed for the partition: what was reported below it is final.
  virtual void committed(const TopicPartition& tp, SourceOffset next) {}
  /// The partition left this process (its topic unselected, or the group moved it to another
  /// member). What was reported and not committed is counted again by whoever resumes it
  /// from the committed offset, so it is forgotten here.
  virtual void removed(const TopicPartition& tp) {}
  /// A data batch fetched from the source was mirrored: reported when the target acknowledged
  /// it (its last piece, if repacked) and it was released, right before `acked`, so counters
  /// publish both tiers of a batch together (control batches and aborted transactions are not
  /// reported: they are never mirrored).
  virtual void fetched(const TopicPartition& tp, const BatchFacts& b) {}
  /// The target acknowledged a batch and it was released in source order (each batch is
  /// reported once per process). `now_ms` is the wall clock of the release.
  virtual void acked(const TopicPartition& tp, const BatchFacts& b, int64_t now_ms) {}
  /// Exactly-once resume found a source batch already in the target at partition start: an
  /// earlier process delivered it after its last offset commit. `source` is the batch as
  /// `fetched` would report it, `delivered` what the target holds for it (one entry per
  /// piece of a repacked batch). Not a new acknowledgement (no latency: when it was acked is
  /// unknown). The earlier process may or may not have counted it before it died. Also, at
  /// the release of its last piece, for a repacked batch whose first pieces were in the target
  /// before a restart (`delivered`: those pieces; the others are `acked` as usual).
  virtual void already_delivered(const TopicPartition& tp, const BatchFacts& source,
                                 const std::vector<BatchFacts>& delivered) {}
  /// Source offsets [first, last] vanished before they were mirrored (retention removed
  /// them while the route was behind or stopped). Counted in offsets: a control batch in
  /// the range counts too, so this may exceed the records lost by the markers it held.
  virtual void lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view why) {}
  /// A request (or one partition of it) failed with `ec` (Kafka error or transport).
  virtual void request_failed(protocol::ApiKey api, std::error_code ec) {}
};

}  // namespace tiermirror::pipeline
