#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<ListOffsetsRequest> request_samples(int16_t v) {
  ListOffsetsRequest m;
  m.replica_id = 3;
  if (v >= 2) m.isolation_level = 1;
  ListOffsetsRequest::Partition earliest{0, -1, -2};
  ListOffsetsRequest::Partition latest{7, -1, -1};
  if (v >= 4) earliest.current_leader_epoch = 12, latest.current_leader_epoch = 13;
  m.topics = {{"orders", {earliest, latest}}, {"t2", {}}};
  return {m, ListOffsetsRequest{}};
}

std::vector<ListOffsetsResponse> response_samples(int16_t v) {
  ListOffsetsResponse m;
  if (v >= 2) m.throttle_time_ms = 20;
  ListOffsetsResponse::Partition ok{0, 0, 1700000000000, 4200, -1};
  ListOffsetsResponse::Partition err{7, 78, -1, -1, -1};
  if (v >= 4) ok.leader_epoch = 12;
  m.topics = {{"orders", {ok, err}}, {"t2", {}}};
  return {m, ListOffsetsResponse{}};
}

TEST(CodecListOffsets, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<ListOffsetsRequest>(request_samples);
  check_all_versions<ListOffsetsResponse>(response_samples);
}

TEST(CodecListOffsets, WholeFramesEveryVersion) {
  check_frames_all_versions<ListOffsetsRequest, ListOffsetsResponse>(request_samples, response_samples);
}

TEST(CodecListOffsets, UnsupportedVersionRefused) {
  check_unsupported_versions<ListOffsetsRequest>();
  check_unsupported_versions<ListOffsetsResponse>();
}

TEST(CodecListOffsets, Golden) {
  ListOffsetsRequest req;
  req.topics = {{"t", {{1, -1, -2}}}};
  // v1: replica_id, topics; no isolation level, no leader epoch, no max_num_offsets (v0 only).
  check_golden(req, 1, ByteBuilder().i32(-1).arr(1).str("t").arr(1).i32(1).i64(-2).build());
  req.isolation_level = 1;
  req.topics[0].partitions[0].current_leader_epoch = 4;
  check_golden(req, 5, ByteBuilder().i32(-1).i8(1).arr(1).str("t").arr(1).i32(1).i32(4).i64(-2).build());

  ListOffsetsResponse resp;
  resp.topics = {{"t", {{1, 0, -1, 99, -1}}}};
  check_golden(resp, 1, ByteBuilder().arr(1).str("t").arr(1).i32(1).i16(0).i64(-1).i64(99).build());
  resp.throttle_time_ms = 5;
  resp.topics[0].partitions[0].leader_epoch = 4;
  check_golden(resp, 4, ByteBuilder().i32(5).arr(1).str("t").arr(1).i32(1).i16(0).i64(-1).i64(99).i32(4).build());
}

}  // namespace
}  // namespace tiermirror::protocol
