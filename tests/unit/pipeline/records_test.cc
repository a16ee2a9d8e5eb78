// Record parsing (v2 and legacy magic 0/1) and the v2 batch writer (pipeline/records.h).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "support/batch_builder.h"
#include "support/paths.h"
#include "tiermirror/pipeline/records.h"
#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;
using protocol::RecordBatchView;
using test::BatchBuilder;
using test::RecordSpec;
using test::to_bytes;

std::string str(const std::optional<ByteSpan>& b) { return b ? std::string(b->begin(), b->end()) : "<null>"; }

protocol::SplitResult load(const std::string& codec, const std::string& mode) {
  std::ifstream in(test::fixture_path("record_batches/" + codec + "-" + mode + ".bin"), std::ios::binary);
  Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(raw.empty());
  return protocol::split_record_set(BufferSlice(SharedBuffer(std::move(raw))), SourceOffset(0));
}

void put_be(Bytes& b, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}
void fix_crc(Bytes& b) {
  put_be(b, RecordBatchView::kCrc, protocol::crc32c(ByteSpan(b).subspan(RecordBatchView::kCrcCoverageStart)), 4);
}

TEST(Records, FixtureBatchesParseForEveryCodecAndProducerMode) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      SCOPED_TRACE(std::string(codec) + "-" + mode);
      auto split = load(codec, mode);
      ASSERT_EQ(split.batches.size(), 3u);
      int n = 0;
      for (const auto& b : split.batches) {
        auto parsed = parse_records(b);
        ASSERT_TRUE(parsed.ok()) << parsed.error().message();
        EXPECT_EQ(parsed->magic, 2);
        EXPECT_EQ(static_cast<int>(parsed->codec), static_cast<int>(b.codec()));
        EXPECT_EQ(parsed->base_offset, b.base_offset());
        EXPECT_EQ(parsed->last_offset_delta, 19);
        ASSERT_EQ(parsed->records.size(), 20u);
        for (size_t i = 0; i < parsed->records.size(); ++i, ++n) {
          const Record& r = parsed->records[i];
          EXPECT_EQ(r.offset_delta, static_cast<int32_t>(i));
          EXPECT_EQ(parsed->offset_of(r), n);
          EXPECT_EQ(str(r.key), "user-" + std::to_string(n % 7));
          EXPECT_EQ(str(r.value).rfind("{\"n\":" + std::to_string(n) + ",", 0), 0u) << str(r.value);
          EXPECT_NE(str(r.value).find(std::string("\"codec\":\"") + codec + "\""), std::string::npos);
          ASSERT_EQ(r.headers.size(), 1u);
          EXPECT_EQ(r.headers[0].first, "origin");
          EXPECT_EQ(str(r.headers[0].second), "fixture");
          const int64_t ts = parsed->timestamp_of(r);
          EXPECT_GE(ts, b.base_timestamp());
          EXPECT_LE(ts, b.max_timestamp());
        }
      }
      EXPECT_EQ(n, 60);
    }
  }
}

TEST(Records, BuilderBatchesParseWithNullsHeadersAndTimestamps) {
  auto bytes = BatchBuilder()
                   .base_offset(500)
                   .base_timestamp(1000)
                   .add(RecordSpec::kv("a", "1").with_timestamp_delta(5).with_header("h1", "x").with_header("h2", std::nullopt))
                   .add(RecordSpec::kv(std::nullopt, "2").with_timestamp_delta(-3))
                   .add(RecordSpec::kv("c", std::nullopt))
                   .add(RecordSpec::kv("", ""))
                   .build();
  auto parsed = parse_records(RecordBatchView::unowned(bytes));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->records.size(), 4u);
  const auto& r = parsed->records;
  EXPECT_EQ(str(r[0].key), "a");
  EXPECT_EQ(str(r[0].value), "1");
  EXPECT_EQ(parsed->create_timestamp_of(r[0]), 1005);
  ASSERT_EQ(r[0].headers.size(), 2u);
  EXPECT_EQ(r[0].headers[1].first, "h2");
  EXPECT_FALSE(r[0].headers[1].second.has_value());
  EXPECT_FALSE(r[1].key.has_value());
  EXPECT_EQ(parsed->timestamp_of(r[1]), 997);
  EXPECT_FALSE(r[2].value.has_value());
  ASSERT_TRUE(r[3].key.has_value());
  EXPECT_TRUE(r[3].key->empty());
  EXPECT_EQ(parsed->offset_of(r[3]), 503);
}

