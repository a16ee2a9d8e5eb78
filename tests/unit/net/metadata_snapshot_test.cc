// MetadataSnapshot::partition: the lookup a route makes for every partition at every scheduling
// round, so it must be right for partitions 0..n-1 (the usual case) and for a topic whose
// metadata lists only some partitions (an error for one, a partial answer).
#include <gtest/gtest.h>

#include "tiermirror/net/cluster.h"

namespace tiermirror::net {
namespace {

MetadataSnapshot snapshot(const std::string& topic, std::vector<int32_t> partitions) {
  MetadataSnapshot s;
  TopicInfo t{topic, 0, false, {}};
  for (int32_t p : partitions) t.partitions.push_back(PartitionInfo{p, 100 + p, 0, {}, {}});
  s.topics[topic] = t;
  return s;
}

TEST(MetadataSnapshot, FindsEveryPartitionOfADenseTopic) {
  std::vector<int32_t> all;
  for (int32_t p = 0; p < 2000; ++p) all.push_back(p);
  auto s = snapshot("wide", all);
  for (int32_t p = 0; p < 2000; ++p) {
    const auto* pi = s.partition("wide", p);
    ASSERT_NE(pi, nullptr) << p;
    EXPECT_EQ(pi->partition, p);
    EXPECT_EQ(pi->leader, 100 + p);
  }
  EXPECT_EQ(s.partition("wide", 2000), nullptr);
  EXPECT_EQ(s.partition("wide", -1), nullptr);
  EXPECT_EQ(s.partition("other", 0), nullptr);
}

TEST(MetadataSnapshot, FindsPartitionsOfATopicWithGaps) {
  auto s = snapshot("gappy", {0, 2, 3, 7, 11});  // sorted, as Cluster stores them
  for (int32_t p : {0, 2, 3, 7, 11}) {
    const auto* pi = s.partition("gappy", p);
    ASSERT_NE(pi, nullptr) << p;
    EXPECT_EQ(pi->partition, p);
    EXPECT_EQ(pi->leader, 100 + p);
  }
  for (int32_t p : {1, 4, 5, 6, 8, 12}) EXPECT_EQ(s.partition("gappy", p), nullptr) << p;
}

}  // namespace
}  // namespace tiermirror::net
