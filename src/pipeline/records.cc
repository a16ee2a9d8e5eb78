#include "tiermirror/pipeline/records.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;
using protocol::RecordBatchView;
using protocol::TimestampType;
using View = RecordBatchView;

// ---------------------------------------------------------------- bounded readers

using protocol::read_varint;
using protocol::read_varlong;

// A varint-length byte field (-1 = null when nullable) as a view.
bool read_bytes_field(const uint8_t*& p, const uint8_t* end, bool nullable, std::optional<ByteSpan>& out) {
  int32_t len = 0;
  if (!read_varint(p, end, len)) return false;
  if (len < 0) {
    if (!nullable || len != -1) return false;
    out.reset();
    return true;
  }
  if (static_cast<size_t>(end - p) < static_cast<size_t>(len)) return false;
  out = ByteSpan(p, static_cast<size_t>(len));
  p += len;
  return true;
}

uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}
void put_be(Bytes& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * (n - 1 - i))));
}
void store_be(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

void put_varlong(Bytes& out, int64_t v) {  // ByteUtils.writeVarlong
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}
size_t varlong_size(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    ++n;
  }
  return n;
}
size_t bytes_field_size(const std::optional<ByteSpan>& b) {
  if (!b) return varlong_size(-1);
  return varlong_size(static_cast<int64_t>(b->size())) + b->size();
}
void put_bytes_field(Bytes& out, const std::optional<ByteSpan>& b) {
  if (!b) return put_varlong(out, -1);
  put_varlong(out, static_cast<int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

// DefaultRecord.sizeOfBodyInBytes: everything after the length prefix.
size_t record_body_size(const Record& r, int64_t timestamp_delta, int32_t offset_delta) {
  size_t body = 1 + varlong_size(timestamp_delta) + varlong_size(offset_delta) + bytes_field_size(r.key) +
                bytes_field_size(r.value) + varlong_size(static_cast<int64_t>(r.headers.size()));
  for (const auto& [k, v] : r.headers) body += varlong_size(static_cast<int64_t>(k.size())) + k.size() + bytes_field_size(v);
  return body;
}

int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// ---------------------------------------------------------------- legacy messages (magic 0/1)

constexpr size_t kLegacyLogOverhead = 12;      // offset int64, size int32
constexpr int32_t kLegacyOverheadV0 = 14;      // LegacyRecord.RECORD_OVERHEAD_V0 (crc .. value length)
constexpr int32_t kLegacyOverheadV1 = 22;      // + timestamp
constexpr uint8_t kLegacyCodecMask = 0x07;
constexpr uint8_t kLegacyTimestampTypeBit = 0x08;

struct LegacyMessage {
  int64_t offset = 0;
  int8_t magic = 0;
  uint8_t attributes = 0;
  int64_t timestamp = -1;  // magic 0: none (RecordBatch.NO_TIMESTAMP)
  std::optional<ByteSpan> key, value;

  Codec codec() const { return static_cast<Codec>(attributes & kLegacyCodecMask); }
  bool log_append_time() const { return magic >= 1 && (attributes & kLegacyTimestampTypeBit); }
};

// A legacy bytes field: int32 length, -1 = null.
bool read_legacy_bytes(const uint8_t*& p, const uint8_t* end, std::optional<ByteSpan>& out) {
  if (end - p < 4) return false;
  const int32_t len = static_cast<int32_t>(load_be(p, 4));
  p += 4;
  if (len < 0) {
    if (len != -1) return false;
    out.reset();
    return true;
  }
  if (static_cast<size_t>(end - p) < static_cast<size_t>(len)) return false;
  out = ByteSpan(p, static_cast<size_t>(len));
  p += len;
  return true;
}

// One message at p (LegacyRecord.ensureValid + field layout); advances p past it.
std::error_code read_legacy_message(const uint8_t*& p, const uint8_t* end, bool verify_crc, LegacyMessage& m) {
  if (static_cast<size_t>(end - p) < kLegacyLogOverhead) return record_errc::truncated;
  m.offset = static_cast<int64_t>(load_be(p, 8));
  const int32_t size = static_cast<int32_t>(load_be(p + 8, 4));
  if (size < kLegacyOverheadV0) return record_errc::malformed;
  if (static_cast<size_t>(end - p) - kLegacyLogOverhead < static_cast<size_t>(size)) return record_errc::truncated;
  const uint8_t* q = p + kLegacyLogOverhead;
  const uint8_t* const msg_end = q + size;
  const uint32_t stored_crc = static_cast<uint32_t>(load_be(q, 4));
  q += 4;
  m.magic = static_cast<int8_t>(*q);
  if (m.magic != 0 && m.magic != 1) return record_errc::unsupported_format;
  if (m.magic == 1 && size < kLegacyOverheadV1) return record_errc::malformed;
  if (verify_crc) {
    // CRC-32 (IEEE, java.util.zip.CRC32) over magic .. end of the message.
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), q, static_cast<uInt>(msg_end - q));
    if (static_cast<uint32_t>(crc) != stored_crc) return record_errc::crc_mismatch;
  }
  ++q;
  m.attributes = *q++;
  m.timestamp = -1;
  if (m.magic == 1) {
    m.timestamp = static_cast<int64_t>(load_be(q, 8));
    q += 8;
  }
  if (!read_legacy_bytes(q, msg_end, m.key) || !read_legacy_bytes(q, msg_end, m.value)) return record_errc::malformed;
  if (q != msg_end) return record_errc::malformed;  // bytes after the value
  p = msg_end;
  return {};
}

