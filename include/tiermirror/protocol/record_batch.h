#pragma once
// RecordBatchView: a zero-copy view of one Kafka record batch (magic 2) inside a fetched buffer,
// with named header offsets, bounds-checked big-endian accessors and an allocation-free verdict.
// Layout and CRC coverage: DefaultRecordBatch.java; docs: /work/shared/design/kafka-wire-rules.md.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/strong_types.h"

namespace tiermirror::protocol {

/// Attribute bits 0-2 (DefaultRecordBatch.COMPRESSION_CODEC_MASK). Values 5-7 are not codecs.
enum class Codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
/// Kafka's name of a codec (compression.type's values); "unknown" for 5-7.
constexpr std::string_view to_string(Codec c) {
  switch (c) {
    case Codec::none: return "none";
    case Codec::gzip: return "gzip";
    case Codec::snappy: return "snappy";
    case Codec::lz4: return "lz4";
    case Codec::zstd: return "zstd";
  }
  return "unknown";
}
enum class TimestampType : uint8_t { create_time = 0, log_append_time = 1 };

/// What the pipeline must do with a batch, or why it cannot. Computed in this order (the first
/// failing check wins), cheapest and most fundamental first:
///   1. framing:  truncated (< 12 bytes, or fewer bytes than batchLength says), bad_length
///                (batchLength below the smallest legal message: 14, LegacyRecord.RECORD_OVERHEAD_V0;
///                checked before "fewer bytes" so a negative length is never truncated)
///   2. magic:    bad_magic_v0_v1 (legacy message set, needs repack), unknown_magic
///   3. v2 size:  bad_length (batchLength < 49, DefaultRecordBatch.RECORD_BATCH_OVERHEAD - 12)
///   4. CRC:      crc_mismatch (CRC-32C over bytes 21..end)
///   5. content:  control, empty (recordsCount 0), offset_gaps (recordsCount != lastOffsetDelta + 1,
///                or, uncompressed only, record offset deltas not exactly 0..n-1), malformed_records
///                (uncompressed records that do not parse to the batch end)
///   6. size:     too_large (total size > the caller's limit)
/// verdict() ignores the base offset (outside the CRC, and rewritten on produce); bad_offsets comes
/// from split_record_set only, for offsets no log can hold (see RecordBatchView::offsets_valid).
/// Whether verdict() computes the CRC-32C (step 4) or leaves it to the broker the batch goes to.
enum class CrcCheck : uint8_t { verify, skip };

enum class BatchVerdict : uint8_t {
  ok,
  truncated,
  bad_magic_v0_v1,
  unknown_magic,
  bad_length,
  crc_mismatch,
  control,
  empty,
  offset_gaps,
  malformed_records,  // extension: an uncompressed record section that is not 'count' well-formed records
  too_large,
  bad_offsets,  // offsets no log can hold; split_record_set stops at such a batch
};
std::string_view to_string(BatchVerdict v);

/// Result of walking an uncompressed batch's records (their varint headers only).
enum class InnerOffsets : uint8_t {
  ok,              // offsetDelta of record i is i, records end exactly at the batch end
  gaps,            // well-formed records, but offset deltas are not 0..n-1 (log-cleaner output)
  malformed,       // a record length or varint runs past the batch, or bytes are left over
  not_checked,     // compressed: needs decompression, out of scope here (the repack path does it)
};

class RecordBatchView {
 public:
  // Header offsets (DefaultRecordBatch.java *_OFFSET constants).
  static constexpr size_t kBaseOffset = 0;
  static constexpr size_t kBatchLength = 8;
  static constexpr size_t kPartitionLeaderEpoch = 12;
  static constexpr size_t kMagic = 16;
  static constexpr size_t kCrc = 17;
  static constexpr size_t kAttributes = 21;
  static constexpr size_t kLastOffsetDelta = 23;
  static constexpr size_t kBaseTimestamp = 27;
  static constexpr size_t kMaxTimestamp = 35;
  static constexpr size_t kProducerId = 43;
  static constexpr size_t kProducerEpoch = 51;
  static constexpr size_t kBaseSequence = 53;
  static constexpr size_t kRecordsCount = 57;
  static constexpr size_t kRecordsStart = 61;

