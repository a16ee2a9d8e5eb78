#include "support/batch_builder.h"

#include <algorithm>

#include "tiermirror/protocol/crc32c.h"

namespace tiermirror::test {
namespace {

using protocol::RecordBatchView;

void put_be(Bytes& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * (n - 1 - i))));
}
void set_be(Bytes& out, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}
void put_varlong(Bytes& out, int64_t v) {  // zig-zag (ByteUtils.writeVarlong)
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}
void put_nullable(Bytes& out, const std::optional<Bytes>& b) {
  if (!b) return put_varlong(out, -1);
  put_varlong(out, static_cast<int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

// Reflected polynomial 0xEDB88320 (IEEE 802.3), as LegacyRecord computes with java.util.zip.CRC32.
uint32_t crc32_ieee(ByteSpan data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) {
    c ^= b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

RecordSpec RecordSpec::kv(std::optional<std::string_view> key, std::optional<std::string_view> value) {
  RecordSpec r;
  if (key) r.key = to_bytes(*key);
  if (value) r.value = to_bytes(*value);
  return r;
}

RecordSpec& RecordSpec::with_header(std::string key, std::optional<std::string_view> value) {
  headers.emplace_back(std::move(key), value ? std::optional<Bytes>(to_bytes(*value)) : std::nullopt);
  return *this;
}

BatchBuilder& BatchBuilder::control(ControlType type, int32_t coordinator_epoch) {
  control_ = true;
  Bytes key, value;
  put_be(key, 0, 2);  // ControlRecordType version
  put_be(key, static_cast<uint16_t>(type), 2);
  put_be(value, 0, 2);  // EndTransactionMarker version
  put_be(value, static_cast<uint32_t>(coordinator_epoch), 4);
  RecordSpec r;
  r.key = std::move(key);
  r.value = std::move(value);
  return add(std::move(r));
}

BatchBuilder& BatchBuilder::add(std::string_view key, std::string_view value) {
  return add(RecordSpec::kv(key, value));
}

BatchBuilder& BatchBuilder::add_n(int n) {
  for (int i = 0; i < n; ++i) add("k" + std::to_string(i), "v" + std::to_string(i));
  return *this;
}

Bytes BatchBuilder::build() const {
  Bytes recs;
  int64_t max_delta = 0;
  for (size_t i = 0; i < records_.size(); ++i) {
    const RecordSpec& r = records_[i];
    Bytes body;
    body.push_back(static_cast<uint8_t>(r.attributes));
    put_varlong(body, r.timestamp_delta);
    put_varlong(body, r.offset_delta.value_or(static_cast<int32_t>(i)));
    put_nullable(body, r.key);
    put_nullable(body, r.value);
    put_varlong(body, static_cast<int64_t>(r.headers.size()));
    for (const auto& [hk, hv] : r.headers) {
      put_nullable(body, to_bytes(hk));
      put_nullable(body, hv);
    }
    put_varlong(recs, static_cast<int64_t>(body.size()));
    recs.insert(recs.end(), body.begin(), body.end());
    max_delta = std::max(max_delta, r.timestamp_delta);
  }
  int32_t default_lod = records_.empty() ? 0 : static_cast<int32_t>(records_.size()) - 1;
  for (const auto& r : records_) default_lod = std::max(default_lod, r.offset_delta.value_or(0));

  uint16_t attrs = static_cast<uint16_t>(codec_);
  if (log_append_time_) attrs |= RecordBatchView::kTimestampTypeBit;
  if (transactional_) attrs |= RecordBatchView::kTransactionalBit;
  if (control_) attrs |= RecordBatchView::kControlBit;
  if (delete_horizon_) attrs |= RecordBatchView::kDeleteHorizonBit;
  if (raw_attributes_) attrs = static_cast<uint16_t>(*raw_attributes_);

  Bytes out;
  out.reserve(RecordBatchView::kHeaderSize + recs.size());
  put_be(out, static_cast<uint64_t>(base_offset_), 8);
  put_be(out, RecordBatchView::kHeaderSize - RecordBatchView::kLogOverhead + recs.size(), 4);
  put_be(out, static_cast<uint32_t>(leader_epoch_), 4);
  out.push_back(static_cast<uint8_t>(magic_));
  put_be(out, 0, 4);  // CRC, set below
  put_be(out, attrs, 2);
  put_be(out, static_cast<uint32_t>(last_offset_delta_.value_or(default_lod)), 4);
  put_be(out, static_cast<uint64_t>(base_timestamp_), 8);
  put_be(out, static_cast<uint64_t>(max_timestamp_.value_or(base_timestamp_ + max_delta)), 8);
  put_be(out, static_cast<uint64_t>(producer_id_), 8);
  put_be(out, static_cast<uint16_t>(producer_epoch_), 2);
  put_be(out, static_cast<uint32_t>(base_sequence_), 4);
  put_be(out, static_cast<uint32_t>(records_count_.value_or(static_cast<int32_t>(records_.size()))), 4);
  out.insert(out.end(), recs.begin(), recs.end());

  uint32_t crc = protocol::crc32c(ByteSpan(out).subspan(RecordBatchView::kCrcCoverageStart));
  if (corrupt_crc_) crc ^= 0xDEADBEEFu;
  set_be(out, RecordBatchView::kCrc, crc, 4);
  return out;
}

BufferSlice BatchBuilder::build_slice() const { return to_slice(build()); }

Bytes legacy_message_set_v1(int64_t offset, std::optional<Bytes> key, std::optional<Bytes> value,
                            int64_t timestamp, int8_t magic, int8_t attributes) {
  auto put_legacy_bytes = [](Bytes& out, const std::optional<Bytes>& b) {
    if (!b) return put_be(out, 0xFFFFFFFFu, 4);
    put_be(out, b->size(), 4);
    out.insert(out.end(), b->begin(), b->end());
  };
  Bytes body;  // magic .. end: what the legacy CRC covers
  body.push_back(static_cast<uint8_t>(magic));
  body.push_back(static_cast<uint8_t>(attributes));
  if (magic >= 1) put_be(body, static_cast<uint64_t>(timestamp), 8);
  put_legacy_bytes(body, key);
  put_legacy_bytes(body, value);

  Bytes out;
  put_be(out, static_cast<uint64_t>(offset), 8);
  put_be(out, 4 + body.size(), 4);  // message size: crc + body
  put_be(out, crc32_ieee(body), 4);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

BufferSlice to_slice(Bytes bytes) { return BufferSlice(SharedBuffer(std::move(bytes))); }

}  // namespace tiermirror::test
