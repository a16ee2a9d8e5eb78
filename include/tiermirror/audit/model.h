#pragma once
// The audit's vocabulary: time buckets, latency histograms and the audit record a route
// publishes (docs/audit.md is the schema's reference). Pure values, no I/O.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tiermirror/common/result.h"

namespace tiermirror::audit {

// ------------------------------------------------------------------------------- time

/// Start of the bucket holding `ts_ms` (buckets are aligned to the Unix epoch, so every
/// route with the same bucket size cuts time the same way).
int64_t bucket_floor(int64_t ts_ms, int64_t bucket_ms);
/// "2026-11-22T10:00:00Z" (UTC, seconds; milliseconds when not zero).
std::string format_utc(int64_t ts_ms);
/// "2026-11-22T10:00Z", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.250Z", "2026-11-22"
/// (midnight UTC) or Unix milliseconds ("1763805600000"). nullopt otherwise.
std::optional<int64_t> parse_utc(std::string_view s);

// ------------------------------------------------------------------------------- latency

/// Replication latency (record time → target ack) in fixed log-spaced buckets, so the
/// histograms of many publishes and routes merge exactly; quantiles are bucket upper bounds
/// (capped by the exact maximum).
class LatencyHistogram {
 public:
  /// Upper bounds (ms, inclusive) of every bucket but the last, which is unbounded.
  static constexpr std::array<int64_t, 24> kBoundsMs = {
      1,     2,     5,     10,     20,     50,     100,    200,     500,     1000,     2000,     5000,
      10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, 7200000, 21600000, 86400000};
  static constexpr size_t kBuckets = kBoundsMs.size() + 1;

  void add(int64_t ms);
  void merge(const LatencyHistogram& o);
  uint64_t count() const { return count_; }
  int64_t max_ms() const { return max_; }  // -1 when empty
  /// The smallest bucket bound below which at least q of the samples fall (q in (0, 1]),
  /// never above max_ms(); -1 when empty.
  int64_t quantile(double q) const;
  const std::array<uint64_t, kBuckets>& counts() const { return counts_; }
  /// Rebuilds from published counts and max (schema 1); false if they do not fit.
  bool assign(const std::vector<uint64_t>& counts, int64_t max_ms);
  bool operator==(const LatencyHistogram&) const = default;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = -1;
};

// ------------------------------------------------------------------------------- records

enum class Tier { source, target };
std::string_view to_string(Tier t);

/// What one partition contributed to a counts record. Schema 2: the partition's counts in
/// this bucket and tier from `segment` (an offset the route committed or resumed at) to `end`
/// (exclusive), cumulative: a later record with the same route, tier, topic, bucket,
/// partition and segment and a larger `end` supersedes it (readers keep the largest).
struct PartitionSpan {
  int64_t first_offset = -1, last_offset = -1;  // source offsets of the batches counted
  std::vector<std::pair<int64_t, int64_t>> lost_ranges;  // source offsets, inclusive
  int64_t segment = -1, end = -1;                        // schema 2
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;  // schema 2
  bool operator==(const PartitionSpan&) const = default;
};

/// One published audit record. `counts` records say what a route counted in one time
/// bucket of one topic at one tier: per partition, cumulative over a segment (schema 2; the
/// record's totals are the sum of its partitions, for people reading it), or since the
/// route's previous publish (schema 1, deltas: a reader sums them). Latency is a delta in
/// both. `progress` records say how far the route has counted a topic (the watermark).
struct AuditRecord {
  enum class Kind { counts, progress };
  static constexpr int kSchema = 2;

  Kind kind = Kind::counts;
  int schema = kSchema;  // as read
  std::string id;  // unique; a record read twice (a publish retried) is counted once
  std::string route, source_cluster, target_cluster;
  std::string topic;
  int64_t published_ms = 0;

  // counts
  Tier tier = Tier::source;
  int64_t bucket_start_ms = 0, bucket_end_ms = 0;
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;
  LatencyHistogram latency;  // target tier only
  std::map<int32_t, PartitionSpan> partitions;

  // progress: every record of the topic with a timestamp below watermark_ms that the route
  // will ever mirror has been counted at both tiers (-1: not yet known), unless it is late.
  int64_t watermark_ms = -1;
  int32_t partitions_total = 0, partitions_behind = 0;

  /// The cluster this record counts: the source cluster for the source tier, else the target.
  const std::string& cluster() const { return tier == Tier::source ? source_cluster : target_cluster; }
  bool operator==(const AuditRecord&) const = default;
};

/// One JSON object per record (docs/audit.md).
std::string to_json(const AuditRecord& r);
/// Parses a record; an error names what is wrong. Unknown fields are ignored (newer
/// writers may add some); a newer schema than kSchema is an error.
Result<AuditRecord> from_json(std::string_view json, std::string* why = nullptr);

}  // namespace tiermirror::audit
