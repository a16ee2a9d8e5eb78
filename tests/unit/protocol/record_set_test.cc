#include "tiermirror/protocol/record_set.h"

#include <gtest/gtest.h>

#include "support/batch_builder.h"

namespace tiermirror::protocol {
namespace {

using test::BatchBuilder;
using test::concat;
using test::to_bytes;
using test::to_slice;

Bytes batch_at(int64_t base, int n) { return BatchBuilder().base_offset(base).add_n(n).build(); }

TEST(SplitRecordSet, TwoBatchesAndTrailingPartial) {
  const Bytes a = batch_at(100, 3), b = batch_at(103, 2), c = batch_at(105, 4);
  const Bytes all = concat({a, b, Bytes(c.begin(), c.begin() + 30)});
  const BufferSlice slice = to_slice(all);
  const SplitResult r = split_record_set(slice, SourceOffset(100));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.batches.size(), 2u);
  EXPECT_EQ(r.batches[0].source_base_offset(), SourceOffset(100));
  EXPECT_EQ(r.batches[1].source_base_offset(), SourceOffset(103));
  EXPECT_EQ(r.batches[0].verdict(), BatchVerdict::ok);
  EXPECT_EQ(r.batches[1].verdict(), BatchVerdict::ok);
  EXPECT_EQ(r.trailing_partial_bytes, 30u);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(105));
  EXPECT_FALSE(r.needs_bigger_fetch);
  // Zero-copy: the views point into the fetched buffer.
  EXPECT_EQ(r.batches[0].span().data(), slice.data());
  EXPECT_EQ(r.batches[1].span().data(), slice.data() + a.size());
  EXPECT_EQ(r.batches[1].size(), b.size());
}

TEST(SplitRecordSet, SkipsLeadingBatchBeforeFetchOffset) {
  const Bytes all = concat({batch_at(10, 5), batch_at(15, 5)});
  const SplitResult r = split_record_set(to_slice(all), SourceOffset(15));
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.skipped_batches, 1u);
  EXPECT_EQ(r.batches[0].source_base_offset(), SourceOffset(15));
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(20));
}

TEST(SplitRecordSet, KeepsBatchContainingFetchOffset) {
  // Fetch from 12 returns the batch 10..14 whole: keep it (the pipeline decides about 10 and 11).
  const SplitResult r = split_record_set(to_slice(batch_at(10, 5)), SourceOffset(12));
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.skipped_batches, 0u);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(15));
}

TEST(SplitRecordSet, EmptyInput) {
  const SplitResult r = split_record_set(BufferSlice(), SourceOffset(42));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.batches.empty());
  EXPECT_EQ(r.trailing_partial_bytes, 0u);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(42));
  EXPECT_FALSE(r.needs_bigger_fetch);
}

TEST(SplitRecordSet, OnlyPartialNeedsBiggerFetch) {
  const Bytes big = batch_at(7, 50);
  const SplitResult r = split_record_set(to_slice(Bytes(big.begin(), big.begin() + 100)), SourceOffset(7));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.batches.empty());
  EXPECT_EQ(r.trailing_partial_bytes, 100u);
  ASSERT_TRUE(r.needs_bigger_fetch);
  EXPECT_EQ(*r.needs_bigger_fetch, big.size());
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(7));
}

TEST(SplitRecordSet, PartialAfterSkippedBatchStillNeedsBiggerFetch) {
  const Bytes big = batch_at(5, 50);
  const Bytes all = concat({batch_at(0, 5), Bytes(big.begin(), big.begin() + 70)});
  const SplitResult r = split_record_set(to_slice(all), SourceOffset(5));
  EXPECT_EQ(r.skipped_batches, 1u);
  ASSERT_TRUE(r.needs_bigger_fetch);
  EXPECT_EQ(*r.needs_bigger_fetch, big.size());
}

