#pragma once
// Reading the audit: records of every route (de-duplicated by id) summed per topic, time
// bucket and cluster/tier; completeness = target records / (source records + lost); a
// bucket is closed once its grace period passed and every route that mirrors the topic
// has counted past it. Also `check` (gate a batch job on a window) and `scan` (count what
// a cluster holds, from batch headers). Pure computations: the caller reads the topics.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/audit/model.h"
#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::audit {

struct ReportOptions {
  std::optional<std::string> topic;
  std::optional<int64_t> from_ms, to_ms;  // buckets that start in [from, to)
  int64_t grace_ms = 10 * 60 * 1000;      // late data: a bucket stays open this long after its end
  int64_t now_ms = 0;
};

struct TierCount {
  std::string cluster;
  Tier tier = Tier::source;
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;
};

struct BucketReport {
  std::string topic;
  std::string target_cluster;
  int64_t start_ms = 0, end_ms = 0;
  std::vector<TierCount> counts;  // per (cluster, tier): sources first
  uint64_t source_records = 0, lost = 0, target_records = 0;
  /// target / (source + lost); 1 when nothing was counted.
  double completeness = 1.0;
  LatencyHistogram latency;
  bool open = false;
  std::string open_reason;
};

struct Report {
  std::vector<BucketReport> buckets;  // by topic, target cluster, start
  size_t records_read = 0, duplicates = 0;
};

/// Sums de-duplicated records into buckets. Records must all have been read: the report
/// treats what it is given as everything the routes published.
Report build_report(const std::vector<AuditRecord>& records, const ReportOptions& opts);

std::string render_table(const Report& r);
std::string render_json(const Report& r);

struct CheckResult {
  int exit_code = 2;  // 0 complete, 1 incomplete, 2 cannot tell
  std::string line;   // one line saying why
};
/// Whether `topic` is complete in [start, end): every bucket in the window closed and
/// target / (source + lost) over the window at least `min_completeness`.
CheckResult check(const std::vector<AuditRecord>& records, const std::string& topic, int64_t start_ms, int64_t end_ms,
                  double min_completeness, int64_t grace_ms, int64_t now_ms);

// ------------------------------------------------------------------------------- scan

struct ScanBucket {
  uint64_t records = 0, batches = 0, bytes = 0;
};
struct ScanOptions {
  int64_t from_ms = 0, to_ms = 0, bucket_ms = 10 * 60 * 1000;
  /// Decompress and bucket each record by its own timestamp (the counters and the default
  /// scan bucket whole batches by baseTimestamp).
  bool exact = false;
};
struct ScanResult {
  std::map<int64_t, ScanBucket> buckets;  // by bucket start, only buckets in [from, to)
  uint64_t control_batches = 0, aborted_batches = 0;
  std::vector<std::string> errors;  // batches that could not be decompressed (--exact)
};

/// Adds one partition's batches (in offset order, as fetched read_committed) to `out`:
/// control batches and aborted transactions are skipped, as the route skips them.
void scan_partition(const std::vector<protocol::RecordBatchView>& batches,
                    const std::vector<protocol::FetchResponse::AbortedTransaction>& aborted, const ScanOptions& opts,
                    ScanResult& out);

// ------------------------------------------------------------------------------- recount

/// The bucket size the routes counted `topic` with in [start, end), from its counts records;
/// nullopt when routes used different sizes. With no counts in the window any size cutting the
/// window the same way will do (nothing was counted to compare per bucket): gcd(start, length).
std::optional<int64_t> recount_bucket_ms(const std::vector<AuditRecord>& records, const std::string& topic,
                                         int64_t start_ms, int64_t end_ms);

/// `check` with a recount: what source cluster `cluster` holds of `topic` per bucket of
/// [start, end) (`scan`, bucketed as the routes count) against the audit's source tier for that
/// cluster (summed over routes). More on the source in any bucket: 1, naming the first such
/// bucket. Fewer: `base` stands, with a note (retention, a recreated topic). `base` 2 stands.
CheckResult recount(const CheckResult& base, const Report& audit, const std::string& topic, const std::string& cluster,
                    const ScanResult& scan, int64_t start_ms, int64_t end_ms, int64_t bucket_ms);

}  // namespace tiermirror::audit
