#pragma once
// RdKafkaAdmin: Admin over librdkafka's Admin API. librdkafka stays behind this header (pimpl):
// callers do not include <librdkafka/rdkafka.h>.
//
// Each call runs on a temporary result queue of its own and waits on it for at most the given
// timeout (plus a short grace for librdkafka's own timer to fire); librdkafka does the work on
// its background threads. Calls may come from any thread, one handle serves them all.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "tiermirror/common/strong_types.h"

#include "tiermirror/common/result.h"

#include "tiermirror/control/admin.h"

namespace tiermirror::control {

struct AdminConnection {
  std::string name;       // the cluster's name in tiermirror's config
  std::string bootstrap;  // "host:port,host:port"
  std::string client_id = "tiermirror-admin";
  std::map<std::string, std::string> extra;  // further librdkafka settings (security, ...), applied last
  /// With SASL: returns the password when the handle is created (librdkafka's sasl.password);
  /// the value goes to librdkafka only, never into a message or a log line.
  std::function<Result<std::string>()> sasl_password;
};

/// librdkafka's rd_kafka_resp_err_t (given as int) as a std::error_code: positive codes are Kafka's
/// (kafka_errc); local ones map to errc (__TIMED_OUT → timed_out, __TRANSPORT → disconnected,
/// __UNSUPPORTED_FEATURE → unsupported_version, ...) or kafka_errc::unknown_server_error.
std::error_code map_rdkafka_error(int rd_kafka_resp_err);

/// A consumer group's members and who owns which partition (DescribeConsumerGroups), for
/// `tiermirror members`.
struct GroupMemberDescription {
  std::string member_id, client_id, host;
  std::vector<TopicPartition> assigned;
};
struct GroupDescription {
  std::string state;  // Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
  std::string partition_assignor;
  std::vector<GroupMemberDescription> members;
};

class RdKafkaAdmin final : public Admin {
 public:
  /// Throws std::runtime_error (a startup error) when the settings are invalid or librdkafka
  /// cannot create the handle. Does not connect: an unreachable cluster shows in the first call.
  explicit RdKafkaAdmin(AdminConnection conn);
  ~RdKafkaAdmin() override;
  RdKafkaAdmin(const RdKafkaAdmin&) = delete;
  RdKafkaAdmin& operator=(const RdKafkaAdmin&) = delete;

  /// Makes the call under way and every later one return at once with errc::shutting_down
  /// (thread-safe; shutdown must not wait for a broker that does not answer).
  void cancel();
  /// The latest failed login (TLS handshake or SASL) librdkafka reported, one line without
  /// secrets; nullopt when none. Calls fail fast while a login keeps failing.
  std::optional<std::string> login_failure() const;

  std::string cluster_name() const override;
  AdminResult<std::vector<TopicInfo>> list_topics(std::chrono::milliseconds timeout) override;
  AdminResult<TopicConfigs> topic_configs(const std::string& topic, std::chrono::milliseconds timeout) override;
  std::optional<AdminError> create_topic(const std::string& topic, int32_t partitions, int32_t replication_factor,
                                         const std::map<std::string, std::string>& configs,
                                         std::chrono::milliseconds timeout) override;
  std::optional<AdminError> create_partitions(const std::string& topic, int32_t new_total,
                                              std::chrono::milliseconds timeout) override;
  /// DescribeConsumerGroups for one group (not part of Admin: only `tiermirror members` asks).
  AdminResult<GroupDescription> describe_group(const std::string& group, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The librdkafka this process runs with ("2.0.2").
std::string librdkafka_version();
/// librdkafka before 2.6.1 repeats the client nonce in its SCRAM client-final-message; Kafka 4.x
/// brokers compare the nonce strictly (RFC 5802) and refuse the login (librdkafka #4895).
bool librdkafka_scram_works_with_kafka4();

}  // namespace tiermirror::control
