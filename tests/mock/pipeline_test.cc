// Routes between librdkafka mock clusters: identity, order, restarts, faults, waiting
// partitions, corrupt input and repack. Every Produce the route sends is checked by the
// produce-rules environment (produce_rules_env.cc).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "mock_support.h"
#include "support/batch_builder.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/control/group_member.h"
#include "tiermirror/pipeline/group_offsets.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/pipeline/resume.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::test {
namespace {

using pipeline::PartitionState;
using pipeline::PartitionStatus;

pipeline::RouteOptions options(const std::string& name, const std::string& topic) {
  pipeline::RouteOptions o;
  o.name = name;
  o.select_topic = [topic](const std::string& t) { return t == topic; };
  o.group = "tiermirror-" + name;
  o.commit_interval = net::Millis(200);
  o.metadata_interval = net::Millis(500);
  o.request_timeout = net::Millis(3000);
  o.fetch_max_wait = net::Millis(50);
  o.retry_backoff = net::Millis(50);
  return o;
}

/// A route between two clusters on its own io thread.
class Mirror {
 public:
  Mirror(const std::string& src, const std::string& dst, pipeline::RouteOptions o) {
    net::ClusterOptions co;
    co.connection.backoff_initial = net::Millis(20);
    co.connection.backoff_max = net::Millis(300);
    co.connection.connect_timeout = net::Millis(2000);
    co.metadata_timeout = net::Millis(2000);
    co.name = "source";
    source_ = net::Cluster::create(io_.io(), net::parse_endpoints(src), co);
    co.name = "target";
    target_ = net::Cluster::create(io_.io(), net::parse_endpoints(dst), co);
    route_ = pipeline::Route::create(io_.io(), source_, target_, std::move(o));
    route_->start([this](std::error_code ec, std::string why) {
      std::lock_guard lk(fatal_mu_);
      fatal_ = why + ": " + ec.message();
    });
  }
  ~Mirror() {
    if (!stopped_) stop();
  }
  bool caught_up(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto p = std::make_shared<std::promise<void>>();
    route_->on_caught_up([p] { p->set_value(); });
    return p->get_future().wait_for(timeout) == std::future_status::ready;
  }
  std::vector<PartitionStatus> status() {
    return net::await<std::vector<PartitionStatus>>([&](auto done) { route_->status(done); });
  }
  PartitionStatus status_of(int32_t partition) {
    for (auto& s : status())
      if (s.tp.partition == partition) return s;
    return {};
  }
  /// Waits until `pred(status())` holds.
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred(status())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop() {
    std::promise<void> done;
    route_->stop(net::Millis(5000), [&done] { done.set_value(); });
    done.get_future().wait();
    source_->close();
    target_->close();
    stopped_ = true;
  }
  pipeline::Route& route() { return *route_; }
  /// Simulates a crash: nothing is committed, connections just go.
  void crash() {
    source_->close();
    target_->close();
    stopped_ = true;
  }
  std::string fatal_;
  std::string fatal() {
    std::lock_guard lk(fatal_mu_);
    return fatal_;
  }

 private:
  std::mutex fatal_mu_;
  net::IoThread io_;
  std::shared_ptr<net::Cluster> source_, target_;
  std::shared_ptr<pipeline::Route> route_;
  bool stopped_ = false;
};

std::vector<protocol::RecordBatchView> read_all(const std::string& bootstrap, const TopicPartition& tp) {
  net::IoThread io;
  ClusterClient c(io, bootstrap, "reader");
  c.refresh();
  auto dump = app::read_partition(c.cluster, tp);
  EXPECT_FALSE(dump.ec) << tp.str() << ": " << dump.ec.message();
  return dump.batches;
}

void traffic(const std::string& bootstrap, const std::string& topic, int records_per_codec, uint64_t seed = 1) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    app::TrafficOptions t;
    t.codec = codec;
    t.records = records_per_codec;
    t.idempotent = seed % 2 == 0;
    t.seed = seed++;
    app::produce_traffic(bootstrap, topic, t);
  }
}

void expect_identity(const std::string& target, const std::vector<std::string>& sources, const std::string& topic,
                     int partitions) {
  for (int p = 0; p < partitions; ++p) {
    std::vector<std::vector<protocol::RecordBatchView>> srcs;
    for (const auto& s : sources) srcs.push_back(read_all(s, {topic, p}));
    auto proof = app::prove_identity(read_all(target, {topic, p}), srcs);
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
  }
}

TEST(MockPipeline, EveryCodecMirroredIdenticallyAndInOrder) {
  app::MockCluster src("src", 3), dst("dst", 3);
  src.create_topic("events", 4, 3);
  dst.create_topic("events", 4, 3);
  traffic(src.bootstrap(), "events", 300);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("codecs", "events"));
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "events", 4);
  for (int p = 0; p < 4; ++p) {
    // Keys, values, headers and timestamps as a Kafka consumer sees them.
    auto a = consume_partition(src.bootstrap(), "events", p);
    auto b = consume_partition(dst.bootstrap(), "events", p);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "partition " << p << " record " << i;
  }
  for (const auto& s : m.status()) {
    EXPECT_EQ(s.state, PartitionState::running);
    EXPECT_EQ(s.repacked, 0u) << "forwardable batches are never repacked";
    EXPECT_EQ(s.committed_offset, s.high_watermark) << s.tp.str();
  }
}

TEST(MockPipeline, TwoSourcesIntoOneTarget) {
  app::MockCluster a("dc-a", 1), b("dc-b", 1), agg("aggregate", 3);
  for (auto* c : {&a, &b}) c->create_topic("clicks", 3, 1);
  agg.create_topic("clicks", 3, 3);
  traffic(a.bootstrap(), "clicks", 200, 1);
  traffic(b.bootstrap(), "clicks", 200, 100);
  Mirror ma(a.bootstrap(), agg.bootstrap(), options("a-to-agg", "clicks"));
  Mirror mb(b.bootstrap(), agg.bootstrap(), options("b-to-agg", "clicks"));
  ASSERT_TRUE(ma.caught_up());
  ASSERT_TRUE(mb.caught_up());
  expect_identity(agg.bootstrap(), {a.bootstrap(), b.bootstrap()}, "clicks", 3);
}

TEST(MockPipeline, RestartResumesFromCommittedOffsetsWithoutDuplicates) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), options("restart", "t"));
    ASSERT_TRUE(m.caught_up());
  }  // graceful stop: everything acknowledged is committed
  traffic(src.bootstrap(), "t", 100, 50);
  Mirror m2(src.bootstrap(), dst.bootstrap(), options("restart", "t"));
  ASSERT_TRUE(m2.caught_up());
  // A graceful stop leaves no uncommitted window: 0 duplicates.
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 2);
}

uint64_t resume_matched(Mirror& m) {
  uint64_t n = 0;
  for (const auto& s : m.status()) n += s.resume_matched_batches;
  return n;
}

