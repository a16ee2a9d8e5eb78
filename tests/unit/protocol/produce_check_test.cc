// ProduceRequestChecker: encoded requests in, broken broker rules out (the frame as a
// connection sends it, size prefix included).
#include <gtest/gtest.h>

#include "support/batch_builder.h"
#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/produce_check.h"

namespace tiermirror::protocol {
namespace {

using test::BatchBuilder;

Bytes frame_of(const ProduceRequest& req, const std::string& client_id = "tiermirror") {
  Bytes out;
  for (const auto& s : encode_request(RequestHeader{ApiKey::produce, 7, 1, client_id}, req))
    out.insert(out.end(), s.span().begin(), s.span().end());
  return out;
}

ProduceRequest request(std::vector<Bytes> batches, int16_t acks = -1) {
  ProduceRequest r;
  r.acks = acks;
  ProduceRequest::Partition p{0, {}};
  for (auto& b : batches) p.records.push_back(test::to_slice(std::move(b)));
  r.topics = {{"orders", {std::move(p)}}};
  return r;
}

TEST(ProduceCheck, ARequestABrokerAcceptsHasNoProblem) {
  ProduceRequestChecker checker;
  auto batch = BatchBuilder().producer(7, 0, 0).add_n(3).build();
  EXPECT_TRUE(checker.check(7, frame_of(request({batch}))).empty());
}

TEST(ProduceCheck, EveryBrokenRuleIsNamedWithTheBrokersAnswer) {
  ProduceRequestChecker checker;
  auto one = BatchBuilder().base_offset(42).add_n(2).build();
  auto two = BatchBuilder().corrupt_crc().add_n(2).build();
  auto problems = checker.check(7, frame_of(request({one, two}, /*acks=*/1)));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find("one_batch_per_partition"), std::string::npos) << all;
  EXPECT_NE(all.find("base_offset_zero"), std::string::npos) << all;
  EXPECT_NE(all.find("acks_all"), std::string::npos) << all;
  EXPECT_NE(all.find("INVALID_RECORD"), std::string::npos) << all;
}

TEST(ProduceCheck, SequencesAreFollowedAcrossRequests) {
  ProduceRequestChecker checker;
  EXPECT_TRUE(checker.check(7, frame_of(request({BatchBuilder().producer(7, 0, 0).add_n(3).build()}))).empty());
  // The next batch must start at sequence 3; 10 is a gap a broker refuses.
  auto problems = checker.check(7, frame_of(request({BatchBuilder().producer(7, 0, 10).add_n(1).build()})));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("OUT_OF_ORDER_SEQUENCE_NUMBER"), std::string::npos) << problems[0];
}

TEST(ProduceCheck, TheSkippedClientIdIsNotCheckedAndGarbageIsNamed) {
  ProduceRequestChecker checker("planter");
  auto bad = BatchBuilder().corrupt_crc().add_n(1).build();
  EXPECT_TRUE(checker.check(7, frame_of(request({bad}), "planter")).empty());
  EXPECT_FALSE(checker.check(7, frame_of(request({bad}), "someone-else")).empty());
  ASSERT_EQ(checker.check(7, Bytes{0, 0}).size(), 1u);
  auto junk = checker.check(7, Bytes{0, 0, 0, 3, 1, 2, 3});
  ASSERT_EQ(junk.size(), 1u);
  EXPECT_NE(junk[0].find("does not decode"), std::string::npos) << junk[0];
}

}  // namespace
}  // namespace tiermirror::protocol
