// The repack path (pipeline/repack.h): compaction gaps, empty batches, legacy messages and
// oversized batches become v2 batches a broker keeps as they are; fixture batches never need it.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <string>

#include "support/batch_builder.h"
#include "support/paths.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/protocol/produce_rules.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;
using protocol::RecordBatchView;
using test::BatchBuilder;
using test::RecordSpec;
using test::to_bytes;

constexpr size_t kDefaultMaxMessageBytes = 1048588;

std::string str(const std::optional<ByteSpan>& b) { return b ? std::string(b->begin(), b->end()) : "<null>"; }

protocol::SplitResult load(const std::string& codec, const std::string& mode) {
  std::ifstream in(test::fixture_path("record_batches/" + codec + "-" + mode + ".bin"), std::ios::binary);
  Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(raw.empty());
  return protocol::split_record_set(BufferSlice(SharedBuffer(std::move(raw))), SourceOffset(0));
}

// What a consumer sees of a record, for comparisons across encodings.
struct Seen {
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp;
  bool operator==(const Seen&) const = default;
};
std::optional<std::string> opt(const std::optional<ByteSpan>& b) {
  return b ? std::optional<std::string>(std::string(b->begin(), b->end())) : std::nullopt;
}
std::vector<Seen> seen(const ParsedRecords& p) {
  std::vector<Seen> out;
  for (const auto& r : p.records) {
    Seen s{opt(r.key), opt(r.value), {}, p.timestamp_of(r)};
    for (const auto& [k, v] : r.headers) s.headers.emplace_back(k, opt(v));
    out.push_back(std::move(s));
  }
  return out;
}
std::vector<Seen> seen(const std::vector<SharedBuffer>& batches) {
  std::vector<Seen> out;
  for (const auto& b : batches) {
    auto p = parse_records(RecordBatchView(BufferSlice(b)));
    EXPECT_TRUE(p.ok());
    if (!p.ok()) continue;
    auto s = seen(*p);
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

// The output as the sink sends it: producer fields rewritten, then through the broker rules.
void expect_broker_accepts(const SharedBuffer& batch, size_t max_bytes = kDefaultMaxMessageBytes) {
  const RecordBatchView v{BufferSlice(batch)};
  EXPECT_EQ(v.verdict(max_bytes), protocol::BatchVerdict::ok);
  EXPECT_FALSE(needs_repack(v, max_bytes).has_value());
  auto header = protocol::rewrite_header(v, {ProducerId(1234), ProducerEpoch(0), 0});
  Bytes out(header.begin(), header.end());
  out.insert(out.end(), v.records().span().begin(), v.records().span().end());
  std::vector<protocol::ProducePartitionInput> in{{"t", 0, ByteSpan(out)}};
  auto violations = protocol::validate_produce(
      7, std::nullopt, -1, in, [&](std::string_view) { return protocol::TopicLimits{static_cast<int32_t>(max_bytes)}; });
  for (const auto& viol : violations) ADD_FAILURE() << protocol::to_string(viol);
}

TEST(Repack, CompactionGapsBecomeOneContiguousBatch) {
  const Bytes src = BatchBuilder()
                        .base_offset(1000)
                        .base_timestamp(1700000000000)
                        .producer(55, 3, 100)
                        .transactional()
                        .add(RecordSpec::kv("k0", "v0").with_offset_delta(0).with_header("h", "0"))
                        .add(RecordSpec::kv("k2", "v2").with_offset_delta(2).with_timestamp_delta(20))
                        .add(RecordSpec::kv("k5", std::nullopt).with_offset_delta(5).with_timestamp_delta(50))
                        .build();
  const RecordBatchView in = RecordBatchView::unowned(src);
  ASSERT_EQ(in.last_offset_delta(), 5);
  ASSERT_EQ(in.records_count(), 3);
  EXPECT_EQ(in.verdict(), protocol::BatchVerdict::offset_gaps);
  EXPECT_EQ(needs_repack(in, kDefaultMaxMessageBytes), RepackReason::offset_gaps);

  auto r = repack(in, kDefaultMaxMessageBytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->records, 3);
  ASSERT_EQ(r->source_ranges.size(), 1u);
  EXPECT_EQ(r->source_ranges[0], (std::pair<int64_t, int64_t>{1000, 1005}));
  EXPECT_EQ(r->next_source_offset, 1006);

  const RecordBatchView out{BufferSlice(r->batches[0])};
  EXPECT_EQ(out.base_offset(), 0);
  EXPECT_EQ(out.last_offset_delta(), 2);
  EXPECT_EQ(out.producer_id().value(), -1);
  EXPECT_EQ(out.base_sequence(), -1);
  EXPECT_FALSE(out.is_transactional());
  EXPECT_EQ(out.check_inner_offsets(), protocol::InnerOffsets::ok);
  auto parsed = parse_records(out);
  ASSERT_TRUE(parsed.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parsed->records[static_cast<size_t>(i)].offset_delta, i);
  EXPECT_EQ(seen(*parsed), seen(*parse_records(in)));
  EXPECT_EQ(parsed->timestamp_of(parsed->records[2]), 1700000000050);
  expect_broker_accepts(r->batches[0]);
}

TEST(Repack, CompressedBatchWithGapsKeepsItsCodec) {
  // Compressed cleaner output: count 2, lastOffsetDelta 4. Built by re-encoding with gzip and
  // patching the header the way the cleaner leaves it.
  const Bytes src = BatchBuilder().add_n(2).build();
  auto plain = parse_records(RecordBatchView::unowned(src));
  ASSERT_TRUE(plain.ok());
  BatchEncodeOptions o;
  o.codec = Codec::gzip;
  Bytes gz = *encode_records(plain->records, plain->base_timestamp, o);
  gz[RecordBatchView::kLastOffsetDelta + 3] = 4;
  ASSERT_TRUE(protocol::rewrite_in_place(gz, {ProducerId(-1), ProducerEpoch(-1), -1}));
  const RecordBatchView in = RecordBatchView::unowned(gz);
  EXPECT_EQ(needs_repack(in, kDefaultMaxMessageBytes), RepackReason::offset_gaps);
  auto r = repack(in, kDefaultMaxMessageBytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->batches.size(), 1u);
  const RecordBatchView out{BufferSlice(r->batches[0])};
  EXPECT_EQ(out.codec(), Codec::gzip);
  EXPECT_EQ(out.last_offset_delta(), 1);
  EXPECT_EQ(r->source_ranges[0], (std::pair<int64_t, int64_t>{0, 4}));
  expect_broker_accepts(r->batches[0]);
}

TEST(Repack, EmptyBatchIsDropped) {
  const Bytes src = BatchBuilder().base_offset(300).last_offset_delta(7).build();
  const RecordBatchView in = RecordBatchView::unowned(src);
  ASSERT_EQ(in.records_count(), 0);
  EXPECT_EQ(needs_repack(in, kDefaultMaxMessageBytes), RepackReason::empty);
  auto r = repack(in, kDefaultMaxMessageBytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->batches.empty());
  EXPECT_TRUE(r->source_ranges.empty());
  EXPECT_EQ(r->records, 0);
  EXPECT_EQ(r->next_source_offset, 308);  // the pipeline moves past it
}

TEST(Repack, LegacyV1MessageBecomesAV2Batch) {
  const Bytes msg = test::legacy_message_set_v1(9000, to_bytes("legacy-key"), to_bytes("legacy-value"), 1600000000000);
  const RecordBatchView in = RecordBatchView::unowned(msg);
  EXPECT_EQ(needs_repack(in, kDefaultMaxMessageBytes), RepackReason::legacy_format);
  auto r = repack(in, kDefaultMaxMessageBytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->source_ranges[0], (std::pair<int64_t, int64_t>{9000, 9000}));
  EXPECT_EQ(r->next_source_offset, 9001);
  const RecordBatchView out{BufferSlice(r->batches[0])};
  EXPECT_EQ(out.magic(), 2);
  EXPECT_EQ(out.codec(), Codec::none);
  EXPECT_EQ(out.records_count(), 1);
  EXPECT_EQ(out.base_timestamp(), 1600000000000);
  auto parsed = parse_records(out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(str(parsed->records[0].key), "legacy-key");
  EXPECT_EQ(str(parsed->records[0].value), "legacy-value");
  expect_broker_accepts(r->batches[0]);
}

TEST(Repack, CompressedLegacyWrapperKeepsItsCodecAndOffsets) {
  const Bytes inner = test::concat({test::legacy_message_set_v1(0, to_bytes("a"), to_bytes("1"), 100),
                                    test::legacy_message_set_v1(1, to_bytes("b"), to_bytes("2"), 200),
                                    test::legacy_message_set_v1(2, to_bytes("c"), to_bytes("3"), 150)});
  const Bytes msg = test::legacy_message_set_v1(52, std::nullopt, *compress(Codec::snappy, inner), 300, 1,
                                                static_cast<int8_t>(Codec::snappy));
  const RecordBatchView in = RecordBatchView::unowned(msg);
  auto r = repack(in, kDefaultMaxMessageBytes);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->source_ranges[0], (std::pair<int64_t, int64_t>{50, 52}));
  const RecordBatchView out{BufferSlice(r->batches[0])};
  EXPECT_EQ(out.codec(), Codec::snappy);
  EXPECT_EQ(out.base_timestamp(), 100);
  EXPECT_EQ(out.max_timestamp(), 200);
  EXPECT_EQ(seen(r->batches), seen(*parse_records(in)));
  expect_broker_accepts(r->batches[0]);
}

TEST(Repack, FixtureBatchesNeverNeedRepack) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"})
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      auto split = load(codec, mode);
      for (const auto& b : split.batches)
        EXPECT_FALSE(needs_repack(b, kDefaultMaxMessageBytes).has_value()) << codec << "-" << mode;
    }
}