TEST(MockPipeline, CrashLeavesNoDuplicates) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  auto o = options("crash", "t");
  o.commit_interval = net::Millis(3600000);  // nothing committed before the crash
  size_t first_run_batches = 0;
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) { return !st.empty() && st[0].batches > 0 && st[0].records >= 500; }));
    first_run_batches = m.status()[0].batches;
    m.crash();
  }
  // No commit at all: the restart starts at the source's log start, reads the target's tail
  // (no hint: the bounded tail), finds the first run's batches there and goes on after them.
  Mirror m2(src.bootstrap(), dst.bootstrap(), options("crash", "t"));
  ASSERT_TRUE(m2.caught_up());
  auto source = read_all(src.bootstrap(), {"t", 0});
  auto target = read_all(dst.bootstrap(), {"t", 0});
  EXPECT_EQ(target.size(), source.size()) << "duplicates: " << target.size() - source.size();
  auto proof = app::prove_identity(target, {source});
  EXPECT_TRUE(proof.ok) << proof.detail;
  EXPECT_GE(resume_matched(m2), first_run_batches);
  std::printf("crash test: %zu batches delivered before the crash found in the target, %zu duplicates\n",
              static_cast<size_t>(resume_matched(m2)), target.size() - std::min(target.size(), source.size()));
}

TEST(MockPipeline, CrashAfterCommitsResumesFromTheCommitHint) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), options("hint", "t"));
    ASSERT_TRUE(m.caught_up());
  }  // graceful: committed, with the target offset hint
  traffic(src.bootstrap(), "t", 200, 30);
  auto o = options("hint", "t");
  o.commit_interval = net::Millis(3600000);  // the second run's deliveries stay uncommitted
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) {
      uint64_t n = 0;
      for (const auto& s : st) n += s.batches;
      return n >= 4;
    }));
    m.crash();
  }
  Mirror m3(src.bootstrap(), dst.bootstrap(), options("hint", "t"));
  ASSERT_TRUE(m3.caught_up());
  EXPECT_GT(resume_matched(m3), 0u);
  for (int p = 0; p < 2; ++p) {
    auto source = read_all(src.bootstrap(), {"t", p});
    auto target = read_all(dst.bootstrap(), {"t", p});
    EXPECT_EQ(target.size(), source.size()) << "partition " << p;
    auto proof = app::prove_identity(target, {source});
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
  }
}

// Issue 18: the target broker leading partition 0 is down while the route starts after a
// crash, longer than the resume scan's deadline (10 s). Under resume.on_scan_failure: wait the
// partition waits (resume_waiting, failures counted) and scans again once the broker is back;
// under duplicate it resumes at the committed offset and sends the first run's batches again.
// Returns the duplicated batches per partition.
std::vector<int64_t> target_down_at_start(pipeline::ResumeScanFailurePolicy policy) {
  app::MockCluster src("src", 1), dst("dst", 2);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  rd_kafka_mock_partition_set_leader(dst.mock(), "t", 0, 2);
  rd_kafka_mock_partition_set_leader(dst.mock(), "t", 1, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  auto o = options("down", "t");
  o.commit_interval = net::Millis(3600000);  // the first run's deliveries stay uncommitted
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    EXPECT_TRUE(m.wait_for([](const auto& st) {
      return st.size() == 2 && st[0].batches > 0 && st[1].batches > 0;
    }));
    m.crash();
  }
  rd_kafka_mock_broker_set_down(dst.mock(), 2);
  o = options("down", "t");
  o.resume_on_scan_failure = policy;
  Mirror m2(src.bootstrap(), dst.bootstrap(), o);
  // The scan of partition 0 fails at its deadline (10 s).
  EXPECT_TRUE(m2.wait_for([](const auto& st) { return st.size() == 2 && st[0].resume_scan_failures >= 1; },
                          std::chrono::seconds(40)));
  auto p0 = m2.status_of(0);
  if (policy == pipeline::ResumeScanFailurePolicy::wait) {
    EXPECT_EQ(p0.state, PartitionState::resume_waiting) << p0.reason;
    EXPECT_NE(p0.reason.find("resume scan failed"), std::string::npos) << p0.reason;
    EXPECT_TRUE(m2.wait_for([](const auto& st) { return st[1].state == PartitionState::running; }))
        << "the other partition goes on";
    // Still waiting a while later: no fallback to the committed offset.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(m2.status_of(0).state, PartitionState::resume_waiting);
  }
  rd_kafka_mock_broker_set_up(dst.mock(), 2);
  EXPECT_TRUE(m2.caught_up()) << m2.fatal_;
  std::vector<int64_t> dups;
  for (int p = 0; p < 2; ++p) {
    auto source = read_all(src.bootstrap(), {"t", p});
    auto target = read_all(dst.bootstrap(), {"t", p});
    dups.push_back(static_cast<int64_t>(target.size()) - static_cast<int64_t>(source.size()));
    if (policy == pipeline::ResumeScanFailurePolicy::wait) {
      auto proof = app::prove_identity(target, {source});
      EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
    }
  }
  EXPECT_EQ(m2.status_of(0).state, PartitionState::running);
  std::printf("target down at start (%s): scan failures %llu, duplicated batches %lld / %lld\n",
              policy == pipeline::ResumeScanFailurePolicy::wait ? "wait" : "duplicate",
              static_cast<unsigned long long>(m2.status_of(0).resume_scan_failures),
              static_cast<long long>(dups[0]), static_cast<long long>(dups[1]));
  return dups;
}

TEST(MockPipeline, TargetDownAtStartWaitsThenResumesExactlyOnce) {
  auto dups = target_down_at_start(pipeline::ResumeScanFailurePolicy::wait);
  EXPECT_EQ(dups, (std::vector<int64_t>{0, 0}));
}

TEST(MockPipeline, TargetDownAtStartDuplicatesOnlyWhenTheOperatorChoseSo) {
  auto dups = target_down_at_start(pipeline::ResumeScanFailurePolicy::duplicate);
  EXPECT_GT(dups[0], 0) << "resumed at the committed offset: the first run's batches again";
  EXPECT_EQ(dups[1], 0);
}

// Issue 19 (found by RealScaleOut on 3.9.2: 13 batches twice): a partition whose target
// partition is not in this process's metadata yet (no target broker answered, or another
// member's syncer just created the topic) was started without the exactly-once resume scan, as
// if the target held nothing of it, although an earlier owner had delivered batches past the
// commit. It now waits for the target and scans then.
TEST(MockPipeline, APartitionMissingFromTheTargetMetadataAtStartIsScannedOnceItAppears) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  auto o = options("late-md", "t");
  o.commit_interval = net::Millis(3600000);  // the first run's deliveries stay uncommitted
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) { return st.size() == 2 && st[0].batches > 0 && st[1].batches > 0; }));
    m.crash();
  }
  rd_kafka_mock_broker_set_down(dst.mock(), 1);  // the next run's first target metadata: none
  Mirror m2(src.bootstrap(), dst.bootstrap(), options("late-md", "t"));
  ASSERT_TRUE(m2.wait_for([](const auto& st) {
    return st.size() == 2 && st[0].state == PartitionState::waiting_target && st[1].state == PartitionState::waiting_target;
  })) << "both partitions wait for the target";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  rd_kafka_mock_broker_set_up(dst.mock(), 1);
  ASSERT_TRUE(m2.caught_up()) << m2.fatal_;
  EXPECT_GT(resume_matched(m2), 0u) << "the first run's batches were found by a scan";
  for (int p = 0; p < 2; ++p) {
    auto source = read_all(src.bootstrap(), {"t", p});
    auto target = read_all(dst.bootstrap(), {"t", p});
    EXPECT_EQ(target.size(), source.size()) << "partition " << p << ": batches delivered twice";
    auto proof = app::prove_identity(target, {source});
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
  }
}

