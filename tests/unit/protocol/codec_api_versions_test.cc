#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<ApiVersionsRequest> request_samples(int16_t v) {
  if (v < 3) return {ApiVersionsRequest{}};  // v0-2 have no fields
  return {ApiVersionsRequest{"tiermirror", "0.1.0"}, ApiVersionsRequest{"", ""}};
}

std::vector<ApiVersionsResponse> response_samples(int16_t v) {
  ApiVersionsResponse m;
  m.error_code = 35;
  m.api_keys = {{0, 3, 7}, {1, 4, 11}, {18, 0, 3}};
  if (v >= 1) m.throttle_time_ms = 250;
  std::vector<ApiVersionsResponse> out{m};
  if (v >= 3) {
    m.supported_features = {{"metadata.version", 1, 20}, {"kraft.version", 0, 1}};
    m.finalized_features_epoch = 7;
    m.finalized_features = {{"metadata.version", 20, 1}};
    m.zk_migration_ready = true;
    out.push_back(m);
    out.push_back(ApiVersionsResponse{});  // empty array, no tags
  }
  return out;
}

TEST(CodecApiVersions, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<ApiVersionsRequest>(request_samples);
  check_all_versions<ApiVersionsResponse>(response_samples);
}

TEST(CodecApiVersions, WholeFramesEveryVersion) {
  check_frames_all_versions<ApiVersionsRequest, ApiVersionsResponse>(request_samples, response_samples);
}

TEST(CodecApiVersions, UnsupportedVersionRefused) {
  check_unsupported_versions<ApiVersionsRequest>();
  check_unsupported_versions<ApiVersionsResponse>();
}

TEST(CodecApiVersions, GoldenRequests) {
  for (int16_t v : {0, 1, 2}) check_golden(ApiVersionsRequest{}, v, Bytes{});  // empty body
  // v3: two COMPACT_STRINGs then an empty tagged-field section.
  check_golden(ApiVersionsRequest{"tm", "1.0"}, 3, Bytes{0x03, 't', 'm', 0x04, '1', '.', '0', 0x00});
}

TEST(CodecApiVersions, GoldenResponses) {
  ApiVersionsResponse m;
  m.api_keys = {{18, 0, 3}};
  check_golden(m, 0, ByteBuilder().i16(0).arr(1).i16(18).i16(0).i16(3).build());
  m.throttle_time_ms = 10;
  check_golden(m, 1, ByteBuilder().i16(0).arr(1).i16(18).i16(0).i16(3).i32(10).build());
  // v3: compact array, a tagged section per element and at the end; tag 0 carries the
  // supported features: [count=1] [tag 0] [size 8] [compact array of 1: "f", 1, 2, no tags].
  m.supported_features = {{"f", 1, 2}};
  check_golden(m, 3,
               ByteBuilder()
                   .i16(0)
                   .carr(1).i16(18).i16(0).i16(3).no_tags()
                   .i32(10)
                   .uvarint(1).uvarint(0).uvarint(8).carr(1).cstr("f").i16(1).i16(2).no_tags()
                   .build());
}

TEST(CodecApiVersions, V3ResponseSkipsUnknownTaggedFields) {
  Bytes body = ByteBuilder()
                   .i16(0)
                   .carr(1).i16(18).i16(0).i16(3)
                   .uvarint(1).uvarint(5).uvarint(1).raw({0xff})  // unknown tag 5 in the element
                   .i32(10)
                   .uvarint(2)
                   .uvarint(1).uvarint(8).i64(5)                  // finalized_features_epoch = 5
                   .uvarint(31).uvarint(3).raw({0xaa, 0xbb, 0xcc})  // unknown tag 31
                   .build();
  auto d = decode_body<ApiVersionsResponse>(body, 3);
  ASSERT_TRUE(d.ok()) << describe(d.error);
  EXPECT_EQ(d.consumed, body.size());
  ASSERT_EQ(d.value->api_keys.size(), 1u);
  EXPECT_EQ(d.value->api_keys[0], (ApiVersionsResponse::ApiVersion{18, 0, 3}));
  EXPECT_EQ(d.value->throttle_time_ms, 10);
  EXPECT_EQ(d.value->finalized_features_epoch, 5);
  EXPECT_TRUE(d.value->supported_features.empty());

  // The same body in a frame: the ApiVersions response header is v0 (no tagged fields)
  // even though the body is flexible.
  Bytes frame = ByteBuilder().i32(9).raw(body).build();
  auto f = decode_response<ApiVersionsResponse>(SharedBuffer(std::move(frame)), ApiKey::api_versions, 3);
  ASSERT_TRUE(f.ok()) << f.error.describe();
  EXPECT_EQ(f.value->finalized_features_epoch, 5);
  EXPECT_EQ(f.consumed, body.size() + 4);
}

TEST(CodecApiVersions, KnownTagWithWrongSizeIsMalformed) {
  // Tag 1 (an int64) declared as 4 bytes long.
  Bytes body = ByteBuilder().i16(0).carr(0).i32(0).uvarint(1).uvarint(1).uvarint(4).i64(5).build();
  auto d = decode_body<ApiVersionsResponse>(body, 3);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.error.code, errc::malformed);
  // A tag longer than what is left.
  Bytes cut = ByteBuilder().i16(0).carr(0).i32(0).uvarint(1).uvarint(9).uvarint(100).raw({1, 2}).build();
  EXPECT_FALSE(decode_body<ApiVersionsResponse>(cut, 3).ok());
}

}  // namespace
}  // namespace tiermirror::protocol
