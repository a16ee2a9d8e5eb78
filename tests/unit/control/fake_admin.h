#pragma once
// FakeAdmin: an in-memory cluster behind the Admin interface, for the syncer's tests.
// It answers like a Kafka broker (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS with Kafka's messages),
// records every call, takes injected errors per operation (and optionally per topic), and has
// hooks that run just before a CreateTopics / CreatePartitions is applied, to play another route
// that wins the race.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/control/admin.h"

namespace tiermirror::control::test {

enum class Op { list_topics, topic_configs, create_topic, create_partitions };

inline const char* op_name(Op op) {
  switch (op) {
    case Op::list_topics: return "list_topics";
    case Op::topic_configs: return "topic_configs";
    case Op::create_topic: return "create_topic";
    case Op::create_partitions: return "create_partitions";
  }
  return "?";
}

inline AdminError kafka_error(kafka_errc e, std::string message) { return AdminError{make_error_code(e), std::move(message)}; }
inline AdminError local_error(errc e, std::string message) { return AdminError{make_error_code(e), std::move(message)}; }

class FakeAdmin : public Admin {
 public:
  struct Topic {
    int32_t partitions = 0;
    int32_t replication_factor = -1;
    TopicConfigs configs;  // topic overrides (is_default false) and defaults
    bool internal = false;
  };
  struct Call {
    Op op;
    std::string topic;  // empty for list_topics
    int32_t partitions = 0;  // create_topic: count; create_partitions: new total
    int32_t replication_factor = 0;
    std::map<std::string, std::string> configs;
    std::chrono::milliseconds timeout{0};
  };

  explicit FakeAdmin(std::string name) : name_(std::move(name)) {}

  /// Kafka's topic defaults as a broker reports them (is_default true); a created topic gets these
  /// plus its own configs.
  TopicConfigs broker_defaults{{"compression.type", ConfigEntry("producer", true)},
                               {"message.timestamp.type", ConfigEntry("CreateTime", true)},
                               {"max.message.bytes", ConfigEntry("1048588", true)},
                               {"cleanup.policy", ConfigEntry("delete", true)},
                               {"retention.ms", ConfigEntry("604800000", true)},
                               {"retention.bytes", ConfigEntry("-1", true)},
                               {"segment.bytes", ConfigEntry("1073741824", true)}};

  std::map<std::string, Topic> topics;
  std::vector<Call> calls;
  /// Run just before create_topic / create_partitions is applied (after the call is recorded):
  /// another route acting at the same moment.
  std::function<void(FakeAdmin&, const std::string& topic)> before_create_topic, before_create_partitions;
  /// Run at the start of every list_topics (metadata that catches up with the controller late).
  std::function<void(FakeAdmin&)> before_list_topics;

  /// Adds a topic; `overrides` are set on the topic itself (is_default false), the rest are the
  /// broker defaults.
  FakeAdmin& add_topic(const std::string& name, int32_t partitions, std::map<std::string, std::string> overrides = {},
                       bool internal = false) {
    Topic t;
    t.partitions = partitions;
    t.configs = broker_defaults;
    for (auto& [k, v] : overrides) t.configs[k] = ConfigEntry(v, false);
    t.internal = internal;
    topics[name] = std::move(t);
    return *this;
  }

  /// The next `times` calls of `op` (for `topic` only, when not empty) fail with `e`.
  void fail_next(Op op, AdminError e, int times = 1, std::string topic = {}) {
    for (int i = 0; i < times; ++i) injected_.push_back({op, topic, e});
  }

  int count(Op op, const std::string& topic = {}) const {
    int n = 0;
    for (const auto& c : calls)
      if (c.op == op && (topic.empty() || c.topic == topic)) ++n;
    return n;
  }
  int mutations() const { return count(Op::create_topic) + count(Op::create_partitions); }

  std::string cluster_name() const override { return name_; }

  AdminResult<std::vector<TopicInfo>> list_topics(std::chrono::milliseconds timeout) override {
    calls.push_back(Call{Op::list_topics, {}, 0, 0, {}, timeout});
    if (before_list_topics) before_list_topics(*this);
    if (auto e = take(Op::list_topics, {})) return *e;
    std::vector<TopicInfo> out;
    for (const auto& [name, t] : topics) out.push_back(TopicInfo{name, t.partitions, t.internal});
    return out;
  }

  AdminResult<TopicConfigs> topic_configs(const std::string& topic, std::chrono::milliseconds timeout) override {
    calls.push_back(Call{Op::topic_configs, topic, 0, 0, {}, timeout});
    if (auto e = take(Op::topic_configs, topic)) return *e;
    auto it = topics.find(topic);
    if (it == topics.end())
      return kafka_error(kafka_errc::unknown_topic_or_partition, "This server does not host this topic-partition.");
    return it->second.configs;
  }

  std::optional<AdminError> create_topic(const std::string& topic, int32_t partitions, int32_t replication_factor,
                                         const std::map<std::string, std::string>& configs,
                                         std::chrono::milliseconds timeout) override {
    calls.push_back(Call{Op::create_topic, topic, partitions, replication_factor, configs, timeout});
    if (before_create_topic) before_create_topic(*this, topic);
    if (auto e = take(Op::create_topic, topic)) return e;
    if (topics.count(topic))
      return kafka_error(kafka_errc::topic_already_exists, "Topic '" + topic + "' already exists.");
    add_topic(topic, partitions, configs);
    topics[topic].replication_factor = replication_factor;
    return std::nullopt;
  }

  std::optional<AdminError> create_partitions(const std::string& topic, int32_t new_total,
                                              std::chrono::milliseconds timeout) override {
    calls.push_back(Call{Op::create_partitions, topic, new_total, 0, {}, timeout});
    if (before_create_partitions) before_create_partitions(*this, topic);
    if (auto e = take(Op::create_partitions, topic)) return e;
    auto it = topics.find(topic);
    if (it == topics.end())
      return kafka_error(kafka_errc::unknown_topic_or_partition, "The topic '" + topic + "' does not exist.");
    // Kafka's messages (AdminManager / ReplicationControlManager).
    if (new_total == it->second.partitions)
      return kafka_error(kafka_errc::invalid_partitions,
                         "Topic already has " + std::to_string(new_total) + " partitions.");
    if (new_total < it->second.partitions)
      return kafka_error(kafka_errc::invalid_partitions,
                         "Topic currently has " + std::to_string(it->second.partitions) +
                             " partitions, which is higher than the requested " + std::to_string(new_total) + ".");
    it->second.partitions = new_total;
    return std::nullopt;
  }

 private:
  struct Injected {
    Op op;
    std::string topic;
    AdminError error;
  };

  std::optional<AdminError> take(Op op, const std::string& topic) {
    for (auto it = injected_.begin(); it != injected_.end(); ++it) {
      if (it->op == op && (it->topic.empty() || it->topic == topic)) {
        AdminError e = it->error;
        injected_.erase(it);
        return e;
      }
    }
    return std::nullopt;
  }

  std::string name_;
  std::deque<Injected> injected_;
};

}  // namespace tiermirror::control::test
