#include "tiermirror/audit/counters.h"

#include <gtest/gtest.h>

#include "tiermirror/audit/publisher.h"
#include "tiermirror/audit/report.h"

#include <random>

namespace tiermirror::audit {
namespace {

constexpr int64_t kBucket = 10 * 60 * 1000;
constexpr int64_t kT0 = 1795341600000;  // 2026-11-22T10:00Z

pipeline::BatchFacts batch(int64_t first, int32_t records, int64_t base_ts, int64_t max_ts = -1, size_t bytes = 100) {
  return {SourceOffset(first), SourceOffset(first + records - 1), records, bytes, base_ts, max_ts < 0 ? base_ts : max_ts};
}

const Sealed::Entry* find(const Sealed& s, Tier tier, int32_t partition, int64_t bucket) {
  for (const auto& e : s.entries)
    if (e.tier == tier && e.partition == partition && e.bucket_start_ms == bucket) return &e;
  return nullptr;
}

TEST(AuditCounters, BucketsByBaseTimestampAtBothTiers) {
  Counters c(kBucket);
  TopicPartition tp{"events", 2};
  c.counting_from(tp, SourceOffset(0));
  // A batch whose records straddle 10:10 is counted whole in the 10:00 bucket, at both tiers.
  auto b = batch(0, 10, kT0 + kBucket - 5, kT0 + kBucket + 5);
  c.fetched(tp, b);
  c.acked(tp, b, kT0 + kBucket + 1005);
  c.fetched(tp, batch(10, 5, kT0 + kBucket + 1));
  auto sealed = c.seal({{tp, SourceOffset(15)}}, kT0 + kBucket + 2000);
  ASSERT_EQ(sealed.entries.size(), 3u);
  auto* s0 = find(sealed, Tier::source, 2, kT0);
  auto* s1 = find(sealed, Tier::source, 2, kT0 + kBucket);
  auto* t0 = find(sealed, Tier::target, 2, kT0);
  ASSERT_TRUE(s0 && s1 && t0);
  EXPECT_EQ(s0->count.records, 10u);
  EXPECT_EQ(s0->count.batches, 1u);
  EXPECT_EQ(s0->count.bytes, 100u);
  EXPECT_EQ(s1->count.records, 5u);
  EXPECT_EQ(t0->count.records, 10u);
  EXPECT_EQ(t0->count.first_offset, 0);
  EXPECT_EQ(t0->count.last_offset, 9);
  EXPECT_EQ(t0->segment, 0);
  EXPECT_EQ(t0->end, 15);
  // Latency from the latest record (maxTimestamp) to the ack, at the target tier only.
  auto& latency = sealed.latency.at({"events", kT0});
  EXPECT_EQ(latency.count(), 1u);
  EXPECT_EQ(latency.max_ms(), 1000);
  EXPECT_EQ(sealed.latency.size(), 1u);
  auto totals = c.totals();
  EXPECT_EQ(totals.source_records, 15u);
  EXPECT_EQ(totals.target_records, 10u);
}

TEST(AuditCounters, ASegmentIsCumulativeUntilItsCommitAndStartsAfreshAfterIt) {
  Counters c(kBucket);
  TopicPartition tp{"events", 0};
  c.counting_from(tp, SourceOffset(100));
  c.fetched(tp, batch(100, 10, kT0));
  auto first = c.seal({{tp, SourceOffset(110)}}, kT0);
  ASSERT_EQ(first.entries.size(), 1u);
  EXPECT_EQ(first.entries[0].count.records, 10u);
  EXPECT_EQ(c.unpublished_partitions(), 1u);
  c.published(first.generation);
  EXPECT_EQ(c.unpublished_partitions(), 0u);
  // The commit failed: the next seal carries the segment from its start again, grown.
  c.fetched(tp, batch(110, 5, kT0));
  auto second = c.seal({{tp, SourceOffset(115)}}, kT0);
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries[0].segment, 100);
  EXPECT_EQ(second.entries[0].end, 115);
  EXPECT_EQ(second.entries[0].count.records, 15u);
  // Committed: a new segment begins there; nothing is carried again.
  c.committed(tp, SourceOffset(115));
  EXPECT_TRUE(c.seal({{tp, SourceOffset(115)}}, kT0).entries.empty());
  c.fetched(tp, batch(115, 3, kT0));
  auto third = c.seal({{tp, SourceOffset(118)}}, kT0);
  ASSERT_EQ(third.entries.size(), 1u);
  EXPECT_EQ(third.entries[0].segment, 115);
  EXPECT_EQ(third.entries[0].count.records, 3u);
}

TEST(AuditCounters, APublishCarriesOnlyTheSealsBeforeIt) {
  // A seal taken while an earlier publish was out is not published by that publish.
  Counters c(kBucket);
  TopicPartition tp{"events", 0};
  c.counting_from(tp, SourceOffset(0));
  c.fetched(tp, batch(0, 10, kT0));
  auto first = c.seal({{tp, SourceOffset(10)}}, kT0);
  c.fetched(tp, batch(10, 10, kT0));
  auto second = c.seal({{tp, SourceOffset(20)}}, kT0);
  c.published(first.generation);
  EXPECT_EQ(c.unpublished_partitions(), 1u);
  c.published(second.generation);
  EXPECT_EQ(c.unpublished_partitions(), 0u);
}

TEST(AuditCounters, LossGoesToTheBucketOfTheFirstBatchAfterTheGap) {
  Counters c(kBucket);
  TopicPartition tp{"events", 0};
  c.counting_from(tp, SourceOffset(100));
  c.lost(tp, SourceOffset(100), SourceOffset(149), "retention");
  c.fetched(tp, batch(150, 10, kT0 + 3 * kBucket + 7));
  auto sealed = c.seal({{tp, SourceOffset(160)}}, kT0 + 10 * kBucket);
  ASSERT_EQ(sealed.entries.size(), 1u);
  EXPECT_EQ(sealed.entries[0].bucket_start_ms, kT0 + 3 * kBucket);
  EXPECT_EQ(sealed.entries[0].count.lost, 50u);
  EXPECT_EQ(sealed.entries[0].count.records, 10u);
  ASSERT_EQ(sealed.entries[0].count.lost_ranges.size(), 1u);
  EXPECT_EQ(sealed.entries[0].count.lost_ranges[0], std::make_pair(int64_t{100}, int64_t{149}));
  EXPECT_EQ(c.totals().lost, 50u);
}

TEST(AuditCounters, LossWithoutALaterBatchIsCountedAtTheSealOfItsPartition) {
  Counters c(kBucket);
  c.lost({"events", 1}, SourceOffset(0), SourceOffset(9), "retention");
  EXPECT_TRUE(c.seal({}, kT0 + 5).entries.empty());  // another partition's commit: not yet
  auto sealed = c.seal({{{"events", 1}, SourceOffset(10)}}, kT0 + 5);
  ASSERT_EQ(sealed.entries.size(), 1u);
  EXPECT_EQ(sealed.entries[0].tier, Tier::source);
  EXPECT_EQ(sealed.entries[0].bucket_start_ms, kT0);
  EXPECT_EQ(sealed.entries[0].count.lost, 10u);
  EXPECT_EQ(sealed.entries[0].count.records, 0u);
  c.committed({"events", 1}, SourceOffset(10));
  EXPECT_TRUE(c.seal({{{"events", 1}, SourceOffset(10)}}, kT0 + 10).entries.empty());  // counted once
}

TEST(AuditCounters, BatchesWithoutTimestampsUseTheClock) {
  Counters c(kBucket);
  c.acked({"old", 0}, batch(0, 1, -1, -1), kT0 + 42);
  auto sealed = c.seal({{{"old", 0}, SourceOffset(1)}}, kT0 + 50);
  ASSERT_EQ(sealed.entries.size(), 1u);
  EXPECT_EQ(sealed.entries[0].bucket_start_ms, kT0);
  EXPECT_TRUE(sealed.latency.empty());  // no record time, no latency
}

TEST(AuditCounters, PiecesBelowTheSegmentStartWereCountedByACommittedSegment) {
  // A repacked batch [0, 29] in three pieces; a commit fell after the first piece. The next
  // process resumes at 10, finds the second piece in the target and sends the third: the
  // first piece is not counted again at the target tier.
  Counters c(kBucket);
  TopicPartition tp{"events", 0};
  c.counting_from(tp, SourceOffset(10));
  auto source = batch(0, 30, kT0);
  c.already_delivered(tp, source, {batch(0, 10, kT0), batch(10, 10, kT0)});
  c.acked(tp, batch(20, 10, kT0), kT0 + 5);
  auto sealed = c.seal({{tp, SourceOffset(30)}}, kT0 + 10);
  auto* t = find(sealed, Tier::target, 0, kT0);
  auto* s = find(sealed, Tier::source, 0, kT0);
  ASSERT_TRUE(t && s);
  EXPECT_EQ(t->count.records, 20u);
  EXPECT_EQ(t->count.batches, 2u);
  EXPECT_EQ(s->count.records, 30u);
}

// Every crash point around publish and commit, in random sequences of processes that each
// resume at the committed offset (exactly-once resume finds what the dead one delivered):
// the audit, read as readers read it, holds each batch exactly once per tier.
TEST(AuditCounters, CrashesAroundPublishAndCommitNeverLoseOrRepeatACount) {
  enum class Crash { none, before_seal, after_seal, publish_fails, after_publish };
  constexpr int kBatches = 60, kRecords = 10;
  std::mt19937 rng(20261207);
  for (int round = 0; round < 200; ++round) {
    std::vector<AuditRecord> log;  // the audit topic
    int64_t committed = 0, delivered = 0;  // source offsets: committed next, delivered end
    int ids = 0;
    bool done = false;
    for (int process = 0; !done; ++process) {
      Counters c(kBucket);
      TopicPartition tp{"t", 0};
      c.counting_from(tp, SourceOffset(committed));
      // Exactly-once resume: what the dead process delivered after its last commit.
      for (int64_t o = committed; o < delivered; o += kRecords) {
        auto b = batch(o, kRecords, kT0 + o * 10000);
        c.already_delivered(tp, b, {b});
      }
      while (!done) {
        // Deliver a few batches (both tiers at release), then a commit round.
        int n = std::uniform_int_distribution<int>(0, 4)(rng);
        for (int i = 0; i < n && delivered < kBatches * kRecords; ++i) {
          auto b = batch(delivered, kRecords, kT0 + delivered * 10000);
          c.fetched(tp, b);
          c.acked(tp, b, kT0 + delivered * 10000 + 7);
          delivered += kRecords;
        }
        const bool last = delivered == kBatches * kRecords;
        auto crash = last && process > 8 ? Crash::none
                                         : static_cast<Crash>(std::uniform_int_distribution<int>(0, 6)(rng) % 5);
        if (crash == Crash::before_seal) break;
        auto sealed = c.seal({{tp, SourceOffset(delivered)}}, kT0);
        if (crash == Crash::after_seal) break;
        if (crash == Crash::publish_fails) continue;  // no commit this round
        for (auto& r : counts_records(std::move(sealed.entries), sealed.latency, kBucket, 1000)) {
          r.id = "r/" + std::to_string(ids++);
          r.route = "r";
          log.push_back(std::move(r));
        }
        c.published(sealed.generation);
        if (crash == Crash::after_publish) break;
        committed = delivered;
        c.committed(tp, SourceOffset(committed));
        done = last;
      }
    }
    ReportOptions ro;
    ro.now_ms = kT0;
    auto rep = build_report(log, ro);
    uint64_t source = 0, target = 0;
    std::map<int64_t, uint64_t> by_bucket;
    for (const auto& b : rep.buckets) {
      source += b.source_records;
      target += b.target_records;
      EXPECT_EQ(b.source_records, b.target_records) << "round " << round;
      by_bucket[b.start_ms] += b.source_records;
    }
    ASSERT_EQ(source, uint64_t{kBatches * kRecords}) << "round " << round;
    ASSERT_EQ(target, uint64_t{kBatches * kRecords}) << "round " << round;
    // Offset o has the timestamp kT0 + 10 o seconds: 60 offsets, 60 records, per bucket.
    EXPECT_EQ(by_bucket.size(), 10u) << "round " << round;
    for (const auto& [start, records] : by_bucket) EXPECT_EQ(records, 60u) << "round " << round;
  }
}

TEST(AuditCounters, RecordsSplitIntoGroupsOfPartitions) {
  Counters c(kBucket);
  std::map<TopicPartition, SourceOffset> ends;
  for (int p = 0; p < 5; ++p) {
    c.fetched({"t", p}, batch(0, 1, kT0));
    ends[{"t", p}] = SourceOffset(1);
  }
  auto sealed = c.seal(ends, kT0);
  auto records = counts_records(std::move(sealed.entries), sealed.latency, kBucket, 2);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].partitions.size(), 2u);
  EXPECT_EQ(records[2].partitions.size(), 1u);
  EXPECT_EQ(records[2].records, 1u);
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
