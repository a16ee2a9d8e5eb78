// Record sets that librdkafka producers wrote (recorded by tests/tools/make_fixtures.cc
// from a mock cluster through tiermirror's own Fetch): every codec, plain, idempotent and
// transactional producers. Control batches cannot come from the 2.0.2 mock (its EndTxn
// writes no markers), so those are built with the batch builder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/batch_builder.h"
#include "support/paths.h"
#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/produce_rules.h"
#include "tiermirror/protocol/record_batch.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::protocol {
namespace {

using View = RecordBatchView;

struct Fixture {
  std::string codec, mode;
  SplitResult split;
};

std::vector<Fixture> load_fixtures() {
  std::vector<Fixture> out;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"})
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      std::string path = test::fixture_path(std::string("record_batches/") + codec + "-" + mode + ".bin");
      std::ifstream in(path, std::ios::binary);
      Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_FALSE(raw.empty()) << path;
      out.push_back({codec, mode, split_record_set(BufferSlice(SharedBuffer(std::move(raw))), SourceOffset(0))});
    }
  return out;
}

Codec codec_of(const std::string& name) {
  if (name == "gzip") return Codec::gzip;
  if (name == "snappy") return Codec::snappy;
  if (name == "lz4") return Codec::lz4;
  if (name == "zstd") return Codec::zstd;
  return Codec::none;
}

TEST(Fixtures, EveryCodecAndProducerModeParses) {
  auto fixtures = load_fixtures();
  ASSERT_EQ(fixtures.size(), 15u);
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.codec + "-" + f.mode);
    ASSERT_TRUE(f.split.ok());
    ASSERT_GE(f.split.batches.size(), 2u);
    EXPECT_EQ(f.split.trailing_partial_bytes, 0u);
    int64_t next = 0;
    int32_t next_seq = 0;
    for (const auto& b : f.split.batches) {
      EXPECT_EQ(b.verdict(), BatchVerdict::ok);
      EXPECT_EQ(b.codec(), codec_of(f.codec));
      EXPECT_EQ(b.base_offset(), next);
      next = b.last_offset().value() + 1;
      EXPECT_EQ(b.records_count(), b.last_offset_delta() + 1);
      // The CRC-32C we compute is the one librdkafka wrote.
      EXPECT_EQ(b.computed_crc(), b.crc());
      EXPECT_EQ(crc32c(b.bytes().span().subspan(View::kCrcCoverageStart)), b.crc());
      if (f.mode == "plain") {
        EXPECT_EQ(b.producer_id().value(), -1);
        EXPECT_EQ(b.base_sequence(), -1);
        EXPECT_FALSE(b.is_transactional());
      } else {
        EXPECT_GE(b.producer_id().value(), 0);
        EXPECT_EQ(b.base_sequence(), next_seq);  // librdkafka's idempotent sequencing
        next_seq += b.records_count();
        EXPECT_EQ(b.is_transactional(), f.mode == "transactional");
      }
      if (b.codec() == Codec::none) {
        EXPECT_EQ(b.check_inner_offsets(), InnerOffsets::ok);
      }
    }
    EXPECT_EQ(f.split.next_fetch_offset.value(), next);
  }
}

TEST(Fixtures, ByteFlipAtEachNamedOffsetGivesTheExpectedVerdict) {
  auto fixtures = load_fixtures();
  for (const auto& f : fixtures) {
    const auto& b = f.split.batches.front();
    ByteSpan orig = b.bytes().span();
    struct Case {
      size_t offset;
      BatchVerdict expected;
    };
    // Not covered by the CRC: baseOffset, partitionLeaderEpoch; the magic byte decides the
    // format; every field from attributes on is covered by CRC-32C.
    const Case cases[] = {{View::kBaseOffset + 7, BatchVerdict::ok},
                          {View::kPartitionLeaderEpoch + 3, BatchVerdict::ok},
                          {View::kMagic, BatchVerdict::unknown_magic},
                          {View::kCrc + 2, BatchVerdict::crc_mismatch},
                          {View::kAttributes + 1, BatchVerdict::crc_mismatch},
                          {View::kLastOffsetDelta + 3, BatchVerdict::crc_mismatch},
                          {View::kBaseTimestamp + 7, BatchVerdict::crc_mismatch},
                          {View::kMaxTimestamp + 7, BatchVerdict::crc_mismatch},
                          {View::kProducerId + 7, BatchVerdict::crc_mismatch},
                          {View::kProducerEpoch + 1, BatchVerdict::crc_mismatch},
                          {View::kBaseSequence + 3, BatchVerdict::crc_mismatch},
                          {View::kRecordsCount + 3, BatchVerdict::crc_mismatch},
                          {View::kRecordsStart + 5, BatchVerdict::crc_mismatch},
                          {orig.size() - 1, BatchVerdict::crc_mismatch}};
    for (const auto& c : cases) {
      Bytes copy(orig.begin(), orig.end());
      copy[c.offset] ^= 0x01;
      if (c.offset == View::kMagic) copy[c.offset] = 7;
      View v(BufferSlice(SharedBuffer(std::move(copy))));
      EXPECT_EQ(v.verdict(), c.expected) << f.codec << "-" << f.mode << " offset " << c.offset;
    }
    // The length field frames the batch: a larger one makes it truncated.
    Bytes longer(orig.begin(), orig.end());
    longer[View::kBatchLength] ^= 0x10;
    EXPECT_EQ(View(BufferSlice(SharedBuffer(std::move(longer)))).verdict(), BatchVerdict::truncated);
  }
}

