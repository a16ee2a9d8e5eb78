#pragma once
// Admin: the only door to a cluster's admin plane (topic listing, topic configs, CreateTopics,
// CreatePartitions). RdKafkaAdmin implements it with librdkafka's Admin API; the syncer and its
// tests only ever see this interface (Envoy's LibRdKafkaUtils idea: logic testable with a fake).
//
// Errors are values, never exceptions. Result<T> (common/result.h) carries only an error_code;
// the admin plane also keeps the broker's own message ("Replication factor: 3 larger than
// available brokers: 1."), so calls return AdminResult<T> / std::optional<AdminError>.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "tiermirror/common/errors.h"

namespace tiermirror::control {

struct AdminError {
  std::error_code ec;   // kafka_errc for broker errors, errc (timed_out, disconnected, ...) for local ones
  std::string message;  // the broker's message (or librdkafka's), may be empty

  /// "TOPIC_AUTHORIZATION_FAILED: <message>" (the error's name alone when there is no message).
  std::string str() const {
    std::string name = ec.category() == kafka_category() ? std::string(kafka_error_name(static_cast<int16_t>(ec.value())))
                                                         : ec.message();
    return message.empty() ? name : name + ": " + message;
  }
  /// Worth another attempt: timeouts, disconnects, and Kafka's retriable errors (NOT_CONTROLLER too).
  bool retriable() const {
    if (ec == errc::timed_out || ec == errc::disconnected) return true;
    if (ec.category() != kafka_category()) return false;
    auto k = static_cast<kafka_errc>(ec.value());
    return k == kafka_errc::not_controller || k == kafka_errc::request_timed_out || is_retriable(k);
  }
};

/// A value or an AdminError (the broker's message kept).
template <typename T>
class [[nodiscard]] AdminResult {
 public:
  AdminResult(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  AdminResult(AdminError error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const AdminError& error() const { return std::get<AdminError>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, AdminError> v_;
};

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
  bool internal = false;  // __consumer_offsets, __transaction_state
};

/// One entry of a topic's DescribeConfigs answer.
struct ConfigEntry {
  std::string value;
  /// true when the topic does not set it itself (a broker setting or the built-in default);
  /// false for a topic override (source DYNAMIC_TOPIC_CONFIG).
  bool is_default = false;

  ConfigEntry() = default;
  ConfigEntry(std::string v, bool dflt = false) : value(std::move(v)), is_default(dflt) {}  // NOLINT
  ConfigEntry(const char* v, bool dflt = false) : value(v), is_default(dflt) {}             // NOLINT
  bool operator==(const ConfigEntry&) const = default;
};
/// Every entry DescribeConfigs returns for a topic, defaults included (sensitive entries without
/// a value are left out).
using TopicConfigs = std::map<std::string, ConfigEntry>;

class Admin {
 public:
  virtual ~Admin() = default;

  /// The cluster's name in tiermirror's config (for logs and reports).
  virtual std::string cluster_name() const = 0;
  /// All topics, via Metadata.
  virtual AdminResult<std::vector<TopicInfo>> list_topics(std::chrono::milliseconds timeout) = 0;
  /// DescribeConfigs for one topic: all entries, defaults included.
  virtual AdminResult<TopicConfigs> topic_configs(const std::string& topic, std::chrono::milliseconds timeout) = 0;
  /// CreateTopics. replication_factor -1 = the broker's default (Kafka 2.4+).
  virtual std::optional<AdminError> create_topic(const std::string& topic, int32_t partitions,
                                                 int32_t replication_factor,
                                                 const std::map<std::string, std::string>& configs,
                                                 std::chrono::milliseconds timeout) = 0;
  /// CreatePartitions: grow `topic` to `new_total` partitions.
  virtual std::optional<AdminError> create_partitions(const std::string& topic, int32_t new_total,
                                                      std::chrono::milliseconds timeout) = 0;
};

}  // namespace tiermirror::control
