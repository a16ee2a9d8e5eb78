// `tiermirror run --until-caught-up` as a process, against mock clusters in this process:
// config file in, exit 0 out, the target identical, offsets committed to the source group.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mock_support.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/pipeline/group_offsets.h"

namespace tiermirror::test {
namespace {

TEST(MockRunCommand, UntilCaughtUpMirrorsEverythingAndExitsZero) {
  app::MockCluster src("dc-a", 1), dst("aggregate", 1);
  src.create_topic("orders", 3, 1);
  src.create_topic("ignored", 1, 1);
  dst.create_topic("orders", 3, 1);
  for (const char* codec : {"lz4", "zstd"}) {
    app::TrafficOptions t;
    t.codec = codec;
    t.records = 300;
    app::produce_traffic(src.bootstrap(), "orders", t);
  }
  app::produce_traffic(src.bootstrap(), "ignored", {});

  auto dir = std::filesystem::temp_directory_path() / ("tm-run-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << "route: {name: dc-a-to-aggregate}\n"
                        << "source: {name: dc-a, bootstrap_servers: " << yaml_list(src.bootstrap()) << "}\n"
                        << "target: {name: aggregate, bootstrap_servers: " << yaml_list(dst.bootstrap()) << "}\n"
                        << "topics:\n  include:\n    - regex: 'ord.*'\n"
                        << "commit_interval: 1s\n"
                        << "metrics: {listen: \"\"}\n";
  std::string cmd = std::string(TIERMIRROR_BINARY) + " run --config " + config + " --until-caught-up 2>" +
                    (dir / "stderr").string();
  int status = std::system(cmd.c_str());
  std::ifstream e(dir / "stderr");
  std::string err((std::istreambuf_iterator<char>(e)), {});
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << err;

  net::IoThread io;
  ClusterClient source(io, src.bootstrap()), target(io, dst.bootstrap());
  source.refresh();
  auto md = target.refresh();
  EXPECT_FALSE(md->topics.count("ignored")) << "the whitelist selects 'orders' only";
  for (int p = 0; p < 3; ++p) {
    auto s = app::read_partition(source.cluster, {"orders", p});
    auto t = app::read_partition(target.cluster, {"orders", p});
    auto proof = app::prove_identity(t.batches, {s.batches});
    EXPECT_TRUE(proof.ok) << proof.detail;
  }
  // The route's progress is visible where Kafka tools look: the source group's offsets.
  auto offsets = pipeline::GroupOffsets::create(source.cluster, "tiermirror-dc-a-to-aggregate", net::Millis(5000));
  using R = std::pair<std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>>;
  auto [ec, committed] = net::await<R>([&](auto done) {
    offsets->fetch({{"orders", 0}, {"orders", 1}, {"orders", 2}}, [done](auto e, auto m) { done({e, m}); });
  });
  ASSERT_FALSE(ec) << ec.message();
  for (int p = 0; p < 3; ++p) {
    auto s = app::read_partition(source.cluster, {"orders", p});
    TopicPartition tp{"orders", p};
    ASSERT_TRUE(committed[tp].has_value()) << p;
    EXPECT_EQ(committed[tp]->value(), s.high_watermark) << p;
  }
  EXPECT_NE(err.find("caught up"), std::string::npos) << err;
  EXPECT_NE(err.find("route stopped; acknowledged offsets committed"), std::string::npos) << err;
}

}  // namespace
}  // namespace tiermirror::test
