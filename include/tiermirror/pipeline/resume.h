#pragma once
// Exactly-once resume without transactions. A route commits its source offsets every
// commit_interval, so after a crash the batches the target acknowledged since the last commit
// would be fetched and sent again. Because every mirrored batch keeps its records section
// byte-identical, the route can instead read the tail of target partition N, recognise the
// batches it already delivered, and resume after the last one:
//
//   commit metadata "tm1 t=<target offset>"  (the target offset just after the last batch the
//                                             commit covers: where the uncommitted ones begin)
//   target partition N, [hint, high watermark)  ──► walk in log order
//   source partition N, [committed, ...)        ──► the batches the route would send, in order
//   a target batch matches the next unmatched source batch when protocol::same_records holds;
//   anything else in the target (other routes, older data) is skipped;
//   resume at the last offset + 1 of the last source batch matched contiguously from the
//   committed offset, or inside a repacked batch after its last piece found (the data path
//   then sends only the pieces after it). A source batch (or piece) missing from the target
//   stops the matching there: what follows is sent again (a duplicate at worst), never skipped.
//
// The matcher is pure (unit-tested with built batches); scan_delivered() drives it with
// Fetch and ListOffsets requests, each with a deadline. A failed scan is retried by the route
// (a broker down for a while must not turn exactly-once into at-least-once): the partition
// waits in `resume_waiting` with growing backoff until a scan succeeds, pauses when the failure
// can never go away (resume_scan_failure_is_permanent), and falls back to the committed offset
// (at-least-once) only when the operator chose so (resume.on_scan_failure: duplicate).
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tiermirror/common/strong_types.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/route_observer.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

/// The commit metadata a route stores with each offset: "tm1 t=<target next offset>".
std::string format_resume_hint(int64_t target_next);
/// The target offset of a "tm1 t=N" metadata string; nullopt for anything else (no hint, an
/// older tiermirror, another tool's metadata, N < 0).
std::optional<int64_t> parse_resume_hint(std::string_view metadata);

/// One source batch as the route delivers it: `sends` are the batches it produces for it (the
/// fetched batch itself, or its repacked pieces), empty when it is dropped (control batch,
/// aborted transaction, every record compacted away).
struct ResumeUnit {
  SourceOffset first{0}, last{0};             // source offsets of the whole batch (inclusive)
  std::vector<protocol::RecordBatchView> sends;
  /// Per send, the last source offset it accounts for (QueuedBatch::last): once sends[i] is
  /// in the target, send_last[i] + 1 is where the route goes on.
  std::vector<SourceOffset> send_last;
  /// Repacked pieces wholly below the start offset (the batch straddles it): delivered
  /// before, never sent again, so not in `sends`; their facts for the target tier.
  std::vector<BatchFacts> earlier_pieces;
  BatchFacts facts;                            // the source batch, as the fetched tier counts it
  bool repacked = false;
};

/// Source batches as the data path would treat them (Route::on_fetch_partition) when it fetches
/// from `from`: batches wholly below it are left out, corrupt → stop (the data path pauses
/// there), aborted/control → dropped unit, needs repack (or `force_repack`) → repacked unit
/// (the repack is deterministic for the same input, codec libraries and max_message_bytes)
/// without its pieces wholly below `from`, else → the batch itself (whole, even if it starts
/// below `from`). `filter` carries read_committed state across calls; call filter.add() with
/// each fetch's aborted list before.
struct ResumeUnits {
  std::vector<ResumeUnit> units;
  bool stopped = false;  // a batch that cannot be judged (corrupt, repack failed): nothing after it
};
ResumeUnits resume_units(const std::vector<protocol::RecordBatchView>& batches, AbortedFilter& filter,
                         SourceOffset from, size_t max_message_bytes, bool force_repack);

/// Streaming matcher: source units are pushed in source order, target batches offered in
/// target log order. Only the units still to match and the matched ones are kept.
class ResumeMatcher {
 public:
  /// Where matching starts: the committed (or start) offset.
  explicit ResumeMatcher(SourceOffset from) : resume_at_(from) {}

  /// Appends the next source unit. Dropped units at the front count as delivered at once
  /// (the route never sends them), so the resume point moves past them.
  void push(ResumeUnit u);
  /// No source unit is waiting: the next target batch cannot be judged before more source
  /// units are pushed (or the source has no more: then matching is over).
  bool wants_source() const { return pending_.empty(); }
  /// Judges the next target batch (precondition: !wants_source()): either it is the next
  /// batch the route would send (matched) or it is skipped.
  void offer(const protocol::RecordBatchView& t);

