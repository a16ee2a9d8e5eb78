// RdKafkaAdmin against librdkafka's in-process mock cluster. The 2.0.2 mock serves Metadata but
// not CreateTopics, CreatePartitions or DescribeConfigs: those must come back as a clear error
// within the timeout (no crash, no hang). The full behaviour is tested against real clusters in
// tests/real/syncer_real_test.cc.
#include "tiermirror/control/rdkafka_admin.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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

// A SASL_PLAINTEXT listener that refuses every login, spoken byte by byte (the control layer's
// tests have no Kafka codec): ApiVersions, SaslHandshake (PLAIN) and a SaslAuthenticate answer
// of SASL_AUTHENTICATION_FAILED with the broker's message. One connection at a time.
class RefusingBroker {
 public:
  RefusingBroker() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RefusingBroker() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    int c = conn_.exchange(-1);
    if (c >= 0) ::shutdown(c, SHUT_RDWR);
    thread_.join();
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  int refusals() const { return refusals_; }

 private:
  using Buf = std::vector<uint8_t>;
  static void i16(Buf& b, int v) { b.push_back(uint8_t(v >> 8)), b.push_back(uint8_t(v)); }
  static void i32(Buf& b, int64_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
  }
  static void str(Buf& b, const std::string& s) {
    i16(b, static_cast<int>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  }
  static bool read_exact(int fd, uint8_t* p, size_t n) {
    while (n) {
      ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r, n -= static_cast<size_t>(r);
    }
    return true;
  }

  // The answer to one request (api key, version, correlation id); empty: close.
  Buf answer(int api, int version, int32_t corr) {
    Buf b;
    i32(b, corr);
    if (api == 18) {  // ApiVersions; v3's body is flexible, its header is not
      const int apis[][3] = {{3, 0, 4}, {17, 0, 1}, {18, 0, 3}, {36, 0, 1}};
      i16(b, 0);
      if (version >= 3) {
        b.push_back(uint8_t(std::size(apis) + 1));  // compact array length
        for (const auto& a : apis) i16(b, a[0]), i16(b, a[1]), i16(b, a[2]), b.push_back(0);
        i32(b, 0);  // throttle
        b.push_back(0);
      } else {
        i32(b, static_cast<int64_t>(std::size(apis)));
        for (const auto& a : apis) i16(b, a[0]), i16(b, a[1]), i16(b, a[2]);
        if (version >= 1) i32(b, 0);
      }
      return b;
    }
    if (api == 17) {  // SaslHandshake
      i16(b, 0);
      i32(b, 1);
      str(b, "PLAIN");
      return b;
    }
    if (api == 36) {  // SaslAuthenticate v0/v1
      ++refusals_;
      i16(b, 58);  // SASL_AUTHENTICATION_FAILED
      str(b, "Authentication failed: Invalid username or password");
      i32(b, 0);  // no auth bytes
      if (version >= 1) i32(b, 0), i32(b, 0);  // session lifetime (int64)
      return b;
    }
    return {};
  }

  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      conn_ = c;
      for (;;) {
        uint8_t sz[4];
        if (!read_exact(c, sz, 4)) break;
        size_t n = (size_t(sz[0]) << 24) | (size_t(sz[1]) << 16) | (size_t(sz[2]) << 8) | sz[3];
        Buf req(n);
        if (n < 8 || !read_exact(c, req.data(), n)) break;
        int api = (req[0] << 8) | req[1], version = (req[2] << 8) | req[3];
        int32_t corr = static_cast<int32_t>((uint32_t(req[4]) << 24) | (uint32_t(req[5]) << 16) | (uint32_t(req[6]) << 8) | req[7]);
        Buf body = answer(api, version, corr);
        if (body.empty()) break;
        Buf out;
        i32(out, static_cast<int64_t>(body.size()));
        out.insert(out.end(), body.begin(), body.end());
        if (::write(c, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
      }
      int expected = c;
      conn_.compare_exchange_strong(expected, -1);
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> conn_{-1};
  std::atomic<int> refusals_{0};
  std::thread thread_;
};

// librdkafka reports a refused login as an error event on the handle's main queue, which only
// rd_kafka_poll serves: each call must end at once with the broker's reason, not after its
// timeout, and never show the password.
TEST(RdKafkaAdmin, RefusedLoginEndsEveryCallAtOnceWithTheBrokersReason) {
  RefusingBroker broker;
  const std::string password = "Wr0ng-Adm1n-Secret";
  AdminConnection c = conn(broker.bootstrap());
  c.extra["security.protocol"] = "sasl_plaintext";
  c.extra["sasl.mechanisms"] = "PLAIN";
  c.extra["sasl.username"] = "mirror";
  c.sasl_password = [password] { return Result<std::string>(password); };
  RdKafkaAdmin admin(c);
  const milliseconds timeout(15000);

  auto t0 = Clock::now();
  auto topics = admin.list_topics(timeout);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(topics.ok());
  EXPECT_GE(broker.refusals(), 1) << "the client never tried to log in";
  EXPECT_EQ(topics.error().ec, make_error_code(kafka_errc::sasl_authentication_failed)) << topics.error().str();
  EXPECT_NE(topics.error().message.find("Invalid username or password"), std::string::npos) << topics.error().str();
  EXPECT_EQ(topics.error().message.find(password), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5)) << "the refused login was noticed only at the timeout";
  ASSERT_TRUE(admin.login_failure().has_value());
  EXPECT_EQ(admin.login_failure()->find(password), std::string::npos);

  // librdkafka does not report the same refusal again for 30 s: the next call must still end
  // at once with it, not wait for its timeout.
  t0 = Clock::now();
  auto e = admin.create_topic("t", 1, 1, {}, timeout);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ec, make_error_code(kafka_errc::sasl_authentication_failed)) << e->str();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace tiermirror::control::test