TEST(Repack, EveryFixtureCodecForcedThroughRepackKeepsRecordsAndCodec) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"})
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      SCOPED_TRACE(std::string(codec) + "-" + mode);
      auto split = load(codec, mode);
      for (const auto& b : split.batches) {
        auto r = repack(b, kDefaultMaxMessageBytes);
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_EQ(r->batches.size(), 1u);
        EXPECT_EQ(r->records, 20);
        EXPECT_EQ(r->source_ranges[0], (std::pair<int64_t, int64_t>{b.base_offset(), b.last_offset().value()}));
        const RecordBatchView out{BufferSlice(r->batches[0])};
        EXPECT_EQ(out.codec(), b.codec());
        EXPECT_EQ(out.timestamp_type(), b.timestamp_type());
        EXPECT_EQ(out.base_timestamp(), b.base_timestamp());
        EXPECT_EQ(out.max_timestamp(), b.max_timestamp());
        EXPECT_EQ(seen(r->batches), seen(*parse_records(b)));
        expect_broker_accepts(r->batches[0]);
      }
    }
}

TEST(Repack, OversizedBatchIsSplitWithinTheLimit) {
  BatchBuilder builder;
  builder.base_offset(10000);
  for (int i = 0; i < 100; ++i)
    builder.add(RecordSpec::kv("key-" + std::to_string(i), std::string(80, static_cast<char>('a' + i % 26)))
                    .with_timestamp_delta(i * 7)
                    .with_header("i", std::to_string(i)));
  const Bytes src = builder.build();
  const RecordBatchView in = RecordBatchView::unowned(src);
  constexpr size_t kLimit = 1000;
  ASSERT_GT(in.size(), kLimit);
  EXPECT_EQ(needs_repack(in, kLimit), RepackReason::too_large);
  auto r = repack(in, kLimit);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_GT(r->batches.size(), 8u);
  EXPECT_EQ(r->records, 100);
  ASSERT_EQ(r->source_ranges.size(), r->batches.size());
  int64_t next = 10000;
  for (size_t i = 0; i < r->batches.size(); ++i) {
    EXPECT_LE(r->batches[i].size(), kLimit);
    EXPECT_EQ(r->source_ranges[i].first, next);  // ranges tile the source offsets
    next = r->source_ranges[i].second + 1;
    expect_broker_accepts(r->batches[i], kLimit);
  }
  EXPECT_EQ(next, 10100);
  EXPECT_EQ(seen(r->batches), seen(*parse_records(in)));
  // Batches are filled: no more than one more batch than the bytes need.
  EXPECT_LE(r->batches.size(), in.size() / (kLimit - RecordBatchView::kHeaderSize) + 2);
}

