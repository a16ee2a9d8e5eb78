#pragma once
// Publishes a route's audit counters to the audit topic every interval: one counts record
// per (tier, topic, bucket) touched since the previous publish and one progress record per
// topic. Records get their ids when first taken, and a failed publish resends the same
// records, so a reader that drops repeated ids counts each exactly once.
//
/// runs on: its own strand of the io_context it is given.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tiermirror/audit/counters.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::audit {

struct PublisherOptions {
  std::string route, source_cluster, target_cluster;
  std::string topic = "__tiermirror_audit";
  net::Millis interval{60000};
  net::Millis timeout{30000};
  /// Records waiting while the audit cluster is unreachable; beyond it the oldest are
  /// dropped (and counted, and logged): the route never stalls for its audit.
  size_t max_pending = 100000;
  size_t max_batch_bytes = 512u << 10;  // well under Kafka's default max.message.bytes
};

/// Asks the route for its partitions' state (Route::status); the publisher derives each
/// topic's watermark from it.
using StatusSource = std::function<void(std::function<void(std::vector<pipeline::PartitionStatus>)>)>;

/// Each topic's progress from the route's partitions: the watermark is the earliest, over
/// the topic's partitions, of "now" for a caught-up partition and the latest acknowledged
/// record time otherwise (-1 when a lagging partition has acknowledged nothing yet).
std::vector<AuditRecord> progress_records(const std::vector<pipeline::PartitionStatus>& parts, int64_t now_ms);

class Publisher : public std::enable_shared_from_this<Publisher> {
 public:
  static std::shared_ptr<Publisher> create(boost::asio::io_context& io, std::shared_ptr<net::Cluster> cluster,
                                           std::shared_ptr<Counters> counters, StatusSource status,
                                           PublisherOptions opts);
  ~Publisher();

  /// Publishes every interval from now on.
  void start();
  /// Takes what is counted now, publishes it with anything pending, and calls `done` when
  /// everything was acknowledged or the timeout passed (ec says which). Stops the timer:
  /// for shutdown, after the route stopped.
  void flush_and_stop(net::Millis timeout, std::function<void(std::error_code)> done);

  struct Stats {
    uint64_t published = 0;  // records acknowledged by the audit cluster
    uint64_t dropped = 0;    // records dropped because max_pending was exceeded
    uint64_t failures = 0;   // failed publish attempts
    size_t pending = 0;
    size_t pending_counts = 0;  // of them, counts records (the rest: progress records)
  };
  Stats stats() const;

 private:
  Publisher(boost::asio::io_context& io, std::shared_ptr<net::Cluster> cluster, std::shared_ptr<Counters> counters,
            StatusSource status, PublisherOptions opts);
  void arm();
  void tick(std::function<void(std::error_code)> done);
  void collect(std::vector<pipeline::PartitionStatus> parts);
  void send_pending(std::function<void(std::error_code)> done);
  void send_with_metadata(std::function<void(std::error_code)> done);
  std::string next_id();
  size_t pending_counts() const;  // on the strand

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::shared_ptr<net::Cluster> cluster_;
  std::shared_ptr<Counters> counters_;
  StatusSource status_;
  PublisherOptions opts_;
  boost::asio::steady_timer timer_;
  std::deque<AuditRecord> pending_;
  bool sending_ = false;
  bool stopped_ = false;
  std::string instance_;  // random per process: ids stay unique across restarts
  uint64_t sequence_ = 0;
  std::string last_error_;

  mutable std::mutex stats_mu_;
  Stats stats_;
};

}  // namespace tiermirror::audit
