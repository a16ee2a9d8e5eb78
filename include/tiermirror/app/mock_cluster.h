#pragma once
// In-process Kafka clusters (librdkafka's mock cluster) for the demo and the mock tests,
// and a librdkafka producer that writes realistic keyed traffic into them.
// Startup-time code: failures throw std::runtime_error.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/strong_types.h"

namespace tiermirror::app {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

class MockCluster {
 public:
  MockCluster(std::string name, int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& name() const { return name_; }
  /// "127.0.0.1:port,127.0.0.1:port,..."
  std::string bootstrap() const;
  rd_kafka_mock_cluster_t* mock() { return mock_; }
  void create_topic(const std::string& topic, int partitions, int replication_factor = 1);

 private:
  std::string name_;
  RdKafkaPtr rk_;  // the mock cluster needs a handle for its own bookkeeping
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

struct TrafficOptions {
  std::string codec = "none";  // none, gzip, snappy, lz4, zstd
  int records = 1000;
  bool idempotent = false;
  int batch_records = 200;     // records per batch, roughly (librdkafka batches by linger)
  int value_bytes_min = 200, value_bytes_max = 500;
  uint64_t seed = 1;
  std::string key_prefix = "user-";
  /// CreateTime of record i: timestamp_ms + i * timestamp_step_ms; 0 = the producer's clock.
  int64_t timestamp_ms = 0;
  int64_t timestamp_step_ms = 0;
};

/// Produces `opts.records` keyed JSON-like events to `topic` (all partitions, by key
/// hash) through a librdkafka producer and waits until every one was acknowledged.
/// Returns the number acknowledged.
int produce_traffic(const std::string& bootstrap, const std::string& topic, const TrafficOptions& opts);

/// Appends raw batch bytes to one partition with a plain Produce (acks=all, no transactional
/// id), for what librdkafka's producer never writes: compacted batches, hand-made transactions,
/// legacy message sets. The mock keeps what it accepts byte for byte (it only renumbers the
/// base offset). Returns "" or why the broker refused (its error's name, or the transport error).
std::string append_raw_batch(const std::string& bootstrap, const TopicPartition& tp, const Bytes& batch);

}  // namespace tiermirror::app
