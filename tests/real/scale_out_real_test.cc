// Scale-out on real brokers: three `tiermirror run` children with `membership.mode: group`
// share one route (a 12-partition topic) while a librdkafka idempotent producer writes. 20
// times a random member is killed with SIGKILL and started again (its partitions move to the
// others once its session expires, and back at the next rebalance). Then, with every member
// still running, the producer stops; the test waits until each partition is owned by exactly
// one live member (`tiermirror members`) and the target caught up, stops them with SIGTERM,
// and checks every partition: each source batch exactly once, in order, records sections
// identical, and per bucket the audit's tiers equal recounts of both clusters.
//
// TIERMIRROR_SCALE_KILLS=N changes the number of kills (default 20).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "mock_support.h"
#include "real_admin.h"
#include "real_env.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/pipeline/group_offsets.h"

namespace tiermirror::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using nlohmann::json;

constexpr int kPartitions = 12;
constexpr int kMembers = 3;

/// A source topic with `partitions`, created and settled; a failure message or "".
std::string make_source_topic(const real::RealEnv& env, const std::string& topic, int32_t partitions) {
  control::RdKafkaAdmin admin({"source", env.source.bootstrap, "tiermirror-test", {}, {}});
  return real::create_settled_topic(admin, topic, partitions);
}

/// The route config every member of a test shares: one topic, commits every 500 ms, the given
/// `membership` and `audit` mappings, no metrics listener.
std::string member_yaml(const real::RealEnv& env, const std::string& topic, const std::string& membership,
                        const std::string& audit, const std::string& extra = "") {
  std::ostringstream y;
  y << "route: {name: '" << topic << "'}\n"
    << "source: {name: source, bootstrap_servers: " << yaml_list(env.source.bootstrap) << "}\n"
    << "target: {name: target, bootstrap_servers: " << yaml_list(env.target.bootstrap) << "}\n"
    << "topics:\n  include:\n    - '" << topic << "'\n"
    << "commit_interval: 500ms\n"
    << "membership: " << membership << "\n"
    << "audit: " << audit << "\n"
    << "metrics: {listen: \"\"}\n"
    << extra;
  return y.str();
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::max(0, std::atoi(v));
}

