// The syncer against in-memory clusters (FakeAdmin): partition counts, races between routes,
// admin errors, identity checks, dry runs.
#include "tiermirror/control/syncer.h"

#include <gtest/gtest.h>

#include <ostream>

#include "fake_admin.h"

namespace tiermirror::control::test {
namespace {

using std::chrono::milliseconds;
using Kind = SyncAction::Kind;
using Outcome = SyncAction::Outcome;

class SyncerTest : public ::testing::Test {
 protected:
  SyncerTest() {
    opts.timeout = milliseconds(2000);
    opts.retry_backoff = milliseconds(1);
  }

  SyncReport run(bool dry_run = false) {
    Syncer s(source, target, opts);
    SyncReport r;
    EXPECT_NO_THROW(r = s.run_once(dry_run));
    return r;
  }

  static const SyncAction* action(const SyncReport& r, const std::string& topic) {
    for (const auto& a : r.actions)
      if (a.topic == topic) return &a;
    return nullptr;
  }
  static const IdentityVerdict* verdict(const SyncReport& r, const std::string& topic) {
    for (const auto& v : r.verdicts)
      if (v.topic == topic) return &v;
    return nullptr;
  }

  FakeAdmin source{"dc1"};
  FakeAdmin target{"agg"};
  SyncOptions opts;
};

// --- partition counts -------------------------------------------------------------------------

TEST_F(SyncerTest, MissingTopicIsCreatedWithSourceCountReplicationAndCopiedConfigs) {
  source.add_topic("orders", 6,
                   {{"cleanup.policy", "compact"},
                    {"retention.ms", "3600000"},
                    {"compression.type", "lz4"},        // not copied: the target gets producer
                    {"segment.bytes", "104857600"}});  // set, but not in copy_configs
  opts.replication_factor = 3;
  auto r = run();

  ASSERT_EQ(target.count(Op::create_topic), 1);
  const auto& call = target.calls[1];  // list_topics, then create_topic
  ASSERT_EQ(call.op, Op::create_topic);
  EXPECT_EQ(call.topic, "orders");
  EXPECT_EQ(call.partitions, 6);
  EXPECT_EQ(call.replication_factor, 3);
  // Only configs the source topic sets itself: retention.bytes, max.message.bytes and
  // message.timestamp.type are broker defaults on the source and are not copied.
  std::map<std::string, std::string> want{
      {"cleanup.policy", "compact"}, {"retention.ms", "3600000"}, {"compression.type", "producer"}};
  EXPECT_EQ(call.configs, want);
  EXPECT_EQ(target.topics.at("orders").partitions, 6);

  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::create_topic);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  EXPECT_EQ(r.actions[0].source_partitions, 6);
  EXPECT_EQ(r.actions[0].target_partitions_before, 0);
  EXPECT_EQ(r.actions[0].target_partitions_after, 6);
  // The created topic is checked too, and is fine.
  ASSERT_NE(verdict(r, "orders"), nullptr);
  EXPECT_TRUE(verdict(r, "orders")->ok());
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, DefaultReplicationFactorIsBrokerDefault) {
  source.add_topic("a", 1);
  run();
  ASSERT_EQ(target.count(Op::create_topic), 1);
  EXPECT_EQ(target.topics.at("a").replication_factor, -1);
  EXPECT_EQ(target.calls[1].configs, (std::map<std::string, std::string>{{"compression.type", "producer"}}));
}

TEST_F(SyncerTest, SmallerTargetIsGrownToSourceCount) {
  source.add_topic("clicks", 8);
  target.add_topic("clicks", 3);
  auto r = run();
  EXPECT_EQ(target.topics.at("clicks").partitions, 8);
  ASSERT_EQ(target.count(Op::create_partitions), 1);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::add_partitions);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  EXPECT_EQ(r.actions[0].target_partitions_before, 3);
  EXPECT_EQ(r.actions[0].target_partitions_after, 8);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, ReportsEachTargetTopicsMaxMessageBytesForTheRoute) {
  source.add_topic("small", 1);
  target.add_topic("small", 1, {{"max.message.bytes", "65536"}});
  source.add_topic("plain", 1);
  target.add_topic("plain", 1);
  auto r = run();
  EXPECT_EQ(r.target_max_message_bytes["small"], 65536);
  EXPECT_EQ(r.target_max_message_bytes["plain"], 1048588) << "Kafka's default where the topic sets none";
}

