// GroupOffsets against librdkafka's mock cluster: simple-consumer commits and fetches of a
// route's group on the source cluster, what a librdkafka consumer of the same group sees, and
// coordinator errors, moves and outages.
#include "tiermirror/pipeline/group_offsets.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "mock_support.h"

namespace tiermirror::test {
namespace {

using pipeline::GroupOffsets;
using pipeline::GroupOffsetsOptions;
using Commit = GroupOffsets::Commit;
using FetchR = std::pair<std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>>;
using FetchCommitsR = std::pair<std::error_code, std::map<TopicPartition, std::optional<Commit>>>;
using CommitR = std::pair<std::error_code, std::map<TopicPartition, std::error_code>>;
using SteadyClock = std::chrono::steady_clock;

constexpr int16_t kOffsetCommit = 8, kOffsetFetch = 9, kFindCoordinator = 10;

FetchR fetch(const std::shared_ptr<GroupOffsets>& g, std::vector<TopicPartition> parts) {
  return net::await<FetchR>([&](auto done) { g->fetch(parts, [done](auto ec, auto m) { done({ec, std::move(m)}); }); });
}
FetchCommitsR fetch_commits(const std::shared_ptr<GroupOffsets>& g, std::vector<TopicPartition> parts) {
  return net::await<FetchCommitsR>(
      [&](auto done) { g->fetch_commits(parts, [done](auto ec, auto m) { done({ec, std::move(m)}); }); });
}
CommitR commit(const std::shared_ptr<GroupOffsets>& g, std::map<TopicPartition, Commit> c) {
  return net::await<CommitR>([&](auto done) { g->commit(c, [done](auto ec, auto m) { done({ec, std::move(m)}); }); });
}
long elapsed_ms(SteadyClock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - since).count());
}

/// A source cluster of three brokers with topic "t" (4 partitions) and a connected client.
struct GroupOffsetsMock : ::testing::Test {
  GroupOffsetsMock() : mc("src", 3) {
    mc.create_topic("t", 4, 3);
    client = std::make_unique<ClusterClient>(io, mc.bootstrap(), "source");
    client->refresh();
  }
  std::shared_ptr<GroupOffsets> offsets(const std::string& group, GroupOffsetsOptions o = {}) {
    if (o.timeout == GroupOffsetsOptions{}.timeout) o.timeout = net::Millis(10000);
    return GroupOffsets::create(client->cluster, group, o);
  }
  static std::vector<TopicPartition> all() { return {{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}}; }
  static void expect_all_ok(const CommitR& r) {
    EXPECT_FALSE(r.first) << r.first.message();
    for (const auto& [tp, ec] : r.second) EXPECT_FALSE(ec) << tp.str() << ": " << ec.message();
  }

  app::MockCluster mc;
  net::IoThread io;
  std::unique_ptr<ClusterClient> client;
};

/// A librdkafka consumer handle with the group's id that never joins the group.
struct RdConsumer {
  RdConsumer(const std::string& bootstrap, const std::string& group) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const char* v) {
      if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
    };
    set("bootstrap.servers", bootstrap.c_str());
    set("group.id", group.c_str());
    set("enable.auto.commit", "false");
    set("log_level", "3");
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) throw std::runtime_error(err);
  }
  ~RdConsumer() {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
  rd_kafka_t* rk = nullptr;
};

TEST_F(GroupOffsetsMock, FetchWithoutCommitsGivesNullopt) {
  auto g = offsets("mirror-empty");
  auto [ec, got] = fetch(g, all());
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(got.size(), 4u);
  for (const auto& [tp, v] : got) EXPECT_EQ(v, std::nullopt) << tp.str();
  EXPECT_TRUE(g->coordinator().has_value()) << "the coordinator is cached after the first request";
}

TEST_F(GroupOffsetsMock, EmptyRequestsAnswerAtOnce) {
  auto g = offsets("mirror-none");
  EXPECT_FALSE(fetch(g, {}).first);
  auto r = commit(g, {});
  EXPECT_FALSE(r.first);
  EXPECT_TRUE(r.second.empty());
}

