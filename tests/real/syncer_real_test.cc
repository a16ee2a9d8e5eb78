// The syncer through RdKafkaAdmin against two real Kafka clusters (the real tier's fixture):
// creation with copied configs, growth, wider targets, races answered by a real broker
// (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS), broker errors with their messages, identity
// checks, dry run. Topics are named tm-real-<pid>-<scenario>, so runs do not collide; the
// fixture's clusters are thrown away after the run.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "real_admin.h"
#include "real_env.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/control/syncer.h"

namespace tiermirror::control::test {
namespace {

using std::chrono::milliseconds;
using Kind = SyncAction::Kind;
using Outcome = SyncAction::Outcome;

constexpr milliseconds kTimeout{30000};

std::string unique(const std::string& scenario) { return tiermirror::test::real::unique_topic(scenario); }

// Plays another route: creates the topic (or its partitions) through the same target just before
// our own request, so the real broker answers TOPIC_ALREADY_EXISTS / INVALID_PARTITIONS.
class RacingAdmin : public Admin {
 public:
  explicit RacingAdmin(Admin& inner) : inner_(inner) {}
  std::string cluster_name() const override { return inner_.cluster_name(); }
  AdminResult<std::vector<TopicInfo>> list_topics(milliseconds t) override { return inner_.list_topics(t); }
  AdminResult<TopicConfigs> topic_configs(const std::string& topic, milliseconds t) override {
    return inner_.topic_configs(topic, t);
  }
  std::optional<AdminError> create_topic(const std::string& topic, int32_t partitions, int32_t rf,
                                         const std::map<std::string, std::string>& configs, milliseconds t) override {
    if (auto e = inner_.create_topic(topic, partitions, rf, configs, t)) return e;  // the other route
    return inner_.create_topic(topic, partitions, rf, configs, t);
  }
  std::optional<AdminError> create_partitions(const std::string& topic, int32_t n, milliseconds t) override {
    if (auto e = inner_.create_partitions(topic, n, t)) return e;
    return inner_.create_partitions(topic, n, t);
  }

 private:
  Admin& inner_;
};

class SyncerReal : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    const auto* real = tiermirror::test::real::real_env(&why);
    if (!real) GTEST_SKIP() << why;
    source_ = std::make_unique<RdKafkaAdmin>(AdminConnection{"source", real->source.bootstrap, "tiermirror-test", {}, {}});
    target_ = std::make_unique<RdKafkaAdmin>(AdminConnection{"target", real->target.bootstrap, "tiermirror-test", {}, {}});
  }

  SyncOptions only(const std::string& topic) {
    SyncOptions o;
    o.select = [topic](const std::string& t) { return t == topic; };
    o.timeout = kTimeout;
    return o;
  }

  void make(Admin& admin, const std::string& topic, int32_t partitions,
            const std::map<std::string, std::string>& configs = {}) {
    auto e = admin.create_topic(topic, partitions, -1, configs, kTimeout);
    ASSERT_FALSE(e) << admin.cluster_name() << " " << topic << ": " << e->str();
    // A real cluster's brokers learn of a new topic from the controller a little later, each at
    // its own pace, and metadata requests go to any of them: wait until several answers in a
    // row show it, or the scenario would race the brokers' metadata caches.
    ASSERT_EQ(settled_partitions(admin, topic, partitions), partitions) << "metadata never showed " << topic;
  }

  int32_t settled_partitions(Admin& admin, const std::string& topic, int32_t want) {
    return tiermirror::test::real::settled_partitions(admin, topic, want);
  }

  SyncReport sync(Admin& target, const SyncOptions& o, bool dry_run = false) {
    Syncer s(*source_, target, o);
    SyncReport r;
    EXPECT_NO_THROW(r = s.run_once(dry_run));
    return r;
  }
  SyncReport sync(const SyncOptions& o, bool dry_run = false) { return sync(*target_, o, dry_run); }

  std::unique_ptr<RdKafkaAdmin> source_, target_;
};

TEST_F(SyncerReal, MissingTopicIsCreatedWithSourceCountAndCopiedConfigs) {
  auto topic = unique("missing");
  make(*source_, topic, 3, {{"retention.ms", "3600000"}, {"cleanup.policy", "compact"}});
  auto r = sync(only(topic));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].kind, Kind::create_topic);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done) << r.render();
  EXPECT_EQ(settled_partitions(*target_, topic, 3), 3);
  auto cfg = tiermirror::test::real::topic_configs_once_known(*target_, topic);
  ASSERT_TRUE(cfg.ok()) << cfg.error().str();
  EXPECT_EQ(cfg->at("retention.ms").value, "3600000");
  EXPECT_FALSE(cfg->at("retention.ms").is_default);
  EXPECT_EQ(cfg->at("cleanup.policy").value, "compact");
  EXPECT_EQ(cfg->at("compression.type").value, "producer");
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_TRUE(r.verdicts[0].ok()) << r.render();
}