// A route starts a topic's partitions once it knows the target's limit: the pass tells it per
// topic, before it goes on to create the next topic (a pass creating many topics takes seconds).
TEST_F(SyncerTest, EachTopicIsReportedAsSoonAsItIsChecked) {
  source.add_topic("a-existing", 1);
  target.add_topic("a-existing", 1, {{"max.message.bytes", "20000"}});
  source.add_topic("b-missing", 1);
  std::vector<std::string> seen;
  opts.on_topic_checked = [&](const IdentityVerdict& v, int64_t max_message_bytes) {
    seen.push_back(v.topic + "=" + std::to_string(max_message_bytes) + " creations=" +
                   std::to_string(target.count(Op::create_topic)));
  };
  auto r = run();
  EXPECT_EQ(seen, (std::vector<std::string>{"a-existing=20000 creations=0", "b-missing=1048588 creations=1"}));
  EXPECT_EQ(r.verdicts.size(), 2u);
}

TEST_F(SyncerTest, EqualCountsNeedNothing) {
  source.add_topic("t", 4);
  target.add_topic("t", 4);
  auto r = run();
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(target.mutations(), 0);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_TRUE(r.verdicts[0].ok());
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, WiderTargetIsNotedAndNeverShrunk) {
  source.add_topic("t", 2);
  target.add_topic("t", 5);
  auto r = run();
  EXPECT_EQ(target.mutations(), 0);
  EXPECT_EQ(target.topics.at("t").partitions, 5);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::target_wider);
  EXPECT_EQ(r.actions[0].outcome, Outcome::noted);
  EXPECT_EQ(r.actions[0].target_partitions_after, 5);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, CreationDisabledNotesTheMissingTopic) {
  source.add_topic("t", 3);
  opts.create_missing_topics = false;
  auto r = run();
  EXPECT_EQ(target.mutations(), 0);
  EXPECT_TRUE(target.topics.empty());
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::target_missing_not_created);
  EXPECT_EQ(r.actions[0].outcome, Outcome::noted);
  EXPECT_NE(r.actions[0].message.find("wait"), std::string::npos);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, UnselectedAndInternalTopicsAreIgnored) {
  source.add_topic("keep.me", 2);
  source.add_topic("private.x", 2);
  source.add_topic("__consumer_offsets", 50, {}, /*internal=*/true);
  // The selector would take __consumer_offsets; internal topics are skipped regardless.
  opts.select = [](const std::string& t) { return t.rfind("private.", 0) != 0; };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].topic, "keep.me");
  EXPECT_EQ(target.topics.count("private.x"), 0u);
  EXPECT_EQ(target.topics.count("__consumer_offsets"), 0u);
  for (auto* fake : {&source, &target})
    for (const auto& c : fake->calls) {
      EXPECT_NE(c.topic, "private.x");
      EXPECT_NE(c.topic, "__consumer_offsets");
    }
}

// --- races with other routes feeding the same aggregate --------------------------------------

TEST_F(SyncerTest, TopicAlreadyExistsFromAnotherRouteCountsAsSuccess) {
  source.add_topic("t", 6);
  target.before_create_topic = [](FakeAdmin& t, const std::string& topic) { t.add_topic(topic, 6); };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::create_topic);
  EXPECT_EQ(r.actions[0].outcome, Outcome::already_done_by_another_route);
  EXPECT_EQ(r.actions[0].target_partitions_after, 6);
  EXPECT_NE(r.actions[0].message.find("TOPIC_ALREADY_EXISTS"), std::string::npos);
  EXPECT_EQ(target.count(Op::list_topics), 2);  // re-read after the race
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.verdicts.size(), 1u);
}