TEST(Repack, OversizedCompressedFixtureBatchIsSplitPerCodec) {
  for (const char* codec : {"gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    auto split = load(codec, "plain");
    const auto& b = split.batches[1];
    const size_t limit = 200;  // a few records per batch
    ASSERT_GT(b.size(), limit);
    EXPECT_EQ(needs_repack(b, limit), RepackReason::too_large);
    auto r = repack(b, limit);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_GT(r->batches.size(), 1u);
    for (const auto& out : r->batches) {
      EXPECT_LE(out.size(), limit);
      EXPECT_EQ(RecordBatchView(BufferSlice(out)).codec(), b.codec());
    }
    EXPECT_EQ(r->records, 20);
    EXPECT_EQ(seen(r->batches), seen(*parse_records(b)));
    EXPECT_EQ(r->source_ranges.front().first, b.base_offset());
    EXPECT_EQ(r->source_ranges.back().second, b.last_offset().value());
  }
}

TEST(Repack, RecordLargerThanTheLimitIsAnError) {
  const Bytes src = BatchBuilder().add("small", "x").add(RecordSpec::kv("big", std::string(5000, 'q'))).build();
  auto r = repack(RecordBatchView::unowned(src), 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), record_errc::record_too_large);
  EXPECT_NE(r.error().message().find("record too large"), std::string::npos);
  // The same record compressed well fits: the limit applies to the encoded batch.
  auto parsed = parse_records(RecordBatchView::unowned(src));
  BatchEncodeOptions o;
  o.codec = Codec::zstd;
  const Bytes z = *encode_records(parsed->records, parsed->base_timestamp, o);
  auto rz = repack(RecordBatchView::unowned(z), 2000);
  ASSERT_TRUE(rz.ok()) << rz.error().message();
  EXPECT_EQ(rz->records, 2);
}

