#include "tiermirror/protocol/record_batch.h"

#include <algorithm>
#include <limits>

#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {
namespace {

using View = RecordBatchView;

void store_be(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

// A nullable varint-length byte field (-1 = null), skipped. Shape from DefaultRecord.readFrom.
bool skip_bytes_field(const uint8_t*& p, const uint8_t* end, bool nullable) {
  int32_t len = 0;
  if (!read_varint(p, end, len)) return false;
  if (len < 0) return nullable && len == -1;
  if (static_cast<size_t>(end - p) < static_cast<size_t>(len)) return false;
  p += len;
  return true;
}

}  // namespace

std::string_view to_string(BatchVerdict v) {
  switch (v) {
    case BatchVerdict::ok: return "ok";
    case BatchVerdict::truncated: return "truncated";
    case BatchVerdict::bad_magic_v0_v1: return "bad_magic_v0_v1";
    case BatchVerdict::unknown_magic: return "unknown_magic";
    case BatchVerdict::bad_length: return "bad_length";
    case BatchVerdict::crc_mismatch: return "crc_mismatch";
    case BatchVerdict::control: return "control";
    case BatchVerdict::empty: return "empty";
    case BatchVerdict::offset_gaps: return "offset_gaps";
    case BatchVerdict::malformed_records: return "malformed_records";
    case BatchVerdict::too_large: return "too_large";
    case BatchVerdict::bad_offsets: return "bad_offsets";
  }
  return "unknown";
}

RecordBatchView::RecordBatchView(BufferSlice bytes) : bytes_(std::move(bytes)) {
  // Trim to the declared end so a view never covers the next batch.
  const size_t declared = size();
  if (declared > 0 && bytes_.size() > declared) bytes_ = bytes_.subslice(0, declared);
}

size_t RecordBatchView::size() const {
  if (bytes_.size() < kLogOverhead) return 0;
  const int32_t len = batch_length();
  return len < 0 ? 0 : kLogOverhead + static_cast<size_t>(len);
}

SourceOffset RecordBatchView::last_offset() const {
  if (is_legacy()) return SourceOffset(base_offset());
  // Found by fuzz_batches: baseOffset near INT64_MIN plus a negative delta overflowed (UB).
  int64_t last = 0;
  if (__builtin_add_overflow(base_offset(), static_cast<int64_t>(last_offset_delta()), &last)) {
    last = last_offset_delta() < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return SourceOffset(last);
}

SourceOffset RecordBatchView::next_offset() const {
  const int64_t last = last_offset().value();
  return SourceOffset(last == std::numeric_limits<int64_t>::max() ? last : last + 1);
}

bool RecordBatchView::offsets_valid() const {
  const int64_t base = base_offset();
  if (base < 0) return false;
  if (is_legacy()) return base < std::numeric_limits<int64_t>::max();
  const int32_t delta = last_offset_delta();
  if (delta < -1) return false;
  return delta == -1 || base < std::numeric_limits<int64_t>::max() - delta;
}

BufferSlice RecordBatchView::records() const {
  if (bytes_.size() <= kRecordsStart) return bytes_.subslice(bytes_.size(), 0);
  return bytes_.subslice(kRecordsStart);
}

uint32_t RecordBatchView::computed_crc() const {
  if (bytes_.size() < kHeaderSize) return 0;
  return crc32c(bytes_.span().subspan(kCrcCoverageStart));
}

bool RecordBatchView::crc_ok() const {
  return complete() && magic() == 2 && batch_length() >= kMinBatchLength && computed_crc() == crc();
}

InnerOffsets RecordBatchView::check_inner_offsets() const {
  if (codec() != Codec::none) return InnerOffsets::not_checked;
  if (!complete() || size() < kHeaderSize) return InnerOffsets::malformed;
  const int32_t count = records_count();
  if (count < 0) return InnerOffsets::malformed;
  const uint8_t* p = bytes_.data() + kRecordsStart;
  const uint8_t* const end = bytes_.data() + size();
  bool gaps = false;
  // Each record takes at least one byte, so the walk is bounded by the batch size, not by `count`.
  for (int32_t i = 0; i < count; ++i) {
    int32_t len = 0;
    if (!read_varint(p, end, len) || len < 0 || static_cast<size_t>(end - p) < static_cast<size_t>(len))
      return InnerOffsets::malformed;
    const uint8_t* const rec_end = p + len;
    int64_t ts_delta = 0;
    int32_t offset_delta = 0;
    if (p == rec_end) return InnerOffsets::malformed;
    ++p;  // record attributes (unused, int8)
    if (!read_varlong(p, rec_end, ts_delta) || !read_varint(p, rec_end, offset_delta))
      return InnerOffsets::malformed;
    if (offset_delta != i) gaps = true;
    // Key, value and headers must fill the record exactly (DefaultRecord.readFrom).
    if (!skip_bytes_field(p, rec_end, true) || !skip_bytes_field(p, rec_end, true)) return InnerOffsets::malformed;
    int32_t headers = 0;
    if (!read_varint(p, rec_end, headers) || headers < 0) return InnerOffsets::malformed;
    for (int32_t h = 0; h < headers; ++h)
      if (!skip_bytes_field(p, rec_end, false) || !skip_bytes_field(p, rec_end, true)) return InnerOffsets::malformed;
    if (p != rec_end) return InnerOffsets::malformed;
  }
  if (p != end) return InnerOffsets::malformed;  // bytes after the last counted record
  return gaps ? InnerOffsets::gaps : InnerOffsets::ok;
}

BatchVerdict RecordBatchView::verdict(size_t max_batch_bytes, CrcCheck crc) const {
  // 1. framing (ByteBufferLogInputStream.nextBatch): the size field sits at bytes 8-11 in every format.
  if (bytes_.size() < kLogOverhead) return BatchVerdict::truncated;
  const int32_t len = batch_length();
  if (len < kMinLegacyLength) return BatchVerdict::bad_length;
  if (bytes_.size() < size()) return BatchVerdict::truncated;
  // 2. magic: byte 16 is the magic in legacy messages too (offset 8, size 4, crc 4, magic 1).
  const int8_t m = magic();
  if (m == 0 || m == 1) return BatchVerdict::bad_magic_v0_v1;
  if (m != 2) return BatchVerdict::unknown_magic;
  // 3. v2 minimum (DefaultRecordBatch.ensureValid: "smaller than the minimum allowed overhead").
  if (len < kMinBatchLength) return BatchVerdict::bad_length;
  // 4. CRC-32C over bytes 21..end.
  if (crc == CrcCheck::verify && computed_crc() != this->crc()) return BatchVerdict::crc_mismatch;
  // 5. content (LogValidator.validateBatch: control, count, offset range).
  if (is_control()) return BatchVerdict::control;
  const int32_t count = records_count();
  if (count == 0) return BatchVerdict::empty;
  if (count < 0 || static_cast<int64_t>(count) != static_cast<int64_t>(last_offset_delta()) + 1)
    return BatchVerdict::offset_gaps;
  switch (check_inner_offsets()) {
    case InnerOffsets::gaps: return BatchVerdict::offset_gaps;
    case InnerOffsets::malformed: return BatchVerdict::malformed_records;
    case InnerOffsets::ok:
    case InnerOffsets::not_checked: break;
  }
  // 6. target limit (UnifiedLog.analyzeAndValidateRecords compares sizeInBytes with max.message.bytes).
  if (size() > max_batch_bytes) return BatchVerdict::too_large;
  return BatchVerdict::ok;
}

namespace {

// Rewrites the fields of a header already copied into `h`; the caller sets the CRC.
void apply_rewrite(uint8_t* h, const HeaderRewrite& rw) {
  store_be(h + View::kBaseOffset, 0, 8);                               // rule 2
  store_be(h + View::kPartitionLeaderEpoch, static_cast<uint32_t>(-1), 4);  // NO_PARTITION_LEADER_EPOCH
  uint16_t attrs = static_cast<uint16_t>((h[View::kAttributes] << 8) | h[View::kAttributes + 1]);
  attrs = static_cast<uint16_t>(attrs & ~View::kTransactionalBit);    // rule 9
  store_be(h + View::kAttributes, attrs, 2);
  store_be(h + View::kProducerId, static_cast<uint64_t>(rw.producer_id.value()), 8);  // rule 10
  store_be(h + View::kProducerEpoch, static_cast<uint16_t>(rw.epoch.value()), 2);
  store_be(h + View::kBaseSequence, static_cast<uint32_t>(rw.base_sequence), 4);
}

}  // namespace

std::array<uint8_t, RecordBatchView::kHeaderSize> rewrite_header(const RecordBatchView& batch,
                                                                 const HeaderRewrite& rw) {
  std::array<uint8_t, View::kHeaderSize> h{};
  const ByteSpan src = batch.span();
  std::copy_n(src.begin(), std::min(src.size(), h.size()), h.begin());
  const uint32_t old_head = crc32c(ByteSpan(h).subspan(View::kCrcCoverageStart));
  apply_rewrite(h.data(), rw);
  const uint32_t new_head = crc32c(ByteSpan(h).subspan(View::kCrcCoverageStart));
  // The stored CRC is crc32c(records, old_head); the new one is crc32c(records, new_head).
  // Their difference depends only on the header bytes and the records' length, so the
  // payload is not read again (it was when the batch's CRC was verified). A batch whose
  // stored CRC was wrong keeps a wrong CRC: a rewrite never launders corruption.
  const uint32_t stored = batch.crc();
  store_be(h.data() + View::kCrc,
           stored ^ crc32c_shift(old_head ^ new_head, batch.records().size()), 4);
  return h;
}

bool rewrite_in_place(std::span<uint8_t> batch, const HeaderRewrite& rw) {
  if (batch.size() < View::kHeaderSize) return false;
  const auto view = RecordBatchView::unowned(batch);
  if (view.batch_length() < View::kMinBatchLength || view.size() > batch.size()) return false;
  const auto whole = batch.first(view.size());
  apply_rewrite(whole.data(), rw);
  store_be(whole.data() + View::kCrc, crc32c(whole.subspan(View::kCrcCoverageStart)), 4);
  return true;
}

bool same_records(const RecordBatchView& a, const RecordBatchView& b) {
  auto ra = a.records().span(), rb = b.records().span();
  return a.records_count() == b.records_count() && a.codec() == b.codec() &&
         a.base_timestamp() == b.base_timestamp() && a.max_timestamp() == b.max_timestamp() &&
         a.last_offset_delta() == b.last_offset_delta() && std::equal(ra.begin(), ra.end(), rb.begin(), rb.end());
}

}  // namespace tiermirror::protocol
