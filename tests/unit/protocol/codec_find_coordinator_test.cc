#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<FindCoordinatorRequest> request_samples(int16_t v) {
  FindCoordinatorRequest m;
  m.key = "mirror-group";
  if (v >= 1) m.key_type = FindCoordinatorRequest::kTransaction;
  return {m, FindCoordinatorRequest{}};
}

std::vector<FindCoordinatorResponse> response_samples(int16_t v) {
  FindCoordinatorResponse m;
  m.error_code = 15;
  m.node_id = 3;
  m.host = "kafka-3.example";
  m.port = 9094;
  if (v >= 1) {
    m.throttle_time_ms = 9;
    m.error_message = "coordinator not available";
  }
  return {m, FindCoordinatorResponse{}};
}

TEST(CodecFindCoordinator, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<FindCoordinatorRequest>(request_samples);
  check_all_versions<FindCoordinatorResponse>(response_samples);
}

TEST(CodecFindCoordinator, WholeFramesEveryVersion) {
  check_frames_all_versions<FindCoordinatorRequest, FindCoordinatorResponse>(request_samples, response_samples);
}

TEST(CodecFindCoordinator, UnsupportedVersionRefused) {
  check_unsupported_versions<FindCoordinatorRequest>();
  check_unsupported_versions<FindCoordinatorResponse>();
}

TEST(CodecFindCoordinator, Golden) {
  check_golden(FindCoordinatorRequest{"g", 0}, 0, Bytes{0x00, 0x01, 'g'});
  check_golden(FindCoordinatorRequest{"g", 1}, 2, Bytes{0x00, 0x01, 'g', 0x01});

  FindCoordinatorResponse r;
  r.node_id = 1;
  r.host = "h";
  r.port = 9092;
  check_golden(r, 0, ByteBuilder().i16(0).i32(1).str("h").i32(9092).build());
  check_golden(r, 1, ByteBuilder().i32(0).i16(0).null_str().i32(1).str("h").i32(9092).build());
}

}  // namespace
}  // namespace tiermirror::protocol

namespace tiermirror::protocol {
namespace {

TEST(CodecFindCoordinator, NullHostInAnErrorResponseReadsAsEmpty) {
  // v1 body: throttle 0, error 15 (COORDINATOR_NOT_AVAILABLE), message null, node -1,
  // host null (as librdkafka 2.0.2's mock writes it), port -1.
  Bytes body{0, 0, 0, 0, 0, 15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  Reader r{BufferSlice(SharedBuffer(std::move(body)))};
  auto m = FindCoordinatorResponse::decode(r, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(m.error_code, 15);
  EXPECT_EQ(m.host, "");
  EXPECT_EQ(r.remaining(), 0u);
}

}  // namespace
}  // namespace tiermirror::protocol
