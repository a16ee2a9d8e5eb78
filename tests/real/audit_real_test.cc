// The audit topic on real brokers, which run with auto.create.topics.enable=false as in
// production (scripts/kafka): `run` creates it at start with the configured partitions and
// retention, and a creation the broker refuses stops `run` with the broker's message.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "mock_support.h"
#include "real_admin.h"
#include "real_env.h"
#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/control/rdkafka_admin.h"

namespace tiermirror::test {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kAdminTimeout{15000};
constexpr int kRecords = 300;


// A source topic holding kRecords records; the target topic is left to the syncer.
void make_source_topic(const real::RealEnv& env, const std::string& topic) {
  control::RdKafkaAdmin src({"source", env.source.bootstrap, "tiermirror-test", {}, {}});
  auto e = src.create_topic(topic, 2, -1, {}, kAdminTimeout);
  ASSERT_FALSE(e) << e->str();
  app::TrafficOptions t;
  t.codec = "zstd";
  t.records = kRecords;
  t.batch_records = 50;
  ASSERT_EQ(app::produce_traffic(env.source.bootstrap, topic, t), kRecords);
}

std::string route_yaml(const real::RealEnv& env, const std::string& topic, const std::string& audit) {
  return "route: {name: " + topic + "}\n" + "source: {name: source, bootstrap_servers: " +
         yaml_list(env.source.bootstrap) + "}\n" + "target: {name: target, bootstrap_servers: " +
         yaml_list(env.target.bootstrap) + "}\n" + "topics: {include: [" + topic + "]}\n" +
         "commit_interval: 1s\nmetrics: {listen: \"\"}\n" + "audit: " + audit + "\n";
}

CommandResult run_route(const std::filesystem::path& config, const std::filesystem::path& log) {
  return run_command("timeout 90 " + std::string(TIERMIRROR_BINARY) + " run --until-caught-up --config " +
                     config.string() + " 2>" + log.string());
}

TEST(RealAudit, RunCreatesTheAuditTopicWhereBrokersDoNotAutoCreate) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch s("tm-real-audit");
  const std::string topic = real::unique_topic("audit-create");
  const std::string audit_topic = topic + ".audit";
  ASSERT_NO_FATAL_FAILURE(make_source_topic(env, topic));
  auto config = s.dir / "route.yaml";
  std::ofstream(config) << route_yaml(env, topic,
                                      "{topic: " + audit_topic + ", publish_interval: 1s, topic_retention: 7d}");
  auto log = s.dir / "run.stderr";
  auto r = run_route(config, log);
  ASSERT_EQ(r.status, 0) << read_file(log.string());
  EXPECT_NE(read_file(log.string()).find("audit topic created"), std::string::npos) << read_file(log.string());

  control::RdKafkaAdmin target({"target", env.target.bootstrap, "tiermirror-test", {}, {}});
  auto topics = target.list_topics(kAdminTimeout);
  ASSERT_TRUE(topics.ok()) << topics.error().str();
  int32_t partitions = 0;
  for (const auto& t : *topics)
    if (t.name == audit_topic) partitions = t.partitions;
  EXPECT_EQ(partitions, 1) << "audit.topic_partitions defaults to 1";
  auto cfg = real::topic_configs_once_known(target, audit_topic);
  ASSERT_TRUE(cfg.ok()) << cfg.error().str();
  EXPECT_EQ(cfg->at("retention.ms").value, "604800000");
  EXPECT_EQ(cfg->at("cleanup.policy").value, "delete");

  // And the route's counts are in it: both tiers, every record.
  auto report = run_command(std::string(TIERMIRROR_BINARY) + " audit report --bootstrap " + env.target.bootstrap +
                            " --audit-topic " + audit_topic + " --topic " + topic + " --format json 2>/dev/null");
  ASSERT_EQ(report.status, 0) << report.out;
  auto j = nlohmann::json::parse(report.out);
  uint64_t source = 0, target_records = 0;
  for (const auto& b : j["buckets"]) {
    source += b["source_records"].get<uint64_t>();
    target_records += b["target_records"].get<uint64_t>();
  }
  EXPECT_EQ(source, static_cast<uint64_t>(kRecords)) << report.out;
  EXPECT_EQ(target_records, static_cast<uint64_t>(kRecords)) << report.out;
  std::printf("[ summary  ] kafka %s: %s created (1 partition, retention 7d); audit: %llu source / %llu target records\n",
              env.kafka_version.c_str(), audit_topic.c_str(), static_cast<unsigned long long>(source),
              static_cast<unsigned long long>(target_records));
}

TEST(RealAudit, ACreationTheBrokerRefusesStopsRunWithItsMessage) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch s("tm-real-audit");
  const std::string topic = real::unique_topic("audit-refused");
  ASSERT_NO_FATAL_FAILURE(make_source_topic(env, topic));
  auto config = s.dir / "route.yaml";
  // Five replicas on a three-broker target: INVALID_REPLICATION_FACTOR, with the broker's words.
  std::ofstream(config) << route_yaml(env, topic, "{topic: " + topic + ".audit, topic_replication_factor: 5}");
  auto log = s.dir / "run.stderr";
  auto r = run_route(config, log);
  const std::string err = read_file(log.string());
  EXPECT_EQ(r.status, 3) << err;
  EXPECT_NE(err.find("cannot create the audit topic '" + topic + ".audit' on cluster 'target': INVALID_REPLICATION_FACTOR"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace tiermirror::test