TEST_F(GroupOffsetsMock, CommitThenFetchGivesOffsetsAndMetadata) {
  auto g = offsets("mirror-a");
  auto r = commit(g, {{{"t", 0}, {SourceOffset(42), "target=40"}},
                      {{"t", 1}, {SourceOffset(7), ""}},
                      {{"t", 3}, {SourceOffset(100000), "target=99000;epoch=3"}}});
  expect_all_ok(r);
  EXPECT_EQ(r.second.size(), 3u);

  auto [ec, got] = fetch_commits(g, all());
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.at({"t", 0}), (Commit{SourceOffset(42), "target=40"}));
  EXPECT_EQ(got.at({"t", 1}), (Commit{SourceOffset(7), ""}));
  EXPECT_EQ(got.at({"t", 2}), std::nullopt);
  EXPECT_EQ(got.at({"t", 3}), (Commit{SourceOffset(100000), "target=99000;epoch=3"}));

  // A later commit replaces the earlier one; other groups are separate.
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(50), "target=48"}}}));
  auto [ec2, plain] = fetch(g, {{"t", 0}, {"t", 2}});
  ASSERT_FALSE(ec2);
  EXPECT_EQ(plain.at({"t", 0}), SourceOffset(50));
  EXPECT_EQ(plain.at({"t", 2}), std::nullopt);
  auto [ec3, other] = fetch(offsets("mirror-b"), {{"t", 0}});
  ASSERT_FALSE(ec3);
  EXPECT_EQ(other.at({"t", 0}), std::nullopt);
}

TEST_F(GroupOffsetsMock, LibrdkafkaConsumerOfTheGroupAgrees) {
  auto g = offsets("mirror-shared");
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(11), "m0"}}, {{"t", 2}, {SourceOffset(22), "m2"}}}));

  RdConsumer c(mc.bootstrap(), "mirror-shared");
  auto* parts = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(parts, "t", p);
  ASSERT_EQ(rd_kafka_committed(c.rk, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::map<int32_t, std::pair<int64_t, std::string>> seen;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& e = parts->elems[i];
    EXPECT_EQ(e.err, RD_KAFKA_RESP_ERR_NO_ERROR);
    seen[e.partition] = {e.offset, e.metadata ? std::string(static_cast<const char*>(e.metadata), e.metadata_size) : ""};
  }
  rd_kafka_topic_partition_list_destroy(parts);
  EXPECT_EQ(seen[0], (std::pair<int64_t, std::string>{11, "m0"}));
  EXPECT_EQ(seen[1].first, RD_KAFKA_OFFSET_INVALID);
  EXPECT_EQ(seen[2], (std::pair<int64_t, std::string>{22, "m2"}));
  EXPECT_EQ(seen[3].first, RD_KAFKA_OFFSET_INVALID);

  // The other way round: librdkafka commits (as a non-member, like us), GroupOffsets reads it.
  auto* mine = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(mine, "t", 1)->offset = 33;
  ASSERT_EQ(rd_kafka_commit(c.rk, mine, 0 /* sync */), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(mine);
  auto [ec, got] = fetch(g, all());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.at({"t", 0}), SourceOffset(11));
  EXPECT_EQ(got.at({"t", 1}), SourceOffset(33));
  EXPECT_EQ(got.at({"t", 2}), SourceOffset(22));
  EXPECT_EQ(got.at({"t", 3}), std::nullopt);
}

TEST_F(GroupOffsetsMock, CoordinatorErrorsOnCommitAreRetried) {
  const std::string group = "mirror-retry-commit";
  rd_kafka_mock_coordinator_set(mc.mock(), "group", group.c_str(), 2);
  auto g = offsets(group);
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(1), ""}}}));
  ASSERT_EQ(g->coordinator(), 2);
  // The coordinator answers the next OffsetCommits with coordinator errors: every one is retried
  // (NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE after a new FindCoordinator).
  rd_kafka_mock_broker_push_request_error_rtts(mc.mock(), 2, kOffsetCommit, 4,
                                               RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, 0,
                                               RD_KAFKA_RESP_ERR_NOT_COORDINATOR, 0,
                                               RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, 0,
                                               RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 0);
  auto r = commit(g, {{{"t", 0}, {SourceOffset(5), "x"}}, {{"t", 1}, {SourceOffset(6), "y"}}});
  expect_all_ok(r);
  size_t left = 99;
  ASSERT_EQ(rd_kafka_mock_broker_error_stack_cnt(mc.mock(), 2, kOffsetCommit, &left), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(left, 0u) << "every injected error was answered to a retry";
  auto [ec, got] = fetch(g, {{"t", 0}, {"t", 1}});
  ASSERT_FALSE(ec);
  EXPECT_EQ(got.at({"t", 0}), SourceOffset(5));
  EXPECT_EQ(got.at({"t", 1}), SourceOffset(6));
}

