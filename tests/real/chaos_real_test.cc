// Chaos against real brokers: `tiermirror run` as a child process mirrors a 3-partition topic
// from the fixture's 1-broker source to its 3-broker target (replication factor 3) while a
// librdkafka idempotent producer writes with every codec; the child is killed with SIGKILL at
// random points, again and again (each life 0.5-3 s), one target partition leader's broker is
// stopped and started again, and one partition's leadership is moved with Kafka's own
// kafka-reassign-partitions and kafka-leader-election (preferred). Then the producer stops, one
// final `run --until-caught-up`, and for every partition: the target holds every source batch
// exactly once, in source order, records sections identical (exactly-once resume on a real
// broker, whose appends, replication and high watermark the mock does not model).
//
// Default: 30 kills, about a minute. TIERMIRROR_CHAOS_KILLS=N, TIERMIRROR_CHAOS_SEED=S.
// Each child's stderr is kept in its own file; on failure the directory stays and its path is
// printed, with every duplicated or lost batch and the child that wrote it.
#include <fcntl.h>
#include <gtest/gtest.h>
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
#include <mutex>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <thread>

#include "mock_support.h"
#include "real_env.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/pipeline/raw_fetch.h"

extern char** environ;

namespace tiermirror::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kPartitions = 3;
constexpr milliseconds kAdminTimeout{30000};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::max(0, std::atoi(v));
}

/// Lines of `text` containing every one of `needles`, at most `max` of them.
std::string lines_with(const std::string& text, const std::vector<std::string>& needles, size_t max = 8) {
  std::istringstream in(text);
  std::string line, out;
  size_t n = 0;
  while (std::getline(in, line) && n < max) {
    bool all = true;
    for (const auto& s : needles) all = all && line.find(s) != std::string::npos;
    if (all) {
      out += "      " + line + "\n";
      ++n;
    }
  }
  return out;
}

// The partition's metadata on a cluster after a fresh refresh (nullopt when it has none).
std::optional<net::PartitionInfo> partition_info(ClusterClient& c, const std::string& topic, int32_t p) {
  net::MetadataPtr md;
  try {
    md = c.refresh();
  } catch (const std::exception&) {  // no broker answered (one may be restarting)
    return std::nullopt;
  }
  if (!md) return std::nullopt;
  const auto* info = md->partition(topic, p);
  if (!info) return std::nullopt;
  return *info;
}

// End offset (high watermark) of each target partition, -1 where the leader did not answer in time.
std::vector<int64_t> end_offsets(ClusterClient& c, const std::string& topic) {
  std::vector<int64_t> out;
  for (int p = 0; p < kPartitions; ++p) {
    int64_t off = -1;
    for (int attempt = 0; attempt < 2 && off < 0; ++attempt) {
      using R = std::pair<std::error_code, int64_t>;
      auto [ec, o] = net::await<R>([&](auto done) {
        pipeline::list_offset(c.cluster, {topic, p}, pipeline::kLatestTimestamp, pipeline::Isolation::read_uncommitted,
                              net::Millis(1000), [done](std::error_code e, int64_t v) { done({e, v}); });
      });
      if (!ec) off = o;
      else if (attempt == 0) partition_info(c, topic, p);  // a fresh leader
    }
    out.push_back(off);
  }
  return out;
}

struct Child {
  int index = 0;
  std::string log;
  Clock::time_point started, killed;
  std::vector<int64_t> target_end_at_start;  // per partition; -1 unknown
};

