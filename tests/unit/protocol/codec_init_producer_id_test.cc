#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<InitProducerIdRequest> request_samples(int16_t) {
  return {InitProducerIdRequest{"mirror-tx-1", 60000}, InitProducerIdRequest{std::nullopt, 1}, InitProducerIdRequest{}};
}

std::vector<InitProducerIdResponse> response_samples(int16_t) {
  return {InitProducerIdResponse{12, 0, 4000, 3}, InitProducerIdResponse{0, 53, -1, -1}, InitProducerIdResponse{}};
}

TEST(CodecInitProducerId, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<InitProducerIdRequest>(request_samples);
  check_all_versions<InitProducerIdResponse>(response_samples);
}

TEST(CodecInitProducerId, WholeFramesEveryVersion) {
  check_frames_all_versions<InitProducerIdRequest, InitProducerIdResponse>(request_samples, response_samples);
}

TEST(CodecInitProducerId, UnsupportedVersionRefused) {
  check_unsupported_versions<InitProducerIdRequest>();
  check_unsupported_versions<InitProducerIdResponse>();
}

TEST(CodecInitProducerId, Golden) {
  // Idempotent producer: null transactional id, then the timeout.
  check_golden(InitProducerIdRequest{std::nullopt, 60000}, 0, Bytes{0xff, 0xff, 0x00, 0x00, 0xea, 0x60});
  check_golden(InitProducerIdRequest{"x", 1}, 1, Bytes{0x00, 0x01, 'x', 0x00, 0x00, 0x00, 0x01});
  check_golden(InitProducerIdResponse{0, 0, 4000, 3}, 1, ByteBuilder().i32(0).i16(0).i64(4000).i16(3).build());
}

}  // namespace
}  // namespace tiermirror::protocol