// start_position: latest (docs/configuration.md): the end where a partition without a commit
// starts is committed at the first commit round, so a process that dies before it mirrored
// anything starts there again, not at a later end that skips what was written in between.
TEST(MockPipeline, ALatestStartIsCommittedBeforeAnythingIsMirrored) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  traffic(src.bootstrap(), "t", 20, 1);  // before the route: not ours
  const auto before = read_all(src.bootstrap(), {"t", 0}).size();
  auto o = options("latest", "t");
  o.start_earliest = false;
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) { return st.size() == 1 && st[0].state == PartitionState::running; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // several commit rounds, nothing new
    m.crash();
  }
  traffic(src.bootstrap(), "t", 20, 7);  // while no process runs
  Mirror m2(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m2.caught_up()) << m2.fatal_;
  auto source = read_all(src.bootstrap(), {"t", 0});
  auto target = read_all(dst.bootstrap(), {"t", 0});
  EXPECT_EQ(target.size(), source.size() - before) << "the records written while no process ran were skipped";
  std::vector<protocol::RecordBatchView> ours(source.begin() + static_cast<std::ptrdiff_t>(before), source.end());
  auto proof = app::prove_identity(target, {ours});
  EXPECT_TRUE(proof.ok) << proof.detail;
}

// membership.mode none next to instances with membership.mode group (a rollout that switches
// modes, a stray process): the group's members own the partitions, and this route would mirror
// them a second time. The broker refuses its simple-consumer commits (UNKNOWN_MEMBER_ID) while
// the group has members; the route stops with a message that says why.
TEST(MockPipeline, ARouteWithoutMembershipStopsWhenTheGroupHasMembers) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  control::GroupMemberOptions go;
  go.connection = control::AdminConnection{"source", src.bootstrap(), "tiermirror-test", {}, {}};
  go.group = "tiermirror-beside";
  go.session_timeout = std::chrono::milliseconds(6000);
  go.fence_margin = std::chrono::milliseconds(1500);
  std::promise<void> assigned;
  auto once = std::make_shared<std::once_flag>();
  control::GroupMember member(go, {[&assigned, once](std::vector<TopicPartition>) {
                                     std::call_once(*once, [&assigned] { assigned.set_value(); });
                                   },
                                   [](std::vector<TopicPartition>, control::RemoveReason, std::function<void()> done) {
                                     done();
                                   }});
  member.subscribe({"t"});
  ASSERT_EQ(assigned.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  traffic(src.bootstrap(), "t", 20, 1);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("beside", "t"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (m.fatal().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(m.fatal().find("has active members"), std::string::npos) << "fatal: '" << m.fatal() << "'";
  EXPECT_NE(m.fatal().find("membership.mode: group"), std::string::npos) << m.fatal();
  member.close();
}

// The chaos test's final run hung here (partition chaos-1: "source Fetch: timed out", scanned
// again and again for 180 s). A scan's requests share the route's connection to the source
// broker, and a broker answers a connection's requests in order: each source Fetch of the scan
// waits behind the route's long-polling Fetch for the broker's idle partitions (fetch_max_wait,
// 500 ms here), and librdkafka's mock answers one batch per Fetch. 30 uncommitted batches take
// about 15 s to match: a scan that had to finish within its deadline (10 s from its start) never
// could, failed at the same place every time and started over. The deadline bounds a scan that
// stopped making progress; one that gets answers goes on to the end.
TEST(MockPipeline, ASlowButProgressingResumeScanIsNotCutOffAtItsDeadline) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  constexpr int kBatches = 30;
  for (int i = 0; i < kBatches; ++i) plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(1 + i % 4).build());
  plant_batch(src.bootstrap(), {"t", 1}, BatchBuilder().add_n(2).build());
  auto o = options("slowscan", "t");
  o.commit_interval = net::Millis(3600000);  // nothing committed: the restart scans all of it
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) {
      return st.size() == 2 && st[0].batches == kBatches && st[1].batches == 1;
    }));
    m.crash();
  }
  ASSERT_EQ(read_all(dst.bootstrap(), {"t", 0}).size(), static_cast<size_t>(kBatches));
  o = options("slowscan", "t");
  o.fetch_max_wait = net::Millis(500);  // tiermirror's default: partition 1 idles in long polls
  o.request_timeout = net::Millis(3000);  // the scan deadline: max(2 x 3 s, 10 s) = 10 s
  const auto started = std::chrono::steady_clock::now();
  Mirror m2(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m2.caught_up(std::chrono::seconds(45))) << m2.fatal_ << "; partition 0: " << m2.status_of(0).reason;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  auto p0 = m2.status_of(0);
  EXPECT_EQ(p0.resume_scan_failures, 0u) << p0.reason;
  EXPECT_EQ(p0.resume_matched_batches, static_cast<uint64_t>(kBatches));
  for (int p = 0; p < 2; ++p) {
    auto source = read_all(src.bootstrap(), {"t", p});
    auto target = read_all(dst.bootstrap(), {"t", p});
    EXPECT_EQ(target.size(), source.size()) << "partition " << p;
    auto proof = app::prove_identity(target, {source});
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
  }
  std::printf("slow resume scan: %d batches matched in %lld ms (scan deadline 10 s)\n", kBatches,
              static_cast<long long>(took.count()));
}

// Issue 18: at start, one ListOffsets per target broker finds the partitions whose target
// holds nothing after the commit's hint; they resume without a scan. Every later target
// ListOffsets is refused here, so a partition that scanned anyway would pause.
TEST(MockPipeline, PartitionsWithNothingAfterTheHintResumeWithoutAScan) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 8, 1);
  dst.create_topic("t", 8, 1);
  traffic(src.bootstrap(), "t", 100, 1);
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), options("spared", "t"));
    ASSERT_TRUE(m.caught_up());
  }  // graceful: every commit's hint is the target log end
  traffic(src.bootstrap(), "t", 50, 40);  // so the restart has something to resume
  // The batched looks: at most one request per partition (the partitions' source end offsets
  // come back at different moments, so they may be screened in a few rounds).
  std::vector<rd_kafka_resp_err_t> errs(8, RD_KAFKA_RESP_ERR_NO_ERROR);
  errs.resize(8 + 3 * 8, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  rd_kafka_mock_push_request_errors_array(dst.mock(), 2 /* ListOffsets */, errs.size(), errs.data());
  Mirror m2(src.bootstrap(), dst.bootstrap(), options("spared", "t"));
  ASSERT_TRUE(m2.caught_up()) << m2.fatal_;
  for (const auto& s : m2.status()) {
    EXPECT_EQ(s.state, PartitionState::running) << s.tp.str() << ": " << s.reason;
    EXPECT_EQ(s.resume_scan_failures, 0u) << s.tp.str();
  }
  rd_kafka_mock_clear_request_errors(dst.mock(), 2);
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 8);
}

