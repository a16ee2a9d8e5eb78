#pragma once
// The target side of a route (route_core.h): the idempotent producer identity (InitProducerId,
// reset on a sequence the broker does not accept), Produce per target broker (one batch per
// partition per request, acks=all, behind the group member's zombie fence), the answers, and
// the in-order release of acknowledged batches. Also what the target topics allow: their
// max.message.bytes and the topics refused by the identity check. Runs on the route strand.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "route_core.h"

namespace tiermirror::pipeline::detail {

class Progress;

class TargetSide {
 public:
  /// `progress`: told at every release (the caught-up check).
  TargetSide(RouteCore& core, Progress& progress);
  TargetSide(const TargetSide&) = delete;
  TargetSide& operator=(const TargetSide&) = delete;

  /// A fresh idempotent producer id from the target (the route's start, and every reset).
  void init_producer();
  void schedule_produces();
  /// Releases the acknowledged prefix of the partition's queue: counters, observers, hint.
  void release(Partition& p);

  bool producer_ready() const { return producer_state_ == ProducerState::ready; }
  /// Any Produce request still unanswered.
  bool in_flight() const;

  /// The batch limit of a target topic: what the syncer read, else RouteOptions::max_message_bytes.
  size_t max_message_bytes(const std::string& topic) const;
  bool knows_max_message_bytes(const std::string& topic) const { return max_message_bytes_.count(topic) > 0; }
  /// Stores the syncer's limits (0: not readable, the default applies), logging the changes.
  void set_max_message_bytes(const std::map<std::string, size_t>& limits);
  /// Stores the refused topics and pauses their partitions (target side).
  void refuse_topics(std::map<std::string, std::string> reasons);
  /// Why the topic is refused, or null.
  const std::string* refused(const std::string& topic) const;

  /// The broker keeps this producer's sequence for a partition that left the route: if it comes
  /// back under the same producer id, its new queue continues from here
  /// (PartitionQueue::resume_sequence). A new producer id forgets them all.
  void keep_retired_sequence(const TopicPartition& tp, int32_t seq);
  std::optional<int32_t> take_retired_sequence(const TopicPartition& tp);

 private:
  struct ProducerIdentity {
    ProducerId id{-1};
    ProducerEpoch epoch{-1};
  };
  enum class ProducerState { none, initializing, ready, resetting };

  void reset_producer(const std::string& why);
  /// False when no request went out (no connection to `broker`): the batches are queued again.
  bool send_produce(int32_t broker, std::vector<std::pair<Partition*, QueuedBatch*>> batches);
  void on_produce_result(Partition& p, uint64_t batch_id, std::error_code ec, int64_t base_offset);
  std::string corrupt_message_reason(const Partition& p, uint64_t id) const;
  static int64_t wall_clock_ms();

  RouteCore& core_;
  Progress& progress_;
  std::map<int32_t, int> produce_in_flight_;  // per target broker
  ProducerIdentity producer_;
  ProducerState producer_state_ = ProducerState::none;
  std::map<TopicPartition, int32_t> retired_sequences_;  // see PartitionQueue::resume_sequence
  std::map<std::string, std::string> refused_;
  std::map<std::string, size_t> max_message_bytes_;  // per target topic, from the syncer
  bool fenced_ = false;  // the zombie fence held at the last schedule_produces
};

}  // namespace tiermirror::pipeline::detail