  static constexpr size_t kHeaderSize = 61;         // RECORD_BATCH_OVERHEAD
  static constexpr size_t kLogOverhead = 12;        // baseOffset + batchLength, not counted in batchLength
  static constexpr int32_t kMinBatchLength = 49;    // kHeaderSize - kLogOverhead
  static constexpr int32_t kMinLegacyLength = 14;   // LegacyRecord.RECORD_OVERHEAD_V0
  static constexpr size_t kCrcCoverageStart = kAttributes;

  static constexpr uint16_t kCodecMask = 0x07;
  static constexpr uint16_t kTimestampTypeBit = 0x08;
  static constexpr uint16_t kTransactionalBit = 0x10;
  static constexpr uint16_t kControlBit = 0x20;
  static constexpr uint16_t kDeleteHorizonBit = 0x40;

  RecordBatchView() = default;
  /// A view of the batch at the front of `bytes`. Bytes after the batch's declared end are not part
  /// of the view; fewer bytes than declared give verdict() == truncated.
  explicit RecordBatchView(BufferSlice bytes);
  /// Non-owning: the caller keeps `bytes` alive for the life of the view (validators, tests).
  static RecordBatchView unowned(ByteSpan bytes) { return RecordBatchView(BufferSlice(SharedBuffer(), bytes)); }
  // cppkafka-style guard: a view over a temporary vector would dangle.
  explicit RecordBatchView(Bytes&&) = delete;

  // --- raw header fields (big-endian). A field the view does not fully hold reads as 0. ---
  int64_t base_offset() const { return load<int64_t>(kBaseOffset); }
  int32_t batch_length() const { return load<int32_t>(kBatchLength); }
  int32_t partition_leader_epoch() const { return load<int32_t>(kPartitionLeaderEpoch); }
  int8_t magic() const { return load<int8_t>(kMagic); }
  uint32_t crc() const { return load<uint32_t>(kCrc); }
  int16_t attributes() const { return load<int16_t>(kAttributes); }
  int32_t last_offset_delta() const { return load<int32_t>(kLastOffsetDelta); }
  int64_t base_timestamp() const { return load<int64_t>(kBaseTimestamp); }
  int64_t max_timestamp() const { return load<int64_t>(kMaxTimestamp); }
  ProducerId producer_id() const { return ProducerId(load<int64_t>(kProducerId)); }
  ProducerEpoch producer_epoch() const { return ProducerEpoch(load<int16_t>(kProducerEpoch)); }
  int32_t base_sequence() const { return load<int32_t>(kBaseSequence); }
  int32_t records_count() const { return load<int32_t>(kRecordsCount); }

  // --- derived ---
  Codec codec() const { return static_cast<Codec>(attributes() & kCodecMask); }
  bool codec_known() const { return (attributes() & kCodecMask) <= 4; }
  TimestampType timestamp_type() const {
    return (attributes() & kTimestampTypeBit) ? TimestampType::log_append_time : TimestampType::create_time;
  }
  // The transactional, control and delete-horizon bits and the producer id exist in v2 only: in a
  // magic 0/1 message bytes 21-22 are key length and key (v0) or timestamp bytes (v1), and a
  // magic-0 message with a lowercase first key byte read as a control batch and was dropped
  // (seen on Kafka 2.8).
  bool is_transactional() const { return is_v2() && (attributes() & kTransactionalBit) != 0; }
  bool is_control() const { return is_v2() && (attributes() & kControlBit) != 0; }
  bool has_delete_horizon() const { return is_v2() && (attributes() & kDeleteHorizonBit) != 0; }
  bool has_producer_id() const { return is_v2() && producer_id().value() >= 0; }  // NO_PRODUCER_ID = -1
  bool is_legacy() const { return available() > kMagic && (magic() == 0 || magic() == 1); }
  bool is_v2() const { return available() > kMagic && magic() == 2; }

