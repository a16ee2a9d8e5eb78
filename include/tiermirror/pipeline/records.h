#pragma once
// Record-level access for the repack path: parsing the records of a v2 batch (decompressing when
// needed) or of a legacy magic 0/1 message set, and writing v2 batches from records.
// Layouts: DefaultRecord.java / DefaultRecordBatch.java (v2), LegacyRecord.java and
// AbstractLegacyRecordBatch.java (magic 0/1). Forwarded batches never come through here.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/result.h"
#include "tiermirror/pipeline/compression.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

/// One record. Key, value and header values are views into a buffer owned by the ParsedRecords
/// the record came from (or by the fetched buffer for uncompressed input).
struct Record {
  int8_t attributes = 0;  // v2 record attributes (unused by Kafka); 0 for legacy messages
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<ByteSpan> key, value;
  std::vector<std::pair<std::string, std::optional<ByteSpan>>> headers;
};

/// The records of one batch (or legacy message set), with the bytes their views point into.
/// Moving or copying it keeps the views valid (the storage is refcounted, never reallocated).
struct ParsedRecords {
  int8_t magic = 2;
  protocol::Codec codec = protocol::Codec::none;
  protocol::TimestampType timestamp_type = protocol::TimestampType::create_time;
  /// Absolute offset of offset_delta 0 (v2: baseOffset; legacy: the first message's offset).
  int64_t base_offset = 0;
  /// Timestamps are base_timestamp + timestamp_delta (v2: baseTimestamp; legacy: the first
  /// message's timestamp, -1 for magic 0 which has none).
  int64_t base_timestamp = -1;
  /// v2: the batch's maxTimestamp (the log append time for LogAppendTime batches); legacy: the
  /// largest timestamp (the wrapper's for LogAppendTime).
  int64_t max_timestamp = -1;
  /// v2: the header's lastOffsetDelta (kept by the log cleaner); legacy: the last record's delta.
  int32_t last_offset_delta = -1;
  /// Payload sizes: as stored (compressed) and after decompression (equal when uncompressed).
  size_t stored_bytes = 0;
  size_t decompressed_bytes = 0;
  std::vector<Record> records;
  /// Decompressed buffers and the source slice the views point into.
  std::vector<SharedBuffer> storage;
  BufferSlice source;

  int64_t offset_of(const Record& r) const { return base_offset + r.offset_delta; }
  /// The record's own (create) timestamp: base_timestamp + timestamp_delta.
  int64_t create_timestamp_of(const Record& r) const {
    return static_cast<int64_t>(static_cast<uint64_t>(base_timestamp) + static_cast<uint64_t>(r.timestamp_delta));
  }
  /// What a Kafka consumer sees: the batch's maxTimestamp for LogAppendTime batches.
  int64_t timestamp_of(const Record& r) const {
    return timestamp_type == protocol::TimestampType::log_append_time ? max_timestamp : create_timestamp_of(r);
  }
};

inline constexpr size_t kDefaultMaxDecompressedBytes = size_t{256} << 20;

struct ParseOptions {
  /// Upper bound on one batch's decompressed records (bytes); beyond it: record_errc::output_limit.
  size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
  /// Check CRC-32C (v2) / CRC-32 (legacy messages) before parsing.
  bool verify_crc = true;
};

/// The records of a complete batch: v2 (any codec, control batches included: the caller decides),
/// or a legacy magic 0/1 message (set). Errors: truncated (incomplete view), crc_mismatch,
/// unknown_codec, corrupt_compressed, output_limit, malformed / count_mismatch (records that do not
/// parse to exactly recordsCount records filling the payload), unsupported_format (magic > 2).
/// For an `unowned` view the caller keeps the batch bytes alive as long as the result.
Result<ParsedRecords> parse_records(const protocol::RecordBatchView& batch, const ParseOptions& opts = {});

/// The v2 records section (already decompressed): exactly `count` records filling `records`
/// (DefaultRecord.readFrom), views into `records`.
Result<std::vector<Record>> parse_v2_records(ByteSpan records, int32_t count);

/// A legacy message set: concatenated magic 0/1 messages (offset, size, crc, magic, attributes,
/// [timestamp], key, value), CRC-32 (IEEE) checked. A compressed message (codec in attribute bits
/// 0-2) wraps an inner message set whose offsets are relative for magic 1 (KIP-31: absolute =
/// wrapper offset - last inner offset + inner offset) and absolute for magic 0; a LogAppendTime
/// magic-1 wrapper gives its timestamp to every inner message (AbstractLegacyRecordBatch). Inner
/// messages may not be compressed again. Records get absolute offsets via base_offset +
/// offset_delta; codec and timestamp type are those of the first message.
Result<ParsedRecords> parse_legacy_message_set(const BufferSlice& bytes, const ParseOptions& opts = {});

/// How encode_records writes the batch header.
struct BatchEncodeOptions {
  protocol::Codec codec = protocol::Codec::none;
  protocol::TimestampType timestamp_type = protocol::TimestampType::create_time;
  /// LogAppendTime batches: the maxTimestamp to write (the append time). Ignored for CreateTime.
  std::optional<int64_t> log_append_time;
};

/// Size of one v2 record as encoded with the given deltas (DefaultRecord.sizeInBytes), length
/// prefix included.
size_t encoded_record_size(const Record& r, int64_t timestamp_delta, int32_t offset_delta);

/// Writes one v2 batch holding `records` in order: offset deltas renumbered 0..n-1, timestamps
/// kept (each record's absolute timestamp is source_base_timestamp + its timestamp_delta; the new
/// baseTimestamp is the first record's, maxTimestamp the largest, or log_append_time), attributes
/// = codec + timestamp type (not transactional, not control), baseOffset 0, partitionLeaderEpoch
/// -1, producerId -1, producerEpoch -1, baseSequence -1, CRC-32C. Zero records: empty_batch.
Result<Bytes> encode_records(std::span<const Record> records, int64_t source_base_timestamp,
                             const BatchEncodeOptions& opts = {});

}  // namespace tiermirror::pipeline
