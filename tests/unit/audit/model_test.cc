#include "tiermirror/audit/model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/paths.h"

namespace tiermirror::audit {
namespace {

constexpr int64_t kMin = 60 * 1000;

TEST(AuditTime, BucketsAlignToTheEpochAndHandleNegatives) {
  EXPECT_EQ(bucket_floor(0, 10 * kMin), 0);
  EXPECT_EQ(bucket_floor(10 * kMin - 1, 10 * kMin), 0);
  EXPECT_EQ(bucket_floor(10 * kMin, 10 * kMin), 10 * kMin);
  EXPECT_EQ(bucket_floor(-1, 10 * kMin), -10 * kMin);
  // 2026-11-22T10:07:31Z falls in the 10:00 bucket.
  auto t = parse_utc("2026-11-22T10:07:31Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_utc(bucket_floor(*t, 10 * kMin)), "2026-11-22T10:00:00Z");
}

TEST(AuditTime, ParsesTheSpellingsItDocuments) {
  EXPECT_EQ(parse_utc("1970-01-01"), 0);
  EXPECT_EQ(parse_utc("1970-01-01T00:01Z"), kMin);
  EXPECT_EQ(parse_utc("2026-11-22T10:00Z"), 1795341600000);
  EXPECT_EQ(parse_utc("2026-11-22T10:00:00.250Z"), 1795341600250);
  EXPECT_EQ(parse_utc("1795341600000"), 1795341600000);
  EXPECT_EQ(parse_utc("2024-02-29"), parse_utc("2024-02-28").value() + 24 * 60 * kMin);
  for (const char* bad : {"", "2026-11-22T10:00", "2026-13-01", "2026-02-30", "2023-02-29", "2026-11-22T24:00Z",
                          "2026-11-22 10:00Z", "2026-11-22T10:00Zjunk", "12345"})
    EXPECT_FALSE(parse_utc(bad)) << bad;
  EXPECT_EQ(format_utc(1795341600250), "2026-11-22T10:00:00.250Z");
  EXPECT_EQ(parse_utc(format_utc(1795341600000)), 1795341600000);
}

TEST(AuditLatency, QuantilesAreBucketBoundsCappedByTheMaximum) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), -1);
  for (int i = 0; i < 98; ++i) h.add(40);  // bucket (20, 50]
  h.add(3000);                              // (2000, 5000]
  h.add(7000);                              // (5000, 10000]
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.max_ms(), 7000);
  EXPECT_EQ(h.quantile(0.5), 50);
  EXPECT_EQ(h.quantile(0.98), 50);
  EXPECT_EQ(h.quantile(0.99), 5000);
  EXPECT_EQ(h.quantile(1.0), 7000);  // the last bucket's bound (10000) capped by the max
  h.add(-5);                          // clock skew: counted as 0
  EXPECT_EQ(h.counts()[0], 1u);
  LatencyHistogram huge;
  huge.add(int64_t{10} * 24 * 3600 * 1000);  // beyond the last bound: the overflow bucket
  EXPECT_EQ(huge.counts().back(), 1u);
  EXPECT_EQ(huge.quantile(0.5), huge.max_ms());
}

TEST(AuditLatency, MergingIsExact) {
  LatencyHistogram a, b, all;
  for (int ms : {1, 10, 100}) {
    a.add(ms);
    all.add(ms);
  }
  for (int ms : {1000, 100000}) {
    b.add(ms);
    all.add(ms);
  }
  a.merge(b);
  EXPECT_EQ(a, all);
}

AuditRecord sample_counts() {
  AuditRecord r;
  r.kind = AuditRecord::Kind::counts;
  r.id = "dc-a-to-aggregate/0123456789abcdef/7";
  r.route = "dc-a-to-aggregate";
  r.source_cluster = "dc-a";
  r.target_cluster = "aggregate";
  r.topic = "events";
  r.published_ms = 1795342000000;
  r.tier = Tier::target;
  r.bucket_start_ms = 1795341600000;
  r.bucket_end_ms = 1795342200000;
  r.records = 1000;
  r.batches = 5;
  r.bytes = 123456;
  r.lost = 0;
  r.latency.add(120);
  r.latency.add(4000);
  // Schema 2: each partition's counts over its segment [segment, end).
  r.partitions[0] = PartitionSpan{100, 599, {}, 100, 600, 500, 2, 60000, 0};
  r.partitions[3] = PartitionSpan{0, 499, {{500, 519}}, 0, 520, 500, 3, 63456, 0};
  return r;
}

