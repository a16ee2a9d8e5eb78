// Chaos: `tiermirror run` as a child process between two 3-broker mock clusters while
// producers write with every codec, brokers go down, leaders move, Produce and Fetch fail
// retriably, latency spikes — and the child is killed with SIGKILL and restarted, again and
// again. At the end one `run --until-caught-up`, then for every partition: the target holds
// every source batch exactly once, in source order, records sections identical (exactly-once
// resume), and per bucket the audit's tiers equal recounts of the source and target logs.
//
// Default (CI): at least 20 kills, about two minutes. TIERMIRROR_CHAOS_KILLS=N and
// TIERMIRROR_CHAOS_SECONDS=S run longer (both bounds must be reached).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "mock_support.h"
#include "tiermirror/app/readback.h"

extern char** environ;

namespace tiermirror::test {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kTopic = "chaos";
constexpr int kPartitions = 3;
constexpr int kBrokers = 3;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::max(0, std::atoi(v));
}

TEST(MockChaos, KilledAndRestartedUnderFaultsMirrorsEveryBatchExactlyOnce) {
  const auto started = Clock::now();
  const int min_kills = env_int("TIERMIRROR_CHAOS_KILLS", 20);
  const int min_seconds = env_int("TIERMIRROR_CHAOS_SECONDS", 0);
  std::mt19937_64 rng(env_int("TIERMIRROR_CHAOS_SEED", 20261125));
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  app::MockCluster src("dc-a", kBrokers), dst("aggregate", kBrokers);
  src.create_topic(kTopic, kPartitions, kBrokers);
  dst.create_topic(kTopic, kPartitions, kBrokers);
  dst.create_topic("__tiermirror_audit", 1, kBrokers);

  auto dir = std::filesystem::temp_directory_path() / ("tm-chaos-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto config = (dir / "route.yaml").string();
  auto child_log = (dir / "run.stderr").string();
  std::ofstream(config) << "route: {name: chaos}\n"
                        << "source: {name: dc-a, bootstrap_servers: " << yaml_list(src.bootstrap()) << "}\n"
                        << "target: {name: aggregate, bootstrap_servers: " << yaml_list(dst.bootstrap()) << "}\n"
                        << "topics:\n  include:\n    - regex: '" << kTopic << "'\n"
                        << "commit_interval: 500ms\n"
                        << "audit: {publish_interval: 1s, bucket: 1m}\n"
                        // One batch in flight per partition: librdkafka 2.0.2's mock checks no
                        // idempotent sequences, so with several in flight a failed batch followed
                        // by an accepted one lands out of order there (a real broker answers
                        // OUT_OF_ORDER_SEQUENCE_NUMBER), and the resume would rightly re-send.
                        << "limits: {request_timeout: 5s, inflight_per_partition: 1}\n"
                        << "metrics: {listen: \"\"}\n"
                        // The mock answers no DescribeConfigs (a syncer pass takes ~10 s of
                        // timeouts) and partitions wait for the pass's target limits, so no
                        // child would live to mirror: the syncer is tested on real brokers.
                        << "partition_sync: {enabled: false}\n";

  // Producers: every codec in turn, small values (the mock keeps at most 5 MiB per
  // partition: this stays far below), idempotent so the source itself holds no duplicates.
  std::atomic<bool> stop_producing{false};
  std::atomic<int> produced{0}, produce_failures{0};
  std::thread producer([&] {
    const char* codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (uint64_t round = 0; !stop_producing; ++round) {
      app::TrafficOptions t;
      t.codec = codecs[round % 5];
      t.records = 100;
      t.idempotent = true;
      t.seed = 1000 + round;
      t.value_bytes_min = 50;
      t.value_bytes_max = 150;
      t.batch_records = 25 + static_cast<int>(round % 4) * 25;
      try {
        produced += app::produce_traffic(src.bootstrap(), kTopic, t);
      } catch (const std::exception&) {
        ++produce_failures;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  // Faults, each with its undo (run later, possibly after the next restart).
  std::map<std::string, int> faults;
  std::vector<std::pair<Clock::time_point, std::function<void()>>> undo;
  auto run_due_undos = [&](bool all) {
    auto now = Clock::now();
    for (auto it = undo.begin(); it != undo.end();) {
      if (all || it->first <= now) {
        it->second();
        it = undo.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto sleep_ms = [&](int ms) {
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
      run_due_undos(false);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  // The mock does not deduplicate a resent batch by its sequence either: a target broker
  // going down while it holds the response to an appended batch (latency spike) makes the
  // route resend it and the mock append it twice (a real broker answers
  // DUPLICATE_SEQUENCE_NUMBER). So target brokers go down only while the target has no
  // latency spike, and the other way round.
  Clock::time_point target_down_until{}, target_slow_until{};
  auto inject = [&] {
    bool on_source = uniform(0, 1) == 0;
    int kind = uniform(0, 4);
    auto now = Clock::now();
    if (!on_source && ((kind == 0 && now < target_slow_until) || (kind == 4 && now < target_down_until)))
      on_source = true;
    app::MockCluster& c = on_source ? src : dst;
    auto* mock = c.mock();
    int broker = uniform(1, kBrokers);
    switch (kind) {
      case 0: {
        auto until = now + std::chrono::milliseconds(uniform(200, 1500));
        rd_kafka_mock_broker_set_down(mock, broker);
        undo.emplace_back(until, [mock, broker] { rd_kafka_mock_broker_set_up(mock, broker); });
        if (!on_source) target_down_until = std::max(target_down_until, until + std::chrono::milliseconds(100));
        faults[on_source ? "source_broker_down" : "target_broker_down"]++;
        break;
      }
      case 1:
        rd_kafka_mock_partition_set_leader(mock, kTopic, uniform(0, kPartitions - 1), broker);
        faults[on_source ? "source_leader_change" : "target_leader_change"]++;
        break;
      case 2:
        rd_kafka_mock_push_request_errors(dst.mock(), 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                          RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
        faults["target_produce_errors"]++;
        break;
      case 3:
        rd_kafka_mock_push_request_errors(mock, 1 /* Fetch */, 2, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                          RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        faults[on_source ? "source_fetch_errors" : "target_fetch_errors"]++;
        break;
      default: {
        auto until = now + std::chrono::milliseconds(uniform(300, 2000));
        rd_kafka_mock_broker_set_rtt(mock, broker, uniform(100, 600));
        undo.emplace_back(until, [mock, broker] { rd_kafka_mock_broker_set_rtt(mock, broker, 0); });
        if (!on_source) target_slow_until = std::max(target_slow_until, until + std::chrono::milliseconds(100));
        faults[on_source ? "source_latency_spike" : "target_latency_spike"]++;
        break;
      }
    }
  };

  int kills = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // some data before the first run
  while (kills < min_kills || Clock::now() - started < std::chrono::seconds(min_seconds)) {
    pid_t pid = spawn_tiermirror({"run", "--config", config}, child_log, /*append=*/true);
    ASSERT_GT(pid, 0) << "cannot start " << TIERMIRROR_BINARY;
    int life = uniform(600, 3500);
    int first = uniform(100, life - 100);
    sleep_ms(first);
    inject();
    if (uniform(0, 2) == 0) inject();
    sleep_ms(life - first);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited by itself (status " << status << "); see " << child_log;
    ++kills;
  }
  stop_producing = true;
  producer.join();
  run_due_undos(true);
  for (int b = 1; b <= kBrokers; ++b)
    for (auto* mock : {src.mock(), dst.mock()}) {
      rd_kafka_mock_broker_set_up(mock, b);
      rd_kafka_mock_broker_set_rtt(mock, b, 0);
    }

  // One last run to the end of what was produced.
  auto final_log = (dir / "final.stderr").string();
  auto r = run_command("timeout 180 " + std::string(TIERMIRROR_BINARY) + " run --until-caught-up --config " + config +
                       " 2>" + final_log);
  std::ifstream fl(final_log);
  std::string final_err((std::istreambuf_iterator<char>(fl)), {});
  ASSERT_EQ(r.status, 0) << final_err;

  // Every partition: each source batch exactly once, in order, records identical.
  net::IoThread io;
  ClusterClient source(io, src.bootstrap()), target(io, dst.bootstrap());
  source.refresh();
  target.refresh();
  size_t batches = 0, duplicates = 0, lost = 0;
  int64_t records = 0;
  size_t target_bytes = 0;
  for (int p = 0; p < kPartitions; ++p) {
    auto s = app::read_partition(source.cluster, {kTopic, p});
    auto t = app::read_partition(target.cluster, {kTopic, p});
    ASSERT_FALSE(s.ec) << s.ec.message();
    ASSERT_FALSE(t.ec) << t.ec.message();
    ASSERT_FALSE(s.batches.empty());
    EXPECT_EQ(s.batches.front().base_offset(), 0) << "the mock dropped source data (5 MiB cap): lower the volume";
    for (const auto& b : t.batches) target_bytes += b.size();
    for (const auto& m : count_copies(s.batches, t.batches)) {
      (m.missing > 0 ? lost : duplicates) += static_cast<size_t>(m.missing > 0 ? m.missing : -m.missing);
      std::string at;
      for (auto o : m.target_offsets) at += " " + std::to_string(o);
      ADD_FAILURE() << "partition " << p << ": source batch at offset "
                    << (m.source_offset >= 0 ? std::to_string(m.source_offset) : "?") << " is in the target "
                    << m.target_offsets.size() << " times (target offsets" << at << ")";
    }
    auto proof = app::prove_identity(t.batches, {s.batches});
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
    batches += s.batches.size();
    for (const auto& b : s.batches) records += b.records_count();
  }

  // The audit: complete in every bucket (they are still open: only completeness is checked).
  auto rep = run_command(std::string(TIERMIRROR_BINARY) + " audit report --format json --topic " + kTopic +
                         " --bootstrap " + dst.bootstrap() + " 2>/dev/null");
  ASSERT_EQ(rep.status, 0) << rep.out;
  auto j = json::parse(rep.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << rep.out;
  ASSERT_FALSE(j["buckets"].empty()) << rep.out;
  size_t buckets = 0;
  std::map<std::string, uint64_t> audit_source, audit_target;
  for (const auto& b : j["buckets"]) {
    ++buckets;
    EXPECT_EQ(b["completeness"].get<double>(), 1.0) << b.dump();
    EXPECT_EQ(b["lost"].get<uint64_t>(), 0u) << b.dump();
    EXPECT_EQ(b["source_records"], b["target_records"]) << b.dump();
    audit_source[b["bucket_start"].get<std::string>()] = b["source_records"].get<uint64_t>();
    audit_target[b["bucket_start"].get<std::string>()] = b["target_records"].get<uint64_t>();
  }
  // Exact, not only complete: per bucket, each tier equals a recount of its cluster's log
  // from batch headers (counts survive the kills: docs/audit.md, "Exact counts").
  auto scan = [&](const std::string& bootstrap) {
    std::map<std::string, uint64_t> by_bucket;
    auto r = run_command(std::string(TIERMIRROR_BINARY) + " audit scan --format json --bucket 1m --topic " + kTopic +
                         " --bootstrap " + bootstrap + " 2>/dev/null");
    EXPECT_EQ(r.status, 0) << r.out;
    auto sj = json::parse(r.out, nullptr, false);
    if (sj.is_discarded() || !sj.contains("buckets")) {
      ADD_FAILURE() << "audit scan: " << r.out;
      return by_bucket;
    }
    for (const auto& b : sj["buckets"]) by_bucket[b["bucket_start"].get<std::string>()] = b["records"].get<uint64_t>();
    return by_bucket;
  };
  EXPECT_EQ(audit_source, scan(src.bootstrap())) << "the audit's source tier vs a recount of the source";
  EXPECT_EQ(audit_target, scan(dst.bootstrap())) << "the audit's target tier vs a recount of the target";

  std::ifstream cl(child_log);
  std::string child_err((std::istreambuf_iterator<char>(cl)), {});
  size_t resumes = count_of(child_err, "exactly-once resume: target tail matched") +
                   count_of(final_err, "exactly-once resume: target tail matched");
  size_t fallbacks = count_of(child_err, "exactly-once resume failed") + count_of(final_err, "exactly-once resume failed");
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::string fault_text;
  int fault_total = 0;
  for (const auto& [k, n] : faults) {
    fault_text += (fault_text.empty() ? "" : " ") + k + "=" + std::to_string(n);
    fault_total += n;
  }
  std::printf("chaos: %.0fs, kills=%d, faults=%d (%s), batches=%zu records=%lld target_bytes=%zu produced=%d "
              "(failed produce rounds %d), partition resumes=%zu (fallbacks to at-least-once %zu), audit buckets=%zu, "
              "duplicates=%zu, lost=%zu\n",
              secs, kills, fault_total, fault_text.c_str(), batches, static_cast<long long>(records), target_bytes,
              produced.load(), produce_failures.load(), resumes, fallbacks, buckets, duplicates, lost);
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(lost, 0u);
  EXPECT_GE(kills, 20);
  if (!HasFailure())
    std::filesystem::remove_all(dir);
  else
    std::printf("chaos: logs kept in %s\n", dir.c_str());
}

}  // namespace
}  // namespace tiermirror::test
