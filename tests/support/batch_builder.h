#pragma once
// Builds real Kafka record batches byte by byte for tests (DefaultRecordBatch / DefaultRecord layout),
// plus legacy magic 0/1 messages. Records are always written uncompressed; codec bits can still be
// set in the attributes for header-only tests.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::test {

Bytes to_bytes(std::string_view s);

struct RecordSpec {
  using Header = std::pair<std::string, std::optional<Bytes>>;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<Header> headers;
  int64_t timestamp_delta = 0;
  std::optional<int32_t> offset_delta;  // default: the record's index (0..n-1)
  int8_t attributes = 0;                // unused by Kafka, written as is

  /// Key and value from text; std::nullopt for a null key or value.
  static RecordSpec kv(std::optional<std::string_view> key, std::optional<std::string_view> value);
  RecordSpec& with_header(std::string key, std::optional<std::string_view> value);
  RecordSpec& with_timestamp_delta(int64_t d) { timestamp_delta = d; return *this; }
  RecordSpec& with_offset_delta(int32_t d) { offset_delta = d; return *this; }
};

enum class ControlType : int16_t { abort = 0, commit = 1 };

class BatchBuilder {
 public:
  BatchBuilder& base_offset(int64_t v) { base_offset_ = v; return *this; }
  BatchBuilder& leader_epoch(int32_t v) { leader_epoch_ = v; return *this; }
  BatchBuilder& magic(int8_t v) { magic_ = v; return *this; }
  BatchBuilder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = id; producer_epoch_ = epoch; base_sequence_ = base_sequence; return *this;
  }
  /// Sets attribute bits 0-2 only: the records stay uncompressed (so the CRC is right, the payload not).
  BatchBuilder& codec(protocol::Codec c) { codec_ = c; return *this; }
  BatchBuilder& transactional(bool on = true) { transactional_ = on; return *this; }
  BatchBuilder& log_append_time(bool on = true) { log_append_time_ = on; return *this; }
  BatchBuilder& delete_horizon(bool on = true) { delete_horizon_ = on; return *this; }
  /// Control bit plus one control record: key = version 0 + type, value = EndTransactionMarker
  /// (version 0, coordinator epoch). Does not set the transactional bit: call transactional() too
  /// for what a broker writes.
  BatchBuilder& control(ControlType type, int32_t coordinator_epoch = 0);
  BatchBuilder& base_timestamp(int64_t v) { base_timestamp_ = v; return *this; }
  /// Default: base timestamp + the largest timestamp delta.
  BatchBuilder& max_timestamp(int64_t v) { max_timestamp_ = v; return *this; }
  /// Header overrides, for count/offset-delta inconsistencies; defaults follow the records.
  BatchBuilder& last_offset_delta(int32_t v) { last_offset_delta_ = v; return *this; }
  BatchBuilder& records_count(int32_t v) { records_count_ = v; return *this; }
  /// Replaces the computed attributes entirely.
  BatchBuilder& raw_attributes(int16_t v) { raw_attributes_ = v; return *this; }
  BatchBuilder& corrupt_crc(bool on = true) { corrupt_crc_ = on; return *this; }

  BatchBuilder& add(RecordSpec r) { records_.push_back(std::move(r)); return *this; }
  BatchBuilder& add(std::string_view key, std::string_view value);
  /// n records "k<i>"/"v<i>" with default deltas.
  BatchBuilder& add_n(int n);

  Bytes build() const;
  /// build() in a SharedBuffer, as a BufferSlice (what a fetch hands the pipeline).
  BufferSlice build_slice() const;

 private:
  int64_t base_offset_ = 0;
  int32_t leader_epoch_ = -1;
  int8_t magic_ = 2;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  protocol::Codec codec_ = protocol::Codec::none;
  bool transactional_ = false;
  bool log_append_time_ = false;
  bool delete_horizon_ = false;
  bool control_ = false;
  int64_t base_timestamp_ = 1700000000000;
  std::optional<int64_t> max_timestamp_;
  std::optional<int32_t> last_offset_delta_;
  std::optional<int32_t> records_count_;
  std::optional<int16_t> raw_attributes_;
  bool corrupt_crc_ = false;
  std::vector<RecordSpec> records_;
};

/// One legacy message (magic 0 or 1): offset, size, CRC-32 (IEEE, as LegacyRecord), magic,
/// attributes, [timestamp if magic 1], key, value. Several concatenated make a message set.
Bytes legacy_message_set_v1(int64_t offset, std::optional<Bytes> key, std::optional<Bytes> value,
                            int64_t timestamp = 1700000000000, int8_t magic = 1, int8_t attributes = 0);

/// CRC-32 (IEEE, zlib's crc32) of legacy messages; bitwise, for tests only.
uint32_t crc32_ieee(ByteSpan data);

Bytes concat(const std::vector<Bytes>& parts);
BufferSlice to_slice(Bytes bytes);

}  // namespace tiermirror::test