TEST_F(SyncerReal, SmallerTargetIsGrown) {
  auto topic = unique("grow");
  make(*source_, topic, 4);
  make(*target_, topic, 2);
  auto r = sync(only(topic));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].kind, Kind::add_partitions);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done) << r.render();
  EXPECT_EQ(settled_partitions(*target_, topic, 4), 4);
}

TEST_F(SyncerReal, WiderTargetIsNotedAndUntouched) {
  auto topic = unique("wider");
  make(*source_, topic, 1);
  make(*target_, topic, 3);
  auto r = sync(only(topic));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].kind, Kind::target_wider);
  EXPECT_EQ(r.actions[0].outcome, Outcome::noted);
  EXPECT_EQ(settled_partitions(*target_, topic, 3), 3);
}

TEST_F(SyncerReal, CreationDisabledLeavesTheTargetAlone) {
  auto topic = unique("nocreate");
  make(*source_, topic, 2);
  auto o = only(topic);
  o.create_missing_topics = false;
  auto r = sync(o);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::target_missing_not_created);
  EXPECT_EQ(settled_partitions(*target_, topic, 0), 0);
}

TEST_F(SyncerReal, TopicAlreadyExistsFromABrokerCountsAsSuccess) {
  auto topic = unique("race-create");
  make(*source_, topic, 2);
  RacingAdmin racing(*target_);
  auto r = sync(racing, only(topic));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].outcome, Outcome::already_done_by_another_route) << r.render();
  EXPECT_NE(r.actions[0].message.find("TOPIC_ALREADY_EXISTS"), std::string::npos);
}

TEST_F(SyncerReal, InvalidPartitionsFromABrokerCountsAsSuccess) {
  auto topic = unique("race-grow");
  make(*source_, topic, 3);
  make(*target_, topic, 1);
  RacingAdmin racing(*target_);
  auto r = sync(racing, only(topic));
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].outcome, Outcome::already_done_by_another_route) << r.render();
  EXPECT_NE(r.actions[0].message.find("INVALID_PARTITIONS"), std::string::npos);
  EXPECT_EQ(settled_partitions(*target_, topic, 3), 3);
}

TEST_F(SyncerReal, InvalidReplicationFactorIsReportedWithTheBrokersMessage) {
  auto topic = unique("bad-rf");
  make(*source_, topic, 1);
  auto o = only(topic);
  o.replication_factor = 1000;
  auto r = sync(o);
  ASSERT_EQ(r.actions.size(), 1u) << r.render();
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_NE(r.actions[0].message.find("INVALID_REPLICATION_FACTOR"), std::string::npos) << r.actions[0].message;
  EXPECT_EQ(settled_partitions(*target_, topic, 0), 0);
}

TEST_F(SyncerReal, IdentityProblemsOnARealTopicAreRefused) {
  auto topic = unique("identity");
  make(*source_, topic, 1);
  make(*target_, topic, 1, {{"compression.type", "gzip"}, {"message.timestamp.type", "LogAppendTime"}});
  auto o = only(topic);
  o.identity = IdentityPolicy::refuse;
  auto r = sync(o);
  ASSERT_EQ(r.verdicts.size(), 1u) << r.render();
  EXPECT_EQ(r.verdicts[0].problems.size(), 2u) << r.render();
  EXPECT_EQ(r.refused_topics(), std::set<std::string>{topic});
}

TEST_F(SyncerReal, DryRunChangesNothing) {
  auto missing = unique("dry-missing"), narrow = unique("dry-narrow");
  make(*source_, missing, 2);
  make(*source_, narrow, 3);
  make(*target_, narrow, 1);
  SyncOptions o;
  o.timeout = kTimeout;
  o.select = [&](const std::string& t) { return t == missing || t == narrow; };
  auto r = sync(o, /*dry_run=*/true);
  ASSERT_EQ(r.actions.size(), 2u) << r.render();
  for (const auto& a : r.actions) EXPECT_EQ(a.outcome, Outcome::would_do) << r.render();
  EXPECT_EQ(settled_partitions(*target_, missing, 0), 0);
  EXPECT_EQ(settled_partitions(*target_, narrow, 1), 1);
}

}  // namespace
}  // namespace tiermirror::control::test