TEST(Records, TruncationAtEveryByteIsAnError) {
  const Bytes full = BatchBuilder()
                         .add(RecordSpec::kv("key-0", "value-0").with_header("h", "v"))
                         .add(RecordSpec::kv("key-1", std::nullopt).with_timestamp_delta(300))
                         .add(RecordSpec::kv(std::nullopt, "value-2").with_header("x", std::nullopt))
                         .build();
  ASSERT_TRUE(parse_records(RecordBatchView::unowned(full)).ok());
  for (size_t cut = 0; cut < full.size(); ++cut) {
    // As fetched: the view is short of its declared length.
    Bytes prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_FALSE(parse_records(RecordBatchView::unowned(prefix)).ok()) << "cut " << cut;
    // Consistent framing and CRC, only the records are short: the record parser must notice.
    if (cut >= RecordBatchView::kHeaderSize) {
      put_be(prefix, RecordBatchView::kBatchLength, cut - RecordBatchView::kLogOverhead, 4);
      fix_crc(prefix);
      auto r = parse_records(RecordBatchView::unowned(prefix));
      EXPECT_FALSE(r.ok()) << "records cut at " << cut;
      // And directly on the records section.
      EXPECT_FALSE(parse_v2_records(ByteSpan(full).subspan(RecordBatchView::kHeaderSize,
                                                           cut - RecordBatchView::kHeaderSize),
                                    3)
                       .ok());
    }
  }
}

TEST(Records, CountMustMatchAndNothingMayTrail) {
  const Bytes b = BatchBuilder().add_n(3).build();
  const ByteSpan recs = ByteSpan(b).subspan(RecordBatchView::kHeaderSize);
  EXPECT_TRUE(parse_v2_records(recs, 3).ok());
  auto more = parse_v2_records(recs, 4);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error(), record_errc::count_mismatch);
  auto fewer = parse_v2_records(recs, 2);
  ASSERT_FALSE(fewer.ok());
  EXPECT_EQ(fewer.error(), record_errc::count_mismatch);
  EXPECT_FALSE(parse_v2_records(recs, -1).ok());
  // Header recordsCount wrong (CRC fixed): the batch does not parse.
  auto wrong = BatchBuilder().add_n(3).records_count(5).build();
  auto r = parse_records(RecordBatchView::unowned(wrong));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), record_errc::count_mismatch);
  // A huge count on few bytes is refused without allocating for it.
  EXPECT_FALSE(parse_v2_records(recs, std::numeric_limits<int32_t>::max()).ok());
}

