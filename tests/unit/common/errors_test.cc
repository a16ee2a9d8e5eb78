#include "tiermirror/common/errors.h"

#include <gtest/gtest.h>

#include "tiermirror/common/result.h"
#include "tiermirror/common/strong_types.h"

namespace tiermirror {
namespace {

TEST(KafkaErrc, NamesFollowKafka) {
  EXPECT_EQ(kafka_error_name(6), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(kafka_error_name(87), "INVALID_RECORD");
  EXPECT_EQ(kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(std::error_code(kafka_errc::message_too_large).message(), "MESSAGE_TOO_LARGE");
  EXPECT_EQ(std::error_code(make_error_code(static_cast<kafka_errc>(999))).message(), "UNKNOWN_ERROR_CODE_999");
}

TEST(KafkaErrc, UnknownCodesAreNamedByNumberAndNeitherRetriedNorRefreshed) {
  // A broker newer than this table (or a broken one) may send any int16.
  for (int16_t code : {int16_t(9999), int16_t(121), int16_t(-2), int16_t(-32768), int16_t(32767)}) {
    auto e = static_cast<kafka_errc>(code);
    EXPECT_EQ(kafka_error_name(code), "UNKNOWN_ERROR_CODE") << code;
    EXPECT_EQ(std::error_code(make_error_code(e)).message(), "UNKNOWN_ERROR_CODE_" + std::to_string(code));
    EXPECT_FALSE(is_retriable(e)) << code;
    EXPECT_FALSE(needs_metadata_refresh(e)) << code;
  }
}

TEST(KafkaErrc, ComparesAsErrorCode) {
  std::error_code ec = kafka_errc::not_leader_or_follower;
  EXPECT_EQ(ec, kafka_errc::not_leader_or_follower);
  EXPECT_NE(ec, kafka_errc::leader_not_available);
  EXPECT_NE(ec, errc::truncated);
}

TEST(KafkaErrc, RetriableClassification) {
  EXPECT_TRUE(is_retriable(kafka_errc::not_leader_or_follower));
  EXPECT_TRUE(is_retriable(kafka_errc::request_timed_out));
  EXPECT_FALSE(is_retriable(kafka_errc::topic_authorization_failed));
  EXPECT_FALSE(is_retriable(kafka_errc::invalid_record));
  EXPECT_TRUE(needs_metadata_refresh(kafka_errc::unknown_topic_or_partition));
  EXPECT_FALSE(needs_metadata_refresh(kafka_errc::message_too_large));
}

TEST(Result, HoldsValueOrError) {
  Result<int> a = 5;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  Result<int> b = errc::truncated;
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), errc::truncated);
}

TEST(StrongTypes, OffsetsAreDistinctTypes) {
  static_assert(!std::is_convertible_v<SourceOffset, TargetOffset>);
  static_assert(!std::is_convertible_v<int64_t, SourceOffset>);
  SourceOffset s{10};
  EXPECT_LT(s, SourceOffset{11});
  TopicPartition tp{"t", 3};
  EXPECT_EQ(tp.str(), "t-3");
}

}  // namespace
}  // namespace tiermirror

#include "tiermirror/common/buffer.h"

namespace tiermirror {
namespace {

TEST(SharedBuffer, UninitializedForReceivingAndMovesLeaveNothingBehind) {
  uint8_t* out = nullptr;
  auto b = SharedBuffer::uninitialized(16, &out);
  ASSERT_NE(out, nullptr);
  for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(b.span()[15], 15);
  BufferSlice s(b, b.span().subspan(4, 4));
  SharedBuffer moved(std::move(b));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.span().data(), nullptr);
  EXPECT_EQ(moved.span()[4], 4);
  EXPECT_EQ(s.span()[0], 4);
  EXPECT_EQ(moved.use_count(), 2);  // the slice keeps it alive too
}

}  // namespace
}  // namespace tiermirror
