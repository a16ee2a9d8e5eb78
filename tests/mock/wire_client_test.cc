// The wire client against librdkafka's in-process mock clusters: metadata and leader
// routing, raw fetches of what librdkafka producers wrote, injected errors and brokers down.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "mock_support.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/protocol/record_batch.h"

#include <set>

namespace tiermirror::test {
namespace {

TEST(MockWireClient, MetadataShowsBrokersTopicsAndLeaders) {
  app::MockCluster mc("src", 3);
  mc.create_topic("orders", 4, 3);
  rd_kafka_mock_partition_set_leader(mc.mock(), "orders", 0, 2);
  rd_kafka_mock_partition_set_leader(mc.mock(), "orders", 1, 3);
  net::IoThread io;
  ClusterClient c(io, mc.bootstrap());
  auto md = c.refresh();
  EXPECT_EQ(md->brokers.size(), 3u);
  ASSERT_TRUE(md->topics.count("orders"));
  EXPECT_EQ(md->topics.at("orders").partitions.size(), 4u);
  EXPECT_EQ(c.cluster->leader("orders", 0), 2);
  EXPECT_EQ(c.cluster->leader("orders", 1), 3);
  EXPECT_EQ(c.cluster->leader("orders", 9), std::nullopt);
}

TEST(MockWireClient, LeaderMoveIsFollowedAfterRefresh) {
  app::MockCluster mc("src", 3);
  mc.create_topic("t", 1, 3);
  rd_kafka_mock_partition_set_leader(mc.mock(), "t", 0, 1);
  app::TrafficOptions traffic;
  traffic.records = 300;
  app::produce_traffic(mc.bootstrap(), "t", traffic);
  net::IoThread io;
  ClusterClient c(io, mc.bootstrap());
  c.refresh();
  ASSERT_EQ(c.cluster->leader("t", 0), 1);
  rd_kafka_mock_partition_set_leader(mc.mock(), "t", 0, 3);
  // The old leader now answers NOT_LEADER_OR_FOLLOWER; read_partition reports it, the
  // cluster refreshes and the read goes to broker 3.
  auto dump = app::read_partition(c.cluster, {"t", 0});
  ASSERT_FALSE(dump.ec) << dump.ec.message();
  int64_t records = 0;
  for (const auto& b : dump.batches) records += b.records_count();
  EXPECT_EQ(records, 300);
  EXPECT_EQ(c.cluster->leader("t", 0), 3);
}

TEST(MockWireClient, RawBatchesMatchWhatLibrdkafkaWroteForEveryCodec) {
  app::MockCluster mc("src", 1);
  mc.create_topic("events", 1, 1);
  const char* codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  uint64_t seed = 7;
  for (const char* codec : codecs) {
    app::TrafficOptions t;
    t.codec = codec;
    t.records = 250;
    t.idempotent = seed % 2 == 1;
    t.seed = seed++;
    app::produce_traffic(mc.bootstrap(), "events", t);
  }
  auto consumed = consume_partition(mc.bootstrap(), "events", 0);
  ASSERT_EQ(consumed.size(), 250u * 5);

  net::IoThread io;
  ClusterClient c(io, mc.bootstrap());
  c.refresh();
  auto dump = app::read_partition(c.cluster, {"events", 0});
  ASSERT_FALSE(dump.ec) << dump.ec.message();
  EXPECT_EQ(dump.high_watermark, static_cast<int64_t>(consumed.size()));
  std::set<protocol::Codec> seen;
  int64_t expected_offset = 0;
  for (const auto& b : dump.batches) {
    EXPECT_EQ(b.verdict(), protocol::BatchVerdict::ok);
    EXPECT_TRUE(b.crc_ok());
    // Offsets are contiguous and the header's timestamps bound the records' own.
    EXPECT_EQ(b.base_offset(), expected_offset);
    expected_offset = b.last_offset().value() + 1;
    int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
    for (int64_t o = b.base_offset(); o <= b.last_offset().value(); ++o) {
      min_ts = std::min(min_ts, consumed[o].timestamp);
      max_ts = std::max(max_ts, consumed[o].timestamp);
    }
    EXPECT_EQ(b.base_timestamp(), min_ts);
    EXPECT_EQ(b.max_timestamp(), max_ts);
    seen.insert(b.codec());
  }
  EXPECT_EQ(expected_offset, static_cast<int64_t>(consumed.size()));
  EXPECT_EQ(seen.size(), 5u) << "every codec appears in the raw batches";
}

TEST(MockWireClient, InjectedFetchErrorsAreRetried) {
  app::MockCluster mc("src", 3);
  mc.create_topic("t", 1, 3);
  app::TrafficOptions traffic;
  traffic.records = 100;
  app::produce_traffic(mc.bootstrap(), "t", traffic);
  net::IoThread io;
  ClusterClient c(io, mc.bootstrap());
  c.refresh();
  rd_kafka_mock_push_request_errors(mc.mock(), 1 /* Fetch */, 2, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  auto dump = app::read_partition(c.cluster, {"t", 0});
  ASSERT_FALSE(dump.ec) << dump.ec.message();
  int64_t records = 0;
  for (const auto& b : dump.batches) records += b.records_count();
  EXPECT_EQ(records, 100);
}

TEST(MockWireClient, MetadataGoesToAnotherBrokerWhenOneIsDown) {
  app::MockCluster mc("src", 3);
  mc.create_topic("t", 3, 3);
  net::IoThread io;
  ClusterClient c(io, mc.bootstrap());
  c.refresh();
  rd_kafka_mock_broker_set_down(mc.mock(), 1);
  rd_kafka_mock_broker_set_down(mc.mock(), 2);
  auto md = c.refresh();
  EXPECT_EQ(md->topics.at("t").partitions.size(), 3u);
  rd_kafka_mock_broker_set_up(mc.mock(), 1);
  rd_kafka_mock_broker_set_up(mc.mock(), 2);
}

TEST(MockWireClient, UnreachableClusterReportsAnError) {
  net::IoThread io;
  net::ClusterOptions o;
  o.metadata_timeout = net::Millis(500);
  o.connection.connect_timeout = net::Millis(500);
  auto cluster = net::Cluster::create(io.io(), {{"127.0.0.1", 1}}, o);
  using R = std::pair<std::error_code, net::MetadataPtr>;
  auto [ec, md] = net::await<R>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
  EXPECT_TRUE(ec);
  cluster->close();
}

}  // namespace
}  // namespace tiermirror::test
