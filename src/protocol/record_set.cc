#include "tiermirror/protocol/record_set.h"

namespace tiermirror::protocol {

BatchFrame frame_batch(ByteSpan bytes) {
  using View = RecordBatchView;
  if (bytes.size() < View::kLogOverhead) return {BatchFrame::Status::partial, 0};
  const auto view = View::unowned(bytes.first(View::kLogOverhead));
  // ByteBufferLogInputStream rejects sizes below LegacyRecord.RECORD_OVERHEAD_V0 as corrupt.
  if (view.batch_length() < View::kMinLegacyLength) return {BatchFrame::Status::malformed, 0};
  const size_t size = view.size();
  return {bytes.size() >= size ? BatchFrame::Status::complete : BatchFrame::Status::partial, size};
}

SplitResult split_record_set(const BufferSlice& records, SourceOffset fetch_offset) {
  SplitResult out;
  out.next_fetch_offset = fetch_offset;
  const ByteSpan all = records.span();
  size_t pos = 0;
  while (pos < all.size()) {
    const BatchFrame frame = frame_batch(all.subspan(pos));
    if (frame.status == BatchFrame::Status::malformed) {
      out.error = BatchVerdict::bad_length;
      out.error_position = pos;
      break;
    }
    if (frame.status == BatchFrame::Status::partial) {
      out.trailing_partial_bytes = all.size() - pos;
      // A size is known only once the 12-byte overhead arrived; below that Kafka would not have cut.
      if (out.batches.empty() && frame.size > 0) out.needs_bigger_fetch = frame.size;
      break;
    }
    RecordBatchView batch(records.subslice(pos, frame.size));
    const int8_t magic = batch.magic();
    if (magic != 0 && magic != 1 && magic != 2) {
      out.error = BatchVerdict::unknown_magic;  // unknown layout: its offsets cannot be trusted
      out.error_position = pos;
      break;
    }
    if (magic == 2 && batch.batch_length() < RecordBatchView::kMinBatchLength) {
      out.error = BatchVerdict::bad_length;  // offsets would be read from outside the batch
      out.error_position = pos;
      break;
    }
    if (!batch.offsets_valid()) {
      out.error = BatchVerdict::bad_offsets;  // cannot be placed in the log, or skipped by offset
      out.error_position = pos;
      break;
    }
    pos += frame.size;
    if (batch.last_offset() < fetch_offset) {
      ++out.skipped_batches;
      continue;
    }
    out.next_fetch_offset = batch.next_offset();
    out.batches.push_back(std::move(batch));
  }
  return out;
}

}  // namespace tiermirror::protocol