TEST(Records, MalformedRecordFieldsAreErrors) {
  // Record: length 7, attributes, ts 0, offset 0, key len, value len, headers count.
  const Bytes good{0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00};  // null key, null value, 0 headers
  EXPECT_TRUE(parse_v2_records(good, 1).ok());
  Bytes key_past_record = good;
  key_past_record[4] = 0x10;  // key length 8 inside a 6-byte body
  EXPECT_EQ(parse_v2_records(key_past_record, 1).error(), record_errc::malformed);
  Bytes bad_null = good;
  bad_null[4] = 0x03;  // key length -2
  EXPECT_EQ(parse_v2_records(bad_null, 1).error(), record_errc::malformed);
  Bytes neg_headers = good;
  neg_headers[6] = 0x01;  // -1 headers
  EXPECT_EQ(parse_v2_records(neg_headers, 1).error(), record_errc::malformed);
  Bytes longer = good;
  longer[0] = 0x0e;  // length 7, body has 6 bytes + 1 extra
  longer.push_back(0x00);
  EXPECT_EQ(parse_v2_records(longer, 1).error(), record_errc::malformed);
  const Bytes null_header_key{0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01};  // header key null
  EXPECT_EQ(parse_v2_records(null_header_key, 1).error(), record_errc::malformed);
  const Bytes overlong_varint{0x0c, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_FALSE(parse_v2_records(overlong_varint, 1).ok());
}

TEST(Records, CrcAndFormatChecks) {
  auto bad = BatchBuilder().add_n(2).corrupt_crc().build();
  auto r = parse_records(RecordBatchView::unowned(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), record_errc::crc_mismatch);
  ParseOptions lax;
  lax.verify_crc = false;
  EXPECT_TRUE(parse_records(RecordBatchView::unowned(bad), lax).ok());
  auto magic3 = BatchBuilder().add_n(1).magic(3).build();
  EXPECT_EQ(parse_records(RecordBatchView::unowned(magic3)).error(), record_errc::unsupported_format);
  auto codec6 = BatchBuilder().add_n(1).raw_attributes(6).build();
  EXPECT_EQ(parse_records(RecordBatchView::unowned(codec6)).error(), record_errc::unknown_codec);
  // Codec bits set on an uncompressed payload: the decompressor rejects it.
  auto fake_gzip = BatchBuilder().add_n(2).codec(Codec::gzip).build();
  EXPECT_FALSE(parse_records(RecordBatchView::unowned(fake_gzip)).ok());
}

TEST(Records, DecompressedSizeIsBounded) {
  RecordSpec big = RecordSpec::kv("k", std::string(100000, 'z'));
  auto plain = BatchBuilder().add(big).build();
  auto parsed = parse_records(RecordBatchView::unowned(plain));
  ASSERT_TRUE(parsed.ok());
  BatchEncodeOptions o;
  o.codec = Codec::zstd;
  auto z = encode_records(parsed->records, parsed->base_timestamp, o);
  ASSERT_TRUE(z.ok());
  ParseOptions small;
  small.max_decompressed_bytes = 50000;
  auto r = parse_records(RecordBatchView::unowned(*z), small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), record_errc::output_limit);
}

TEST(Records, MutatedBatchesAreErrorsOrRecordsNeverCrashes) {
  // Random byte changes in every fixture batch, CRC recomputed so the record parser (and the
  // decompressors) see them: any outcome but a crash or an out-of-bounds read (ASan) is fine.
  std::mt19937 rng(12345);
  size_t errors = 0, total = 0;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    auto split = load(codec, "plain");
    for (const auto& b : split.batches) {
      const ByteSpan orig = b.span();
      for (int round = 0; round < 150; ++round) {
        Bytes m(orig.begin(), orig.end());
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int f = 0; f < flips; ++f) {
          const size_t at = RecordBatchView::kRecordsStart + rng() % (m.size() - RecordBatchView::kRecordsStart);
          m[at] = static_cast<uint8_t>(rng());
        }
        fix_crc(m);
        ParseOptions o;
        o.max_decompressed_bytes = 1 << 16;
        auto r = parse_records(RecordBatchView::unowned(m), o);
        ++total;
        if (!r.ok()) {
          ++errors;
        } else {
          for (const auto& rec : r->records) {
            if (rec.value) {
              volatile uint8_t sink = 0;
              for (uint8_t c : *rec.value) sink = sink ^ c;  // every view must be readable
            }
          }
        }
      }
    }
  }
  EXPECT_GT(errors, total / 4);
}

// ---------------------------------------------------------------- legacy

