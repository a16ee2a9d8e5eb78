// The operations surface without a route: lag arithmetic, readiness, pause-reason kinds,
// the /status JSON, the HTML page's escaping, the metric families (with and without
// per-partition labels) and the reload plan.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tiermirror/app/ops.h"
#include "tiermirror/app/reload.h"
#include "tiermirror/metrics/exposition.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {
namespace {

pipeline::PartitionStatus part(std::string topic, int32_t p, pipeline::PartitionState st, int64_t hwm, int64_t acked) {
  pipeline::PartitionStatus s;
  s.tp = {std::move(topic), p};
  s.state = st;
  s.high_watermark = hwm;
  s.acked_offset = acked;
  s.committed_offset = acked;
  s.next_fetch_offset = hwm;
  return s;
}

OpsSnapshot snapshot() {
  OpsSnapshot s;
  s.route_name = "dc-a-to-aggregate";
  s.consumer_group = "tiermirror-dc-a-to-aggregate";
  s.source_name = "dc-a";
  s.target_name = "aggregate";
  s.source_bootstrap = {"kafka-a:9092"};
  s.target_bootstrap = {"kafka-agg:9092"};
  s.process = ProcessState::running;
  s.route_answered = true;
  s.route.metadata_loaded = true;
  s.route.producer_ready = true;
  s.route.buffered_bytes = 1000;
  s.route.budget_bytes = 5000;
  s.now_ms = 1'000'000;
  auto a = part("orders", 0, pipeline::PartitionState::running, 150, 100);
  a.acked_max_timestamp = 990'000;
  a.records = 100;
  a.batches = 4;
  a.bytes = 4096;
  a.buffered_bytes = 300;
  a.repacked_by_reason["offset_gaps"] = 2;
  a.dropped = 1;
  auto b = part("orders", 1, pipeline::PartitionState::paused, 80, 80);
  b.reason = "corrupt source batch at offset 80 (crc_mismatch) <script>alert(1)</script>";
  auto c = part("clicks", 0, pipeline::PartitionState::waiting_target, 10, 0);
  c.reason = "target partition 0 of 'clicks' does not exist";
  auto d = part("clicks", 1, pipeline::PartitionState::resume_waiting, 10, 0);
  d.reason = "exactly-once resume scan failed 3 time(s), retrying in 800 ms: target Fetch: timed out";
  d.resume_scan_failures = 3;
  s.route.partitions = {a, b, c, d};
  s.source_in_flight = 2;
  s.target_in_flight = 3;
  s.receive_buffers = BufferPool::Stats{4096, 8192, 7, 3, 2};
  return s;
}

TEST(Ops, LagIsHighWatermarkMinusTheFirstUnacknowledgedOffset) {
  auto s = part("t", 0, pipeline::PartitionState::running, 150, 100);
  s.acked_max_timestamp = 990'000;
  auto lag = partition_lag(s, 1'000'000);
  EXPECT_EQ(lag.records, 50);
  EXPECT_DOUBLE_EQ(lag.seconds, 10.0);
  s.acked_offset = 150;  // caught up: no lag in seconds either
  lag = partition_lag(s, 1'000'000);
  EXPECT_EQ(lag.records, 0);
  EXPECT_EQ(lag.seconds, 0);
  s.high_watermark = -1;  // unknown yet
  EXPECT_EQ(partition_lag(s, 1'000'000).records, 0);
  s.high_watermark = 150;
  s.acked_offset = -1;  // nothing acknowledged yet: counted from the next fetch offset
  s.next_fetch_offset = 120;
  EXPECT_EQ(partition_lag(s, 1'000'000).records, 30);
}

TEST(Ops, ReadinessSaysWhy) {
  auto s = snapshot();
  EXPECT_TRUE(readiness(s).ready);
  s.route.producer_ready = false;
  EXPECT_EQ(readiness(s).reason, "no idempotent producer id from the target yet");
  s.route.metadata_loaded = false;
  EXPECT_FALSE(readiness(s).ready);
  s.process = ProcessState::stopping;
  EXPECT_EQ(readiness(s).reason, "stopping");
  s.process = ProcessState::starting;
  EXPECT_EQ(readiness(s).reason, "starting");
}

TEST(Ops, PauseReasonsHaveBoundedKinds) {
  EXPECT_EQ(pause_kind("corrupt source batch at offset 5 (crc_mismatch)"), "corrupt_source_batch");
  EXPECT_EQ(pause_kind("malformed record set from the source at fetch offset 3 (truncated)"), "corrupt_source_batch");
  EXPECT_EQ(pause_kind("TOPIC_AUTHORIZATION_FAILED reading the source: the route may not read 'x'"),
            "source_authorization");
  EXPECT_EQ(pause_kind("TOPIC_AUTHORIZATION_FAILED writing the target: the route may not write 'x'"),
            "target_authorization");
  EXPECT_EQ(pause_kind("MESSAGE_TOO_LARGE: a batch exceeds the target topic's max.message.bytes"), "message_too_large");
  EXPECT_EQ(pause_kind("INVALID_RECORD from the target"), "target_refused");
  EXPECT_EQ(pause_kind("target topic config breaks identity (partition_sync.identity_violation: refuse): x"),
            "identity_refused");
  EXPECT_EQ(pause_kind("topic 'x' no longer exists on the source"), "topic_deleted");
  EXPECT_EQ(pause_kind("fetch offset 9 is beyond the source log end (topic recreated?)"), "offset_beyond_log_end");
  EXPECT_EQ(pause_kind("INVALID_REQUEST from the source broker on Fetch (not retriable)"), "source_refused");
  EXPECT_EQ(pause_kind("cannot repack the batch at offset 1: x"), "repack_failed");
  EXPECT_EQ(pause_kind("exactly-once resume scan refused (TOPIC_AUTHORIZATION_FAILED: x): target Fetch"),
            "resume_scan_refused");
  EXPECT_EQ(pause_kind("something new"), "other");
  for (auto k : pause_kinds()) EXPECT_FALSE(k.empty());
}

TEST(Ops, StatusJsonHasTheRouteTopicsAndPartitions) {
  auto j = nlohmann::json::parse(status_json(snapshot()));
  EXPECT_EQ(j["route"], "dc-a-to-aggregate");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["source"]["name"], "dc-a");
  EXPECT_EQ(j["source"]["bootstrap_servers"][0], "kafka-a:9092");
  EXPECT_EQ(j["target"]["name"], "aggregate");
  EXPECT_EQ(j["requests_in_flight"]["target"], 3);
  EXPECT_EQ(j["budget_bytes"], 5000);
  ASSERT_EQ(j["topics"].size(), 2u);
  const auto& orders = j["topics"][0];
  EXPECT_EQ(orders["topic"], "orders");
  ASSERT_EQ(orders["partitions"].size(), 2u);
  const auto& p0 = orders["partitions"][0];
  EXPECT_EQ(p0["state"], "running");
  EXPECT_EQ(p0["lag_records"], 50);
  EXPECT_EQ(p0["lag_seconds"], 10.0);
  EXPECT_EQ(p0["high_watermark"], 150);
  EXPECT_EQ(p0["committed_offset"], 100);
  EXPECT_EQ(p0["mirrored"]["records"], 100);
  EXPECT_EQ(p0["repacked_by_reason"]["offset_gaps"], 2);
  EXPECT_EQ(orders["partitions"][1]["state"], "paused");
  EXPECT_NE(orders["partitions"][1]["reason"].get<std::string>().find("corrupt source batch"), std::string::npos);
  EXPECT_EQ(j["topics"][1]["partitions"][0]["state"], "waiting_target");
  const auto& waiting = j["topics"][1]["partitions"][1];
  EXPECT_EQ(waiting["state"], "resume_waiting");
  EXPECT_NE(waiting["reason"].get<std::string>().find("retrying in 800 ms"), std::string::npos);
  EXPECT_EQ(waiting["resume"]["scan_failures"], 3);
}

