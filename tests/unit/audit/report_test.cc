#include "tiermirror/audit/report.h"

#include <gtest/gtest.h>

#include "support/batch_builder.h"

namespace tiermirror::audit {
namespace {

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kBucket = 10 * kMin;
constexpr int64_t kT0 = 1795341600000;  // 2026-11-22T10:00Z

class Records {
 public:
  Records& counts(const std::string& route, const std::string& source, Tier tier, int64_t start, uint64_t records,
                  uint64_t lost = 0, const std::string& topic = "events", const std::string& target = "aggregate") {
    AuditRecord r = base(route, source, target, topic);
    r.kind = AuditRecord::Kind::counts;
    r.schema = 1;  // deltas, as routes before schema 2 wrote them (readers still sum those)
    r.tier = tier;
    r.bucket_start_ms = start;
    r.bucket_end_ms = start + kBucket;
    r.records = records;
    r.batches = records ? 1 : 0;
    r.bytes = records * 100;
    r.lost = lost;
    if (tier == Tier::target) r.latency.add(250);
    out.push_back(r);
    return *this;
  }
  Records& progress(const std::string& route, const std::string& source, int64_t published, int64_t watermark,
                    const std::string& topic = "events", int32_t behind = 0) {
    AuditRecord r = base(route, source, "aggregate", topic);
    r.kind = AuditRecord::Kind::progress;
    r.published_ms = published;
    r.watermark_ms = watermark;
    r.partitions_total = 6;
    r.partitions_behind = behind;
    out.push_back(r);
    return *this;
  }
  Records& repeat_last() {
    out.push_back(out.back());
    return *this;
  }
  std::vector<AuditRecord> out;