TEST_F(GroupOffsetsMock, CoordinatorErrorsOnFindCoordinatorAndOffsetFetchAreRetried) {
  GroupOffsetsOptions o;
  o.backoff_initial = net::Millis(100);
  o.backoff_max = net::Millis(400);
  auto g = offsets("mirror-retry-find", o);
  rd_kafka_mock_push_request_errors(mc.mock(), kFindCoordinator, 2, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
  auto t0 = SteadyClock::now();
  auto [ec, got] = fetch(g, all());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.size(), 4u);
  // Two failed lookups: two backoffs (100 + 200 ms) before the third succeeded.
  EXPECT_GE(elapsed_ms(t0), 290);

  // Top-level OffsetFetch errors (v2+): load in progress, then the coordinator moved.
  rd_kafka_mock_push_request_errors(mc.mock(), kOffsetFetch, 2, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  t0 = SteadyClock::now();
  auto [ec2, got2] = fetch(g, all());
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(got2.size(), 4u);
  EXPECT_GE(elapsed_ms(t0), 290);
}

TEST_F(GroupOffsetsMock, GroupLevelErrorsAreReportedNotRetried) {
  auto g = offsets("mirror-denied");
  rd_kafka_mock_push_request_errors(mc.mock(), kOffsetCommit, 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
  auto t0 = SteadyClock::now();
  auto r = commit(g, {{{"t", 0}, {SourceOffset(1), ""}}, {{"t", 1}, {SourceOffset(2), ""}}});
  EXPECT_EQ(r.first, kafka_errc::group_authorization_failed);
  ASSERT_EQ(r.second.size(), 2u);
  for (const auto& [tp, ec] : r.second) EXPECT_EQ(ec, kafka_errc::group_authorization_failed);
  EXPECT_LT(elapsed_ms(t0), 2000);

  rd_kafka_mock_push_request_errors(mc.mock(), kOffsetFetch, 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
  auto [ec, got] = fetch(g, all());
  EXPECT_EQ(ec, kafka_errc::group_authorization_failed);
  EXPECT_TRUE(got.empty());

}

// librdkafka 2.0.2's mock answers a FindCoordinator error with a null Host (a real broker
// sends ""); the decoder reads it as empty so the error code itself is acted on: a group
// the route may not use is reported, not retried.
TEST_F(GroupOffsetsMock, FindCoordinatorErrorIsReportedDespiteTheMocksNullHost) {
  rd_kafka_mock_push_request_errors(mc.mock(), kFindCoordinator, 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
  auto g = offsets("mirror-null-host");
  auto [ec, got] = fetch(g, all());
  EXPECT_EQ(ec, kafka_errc::group_authorization_failed) << ec.message();
  EXPECT_TRUE(got.empty());
}

TEST_F(GroupOffsetsMock, PartitionErrorsAreReportedPerPartition) {
  auto g = offsets("mirror-partial");
  // The mock answers UNKNOWN_TOPIC_OR_PARTITION for a topic it does not have; the others commit.
  auto r = commit(g, {{{"t", 0}, {SourceOffset(3), ""}}, {{"absent", 0}, {SourceOffset(4), ""}}});
  EXPECT_FALSE(r.first) << r.first.message();
  EXPECT_FALSE(r.second.at({"t", 0}));
  EXPECT_EQ(r.second.at({"absent", 0}), kafka_errc::unknown_topic_or_partition);
  // Metadata too large for every partition: partition-level, not retried.
  rd_kafka_mock_push_request_errors(mc.mock(), kOffsetCommit, 1, RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  auto r2 = commit(g, {{{"t", 1}, {SourceOffset(9), std::string(5000, 'm')}}});
  EXPECT_FALSE(r2.first);
  EXPECT_EQ(r2.second.at({"t", 1}), kafka_errc::offset_metadata_too_large);
  auto [ec, got] = fetch(g, {{"t", 0}, {"t", 1}});
  ASSERT_FALSE(ec);
  EXPECT_EQ(got.at({"t", 0}), SourceOffset(3));
  EXPECT_EQ(got.at({"t", 1}), std::nullopt);
}

TEST_F(GroupOffsetsMock, CoordinatorDownAndMovedIsFoundAgain) {
  const std::string group = "mirror-move";
  rd_kafka_mock_coordinator_set(mc.mock(), "group", group.c_str(), 2);
  auto g = offsets(group);
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(10), ""}}}));
  ASSERT_EQ(g->coordinator(), 2);

  rd_kafka_mock_broker_set_down(mc.mock(), 2);
  rd_kafka_mock_coordinator_set(mc.mock(), "group", group.c_str(), 3);
  auto t0 = SteadyClock::now();
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(20), "after-move"}}}));
  EXPECT_LT(elapsed_ms(t0), 10000);
  EXPECT_EQ(g->coordinator(), 3);
  auto [ec, got] = fetch_commits(g, {{"t", 0}});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.at({"t", 0}), (Commit{SourceOffset(20), "after-move"}));
  rd_kafka_mock_broker_set_up(mc.mock(), 2);
}

