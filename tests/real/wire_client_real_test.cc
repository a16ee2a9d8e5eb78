// The wire client against the real tier's clusters: version negotiation, metadata and raw
// reads on every Kafka version of the matrix.
#include <gtest/gtest.h>

#include "real_admin.h"
#include "real_env.h"
#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::test {
namespace {

TEST(RealKafka, NegotiatesVersionsAndReadsMetadataOnBothClusters) {
  TIERMIRROR_REAL_ENV(env);
  net::IoThread io;
  for (const auto& bootstrap : {env.source.bootstrap, env.target.bootstrap}) {
    auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), net::ClusterOptions::named("real"));
    using R = std::pair<std::error_code, net::MetadataPtr>;
    auto [ec, md] = net::await<R>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
    ASSERT_FALSE(ec) << bootstrap << ": " << ec.message();
    ASSERT_FALSE(md->brokers.empty());
    auto conn = cluster->broker(md->brokers.begin()->first);
    ASSERT_FALSE(net::await<std::error_code>([&](auto done) { conn->connect(done); }));
    // Kafka 2.4+ answers ApiVersions v3; every API of the data path has a version in common.
    EXPECT_EQ(conn->api_versions_version(), 3);
    for (auto api : {protocol::ApiKey::produce, protocol::ApiKey::fetch, protocol::ApiKey::list_offsets,
                     protocol::ApiKey::metadata, protocol::ApiKey::init_producer_id})
      EXPECT_TRUE(conn->version_for(api).has_value()) << protocol::api_name(api);
    // A librdkafka producer's zstd batches read back raw: they parse, their CRCs check out, and
    // they hold every record produced.
    auto topic = real::unique_topic("wire");
    control::RdKafkaAdmin admin(control::AdminConnection{"real", bootstrap, "tiermirror-test", {}, {}});
    ASSERT_EQ(real::create_settled_topic(admin, topic, 1), "");  // every broker knows it before the producer asks
    app::TrafficOptions t;
    t.codec = "zstd";
    t.records = 300;
    ASSERT_EQ(app::produce_traffic(bootstrap, topic, t), 300);
    ASSERT_FALSE(net::await<std::error_code>([&](auto done) {
      cluster->refresh(std::vector<std::string>{topic}, [done](auto e, auto) { done(e); });
    }));
    auto dump = app::read_partition(cluster, {topic, 0});
    ASSERT_FALSE(dump.ec) << topic << ": " << dump.ec.message();
    int64_t records = 0;
    for (const auto& b : dump.batches) {
      EXPECT_TRUE(b.crc_ok());
      EXPECT_EQ(b.magic(), 2);
      records += b.records_count();
    }
    EXPECT_EQ(records, 300);
    cluster->close();
  }
}

}  // namespace
}  // namespace tiermirror::test
