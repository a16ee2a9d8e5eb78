#pragma once
// The route's audit counters: per topic, time bucket and tier, records, batches and bytes
// from batch headers, latency at the target tier, and source offset ranges lost before they
// were mirrored. Fed by the route (a pipeline::RouteObserver), sealed before each offset
// commit and published by the publisher.
//
// Exact under kill -9 (docs/audit.md, "Exact counts"): each partition counts in segments
// that begin at an offset the route resumed at or committed. A seal closes what was counted
// so far at the offset about to be committed; the publisher publishes every segment's counts
// from its start (cumulative, keyed by the segment's start), and only then may the route
// commit. A process that dies before the commit leaves the segment to the next one, which
// resumes at the same offset, counts the same batches again (exactly-once resume finds them)
// and publishes a superset under the same key; readers keep the largest.
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tiermirror/audit/model.h"
#include "tiermirror/pipeline/route_observer.h"

namespace tiermirror::audit {

/// One partition's counts in one bucket of one tier.
struct PartitionCount {
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;
  int64_t first_offset = -1, last_offset = -1;
  std::vector<std::pair<int64_t, int64_t>> lost_ranges;
};

/// What a seal gives the publisher: every partition's counts from its segment start to its
/// last seal, per (tier, topic, bucket), and the latency samples taken since the last seal.
struct Sealed {
  struct Entry {
    Tier tier = Tier::source;
    std::string topic;
    int64_t bucket_start_ms = 0;
    int32_t partition = 0;
    int64_t segment = 0, end = 0;  // source offsets: counted [segment, end)
    PartitionCount count;
  };
  std::vector<Entry> entries;
  std::map<std::pair<std::string, int64_t>, LatencyHistogram> latency;  // (topic, bucket) -> target tier
  uint64_t generation = 0;  // this seal's number: published() takes the last one a publish carried
};

class Counters : public pipeline::RouteObserver {
 public:
  explicit Counters(int64_t bucket_ms) : bucket_ms_(bucket_ms) {}

  // Bucketing is by the source batch's baseTimestamp at both tiers (the header rewrite
  // keeps it), so a bucket's two tiers count the same records. A batch without timestamps
  // (magic 0) is counted in the bucket of the wall clock when it is seen.
  void counting_from(const TopicPartition& tp, SourceOffset from) override;
  void fetched(const TopicPartition& tp, const pipeline::BatchFacts& b) override;
  void acked(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms) override;
  // Batches found already delivered at a resume count at both tiers, like fetched + acked,
  // without latency, in the segment that begins at the resume offset. Pieces of a repacked
  // batch wholly below the segment start were counted in a committed segment: not again.
  void already_delivered(const TopicPartition& tp, const pipeline::BatchFacts& source,
                         const std::vector<pipeline::BatchFacts>& delivered) override;
  // Lost data has no timestamp any more: it is counted in the bucket of the first batch
  // fetched after the gap (it was written before that batch), or of the clock at the seal
  // of an offset commit when none follows.
  void lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view why) override;
  void committed(const TopicPartition& tp, SourceOffset next) override;
  void removed(const TopicPartition& tp) override;

  /// Closes what each partition in `ends` counted at the offset about to be committed, and
  /// returns every open segment's counts (sealed parts only) for the publisher.
  Sealed seal(const std::map<TopicPartition, SourceOffset>& ends, int64_t now_ms);
  /// A publish of everything sealed up to seal `generation` was acknowledged (a later seal,
  /// not yet carried by a publish, stays unpublished).
  void published(uint64_t generation);
  /// Partitions whose counts no publish has carried yet (a stop that could not publish).
  size_t unpublished_partitions() const;

  struct Totals {
    uint64_t source_records = 0, target_records = 0, lost = 0;
  };
  /// Since the process started (for metrics).
  Totals totals() const;
  int64_t bucket_ms() const { return bucket_ms_; }

 private:
  using BucketKey = std::pair<Tier, int64_t>;
  struct Chunk {
    int64_t end = -1;  // sealed at this offset; -1 while open
    std::map<BucketKey, PartitionCount> counts;
  };
  struct Segment {
    int64_t start = -1;
    std::deque<Chunk> sealed;
    Chunk open;
    bool published = true;  // every sealed chunk was carried by an acknowledged publish
    uint64_t last_seal = 0;  // the seal that closed the newest chunk
  };
  Segment& segment(const TopicPartition& tp, int64_t first_offset);  // under mu_
  PartitionCount& count(Segment& s, Tier tier, int64_t ts_ms);         // under mu_
  void count_source(const TopicPartition& tp, const pipeline::BatchFacts& b);  // under mu_
  void count_target(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms,
                    bool latency);  // under mu_

  const int64_t bucket_ms_;
  mutable std::mutex mu_;
  std::map<TopicPartition, Segment> segments_;
  uint64_t seals_ = 0;
  std::map<std::pair<std::string, int64_t>, LatencyHistogram> latency_;
  std::map<TopicPartition, std::vector<std::pair<int64_t, int64_t>>> pending_lost_;
  Totals totals_;
};

}  // namespace tiermirror::audit