TEST(AuditRecordJson, RoundTripsCountsAndProgress) {
  auto r = sample_counts();
  auto back = from_json(to_json(r));
  ASSERT_TRUE(back) << to_json(r);
  EXPECT_EQ(*back, r);

  AuditRecord p;
  p.kind = AuditRecord::Kind::progress;
  p.id = "x/1/2";
  p.route = "x";
  p.source_cluster = "dc-b";
  p.target_cluster = "aggregate";
  p.topic = "events";
  p.published_ms = 5;
  p.watermark_ms = 4;
  p.partitions_total = 6;
  p.partitions_behind = 1;
  auto pb = from_json(to_json(p));
  ASSERT_TRUE(pb);
  EXPECT_EQ(*pb, p);
}

TEST(AuditRecordJson, NamesTheFieldsOfTheSchema) {
  auto j = to_json(sample_counts());
  for (const char* field : {"\"schema\":2", "\"segment\":100", "\"end\":600", "\"id\":", "\"route\":", "\"source_cluster\":\"dc-a\"",
                            "\"target_cluster\":\"aggregate\"", "\"tier\":\"target\"", "\"cluster\":\"aggregate\"",
                            "\"bucket_start\":\"2026-11-22T10:00:00Z\"", "\"bucket_end\":\"2026-11-22T10:10:00Z\"",
                            "\"records\":1000", "\"batches\":5", "\"bytes\":123456", "\"lost\":0", "\"p99_ms\":",
                            "\"first_offset\":100", "\"last_offset\":599", "\"lost_ranges\":[[500,519]]"})
    EXPECT_NE(j.find(field), std::string::npos) << field << " in " << j;
}

TEST(AuditRecordJson, RejectsWhatItCannotTrustWithAReason) {
  std::string why;
  EXPECT_FALSE(from_json("not json", &why));
  EXPECT_EQ(why, "not a JSON object");
  EXPECT_FALSE(from_json("[1,2]", &why));
  auto text = to_json(sample_counts());
  auto replace = [&](const std::string& from, const std::string& to) {
    auto t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_FALSE(from_json(replace("\"schema\":2", "\"schema\":3"), &why));
  EXPECT_NE(why.find("newer"), std::string::npos);
  EXPECT_FALSE(from_json(replace("\"segment\":100", "\"segmentx\":100"), &why));  // schema 2 needs it
  EXPECT_NE(why.find("segment"), std::string::npos) << why;
  EXPECT_FALSE(from_json(replace("\"records\":1000", "\"records\":\"1000\""), &why));
  EXPECT_FALSE(from_json(replace("\"tier\":\"target\"", "\"tier\":\"middle\""), &why));
  EXPECT_FALSE(from_json(replace("\"id\":\"dc-a-to-aggregate/0123456789abcdef/7\"", "\"id\":\"\""), &why));
  // Unknown fields are ignored: newer writers may add some.
  EXPECT_TRUE(from_json(replace("\"schema\":2", "\"schema\":2,\"future\":[1,2,3]")));
}

TEST(AuditRecordJson, TheDocumentedExamplesParse) {
  // tests/fixtures/audit holds the examples of docs/audit.md (and seeds the fuzzer).
  for (const char* name : {"counts.json", "counts-schema1.json", "progress.json"}) {
    std::ifstream in(std::string(TIERMIRROR_FIXTURE_DIR) + "/audit/" + name);
    std::stringstream text;
    text << in.rdbuf();
    std::string why;
    auto r = from_json(text.str(), &why);
    ASSERT_TRUE(r) << name << ": " << why;
    if (r->kind == AuditRecord::Kind::counts) {
      EXPECT_EQ(r->latency.quantile(0.5), 500);
      EXPECT_EQ(r->latency.quantile(0.99), 1870);
      if (r->schema == 1) EXPECT_EQ(r->partitions.at(3).lost_ranges.size(), 1u);
      if (r->schema == 2) EXPECT_EQ(r->partitions.at(0).segment, 40100);
    }
  }
}

}  // namespace
}  // namespace tiermirror::audit
