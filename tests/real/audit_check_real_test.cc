// `audit check --recount-source` on real brokers: the audit alone cannot see records that no
// route mirrored; recounting the window on the source from batch headers can. A route mirrors a
// window of one topic (a second topic it does not select sits beside it), then records are
// written into that window with no route running: the plain check still passes, the recount
// fails naming the source cluster.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "mock_support.h"
#include "real_env.h"
#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/audit/model.h"
#include "tiermirror/control/rdkafka_admin.h"

namespace tiermirror::test {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kAdminTimeout{15000};
constexpr int64_t kBucket = 60 * 1000;  // the route's audit.bucket: 1m
constexpr int64_t kWindow = 10 * kBucket;


// `records` records with CreateTimes spread over [from, from + span).
int produce_at(const std::string& bootstrap, const std::string& topic, int records, int64_t from, int64_t span,
               uint64_t seed) {
  app::TrafficOptions t;
  t.codec = "zstd";
  t.records = records;
  t.batch_records = 25;
  t.seed = seed;
  t.timestamp_ms = from;
  t.timestamp_step_ms = span / records;
  return app::produce_traffic(bootstrap, topic, t);
}

TEST(AuditCheckReal, RecountOnTheSourceFindsRecordsNoRouteMirrored) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch s("tm-real-audit-check");
  const std::string topic = real::unique_topic("recount");
  const std::string other = topic + "-unselected";
  const std::string audit_topic = topic + ".audit";
  // A past window on bucket boundaries, an hour back: closed once the route has counted past it.
  auto now = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t t0 = audit::bucket_floor(now - 60 * kBucket, kBucket);
  const std::string window = audit::format_utc(t0) + "/10m";

  control::RdKafkaAdmin src({"source", env.source.bootstrap, "tiermirror-test", {}, {}});
  for (const auto& t : {topic, other}) {
    auto e = src.create_topic(t, 2, -1, {}, kAdminTimeout);
    ASSERT_FALSE(e) << e->str();
  }
  ASSERT_EQ(produce_at(env.source.bootstrap, topic, 400, t0 + 1000, kWindow - 2000, 1), 400);
  ASSERT_EQ(produce_at(env.source.bootstrap, other, 100, t0 + 1000, kWindow - 2000, 2), 100);

  auto config = s.dir / "route.yaml";
  std::ofstream(config) << "route: {name: " << topic << "}\n"
                        << "source: {name: source, bootstrap_servers: " << yaml_list(env.source.bootstrap) << "}\n"
                        << "target: {name: target, bootstrap_servers: " << yaml_list(env.target.bootstrap) << "}\n"
                        << "topics: {include: [" << topic << "]}\n"
                        << "commit_interval: 1s\nmetrics: {listen: \"\"}\n"
                        << "audit: {topic: " << audit_topic << ", bucket: 1m, publish_interval: 1s}\n";
  auto log = s.dir / "run.stderr";
  auto run = run_command("timeout 90 " + std::string(TIERMIRROR_BINARY) + " run --until-caught-up --config " +
                         config.string() + " 2>" + log.string());
  ASSERT_EQ(run.status, 0) << read_file(log);

  auto check = [&](const std::string& t, const std::string& extra) {
    return run_command(std::string(TIERMIRROR_BINARY) + " audit check --bootstrap " + env.target.bootstrap +
                       " --audit-topic " + audit_topic + " --topic " + t + " --window " + window + " --grace 1m " +
                       extra + " 2>>" + (s.dir / "check.stderr").string());
  };
  const std::string recount = "--recount-source source=" + env.source.bootstrap;

  // Everything the source holds in the window was mirrored: the recount agrees.
  auto match = check(topic, recount);
  EXPECT_EQ(match.status, 0) << match.out << read_file(s.dir / "check.stderr");
  EXPECT_NE(match.out.find("recounted on source: 400 records match"), std::string::npos) << match.out;
  // The topic no route selects has no audit records: cannot tell, recount or not.
  auto unselected = check(other, recount);
  EXPECT_EQ(unselected.status, 2) << unselected.out;

  // Records written into the closed window while no route runs: invisible to the audit.
  ASSERT_EQ(produce_at(env.source.bootstrap, topic, 60, t0 + 3 * kBucket + 500, 2 * kBucket, 3), 60);
  auto plain = check(topic, "");
  EXPECT_EQ(plain.status, 0) << "the audit alone cannot see them: " << plain.out;
  auto gap = check(topic, recount);
  EXPECT_EQ(gap.status, 1) << gap.out << read_file(s.dir / "check.stderr");
  EXPECT_NE(gap.out.find("incomplete: source holds "), std::string::npos) << gap.out;
  EXPECT_NE(gap.out.find("of '" + topic + "' in "), std::string::npos) << gap.out;
  EXPECT_NE(gap.out.find("not mirrored?"), std::string::npos) << gap.out;

  // A source cluster that cannot be read: cannot tell, never a pass.
  auto down = check(topic, "--recount-source source=127.0.0.1:1 --timeout-ms 3000");
  EXPECT_EQ(down.status, 2) << down.out;
  EXPECT_NE(down.out.find("cannot tell: recounting on source"), std::string::npos) << down.out;

  std::printf("[ summary  ] kafka %s: '%s' %s\n  match: %s  plain: %s  gap:   %s  down:  %s",
              env.kafka_version.c_str(), topic.c_str(), window.c_str(), match.out.c_str(), plain.out.c_str(),
              gap.out.c_str(), down.out.c_str());
}

}  // namespace
}  // namespace tiermirror::test