TEST(Records, LegacyMagic1MessageParses) {
  const Bytes msg = test::legacy_message_set_v1(4242, to_bytes("key"), to_bytes("value"), 1700000000123);
  const RecordBatchView view = RecordBatchView::unowned(msg);
  ASSERT_TRUE(view.is_legacy());
  auto parsed = parse_records(view);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->magic, 1);
  EXPECT_EQ(static_cast<int>(parsed->codec), 0);
  ASSERT_EQ(parsed->records.size(), 1u);
  const Record& r = parsed->records[0];
  EXPECT_EQ(parsed->offset_of(r), 4242);
  EXPECT_EQ(parsed->timestamp_of(r), 1700000000123);
  EXPECT_EQ(str(r.key), "key");
  EXPECT_EQ(str(r.value), "value");
  EXPECT_TRUE(r.headers.empty());
}

TEST(Records, LegacyMagic0HasNoTimestampAndSetsConcatenate) {
  const Bytes set = test::concat({test::legacy_message_set_v1(10, std::nullopt, to_bytes("a"), 0, 0),
                                  test::legacy_message_set_v1(11, to_bytes("k"), std::nullopt, 0, 0)});
  auto parsed = parse_legacy_message_set(test::to_slice(set));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->records.size(), 2u);
  EXPECT_EQ(parsed->magic, 0);
  for (const auto& r : parsed->records) EXPECT_EQ(parsed->timestamp_of(r), -1);
  EXPECT_EQ(parsed->offset_of(parsed->records[1]), 11);
  EXPECT_FALSE(parsed->records[0].key.has_value());
  EXPECT_FALSE(parsed->records[1].value.has_value());
}

TEST(Records, LegacyCrcAndFramingAreChecked) {
  Bytes msg = test::legacy_message_set_v1(1, to_bytes("k"), to_bytes("v"));
  Bytes bad = msg;
  bad.back() ^= 1;
  EXPECT_EQ(parse_legacy_message_set(test::to_slice(bad)).error(), record_errc::crc_mismatch);
  for (size_t cut = 0; cut < msg.size(); ++cut)
    EXPECT_FALSE(parse_legacy_message_set(test::to_slice(Bytes(msg.begin(), msg.begin() + static_cast<ptrdiff_t>(cut)))).ok())
        << cut;
  // Key length past the message (CRC recomputed so only the framing is wrong).
  Bytes lying = msg;
  lying[12 + 4 + 2 + 8 + 3] = 50;  // key length low byte
  const uint32_t crc = test::crc32_ieee(ByteSpan(lying).subspan(16));
  put_be(lying, 12, crc, 4);
  EXPECT_EQ(parse_legacy_message_set(test::to_slice(lying)).error(), record_errc::malformed);
}

// A compressed legacy wrapper: value = compressed inner message set.
Bytes wrapper(int64_t offset, const Bytes& inner, Codec codec, int8_t magic, int64_t ts = 1700000009999,
              bool log_append_time = false) {
  auto z = compress(codec, inner);
  EXPECT_TRUE(z.ok());
  const int8_t attrs = static_cast<int8_t>(static_cast<int>(codec) | (log_append_time ? 0x08 : 0));
  return test::legacy_message_set_v1(offset, std::nullopt, *z, ts, magic, attrs);
}

TEST(Records, CompressedLegacyMagic1ResolvesRelativeOffsets) {
  const Bytes inner = test::concat({test::legacy_message_set_v1(0, to_bytes("k0"), to_bytes("v0"), 1000),
                                    test::legacy_message_set_v1(1, to_bytes("k1"), to_bytes("v1"), 1001),
                                    test::legacy_message_set_v1(2, to_bytes("k2"), to_bytes("v2"), 1002)});
  for (Codec c : {Codec::gzip, Codec::snappy, Codec::lz4}) {
    const Bytes msg = wrapper(1002, inner, c, 1);  // wrapper offset = absolute offset of the last inner
    auto parsed = parse_records(RecordBatchView::unowned(msg));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(static_cast<int>(parsed->codec), static_cast<int>(c));
    ASSERT_EQ(parsed->records.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      const Record& r = parsed->records[static_cast<size_t>(i)];
      EXPECT_EQ(parsed->offset_of(r), 1000 + i);
      EXPECT_EQ(parsed->timestamp_of(r), 1000 + i);  // CreateTime: the inner messages' own
      EXPECT_EQ(str(r.key), "k" + std::to_string(i));
      EXPECT_EQ(str(r.value), "v" + std::to_string(i));
    }
    EXPECT_EQ(parsed->last_offset_delta, 2);
  }
  // LogAppendTime wrapper: every inner message takes the wrapper's timestamp.
  auto lat = parse_records(RecordBatchView::unowned(wrapper(1002, inner, Codec::gzip, 1, 5555, true)));
  ASSERT_TRUE(lat.ok());
  EXPECT_EQ(lat->timestamp_type, protocol::TimestampType::log_append_time);
  for (const auto& r : lat->records) EXPECT_EQ(lat->timestamp_of(r), 5555);
}