TEST(MockPipeline, CrashWhileAnotherRouteWritesTheSameTargetPartition) {
  app::MockCluster a("dc-a", 1), b("dc-b", 1), agg("aggregate", 1);
  for (auto* c : {&a, &b}) c->create_topic("clicks", 1, 1);
  agg.create_topic("clicks", 1, 1);
  traffic(a.bootstrap(), "clicks", 150, 1);
  traffic(b.bootstrap(), "clicks", 150, 100);
  auto oa = options("a-to-agg", "clicks");
  oa.commit_interval = net::Millis(3600000);
  // Slow produces (one batch at a time, 100 ms each): the two routes' batches interleave in
  // the target partition, and a crashes midway.
  oa.inflight_per_partition = 1;
  auto ob = options("b-to-agg", "clicks");
  ob.inflight_per_partition = 1;
  rd_kafka_mock_broker_set_rtt(agg.mock(), 1, 100);
  Mirror mb(b.bootstrap(), agg.bootstrap(), ob);
  {
    Mirror ma(a.bootstrap(), agg.bootstrap(), oa);
    ASSERT_TRUE(ma.wait_for([](const auto& st) { return !st.empty() && st[0].batches >= 3; }));
    ASSERT_TRUE(mb.wait_for([](const auto& st) { return !st.empty() && st[0].batches >= 3; }));
    ma.crash();
  }
  rd_kafka_mock_broker_set_rtt(agg.mock(), 1, 0);
  traffic(b.bootstrap(), "clicks", 50, 200);  // b goes on while a is down
  Mirror ma2(a.bootstrap(), agg.bootstrap(), options("a-to-agg", "clicks"));
  ASSERT_TRUE(ma2.caught_up());
  EXPECT_GT(resume_matched(ma2), 0u);
  auto sa = read_all(a.bootstrap(), {"clicks", 0});
  auto sb = read_all(b.bootstrap(), {"clicks", 0});
  // b's caught-up point is what its source held when it started: wait for what came later too.
  const int64_t b_end = sb.back().last_offset().value() + 1;
  ASSERT_TRUE(mb.wait_for([&](const auto& st) { return !st.empty() && st[0].committed_offset >= b_end; }));
  auto target = read_all(agg.bootstrap(), {"clicks", 0});
  EXPECT_EQ(target.size(), sa.size() + sb.size()) << "duplicates or losses";
  auto proof = app::prove_identity(target, {sa, sb});
  EXPECT_TRUE(proof.ok) << proof.detail;
}

// An oversized source batch the route splits into pieces at an 8 KiB limit.
Bytes oversized_batch() {
  BatchBuilder big;
  for (int i = 0; i < 40; ++i) big.add("key-" + std::to_string(i), std::string(1000, char('a' + i % 26)));
  return big.build();
}

/// Records a route counts at each audit tier.
class TierCounts : public pipeline::RouteObserver {
 public:
  void fetched(const TopicPartition&, const pipeline::BatchFacts& b) override {
    std::lock_guard lk(mu_);
    source_ += b.records;
  }
  void acked(const TopicPartition&, const pipeline::BatchFacts& b, int64_t) override {
    std::lock_guard lk(mu_);
    target_ += b.records;
  }
  void already_delivered(const TopicPartition&, const pipeline::BatchFacts& s,
                         const std::vector<pipeline::BatchFacts>& delivered) override {
    std::lock_guard lk(mu_);
    source_ += s.records;
    for (const auto& d : delivered) target_ += d.records;
  }
  std::pair<int64_t, int64_t> get() {
    std::lock_guard lk(mu_);
    return {source_, target_};
  }

 private:
  std::mutex mu_;
  int64_t source_ = 0, target_ = 0;
};

// Every record of the source once in the target, in order, and as many batches as expected.
void expect_exactly_once(const std::string& src, const std::string& dst, size_t target_batches) {
  auto a = consume_partition(src, "t", 0);
  auto b = consume_partition(dst, "t", 0);
  ASSERT_EQ(b.size(), a.size()) << "duplicates or losses";
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "record " << i;
  EXPECT_EQ(read_all(dst, {"t", 0}).size(), target_batches);
}

TEST(MockPipeline, CrashBetweenPiecesOfARepackedBatchLeavesNoDuplicates) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  plant_batch(src.bootstrap(), {"t", 0}, oversized_batch());
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(3).build());
  auto source = read_all(src.bootstrap(), {"t", 0});
  ASSERT_EQ(source.size(), 2u);
  auto pieces = pipeline::repack(source[0], 8 << 10);
  ASSERT_TRUE(pieces);
  const size_t n = pieces->batches.size();
  ASSERT_GE(n, 4u);
  auto o = options("pieces", "t");
  o.max_message_bytes = 8 << 10;
  o.commit_interval = net::Millis(3600000);  // nothing committed before the crash
  o.inflight_per_partition = 1;              // one piece at a time, 300 ms each
  rd_kafka_mock_broker_set_rtt(dst.mock(), 1, 100);
  {
    Mirror m(src.bootstrap(), dst.bootstrap(), o);
    ASSERT_TRUE(m.wait_for([](const auto& st) { return !st.empty() && st[0].batches >= 2; }));
    m.crash();
  }
  rd_kafka_mock_broker_set_rtt(dst.mock(), 1, 0);
  size_t before = read_all(dst.bootstrap(), {"t", 0}).size();
  ASSERT_GE(before, 2u);
  ASSERT_LT(before, n) << "the crash must leave the batch partly delivered";
  auto counts = std::make_shared<TierCounts>();
  auto o2 = options("pieces", "t");
  o2.max_message_bytes = 8 << 10;
  o2.observers.push_back(counts);
  Mirror m2(src.bootstrap(), dst.bootstrap(), o2);
  ASSERT_TRUE(m2.caught_up()) << m2.fatal_;
  expect_exactly_once(src.bootstrap(), dst.bootstrap(), n + 1);
  EXPECT_EQ(m2.status_of(0).committed_offset, 43);
  // The source batch is counted once, with all its pieces at the target tier.
  EXPECT_EQ(counts->get(), std::make_pair(int64_t{43}, int64_t{43}));
}

