#pragma once
// The route's audit counters: per topic, time bucket and tier, records, batches and bytes
// from batch headers, latency at the target tier, and source offset ranges lost before they
// were mirrored. Fed by the route (a pipeline::RouteObserver), drained by the publisher.
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tiermirror/audit/model.h"
#include "tiermirror/pipeline/route_observer.h"

namespace tiermirror::audit {

/// What a route counted in one bucket of one topic at one tier since the last take().
struct Delta {
  Tier tier = Tier::source;
  std::string topic;
  int64_t bucket_start_ms = 0;
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;
  LatencyHistogram latency;
  std::map<int32_t, PartitionSpan> partitions;
};

class Counters : public pipeline::RouteObserver {
 public:
  explicit Counters(int64_t bucket_ms) : bucket_ms_(bucket_ms) {}

  // Bucketing is by the source batch's baseTimestamp at both tiers (the header rewrite
  // keeps it), so a bucket's two tiers count the same records. A batch without timestamps
  // (magic 0) is counted in the bucket of the wall clock when it is seen.
  void fetched(const TopicPartition& tp, const pipeline::BatchFacts& b) override;
  void acked(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms) override;
  // Batches found already delivered at a resume count at both tiers, like fetched + acked,
  // without latency: the two tiers stay equal whether or not the process that delivered
  // them published its counts before it died (docs/audit.md, Limits).
  void already_delivered(const TopicPartition& tp, const pipeline::BatchFacts& source,
                         const std::vector<pipeline::BatchFacts>& delivered) override;
  // Lost data has no timestamp any more: it is counted in the bucket of the first batch
  // fetched after the gap (it was written before that batch), or of the clock at the next
  // take() when none follows.
  void lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view why) override;

  /// Everything counted since the previous take, and resets it.
  std::vector<Delta> take(int64_t now_ms);

  struct Totals {
    uint64_t source_records = 0, target_records = 0, lost = 0;
  };
  /// Since the process started (for metrics).
  Totals totals() const;
  int64_t bucket_ms() const { return bucket_ms_; }

 private:
  using Key = std::tuple<Tier, std::string, int64_t>;
  Delta& delta(Tier tier, const std::string& topic, int64_t ts_ms);  // under mu_
  void count_source(const TopicPartition& tp, const pipeline::BatchFacts& b);  // under mu_
  void count_target(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms,
                    bool latency);  // under mu_

  const int64_t bucket_ms_;
  mutable std::mutex mu_;
  std::map<Key, Delta> open_;
  std::map<TopicPartition, std::vector<std::pair<int64_t, int64_t>>> pending_lost_;
  Totals totals_;
};

}  // namespace tiermirror::audit