struct LegacyRecord {
  int64_t offset;
  int64_t timestamp;
  std::optional<ByteSpan> key, value;
};

// Messages of `set`, compressed wrappers expanded (AbstractLegacyRecordBatch.DeepRecordsIterator).
std::error_code read_legacy_set(ByteSpan set, const ParseOptions& opts, ParsedRecords& out,
                                std::vector<LegacyRecord>& records, bool& first) {
  const uint8_t* p = set.data();
  const uint8_t* const end = p + set.size();
  if (p == end) return record_errc::truncated;
  while (p != end) {
    LegacyMessage m;
    if (auto ec = read_legacy_message(p, end, opts.verify_crc, m)) return ec;
    if (first) {
      out.magic = m.magic;
      out.codec = m.codec();
      out.timestamp_type = m.log_append_time() ? TimestampType::log_append_time : TimestampType::create_time;
      first = false;
    }
    const uint8_t codec_bits = m.attributes & kLegacyCodecMask;
    if (codec_bits == 0) {
      records.push_back({m.offset, m.timestamp, m.key, m.value});
      continue;
    }
    // zstd (4) and 5-7 cannot be in a legacy message (zstd needs magic 2, KIP-110).
    if (codec_bits > static_cast<uint8_t>(Codec::lz4)) return record_errc::unknown_codec;
    if (!m.value) return record_errc::malformed;  // a compressed wrapper without a value
    const size_t used = out.decompressed_bytes;
    const size_t budget = opts.max_decompressed_bytes > used ? opts.max_decompressed_bytes - used : 0;
    DecompressOptions dopts;
    dopts.lz4_legacy_header_checksum = m.magic == 0;  // pre-KIP-57 framing
    auto inner = decompress(m.codec(), *m.value, budget, dopts);
    if (!inner) return inner.error();
    out.stored_bytes += m.value->size();
    out.decompressed_bytes += inner->size();
    SharedBuffer buf(std::move(inner).value());
    const ByteSpan inner_span = buf.span();
    out.storage.push_back(std::move(buf));

    // Inner messages: uncompressed, read with the wrapper's offset and timestamp rules.
    std::vector<LegacyMessage> inner_msgs;
    const uint8_t* ip = inner_span.data();
    const uint8_t* const iend = ip + inner_span.size();
    while (ip != iend) {
      LegacyMessage im;
      if (auto ec = read_legacy_message(ip, iend, opts.verify_crc, im)) return ec;
      if ((im.attributes & kLegacyCodecMask) != 0) return record_errc::unsupported_format;  // nested compression
      inner_msgs.push_back(im);
    }
    if (inner_msgs.empty()) return record_errc::malformed;  // "compressed record set with no inner records"
    int64_t absolute_base = 0;
    if (m.magic >= 1) {
      // KIP-31: inner offsets are relative, the wrapper holds the absolute offset of the last one.
      const int64_t last_inner = inner_msgs.back().offset;
      if (m.offset != 0) {
        if (m.offset < last_inner) return record_errc::malformed;
        absolute_base = m.offset - last_inner;
      }
    }
    for (const auto& im : inner_msgs) {
      LegacyRecord r;
      r.offset = m.magic >= 1 ? absolute_base + im.offset : im.offset;
      r.timestamp = im.magic >= 1 ? im.timestamp : -1;
      if (m.log_append_time()) r.timestamp = m.timestamp;  // the wrapper's append time wins
      r.key = im.key;
      r.value = im.value;
      records.push_back(r);
    }
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- v2

Result<std::vector<Record>> parse_v2_records(ByteSpan records, int32_t count) {
  if (count < 0) return record_errc::malformed;
  std::vector<Record> out;
  // Each record takes at least 7 bytes: never reserve for a count the bytes cannot hold.
  out.reserve(std::min<size_t>(static_cast<size_t>(count), records.size() / 7));
  const uint8_t* p = records.data();
  const uint8_t* const end = p + records.size();
  for (int32_t i = 0; i < count; ++i) {
    if (p == end) return record_errc::count_mismatch;  // fewer records than recordsCount
    int32_t len = 0;
    if (!read_varint(p, end, len)) return record_errc::truncated;
    if (len < 0) return record_errc::malformed;
    if (static_cast<size_t>(end - p) < static_cast<size_t>(len)) return record_errc::truncated;
    const uint8_t* const rec_end = p + len;
    Record r;
    if (p == rec_end) return record_errc::malformed;
    r.attributes = static_cast<int8_t>(*p++);
    if (!read_varlong(p, rec_end, r.timestamp_delta) || !read_varint(p, rec_end, r.offset_delta))
      return record_errc::malformed;
    if (!read_bytes_field(p, rec_end, true, r.key) || !read_bytes_field(p, rec_end, true, r.value))
      return record_errc::malformed;
    int32_t headers = 0;
    if (!read_varint(p, rec_end, headers) || headers < 0) return record_errc::malformed;
    // Each header takes at least 2 bytes.
    if (static_cast<size_t>(headers) > static_cast<size_t>(rec_end - p) / 2) return record_errc::malformed;
    r.headers.reserve(static_cast<size_t>(headers));
    for (int32_t h = 0; h < headers; ++h) {
      std::optional<ByteSpan> hk, hv;
      if (!read_bytes_field(p, rec_end, false, hk) || !read_bytes_field(p, rec_end, true, hv))
        return record_errc::malformed;  // header keys are never null (DefaultRecord.readHeaders)
      r.headers.emplace_back(std::string(hk->begin(), hk->end()), hv);
    }
    if (p != rec_end) return record_errc::malformed;  // the record's length says more bytes
    out.push_back(std::move(r));
  }
  if (p != end) return record_errc::count_mismatch;  // bytes after the last counted record
  return out;
}

Result<ParsedRecords> parse_legacy_message_set(const BufferSlice& bytes, const ParseOptions& opts) {
  ParsedRecords out;
  out.source = bytes;
  std::vector<LegacyRecord> recs;
  bool first = true;
  if (auto ec = read_legacy_set(bytes.span(), opts, out, recs, first)) return ec;
  if (out.codec == Codec::none) out.stored_bytes = out.decompressed_bytes = bytes.size();
  out.base_offset = recs.front().offset;
  out.base_timestamp = recs.front().timestamp;
  out.max_timestamp = recs.front().timestamp;
  out.records.reserve(recs.size());
  for (const auto& lr : recs) {
    const int64_t delta = lr.offset - out.base_offset;
    if (delta < std::numeric_limits<int32_t>::min() || delta > std::numeric_limits<int32_t>::max())
      return record_errc::malformed;
    Record r;
    r.offset_delta = static_cast<int32_t>(delta);
    r.timestamp_delta = wrap_sub(lr.timestamp, out.base_timestamp);
    r.key = lr.key;
    r.value = lr.value;
    out.max_timestamp = std::max(out.max_timestamp, lr.timestamp);
    out.records.push_back(std::move(r));
  }
  out.last_offset_delta = out.records.back().offset_delta;
  return out;
}

Result<ParsedRecords> parse_records(const RecordBatchView& batch, const ParseOptions& opts) {
  if (batch.available() < View::kLogOverhead || batch.available() < batch.size()) return record_errc::truncated;
  if (!batch.complete()) return record_errc::malformed;
  if (batch.is_legacy()) return parse_legacy_message_set(batch.bytes(), opts);
  if (batch.available() <= View::kMagic || batch.magic() != 2) return record_errc::unsupported_format;
  if (batch.batch_length() < View::kMinBatchLength) return record_errc::malformed;
  if (opts.verify_crc && !batch.crc_ok()) return record_errc::crc_mismatch;
  if (!batch.codec_known()) return record_errc::unknown_codec;
  const int32_t count = batch.records_count();
  if (count < 0) return record_errc::malformed;

  ParsedRecords out;
  out.magic = 2;
  out.codec = batch.codec();
  out.timestamp_type = batch.timestamp_type();
  out.base_offset = batch.base_offset();
  out.base_timestamp = batch.base_timestamp();
  out.max_timestamp = batch.max_timestamp();
  out.last_offset_delta = batch.last_offset_delta();
  out.source = batch.bytes();
  const BufferSlice payload = batch.records();
  out.stored_bytes = payload.size();
  ByteSpan records = payload.span();
  if (out.codec != Codec::none) {
    auto plain = decompress(out.codec, payload.span(), opts.max_decompressed_bytes);
    if (!plain) return plain.error();
    SharedBuffer buf(std::move(plain).value());
    records = buf.span();
    out.storage.push_back(std::move(buf));
  }
  out.decompressed_bytes = records.size();
  auto parsed = parse_v2_records(records, count);
  if (!parsed) return parsed.error();
  out.records = std::move(parsed).value();
  return out;
}

// ---------------------------------------------------------------- writer

size_t encoded_record_size(const Record& r, int64_t timestamp_delta, int32_t offset_delta) {
  const size_t body = record_body_size(r, timestamp_delta, offset_delta);
  return varlong_size(static_cast<int64_t>(body)) + body;
}

Result<Bytes> encode_records(std::span<const Record> records, int64_t source_base_timestamp,
                             const BatchEncodeOptions& opts) {
  if (records.empty()) return record_errc::empty_batch;
  if (records.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) return record_errc::malformed;
  if (static_cast<uint8_t>(opts.codec) > static_cast<uint8_t>(Codec::zstd)) return record_errc::unknown_codec;

  // MemoryRecordsBuilder: baseTimestamp is the first record's timestamp, maxTimestamp the largest.
  const int64_t base_ts = wrap_add(source_base_timestamp, records.front().timestamp_delta);
  int64_t max_ts = base_ts;
  size_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const int64_t ts = wrap_add(source_base_timestamp, records[i].timestamp_delta);
    max_ts = std::max(max_ts, ts);
    total += encoded_record_size(records[i], wrap_sub(ts, base_ts), static_cast<int32_t>(i));
  }
  Bytes plain;
  plain.reserve(total);
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const int64_t ts_delta = wrap_sub(wrap_add(source_base_timestamp, r.timestamp_delta), base_ts);
    const int32_t off_delta = static_cast<int32_t>(i);
    put_varlong(plain, static_cast<int64_t>(record_body_size(r, ts_delta, off_delta)));
    plain.push_back(static_cast<uint8_t>(r.attributes));
    put_varlong(plain, ts_delta);
    put_varlong(plain, off_delta);
    put_bytes_field(plain, r.key);
    put_bytes_field(plain, r.value);
    put_varlong(plain, static_cast<int64_t>(r.headers.size()));
    for (const auto& [k, v] : r.headers) {
      put_varlong(plain, static_cast<int64_t>(k.size()));
      plain.insert(plain.end(), k.begin(), k.end());
      put_bytes_field(plain, v);
    }
  }

  Bytes payload;
  if (opts.codec == Codec::none) {
    payload = std::move(plain);
  } else {
    auto c = compress(opts.codec, plain);
    if (!c) return c.error();
    payload = std::move(c).value();
  }
  const size_t batch_length = View::kHeaderSize - View::kLogOverhead + payload.size();
  if (batch_length > static_cast<size_t>(std::numeric_limits<int32_t>::max())) return record_errc::malformed;

  uint16_t attrs = static_cast<uint16_t>(opts.codec);
  int64_t max_timestamp = max_ts;
  if (opts.timestamp_type == TimestampType::log_append_time) {
    attrs |= View::kTimestampTypeBit;
    if (opts.log_append_time) max_timestamp = *opts.log_append_time;
  }
  Bytes out;
  out.reserve(View::kHeaderSize + payload.size());
  put_be(out, 0, 8);                                           // baseOffset (the broker assigns)
  put_be(out, batch_length, 4);                                // batchLength
  put_be(out, static_cast<uint32_t>(-1), 4);                   // partitionLeaderEpoch
  out.push_back(2);                                            // magic
  put_be(out, 0, 4);                                           // crc, below
  put_be(out, attrs, 2);                                       // attributes
  put_be(out, static_cast<uint32_t>(records.size() - 1), 4);   // lastOffsetDelta
  put_be(out, static_cast<uint64_t>(base_ts), 8);              // baseTimestamp
  put_be(out, static_cast<uint64_t>(max_timestamp), 8);        // maxTimestamp
  put_be(out, static_cast<uint64_t>(int64_t{-1}), 8);          // producerId
  put_be(out, static_cast<uint16_t>(-1), 2);                   // producerEpoch
  put_be(out, static_cast<uint32_t>(-1), 4);                   // baseSequence
  put_be(out, static_cast<uint32_t>(records.size()), 4);       // recordsCount
  out.insert(out.end(), payload.begin(), payload.end());
  store_be(out.data() + View::kCrc, protocol::crc32c(ByteSpan(out).subspan(View::kCrcCoverageStart)), 4);
  return out;
}

}  // namespace tiermirror::pipeline
