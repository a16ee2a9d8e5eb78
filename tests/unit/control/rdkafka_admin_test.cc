// RdKafkaAdmin against librdkafka's in-process mock cluster. The 2.0.2 mock serves Metadata but
// not CreateTopics, CreatePartitions or DescribeConfigs: those must come back as a clear error
// within the timeout (no crash, no hang). The full behaviour is tested against real clusters in
// tests/real/syncer_real_test.cc.
#include "tiermirror/control/rdkafka_admin.h"

#include <gtest/gtest.h>

#include <thread>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "tiermirror/control/syncer.h"

namespace tiermirror::control::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class Mock {
 public:
  explicit Mock(int brokers = 1) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    mock_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!mock_) throw std::runtime_error("mock cluster");
  }
  ~Mock() {
    rd_kafka_mock_cluster_destroy(mock_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mock_); }
  rd_kafka_mock_cluster_t* get() { return mock_; }
  void topic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, name.c_str(), partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

AdminConnection conn(const std::string& bootstrap) {
  AdminConnection c;
  c.name = "mock";
  c.bootstrap = bootstrap;
  c.extra["log_level"] = "0";  // keep the mock's connection chatter out of test output
  return c;
}

const TopicInfo* find(const std::vector<TopicInfo>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& t) { return t.name == name; });
  return it == v.end() ? nullptr : &*it;
}

TEST(RdKafkaAdmin, ListsTopicsWithPartitionCountsAndInternalFlag) {
  Mock mock(3);
  mock.topic("orders", 6);
  mock.topic("clicks", 1);
  mock.topic("__consumer_offsets", 3);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  EXPECT_EQ(admin.cluster_name(), "mock");
  auto topics = admin.list_topics(milliseconds(5000));
  ASSERT_TRUE(topics.ok()) << topics.error().str();
  ASSERT_NE(find(*topics, "orders"), nullptr);
  EXPECT_EQ(find(*topics, "orders")->partitions, 6);
  EXPECT_FALSE(find(*topics, "orders")->internal);
  EXPECT_EQ(find(*topics, "clicks")->partitions, 1);
  ASSERT_NE(find(*topics, "__consumer_offsets"), nullptr);
  EXPECT_TRUE(find(*topics, "__consumer_offsets")->internal);
}

TEST(RdKafkaAdmin, ListingSeesNewTopicsOnTheNextCall) {
  Mock mock;
  mock.topic("a", 2);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  ASSERT_TRUE(admin.list_topics(milliseconds(5000)).ok());
  mock.topic("b", 3);
  auto topics = admin.list_topics(milliseconds(5000));
  ASSERT_TRUE(topics.ok());
  ASSERT_NE(find(*topics, "b"), nullptr);
  EXPECT_EQ(find(*topics, "b")->partitions, 3);
}

// The mock lacks these APIs: each call must end with an error (unsupported, or a timeout while
// librdkafka waits for a broker that supports it) and a message, within the timeout.
template <typename F>
void expect_clear_error_within(milliseconds timeout, F&& call) {
  auto start = Clock::now();
  std::optional<AdminError> e = call(timeout);
  auto took = Clock::now() - start;
  ASSERT_TRUE(e.has_value()) << "the 2.0.2 mock cannot do this; an error was expected";
  EXPECT_TRUE(e->ec == errc::unsupported_version || e->ec == errc::timed_out) << e->str();
  EXPECT_FALSE(e->message.empty());
  EXPECT_LT(took, timeout + std::chrono::milliseconds(1500)) << e->str();
}

TEST(RdKafkaAdmin, CreateTopicsOnTheMockIsAClearError) {
  Mock mock;
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  expect_clear_error_within(milliseconds(3000), [&](milliseconds t) {
    return admin.create_topic("new-topic", 3, -1, {{"compression.type", "producer"}}, t);
  });
}

TEST(RdKafkaAdmin, CreatePartitionsOnTheMockIsAClearError) {
  Mock mock;
  mock.topic("t", 2);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  expect_clear_error_within(milliseconds(3000), [&](milliseconds t) { return admin.create_partitions("t", 4, t); });
}

TEST(RdKafkaAdmin, DescribeConfigsOnTheMockIsAClearError) {
  Mock mock;
  mock.topic("t", 2);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  expect_clear_error_within(milliseconds(3000), [&](milliseconds t) -> std::optional<AdminError> {
    auto r = admin.topic_configs("t", t);
    if (r.ok()) return std::nullopt;
    return r.error();
  });
}