TEST(MockPipeline, RestartFromACommitInsideARepackedBatch) {
  // A commit made between two pieces (then a crash after the next piece): the restart sends
  // neither the committed pieces nor the delivered one again.
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(3).build());
  plant_batch(src.bootstrap(), {"t", 0}, oversized_batch());
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(2).build());
  auto source = read_all(src.bootstrap(), {"t", 0});
  ASSERT_EQ(source.size(), 3u);
  auto pieces = pipeline::repack(source[1], 8 << 10);
  ASSERT_TRUE(pieces);
  const size_t n = pieces->batches.size();
  ASSERT_GE(n, 4u);
  // The target as the dead process left it: the first batch, pieces 0-2.
  auto bytes_of = [](const SharedBuffer& b) { return Bytes(b.span().begin(), b.span().end()); };
  plant_batch(dst.bootstrap(), {"t", 0}, Bytes(source[0].span().begin(), source[0].span().end()));
  for (size_t i = 0; i < 3; ++i) plant_batch(dst.bootstrap(), {"t", 0}, bytes_of(pieces->batches[i]));
  auto target = read_all(dst.bootstrap(), {"t", 0});
  ASSERT_EQ(target.size(), 4u);
  // Committed after piece 1, with the target offset after it as the hint.
  int64_t committed = pieces->source_ranges[1].second + 1;
  int64_t hint = target[2].base_offset() + target[2].last_offset_delta() + 1;
  {
    net::IoThread io;
    ClusterClient c(io, src.bootstrap(), "committer");
    c.refresh();
    auto offsets = pipeline::GroupOffsets::create(c.cluster, "tiermirror-inside", net::Millis(10000));
    using R = std::pair<std::error_code, std::map<TopicPartition, std::error_code>>;
    auto [ec, per] = net::await<R>([&](auto done) {
      offsets->commit({{TopicPartition{"t", 0}, {SourceOffset(committed), pipeline::format_resume_hint(hint)}}},
                      [done](auto e, auto m) { done({e, m}); });
    });
    ASSERT_FALSE(ec) << ec.message();
  }
  auto counts = std::make_shared<TierCounts>();
  auto o = options("inside", "t");
  o.max_message_bytes = 8 << 10;
  o.observers.push_back(counts);
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_exactly_once(src.bootstrap(), dst.bootstrap(), 1 + n + 1);
  auto after = read_all(dst.bootstrap(), {"t", 0});
  for (size_t i = 0; i < n; ++i) {
    protocol::RecordBatchView piece{BufferSlice(pieces->batches[i])};
    EXPECT_TRUE(protocol::same_records(after[1 + i], piece)) << "piece " << i;
  }
  EXPECT_EQ(m.status_of(0).committed_offset, 45);
  // The big batch (40 records) and the last one (2) at both tiers; the first was committed.
  EXPECT_EQ(counts->get(), std::make_pair(int64_t{42}, int64_t{42}));
}

TEST(MockPipeline, LeaderChangesAndBrokerDownMidStream) {
  app::MockCluster src("src", 3), dst("dst", 3);
  src.create_topic("t", 3, 3);
  dst.create_topic("t", 3, 3);
  traffic(src.bootstrap(), "t", 400, 1);
  auto o = options("faults", "t");
  o.bytes_per_partition = 64 << 10;  // small budgets: many fetch/produce rounds
  o.fetch_max_bytes = 64 << 10;
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    uint64_t n = 0;
    for (const auto& s : st) n += s.batches;
    return n > 3;
  }));
  for (int p = 0; p < 3; ++p) {
    rd_kafka_mock_partition_set_leader(src.mock(), "t", p, (p + 1) % 3 + 1);
    rd_kafka_mock_partition_set_leader(dst.mock(), "t", p, (p + 2) % 3 + 1);
  }
  rd_kafka_mock_broker_set_down(dst.mock(), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  rd_kafka_mock_broker_set_up(dst.mock(), 2);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 3);
}

// Seen on a real Kafka 2.8 broker in the chaos test: a Produce request waiting for a stopped
// leader's connection, then the leader moving. Later batches wait for it instead of going to
// the new leader ahead of it (OUT_OF_ORDER_SEQUENCE_NUMBER, then a new producer id for the
// whole route); it fails at the next refused connect and goes to the new leader first.
TEST(MockPipeline, ALeaderMoveAwayFromADownBrokerKeepsTheSequenceInOrder) {
  app::MockCluster src("src", 1), dst("dst", 2);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 2);
  rd_kafka_mock_partition_set_leader(dst.mock(), "t", 0, 1);
  app::TrafficOptions small;  // many small batches: several Produce requests in flight at once
  small.codec = "lz4";
  small.records = 100;
  small.batch_records = 10;
  app::produce_traffic(src.bootstrap(), "t", small);
  auto o = options("leader-away", "t");
  o.request_timeout = net::Millis(1000);  // the waiting request's deadline: 1 s + 5 s
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.wait_for([](const auto& st) { return !st.empty() && st[0].batches >= 5; }));
  // One batch goes to broker 1 and waits there; the leader moves; later batches follow.
  rd_kafka_mock_broker_set_down(dst.mock(), 1);
  small.records = 10;
  small.seed = 7;
  app::produce_traffic(src.bootstrap(), "t", small);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  rd_kafka_mock_partition_set_leader(dst.mock(), "t", 0, 2);
  // The route sees the new leader once a metadata request to broker 1 timed out (2 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  small.records = 300;
  small.seed = 8;
  app::produce_traffic(src.bootstrap(), "t", small);
  const auto source_batches = read_all(src.bootstrap(), {"t", 0}).size();
  ASSERT_TRUE(m.wait_for([&](const auto& st) { return !st.empty() && st[0].batches == source_batches; }))
      << m.fatal_;
  rd_kafka_mock_broker_set_up(dst.mock(), 1);
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 1);
  // One producer id throughout, its sequences following the record counts: no batch went
  // ahead of another, so the route never needed a new producer id.
  auto batches = read_all(dst.bootstrap(), {"t", 0});
  ASSERT_FALSE(batches.empty());
  int32_t next = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.producer_id().value(), batches.front().producer_id().value());
    EXPECT_EQ(b.base_sequence(), next);
    next += b.records_count();
  }
}

TEST(MockPipeline, InjectedRetriableErrorsOnProduceAndFetch) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 200, 1);
  rd_kafka_mock_push_request_errors(dst.mock(), 0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  rd_kafka_mock_push_request_errors(src.mock(), 1 /* Fetch */, 2, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("errors", "t"));
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 2);
}

TEST(MockPipeline, ProducerIdErrorForcesANewProducerWithoutLossOrReorder) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 200, 1);
  rd_kafka_mock_push_request_errors(dst.mock(), 0 /* Produce */, 2, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
                                    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("pid-reset", "t"));
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 2);
  // The refused batches never landed. Each producer id that did land starts its run of
  // batches at sequence 0 and follows the record counts: after a reset the new id
  // restarts at 0, as the broker requires.
  for (int p = 0; p < 2; ++p) {
    auto batches = read_all(dst.bootstrap(), {"t", p});
    ASSERT_FALSE(batches.empty());
    std::map<int64_t, int32_t> next_seq;
    int64_t current = -1;
    for (const auto& b : batches) {
      int64_t pid = b.producer_id().value();
      if (pid != current) {
        EXPECT_FALSE(next_seq.count(pid)) << "a producer id came back after a reset";
        current = pid;
      }
      EXPECT_EQ(b.base_sequence(), next_seq[pid]) << "partition " << p;
      next_seq[pid] += b.records_count();
    }
  }
}

TEST(MockPipeline, PartitionsMissingOnTheTargetWaitWhileOthersFlow) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("wide", 4, 1);
  dst.create_topic("wide", 2, 1);
  traffic(src.bootstrap(), "wide", 100, 1);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("narrow", "wide"));
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    if (st.size() != 4) return false;
    for (const auto& s : st) {
      bool waiting = s.tp.partition >= 2;
      if (waiting && s.state != PartitionState::waiting_target) return false;
      if (!waiting && s.committed_offset != s.high_watermark) return false;
    }
    return true;
  })) << "partitions 0-1 mirror fully, 2-3 wait";
  auto s2 = m.status_of(2);
  EXPECT_NE(s2.reason.find("does not exist"), std::string::npos) << s2.reason;
  EXPECT_EQ(s2.batches, 0u);
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "wide", 2);
}

