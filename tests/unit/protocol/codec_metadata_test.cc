#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<MetadataRequest> request_samples(int16_t) {
  MetadataRequest some;
  some.topics = std::vector<MetadataRequest::Topic>{{"orders"}, {"payments.v2"}};
  MetadataRequest none;  // an empty array asks for no topics
  none.topics.emplace();
  return {some, none, MetadataRequest{} /* null = all topics */};
}

std::vector<MetadataResponse> response_samples(int16_t v) {
  MetadataResponse m;
  m.brokers = {{1, "kafka-1.example", 9092, std::nullopt}, {2, "kafka-2.example", 9093, std::nullopt}};
  if (v >= 1) {
    m.brokers[0].rack = "rack-a";
    m.controller_id = 2;
  }
  if (v >= 2) m.cluster_id = "cluster-xyz";
  MetadataResponse::Topic t;
  t.error_code = 9;
  t.name = "orders";
  if (v >= 1) t.is_internal = true;
  t.partitions = {{0, 0, 1, {1, 2, 3}, {1, 2}}, {5, 1, -1, {2, 3}, {}}};
  m.topics = {t, MetadataResponse::Topic{3, "missing", false, {}}};
  return {m, MetadataResponse{}};
}

TEST(CodecMetadata, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<MetadataRequest>(request_samples);
  check_all_versions<MetadataResponse>(response_samples);
}

TEST(CodecMetadata, WholeFramesEveryVersion) {
  check_frames_all_versions<MetadataRequest, MetadataResponse>(request_samples, response_samples);
}

TEST(CodecMetadata, UnsupportedVersionRefused) {
  check_unsupported_versions<MetadataRequest>();
  check_unsupported_versions<MetadataResponse>();
}

TEST(CodecMetadata, GoldenRequests) {
  MetadataRequest one;
  one.topics = std::vector<MetadataRequest::Topic>{{"t"}};
  check_golden(one, 1, Bytes{0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74});
  check_golden(MetadataRequest{}, 2, Bytes{0xff, 0xff, 0xff, 0xff});  // null: all topics
  MetadataRequest none;
  none.topics.emplace();
  check_golden(none, 1, Bytes{0x00, 0x00, 0x00, 0x00});
}

TEST(CodecMetadata, GoldenResponses) {
  MetadataResponse m;
  m.brokers = {{1, "h", 9092, std::nullopt}};
  m.controller_id = 1;
  m.topics = {{0, "t", false, {{0, 0, 1, {1}, {1}}}}};
  Bytes brokers = ByteBuilder().arr(1).i32(1).str("h").i32(9092).null_str().build();
  Bytes topics = ByteBuilder()
                     .arr(1).i16(0).str("t").i8(0)
                     .arr(1).i16(0).i32(0).i32(1).arr(1).i32(1).arr(1).i32(1)
                     .build();
  check_golden(m, 1, ByteBuilder().raw(brokers).i32(1).raw(topics).build());
  m.cluster_id = "c";
  check_golden(m, 2, ByteBuilder().raw(brokers).str("c").i32(1).raw(topics).build());
}

TEST(CodecMetadata, AbsurdCountsRefused) {
  // 1,000,000 partitions announced with a handful of bytes left.
  Bytes body = ByteBuilder().arr(0).i32(-1).arr(1).i16(0).str("t").i8(0).arr(1000000).i32(0).build();
  auto d = decode_body<MetadataResponse>(body, 1);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.error.code, errc::malformed);
  // A null broker array is not allowed.
  EXPECT_FALSE(decode_body<MetadataResponse>(ByteBuilder().arr(-1).i32(-1).arr(0).build(), 1).ok());
}

}  // namespace
}  // namespace tiermirror::protocol
