// Offsets no log can hold. The CRC does not cover a batch's base offset, so a broken broker or
// proxy can send any value there; fuzz_batches found baseOffset near INT64_MIN plus a negative
// lastOffsetDelta overflowing int64 in last_offset() (undefined behaviour, halted by UBSan).
// Such a batch is refused by the splitter (the route pauses the partition instead of skipping it
// as "before the fetch offset" or forwarding it) and last_offset()/next_offset() saturate instead
// of overflowing. verdict() still ignores the base offset (it is rewritten on produce).
#include <gtest/gtest.h>

#include <limits>

#include "support/batch_builder.h"
#include "tiermirror/protocol/record_batch.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::protocol {
namespace {

using test::BatchBuilder;
using test::concat;
using test::to_slice;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

RecordBatchView view(const Bytes& b) { return RecordBatchView::unowned(ByteSpan(b)); }

TEST(BadOffsets, FuzzerCaseSaturatesInsteadOfOverflowing) {
  // The fuzzer's values: baseOffset -9223372036854775788, lastOffsetDelta -1986500558.
  const Bytes b = BatchBuilder().base_offset(kMin + 20).last_offset_delta(-1986500558).add_n(1).build();
  auto v = view(b);
  EXPECT_EQ(v.last_offset(), SourceOffset(kMin));
  EXPECT_EQ(v.next_offset(), SourceOffset(kMin + 1));
  EXPECT_FALSE(v.offsets_valid());

  const SplitResult r = split_record_set(to_slice(b), SourceOffset(0));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, BatchVerdict::bad_offsets);
  EXPECT_EQ(r.error_position, 0u);
  EXPECT_TRUE(r.batches.empty());
  EXPECT_EQ(to_string(r.error), "bad_offsets");
}

TEST(BadOffsets, TopOfTheRangeSaturates) {
  const Bytes b = BatchBuilder().base_offset(kMax - 1).add_n(5).build();  // last would be kMax + 3
  auto v = view(b);
  EXPECT_EQ(v.last_offset(), SourceOffset(kMax));
  EXPECT_EQ(v.next_offset(), SourceOffset(kMax));
  EXPECT_FALSE(v.offsets_valid());
  EXPECT_EQ(split_record_set(to_slice(b), SourceOffset(0)).error, BatchVerdict::bad_offsets);
}

TEST(BadOffsets, ValidityBoundaries) {
  EXPECT_TRUE(view(BatchBuilder().base_offset(0).add_n(1).build()).offsets_valid());
  EXPECT_TRUE(view(BatchBuilder().base_offset(kMax - 5).add_n(5).build()).offsets_valid());  // next = kMax
  EXPECT_FALSE(view(BatchBuilder().base_offset(kMax - 4).add_n(5).build()).offsets_valid());
  EXPECT_FALSE(view(BatchBuilder().base_offset(-1).add_n(1).build()).offsets_valid());
  EXPECT_TRUE(view(BatchBuilder().base_offset(10).last_offset_delta(-1).records_count(0).build()).offsets_valid());
  EXPECT_FALSE(view(BatchBuilder().base_offset(10).last_offset_delta(-2).records_count(0).build()).offsets_valid());
  EXPECT_TRUE(view(BatchBuilder().base_offset(10).magic(1).add_n(1).build()).offsets_valid());
  EXPECT_FALSE(view(BatchBuilder().base_offset(kMax).magic(1).add_n(1).build()).offsets_valid());
}

TEST(BadOffsets, SplitterKeepsTheGoodBatchesBeforeABadOne) {
  const Bytes good = BatchBuilder().base_offset(100).add_n(3).build();
  const Bytes bad = BatchBuilder().base_offset(-7).add_n(2).build();
  const SplitResult r = split_record_set(to_slice(concat({good, bad})), SourceOffset(100));
  EXPECT_EQ(r.error, BatchVerdict::bad_offsets);
  EXPECT_EQ(r.error_position, good.size());
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.next_fetch_offset, SourceOffset(103));
}

}  // namespace
}  // namespace tiermirror::protocol