// With the default crc_check (target), a batch forwarded as fetched is left to the target's CRC
// check; one that is dropped (a control marker) or rebuilt (offset gaps: repacked) reaches no
// broker as it is, so tiermirror checks it: corruption never passes as a marker or a repack.
TEST(MockPipeline, CorruptBatchesThatAreDroppedOrRepackedAreCheckedAtFetch) {
  // Its own topic name: the produce-rules tracker is per process, and the mock cluster may hand
  // out a producer id that another test of this process already used on "t".
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("dropped", 2, 1);
  dst.create_topic("dropped", 2, 1);
  plant_batch(src.bootstrap(), {"dropped", 0}, BatchBuilder().add_n(5).build());
  plant_batch(src.bootstrap(), {"dropped", 0},
              BatchBuilder().producer(7, 0, -1).transactional().control(ControlType::commit).corrupt_crc().build());
  plant_batch(src.bootstrap(), {"dropped", 0}, BatchBuilder().add_n(5).build());
  plant_batch(src.bootstrap(), {"dropped", 1}, BatchBuilder().add_n(4).build());
  plant_batch(src.bootstrap(), {"dropped", 1}, BatchBuilder().add_n(3).last_offset_delta(5).corrupt_crc().build());
  auto opts = options("corrupt-dropped", "dropped");
  ASSERT_FALSE(opts.verify_crc_on_fetch) << "the default leaves the CRC of forwarded batches to the target";
  Mirror m(src.bootstrap(), dst.bootstrap(), opts);
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    return st.size() == 2 && st[0].state == PartitionState::paused && st[1].state == PartitionState::paused &&
           st[0].committed_offset == 5 && st[1].committed_offset == 4;
  })) << m.status_of(0).reason << " / " << m.status_of(1).reason;
  EXPECT_NE(m.status_of(0).reason.find("corrupt source batch at offset 5 (crc_mismatch)"), std::string::npos)
      << m.status_of(0).reason;
  EXPECT_NE(m.status_of(1).reason.find("corrupt source batch at offset 4 (crc_mismatch)"), std::string::npos)
      << m.status_of(1).reason;
  EXPECT_EQ(read_all(dst.bootstrap(), {"dropped", 0}).size(), 1u);
  EXPECT_EQ(read_all(dst.bootstrap(), {"dropped", 1}).size(), 1u);
}

TEST(MockPipeline, CorruptSourceBatchPausesItsPartitionAndIsNeverForwarded) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(5).build());
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(5).corrupt_crc().build());
  plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(5).build());
  for (int i = 0; i < 3; ++i) plant_batch(src.bootstrap(), {"t", 1}, BatchBuilder().add_n(4).build());
  // librdkafka's mock broker stores whatever it is sent, where a real one checks the CRC
  // (tests/real: RealMirror.CorruptSourceBatch...): here tiermirror checks at fetch.
  auto opts = options("corrupt", "t");
  opts.verify_crc_on_fetch = true;
  Mirror m(src.bootstrap(), dst.bootstrap(), opts);
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    if (st.size() != 2) return false;
    return st[0].state == PartitionState::paused && st[1].committed_offset == 12;
  }));
  auto s0 = m.status_of(0);
  EXPECT_NE(s0.reason.find("corrupt source batch at offset 5"), std::string::npos) << s0.reason;
  EXPECT_EQ(s0.batches, 1u);
  EXPECT_EQ(s0.committed_offset, 5) << "commits stop before the corrupt batch";
  auto target0 = read_all(dst.bootstrap(), {"t", 0});
  ASSERT_EQ(target0.size(), 1u);
  EXPECT_TRUE(target0[0].crc_ok());
  EXPECT_EQ(read_all(dst.bootstrap(), {"t", 1}).size(), 3u);
}

TEST(MockPipeline, UnexpectedFetchErrorPausesThePartitionsItAnswersForOnly) {
  // Two source brokers, one partition each: the injected error answers the first Fetch, which
  // asks one broker for its partition; the other partition is fetched from the other broker.
  app::MockCluster src("src", 2), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  rd_kafka_mock_partition_set_leader(src.mock(), "t", 0, 1);
  rd_kafka_mock_partition_set_leader(src.mock(), "t", 1, 2);
  for (int p = 0; p < 2; ++p)
    for (int i = 0; i < 3; ++i) plant_batch(src.bootstrap(), {"t", p}, BatchBuilder().add_n(4).build());
  rd_kafka_mock_push_request_errors(src.mock(), 1 /* Fetch */, 1, RD_KAFKA_RESP_ERR_INVALID_REQUEST);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("unexpected", "t"));
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    if (st.size() != 2) return false;
    int paused = 0, done = 0;
    for (const auto& s : st) {
      paused += s.state == PartitionState::paused;
      done += s.committed_offset == 12;
    }
    return paused == 1 && done == 1;
  })) << "one partition paused, the other mirrored";
  for (const auto& s : m.status()) {
    if (s.state != PartitionState::paused) continue;
    EXPECT_NE(s.reason.find("INVALID_REQUEST from the source broker on Fetch (not retriable)"), std::string::npos)
        << s.reason;
    EXPECT_EQ(read_all(dst.bootstrap(), s.tp).size(), 0u);
  }
}

TEST(MockPipeline, AnErrorCodeKafkaNeverDefinedOnProducePausesNamingTheNumber) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  for (int i = 0; i < 3; ++i) plant_batch(src.bootstrap(), {"t", 0}, BatchBuilder().add_n(4).build());
  rd_kafka_mock_push_request_errors(dst.mock(), 0 /* Produce */, 1, static_cast<rd_kafka_resp_err_t>(9999));
  Mirror m(src.bootstrap(), dst.bootstrap(), options("unknown-code", "t"));
  ASSERT_TRUE(m.wait_for([](const auto& st) { return st.size() == 1 && st[0].state == PartitionState::paused; }));
  auto s = m.status_of(0);
  EXPECT_NE(s.reason.find("UNKNOWN_ERROR_CODE_9999 from the target"), std::string::npos) << s.reason;
  EXPECT_LE(s.committed_offset, 0) << "nothing the target refused is committed";
}

TEST(MockPipeline, CompactionGapsAndOversizedBatchesAreRepacked) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  // A batch as the log cleaner leaves it: 3 records at offset deltas 0, 2, 5.
  plant_batch(src.bootstrap(), {"t", 0},
              BatchBuilder()
                  .add(RecordSpec::kv("k0", "v0").with_offset_delta(0))
                  .add(RecordSpec::kv("k2", "v2").with_offset_delta(2))
                  .add(RecordSpec::kv("k5", "v5").with_offset_delta(5))
                  .last_offset_delta(5)
                  .build());
  // A batch bigger than the target's (assumed) max.message.bytes.
  BatchBuilder big;
  for (int i = 0; i < 40; ++i) big.add("key-" + std::to_string(i), std::string(1000, char('a' + i % 26)));
  plant_batch(src.bootstrap(), {"t", 0}, big.build());
  auto o = options("repack", "t");
  o.max_message_bytes = 8 << 10;
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  auto s = m.status_of(0);
  EXPECT_EQ(s.repacked, 2u);
  EXPECT_EQ(s.repacked_by_reason["offset_gaps"], 1u);
  EXPECT_EQ(s.repacked_by_reason["too_large"], 1u);
  auto records = consume_partition(dst.bootstrap(), "t", 0);
  ASSERT_EQ(records.size(), 43u);
  EXPECT_EQ(records[0].key, "k0");
  EXPECT_EQ(records[2].key, "k5");
  EXPECT_EQ(records[3].key, "key-0");
  EXPECT_EQ(records[42].key, "key-39");
  for (const auto& b : read_all(dst.bootstrap(), {"t", 0})) {
    EXPECT_LE(b.size(), size_t{8 << 10});
    EXPECT_EQ(b.records_count(), b.last_offset_delta() + 1);
  }
}