TEST(RealScaleOut, ThreeMembersKilledAtRandomShareTheRouteExactlyOnce) {
  TIERMIRROR_REAL_ENV(env);
  const int kills_wanted = env_int("TIERMIRROR_SCALE_KILLS", 20);
  std::mt19937 rng(static_cast<unsigned>(env_int("TIERMIRROR_SCALE_SEED", 20261207)));
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  const std::string topic = real::unique_topic("scale");
  ASSERT_EQ(make_source_topic(env, topic, kPartitions), "");
  real::Scratch dir("tm-real-scale-" + env.kafka_version);
  auto config = (dir / "route.yaml").string();
  // The syncer creates the target topic (only the member owning partition 0 writes).
  std::ofstream(config) << member_yaml(env, topic, "{mode: group, session_timeout: 6s}",
                                     "{topic: '" + topic + "-audit', bucket: 1h, publish_interval: 1s}",
                                     "limits: {request_timeout: 3s}\n");

  std::atomic<bool> stop_producing{false};
  std::atomic<int> produced{0};
  std::thread producer([&] {
    const char* codecs[] = {"none", "lz4", "zstd", "snappy", "gzip"};
    for (uint64_t round = 0; !stop_producing; ++round) {
      app::TrafficOptions t;
      t.codec = codecs[round % 5];
      t.records = 240;
      t.idempotent = true;
      t.seed = 5000 + round;
      t.value_bytes_min = 50;
      t.value_bytes_max = 200;
      t.batch_records = 10;
      try {
        produced += app::produce_traffic(env.source.bootstrap, topic, t);
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  });

  std::vector<pid_t> members(kMembers, -1);
  std::vector<std::string> logs(kMembers);
  int spawned = 0, killed_owners = 0;
  auto spawn = [&](int slot) {
    auto log = (dir / ("member-" + std::to_string(spawned++) + ".stderr")).string();
    logs[slot] = log;
    members[slot] = spawn_tiermirror({"run", "--config", config}, log);
    return members[slot] > 0;
  };
  auto stop = [&](int slot, int sig) {
    ::kill(members[slot], sig);
    int status = 0;
    ::waitpid(members[slot], &status, 0);
    members[slot] = -1;
    return status;
  };
  real::AtScopeExit cleanup{[&] {
    for (int i = 0; i < kMembers; ++i)
      if (members[i] > 0) stop(i, SIGKILL);
    stop_producing = true;
    if (producer.joinable()) producer.join();
  }};

  for (int i = 0; i < kMembers; ++i) ASSERT_TRUE(spawn(i)) << "cannot start " << TIERMIRROR_BINARY;
  std::this_thread::sleep_for(milliseconds(5000));
  for (int k = 0; k < kills_wanted; ++k) {
    int slot = uniform(0, kMembers - 1);
    int status = stop(slot, SIGKILL);
    // Killed while it held partitions: they wait for its session to expire, then move.
    if (count_of(read_file(logs[slot]), "partitions assigned by the group") > 0) ++killed_owners;
    ASSERT_TRUE(WIFSIGNALED(status)) << "member exited by itself (status " << status << "); logs in " << dir.dir;
    std::this_thread::sleep_for(milliseconds(uniform(200, 1500)));
    ASSERT_TRUE(spawn(slot));
    std::this_thread::sleep_for(milliseconds(uniform(2000, 5000)));
  }
  stop_producing = true;
  producer.join();

  // Every partition owned by exactly one live member, and the target caught up with the source.
  std::string last;
  bool settled = false;
  net::IoThread io;
  ClusterClient source(io, env.source.bootstrap, "source"), target(io, env.target.bootstrap, "target");
  auto offsets = pipeline::GroupOffsets::create(source.cluster, "tiermirror-" + topic, net::Millis(10000));
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!settled && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1000));
    auto r = run_command(std::string(TIERMIRROR_BINARY) + " members --format json --config " + config + " 2>&1");
    last = r.out;
    auto j = json::parse(r.out, nullptr, false);
    if (r.status != 0 || j.is_discarded() || j["members"].size() != kMembers) continue;
    std::map<std::string, int> owners;
    for (const auto& m : j["members"])
      for (const auto& p : m["partitions"]) owners[p.get<std::string>()]++;
    bool one_each = owners.size() == static_cast<size_t>(kPartitions);
    for (const auto& [p, n] : owners) one_each = one_each && n == 1;
    if (!one_each) continue;
    source.refresh();
    target.refresh();
    // Caught up and committed: every partition's committed offset is the source log's end (an
    // owner that delivered a tail and lost the partition before committing it has not settled).
    std::vector<TopicPartition> tps;
    for (int p = 0; p < kPartitions; ++p) tps.push_back({topic, p});
    using R = std::pair<std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>>;
    auto [ec, committed] = net::await<R>([&](auto done) {
      offsets->fetch(tps, [done](std::error_code e, std::map<TopicPartition, std::optional<SourceOffset>> m) {
        done({e, std::move(m)});
      });
    });
    bool caught_up = !ec;
    if (ec) last += "\ncommitted offsets: " + ec.message();
    for (int p = 0; p < kPartitions && caught_up; ++p) {
      auto s = app::read_partition(source.cluster, {topic, p});
      auto t = app::read_partition(target.cluster, {topic, p});
      auto c = committed[{topic, p}];
      int64_t end = s.batches.empty() ? -1 : s.batches.back().base_offset() + s.batches.back().last_offset_delta() + 1;
      caught_up = !s.ec && !t.ec && s.batches.size() == t.batches.size() && c && c->value() == end;
      if (!caught_up)
        last += "\npartition " + std::to_string(p) + ": source batches " + std::to_string(s.batches.size()) +
                ", target " + std::to_string(t.batches.size()) + ", committed " +
                (c ? std::to_string(c->value()) : std::string("none")) + ", source end " + std::to_string(end);
    }
    settled = caught_up;
  }
  ASSERT_TRUE(settled) << "after 120 s, not every partition owned by exactly one of " << kMembers
                       << " live members with the target caught up and committed; last `members`:\n"
                       << last << "\nlogs in " << dir.dir;
  for (int i = 0; i < kMembers; ++i) {
    int status = stop(i, SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; logs in " << dir.dir;
  }

  auto copies = expect_exact_copies(source.cluster, target.cluster, topic, kPartitions,
                                    "(logs in " + dir.dir.string() + ")");
  expect_audit_exact(topic, topic + "-audit", env.target.bootstrap, env.source.bootstrap, env.target.bootstrap, "1h");

  size_t assignments = 0, paused_records = 0;
  for (int i = 0; i < spawned; ++i) {
    auto log = read_file(dir / ("member-" + std::to_string(i) + ".stderr"));
    assignments += count_of(log, "partitions assigned by the group");
    paused_records += count_of(log, "received a record although its partitions are paused");
  }
  EXPECT_EQ(paused_records, 0u) << "the membership consumer fetched records";
  std::printf("scale-out (real %s): members started=%d, kills=%d (of members holding partitions %d), "
              "assignments=%zu, batches=%zu, produced=%d, duplicates=%zu, lost=%zu\n",
              env.kafka_version.c_str(), spawned, kills_wanted, killed_owners, assignments, copies.batches,
              produced.load(), copies.duplicates, copies.lost);
  // Random victims, but the handover must have been exercised: most kills hit an owner.
  EXPECT_GE(killed_owners, kills_wanted / 4) << "too few kills hit a member holding partitions";
}