TEST_F(SyncerTest, TopicAlreadyExistsWiderCountsAsSuccess) {
  source.add_topic("t", 6);
  target.before_create_topic = [](FakeAdmin& t, const std::string& topic) { t.add_topic(topic, 12); };
  auto r = run();
  EXPECT_EQ(r.actions[0].outcome, Outcome::already_done_by_another_route);
  EXPECT_EQ(r.actions[0].target_partitions_after, 12);
}

TEST_F(SyncerTest, TopicAlreadyExistsButNarrowerFails) {
  source.add_topic("t", 6);
  target.before_create_topic = [](FakeAdmin& t, const std::string& topic) { t.add_topic(topic, 2); };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_EQ(r.actions[0].target_partitions_after, 2);
  EXPECT_NE(r.actions[0].message.find("only 2 partitions"), std::string::npos);
  EXPECT_TRUE(r.failed());
}

TEST_F(SyncerTest, InvalidPartitionsFromAnotherRouteCountsAsSuccess) {
  source.add_topic("t", 6);
  target.add_topic("t", 2);
  target.before_create_partitions = [](FakeAdmin& t, const std::string& topic) { t.topics[topic].partitions = 6; };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::add_partitions);
  EXPECT_EQ(r.actions[0].outcome, Outcome::already_done_by_another_route);
  EXPECT_EQ(r.actions[0].target_partitions_before, 2);
  EXPECT_EQ(r.actions[0].target_partitions_after, 6);
  EXPECT_NE(r.actions[0].message.find("Topic already has 6 partitions."), std::string::npos);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, InvalidPartitionsButStillNarrowerFails) {
  source.add_topic("t", 6);
  target.add_topic("t", 2);
  target.fail_next(Op::create_partitions, kafka_error(kafka_errc::invalid_partitions, "Number of partitions is invalid."));
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_EQ(r.actions[0].target_partitions_after, 2);
  EXPECT_NE(r.actions[0].message.find("Number of partitions is invalid."), std::string::npos);
  EXPECT_TRUE(r.failed());
}

// Issue 18, seen with 2,000 partitions on Kafka 4.4: CreateTopics answered REQUEST_TIMED_OUT
// (the controller went on creating), the retry TOPIC_ALREADY_EXISTS, and the brokers' metadata
// showed the topic only a while later. The syncer keeps re-reading and carries on.
TEST_F(SyncerTest, RequestTimedOutThenTopicAlreadyExistsWhileMetadataLags) {
  source.add_topic("wide", 2000);
  opts.retry_backoff = milliseconds(20);
  target.fail_next(Op::create_topic, kafka_error(kafka_errc::request_timed_out, "Request timed out."));
  target.fail_next(Op::create_topic, kafka_error(kafka_errc::topic_already_exists, "Topic 'wide' already exists."));
  // The pass's own listing, then 6 re-reads see nothing (more than max_attempts): then it shows.
  target.before_list_topics = [n = 0](FakeAdmin& t) mutable {
    if (++n == 8) t.add_topic("wide", 2000);
  };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done) << r.actions[0].message;
  EXPECT_EQ(r.actions[0].target_partitions_after, 2000);
  EXPECT_NE(r.actions[0].message.find("timed-out attempt"), std::string::npos) << r.actions[0].message;
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, EveryAttemptRequestTimedOutButTheCreationCompleted) {
  source.add_topic("wide", 2000);
  target.before_create_topic = [](FakeAdmin& t, const std::string& topic) {
    if (!t.topics.count(topic)) t.add_topic(topic, 2000);  // the first attempt did it
    t.fail_next(Op::create_topic, kafka_error(kafka_errc::request_timed_out, "Request timed out."));
  };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(target.count(Op::create_topic), opts.max_attempts);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done) << r.actions[0].message;
  EXPECT_EQ(r.actions[0].target_partitions_after, 2000);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, RequestTimedOutThenInvalidPartitionsWhileMetadataLags) {
  source.add_topic("t", 2000);
  target.add_topic("t", 100);
  opts.retry_backoff = milliseconds(20);
  target.fail_next(Op::create_partitions, kafka_error(kafka_errc::request_timed_out, "Request timed out."));
  target.fail_next(Op::create_partitions, kafka_error(kafka_errc::invalid_partitions, "Topic already has 2000 partitions."));
  target.before_list_topics = [n = 0](FakeAdmin& t) mutable {
    if (++n == 8) t.topics["t"].partitions = 2000;
  };
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, Kind::add_partitions);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done) << r.actions[0].message;
  EXPECT_EQ(r.actions[0].target_partitions_after, 2000);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, RaceWhenTheReReadFailsIsAFailure) {
  source.add_topic("t", 6);
  // The first list_topics (the pass's) succeeds; every re-read is refused.
  target.before_create_topic = [](FakeAdmin& t, const std::string& topic) {
    t.add_topic(topic, 6);
    t.fail_next(Op::list_topics, kafka_error(kafka_errc::cluster_authorization_failed, "no describe"), 5);
  };
  auto r = run();
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_NE(r.actions[0].message.find("re-reading the target failed"), std::string::npos);
}