TEST(Records, CompressedLegacyMagic0KeepsAbsoluteOffsets) {
  const Bytes inner = test::concat({test::legacy_message_set_v1(700, to_bytes("a"), to_bytes("1"), 0, 0),
                                    test::legacy_message_set_v1(701, to_bytes("b"), to_bytes("2"), 0, 0)});
  auto parsed = parse_records(RecordBatchView::unowned(wrapper(701, inner, Codec::gzip, 0)));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->records.size(), 2u);
  EXPECT_EQ(parsed->offset_of(parsed->records[0]), 700);
  EXPECT_EQ(parsed->offset_of(parsed->records[1]), 701);
  EXPECT_EQ(parsed->timestamp_of(parsed->records[0]), -1);
  // Magic-0 LZ4 from Kafka 0.8/0.9 carries the pre-KIP-57 header checksum.
  Bytes frame = *compress(Codec::lz4, inner);
  frame[6] = static_cast<uint8_t>(detail::xxh32(ByteSpan(frame).first(6)) >> 8);
  const Bytes old = test::legacy_message_set_v1(701, std::nullopt, frame, 0, 0, static_cast<int8_t>(Codec::lz4));
  auto lz = parse_records(RecordBatchView::unowned(old));
  ASSERT_TRUE(lz.ok()) << lz.error().message();
  EXPECT_EQ(lz->records.size(), 2u);
}

TEST(Records, CompressedLegacyRejectsNestingAndEmptyWrappers) {
  const Bytes inner = test::legacy_message_set_v1(0, to_bytes("k"), to_bytes("v"), 1000);
  const Bytes nested = wrapper(0, wrapper(0, inner, Codec::gzip, 1), Codec::gzip, 1);
  EXPECT_EQ(parse_records(RecordBatchView::unowned(nested)).error(), record_errc::unsupported_format);
  const Bytes null_value = test::legacy_message_set_v1(0, std::nullopt, std::nullopt, 0, 1, 1);
  EXPECT_FALSE(parse_records(RecordBatchView::unowned(null_value)).ok());
  const Bytes empty_inner = wrapper(0, Bytes{}, Codec::gzip, 1);
  EXPECT_FALSE(parse_records(RecordBatchView::unowned(empty_inner)).ok());
  const Bytes zstd_legacy = test::legacy_message_set_v1(0, std::nullopt, *compress(Codec::zstd, inner), 0, 1, 4);
  EXPECT_EQ(parse_records(RecordBatchView::unowned(zstd_legacy)).error(), record_errc::unknown_codec);
}

// ---------------------------------------------------------------- writer