TEST_F(GroupOffsetsMock, CoordinatorDownGivesAClearErrorWithinTheDeadline) {
  const std::string group = "mirror-down";
  rd_kafka_mock_coordinator_set(mc.mock(), "group", group.c_str(), 2);
  GroupOffsetsOptions o;
  o.timeout = net::Millis(3000);
  auto g = offsets(group, o);
  expect_all_ok(commit(g, {{{"t", 0}, {SourceOffset(10), ""}}}));

  rd_kafka_mock_broker_set_down(mc.mock(), 2);
  auto t0 = SteadyClock::now();
  auto r = commit(g, {{{"t", 0}, {SourceOffset(20), ""}}});
  long took = elapsed_ms(t0);
  EXPECT_TRUE(r.first) << "the coordinator stays down: the commit must fail";
  EXPECT_TRUE(r.first == errc::timed_out || r.first == errc::disconnected) << r.first.message();
  EXPECT_TRUE(r.second.at({"t", 0}));
  EXPECT_LT(took, 3000 + 1500) << "the deadline holds";
  auto [fec, fgot] = fetch(g, {{"t", 0}});
  EXPECT_TRUE(fec);

  // Back up: the next commit works again (a fresh lookup, a fresh connection).
  rd_kafka_mock_broker_set_up(mc.mock(), 2);
  GroupOffsetsOptions longer;
  longer.timeout = net::Millis(10000);
  auto g2 = offsets(group, longer);
  expect_all_ok(commit(g2, {{{"t", 0}, {SourceOffset(30), ""}}}));
  auto [ec, got] = fetch(g2, {{"t", 0}});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.at({"t", 0}), SourceOffset(30));
}

TEST_F(GroupOffsetsMock, ConcurrentCommitsOfDifferentPartitions) {
  auto g = offsets("mirror-concurrent");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 4; ++p)
    threads.emplace_back([&, p] {
      for (int i = 1; i <= 5; ++i) {
        auto r = commit(g, {{{"t", p}, {SourceOffset(p * 100 + i), "p" + std::to_string(p)}}});
        if (!r.first && !r.second.at({"t", p})) ++ok;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  auto [ec, got] = fetch_commits(g, all());
  ASSERT_FALSE(ec);
  for (int p = 0; p < 4; ++p)
    EXPECT_EQ(got.at({"t", p}), (Commit{SourceOffset(p * 100 + 5), "p" + std::to_string(p)}));
}

TEST_F(GroupOffsetsMock, ActiveMemberInTheGroupRefusesTheSimpleCommit) {
  const std::string group = "mirror-joined";
  RdConsumer member(mc.bootstrap(), group);
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "t", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(member.rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  bool assigned = false;
  for (auto t0 = SteadyClock::now(); !assigned && elapsed_ms(t0) < 20000;) {
    if (auto* m = rd_kafka_consumer_poll(member.rk, 100)) rd_kafka_message_destroy(m);
    rd_kafka_topic_partition_list_t* a = nullptr;
    if (rd_kafka_assignment(member.rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
      assigned = a->cnt > 0;
      rd_kafka_topic_partition_list_destroy(a);
    }
  }
  ASSERT_TRUE(assigned) << "the librdkafka consumer joined the group";
  auto g = offsets(group);
  auto r = commit(g, {{{"t", 0}, {SourceOffset(1), ""}}});
  EXPECT_EQ(r.first, kafka_errc::unknown_member_id) << r.first.message();
  EXPECT_EQ(r.second.at({"t", 0}), kafka_errc::unknown_member_id);
}

}  // namespace
}  // namespace tiermirror::test
