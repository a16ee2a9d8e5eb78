#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<OffsetCommitRequest> request_samples(int16_t v) {
  OffsetCommitRequest m;
  m.group_id = "mirror-group";
  m.generation_id = 11;
  m.member_id = "member-1";
  if (v >= 7) m.group_instance_id = "instance-1";
  if (v <= 4) m.retention_time_ms = 86400000;
  OffsetCommitRequest::Partition p{0, 4200, -1, std::string("src=1234")};
  OffsetCommitRequest::Partition q{5, 0, -1, std::nullopt};
  if (v >= 6) p.committed_leader_epoch = 3, q.committed_leader_epoch = 4;
  OffsetCommitRequest::Partition empty_meta{6, 1, -1, std::string()};
  m.topics = {{"orders", {p, q, empty_meta}}, {"t2", {}}};
  return {m, OffsetCommitRequest{}};
}

std::vector<OffsetCommitResponse> response_samples(int16_t v) {
  OffsetCommitResponse m;
  if (v >= 3) m.throttle_time_ms = 40;
  m.topics = {{"orders", {{0, 0}, {5, 22}}}, {"t2", {}}};
  return {m, OffsetCommitResponse{}};
}

TEST(CodecOffsetCommit, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<OffsetCommitRequest>(request_samples);
  check_all_versions<OffsetCommitResponse>(response_samples);
}

TEST(CodecOffsetCommit, WholeFramesEveryVersion) {
  check_frames_all_versions<OffsetCommitRequest, OffsetCommitResponse>(request_samples, response_samples);
}

TEST(CodecOffsetCommit, UnsupportedVersionRefused) {
  check_unsupported_versions<OffsetCommitRequest>();
  check_unsupported_versions<OffsetCommitResponse>();
}

TEST(CodecOffsetCommit, Golden) {
  OffsetCommitRequest m;
  m.group_id = "g";
  m.topics = {{"t", {{0, 42, -1, std::nullopt}}}};
  Bytes topics_v2 = ByteBuilder().arr(1).str("t").arr(1).i32(0).i64(42).null_str().build();
  // v2-4: group, generation -1, member "", retention -1, topics.
  check_golden(m, 2, ByteBuilder().str("g").i32(-1).str("").i64(-1).raw(topics_v2).build());
  // v5: retention time removed.
  check_golden(m, 5, ByteBuilder().str("g").i32(-1).str("").raw(topics_v2).build());
  // v7: group_instance_id (null) after member_id; leader epoch (v6+) before the metadata.
  m.topics[0].partitions[0].committed_leader_epoch = 2;
  check_golden(m, 7,
               ByteBuilder()
                   .str("g").i32(-1).str("").null_str()
                   .arr(1).str("t").arr(1).i32(0).i64(42).i32(2).null_str()
                   .build());

  OffsetCommitResponse r;
  r.topics = {{"t", {{0, 0}}}};
  check_golden(r, 2, ByteBuilder().arr(1).str("t").arr(1).i32(0).i16(0).build());
  check_golden(r, 3, ByteBuilder().i32(0).arr(1).str("t").arr(1).i32(0).i16(0).build());
}

}  // namespace
}  // namespace tiermirror::protocol