TEST(Ops, StatusJsonSurvivesBytesThatAreNotUtf8) {
  auto s = snapshot();
  s.route.partitions[1].reason = std::string("broker said \xff\xfe");
  EXPECT_NO_THROW(nlohmann::json::parse(status_json(s)));
}

TEST(Ops, HtmlPageEscapesEveryString) {
  auto s = snapshot();
  s.source_name = "<b>dc-a</b>";
  auto html = status_html(s);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>dc-a</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;dc-a&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("orders"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos) << "no external assets";
  EXPECT_EQ(html.find("https://"), std::string::npos) << "no external assets";
}

std::string render(RouteMetrics& m, metrics::Exposition& e, const OpsSnapshot& s) { return e.render(m.scrape(s)); }

TEST(Ops, AuditFiguresAreExported) {
  metrics::Exposition e;
  RouteMetrics m(*e.registry(), "r1", true);
  auto s = snapshot();
  EXPECT_EQ(render(m, e, s).find("tiermirror_audit_"), std::string::npos) << "audit disabled: no audit families";
  s.audit = OpsSnapshot::Audit{{1000, 900, 100}, {42, 1, 3}};
  auto text = render(m, e, s);
  for (const char* line : {"tiermirror_audit_records_total{route=\"r1\",tier=\"source\"} 1000",
                           "tiermirror_audit_records_total{route=\"r1\",tier=\"target\"} 900",
                           "tiermirror_audit_lost_records_total{route=\"r1\"} 100",
                           "tiermirror_audit_completeness_ratio{route=\"r1\"} 0.818",
                           "tiermirror_audit_published_records_total{route=\"r1\"} 42",
                           "tiermirror_audit_publish_failures_total{route=\"r1\"} 1",
                           "tiermirror_audit_pending_records{route=\"r1\"} 3"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

TEST(Ops, MetricsHaveEveryFamily) {
  metrics::Exposition e;
  RouteMetrics m(*e.registry(), "r1", true);
  pipeline::BatchFacts f{SourceOffset(0), SourceOffset(9), 10, 1000, 990'000, 999'500};
  m.acked({"orders", 0}, f, 1'000'000);
  m.request_failed(protocol::ApiKey::produce, make_error_code(kafka_errc::not_leader_or_follower));
  m.request_failed(protocol::ApiKey::fetch, make_error_code(errc::disconnected));
  m.lost({"orders", 0}, SourceOffset(0), SourceOffset(4), "retention");
  control::SyncReport report;
  report.actions.push_back({control::SyncAction::Kind::create_topic, control::SyncAction::Outcome::done, "orders", 3, 0, 3, ""});
  report.verdicts.push_back({"orders", {"compression.type=gzip"}, false, false});
  m.sync_pass(report);
  m.reload(false);
  auto text = render(m, e, snapshot());
  for (const char* family :
       {"tiermirror_mirrored_records_total", "tiermirror_mirrored_batches_total", "tiermirror_mirrored_bytes_total",
        "tiermirror_partition_mirrored_records_total", "tiermirror_batches_repacked_total",
        "tiermirror_batches_dropped_total", "tiermirror_lost_offsets_total", "tiermirror_request_errors_total",
        "tiermirror_syncer_passes_total", "tiermirror_syncer_actions_total", "tiermirror_syncer_identity_verdicts_total",
        "tiermirror_config_reloads_total", "tiermirror_replication_latency_seconds", "tiermirror_lag_records",
        "tiermirror_lag_seconds", "tiermirror_partitions", "tiermirror_partition_buffered_bytes",
        "tiermirror_paused_partitions", "tiermirror_buffered_bytes", "tiermirror_buffer_budget_bytes",
        "tiermirror_requests_in_flight", "tiermirror_ready", "tiermirror_build_info", "tiermirror_start_time_seconds",
        "tiermirror_receive_buffer_bytes", "tiermirror_receive_buffers_total"})
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family << "\n" << text;
  EXPECT_NE(text.find("tiermirror_mirrored_records_total{route=\"r1\",topic=\"orders\"} 10"), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_lag_records{route=\"r1\",topic=\"orders\",partition=\"0\"} 50"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_partitions{route=\"r1\",topic=\"orders\",partition=\"1\",state=\"paused\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tiermirror_paused_partitions{route=\"r1\",reason=\"corrupt_source_batch\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_paused_partitions{route=\"r1\",reason=\"other\"} 0"), std::string::npos);
  EXPECT_NE(text.find("api=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\""), std::string::npos) << text;
  EXPECT_NE(text.find("error=\"disconnected\""), std::string::npos);
  EXPECT_NE(text.find("tiermirror_requests_in_flight{route=\"r1\",cluster=\"target\"} 3"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_receive_buffer_bytes{route=\"r1\",state=\"in_use\"} 8192"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_receive_buffer_bytes{route=\"r1\",state=\"idle\"} 4096"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_receive_buffers_total{route=\"r1\",block=\"reused\"} 7"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_receive_buffers_total{route=\"r1\",block=\"resized\"} 3"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_receive_buffers_total{route=\"r1\",block=\"allocated\"} 2"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_replication_latency_seconds_bucket{route=\"r1\",le=\"1\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tiermirror_syncer_identity_verdicts_total{route=\"r1\",verdict=\"warning\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tiermirror_config_reloads_total{result=\"rejected\",route=\"r1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_lost_offsets_total{route=\"r1\",topic=\"orders\"} 5"), std::string::npos);
  // Cumulative figures from snapshots count once: a second scrape adds nothing.
  EXPECT_NE(text.find("tiermirror_batches_repacked_total{reason=\"offset_gaps\",route=\"r1\",topic=\"orders\"} 2"),
            std::string::npos)
      << text;
  text = render(m, e, snapshot());
  EXPECT_NE(text.find("tiermirror_batches_repacked_total{reason=\"offset_gaps\",route=\"r1\",topic=\"orders\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("tiermirror_batches_dropped_total{route=\"r1\",topic=\"orders\"} 1"), std::string::npos);
  // A partition waiting for its resume scan, and the failed scans (counted once).
  EXPECT_NE(text.find("tiermirror_partitions{route=\"r1\",topic=\"clicks\",partition=\"1\",state=\"resume_waiting\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tiermirror_resume_scan_failures_total{route=\"r1\",topic=\"clicks\"} 3"), std::string::npos)
      << text;
}

TEST(Ops, WithoutPerPartitionLabelsEverythingAggregatesPerTopic) {
  metrics::Exposition e;
  RouteMetrics m(*e.registry(), "r1", false);
  m.acked({"orders", 0}, {SourceOffset(0), SourceOffset(9), 10, 1000, -1, -1}, 1'000'000);
  m.acked({"orders", 1}, {SourceOffset(0), SourceOffset(4), 5, 500, -1, -1}, 1'000'000);
  auto s = snapshot();
  auto text = render(m, e, s);
  EXPECT_EQ(text.find("partition=\""), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_mirrored_records_total{route=\"r1\",topic=\"orders\"} 15"), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_lag_records{route=\"r1\",topic=\"orders\"} 50"), std::string::npos) << text;
  EXPECT_NE(text.find("tiermirror_partitions{route=\"r1\",topic=\"orders\",state=\"running\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_partitions{route=\"r1\",topic=\"orders\",state=\"paused\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tiermirror_partition_buffered_bytes{route=\"r1\",topic=\"orders\"} 300"), std::string::npos);
  // And live: turning them on adds partition series, turning them off removes them again.
  m.set_per_partition_labels(true);
  m.acked({"orders", 0}, {SourceOffset(10), SourceOffset(19), 10, 1000, -1, -1}, 1'000'000);
  EXPECT_NE(render(m, e, s).find("partition=\"0\""), std::string::npos);
  m.set_per_partition_labels(false);
  EXPECT_EQ(render(m, e, s).find("partition=\""), std::string::npos);
}

config::Config base_config() {
  auto r = config::load_string(R"(
route: {name: r1}
source: {name: a, bootstrap_servers: ["a:9092"]}
target: {name: b, bootstrap_servers: ["b:9092"]}
topics: {include: [orders]}
)", "");
  EXPECT_TRUE(r.ok());
  return *r.config;
}

TEST(Reload, SplitsLiveKeysFromRestartKeysAndKeepsTheOldValues) {
  auto running = base_config();
  auto next = running;
  next.topics.include.push_back(config::TopicPattern::exact("clicks"));
  next.limits.total_bytes *= 2;
  next.commit_interval = std::chrono::seconds(1);
  next.source.bootstrap_servers = {{"c", 9092}};
  next.consumer_group = "other";
  next.metrics.listen = config::HostPort{"0.0.0.0", 9999};
  next.target.security.protocol = config::SecurityProtocol::ssl;
  next.membership.mode = config::MembershipConfig::Mode::group;
  next.membership.session_timeout = std::chrono::seconds(60);
  auto plan = plan_reload(running, next);
  auto has = [](const std::vector<std::string>& v, const std::string& k) {
    return std::find(v.begin(), v.end(), k) != v.end();
  };
  EXPECT_TRUE(has(plan.live, "topics.include"));
  EXPECT_TRUE(has(plan.live, "limits.total_bytes"));
  EXPECT_TRUE(has(plan.live, "commit_interval"));
  EXPECT_TRUE(has(plan.restart, "source.bootstrap_servers"));
  EXPECT_TRUE(has(plan.restart, "consumer_group"));
  EXPECT_TRUE(has(plan.restart, "metrics.listen"));
  EXPECT_TRUE(has(plan.restart, "target.security"));
  EXPECT_TRUE(has(plan.restart, "membership.mode"));
  EXPECT_TRUE(has(plan.restart, "membership.session_timeout"));
  EXPECT_EQ(plan.effective.source.bootstrap_servers, running.source.bootstrap_servers);
  EXPECT_EQ(plan.effective.consumer_group, running.consumer_group);
  EXPECT_EQ(plan.effective.metrics.listen, running.metrics.listen);
  EXPECT_EQ(plan.effective.target.security.protocol, config::SecurityProtocol::plaintext);
  EXPECT_EQ(plan.effective.membership.mode, config::MembershipConfig::Mode::none);
  EXPECT_EQ(plan.effective.membership.session_timeout, running.membership.session_timeout);
  EXPECT_EQ(plan.effective.limits.total_bytes, next.limits.total_bytes);
  EXPECT_TRUE(plan.effective.topics.matches("clicks"));
  auto rc = route_options(plan.effective);
  EXPECT_TRUE(rc.select_topic("clicks"));
  EXPECT_FALSE(rc.select_topic("other"));
  EXPECT_EQ(rc.total_bytes, next.limits.total_bytes);
  EXPECT_TRUE(plan_reload(running, running).live.empty());
  EXPECT_TRUE(plan_reload(running, running).restart.empty());
}

}  // namespace
}  // namespace tiermirror::app

namespace tiermirror::app {
namespace {

TEST(Ops, StatusNeverShowsSecretsOrWhereTheyLive) {
  // The status page describes clusters; it must not carry the SASL password, nor the file
  // or environment variable that holds it (issue 10: no secret in any status output).
  ::setenv("TIERMIRROR_TEST_STATUS_SECRET", "hunter2-status", 1);
  auto r = config::load_string(R"(
route: {name: r1}
source:
  name: a
  bootstrap_servers: ["a:9093"]
  security:
    protocol: sasl_plaintext
    sasl: {mechanism: SCRAM-SHA-512, username: mirror, password_env: TIERMIRROR_TEST_STATUS_SECRET}
target: {name: b, bootstrap_servers: ["b:9092"]}
topics: {include: [orders]}
metrics: {listen: "127.0.0.1:9644"}  # not started: the snapshot needs no listener
)", "");
  ASSERT_TRUE(r.ok());
  OpsServer ops(*r.config);
  auto snap = net::await<OpsSnapshot>([&](auto done) { ops.snapshot(done); });
  for (const std::string& page : {status_json(snap), status_html(snap)}) {
    EXPECT_NE(page.find("a:9093"), std::string::npos) << page;  // the snapshot is the real one
    for (const char* secret : {"hunter2-status", "TIERMIRROR_TEST_STATUS_SECRET"})
      EXPECT_EQ(page.find(secret), std::string::npos) << secret << " in " << page;
  }
}

}  // namespace
}  // namespace tiermirror::app