TEST(Records, EncodeWritesAValidBatchAndRoundTrips) {
  auto src = BatchBuilder()
                 .base_offset(77)
                 .base_timestamp(5000)
                 .producer(9, 2, 40)
                 .transactional()
                 .add(RecordSpec::kv("a", "1").with_timestamp_delta(10).with_header("h", "x"))
                 .add(RecordSpec::kv("b", std::nullopt).with_timestamp_delta(-20).with_offset_delta(3))
                 .add(RecordSpec::kv(std::nullopt, "3").with_timestamp_delta(40).with_offset_delta(9))
                 .build();
  auto parsed = parse_records(RecordBatchView::unowned(src));
  ASSERT_TRUE(parsed.ok());
  for (Codec c : {Codec::none, Codec::gzip, Codec::snappy, Codec::lz4, Codec::zstd}) {
    BatchEncodeOptions o;
    o.codec = c;
    auto out = encode_records(parsed->records, parsed->base_timestamp, o);
    ASSERT_TRUE(out.ok()) << out.error().message();
    const RecordBatchView v = RecordBatchView::unowned(*out);
    EXPECT_EQ(v.verdict(), protocol::BatchVerdict::ok);
    EXPECT_EQ(static_cast<int>(v.codec()), static_cast<int>(c));
    EXPECT_EQ(v.base_offset(), 0);
    EXPECT_EQ(v.partition_leader_epoch(), -1);
    EXPECT_EQ(v.producer_id().value(), -1);
    EXPECT_EQ(v.producer_epoch().value(), -1);
    EXPECT_EQ(v.base_sequence(), -1);
    EXPECT_FALSE(v.is_transactional());
    EXPECT_EQ(v.records_count(), 3);
    EXPECT_EQ(v.last_offset_delta(), 2);
    EXPECT_EQ(v.base_timestamp(), 5010);  // the first record's timestamp
    EXPECT_EQ(v.max_timestamp(), 5040);
    auto again = parse_records(v);
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->records.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      const Record& a = parsed->records[i];
      const Record& b = again->records[i];
      EXPECT_EQ(b.offset_delta, static_cast<int32_t>(i));
      EXPECT_EQ(again->timestamp_of(b), parsed->timestamp_of(a));
      EXPECT_EQ(str(b.key), str(a.key));
      EXPECT_EQ(str(b.value), str(a.value));
      EXPECT_EQ(b.headers.size(), a.headers.size());
    }
  }
  // The uncompressed encoding is byte-for-byte what the builder (DefaultRecord layout) writes.
  auto same = BatchBuilder()
                  .base_offset(0)
                  .base_timestamp(5010)
                  .add(RecordSpec::kv("a", "1").with_timestamp_delta(0).with_header("h", "x"))
                  .add(RecordSpec::kv("b", std::nullopt).with_timestamp_delta(-30))
                  .add(RecordSpec::kv(std::nullopt, "3").with_timestamp_delta(30))
                  .build();
  EXPECT_EQ(*encode_records(parsed->records, parsed->base_timestamp), same);
  EXPECT_EQ(encode_records({}, 0).error(), record_errc::empty_batch);
}

TEST(Records, EncodeKeepsLogAppendTime) {
  const Bytes src = BatchBuilder().add_n(2).build();
  auto parsed = parse_records(RecordBatchView::unowned(src));
  ASSERT_TRUE(parsed.ok());
  BatchEncodeOptions o;
  o.timestamp_type = protocol::TimestampType::log_append_time;
  o.log_append_time = 1800000000000;
  auto out = encode_records(parsed->records, parsed->base_timestamp, o);
  ASSERT_TRUE(out.ok());
  const RecordBatchView v = RecordBatchView::unowned(*out);
  EXPECT_EQ(v.timestamp_type(), protocol::TimestampType::log_append_time);
  EXPECT_EQ(v.max_timestamp(), 1800000000000);
  EXPECT_TRUE(v.crc_ok());
}

TEST(Records, EncodedRecordSizeMatchesTheWriter) {
  const Bytes src = BatchBuilder().add(RecordSpec::kv("key", std::string(300, 'v')).with_header("a", "b")).build();
  auto parsed = parse_records(RecordBatchView::unowned(src));
  ASSERT_TRUE(parsed.ok());
  auto out = encode_records(parsed->records, parsed->base_timestamp);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), RecordBatchView::kHeaderSize + encoded_record_size(parsed->records[0], 0, 0));
}

}  // namespace
}  // namespace tiermirror::pipeline