 private:
  AuditRecord base(const std::string& route, const std::string& source, const std::string& target,
                   const std::string& topic) {
    AuditRecord r;
    r.id = route + "/i/" + std::to_string(++seq_);
    r.route = route;
    r.source_cluster = source;
    r.target_cluster = target;
    r.topic = topic;
    r.published_ms = kT0 + 2 * kBucket;
    return r;
  }
  int seq_ = 0;
};

// Two locals into one aggregate, everything mirrored, both routes counted far past 10:10.
Records complete_hour() {
  Records r;
  for (int i = 0; i < 6; ++i) {
    r.counts("a", "dc-a", Tier::source, kT0 + i * kBucket, 100);
    r.counts("a", "dc-a", Tier::target, kT0 + i * kBucket, 100);
    r.counts("b", "dc-b", Tier::source, kT0 + i * kBucket, 50);
    r.counts("b", "dc-b", Tier::target, kT0 + i * kBucket, 50);
  }
  r.progress("a", "dc-a", kT0 + 120 * kMin, kT0 + 120 * kMin);
  r.progress("b", "dc-b", kT0 + 120 * kMin, kT0 + 120 * kMin);
  return r;
}

TEST(AuditReport, SumsPerClusterAndTierAndComputesCompleteness) {
  auto recs = complete_hour().out;
  ReportOptions o;
  o.now_ms = kT0 + 3 * 60 * kMin;
  auto rep = build_report(recs, o);
  ASSERT_EQ(rep.buckets.size(), 6u);
  const auto& b = rep.buckets[0];
  EXPECT_EQ(b.start_ms, kT0);
  EXPECT_EQ(b.source_records, 150u);
  EXPECT_EQ(b.target_records, 150u);
  EXPECT_DOUBLE_EQ(b.completeness, 1.0);
  EXPECT_FALSE(b.open) << b.open_reason;
  ASSERT_EQ(b.counts.size(), 3u);  // dc-a source, dc-b source, aggregate target
  EXPECT_EQ(b.counts[0].cluster, "dc-a");
  EXPECT_EQ(b.counts[1].cluster, "dc-b");
  EXPECT_EQ(b.counts[2].cluster, "aggregate");
  EXPECT_EQ(b.counts[2].tier, Tier::target);
  EXPECT_EQ(b.counts[2].records, 150u);
  EXPECT_EQ(b.latency.count(), 2u);
  auto table = render_table(rep);
  EXPECT_NE(table.find("dc-a=100 dc-b=50"), std::string::npos) << table;
  EXPECT_NE(table.find("100.000%"), std::string::npos) << table;
  EXPECT_NE(table.find("closed"), std::string::npos);
  EXPECT_EQ(table.find("open:"), std::string::npos) << "a closed bucket has no reason line";
  EXPECT_NE(table.find("p50<= and p99<= are upper bounds"), std::string::npos) << "the latency columns say what they are";
  for (size_t at = 0, nl; (nl = table.find('\n', at)) != std::string::npos; at = nl + 1)
    EXPECT_LE(nl - at, 120u) << table.substr(at, nl - at);
  auto json = render_json(rep);
  EXPECT_NE(json.find("\"completeness\": 1.0"), std::string::npos) << json;
}

TEST(AuditReport, DuplicatesAreDroppedById) {
  Records r = complete_hour();
  r.counts("a", "dc-a", Tier::target, kT0, 7).repeat_last().repeat_last();  // one publish read three times
  ReportOptions o;
  o.now_ms = kT0 + 3 * 60 * kMin;
  auto rep = build_report(r.out, o);
  EXPECT_EQ(rep.duplicates, 2u);
  EXPECT_EQ(rep.buckets[0].target_records, 157u);
}

// Schema 2: a partition's counts over a segment, cumulative. A later process that resumed at
// the same committed offset publishes a superset under the same key: only the largest counts.
AuditRecord segment_record(const std::string& id, Tier tier, std::map<int32_t, std::tuple<int64_t, int64_t, uint64_t>> parts) {
  AuditRecord r;
  r.kind = AuditRecord::Kind::counts;
  r.id = id;
  r.route = "dc-a-to-aggregate";
  r.source_cluster = "dc-a";
  r.target_cluster = "aggregate";
  r.topic = "events";
  r.published_ms = kT0 + 2 * kBucket;
  r.tier = tier;
  r.bucket_start_ms = kT0;
  r.bucket_end_ms = kT0 + kBucket;
  for (const auto& [p, seg] : parts) {
    auto [segment, end, records] = seg;
    PartitionSpan s;
    s.segment = segment;
    s.end = end;
    s.records = records;
    s.batches = 1;
    s.first_offset = segment;
    s.last_offset = end - 1;
    r.partitions[p] = s;
    r.records += records;
  }
  return r;
}

TEST(AuditReport, SegmentsCountOnceEachAtTheirLargestEnd) {
  std::vector<AuditRecord> recs = {
      // Process 1 publishes [0, 100) of partition 0 twice (a commit failed in between), then dies.
      segment_record("a/1/1", Tier::source, {{0, {0, 60, 60}}, {1, {0, 10, 10}}}),
      segment_record("a/1/2", Tier::source, {{0, {0, 100, 100}}}),
      // Process 2 resumes at 0 (the last commit), finds [0, 100) delivered and goes on to 130.
      segment_record("b/1/1", Tier::source, {{0, {0, 130, 130}}}),
      // Its next segment, after committing 130.
      segment_record("b/1/2", Tier::source, {{0, {130, 150, 20}}}),
      segment_record("b/1/3", Tier::target, {{0, {0, 130, 130}}, {1, {0, 10, 10}}}),
      segment_record("b/1/4", Tier::target, {{0, {130, 150, 20}}}),
  };
  ReportOptions o;
  o.now_ms = kT0 + 3 * kBucket;
  auto rep = build_report(recs, o);
  ASSERT_EQ(rep.buckets.size(), 1u);
  EXPECT_EQ(rep.buckets[0].source_records, 160u);  // 150 of partition 0, 10 of partition 1
  EXPECT_EQ(rep.buckets[0].target_records, 160u);
  auto c = check(recs, "events", kT0, kT0 + kBucket, 0.999, 0, kT0 + 3 * kBucket);
  EXPECT_NE(c.line.find("160 of 160"), std::string::npos) << c.line;
}

TEST(AuditReport, LossLowersCompleteness) {
  Records r;
  r.counts("a", "dc-a", Tier::source, kT0, 900, 100).counts("a", "dc-a", Tier::target, kT0, 900);
  r.progress("a", "dc-a", kT0 + 60 * kMin, kT0 + 60 * kMin);
  ReportOptions o;
  o.now_ms = kT0 + 60 * kMin;
  auto rep = build_report(r.out, o);
  ASSERT_EQ(rep.buckets.size(), 1u);
  EXPECT_EQ(rep.buckets[0].lost, 100u);
  EXPECT_DOUBLE_EQ(rep.buckets[0].completeness, 0.9);
}

TEST(AuditReport, BucketsStayOpenForGraceAndForLaggingRoutes) {
  Records r;
  r.counts("a", "dc-a", Tier::source, kT0, 10).counts("a", "dc-a", Tier::target, kT0, 10);
  r.progress("a", "dc-a", kT0 + 25 * kMin, kT0 + 25 * kMin);
  r.progress("b", "dc-b", kT0 + 25 * kMin, kT0 + 12 * kMin, "events", 2);  // b is behind
  ReportOptions o;
  o.now_ms = kT0 + 15 * kMin;  // inside the grace period of 10:00-10:10
  auto rep = build_report(r.out, o);
  ASSERT_EQ(rep.buckets.size(), 1u);
  EXPECT_TRUE(rep.buckets[0].open);
  EXPECT_NE(rep.buckets[0].open_reason.find("grace period"), std::string::npos);
  o.now_ms = kT0 + 30 * kMin;  // grace over, but route b has counted only through 10:12
  rep = build_report(r.out, o);
  EXPECT_TRUE(rep.buckets[0].open);
  EXPECT_NE(rep.buckets[0].open_reason.find("route b"), std::string::npos) << rep.buckets[0].open_reason;
  EXPECT_NE(rep.buckets[0].open_reason.find("2 of 6 partitions behind"), std::string::npos);
  // The table says why, on the line under the bucket, not only "open".
  auto table = render_table(rep);
  EXPECT_NE(table.find("  open\n  open: " + rep.buckets[0].open_reason + "\n"), std::string::npos) << table;
  r.progress("b", "dc-b", kT0 + 40 * kMin, kT0 + 40 * kMin);
  rep = build_report(r.out, o);
  EXPECT_FALSE(rep.buckets[0].open) << rep.buckets[0].open_reason;
  // A route gone before the bucket began does not hold it open.
  Records gone = r;
  gone.progress("old", "dc-c", kT0 - 60 * kMin, kT0 - 60 * kMin);
  EXPECT_FALSE(build_report(gone.out, o).buckets[0].open);
}

TEST(AuditReport, FiltersByTopicAndTime) {
  Records r = complete_hour();
  r.counts("a", "dc-a", Tier::source, kT0, 3, 0, "other");
  ReportOptions o;
  o.now_ms = kT0 + 3 * 60 * kMin;
  o.topic = "events";
  o.from_ms = kT0 + kBucket;
  o.to_ms = kT0 + 3 * kBucket;
  auto rep = build_report(r.out, o);
  ASSERT_EQ(rep.buckets.size(), 2u);
  EXPECT_EQ(rep.buckets[0].start_ms, kT0 + kBucket);
  EXPECT_EQ(rep.buckets[1].start_ms, kT0 + 2 * kBucket);
}

TEST(AuditCheck, CompleteIncompleteAndCannotTell) {
  auto now = kT0 + 3 * 60 * kMin;
  auto hour = complete_hour().out;
  auto ok = check(hour, "events", kT0, kT0 + 60 * kMin, 0.999, 10 * kMin, now);
  EXPECT_EQ(ok.exit_code, 0) << ok.line;
  EXPECT_NE(ok.line.find("100.000%"), std::string::npos) << ok.line;
  EXPECT_NE(ok.line.find("900 of 900"), std::string::npos) << ok.line;

  Records lossy = complete_hour();
  lossy.counts("a", "dc-a", Tier::source, kT0 + 2 * kBucket, 0, 3);
  auto bad = check(lossy.out, "events", kT0, kT0 + 60 * kMin, 0.999, 10 * kMin, now);
  EXPECT_EQ(bad.exit_code, 1) << bad.line;
  EXPECT_NE(bad.line.find("3 lost"), std::string::npos) << bad.line;
  EXPECT_EQ(check(lossy.out, "events", kT0, kT0 + 60 * kMin, 0.99, 10 * kMin, now).exit_code, 0);

  EXPECT_EQ(check(hour, "nothing", kT0, kT0 + 60 * kMin, 0.999, 10 * kMin, now).exit_code, 2);
  auto unaligned = check(hour, "events", kT0 + 5 * kMin, kT0 + 65 * kMin, 0.999, 10 * kMin, now);
  EXPECT_EQ(unaligned.exit_code, 2);
  EXPECT_NE(unaligned.line.find("align"), std::string::npos);
  auto early = check(hour, "events", kT0, kT0 + 60 * kMin, 0.999, 10 * kMin, kT0 + 65 * kMin);
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.line.find("still open"), std::string::npos) << early.line;
  // An hour without any data, counted past by every route, is complete.
  EXPECT_EQ(check(hour, "events", kT0 - 60 * kMin, kT0, 0.999, 10 * kMin, now).exit_code, 0);
}

TEST(AuditScan, CountsBatchHeadersSkippingControlAndAbortedBatches) {
  using test::BatchBuilder;
  std::vector<protocol::RecordBatchView> batches;
  auto add = [&](BatchBuilder b) { batches.emplace_back(b.build_slice()); };
  add(BatchBuilder().base_offset(0).base_timestamp(kT0 + 1).add_n(3));
  // Records straddle 10:10: header-only scans count all in 10:00; --exact splits them.
  add(BatchBuilder()
          .base_offset(3)
          .base_timestamp(kT0 + kBucket - 1)
          .add(test::RecordSpec::kv("k", "v"))
          .add(test::RecordSpec::kv("k", "v").with_timestamp_delta(2)));
  add(BatchBuilder().base_offset(5).producer(7, 0, 0).transactional().base_timestamp(kT0).add_n(4));
  add(BatchBuilder().base_offset(9).producer(7, 0, 4).transactional().control(test::ControlType::abort));
  std::vector<protocol::FetchResponse::AbortedTransaction> aborted{{7, 5}};
  ScanOptions o;
  o.from_ms = kT0;
  o.to_ms = kT0 + 60 * kMin;
  ScanResult r;
  scan_partition(batches, aborted, o, r);
  ASSERT_EQ(r.buckets.size(), 1u);
  EXPECT_EQ(r.buckets[kT0].records, 5u);
  EXPECT_EQ(r.buckets[kT0].batches, 2u);
  EXPECT_EQ(r.aborted_batches, 1u);
  EXPECT_EQ(r.control_batches, 1u);
  o.exact = true;
  ScanResult exact;
  scan_partition(batches, aborted, o, exact);
  EXPECT_EQ(exact.buckets[kT0].records, 4u);
  EXPECT_EQ(exact.buckets[kT0 + kBucket].records, 1u);
  EXPECT_TRUE(exact.errors.empty());
  // Outside [from, to): not counted.
  o.exact = false;
  o.from_ms = kT0 + kBucket;
  ScanResult later;
  scan_partition(batches, aborted, o, later);
  EXPECT_TRUE(later.buckets.empty());
}

// The recount: complete_hour() has dc-a counting 100 records per 10-minute bucket at the source.
struct Recount {
  std::vector<AuditRecord> records = complete_hour().out;
  int64_t now = kT0 + 3 * 60 * kMin, end = kT0 + 60 * kMin;
  ScanResult scan;
  Recount() {
    for (int i = 0; i < 6; ++i) scan.buckets[kT0 + i * kBucket].records = 100;
  }
  CheckResult run(const std::string& cluster = "dc-a") {
    auto base = check(records, "events", kT0, end, 0.999, 10 * kMin, now);
    ReportOptions o;
    o.topic = "events";
    o.from_ms = kT0;
    o.to_ms = end;
    return recount(base, build_report(records, o), "events", cluster, scan, kT0, end, kBucket);
  }
};

TEST(AuditRecount, EqualCountsMatch) {
  auto r = Recount().run();
  EXPECT_EQ(r.exit_code, 0) << r.line;
  EXPECT_NE(r.line.find("complete: 'events'"), std::string::npos) << "the audit's own line stays: " << r.line;
  EXPECT_NE(r.line.find("recounted on dc-a: 600 records match"), std::string::npos) << r.line;
}

TEST(AuditRecount, MoreOnTheSourceIsIncompleteNamingClusterAndBucket) {
  Recount rc;
  rc.scan.buckets[kT0 + 2 * kBucket].records = 120;  // a partition no route mirrors
  rc.scan.buckets[kT0 + 4 * kBucket].records = 101;
  auto r = rc.run();
  EXPECT_EQ(r.exit_code, 1) << r.line;
  EXPECT_NE(r.line.find("incomplete: dc-a holds 120 records of 'events' in " + format_utc(kT0 + 2 * kBucket) + ".." +
                        format_utc(kT0 + 3 * kBucket) + ", the routes counted 100"),
            std::string::npos)
      << r.line;
  EXPECT_NE(r.line.find("counted 100 (and 1 more bucket short; a partition or route not mirrored?)"), std::string::npos)
      << r.line;
  EXPECT_NE(r.line.find("not mirrored?"), std::string::npos) << r.line;
  // A source no route reported (never ran, or another source.name): everything it holds is missing.
  Recount other;
  auto never = other.run("dc-c");
  EXPECT_EQ(never.exit_code, 1) << never.line;
  EXPECT_NE(never.line.find("dc-c holds 100 records"), std::string::npos) << never.line;
  EXPECT_NE(never.line.find("no route reported 'dc-c'"), std::string::npos) << never.line;
}

TEST(AuditRecount, FewerOnTheSourcePassesWithANote) {
  Recount rc;
  rc.scan.buckets.erase(kT0);  // retention removed the oldest bucket since it was counted
  rc.scan.buckets[kT0 + kBucket].records = 40;
  auto r = rc.run();
  EXPECT_EQ(r.exit_code, 0) << r.line;
  EXPECT_NE(r.line.find("recounted on dc-a: it holds 440 records, the routes counted 600 (note: fewer"),
            std::string::npos)
      << r.line;
}

TEST(AuditRecount, CannotTellAndIncompleteStand) {
  Recount open;
  open.now = kT0 + 65 * kMin;  // grace period of the last bucket not over
  open.scan.buckets[kT0].records = 1000;
  auto r = open.run();
  EXPECT_EQ(r.exit_code, 2) << r.line;
  EXPECT_EQ(r.line.find("recount"), std::string::npos) << r.line;

  Recount unreadable;
  unreadable.scan.errors.push_back("batch at offset 7: malformed");
  EXPECT_EQ(unreadable.run().exit_code, 2);

  Recount lossy;
  Records extra;
  extra.counts("a", "dc-a", Tier::source, kT0, 0, 5);  // the audit itself says incomplete
  lossy.records.push_back(extra.out[0]);
  lossy.records.back().id = "lossy";
  auto match = lossy.run();
  EXPECT_EQ(match.exit_code, 1) << "a matching recount does not make an incomplete window complete: " << match.line;
  lossy.scan.buckets[kT0].records = 150;
  auto both = lossy.run();
  EXPECT_EQ(both.exit_code, 1) << both.line;
  EXPECT_EQ(both.line.find("incomplete: dc-a holds 150"), 0u) << both.line;
  EXPECT_NE(both.line.find("; and incomplete: 'events'"), std::string::npos) << both.line;
}

TEST(AuditRecount, BucketsOutsideTheWindowAreIgnored) {
  Recount rc;
  rc.scan.buckets[kT0 - kBucket].records = 500;       // before the window
  rc.scan.buckets[kT0 + 6 * kBucket].records = 500;   // after it
  rc.records.push_back(rc.records[0]);                // and audit counts there too
  rc.records.back().id = "later";
  rc.records.back().bucket_start_ms = kT0 + 7 * kBucket;
  rc.records.back().bucket_end_ms = kT0 + 8 * kBucket;
  auto r = rc.run();
  EXPECT_EQ(r.exit_code, 0) << r.line;
  EXPECT_NE(r.line.find("600 records match"), std::string::npos) << r.line;
}

TEST(AuditRecount, BucketSizeComesFromTheAuditRecords) {
  auto records = complete_hour().out;
  EXPECT_EQ(recount_bucket_ms(records, "events", kT0, kT0 + 60 * kMin), kBucket);
  records.push_back(records[0]);
  records.back().bucket_end_ms = records.back().bucket_start_ms + 5 * kMin;  // a route with 5-minute buckets
  EXPECT_EQ(recount_bucket_ms(records, "events", kT0, kT0 + 60 * kMin), std::nullopt);
  // Nothing counted in the window: buckets that tile it (an hour at a whole hour).
  EXPECT_EQ(recount_bucket_ms(records, "events", kT0 - 60 * kMin, kT0), 60 * kMin);
  EXPECT_EQ(recount_bucket_ms(records, "events", kT0 - 90 * kMin, kT0), 30 * kMin);
}

}  // namespace
}  // namespace tiermirror::audit
