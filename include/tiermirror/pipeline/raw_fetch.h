#pragma once
// Raw reads of one partition through the wire client: ListOffsets and a Fetch whose
// record set is split into batch views — nothing is decompressed. Used by `probe`, the
// demo's proofs and the tests; the mirroring fetchers batch many partitions per request.
#include <functional>
#include <map>
#include <vector>
#include <optional>
#include <string>
#include <system_error>

#include "tiermirror/common/strong_types.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {

enum class Isolation : int8_t { read_uncommitted = 0, read_committed = 1 };

/// ListOffsets timestamps with special meaning (Kafka's ListOffsetsRequest).
inline constexpr int64_t kLatestTimestamp = -1;
inline constexpr int64_t kEarliestTimestamp = -2;

/// Asks the partition leader for the offset at `timestamp` (or earliest/latest).
void list_offset(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, int64_t timestamp,
                 Isolation isolation, net::Millis timeout, std::function<void(std::error_code, int64_t)> handler);

/// The leader's log end offset: what it appended, replicated or not (ListOffsets latest as
/// the debugging consumer, replica id -2, for which Kafka applies no isolation level; a
/// consumer's latest is the high watermark).
void list_log_end_offset(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, net::Millis timeout,
                         std::function<void(std::error_code, int64_t)> handler);

/// One partition's answer in a batched ListOffsets.
struct ListedOffset {
  std::error_code ec;
  int64_t offset = -1;
};

/// Many partitions' offsets as list_offset gives them: one ListOffsets request per leader broker,
/// each with `timeout`. `handler` runs once, on a connection's strand or at once, with an answer
/// (or an error) for every partition asked. A route starting thousands of partitions asks once.
void list_offsets(const std::shared_ptr<net::Cluster>& cluster, const std::vector<TopicPartition>& tps,
                  int64_t timestamp, Isolation isolation, net::Millis timeout,
                  std::function<void(std::map<TopicPartition, ListedOffset>)> handler);

/// The leaders' log end offsets (as list_log_end_offset) of many partitions: one ListOffsets
/// request per leader broker, each with `timeout`. `handler` runs once, on a connection's
/// strand or at once, with an answer (or an error) for every partition asked.
void list_log_end_offsets(const std::shared_ptr<net::Cluster>& cluster, const std::vector<TopicPartition>& tps,
                          net::Millis timeout,
                          std::function<void(std::map<TopicPartition, ListedOffset>)> handler);

struct FetchedPartition {
  std::error_code ec;                 // transport or Kafka error (kafka_category)
  protocol::SplitResult split;        // batches at or after the fetch offset
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  std::optional<std::vector<protocol::FetchResponse::AbortedTransaction>> aborted_transactions;
  int16_t fetch_version = -1;
};

struct FetchOptions {
  int32_t max_bytes = 1 << 20;
  int32_t max_wait_ms = 100;
  Isolation isolation = Isolation::read_committed;
  net::Millis timeout{10000};
};

/// Fetches one partition from its leader starting at `offset`.
void fetch_partition(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, SourceOffset offset,
                     const FetchOptions& opts, std::function<void(FetchedPartition)> handler);

}  // namespace tiermirror::pipeline