TEST(SplitRecordSet, PartialShorterThanLogOverhead) {
  const Bytes all = concat({batch_at(0, 1), Bytes{0, 0, 0, 0, 0, 0, 0, 1, 0}});
  const SplitResult r = split_record_set(to_slice(all), SourceOffset(0));
  EXPECT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.trailing_partial_bytes, 9u);
  EXPECT_FALSE(r.needs_bigger_fetch);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(1));
}

TEST(SplitRecordSet, LegacyMagicOneIsFramedAndFlagged) {
  const Bytes legacy = concat({test::legacy_message_set_v1(3, to_bytes("k"), to_bytes("a")),
                               test::legacy_message_set_v1(4, std::nullopt, to_bytes("b"))});
  const Bytes all = concat({legacy, batch_at(5, 2)});
  const SplitResult r = split_record_set(to_slice(all), SourceOffset(3));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.batches.size(), 3u);
  EXPECT_EQ(r.batches[0].verdict(), BatchVerdict::bad_magic_v0_v1);
  EXPECT_EQ(r.batches[0].last_offset(), SourceOffset(3));
  EXPECT_EQ(r.batches[1].verdict(), BatchVerdict::bad_magic_v0_v1);
  EXPECT_EQ(r.batches[1].last_offset(), SourceOffset(4));
  EXPECT_EQ(r.batches[2].verdict(), BatchVerdict::ok);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(7));
}

TEST(SplitRecordSet, BadLengthStopsWithError) {
  Bytes bad(20, 0);
  bad[11] = 2;  // size 2: below every format's minimum
  const Bytes first = batch_at(0, 2);
  const SplitResult r = split_record_set(to_slice(concat({first, bad, batch_at(2, 1)})), SourceOffset(0));
  EXPECT_EQ(r.error, BatchVerdict::bad_length);
  EXPECT_EQ(r.error_position, first.size());
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(2));
}

TEST(SplitRecordSet, ShortV2BatchStopsWithError) {
  Bytes bad(12 + 20, 0);
  bad[11] = 20;
  bad[16] = 2;
  const SplitResult r = split_record_set(to_slice(bad), SourceOffset(0));
  EXPECT_EQ(r.error, BatchVerdict::bad_length);
  EXPECT_EQ(r.error_position, 0u);
}

TEST(SplitRecordSet, UnknownMagicStopsWithError) {
  const SplitResult r =
      split_record_set(to_slice(concat({batch_at(0, 1), BatchBuilder().magic(5).add_n(1).build()})), SourceOffset(0));
  EXPECT_EQ(r.error, BatchVerdict::unknown_magic);
  EXPECT_EQ(r.batches.size(), 1u);
}

TEST(SplitRecordSet, CorruptBatchIsReturnedForItsVerdict) {
  const SplitResult r = split_record_set(to_slice(BatchBuilder().add_n(2).corrupt_crc().build()), SourceOffset(0));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.batches[0].verdict(), BatchVerdict::crc_mismatch);
}

TEST(SplitRecordSet, CutAtEveryOffset) {
  const Bytes a = batch_at(0, 2), b = batch_at(2, 3);
  const Bytes all = concat({a, b});
  for (size_t n = 0; n <= all.size(); ++n) {
    const SplitResult r = split_record_set(to_slice(Bytes(all.begin(), all.begin() + n)), SourceOffset(0));
    ASSERT_TRUE(r.ok()) << n;
    const size_t complete = n >= all.size() ? 2 : n >= a.size() ? 1 : 0;
    ASSERT_EQ(r.batches.size(), complete) << n;
    size_t used = 0;
    for (const auto& v : r.batches) used += v.size();
    EXPECT_EQ(used + r.trailing_partial_bytes, n) << n;
    EXPECT_EQ(r.next_fetch_offset, SourceOffset(complete == 2 ? 5 : complete == 1 ? 2 : 0)) << n;
    EXPECT_EQ(r.needs_bigger_fetch.has_value(), complete == 0 && n >= 12) << n;
  }
}

}  // namespace
}  // namespace tiermirror::protocol