TEST(RdKafkaAdmin, CancelEndsACallUnderWayAndEveryLaterOne) {
  Mock mock;
  mock.topic("t", 1);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  // DescribeConfigs never gets an answer from the mock: without cancel() this waits 20 s.
  auto start = Clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(300));
    admin.cancel();
  });
  auto r = admin.topic_configs("t", milliseconds(20000));
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().ec, errc::shutting_down);
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  auto later = admin.list_topics(milliseconds(20000));
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().ec, errc::shutting_down);
}

TEST(RdKafkaAdmin, UnreachableClusterTimesOutWithinTheTimeout) {
  Mock mock;
  rd_kafka_mock_broker_set_down(mock.get(), 1);
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  auto start = Clock::now();
  auto r = admin.list_topics(milliseconds(1500));
  auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().ec == errc::timed_out || r.error().ec == errc::disconnected) << r.error().str();
  EXPECT_TRUE(r.error().retriable());
  EXPECT_NE(r.error().message.find("mock"), std::string::npos) << r.error().message;
  EXPECT_LT(took, std::chrono::milliseconds(3000));
}

TEST(RdKafkaAdmin, InvalidArgumentsAreErrorsNotCrashes) {
  Mock mock;
  RdKafkaAdmin admin(conn(mock.bootstrap()));
  auto start = Clock::now();
  for (auto e : {admin.create_topic("", 1, -1, {}, milliseconds(5000)),
                 admin.create_topic("t", 0, -1, {}, milliseconds(5000)),
                 admin.create_topic("t", 1, -5, {}, milliseconds(5000)),
                 admin.create_partitions("t", -3, milliseconds(5000))}) {
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->ec, errc::invalid_argument) << e->str();
    EXPECT_FALSE(e->message.empty());
  }
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500)) << "refused locally, without a round trip";
}

TEST(RdKafkaAdmin, ConstructorRejectsBadSettingsAsStartupErrors) {
  AdminConnection c = conn("127.0.0.1:9092");
  c.extra["no.such.setting"] = "1";
  try {
    RdKafkaAdmin admin(c);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no.such.setting"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mock"), std::string::npos) << e.what();
  }
  AdminConnection empty = conn("");
  EXPECT_THROW(RdKafkaAdmin{empty}, std::runtime_error);
}

TEST(RdKafkaAdmin, MapsLibrdkafkaErrors) {
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS), kafka_errc::topic_already_exists);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS), kafka_errc::invalid_partitions);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR_POLICY_VIOLATION), kafka_errc::policy_violation);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR), kafka_errc::invalid_replication_factor);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), kafka_errc::topic_authorization_failed);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT), errc::timed_out);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR__TRANSPORT), errc::disconnected);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), errc::disconnected);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE), errc::unsupported_version);
  EXPECT_EQ(map_rdkafka_error(RD_KAFKA_RESP_ERR__FAIL), kafka_errc::unknown_server_error);
  EXPECT_FALSE(map_rdkafka_error(RD_KAFKA_RESP_ERR_NO_ERROR));
}

TEST(AdminError, RetriableAndText) {
  EXPECT_TRUE((AdminError{make_error_code(errc::timed_out), ""}).retriable());
  EXPECT_TRUE((AdminError{make_error_code(kafka_errc::not_controller), ""}).retriable());
  EXPECT_FALSE((AdminError{make_error_code(kafka_errc::policy_violation), ""}).retriable());
  EXPECT_FALSE((AdminError{make_error_code(kafka_errc::topic_already_exists), ""}).retriable());
  EXPECT_EQ((AdminError{make_error_code(kafka_errc::policy_violation), "no"}).str(), "POLICY_VIOLATION: no");
}

// The syncer over RdKafkaAdmin on the mock: listing works, creation fails cleanly (the mock has no
// CreateTopics), and nothing throws.
TEST(RdKafkaAdmin, SyncerOverTheMockReportsFailuresWithoutThrowing) {
  Mock source, target;
  source.topic("orders", 3);
  RdKafkaAdmin src(conn(source.bootstrap())), tgt(conn(target.bootstrap()));
  SyncOptions opts;
  opts.timeout = milliseconds(2000);
  opts.select = [](const std::string& t) { return t == "orders"; };
  Syncer syncer(src, tgt, opts);
  SyncReport r;
  ASSERT_NO_THROW(r = syncer.run_once(false));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].kind, SyncAction::Kind::create_topic);
  EXPECT_EQ(r.actions[0].outcome, SyncAction::Outcome::failed);
  EXPECT_TRUE(r.failed());
}

}  // namespace
}  // namespace tiermirror::control::test