TEST(Fixtures, RewriteTouchesNothingFromByte61AndPassesTheValidator) {
  auto fixtures = load_fixtures();
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.codec + "-" + f.mode);
    int32_t seq = 0;
    for (const auto& b : f.split.batches) {
      auto header = rewrite_header(b, {ProducerId(4242), ProducerEpoch(3), seq});
      Bytes out(header.begin(), header.end());
      out.insert(out.end(), b.records().span().begin(), b.records().span().end());
      View v{BufferSlice(SharedBuffer(Bytes(out)))};
      ASSERT_EQ(v.verdict(), BatchVerdict::ok);
      EXPECT_TRUE(std::equal(out.begin() + View::kRecordsStart, out.end(),
                             b.bytes().span().begin() + View::kRecordsStart));
      EXPECT_EQ(v.base_offset(), 0);
      EXPECT_EQ(v.partition_leader_epoch(), -1);
      EXPECT_EQ(v.producer_id().value(), 4242);
      EXPECT_EQ(v.producer_epoch().value(), 3);
      EXPECT_EQ(v.base_sequence(), seq);
      EXPECT_FALSE(v.is_transactional());
      EXPECT_EQ(v.codec(), b.codec());
      EXPECT_EQ(v.attributes() & ~View::kTransactionalBit, b.attributes() & ~View::kTransactionalBit);
      seq += b.records_count();
      std::vector<ProducePartitionInput> in{{"t", 0, ByteSpan(out)}};
      EXPECT_TRUE(validate_produce(7, std::nullopt, -1, in).empty());
    }
    // Forwarding a fetched batch without the rewrite breaks broker rules: a later batch has
    // a non-zero baseOffset (rule 2), a transactional one lacks a transactional id (rule 9).
    const auto& last = f.split.batches.back();
    std::vector<ProducePartitionInput> raw{{"t", 0, last.bytes().span()}};
    auto violations = validate_produce(7, std::nullopt, -1, raw);
    bool base_offset = false, txn = false;
    for (const auto& v : violations) {
      base_offset |= v.rule == ProduceRule::base_offset_zero;
      txn |= v.rule == ProduceRule::no_transactional_without_txn_id;
    }
    EXPECT_TRUE(base_offset);
    EXPECT_EQ(txn, f.mode == "transactional");
  }
}

TEST(Fixtures, ControlBatchesAreRecognisedAndRefusedByTheValidator) {
  for (auto type : {test::ControlType::abort, test::ControlType::commit}) {
    auto bytes = test::BatchBuilder().producer(77, 1, -1).transactional(true).control(type).build();
    View v{BufferSlice(SharedBuffer(Bytes(bytes)))};
    EXPECT_EQ(v.verdict(), BatchVerdict::control);
    EXPECT_TRUE(v.crc_ok());
    std::vector<ProducePartitionInput> in{{"t", 0, ByteSpan(bytes)}};
    bool control = false;
    for (const auto& viol : validate_produce(7, std::nullopt, -1, in))
      control |= viol.rule == ProduceRule::no_control_batches;
    EXPECT_TRUE(control);
  }
}

}  // namespace
}  // namespace tiermirror::protocol

namespace tiermirror::protocol {
namespace {

TEST(Fixtures, RewriteNeverLaundersACorruptPayload) {
  // The rewrite derives the new CRC from the stored one: a payload that does not match its
  // CRC must still not match after the rewrite (the target then refuses it, CORRUPT_MESSAGE).
  std::ifstream in(test::fixture_path("record_batches/zstd-plain.bin"), std::ios::binary);
  Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto split = split_record_set(BufferSlice(SharedBuffer(std::move(raw))), SourceOffset(0));
  ASSERT_FALSE(split.batches.empty());
  const auto& b = split.batches.front();
  Bytes corrupt(b.bytes().span().begin(), b.bytes().span().end());
  corrupt[RecordBatchView::kRecordsStart + 3] ^= 0x40;
  RecordBatchView bad{BufferSlice(SharedBuffer(Bytes(corrupt)))};
  ASSERT_FALSE(bad.crc_ok());
  auto h = rewrite_header(bad, {ProducerId(7), ProducerEpoch(0), 0});
  Bytes out(h.begin(), h.end());
  out.insert(out.end(), bad.records().span().begin(), bad.records().span().end());
  EXPECT_FALSE(RecordBatchView::unowned(ByteSpan(out)).crc_ok());
}

}  // namespace
}  // namespace tiermirror::protocol
