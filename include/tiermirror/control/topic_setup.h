#pragma once
// Topics tiermirror itself needs on a cluster (the audit topic): made at start when missing, as
// MirrorMaker 2 makes its internal topics, since production brokers run with
// auto.create.topics.enable=false.
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "tiermirror/control/admin.h"

namespace tiermirror::control {

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
  int32_t replication_factor = -1;  // -1 = the broker's default
  std::map<std::string, std::string> configs;
};

struct EnsureTopicResult {
  enum class Outcome { existed, created, failed } outcome = Outcome::failed;
  std::optional<AdminError> error;  // set when failed
};

/// Lists the cluster's topics and creates `spec` when it is not among them. A creation another
/// process won (TOPIC_ALREADY_EXISTS) counts as `existed`.
EnsureTopicResult ensure_topic(Admin& admin, const TopicSpec& spec, std::chrono::milliseconds timeout);

}  // namespace tiermirror::control
