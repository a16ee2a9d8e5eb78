#pragma once
// Splitting a fetched partition's record set into batch views, zero-copy.
// Impl note: a Fetch response may begin with a batch that starts before the requested offset (the
// broker sends whole batches; for legacy compressed wrappers, the wrapper holding the offset), and is
// usually cut short at the partition's max bytes, leaving a partial last batch (FetchResponse docs,
// ByteBufferLogInputStream.nextBatch). Neither is an error.
#include <cstddef>
#include <optional>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/strong_types.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::protocol {

/// Framing of the batch at the front of some bytes: only the 12-byte log overhead is read, and it is
/// the same in every message format (offset int64, size int32).
struct BatchFrame {
  enum class Status : uint8_t { complete, partial, malformed };
  Status status = Status::partial;
  /// Declared total size (12 + size field) when known; 0 if fewer than 12 bytes or malformed.
  size_t size = 0;
};
BatchFrame frame_batch(ByteSpan bytes);

struct SplitResult {
  /// Complete batches whose last offset >= the fetch offset, in log order. The splitter checks framing
  /// only: call verdict() on each (CRC, control, gaps, legacy magic -> bad_magic_v0_v1 ...).
  std::vector<RecordBatchView> batches;
  /// Complete batches skipped because they end before the fetch offset.
  size_t skipped_batches = 0;
  /// Bytes of an incomplete last batch (Kafka truncates responses at max bytes); not an error.
  size_t trailing_partial_bytes = 0;
  /// Last offset of the last batch in `batches` + 1, or the fetch offset if there is none.
  SourceOffset next_fetch_offset;
  /// Set when no batch at or after the fetch offset is complete but a partial one is there: the full
  /// size of that batch, so the caller can raise its fetch max bytes (a re-fetch would return the same).
  std::optional<size_t> needs_bigger_fetch;
  /// ok, or why splitting stopped at `error_position`: bad_length (size field below any format's
  /// minimum, or a v2 batch shorter than its header), unknown_magic (offsets unreadable) or
  /// bad_offsets (negative, or past int64: see RecordBatchView::offsets_valid). Batches before the
  /// error are still returned and next_fetch_offset follows them.
  BatchVerdict error = BatchVerdict::ok;
  size_t error_position = 0;

  bool ok() const { return error == BatchVerdict::ok; }
};

/// Splits the records of one partition of a Fetch response. Views share `records`' buffer.
SplitResult split_record_set(const BufferSlice& records, SourceOffset fetch_offset);

}  // namespace tiermirror::protocol
