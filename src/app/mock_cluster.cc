#include "tiermirror/app/mock_cluster.h"

#include <atomic>
#include <random>
#include <stdexcept>

#include "tiermirror/common/errors.h"
#include "tiermirror/net/call.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/protocol/messages/produce.h"

namespace tiermirror::app {
namespace {

void set_conf(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[256];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("librdkafka config ") + key + ": " + err);
}

void quiet_logger(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // librdkafka's own logs stay out of demo and test output unless they are errors.
  if (level <= 3) fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
}

RdKafkaPtr make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_conf_set_log_cb(conf, quiet_logger);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  }
  return RdKafkaPtr(rk);
}

}  // namespace

MockCluster::MockCluster(std::string name, int brokers) : name_(std::move(name)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_conf(conf, "client.id", "tiermirror-mock-" + name_);
  rk_ = make_handle(RD_KAFKA_PRODUCER, conf);
  mock_ = rd_kafka_mock_cluster_new(rk_.get(), brokers);
  if (!mock_) throw std::runtime_error("cannot start mock cluster " + name_);
  // librdkafka's mock (up to 2.0.x at least) writes ListOffsets v4+'s LeaderEpoch as 8 bytes
  // instead of 4, so every partition after the first in a response is misread. Real brokers
  // are right; the route's batched ListOffsets needs nothing of v4+ (leader epochs), so the
  // mock offers up to v3.
  rd_kafka_mock_set_apiversion(mock_, 2 /* ListOffsets */, 1, 3);
}

MockCluster::~MockCluster() {
  if (mock_) rd_kafka_mock_cluster_destroy(mock_);
}

std::string MockCluster::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mock_); }

void MockCluster::create_topic(const std::string& topic, int partitions, int replication_factor) {
  auto err = rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, replication_factor);
  if (err) throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(err));
}

int produce_traffic(const std::string& bootstrap, const std::string& topic, const TrafficOptions& opts) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_conf(conf, "bootstrap.servers", bootstrap);
  set_conf(conf, "compression.codec", opts.codec);
  set_conf(conf, "linger.ms", "20");
  set_conf(conf, "batch.num.messages", std::to_string(opts.batch_records));
  set_conf(conf, "enable.idempotence", opts.idempotent ? "true" : "false");
  set_conf(conf, "acks", "all");
  struct Counter {
    std::atomic<int> ok{0}, failed{0};
  } counter;
  rd_kafka_conf_set_opaque(conf, &counter);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* c = static_cast<Counter*>(opaque);
    if (m->err)
      c->failed++;
    else
      c->ok++;
  });
  auto rk = make_handle(RD_KAFKA_PRODUCER, conf);

  std::mt19937_64 rng(opts.seed);
  std::uniform_int_distribution<int> len(opts.value_bytes_min, opts.value_bytes_max);
  static const char* kPages[] = {"/home", "/search", "/cart", "/checkout", "/item", "/account"};
  for (int i = 0; i < opts.records; ++i) {
    std::string key = opts.key_prefix + std::to_string(rng() % 1000);
    std::string value = "{\"seq\":" + std::to_string(i) + ",\"user\":\"" + key + "\",\"page\":\"" +
                        kPages[rng() % 6] + "\",\"ms\":" + std::to_string(rng() % 5000) + ",\"ua\":\"";
    int target = len(rng);
    while (static_cast<int>(value.size()) < target - 2) value += static_cast<char>('a' + rng() % 26);
    value += "\"}";
    const char* hname = "source";
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER(hname, opts.codec.data(), static_cast<ssize_t>(opts.codec.size())),
                              RD_KAFKA_V_TIMESTAMP(opts.timestamp_ms ? opts.timestamp_ms + i * opts.timestamp_step_ms : 0),
                              RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk.get(), 50);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (err) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
    rd_kafka_poll(rk.get(), 0);
  }
  if (rd_kafka_flush(rk.get(), 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("produce: flush timed out");
  rd_kafka_poll(rk.get(), 0);
  if (counter.failed) throw std::runtime_error("produce: " + std::to_string(counter.failed.load()) + " records failed");
  return counter.ok.load();
}

std::string append_raw_batch(const std::string& bootstrap, const TopicPartition& tp, const Bytes& batch) {
  net::IoThread io;
  auto o = net::ClusterOptions::named("demo-setup");
  o.connection.client_id = "tiermirror-demo-setup";
  auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), o);
  using MetaResult = std::pair<std::error_code, net::MetadataPtr>;
  auto [mec, md] = net::await<MetaResult>(
      [&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
  if (mec) {
    cluster->close();
    return "metadata: " + mec.message();
  }
  protocol::ProduceRequest req;
  req.topics.push_back({tp.topic, {{tp.partition, {BufferSlice(SharedBuffer(Bytes(batch)))}}}});
  using Produced = std::pair<std::error_code, protocol::ProduceResponse>;
  auto [ec, resp] = net::await<Produced>([&](auto done) {
    net::call<protocol::ProduceResponse>(cluster->leader_connection(tp.topic, tp.partition), req, net::Millis(5000),
                                         [done](auto e, auto r, int16_t) { done({e, r}); });
  });
  cluster->close();
  if (ec) return ec.message();
  if (resp.topics.empty() || resp.topics[0].partitions.empty()) return "an empty Produce response";
  int16_t code = resp.topics[0].partitions[0].error_code;
  return code ? std::string(kafka_error_name(code)) + " (error " + std::to_string(code) + ")" : std::string();
}

}  // namespace tiermirror::app