TEST(Repack, RefusesWhatItMustNotRewrite) {
  const Bytes control = BatchBuilder().producer(7, 0, -1).transactional().control(test::ControlType::commit).build();
  EXPECT_EQ(repack(RecordBatchView::unowned(control), kDefaultMaxMessageBytes).error(),
            record_errc::unsupported_format);
  const Bytes bad_crc = BatchBuilder().add_n(3).records_count(3).last_offset_delta(5).corrupt_crc().build();
  EXPECT_EQ(repack(RecordBatchView::unowned(bad_crc), kDefaultMaxMessageBytes).error(), record_errc::crc_mismatch);
  const Bytes full = BatchBuilder().add_n(3).build();
  const Bytes cut(full.begin(), full.end() - 1);
  EXPECT_EQ(repack(RecordBatchView::unowned(cut), kDefaultMaxMessageBytes).error(), record_errc::truncated);
}

TEST(Repack, UnboundedLimitGivesOneBatch) {
  auto split = load("zstd", "plain");
  auto r = repack(split.batches[0], std::numeric_limits<size_t>::max());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->records, 20);
}

TEST(Repack, ReasonsHaveNames) {
  EXPECT_EQ(to_string(RepackReason::offset_gaps), "offset_gaps");
  EXPECT_EQ(to_string(RepackReason::empty), "empty");
  EXPECT_EQ(to_string(RepackReason::legacy_format), "legacy_format");
  EXPECT_EQ(to_string(RepackReason::too_large), "too_large");
}

}  // namespace
}  // namespace tiermirror::pipeline