TEST(MockPipeline, WaitingPartitionsStartWhenTheTargetShowsThem) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("late", 2, 1);
  traffic(src.bootstrap(), "late", 100, 1);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("late", "late"));
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    return st.size() == 2 && st[0].state == PartitionState::waiting_target &&
           st[1].state == PartitionState::waiting_target;
  }));
  // The target topic appears (as the partition-count syncer will make it): mirroring
  // starts at the next metadata refresh, without a restart.
  dst.create_topic("late", 2, 1);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "late", 2);
}

TEST(MockPipeline, StalledTargetKeepsMemoryAtTheBudget) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 1000, 1);  // about 1.7 MB uncompressed per codec round
  auto o = options("stall", "t");
  o.bytes_per_partition = 64 << 10;
  o.total_bytes = 96 << 10;
  o.request_timeout = net::Millis(10000);
  // The target refuses every Produce for a while (retriable NOT_ENOUGH_REPLICAS, as a
  // cluster short of in-sync replicas does): fetching must stop at the budgets.
  std::vector<rd_kafka_resp_err_t> refusals(60, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(dst.mock(), 0 /* Produce */, refusals.size(), refusals.data());
  // And it answers slowly: without that, a run that got its first Produce requests through
  // (the refusals did not always reach them) delivered the 1.7 MB before the first sample.
  rd_kafka_mock_broker_set_rtt(dst.mock(), 1, 100);
  size_t max_seen = 0, largest_batch = 0;
  for (const auto& b : read_all(src.bootstrap(), {"t", 0})) largest_batch = std::max(largest_batch, b.size());
  for (const auto& b : read_all(src.bootstrap(), {"t", 1})) largest_batch = std::max(largest_batch, b.size());
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  // At least 1.5 s of samples, and until the budget filled (a loaded machine starts slower;
  // the refusals wait for the route's first Produce).
  const auto start = std::chrono::steady_clock::now();
  auto sampling = [&] {
    auto now = std::chrono::steady_clock::now();
    return now < start + std::chrono::milliseconds(1500) ||
           (max_seen < size_t{32 << 10} && now < start + std::chrono::seconds(15));
  };
  while (sampling()) {
    size_t total = 0;
    for (const auto& s : m.status()) {
      // A fetch may overshoot a partition's budget by the batches of one response.
      EXPECT_LE(s.buffered_bytes, size_t{64 << 10} + size_t{64 << 10} + largest_batch) << s.tp.str();
      total += s.buffered_bytes;
    }
    max_seen = std::max(max_seen, total);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("stalled target: peak %zu bytes buffered, budget %d per partition / %d total, largest batch %zu\n",
              max_seen, 64 << 10, 96 << 10, largest_batch);

  EXPECT_GE(max_seen, size_t{32 << 10}) << "the route filled its budget while the target stalled";
  EXPECT_LE(max_seen, size_t{96 << 10} + 2 * largest_batch + size_t{64 << 10});
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 2);
}

TEST(MockPipeline, NewMatchingTopicStartsWithoutARestart) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("logs.web", 1, 1);
  dst.create_topic("logs.web", 1, 1);
  traffic(src.bootstrap(), "logs.web", 50, 1);
  auto o = options("discover", "");
  o.select_topic = [](const std::string& t) { return t.rfind("logs.", 0) == 0; };
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.wait_for([](const auto& st) { return st.size() == 1 && st[0].committed_offset == st[0].high_watermark; }));
  // A topic that matches the whitelist appears while the route runs.
  src.create_topic("logs.api", 2, 1);
  dst.create_topic("logs.api", 2, 1);
  traffic(src.bootstrap(), "logs.api", 50, 7);
  // The source's ends now: the route's own view of the high watermark may still be older.
  std::map<int32_t, int64_t> end;
  for (int32_t p = 0; p < 2; ++p) end[p] = read_all(src.bootstrap(), {"logs.api", p}).back().last_offset().value() + 1;
  ASSERT_TRUE(m.wait_for([&](const auto& st) {
    int done = 0;
    for (const auto& s : st)
      if (s.tp.topic == "logs.api" && s.committed_offset >= end[s.tp.partition]) ++done;
    return done == 2;
  })) << "logs.api is mirrored without a restart";
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "logs.api", 2);
}

TEST(MockPipeline, ForcedRepackStillDeliversTheSameRecords) {
  // The benchmark mode: every batch decompressed and recompressed. Batches are no longer
  // byte-identical, but the records a consumer sees are.
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 100, 3);
  auto o = options("forced", "t");
  o.force_repack = true;
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  for (int p = 0; p < 2; ++p) {
    auto a = consume_partition(src.bootstrap(), "t", p);
    auto b = consume_partition(dst.bootstrap(), "t", p);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "partition " << p << " record " << i;
    auto st = m.status_of(p);
    EXPECT_EQ(st.repacked_by_reason["forced"], read_all(src.bootstrap(), {"t", p}).size());
  }
}

TEST(MockPipeline, TargetMaxMessageBytesFromTheSyncerSplitsBatches) {
  // The syncer reads each target topic's max.message.bytes and hands it to the route:
  // batches above it are repacked to fit instead of being refused (MESSAGE_TOO_LARGE).
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  BatchBuilder big;
  for (int i = 0; i < 30; ++i) big.add("key-" + std::to_string(i), std::string(1000, char('a' + i % 26)));
  plant_batch(src.bootstrap(), {"t", 0}, big.build());
  Mirror m(src.bootstrap(), dst.bootstrap(), options("limits", "t"));  // default limit: 1048588
  m.route().set_max_message_bytes({{"t", 8 << 10}});
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  EXPECT_EQ(m.status_of(0).repacked_by_reason["too_large"], 1u);
  auto batches = read_all(dst.bootstrap(), {"t", 0});
  EXPECT_GT(batches.size(), 1u);
  for (const auto& b : batches) EXPECT_LE(b.size(), size_t{8 << 10});
  EXPECT_EQ(consume_partition(dst.bootstrap(), "t", 0).size(), 30u);
}