  SourceOffset source_base_offset() const { return SourceOffset(base_offset()); }
  /// v2: baseOffset + lastOffsetDelta. Legacy (magic 0/1): the offset field, which for a compressed
  /// wrapper is its last inner offset (AbstractLegacyRecordBatch.lastOffset()).
  /// Saturates at the int64 limits instead of overflowing for offsets no log can hold (see
  /// offsets_valid()).
  SourceOffset last_offset() const;
  SourceOffset next_offset() const;
  /// Base offset >= 0, lastOffsetDelta >= -1 (v2; -1 in an empty batch), and last offset + 1
  /// representable. Bytes from the wire can claim anything: the CRC does not cover the base offset.
  bool offsets_valid() const;

  /// Declared total size: 12 + batchLength (0 if the length field is missing or negative).
  size_t size() const;
  /// Bytes the view actually holds (== size() when complete, less when truncated).
  size_t available() const { return bytes_.size(); }
  bool complete() const { return available() >= kLogOverhead && size() > 0 && available() == size(); }
  const BufferSlice& bytes() const { return bytes_; }
  ByteSpan span() const { return bytes_.span(); }
  /// Bytes 61..end (the records, compressed as a whole when codec() != none). Empty if the
  /// view is shorter than the header.
  BufferSlice records() const;

  /// CRC-32C over bytes 21..end as the bytes stand; 0 if the header is incomplete.
  uint32_t computed_crc() const;
  /// Complete v2 batch whose stored CRC matches (DefaultRecordBatch.isValid()).
  bool crc_ok() const;
  /// Walks uncompressed records' varint headers (length, attributes, timestampDelta, offsetDelta).
  /// The broker keeps a compressed payload only when deltas are 0..n-1 (LogValidator
  /// validateMessagesAndAssignOffsetsCompressed); for compressed batches that needs decompression,
  /// so this returns not_checked and the repack path (pipeline) must check it.
  InnerOffsets check_inner_offsets() const;

  /// Full verdict, no allocation. `max_batch_bytes` is the target's max.message.bytes, compared with
  /// the total size like UnifiedLog.analyzeAndValidateRecords does. `crc` skips step 4 (the one
  /// pass over the payload) for a batch that is forwarded unchanged to a broker, which checks the
  /// CRC itself on Produce and refuses a mismatch with CORRUPT_MESSAGE.
  BatchVerdict verdict(size_t max_batch_bytes = std::numeric_limits<size_t>::max(),
                       CrcCheck crc = CrcCheck::verify) const;

 private:
  template <typename T>
  T load(size_t off) const {
    if (off + sizeof(T) > bytes_.size()) return T{0};
    const uint8_t* p = bytes_.data() + off;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | p[i];
    return static_cast<T>(v);
  }

  BufferSlice bytes_;
};

/// Whether two batches carry the same records: records section bytes (everything from byte 61,
/// compressed or not), recordsCount, lastOffsetDelta, codec and base/max timestamps. The header
/// fields a mirror rewrites (baseOffset, partitionLeaderEpoch, producer id/epoch/sequence, the
/// transactional bit, the CRC) are ignored: a mirrored batch is the same as its source batch.
bool same_records(const RecordBatchView& a, const RecordBatchView& b);

/// Producer fields to write into a forwarded batch (wire rules 2, 9, 10).
struct HeaderRewrite {
  ProducerId producer_id;
  ProducerEpoch epoch;
  int32_t base_sequence = 0;
};

/// A new 61-byte header for `batch`: baseOffset 0, partitionLeaderEpoch -1, producer id/epoch/base
/// sequence replaced, transactional bit cleared (every other attribute bit kept), CRC recomputed over
/// the new bytes 21..60 chained with batch.records(). The records are neither copied nor modified:
/// the Produce encoder sends this header and batch.records() as two segments.
/// Precondition: batch.complete() and magic 2 (verdict ok); otherwise missing bytes read as 0.
std::array<uint8_t, RecordBatchView::kHeaderSize> rewrite_header(const RecordBatchView& batch, const HeaderRewrite& rw);

/// The same rewrite applied to a mutable batch (tests, repack output). Returns false and leaves the
/// bytes alone when `batch` is shorter than a header or than its declared length.
bool rewrite_in_place(std::span<uint8_t> batch, const HeaderRewrite& rw);

}  // namespace tiermirror::protocol
