#pragma once
// Syncer: keeps every selected target topic at least as wide as its source (partition N is
// mirrored to partition N, so the target must have it) and checks that the target topic's
// configuration lets mirrored batches stay byte-identical (kafka-wire-rules.md, rules 4, 7, 13).
//
// It creates missing topics and adds partitions; it never shrinks, deletes or alters a topic.
// Errors are reported in the SyncReport, never thrown. Takes plain options (no config::Config):
// the control layer links only common and librdkafka.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tiermirror/control/admin.h"

namespace tiermirror::control {

enum class IdentityPolicy { warn, refuse };

struct IdentityVerdict;

struct SyncOptions {
  /// Which source topics this route mirrors (internal topics are never mirrored). Empty = all.
  std::function<bool(const std::string&)> select;
  bool create_missing_topics = true;
  int32_t replication_factor = -1;  // -1 = the target broker's default
  /// Copied from the source topic when the source topic sets them itself (not broker defaults).
  std::vector<std::string> copy_configs{"cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes",
                                        "message.timestamp.type"};
  IdentityPolicy identity = IdentityPolicy::warn;
  /// Budget of one admin operation (one topic's CreateTopics, ...) including its retries.
  std::chrono::milliseconds timeout{30000};
  /// Attempts for retriable errors (timeouts, disconnects, NOT_CONTROLLER, ...) within `timeout`.
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{200};
  /// Called during a pass as soon as one target topic has been checked (its verdict, and its
  /// max.message.bytes, 0 when unread), before the pass goes on to the next topic: a route
  /// starts that topic's partitions without waiting for a pass that creates many topics.
  std::function<void(const IdentityVerdict&, int64_t target_max_message_bytes)> on_topic_checked;
};

struct SyncAction {
  enum class Kind { create_topic, add_partitions, target_wider, target_missing_not_created };
  enum class Outcome { done, would_do, already_done_by_another_route, failed, noted };
  Kind kind;
  Outcome outcome;
  std::string topic;
  int32_t source_partitions = 0;
  int32_t target_partitions_before = 0;  // 0 = the target topic did not exist
  int32_t target_partitions_after = 0;
  std::string message;  // what happened, with the broker's message on failure
};

struct IdentityVerdict {
  std::string topic;
  std::vector<std::string> problems;
  bool refused = false;     // problems and IdentityPolicy::refuse: the route must not mirror it
  bool incomplete = false;  // a topic's configs could not be read (the reason is in problems)
  bool ok() const { return problems.empty(); }
};

struct SyncReport {
  std::vector<SyncAction> actions;
  std::vector<IdentityVerdict> verdicts;
  std::vector<std::string> errors;  // run-level failures (a cluster's topics could not be listed)
  /// max.message.bytes of every target topic whose configs were read (Kafka's default where
  /// unset): the route repacks batches above it instead of having them refused.
  std::map<std::string, int64_t> target_max_message_bytes;

  /// Any failed action, incomplete verdict or run-level error.
  bool failed() const;
  std::set<std::string> refused_topics() const;
  /// Human lines for `tiermirror sync`: one per action, per problem, per error, and a summary.
  std::string render() const;
};

std::string_view to_string(SyncAction::Kind k);
std::string_view to_string(SyncAction::Outcome o);

/// The identity problems of a target topic's configuration against its source's
/// (compression.type, message.timestamp.type, max.message.bytes, cleanup.policy). Entries missing
/// from a map count as Kafka's defaults.
std::vector<std::string> identity_problems(const TopicConfigs& source, const TopicConfigs& target);

class Syncer {
 public:
  Syncer(Admin& source, Admin& target, SyncOptions options);

  /// One pass over every selected source topic. dry_run reads everything and changes nothing
  /// (outcomes would_do). Blocks on admin calls; runs on: the caller's thread.
  SyncReport run_once(bool dry_run);

 private:
  Admin& source_;
  Admin& target_;
  SyncOptions opts_;
};

}  // namespace tiermirror::control