// --- admin errors: reported with topic and broker message, never thrown ------------------------

struct ErrorCase {
  const char* name;
  Op op;
  kafka_errc code;
  const char* message;
};

// gtest would print the bytes of the struct, pointers included, into the test's listed name,
// which ctest takes as the test name: a different name at every build.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class SyncerErrorTest : public SyncerTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(SyncerErrorTest, IsReportedWithTheBrokerMessageAndNotRetried) {
  const auto& c = GetParam();
  source.add_topic("t", 4);
  if (c.op == Op::create_partitions) target.add_topic("t", 1);
  target.fail_next(c.op, kafka_error(c.code, c.message));
  auto r = run();
  ASSERT_EQ(r.actions.size(), 1u);
  const auto& a = r.actions[0];
  EXPECT_EQ(a.topic, "t");
  EXPECT_EQ(a.outcome, Outcome::failed);
  EXPECT_NE(a.message.find(c.message), std::string::npos) << a.message;
  EXPECT_NE(a.message.find(kafka_error_name(static_cast<int16_t>(c.code))), std::string::npos) << a.message;
  EXPECT_EQ(target.count(c.op), 1) << "not retriable: one attempt";
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.render().find(c.message), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, SyncerErrorTest,
    ::testing::Values(
        ErrorCase{"TopicAuthorization", Op::create_topic, kafka_errc::topic_authorization_failed,
                  "Authorization failed."},
        ErrorCase{"ClusterAuthorization", Op::create_topic, kafka_errc::cluster_authorization_failed,
                  "Cluster authorization failed."},
        ErrorCase{"PolicyViolationCreate", Op::create_topic, kafka_errc::policy_violation,
                  "Topic names must start with dc1."},
        ErrorCase{"PolicyViolationPartitions", Op::create_partitions, kafka_errc::policy_violation,
                  "Partition count may not change."},
        ErrorCase{"InvalidReplicationFactor", Op::create_topic, kafka_errc::invalid_replication_factor,
                  "Replication factor: 3 larger than available brokers: 1."},
        ErrorCase{"AuthorizationPartitions", Op::create_partitions, kafka_errc::topic_authorization_failed,
                  "Authorization failed."}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SyncerTest, TimeoutIsRetriedThenSucceeds) {
  source.add_topic("t", 4);
  target.fail_next(Op::create_topic, local_error(errc::timed_out, "CreateTopics got no answer"));
  auto r = run();
  EXPECT_EQ(target.count(Op::create_topic), 2);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  EXPECT_FALSE(r.failed());
}

