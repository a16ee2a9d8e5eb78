#pragma once
// A route's committed offsets, kept in a consumer group on the SOURCE cluster so that the
// usual tools (kafka-consumer-groups, Burrow) show the mirror's lag. tiermirror never joins
// the group: it commits as a "simple consumer" (generation -1, empty member id), which Kafka
// accepts while the group has no active members (see group_offsets.cc for the broker code).
//
// The group coordinator is found with FindCoordinator (key = group, key type 0) on any
// broker and cached. NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a disconnect or a timeout
// forget it and look it up again; COORDINATOR_LOAD_IN_PROGRESS and the coordinator errors are
// retried with exponential backoff until the operation's deadline (created with `timeout`).
// Kafka's error codes reach the caller as kafka_errc (GROUP_AUTHORIZATION_FAILED, ...), the
// client's own as errc. Handlers run on a connection strand (or inline for empty input).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "tiermirror/common/strong_types.h"
#include "tiermirror/net/cluster.h"

namespace tiermirror::pipeline {

struct GroupOffsetsOptions {
  /// Whole-operation deadline: every retry and coordinator lookup fits in it.
  net::Millis timeout{30000};
  /// One request's timeout (capped by what is left of the deadline). Shorter than `timeout`
  /// so a request queued to a dead coordinator leaves time to find a new one.
  /// Default (0): a third of `timeout`, at least 1 s.
  net::Millis request_timeout{0};
  net::Millis backoff_initial{50};
  net::Millis backoff_max{1000};
};

class GroupOffsets : public std::enable_shared_from_this<GroupOffsets> {
 public:
  struct Commit {
    SourceOffset next;     // the next offset to read (Kafka's committed-offset convention)
    std::string metadata;  // free text stored with the offset (tiermirror: target offsets)
    bool operator==(const Commit&) const = default;
  };
  using FetchHandler = std::function<void(std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>)>;
  using FetchCommitsHandler = std::function<void(std::error_code, std::map<TopicPartition, std::optional<Commit>>)>;
  using CommitHandler = std::function<void(std::error_code, std::map<TopicPartition, std::error_code>)>;

  static std::shared_ptr<GroupOffsets> create(std::shared_ptr<net::Cluster> source, std::string group,
                                              net::Millis timeout);
  static std::shared_ptr<GroupOffsets> create(std::shared_ptr<net::Cluster> source, std::string group,
                                              GroupOffsetsOptions opts);

  /// Committed next-offsets for the partitions; nullopt for a partition without a commit
  /// (-1 from Kafka). On success the map has every requested partition. A partition-level
  /// error that is not retried (TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION, ...)
  /// fails the whole fetch with that error.
  void fetch(std::vector<TopicPartition> partitions, FetchHandler handler);
  /// The same with the metadata string stored with each offset.
  void fetch_commits(std::vector<TopicPartition> partitions, FetchCommitsHandler handler);

  /// Commits; per-partition errors reported individually (map: every partition, success as an
  /// empty error_code), request-level in ec. ec is set when the group as a whole refused the
  /// commit (GROUP_AUTHORIZATION_FAILED, UNKNOWN_MEMBER_ID — the group has active members —,
  /// ILLEGAL_GENERATION, INVALID_GROUP_ID, ...; the map then holds it for every partition not
  /// committed) or when the deadline passed with retriable errors left (ec = the last one).
  /// Partitions answered with a retriable coordinator error are sent again, the others not.
  void commit(std::map<TopicPartition, Commit> commits, CommitHandler handler);

  const std::string& group() const { return group_; }
  /// The cached coordinator's broker id, if one is known.
  std::optional<int32_t> coordinator() const;
  /// Forgets the cached coordinator (the next operation looks it up).
  void forget_coordinator();

 private:
  struct Op;
  struct FetchOp;
  struct CommitOp;
  using CoordinatorHandler = std::function<void(std::error_code, std::shared_ptr<net::Connection>, uint64_t)>;

  GroupOffsets(std::shared_ptr<net::Cluster> source, std::string group, GroupOffsetsOptions opts);

  /// Within the op's deadline, finds the coordinator and calls `use` with it; a failed
  /// lookup is retried (`again`, after backoff) when retriable, else fails the op.
  void with_coordinator(const std::shared_ptr<Op>& op, std::function<void()> again,
                        std::function<void(std::shared_ptr<net::Connection>, uint64_t)> use);
  void coordinator_for(const std::shared_ptr<Op>& op, CoordinatorHandler handler);
  void find_coordinator(const std::shared_ptr<Op>& op, CoordinatorHandler handler, bool refreshed);
  void use_coordinator(const std::shared_ptr<Op>& op, int32_t node_id, CoordinatorHandler handler, bool refreshed);
  void invalidate(uint64_t generation);
  /// Schedules `again` after the op's backoff, or finishes the op (op->fail) when the
  /// deadline would pass first.
  void retry_later(const std::shared_ptr<Op>& op, std::error_code why, std::function<void()> again);
  net::Millis request_timeout(const Op& op) const;

  void run_fetch(const std::shared_ptr<FetchOp>& op);
  void run_commit(const std::shared_ptr<CommitOp>& op);

  std::shared_ptr<net::Cluster> cluster_;
  std::string group_;
  GroupOffsetsOptions opts_;

  mutable std::mutex mu_;
  std::shared_ptr<net::Connection> coordinator_;
  int32_t coordinator_id_ = -1;
  uint64_t generation_ = 0;  // bumps whenever the cached coordinator changes
  int32_t last_found_id_ = -1;  // for logging a move once
};

}  // namespace tiermirror::pipeline
