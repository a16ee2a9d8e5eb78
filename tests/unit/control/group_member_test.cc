// GroupMember's pieces that need no broker: reading the generation and member id out of
// librdkafka's serialized group metadata (librdkafka 2.0 has no getter for the generation).
// Membership itself is tested on the mock (tests/mock/scale_out_test.cc) and on real brokers.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <string>

#include "tiermirror/control/group_member.h"

namespace tiermirror::control {
namespace {

std::string written(const char* group, int32_t generation, const char* member, const char* instance) {
  auto* cgmd = rd_kafka_consumer_group_metadata_new_with_genid(group, generation, member, instance);
  void* buf = nullptr;
  size_t size = 0;
  rd_kafka_error_t* e = rd_kafka_consumer_group_metadata_write(cgmd, &buf, &size);
  rd_kafka_consumer_group_metadata_destroy(cgmd);
  EXPECT_EQ(e, nullptr);
  std::string out(static_cast<const char*>(buf), size);
  std::free(buf);
  return out;
}

TEST(GroupMetadata, GenerationAndMemberIdComeFromLibrdkafkasOwnSerialization) {
  // Written by the librdkafka this build links: a format change fails here, not in production.
  for (int32_t generation : {1, 7, 0x01020304, -1}) {
    auto bytes = written("tiermirror-route", generation, "tiermirror-route-3f1c", nullptr);
    auto id = parse_group_metadata(bytes.data(), bytes.size());
    ASSERT_TRUE(id.has_value()) << generation;
    EXPECT_EQ(id->generation, generation);
    EXPECT_EQ(id->member_id, "tiermirror-route-3f1c");
  }
  auto with_instance = written("g", 12, "m-1", "pod-a");
  auto id = parse_group_metadata(with_instance.data(), with_instance.size());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->generation, 12);
  EXPECT_EQ(id->member_id, "m-1");
}

TEST(GroupMetadata, OtherBytesAreNotGuessedAt) {
  EXPECT_FALSE(parse_group_metadata(nullptr, 0));
  std::string other = "CGMDv3:xxxxgroup";
  EXPECT_FALSE(parse_group_metadata(other.data(), other.size()));
  auto bytes = written("group", 3, "member", nullptr);
  EXPECT_FALSE(parse_group_metadata(bytes.data(), 12)) << "cut inside the group id";
  EXPECT_FALSE(parse_group_metadata(bytes.data(), 7 + 4 + 6 + 3)) << "cut inside the member id";
}

TEST(GroupMember, RefusesASessionTimeoutTheFenceMarginWouldEatUp) {
  GroupMemberOptions o;
  o.connection = {"source", "127.0.0.1:1", "t", {}, {}};
  o.group = "g";
  o.session_timeout = std::chrono::milliseconds(6000);
  o.fence_margin = std::chrono::milliseconds(5000);
  EXPECT_THROW(GroupMember(o, {}), std::runtime_error);
}

}  // namespace
}  // namespace tiermirror::control