TEST_F(SyncerTest, TimeoutWhoseFirstAttemptTookEffectIsDone) {
  source.add_topic("t", 4);
  // The first CreateTopics reached the controller but its answer was lost.
  target.before_create_topic = [n = 0](FakeAdmin& t, const std::string& topic) mutable {
    if (n++ == 0) {
      t.add_topic(topic, 4);
      t.fail_next(Op::create_topic, local_error(errc::timed_out, "no answer"));
    }
  };
  auto r = run();
  EXPECT_EQ(target.count(Op::create_topic), 2);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  EXPECT_EQ(r.actions[0].target_partitions_after, 4);
}

TEST_F(SyncerTest, DisconnectOnCreatePartitionsIsRetried) {
  source.add_topic("t", 4);
  target.add_topic("t", 2);
  target.fail_next(Op::create_partitions, local_error(errc::disconnected, "broker went away"));
  target.fail_next(Op::create_partitions, kafka_error(kafka_errc::not_controller, "not the controller"));
  auto r = run();
  EXPECT_EQ(target.count(Op::create_partitions), 3);
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  EXPECT_EQ(target.topics.at("t").partitions, 4);
}

TEST_F(SyncerTest, PersistentTimeoutFailsWithinTheBudget) {
  source.add_topic("t", 4);
  opts.timeout = milliseconds(900);
  target.fail_next(Op::create_topic, local_error(errc::timed_out, "no answer from the controller"), 10);
  auto start = std::chrono::steady_clock::now();
  auto r = run();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(target.count(Op::create_topic), opts.max_attempts);
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_NE(r.actions[0].message.find("no answer from the controller"), std::string::npos);
  // Each attempt gets a share of what is left of the budget, so a hanging first attempt still
  // leaves room for the retries.
  std::vector<milliseconds> given;
  for (const auto& c : target.calls)
    if (c.op == Op::create_topic) given.push_back(c.timeout);
  ASSERT_EQ(given.size(), 3u);
  EXPECT_LE(given[0], opts.timeout / 3);
  for (auto t : given) EXPECT_LE(t, opts.timeout);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(SyncerTest, SourceConfigsUnreadableFailsTheCreation) {
  source.add_topic("t", 4, {{"cleanup.policy", "compact"}});
  source.fail_next(Op::topic_configs, kafka_error(kafka_errc::topic_authorization_failed, "DESCRIBE_CONFIGS denied"));
  auto r = run();
  EXPECT_EQ(target.count(Op::create_topic), 0);  // a topic created without its cleanup.policy can't be fixed later
  EXPECT_EQ(r.actions[0].outcome, Outcome::failed);
  EXPECT_NE(r.actions[0].message.find("DESCRIBE_CONFIGS denied"), std::string::npos);
}

TEST_F(SyncerTest, ListingFailureIsAReportedError) {
  source.add_topic("t", 4);
  target.fail_next(Op::list_topics, kafka_error(kafka_errc::cluster_authorization_failed, "no describe on cluster"));
  auto r = run();
  EXPECT_TRUE(r.actions.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("agg"), std::string::npos);
  EXPECT_NE(r.errors[0].find("no describe on cluster"), std::string::npos);
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.render().find("no describe on cluster"), std::string::npos);
}

TEST_F(SyncerTest, OneTopicsFailureDoesNotStopTheOthers) {
  source.add_topic("a", 2).add_topic("b", 2).add_topic("c", 2);
  target.fail_next(Op::create_topic, kafka_error(kafka_errc::policy_violation, "no"), 1, "b");
  auto r = run();
  ASSERT_EQ(r.actions.size(), 3u);
  EXPECT_EQ(action(r, "a")->outcome, Outcome::done);
  EXPECT_EQ(action(r, "b")->outcome, Outcome::failed);
  EXPECT_EQ(action(r, "c")->outcome, Outcome::done);
}

// --- identity checks ------------------------------------------------------------------------------

struct IdentityCase {
  const char* name;
  std::map<std::string, std::string> source, target;
  const char* expect;  // a phrase of the problem
};

void PrintTo(const IdentityCase& c, std::ostream* os) { *os << c.name; }  // as ErrorCase's

class IdentityTest : public SyncerTest, public ::testing::WithParamInterface<IdentityCase> {};

