// The wire client against real Kafka clusters. Runs only when TIERMIRROR_TEST_SOURCE and
// TIERMIRROR_TEST_TARGET name bootstrap servers; skipped with the reason otherwise.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tiermirror/app/readback.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::test {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

class RealKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = env("TIERMIRROR_TEST_SOURCE");
    target_ = env("TIERMIRROR_TEST_TARGET");
    if (!source_ || !target_)
      GTEST_SKIP() << "set TIERMIRROR_TEST_SOURCE and TIERMIRROR_TEST_TARGET to bootstrap servers of two real "
                      "Kafka clusters to run the real-broker tests";
  }
  std::optional<std::string> source_, target_;
};

TEST_F(RealKafka, NegotiatesVersionsAndReadsMetadataOnBothClusters) {
  net::IoThread io;
  for (const auto& bootstrap : {*source_, *target_}) {
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
    // Raw reads of the first partition of any non-internal topic parse and check out.
    for (const auto& [name, t] : md->topics) {
      if (t.internal || t.partitions.empty()) continue;
      auto dump = app::read_partition(cluster, {name, t.partitions[0].partition}, pipeline::Isolation::read_committed,
                                      net::Millis(10000), 20);
      ASSERT_FALSE(dump.ec) << name << ": " << dump.ec.message();
      for (const auto& b : dump.batches) EXPECT_TRUE(b.crc_ok()) << name;
      break;
    }
    cluster->close();
  }
}

}  // namespace
}  // namespace tiermirror::test
