#pragma once
// A Kafka cluster as the data path sees it: bootstrap servers, a metadata snapshot
// (brokers, topics, partition leaders), and one Connection per broker. Metadata is
// refreshed on demand; concurrent refresh requests share one Metadata round trip.
// Callers report errors that mean the snapshot is stale (NOT_LEADER_OR_FOLLOWER,
// UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, disconnects) with report_error().
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/net/connection.h"

namespace tiermirror::net {

struct BrokerInfo {
  int32_t id = -1;
  Endpoint endpoint;
  std::optional<std::string> rack;
};
struct PartitionInfo {
  int32_t partition = 0;
  int32_t leader = -1;
  int16_t error_code = 0;
  std::vector<int32_t> replicas, isr;
};
struct TopicInfo {
  std::string name;
  int16_t error_code = 0;
  bool internal = false;
  std::vector<PartitionInfo> partitions;  // sorted by partition
};
struct MetadataSnapshot {
  std::map<int32_t, BrokerInfo> brokers;
  std::map<std::string, TopicInfo> topics;
  int32_t controller_id = -1;
  std::optional<std::string> cluster_id;
  Clock::time_point fetched_at{};

  const PartitionInfo* partition(const std::string& topic, int32_t p) const;
};
using MetadataPtr = std::shared_ptr<const MetadataSnapshot>;

struct ClusterOptions {
  std::string name = "cluster";   // for logs: "source", "target", a cluster's config name
  ConnectionOptions connection;
  Millis metadata_timeout{10000};
  Millis refresh_backoff{100};    // at most one error-triggered refresh per this interval

  static ClusterOptions named(std::string n) {
    ClusterOptions o;
    o.name = std::move(n);
    return o;
  }
};

class Cluster : public std::enable_shared_from_this<Cluster> {
 public:
  using MetadataHandler = std::function<void(std::error_code, MetadataPtr)>;

  static std::shared_ptr<Cluster> create(asio::io_context& io, std::vector<Endpoint> bootstrap,
                                         ClusterOptions opts = {});
  ~Cluster();

  /// Fetches metadata for all topics (nullopt) or the named ones and replaces the
  /// snapshot. Tries known brokers, then the bootstrap servers, until one answers.
  void refresh(std::optional<std::vector<std::string>> topics, MetadataHandler handler);
  /// Asks for a refresh of everything soon (rate-limited); no handler.
  void request_refresh();
  /// Report an error seen for a request or partition; refreshes metadata when it means
  /// leadership moved.
  void report_error(std::error_code ec);

  MetadataPtr metadata() const;
  std::optional<int32_t> leader(const std::string& topic, int32_t partition) const;
  /// The connection to a broker known from metadata (created on first use), or null.
  std::shared_ptr<Connection> broker(int32_t id);
  std::shared_ptr<Connection> leader_connection(const std::string& topic, int32_t partition);
  /// Connections that exist now (for status and for closing).
  std::vector<std::shared_ptr<Connection>> connections() const;
  const ClusterOptions& options() const { return opts_; }
  void close();

  /// The latest failed login to one of this cluster's brokers (TLS or SASL), one line naming
  /// the broker and the reason; cleared by a successful metadata refresh. A refresh that
  /// failed only because logins failed reports the login error instead of errc::no_leader.
  std::optional<std::string> login_failure() const;
  /// The latest failure of any of this cluster's connections, one line with the broker, the
  /// step, the error and the likely misconfiguration where the bytes tell (Connection).
  std::optional<std::string> last_connection_failure() const;
  /// Re-read the TLS certificate files for the next connections (SIGHUP); connections that
  /// are up stay up.
  void reload_tls();

 private:
  Cluster(asio::io_context& io, std::vector<Endpoint> bootstrap, ClusterOptions opts);
  void try_refresh(size_t attempt, std::shared_ptr<std::vector<std::shared_ptr<Connection>>> candidates,
                   std::optional<std::vector<std::string>> topics);
  void finish_refresh(std::error_code ec, MetadataPtr snap);
  std::vector<std::shared_ptr<Connection>> refresh_candidates();

  asio::io_context& io_;
  std::vector<Endpoint> bootstrap_;
  ClusterOptions opts_;
  mutable std::mutex mu_;
  MetadataPtr snapshot_;
  std::map<int32_t, std::shared_ptr<Connection>> brokers_;
  std::vector<std::shared_ptr<Connection>> bootstrap_conns_;
  bool refreshing_ = false;
  std::vector<MetadataHandler> waiters_;
  Clock::time_point last_error_refresh_{};
  bool closed_ = false;
  struct LoginState {
    std::mutex mu;
    std::optional<std::string> failure;
    std::optional<std::string> last_connection_failure;
  };
  std::shared_ptr<LoginState> login_ = std::make_shared<LoginState>();  // shared with the connections' hook
  std::error_code refresh_login_error_;  // guarded by mu_
};

}  // namespace tiermirror::net
