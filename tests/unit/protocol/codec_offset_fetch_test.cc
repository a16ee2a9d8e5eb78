#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<OffsetFetchRequest> request_samples(int16_t v) {
  OffsetFetchRequest m;
  m.group_id = "mirror-group";
  m.topics = std::vector<OffsetFetchRequest::Topic>{{"orders", {0, 1, 2}}, {"t2", {}}};
  OffsetFetchRequest empty;
  empty.topics.emplace();
  std::vector<OffsetFetchRequest> out{m, empty};
  if (v >= 2) out.push_back(OffsetFetchRequest{"all", std::nullopt});  // null: every topic
  return out;
}

std::vector<OffsetFetchResponse> response_samples(int16_t v) {
  OffsetFetchResponse m;
  if (v >= 3) m.throttle_time_ms = 8;
  OffsetFetchResponse::Partition p{0, 4200, -1, std::string("src=1234"), 0};
  OffsetFetchResponse::Partition none{1, -1, -1, std::nullopt, 0};
  OffsetFetchResponse::Partition err{2, -1, -1, std::string(), 88};
  if (v >= 5) p.committed_leader_epoch = 3;
  m.topics = {{"orders", {p, none, err}}, {"t2", {}}};
  if (v >= 2) m.error_code = 16;
  return {m, OffsetFetchResponse{}};
}

TEST(CodecOffsetFetch, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<OffsetFetchRequest>(request_samples);
  check_all_versions<OffsetFetchResponse>(response_samples);
}

TEST(CodecOffsetFetch, WholeFramesEveryVersion) {
  check_frames_all_versions<OffsetFetchRequest, OffsetFetchResponse>(request_samples, response_samples);
}

TEST(CodecOffsetFetch, UnsupportedVersionRefused) {
  check_unsupported_versions<OffsetFetchRequest>();
  check_unsupported_versions<OffsetFetchResponse>();
}

TEST(CodecOffsetFetch, NullTopicsOnlyFromV2) {
  Bytes body = ByteBuilder().str("g").arr(-1).build();
  EXPECT_FALSE(decode_body<OffsetFetchRequest>(body, 1).ok());
  auto d = decode_body<OffsetFetchRequest>(body, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value->topics.has_value());
}

TEST(CodecOffsetFetch, Golden) {
  OffsetFetchRequest req{"g", std::vector<OffsetFetchRequest::Topic>{{"t", {0, 3}}}};
  check_golden(req, 1, ByteBuilder().str("g").arr(1).str("t").arr(2).i32(0).i32(3).build());

  OffsetFetchResponse r;
  r.topics = {{"t", {{0, 42, -1, std::nullopt, 0}}}};
  check_golden(r, 1, ByteBuilder().arr(1).str("t").arr(1).i32(0).i64(42).null_str().i16(0).build());
  r.error_code = 16;
  check_golden(r, 2, ByteBuilder().arr(1).str("t").arr(1).i32(0).i64(42).null_str().i16(0).i16(16).build());
  r.throttle_time_ms = 1;
  r.topics[0].partitions[0].committed_leader_epoch = 7;
  check_golden(r, 5,
               ByteBuilder().i32(1).arr(1).str("t").arr(1).i32(0).i64(42).i32(7).null_str().i16(0).i16(16).build());
}

}  // namespace
}  // namespace tiermirror::protocol