TEST(RealChaos, KilledRunsBrokerRestartAndLeaderMoveLoseAndDuplicateNothing) {
  TIERMIRROR_REAL_ENV(env);
  const auto started = Clock::now();
  const int min_kills = std::max(env_int("TIERMIRROR_CHAOS_KILLS", 30), 10);
  const int seed = env_int("TIERMIRROR_CHAOS_SEED", 20261125);
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  ASSERT_GE(env.target.brokers, 3) << "the chaos test needs the fixture's 3-broker target";

  const std::string topic = real::unique_topic("chaos");
  {
    control::RdKafkaAdmin src_admin({"source", env.source.bootstrap, "tiermirror-test", {}, {}});
    control::RdKafkaAdmin dst_admin({"target", env.target.bootstrap, "tiermirror-test", {}, {}});
    auto e = src_admin.create_topic(topic, kPartitions, -1, {}, kAdminTimeout);
    ASSERT_FALSE(e) << "source " << topic << ": " << e->str();
    e = dst_admin.create_topic(topic, kPartitions, 3, {}, kAdminTimeout);
    ASSERT_FALSE(e) << "target " << topic << ": " << e->str();
  }

  net::IoThread io;
  ClusterClient source(io, env.source.bootstrap, "source"), target(io, env.target.bootstrap, "target");
  // Wait until both clusters' metadata shows every partition with a leader (and on the target
  // three in-sync replicas), several answers in a row: a real cluster's brokers learn of a new
  // topic one by one.
  for (auto* c : {&source, &target}) {
    int streak = 0;
    for (int i = 0; i < 200 && streak < 3; ++i) {
      bool ok = true;
      for (int p = 0; p < kPartitions; ++p) {
        auto info = partition_info(*c, topic, p);
        ok = ok && info && info->leader >= 0 && (c == &source || info->isr.size() == 3);
      }
      streak = ok ? streak + 1 : 0;
      if (streak < 3) std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(streak, 3) << topic << ": metadata never showed every partition led (and replicated 3 times)";
  }

  auto dir = std::filesystem::temp_directory_path() / ("tm-real-chaos-" + env.kafka_version + "-" +
                                                       std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << "route: {name: '" << topic << "'}\n"
                        << "source: {name: source, bootstrap_servers: " << yaml_list(env.source.bootstrap) << "}\n"
                        << "target: {name: target, bootstrap_servers: " << yaml_list(env.target.bootstrap) << "}\n"
                        << "topics:\n  include:\n    - '" << topic << "'\n"
                        << "commit_interval: 500ms\n"
                        << "partition_sync: {replication_factor: 3}\n"
                        << "audit: {topic: '" << topic << "-audit', bucket: 1h, publish_interval: 1s}\n"
                        << "limits: {request_timeout: 5s}\n"
                        << "metrics: {listen: \"\"}\n";

  // The producer: every codec in turn, idempotent (the source itself holds no duplicates).
  std::atomic<bool> stop_producing{false};
  std::atomic<int> produced{0}, produce_failures{0};
  std::thread producer, restarter, mover;
  pid_t live_child = -1;
  producer = std::thread([&] {
    const char* codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (uint64_t round = 0; !stop_producing; ++round) {
      app::TrafficOptions t;
      t.codec = codecs[round % 5];
      t.records = 150;
      t.idempotent = true;
      t.seed = 1000 + round;
      t.value_bytes_min = 50;
      t.value_bytes_max = 300;
      t.batch_records = 10 + static_cast<int>(round % 4) * 20;
      try {
        produced += app::produce_traffic(env.source.bootstrap, topic, t);
      } catch (const std::exception&) {
        ++produce_failures;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  });

  // Broker faults, each on a thread of its own (restarting a broker and Kafka's tools take
  // seconds) while the children keep being killed. Each records what it did and what failed.
  std::mutex fault_mu;
  std::vector<std::string> fault_log, fault_failures;
  auto note = [&](bool failure, const std::string& what) {
    std::lock_guard lk(fault_mu);
    double t = std::chrono::duration<double>(Clock::now() - started).count();
    char at[32];
    std::snprintf(at, sizeof at, "%.1fs ", t);
    (failure ? fault_failures : fault_log).push_back(at + what);
  };
  std::atomic<bool> restart_done{false}, move_done{false};
  auto restart_leader_broker = [&] {
    // Its own client: the main thread's is busy with end offsets.
    net::IoThread fio;
    ClusterClient tc(fio, env.target.bootstrap, "fault");
    auto info = partition_info(tc, topic, 0);
    if (!info || info->leader < 1 || info->leader > env.target.brokers) {
      note(true, "broker restart: no leader for target partition 0");
      restart_done = true;
      return;
    }
    int node = info->leader;
    note(false, "target broker " + std::to_string(node) + " (leader of partition 0) stopping");
    if (!env.stop_node(env.target, node)) note(true, "stop-node " + std::to_string(node) + " failed");
    std::this_thread::sleep_for(milliseconds(2000));
    if (!env.start_node(env.target, node)) note(true, "start-node " + std::to_string(node) + " failed");
    else note(false, "target broker " + std::to_string(node) + " serves again");
    // Wait until it is back in every ISR, so the leader move below finds all replicas in sync.
    bool in_sync = false;
    for (int i = 0; i < 300 && !in_sync; ++i) {
      in_sync = true;
      for (int p = 0; p < kPartitions; ++p) {
        auto pi = partition_info(tc, topic, p);
        in_sync = in_sync && pi && pi->isr.size() == 3;
      }
      if (!in_sync) std::this_thread::sleep_for(milliseconds(100));
    }
    if (!in_sync) note(true, "broker " + std::to_string(node) + " did not rejoin every ISR within 30 s");
    restart_done = true;
  };
  auto move_leader = [&] {
    net::IoThread fio;
    ClusterClient tc(fio, env.target.bootstrap, "fault");
    constexpr int p = 1;
    auto info = partition_info(tc, topic, p);
    if (!info || info->replicas.size() != 3 || info->leader < 0) {
      note(true, "leader move: partition 1 has no leader or not 3 replicas");
      move_done = true;
      return;
    }
    // Same replicas, another one first: the preferred leader changes, no data moves.
    std::vector<int32_t> order;
    for (auto r : info->replicas)
      if (r != info->leader) order.push_back(r);
    order.push_back(info->leader);
    auto json_path = (dir / "reassign.json").string();
    std::ofstream(json_path) << "{\"version\":1,\"partitions\":[{\"topic\":\"" << topic << "\",\"partition\":" << p
                             << ",\"replicas\":[" << order[0] << "," << order[1] << "," << order[2] << "]}]}\n";
    note(false, "partition 1: leader " + std::to_string(info->leader) + ", reassigning replicas to [" +
                    std::to_string(order[0]) + "," + std::to_string(order[1]) + "," + std::to_string(order[2]) + "]");
    auto r = env.tool("reassign-partitions", env.target.bootstrap,
                      "--reassignment-json-file '" + json_path + "' --execute");
    if (r.status != 0) note(true, "kafka-reassign-partitions --execute exited " + std::to_string(r.status) + ": " + r.out);
    bool complete = false;
    for (int i = 0; i < 10 && !complete && r.status == 0; ++i) {
      auto v = env.tool("reassign-partitions", env.target.bootstrap,
                        "--reassignment-json-file '" + json_path + "' --verify");
      // "is complete." (2.x) / "is completed." (3.x and later)
      complete = v.status == 0 && v.out.find("is complete") != std::string::npos;
      if (!complete) std::this_thread::sleep_for(milliseconds(500));
    }
    if (!complete) note(true, "the reassignment of partition 1 did not complete (kafka-reassign-partitions --verify)");
    auto e = env.tool("leader-election", env.target.bootstrap,
                      "--election-type preferred --topic '" + topic + "' --partition " + std::to_string(p));
    if (e.status != 0) note(true, "kafka-leader-election exited " + std::to_string(e.status) + ": " + e.out);
    int32_t leader = -1;
    for (int i = 0; i < 100 && leader != order[0]; ++i) {
      auto now = partition_info(tc, topic, p);
      leader = now ? now->leader : -1;
      if (leader != order[0]) std::this_thread::sleep_for(milliseconds(100));
    }
    if (leader != order[0])
      note(true, "partition 1's leader is " + std::to_string(leader) + ", not the new preferred " + std::to_string(order[0]));
    else
      note(false, "partition 1: leader moved to " + std::to_string(leader));
    move_done = true;
  };

  // Whatever ends the test (a failed assertion too): no child left running, no broker left
  // stopped (the restarter starts it again before it returns), no thread left joinable.
  // Declared after everything the threads use, so it runs before those go.
  real::AtScopeExit cleanup{[&] {
    if (live_child > 0) {
      ::kill(live_child, SIGKILL);
      ::waitpid(live_child, nullptr, 0);
    }
    stop_producing = true;
    for (auto* t : {&producer, &restarter, &mover})
      if (t->joinable()) t->join();
  }};

  // The kill loop. Faults start at fixed kills; the loop goes on until both finished.
  std::vector<Child> children;
  const int restart_at = min_kills / 4, move_at = min_kills / 2;
  std::this_thread::sleep_for(milliseconds(500));  // some data before the first run
  int kills = 0;
  while (kills < min_kills || !restart_done || !move_done) {
    ASSERT_LT(Clock::now() - started, std::chrono::seconds(240)) << "the chaos loop ran too long; faults stuck?";
    if (kills == restart_at && !restarter.joinable()) restarter = std::thread(restart_leader_broker);
    if (kills >= move_at && restart_done && !mover.joinable()) mover = std::thread(move_leader);
    Child c;
    c.index = static_cast<int>(children.size());
    c.log = (dir / ("child-" + std::to_string(c.index) + ".stderr")).string();
    c.target_end_at_start = end_offsets(target, topic);
    c.started = Clock::now();
    pid_t pid = spawn_tiermirror({"run", "--config", config}, c.log);
    ASSERT_GT(pid, 0) << "cannot start " << TIERMIRROR_BINARY;
    live_child = pid;
    std::this_thread::sleep_for(milliseconds(uniform(500, 3000)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    live_child = -1;
    c.killed = Clock::now();
    children.push_back(c);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child " << c.index << " exited by itself (status " << WEXITSTATUS(status)
                                     << "); its log:\n"
                                     << read_file(c.log);
    ++kills;
  }
  if (restarter.joinable()) restarter.join();
  if (mover.joinable()) mover.join();
  stop_producing = true;
  producer.join();

  // One last run to the end of what was produced.
  Child final_run;
  final_run.index = static_cast<int>(children.size());
  final_run.log = (dir / "final.stderr").string();
  final_run.target_end_at_start = end_offsets(target, topic);
  final_run.started = Clock::now();
  auto r = run_command("timeout 120 " + std::string(TIERMIRROR_BINARY) + " run --until-caught-up --config " + config +
                       " 2>" + final_run.log);
  final_run.killed = Clock::now();
  children.push_back(final_run);
  ASSERT_EQ(r.status, 0) << "the final run --until-caught-up failed (124: did not catch up within 120 s):\n"
                         << read_file(final_run.log);

  // Which child wrote target offset `off` of partition p: the last one that started at or below it.
  auto writer_of = [&](int p, int64_t off) {
    int w = -1;
    for (const auto& c : children)
      if (c.target_end_at_start[p] >= 0 && c.target_end_at_start[p] <= off) w = c.index;
    return w;
  };
  auto describe_child = [&](int w) {
    if (w < 0) return std::string("an unknown child");
    const auto& c = children[w];
    std::string s = w + 1 == static_cast<int>(children.size()) ? "the final run" : "child " + std::to_string(w);
    if (w > 0) {
      const auto& prev = children[w - 1];
      s += " (started " + std::to_string(std::chrono::duration_cast<milliseconds>(c.started - prev.killed).count()) +
           " ms after kill #" + std::to_string(w - 1) + ", which came " +
           std::to_string(std::chrono::duration_cast<milliseconds>(prev.killed - prev.started).count()) +
           " ms into child " + std::to_string(w - 1) + "'s life)";
    }
    return s;
  };

  size_t batches = 0, duplicates = 0, lost = 0, target_batches = 0;
  int64_t records = 0;
  std::map<int, int> codecs;
  for (int p = 0; p < kPartitions; ++p) {
    auto s = app::read_partition(source.cluster, {topic, p});
    auto t = app::read_partition(target.cluster, {topic, p});
    ASSERT_FALSE(s.ec) << "source partition " << p << ": " << s.ec.message();
    ASSERT_FALSE(t.ec) << "target partition " << p << ": " << t.ec.message();
    ASSERT_FALSE(s.batches.empty()) << "source partition " << p << " is empty: the producer wrote nothing there";
    for (const auto& b : s.batches) codecs[static_cast<int>(b.codec())]++;
    for (const auto& m : count_copies(s.batches, t.batches)) {
      (m.missing > 0 ? lost : duplicates) += static_cast<size_t>(m.missing > 0 ? m.missing : -m.missing);
      std::string where;
      // A copy "appeared after child N started": child N wrote it, or a request child N-1 still
      // had in flight when it was killed reached the log only then.
      for (auto o : m.target_offsets)
        where += "\n    target offset " + std::to_string(o) + ", appeared after the start of " + describe_child(writer_of(p, o)) +
                 " (its writer, or a request the child before it had in flight)";
      std::string resume_lines;
      for (auto o : m.target_offsets) {
        int w = writer_of(p, o);
        if (w >= 0)
          resume_lines += "    resume lines of " + children[w].log + " for this partition:\n" +
                          lines_with(read_file(children[w].log), {"resume", topic + "-" + std::to_string(p)});
      }
      ADD_FAILURE() << (m.missing > 0 ? "LOST" : "DUPLICATED") << ": partition " << p << ", source batch at offset "
                    << (m.source_offset >= 0 ? std::to_string(m.source_offset) : "?") << " is in the target "
                    << m.target_offsets.size() << " times" << where << "\n"
                    << resume_lines;
    }
    auto proof = app::prove_identity(t.batches, {s.batches});
    EXPECT_TRUE(proof.ok) << "partition " << p << ": " << proof.detail;
    batches += s.batches.size();
    target_batches += t.batches.size();
    for (const auto& b : s.batches) records += b.records_count();
  }

  // The audit, after every kill: per bucket, its source tier equals a header recount of the
  // source, its target tier a recount of the target (counts exact under kill -9, issue 16).
  // Buckets are an hour: `audit scan --exact` (each record by its own time) gives the same
  // totals, and the same buckets unless a batch straddles the hour.
  auto scan_json = [&](const std::string& bootstrap, bool exact) {
    auto r = run_command(std::string(TIERMIRROR_BINARY) + " audit scan --bootstrap " + bootstrap + " --topic " +
                         topic + " --bucket 1h --format json" + (exact ? " --exact" : "") + " 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    std::map<std::string, uint64_t> by_bucket;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("buckets")) {
      ADD_FAILURE() << "audit scan: " << r.out;
      return by_bucket;
    }
    for (const auto& b : j["buckets"]) by_bucket[b["bucket_start"].get<std::string>()] = b["records"].get<uint64_t>();
    return by_bucket;
  };
  auto report = run_command(std::string(TIERMIRROR_BINARY) + " audit report --bootstrap " + env.target.bootstrap +
                            " --audit-topic " + topic + "-audit --topic " + topic + " --format json 2>&1");
  ASSERT_EQ(report.status, 0) << report.out;
  auto rj = nlohmann::json::parse(report.out, nullptr, false);
  ASSERT_FALSE(rj.is_discarded()) << report.out;
  std::map<std::string, uint64_t> audit_source, audit_target;
  for (const auto& b : rj["buckets"]) {
    audit_source[b["bucket_start"].get<std::string>()] = b["source_records"].get<uint64_t>();
    audit_target[b["bucket_start"].get<std::string>()] = b["target_records"].get<uint64_t>();
  }
  const auto source_scan = scan_json(env.source.bootstrap, false), target_scan = scan_json(env.target.bootstrap, false);
  const auto source_exact = scan_json(env.source.bootstrap, true);
  EXPECT_EQ(audit_source, source_scan) << "audit source tier vs a recount of the source\n" << report.out;
  EXPECT_EQ(audit_target, target_scan) << "audit target tier vs a recount of the target\n" << report.out;
  EXPECT_EQ(audit_source, audit_target);
  uint64_t audit_total = 0, exact_total = 0;
  for (const auto& [b, n] : audit_source) audit_total += n;
  for (const auto& [b, n] : source_exact) exact_total += n;
  EXPECT_EQ(audit_total, exact_total) << "audit source tier vs audit scan --exact of the source";
  EXPECT_EQ(audit_total, static_cast<uint64_t>(records));

  std::string all_logs;
  for (const auto& c : children) all_logs += read_file(c.log);
  size_t resumes = count_of(all_logs, "exactly-once resume: target tail matched");
  size_t fallbacks = count_of(all_logs, "exactly-once resume failed");
  std::string codec_text;
  for (const auto& [c, n] : codecs) codec_text += " " + std::to_string(c) + ":" + std::to_string(n);
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("chaos (Kafka %s, seed %d): %.0fs, kills=%d, source batches=%zu (by codec%s) records=%lld, target "
              "batches=%zu, produced=%d (failed produce rounds %d), partition resumes=%zu (fallbacks to "
              "at-least-once %zu), duplicates=%zu, lost=%zu, audit records source=%llu target=%llu\n",
              env.kafka_version.c_str(), seed, secs, kills, batches, codec_text.c_str(),
              static_cast<long long>(records), target_batches, produced.load(), produce_failures.load(), resumes,
              fallbacks, duplicates, lost, static_cast<unsigned long long>(audit_total),
              static_cast<unsigned long long>([&] {
                uint64_t t = 0;
                for (const auto& [b, n] : audit_target) t += n;
                return t;
              }()));
  for (const auto& f : fault_log) std::printf("chaos fault: %s\n", f.c_str());
  for (const auto& f : fault_failures) ADD_FAILURE() << "fault injection: " << f;
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(lost, 0u);
  EXPECT_GE(kills, min_kills);
  EXPECT_EQ(codecs.size(), 5u) << "the source should hold batches of every codec";
  if (!HasFailure())
    std::filesystem::remove_all(dir);
  else
    std::printf("chaos: children's logs kept in %s\n", dir.c_str());
}

}  // namespace
}  // namespace tiermirror::test
