#pragma once
// The produce-rules validator: an executable statement of what a real Kafka broker enforces on
// Produce (kafka-wire-rules.md, "Checking the rules"), because the librdkafka mock checks almost none
// of it. Decoupled from the message codec: the caller hands over each partition's records bytes.
// Test hooks run every request tiermirror sends through validate_produce and fail on any violation.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/errors.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::protocol {

struct ProducePartitionInput {
  std::string topic;
  int32_t partition = 0;
  ByteSpan records;
};

struct TopicLimits {
  int32_t max_message_bytes = 1048588;  // Kafka's default max.message.bytes (1 MiB + 12)
};

/// Numbers 1-11 are the rules of kafka-wire-rules.md; 100+ are tiermirror's own.
enum class ProduceRule {
  one_batch_per_partition = 1,
  base_offset_zero = 2,
  crc_valid = 3,
  fits_max_message_bytes = 4,
  count_matches_offset_delta = 5,
  inner_offset_deltas = 6,
  no_control_batches = 8,
  no_transactional_without_txn_id = 9,
  sequence_set_with_producer_id = 10,  // static half of rule 10: producerId >= 0 needs baseSequence >= 0
  zstd_needs_v7 = 11,
  magic_v2 = 100,
  acks_all = 101,
  sequence_continuity = 102,
};
std::string_view to_string(ProduceRule r);

struct RuleViolation {
  ProduceRule rule;
  std::string topic;
  int32_t partition = -1;
  std::string detail;
  /// What a real broker answers; kafka_errc::none when the broker accepts the request anyway
  /// (for example it silently rebuilds the batch, breaking identity).
  kafka_errc broker_would_return = kafka_errc::none;
};
/// "rule 5 count_matches_offset_delta t-3: ... -> INVALID_RECORD", for test failure messages.
std::string to_string(const RuleViolation& v);

/// Every rule the request breaks (not just the first). `version` is the Produce API version,
/// `acks` the request's acks. `limits` gives a topic's limits (default limits if empty).
std::vector<RuleViolation> validate_produce(int16_t version, const std::optional<std::string>& transactional_id,
                                            int16_t acks, std::span<const ProducePartitionInput> partitions,
                                            const std::function<TopicLimits(std::string_view)>& limits = {});

/// Rule 10 across requests, as the broker's ProducerStateManager sees it: per (producerId, topic,
/// partition) the epoch never goes down, a new epoch starts at sequence 0, a batch's baseSequence is the
/// last sequence + 1 (wrapping at INT32_MAX), and a resend of one of the last 5 batches is a duplicate
/// (answered with its original offset), not an error. A rejected batch does not change the state.
class SequenceTracker {
 public:
  enum class Outcome : uint8_t { accepted, duplicate, not_idempotent, out_of_order, invalid_epoch, not_checked };
  static constexpr size_t kRetainedBatches = 5;  // ProducerStateEntry.NUM_BATCHES_TO_RETAIN

  struct Options {
    /// The broker accepts any first sequence for a producer it has no state for; tiermirror always
    /// starts a new producer id at 0, so the harness asks for that by default.
    bool first_sequence_must_be_zero = true;
  };
  SequenceTracker() = default;
  explicit SequenceTracker(Options opts) : opts_(opts) {}

  /// Feeds one request whose partitions already passed validate_produce (first batch of each);
  /// returns the sequence_continuity violations.
  std::vector<RuleViolation> observe(std::span<const ProducePartitionInput> partitions);
  /// One batch. `detail` (optional) receives the reason for a rejection.
  Outcome observe_batch(std::string_view topic, int32_t partition, const RecordBatchView& batch,
                        std::string* detail = nullptr);

  size_t accepted() const { return accepted_; }
  size_t duplicates() const { return duplicates_; }

 private:
  struct Entry {
    int16_t epoch = -1;
    std::deque<std::pair<int32_t, int32_t>> batches;  // (first, last) sequence, newest at the back
  };
  using Key = std::tuple<int64_t, std::string, int32_t>;

  Options opts_;
  std::map<Key, Entry> state_;
  size_t accepted_ = 0;
  size_t duplicates_ = 0;
};

}  // namespace tiermirror::protocol