TEST_P(IdentityTest, ProblemIsReportedAndRefusedOnlyUnderRefuse) {
  const auto& c = GetParam();
  source.add_topic("t", 2, c.source);
  target.add_topic("t", 2, c.target);
  auto warn = run();
  ASSERT_EQ(warn.verdicts.size(), 1u);
  ASSERT_EQ(warn.verdicts[0].problems.size(), 1u);
  EXPECT_NE(warn.verdicts[0].problems[0].find(c.expect), std::string::npos) << warn.verdicts[0].problems[0];
  EXPECT_FALSE(warn.verdicts[0].refused);
  EXPECT_TRUE(warn.refused_topics().empty());
  EXPECT_FALSE(warn.failed());

  opts.identity = IdentityPolicy::refuse;
  auto refuse = run();
  EXPECT_TRUE(refuse.verdicts[0].refused);
  EXPECT_EQ(refuse.refused_topics(), std::set<std::string>{"t"});
  EXPECT_NE(refuse.render().find("[refused]"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Checks, IdentityTest,
    ::testing::Values(
        IdentityCase{"Compression", {}, {{"compression.type", "zstd"}}, "recompresses every batch whose codec differs from zstd"},
        IdentityCase{"LogAppendTime", {}, {{"message.timestamp.type", "LogAppendTime"}}, "rewrites maxTimestamp"},
        IdentityCase{"MaxMessageBytes", {{"max.message.bytes", "8388608"}}, {{"max.message.bytes", "1048588"}},
                     "below the source's 8388608"},
        IdentityCase{"Compacted", {}, {{"cleanup.policy", "compact,delete"}}, "keyless records are refused"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SyncerTest, IdentityAllowsWhatKeepsBatchesIdentical) {
  // Wider max.message.bytes on the target, compaction on both, CreateTime: fine.
  source.add_topic("t", 2, {{"cleanup.policy", "compact"}, {"max.message.bytes", "1000000"}});
  target.add_topic("t", 2, {{"cleanup.policy", "delete,compact"}, {"max.message.bytes", "2000000"},
                            {"compression.type", "producer"}});
  opts.identity = IdentityPolicy::refuse;
  auto r = run();
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_TRUE(r.verdicts[0].ok());
  EXPECT_TRUE(r.refused_topics().empty());
}

TEST_F(SyncerTest, AllFourIdentityProblemsAtOnce) {
  source.add_topic("ok", 1);
  target.add_topic("ok", 1);
  source.add_topic("bad", 1, {{"max.message.bytes", "5000000"}});
  target.add_topic("bad", 1,
                   {{"compression.type", "gzip"},
                    {"message.timestamp.type", "LogAppendTime"},
                    {"max.message.bytes", "1000000"},
                    {"cleanup.policy", "compact"}});
  opts.identity = IdentityPolicy::refuse;
  auto r = run();
  ASSERT_NE(verdict(r, "bad"), nullptr);
  EXPECT_EQ(verdict(r, "bad")->problems.size(), 4u);
  EXPECT_TRUE(verdict(r, "ok")->ok());
  EXPECT_EQ(r.refused_topics(), std::set<std::string>{"bad"});
  auto text = r.render();
  for (const auto& p : verdict(r, "bad")->problems) EXPECT_NE(text.find(p), std::string::npos);
}

TEST_F(SyncerTest, CreatedTopicInheritingBadBrokerDefaultsIsFlagged) {
  // The target broker's default is LogAppendTime, and the source does not set the type itself.
  target.broker_defaults["message.timestamp.type"] = ConfigEntry("LogAppendTime", true);
  source.add_topic("t", 3);
  opts.identity = IdentityPolicy::refuse;
  auto r = run();
  EXPECT_EQ(r.actions[0].outcome, Outcome::done);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].problems.size(), 1u);
  EXPECT_EQ(r.refused_topics(), std::set<std::string>{"t"});
}

TEST_F(SyncerTest, UnreadableTargetConfigsMakeAnIncompleteVerdict) {
  source.add_topic("t", 2);
  target.add_topic("t", 2);
  target.fail_next(Op::topic_configs, kafka_error(kafka_errc::topic_authorization_failed, "no DESCRIBE_CONFIGS"));
  opts.identity = IdentityPolicy::refuse;
  auto r = run();
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_TRUE(r.verdicts[0].incomplete);
  EXPECT_TRUE(r.verdicts[0].refused);  // refuse: mirror only what is known to stay identical
  EXPECT_TRUE(r.failed());
}

TEST(IdentityProblems, MissingEntriesCountAsKafkaDefaults) {
  EXPECT_TRUE(identity_problems({}, {}).empty());
  EXPECT_EQ(identity_problems({}, {{"max.message.bytes", "1000"}}).size(), 1u);
  EXPECT_TRUE(identity_problems({{"cleanup.policy", "compact, delete"}}, {{"cleanup.policy", "compact"}}).empty());
  EXPECT_TRUE(identity_problems({{"max.message.bytes", "garbage"}}, {{"max.message.bytes", "1"}}).empty());
}

// --- dry run and rendering -----------------------------------------------------------------------

TEST_F(SyncerTest, DryRunReadsEverythingAndChangesNothing) {
  source.add_topic("missing", 3, {{"retention.ms", "1000"}});
  source.add_topic("narrow", 4);
  source.add_topic("wide", 1);
  source.add_topic("same", 2);
  target.add_topic("narrow", 1, {{"compression.type", "gzip"}});
  target.add_topic("wide", 3);
  target.add_topic("same", 2);
  const auto before = target.topics.size();
  auto r = run(/*dry_run=*/true);

  EXPECT_EQ(target.mutations(), 0);
  EXPECT_EQ(source.mutations(), 0);
  EXPECT_EQ(target.topics.size(), before);
  EXPECT_EQ(target.topics.at("narrow").partitions, 1);
  ASSERT_EQ(r.actions.size(), 3u);
  EXPECT_EQ(action(r, "missing")->kind, Kind::create_topic);
  EXPECT_EQ(action(r, "missing")->outcome, Outcome::would_do);
  EXPECT_EQ(action(r, "missing")->target_partitions_after, 3);
  EXPECT_NE(action(r, "missing")->message.find("retention.ms=1000"), std::string::npos);
  EXPECT_EQ(action(r, "narrow")->outcome, Outcome::would_do);
  EXPECT_EQ(action(r, "wide")->outcome, Outcome::noted);
  // Existing targets are checked in a dry run too.
  EXPECT_EQ(r.verdicts.size(), 3u);
  EXPECT_FALSE(verdict(r, "narrow")->ok());
  EXPECT_GE(target.count(Op::topic_configs), 3);
  EXPECT_GE(source.count(Op::topic_configs), 4);
}

TEST_F(SyncerTest, RenderMentionsEveryAction) {
  source.add_topic("created", 2).add_topic("grown", 4).add_topic("wider", 1).add_topic("refused", 1);
  target.add_topic("grown", 2).add_topic("wider", 3).add_topic("refused", 5, {{"compression.type", "lz4"}});
  target.fail_next(Op::create_topic, kafka_error(kafka_errc::policy_violation, "nope"), 1, "created");
  auto r = run();
  auto text = r.render();
  ASSERT_EQ(r.actions.size(), 4u);
  for (const auto& a : r.actions) {
    std::string line = std::string(to_string(a.kind)) + " " + a.topic + ": " + std::string(to_string(a.outcome));
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_NE(text.find("nope"), std::string::npos);
  EXPECT_NE(text.find("identity refused"), std::string::npos);
  EXPECT_NE(text.find("summary: 4 action(s)"), std::string::npos) << text;
}

TEST_F(SyncerTest, SecondPassIsANoOp) {
  source.add_topic("a", 3).add_topic("b", 5);
  target.add_topic("b", 2);
  run();
  const auto calls = target.mutations();
  auto r = run();
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(target.mutations(), calls);
}

}  // namespace
}  // namespace tiermirror::control::test
