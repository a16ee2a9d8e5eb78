#include "tiermirror/audit/counters.h"

#include <gtest/gtest.h>

#include "tiermirror/audit/publisher.h"

namespace tiermirror::audit {
namespace {

constexpr int64_t kBucket = 10 * 60 * 1000;
constexpr int64_t kT0 = 1795341600000;  // 2026-11-22T10:00Z

pipeline::BatchFacts batch(int64_t first, int32_t records, int64_t base_ts, int64_t max_ts = -1, size_t bytes = 100) {
  return {SourceOffset(first), SourceOffset(first + records - 1), records, bytes, base_ts, max_ts < 0 ? base_ts : max_ts};
}

const Delta* find(const std::vector<Delta>& ds, Tier tier, const std::string& topic, int64_t start) {
  for (const auto& d : ds)
    if (d.tier == tier && d.topic == topic && d.bucket_start_ms == start) return &d;
  return nullptr;
}

TEST(AuditCounters, BucketsByBaseTimestampAtBothTiers) {
  Counters c(kBucket);
  TopicPartition tp{"events", 2};
  // A batch whose records straddle 10:10 is counted whole in the 10:00 bucket, at both tiers.
  auto b = batch(0, 10, kT0 + kBucket - 5, kT0 + kBucket + 5);
  c.fetched(tp, b);
  c.fetched(tp, batch(10, 5, kT0 + kBucket + 1));
  c.acked(tp, b, kT0 + kBucket + 1005);
  auto ds = c.take(kT0 + kBucket + 2000);
  ASSERT_EQ(ds.size(), 3u);
  auto* s0 = find(ds, Tier::source, "events", kT0);
  auto* s1 = find(ds, Tier::source, "events", kT0 + kBucket);
  auto* t0 = find(ds, Tier::target, "events", kT0);
  ASSERT_TRUE(s0 && s1 && t0);
  EXPECT_EQ(s0->records, 10u);
  EXPECT_EQ(s0->batches, 1u);
  EXPECT_EQ(s0->bytes, 100u);
  EXPECT_EQ(s1->records, 5u);
  EXPECT_EQ(t0->records, 10u);
  EXPECT_EQ(t0->partitions.at(2).first_offset, 0);
  EXPECT_EQ(t0->partitions.at(2).last_offset, 9);
  // Latency from the latest record (maxTimestamp) to the ack.
  EXPECT_EQ(t0->latency.count(), 1u);
  EXPECT_EQ(t0->latency.max_ms(), 1000);
  EXPECT_EQ(s0->latency.count(), 0u);
  // take() resets.
  EXPECT_TRUE(c.take(kT0).empty());
  auto totals = c.totals();
  EXPECT_EQ(totals.source_records, 15u);
  EXPECT_EQ(totals.target_records, 10u);
}

TEST(AuditCounters, LossGoesToTheBucketOfTheFirstBatchAfterTheGap) {
  Counters c(kBucket);
  TopicPartition tp{"events", 0};
  c.lost(tp, SourceOffset(100), SourceOffset(149), "retention");
  c.fetched(tp, batch(150, 10, kT0 + 3 * kBucket + 7));
  auto ds = c.take(kT0 + 10 * kBucket);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].bucket_start_ms, kT0 + 3 * kBucket);
  EXPECT_EQ(ds[0].lost, 50u);
  EXPECT_EQ(ds[0].records, 10u);
  ASSERT_EQ(ds[0].partitions.at(0).lost_ranges.size(), 1u);
  EXPECT_EQ(ds[0].partitions.at(0).lost_ranges[0], std::make_pair(int64_t{100}, int64_t{149}));
  EXPECT_EQ(c.totals().lost, 50u);
}

TEST(AuditCounters, LossWithoutALaterBatchIsCountedAtTheNextTake) {
  Counters c(kBucket);
  c.lost({"events", 1}, SourceOffset(0), SourceOffset(9), "retention");
  auto ds = c.take(kT0 + 5);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].tier, Tier::source);
  EXPECT_EQ(ds[0].bucket_start_ms, kT0);
  EXPECT_EQ(ds[0].lost, 10u);
  EXPECT_EQ(ds[0].records, 0u);
  // Counted once: the next take has nothing.
  EXPECT_TRUE(c.take(kT0 + 10).empty());
}

TEST(AuditCounters, BatchesWithoutTimestampsUseTheClock) {
  Counters c(kBucket);
  c.acked({"old", 0}, batch(0, 1, -1, -1), kT0 + 42);
  auto ds = c.take(kT0 + 50);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].bucket_start_ms, kT0);
  EXPECT_EQ(ds[0].latency.count(), 0u);  // no record time, no latency
}

pipeline::PartitionStatus part(const std::string& topic, int32_t p, bool caught_up, int64_t acked_max) {
  pipeline::PartitionStatus s;
  s.tp = {topic, p};
  s.caught_up = caught_up;
  s.acked_max_timestamp = acked_max;
  return s;
}

TEST(AuditProgress, WatermarkIsTheSlowestPartition) {
  int64_t now = kT0 + 100 * kBucket;
  auto recs = progress_records({part("a", 0, true, -1), part("a", 1, false, kT0 + 5), part("a", 2, false, kT0 + 9),
                                part("b", 0, true, kT0)},
                               now);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].topic, "a");
  EXPECT_EQ(recs[0].kind, AuditRecord::Kind::progress);
  EXPECT_EQ(recs[0].watermark_ms, kT0 + 5);
  EXPECT_EQ(recs[0].partitions_total, 3);
  EXPECT_EQ(recs[0].partitions_behind, 2);
  EXPECT_EQ(recs[1].topic, "b");
  EXPECT_EQ(recs[1].watermark_ms, now);  // caught up everywhere: counted through now
  EXPECT_EQ(recs[1].partitions_behind, 0);
  // A lagging partition that has acknowledged nothing yet: nothing is known.
  EXPECT_EQ(progress_records({part("c", 0, false, -1)}, now)[0].watermark_ms, -1);
}

}  // namespace
}  // namespace tiermirror::audit
