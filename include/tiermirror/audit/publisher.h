#pragma once
// Publishes a route's audit counts to the audit topic before each offset commit (the route's
// commit gate): the counts of every partition's open segment (counters.h), one counts record
// per (tier, topic, bucket) and group of partitions, and, every interval and at stop, one
// progress record per topic after them. The route commits only once the audit cluster
// acknowledged the records, so a crash never leaves committed offsets whose counts are not
// in the audit topic; a failed publish is redone from the counters at the next commit.
//
/// runs on: its own strand of the io_context it is given; before_commit on the route strand.
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
  net::Millis interval{60000};  // progress records; counts go with every commit
  net::Millis timeout{30000};
  size_t max_batch_bytes = 512u << 10;  // well under Kafka's default max.message.bytes
  size_t partitions_per_record = 1000;  // keeps one record well under max_batch_bytes
};

/// Each topic's progress from the route's partitions: the watermark is the earliest, over
/// the topic's partitions, of "now" for a caught-up partition and the latest acknowledged
/// record time otherwise (-1 when a lagging partition has acknowledged nothing yet).
std::vector<AuditRecord> progress_records(const std::vector<pipeline::PartitionStatus>& parts, int64_t now_ms);

/// The counts records of a seal (without id, route or time): one per (tier, topic, bucket)
/// and at most `per_record` partitions; `latency` (target tier, per topic and bucket) rides on
/// the first target record of its bucket, or on one of its own.
std::vector<AuditRecord> counts_records(std::vector<Sealed::Entry> entries,
                                        const std::map<std::pair<std::string, int64_t>, LatencyHistogram>& latency,
                                        int64_t bucket_ms, size_t per_record);

class Publisher : public std::enable_shared_from_this<Publisher> {
 public:
  static std::shared_ptr<Publisher> create(boost::asio::io_context& io, std::shared_ptr<net::Cluster> cluster,
                                           std::shared_ptr<Counters> counters, PublisherOptions opts);
  ~Publisher();

  /// The route's commit gate (RouteOptions::before_commit): seals the counters at `ends`
  /// (synchronously: it runs on the route strand, between two batches), publishes the open
  /// segments' counts (and progress records when due, or when `stopping`), and calls
  /// done(true) once the audit cluster acknowledged them, done(false) on failure or timeout.
  void before_commit(const std::map<TopicPartition, SourceOffset>& ends,
                     std::vector<pipeline::PartitionStatus> status, net::Millis timeout, bool stopping,
                     std::function<void(bool)> done);
  /// The gate for RouteOptions, holding this publisher weakly.
  pipeline::CommitGate commit_gate();
  /// After the route stopped: one more attempt at whatever the last publish could not carry,
  /// within `timeout`; ec when something stays unpublished.
  void flush_and_stop(net::Millis timeout, std::function<void(std::error_code)> done);

  struct Stats {
    uint64_t published = 0;  // records acknowledged by the audit cluster
    uint64_t failures = 0;   // failed publish attempts
    size_t pending = 0;      // records of the last failed attempt, waiting for the next commit
    size_t pending_counts = 0;  // of them, counts records (the rest: progress records)
  };
  Stats stats() const;

 private:
  Publisher(boost::asio::io_context& io, std::shared_ptr<net::Cluster> cluster, std::shared_ptr<Counters> counters,
            PublisherOptions opts);
  void collect(Sealed sealed, std::vector<pipeline::PartitionStatus> status, bool with_progress);
  void send_pending(net::Millis timeout, std::function<void(std::error_code)> done);
  void send_with_metadata(net::Millis timeout, std::function<void(std::error_code)> done);
  void on_published();
  void failed(const std::string& why);
  std::string next_id();
  void update_stats();

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::shared_ptr<net::Cluster> cluster_;
  std::shared_ptr<Counters> counters_;
  PublisherOptions opts_;
  std::deque<AuditRecord> pending_;
  // Latency samples of publishes not yet acknowledged: they go with the next attempt.
  std::map<std::pair<std::string, int64_t>, LatencyHistogram> latency_;
  bool sending_ = false;
  struct Waiter {
    net::Millis timeout;
    std::function<void(std::error_code)> done;
  };
  std::vector<Waiter> waiters_;
  int64_t last_progress_ms_ = 0;
  uint64_t collected_seal_ = 0;  // the newest seal whose records are in pending_ (or were published)
  std::string instance_;  // random per process: ids stay unique across restarts
  uint64_t sequence_ = 0;
  std::string last_error_;

  mutable std::mutex stats_mu_;
  Stats stats_;
};

}  // namespace tiermirror::audit