  /// The source offset to fetch from: after the last unit matched completely, or after the
  /// last piece matched of a repacked unit whose first pieces only are in the target.
  SourceOffset resume_at() const { return resume_at_; }
  /// The target offset after the last target batch matched, if any.
  std::optional<int64_t> target_next() const { return target_next_; }
  /// Units matched completely, in source order (taken: the matcher forgets them). A unit
  /// matched in part is not among them: the route sends its other pieces and counts it then.
  std::vector<ResumeUnit> take_matched();
  size_t units_matched() const { return units_matched_; }
  size_t batches_matched() const { return batches_matched_; }
  size_t skipped() const { return skipped_; }
  /// Pieces of a repacked unit matched while its other pieces were not (yet): if matching
  /// ends here, resume_at() is after them and the route sends only the pieces that follow.
  size_t partial_pieces() const { return piece_; }

 private:
  void settle();  // moves dropped units at the front to matched

  std::deque<ResumeUnit> pending_;
  size_t piece_ = 0;  // pieces of pending_.front() already matched
  std::vector<ResumeUnit> matched_;
  SourceOffset resume_at_;
  std::optional<int64_t> target_next_;
  size_t units_matched_ = 0, batches_matched_ = 0, skipped_ = 0;
};

/// The whole matching over complete inputs (tests, tools): `target` in log order (base
/// offsets as the broker assigned them), `units` in source order from `from`.
struct ResumeMatch {
  SourceOffset resume_at{0};
  std::optional<int64_t> target_next;
  size_t units_matched = 0, batches_matched = 0, skipped = 0, partial_pieces = 0;
};
ResumeMatch match_delivered(const std::vector<protocol::RecordBatchView>& target, std::vector<ResumeUnit> units,
                            SourceOffset from);

/// A failure that retrying cannot fix, so the partition pauses with the reason rather than
/// retrying forever (or duplicating): authorization refused on either cluster, a request the
/// broker does not support. Everything else (timeouts, no leader, a broker down, retriable
/// Kafka errors, a deadline) is worth another scan.
bool resume_scan_failure_is_permanent(std::error_code ec);

/// Whether a partition needs the scan, from its target log end offset (one batched
/// ListOffsets per broker at start). The scan can find nothing to match when the target log
/// ends where the commit's hint says the uncommitted batches would begin (nothing was appended
/// after the last commit: not by us, not by another route) or the target partition never held
/// anything; it would resume at the committed offset, with the log end as the next hint.
/// Anything else (data after the hint, no hint, a hint beyond the log end) needs the scan.
bool resume_needs_scan(std::optional<int64_t> hint, int64_t target_log_end);

/// The wait before scan attempt `failures` + 1: `backoff` doubling per failure, at most `cap`.
net::Millis resume_scan_retry_delay(int failures, net::Millis backoff, net::Millis cap);

struct ResumeScanOptions {
  TopicPartition tp;
  SourceOffset from{0};              // the committed (or start) offset
  int64_t source_end = -1;           // the read_committed end at start: nothing after it was sent
  std::optional<int64_t> hint;       // from the commit metadata
  /// Target bytes read at most (the scan bound). Without a usable hint the scan starts about
  /// half of this before the high watermark, estimated from the last batch's bytes per offset.
  size_t max_scan_bytes = 64u << 20;
  size_t fetch_bytes = 1u << 20;     // per request (grown for a single larger batch)
  size_t max_message_bytes = 1048588;
  bool force_repack = false;
  net::Millis request_timeout{30000};  // each request's deadline
  /// How long the scan may go without progress (an answer that read on): failed requests are
  /// retried until then. A slow scan that keeps getting answers is not cut off.
  net::Millis deadline{60000};
  net::Millis backoff{200};            // between retries of a failed request
};

struct ResumeScanResult {
  std::error_code ec;          // the scan failed: resume at `from` (at-least-once)
  std::string detail;          // what failed, or how the scan started (hint used or why not)
  SourceOffset resume_at{0};
  std::optional<int64_t> target_next;   // after the last matched target batch
  int64_t target_high_watermark = -1;   // when the scan started (our later batches land after it)
  int64_t scanned_from = -1;            // first target offset read
  size_t target_bytes = 0, target_batches = 0, skipped = 0;
  size_t partial_pieces = 0;            // pieces of the repacked batch at resume_at already in the target
  bool bound_reached = false;           // stopped at max_scan_bytes before the high watermark
  size_t replication_waits = 0;         // high watermark reads until it reached the log end
  std::vector<ResumeUnit> matched;      // delivered before the restart, in source order
};

/// Reads target partition tp.partition from the hint (or the bounded tail) to its log end
/// offset at the start (once the high watermark reached it) and source partition tp from
/// `from`, and matches them. Requests go out one at a
/// time, each with request_timeout; failed ones are retried after `backoff` until `deadline`
/// has passed since the last answer that moved the scan on.
/// `done` runs on `executor` (the route's strand), exactly once.
void scan_delivered(std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
                    ResumeScanOptions opts, boost::asio::any_io_executor executor,
                    std::function<void(ResumeScanResult)> done);

}  // namespace tiermirror::pipeline
