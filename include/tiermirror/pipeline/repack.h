#pragma once
// The repack path: batches a broker would reject or rebuild are decoded and written again as
// v2 batches a broker keeps as they are (kafka-wire-rules.md rules 4-6, "Fetch"):
//   - offset gaps: log-cleaner output keeps lastOffsetDelta and leaves gaps in the records'
//     offset deltas (recordsCount != lastOffsetDelta + 1 -> INVALID_RECORD; inner deltas not
//     0..n-1 -> the broker silently rebuilds the batch);
//   - empty: the cleaner can keep a batch with no records (recordsCount 0 -> INVALID_RECORD);
//   - legacy format: magic 0/1 messages (Produce v3+ carries magic 2 only);
//   - too large: bigger than the target topic's max.message.bytes (MESSAGE_TOO_LARGE).
// Everything a consumer sees is kept: keys, values, headers, timestamps (and the timestamp type),
// record order and the codec. What changes: offsets are renumbered 0..n-1 within each output batch
// (the target assigns its own), producer fields are -1 (the sink rewrites them with rewrite_header /
// rewrite_in_place) and the transactional bit is clear.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/result.h"
#include "tiermirror/pipeline/records.h"
#include "tiermirror/pipeline/route_observer.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

enum class RepackReason { offset_gaps, empty, legacy_format, too_large, forced /* benchmarks only */ };
std::string_view to_string(RepackReason r);

struct RepackResult {
  /// Complete v2 batches in source order, each <= max_batch_bytes: same codec as the input (for
  /// magic 0/1: the message's codec), offsets 0..n-1, baseOffset 0, partitionLeaderEpoch -1,
  /// producerId/epoch/baseSequence -1, transactional bit clear, valid CRC-32C.
  std::vector<SharedBuffer> batches;
  /// Per output batch, the inclusive range of source offsets it stands for. The ranges tile the
  /// input's offset range without gaps: the first starts at the input's first offset, the last ends
  /// at the input's last offset (lastOffsetDelta, which can lie past the last surviving record), and
  /// offsets the cleaner removed belong to the batch after them. So once batch i is acknowledged,
  /// source_ranges[i].second + 1 is the source offset to commit.
  std::vector<std::pair<int64_t, int64_t>> source_ranges;
  /// Records in all output batches.
  int64_t records = 0;
  /// The input's next offset (last offset + 1): the commit position once every batch is acked,
  /// and the one to use at once when `batches` is empty (an empty input batch is dropped).
  int64_t next_source_offset = 0;
};

struct RepackOptions {
  /// Bound on the input's decompressed size (decompression bombs).
  size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
};

/// Why `in` cannot be forwarded verbatim to a topic whose max.message.bytes is `max_batch_bytes`,
/// or nullopt to forward it as is. Checked in this order: legacy_format (magic 0/1), empty
/// (recordsCount 0), offset_gaps (recordsCount != lastOffsetDelta + 1, or for uncompressed batches
/// record offset deltas not 0..n-1: RecordBatchView::check_inner_offsets), too_large.
/// Only answers the repack question: truncation, CRC mismatches and control batches are the
/// verdict's business (RecordBatchView::verdict); this returns nullopt for them.
/// Compressed batches are not decompressed here: a cleaner-compacted compressed batch always fails
/// the count check (it keeps lastOffsetDelta while dropping records), so deltas that are unique,
/// increasing and within 0..lastOffsetDelta with count == lastOffsetDelta + 1 are exactly 0..n-1.
std::optional<RepackReason> needs_repack(const protocol::RecordBatchView& in, size_t max_batch_bytes);

/// Re-encodes `in` into batches of at most `max_batch_bytes` each. An empty input (recordsCount 0)
/// gives no batches. Errors: record_too_large (one record alone does not fit in max_batch_bytes:
/// the pipeline pauses the partition), unsupported_format (control batch, unknown magic),
/// crc_mismatch, truncated, and the parse/decompression errors of parse_records.
Result<RepackResult> repack(const protocol::RecordBatchView& in, size_t max_batch_bytes,
                            const RepackOptions& opts = {});

/// A repacked batch as the route queues it, fetched from `from` (which may lie inside it after a
/// restart). Route::on_fetch_partition and exactly-once resume both use it, so that what resume
/// expects in the target is exactly what the data path sends.
struct RepackedPieces {
  struct Piece {
    SourceOffset first{0}, last{0};  // the source offsets it accounts for (QueuedBatch::first/last)
    protocol::RecordBatchView view;
  };
  BatchFacts source;                  // the source batch as the fetched tier counts it
  std::vector<BatchFacts> earlier;    // pieces wholly below `from`: delivered before, not sent again
  std::vector<Piece> send;            // the others, in order (the last piece always among them)
};
/// `r` must be repack(in, ...)'s non-empty result and `from` <= in.last_offset(). Each piece
/// accounts for the source offsets of its records, the last one also for what compaction
/// removed at the end of the batch; legacy message sets have no batch header, so their facts
/// come from the pieces.
RepackedPieces repacked_pieces(const protocol::RecordBatchView& in, const RepackResult& r, SourceOffset from);

}  // namespace tiermirror::pipeline
