#pragma once
// Strong types for the values a mirror maker mixes up at its peril. A SourceOffset
// cannot be passed where a TargetOffset is expected: the defining bug of a mirror
// maker is committing a target offset to the source group, or the reverse.
#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace tiermirror {

template <typename T, typename Tag>
class NamedType {
 public:
  using value_type = T;
  constexpr NamedType() = default;
  constexpr explicit NamedType(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const NamedType&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const NamedType& n) { return os << n.v_; }

 private:
  T v_{};
};

using SourceOffset = NamedType<int64_t, struct SourceOffsetTag>;
using TargetOffset = NamedType<int64_t, struct TargetOffsetTag>;
using PartitionId = NamedType<int32_t, struct PartitionIdTag>;
using BrokerId = NamedType<int32_t, struct BrokerIdTag>;
using ProducerId = NamedType<int64_t, struct ProducerIdTag>;
using ProducerEpoch = NamedType<int16_t, struct ProducerEpochTag>;
using LeaderEpoch = NamedType<int32_t, struct LeaderEpochTag>;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  std::string str() const { return topic + "-" + std::to_string(partition); }
};

}  // namespace tiermirror

template <typename T, typename Tag>
struct std::hash<tiermirror::NamedType<T, Tag>> {
  size_t operator()(const tiermirror::NamedType<T, Tag>& n) const noexcept { return std::hash<T>{}(n.value()); }
};
template <>
struct std::hash<tiermirror::TopicPartition> {
  size_t operator()(const tiermirror::TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};
