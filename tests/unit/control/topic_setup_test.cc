// ensure_topic against an in-memory cluster: the audit topic is made when missing, left alone
// when present, and a refusal comes back with the broker's own message.
#include "tiermirror/control/topic_setup.h"

#include <gtest/gtest.h>

#include "fake_admin.h"

namespace tiermirror::control::test {
namespace {

using std::chrono::milliseconds;
using Outcome = EnsureTopicResult::Outcome;

TopicSpec audit_spec() {
  return TopicSpec{"__tiermirror_audit", 1, 3, {{"retention.ms", "2592000000"}, {"cleanup.policy", "delete"}}};
}

TEST(EnsureTopic, MissingTopicIsCreatedAsSpecified) {
  FakeAdmin target{"agg"};
  auto r = ensure_topic(target, audit_spec(), milliseconds(1000));
  EXPECT_EQ(r.outcome, Outcome::created);
  ASSERT_EQ(target.count(Op::create_topic), 1);
  const auto& call = target.calls.back();
  EXPECT_EQ(call.topic, "__tiermirror_audit");
  EXPECT_EQ(call.partitions, 1);
  EXPECT_EQ(call.replication_factor, 3);
  EXPECT_EQ(call.configs, audit_spec().configs);
}

TEST(EnsureTopic, PresentTopicIsLeftAlone) {
  FakeAdmin target{"agg"};
  target.add_topic("__tiermirror_audit", 4);
  EXPECT_EQ(ensure_topic(target, audit_spec(), milliseconds(1000)).outcome, Outcome::existed);
  EXPECT_EQ(target.mutations(), 0);
}

TEST(EnsureTopic, CreatedByAnotherRouteMeanwhileCountsAsExisting) {
  FakeAdmin target{"agg"};
  target.fail_next(Op::create_topic, AdminError{make_error_code(kafka_errc::topic_already_exists), "exists"});
  EXPECT_EQ(ensure_topic(target, audit_spec(), milliseconds(1000)).outcome, Outcome::existed);
}

TEST(EnsureTopic, RefusalKeepsTheBrokersMessage) {
  FakeAdmin target{"agg"};
  target.fail_next(Op::create_topic, AdminError{make_error_code(kafka_errc::topic_authorization_failed),
                                                "Authorization failed."});
  auto r = ensure_topic(target, audit_spec(), milliseconds(1000));
  EXPECT_EQ(r.outcome, Outcome::failed);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->str(), "TOPIC_AUTHORIZATION_FAILED: Authorization failed.");
  EXPECT_FALSE(r.error->retriable());
}

TEST(EnsureTopic, UnreachableClusterIsARetriableFailure) {
  FakeAdmin target{"agg"};
  target.fail_next(Op::list_topics, AdminError{make_error_code(errc::timed_out), "Local: Timed out"});
  auto r = ensure_topic(target, audit_spec(), milliseconds(1000));
  EXPECT_EQ(r.outcome, Outcome::failed);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_TRUE(r.error->retriable());
  EXPECT_EQ(target.mutations(), 0);
}

}  // namespace
}  // namespace tiermirror::control::test