// A zombie: a member frozen (SIGSTOP) past its session timeout while it holds partitions under
// load; the group hands its partitions to the other member, which resumes them. When the zombie
// thaws, its data path may run before librdkafka learns the session is gone: the produce fence
// (docs/operations.md, "Scaling a route") keeps it from sending, or the target would hold
// batches twice. Checked: it learns of the loss, and no batch is lost or duplicated.
TEST(RealScaleOut, AFrozenMemberThawingAfterItsSessionExpiredWritesNothing) {
  TIERMIRROR_REAL_ENV(env);
  const std::string topic = real::unique_topic("zombie");
  ASSERT_EQ(make_source_topic(env, topic, 4), "");
  real::Scratch dir("tm-real-zombie-" + env.kafka_version);
  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << member_yaml(env, topic, "{mode: group, session_timeout: 6s}", "{enabled: false}",
                                     "limits: {request_timeout: 3s}\n");
  std::atomic<bool> stop_producing{false};
  std::thread producer([&] {
    for (uint64_t round = 0; !stop_producing; ++round) {
      app::TrafficOptions t;
      t.codec = "lz4";
      t.records = 400;
      t.idempotent = true;
      t.seed = 9000 + round;
      t.batch_records = 10;
      try {
        app::produce_traffic(env.source.bootstrap, topic, t);
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  pid_t a = spawn_tiermirror({"run", "--config", config}, (dir / "a.stderr").string());
  pid_t b = spawn_tiermirror({"run", "--config", config}, (dir / "b.stderr").string());
  real::AtScopeExit cleanup{[&] {
    for (pid_t p : {a, b})
      if (p > 0) {
        ::kill(p, SIGCONT);
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
    stop_producing = true;
    if (producer.joinable()) producer.join();
  }};
  // Both hold partitions and mirror.
  auto assigned = [&](const char* who) {
    return count_of(read_file(dir / (std::string(who) + ".stderr")), "partitions assigned by the group") > 0;
  };
  for (int i = 0; i < 200 && !(assigned("a") && assigned("b")); ++i) std::this_thread::sleep_for(milliseconds(100));
  ASSERT_TRUE(assigned("a") && assigned("b")) << "logs in " << dir.dir;
  std::this_thread::sleep_for(milliseconds(2000));
  ::kill(a, SIGSTOP);  // frozen mid-flight: fetch responses keep arriving in its socket buffers
  std::this_thread::sleep_for(milliseconds(12000));  // > session timeout: b takes a's partitions over
  ::kill(a, SIGCONT);
  std::this_thread::sleep_for(milliseconds(6000));
  stop_producing = true;
  producer.join();
  std::this_thread::sleep_for(milliseconds(6000));
  for (pid_t* p : {&a, &b}) {
    ::kill(*p, SIGTERM);
    int status = 0;
    ::waitpid(*p, &status, 0);
    *p = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; logs in " << dir.dir;
  }
  // A last member alone mirrors to the end (a group of one).
  auto r = run_command("timeout 120 " + std::string(TIERMIRROR_BINARY) + " run --until-caught-up --config " + config +
                       " 2>" + (dir / "final.stderr").string());
  ASSERT_EQ(r.status, 0) << read_file(dir / "final.stderr");

  net::IoThread io;
  ClusterClient source(io, env.source.bootstrap, "source"), target(io, env.target.bootstrap, "target");
  source.refresh();
  target.refresh();
  auto copies = expect_exact_copies(source.cluster, target.cluster, topic, 4, "(logs in " + dir.dir.string() + ")");
  auto a_log = read_file(dir / "a.stderr");
  size_t fenced = count_of(a_log, "not sending: the group session is not confirmed");
  size_t a_lost = count_of(a_log, "partitions lost (group session expired)");
  std::printf("zombie (real %s): the thawed member was fenced %zu time(s), lost its partitions %zu time(s); "
              "duplicates=%zu, lost=%zu\n",
              env.kafka_version.c_str(), fenced, a_lost, copies.duplicates, copies.lost);
  EXPECT_GE(a_lost, 1u) << "the frozen member never learned that its session expired; logs in " << dir.dir;
  // Not asserted: whether the thawed member logs the fence depends on what runs first after
  // SIGCONT, its data path or librdkafka's loss and new assignment (which renews the fence);
  // the gate itself is proven by MockPipeline.AssignedPartitionsRunOnlyWhileTheFenceHolds...
}

// membership.mode none beside a member with membership.mode group (a rollout that switches
// modes, a stray process): the none process would mirror the member's partitions a second time.
// The broker refuses its simple-consumer commits while the group has members (UNKNOWN_MEMBER_ID);
// it stops with exit 3 and a message naming the cause.
TEST(RealScaleOut, AProcessWithoutMembershipStopsBesideGroupMembers) {
  TIERMIRROR_REAL_ENV(env);
  const std::string topic = real::unique_topic("beside");
  ASSERT_EQ(make_source_topic(env, topic, 2), "");
  real::Scratch dir("tm-real-beside-" + env.kafka_version);
  std::ofstream(dir / "group.yaml") << member_yaml(env, topic, "{mode: group}", "{enabled: false}");
  std::ofstream(dir / "none.yaml") << member_yaml(env, topic, "{mode: none}", "{enabled: false}");
  pid_t member = spawn_tiermirror({"run", "--config", (dir / "group.yaml").string()}, (dir / "member.stderr").string());
  real::AtScopeExit cleanup{[&] {
    if (member > 0) {
      ::kill(member, SIGKILL);
      ::waitpid(member, nullptr, 0);
    }
  }};
  for (int i = 0; i < 300 && count_of(read_file(dir / "member.stderr"), "partitions assigned by the group") == 0; ++i)
    std::this_thread::sleep_for(milliseconds(100));
  ASSERT_GT(count_of(read_file(dir / "member.stderr"), "partitions assigned by the group"), 0u)
      << "logs in " << dir.dir;
  auto r = run_command("timeout 60 " + std::string(TIERMIRROR_BINARY) + " run --config " + (dir / "none.yaml").string() +
                       " 2>" + (dir / "none.stderr").string());
  auto log = read_file(dir / "none.stderr");
  EXPECT_EQ(r.status, 3) << log;
  EXPECT_GT(count_of(log, "has active members (instances with membership.mode: group)"), 0u) << log;
}

}  // namespace
}  // namespace tiermirror::test