TEST(MockPipeline, UnderASyncerPartitionsStartOnceTheTargetLimitIsKnown) {
  // `run` with partition_sync: a batch over the target topic's max.message.bytes but under
  // Kafka's default went whole when the route started before the syncer's first pass, and
  // the broker refused it (MESSAGE_TOO_LARGE, seen on real brokers). The partition waits.
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  src.create_topic("u", 1, 1);
  dst.create_topic("t", 1, 1);
  dst.create_topic("u", 1, 1);
  BatchBuilder big;
  for (int i = 0; i < 30; ++i) big.add("key-" + std::to_string(i), std::string(1000, char('a' + i % 26)));
  plant_batch(src.bootstrap(), {"t", 0}, big.build());
  traffic(src.bootstrap(), "u", 20, 1);
  auto o = options("held", "");
  o.select_topic = [](const std::string& t) { return t == "t" || t == "u"; };
  o.await_target_limits = true;
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  ASSERT_TRUE(m.wait_for([](const auto& st) { return st.size() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a metadata interval and more
  for (const auto& s : m.status()) {
    EXPECT_EQ(s.state, PartitionState::starting) << s.tp.str();
    EXPECT_NE(s.reason.find("max.message.bytes"), std::string::npos) << s.reason;
  }
  EXPECT_TRUE(read_all(dst.bootstrap(), {"t", 0}).empty());
  m.route().set_max_message_bytes({{"t", 8 << 10}});
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    for (const auto& s : st)
      if (s.tp.topic == "t") return s.state == PartitionState::running && s.committed_offset == s.high_watermark;
    return false;
  }));
  for (const auto& s : m.status()) {
    if (s.tp.topic == "u") {
      EXPECT_EQ(s.state, PartitionState::starting) << "u has no limit yet";
    }
  }
  // A syncer pass that failed as a whole releases the rest at Kafka's default.
  m.route().set_max_message_bytes({}, true);
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  auto batches = read_all(dst.bootstrap(), {"t", 0});
  EXPECT_GT(batches.size(), 1u);
  for (const auto& b : batches) EXPECT_LE(b.size(), size_t{8 << 10});
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "u", 1);
}

TEST(MockPipeline, ASlowSyncerDoesNotHoldPartitionsBeyondTheWait) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 2, 1);
  dst.create_topic("t", 2, 1);
  traffic(src.bootstrap(), "t", 20, 1);
  auto o = options("slow-syncer", "t");
  o.await_target_limits = true;
  o.target_limits_wait = net::Millis(300);
  Mirror m(src.bootstrap(), dst.bootstrap(), o);  // no limits ever reported
  ASSERT_TRUE(m.caught_up(std::chrono::seconds(30))) << m.fatal_;
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 2);
}

// DUPLICATE_SEQUENCE_NUMBER is an ack only for a resend: on a first send the sequence was used
// before by other data (a partition that left the route and came back), and taking it for an
// ack would commit a batch the target never got. The mock checks no sequences, so it is told
// to answer so; the route must get a new producer id and send the batch again.
TEST(MockPipeline, ADuplicateSequenceOnAFirstSendIsNotAnAck) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 1, 1);
  dst.create_topic("t", 1, 1);
  traffic(src.bootstrap(), "t", 20, 4);
  rd_kafka_mock_push_request_errors(dst.mock(), 0 /* Produce */, 1, RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER);
  Mirror m(src.bootstrap(), dst.bootstrap(), options("dupseq", "t"));
  ASSERT_TRUE(m.caught_up()) << m.fatal_;
  EXPECT_EQ(read_all(dst.bootstrap(), {"t", 0}).size(), read_all(src.bootstrap(), {"t", 0}).size());
  expect_identity(dst.bootstrap(), {src.bootstrap()}, "t", 1);
}

// Scale-out, the route's side (the group member is tested with processes: scale_out_test.cc):
// partitions run only when assigned; while the produce fence is down nothing reaches the target;
// a revoked partition is drained and committed before `done`; a lost one is never committed.
TEST(MockPipeline, AssignedPartitionsRunOnlyWhileTheFenceHoldsAndRevocationsCommitFirst) {
  app::MockCluster src("src", 1), dst("dst", 1);
  src.create_topic("t", 3, 1);
  dst.create_topic("t", 3, 1);
  traffic(src.bootstrap(), "t", 60, 2);
  auto o = options("assigned", "t");
  o.assigned_only = true;
  auto fence = std::make_shared<std::atomic<bool>>(false);
  o.may_produce = [fence] { return fence->load(); };
  Mirror m(src.bootstrap(), dst.bootstrap(), o);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_TRUE(m.status().empty()) << "nothing runs before the group assigns it";

  m.route().assign({{"t", 0}, {"t", 1}});
  ASSERT_TRUE(m.wait_for([](const auto& st) {
    return st.size() == 2 && std::all_of(st.begin(), st.end(), [](const auto& s) { return s.state == PartitionState::running; });
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  for (int p = 0; p < 3; ++p) EXPECT_TRUE(read_all(dst.bootstrap(), {"t", p}).empty()) << "sent through a closed fence";

  fence->store(true);
  auto source_batches = [&](int p) { return read_all(src.bootstrap(), {"t", p}).size(); };
  ASSERT_TRUE(m.wait_for([&](const auto&) {
    return read_all(dst.bootstrap(), {"t", 0}).size() == source_batches(0) &&
           read_all(dst.bootstrap(), {"t", 1}).size() == source_batches(1);
  }));
  EXPECT_TRUE(read_all(dst.bootstrap(), {"t", 2}).empty()) << "partition 2 was never assigned";

  // Revoked: done only once its acknowledged offset is committed.
  std::promise<void> revoked;
  m.route().remove({{"t", 0}}, pipeline::Route::Removal::revoked, net::Millis(5000), [&] { revoked.set_value(); });
  ASSERT_EQ(revoked.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  net::IoThread io;
  ClusterClient reader(io, src.bootstrap(), "reader");
  auto offsets = pipeline::GroupOffsets::create(reader.cluster, "tiermirror-assigned", net::Millis(5000));
  using R = std::pair<std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>>;
  auto committed = [&] {
    return net::await<R>([&](auto done) {
      offsets->fetch({{"t", 0}, {"t", 1}}, [done](auto ec, auto m) { done({ec, std::move(m)}); });
    });
  };
  auto [ec, c] = committed();
  ASSERT_FALSE(ec) << ec.message();
  auto end0 = read_all(src.bootstrap(), {"t", 0});
  const TopicPartition t0{"t", 0}, t1{"t", 1};
  ASSERT_TRUE(c[t0].has_value());
  EXPECT_EQ(c[t0]->value(), end0.back().base_offset() + end0.back().last_offset_delta() + 1);
  EXPECT_EQ(m.status().size(), 1u) << "the revoked partition left the route";

  // Lost: at once; what it fetched and had not sent never goes, nor is anything committed.
  fence->store(false);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // commit rounds settle
  auto before = committed().second[t1];
  auto target_before = read_all(dst.bootstrap(), {"t", 1}).size();
  traffic(src.bootstrap(), "t", 20, 9);
  ASSERT_TRUE(m.wait_for([](const auto& st) { return !st.empty() && st.front().buffered_bytes > 0; }))
      << "partition 1 should have fetched the new batches";
  std::promise<void> lost;
  m.route().remove({{"t", 1}}, pipeline::Route::Removal::lost, net::Millis(5000), [&] { lost.set_value(); });
  ASSERT_EQ(lost.get_future().wait_for(std::chrono::seconds(2)), std::future_status::ready);
  fence->store(true);
  ASSERT_TRUE(m.wait_for([](const auto& st) { return st.empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // commit rounds pass
  EXPECT_EQ(read_all(dst.bootstrap(), {"t", 1}).size(), target_before) << "a lost partition sent";
  auto after = committed().second[t1];
  ASSERT_TRUE(before && after);
  EXPECT_EQ(after->value(), before->value()) << "a lost partition was committed";
}

}  // namespace
}  // namespace tiermirror::test
