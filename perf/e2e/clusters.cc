// perf/e2e/clusters: the brokers of the end-to-end benchmark, in their own process so their CPU is
// not counted as mirror CPU. Starts a source mock cluster and one target mock cluster per contender
// (default a, b, c, mem), creates topic `bench` on all of them, preloads the source with keyed
// JSON-like events through librdkafka producers, measures what it holds (records, compressed bytes,
// decompressed bytes), prints one JSON line starting with "READY " and then serves commands on stdin:
//   down NAME | up NAME   target NAME's brokers down / up (rd_kafka_mock_broker_set_down/up)
//   rtt NAME MS           target NAME's brokers answer MS later
//   count NAME            prints "COUNT NAME <sum of high watermarks of bench on NAME>"
//   reset NAME            replaces target NAME by a new, empty cluster; prints "RESET NAME <bootstrap>"
//   quit                  (or EOF on stdin, SIGTERM, SIGINT) stop
#include <atomic>
#include <csignal>
#include <random>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/records.h"

using namespace tiermirror;

namespace {
const std::string kTopic = "bench";

struct Held {
  int64_t records = 0, batches = 0, compressed = 0, uncompressed = 0;
};

Held measure(net::IoThread& io, const std::string& bootstrap, int partitions, bool decompress) {
  auto reader = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), net::ClusterOptions::named("measure"));
  Held h;
  for (int p = 0; p < partitions; ++p) {
    auto dump = app::read_partition(reader, {kTopic, p}, pipeline::Isolation::read_committed, net::Millis(30000),
                                    decompress ? SIZE_MAX : 1);
    if (dump.ec) throw std::runtime_error("readback " + bootstrap + " partition " + std::to_string(p) + ": " + dump.ec.message());
    if (!decompress) {
      h.records += dump.high_watermark;
      continue;
    }
    for (auto& b : dump.batches) {
      h.batches++;
      h.records += b.records_count();
      h.compressed += static_cast<int64_t>(b.size());
      auto parsed = pipeline::parse_records(b);
      if (!parsed) throw std::runtime_error("cannot parse a source batch");
      h.uncompressed += static_cast<int64_t>(b.size() - b.records().size() + parsed.value().decompressed_bytes);
    }
  }
  reader->close();
  return h;
}
void set_conf(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[256];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("librdkafka config ") + key + ": " + err);
}

/// Producer `index` of `producers` writes its share of `total` keyed JSON-like events (values 200-500
/// bytes: a few fields and random letters, like app::produce_traffic) round-robin over the partitions
/// it owns, with large batches (batch.num.messages, batch.size 1 MB, linger 500 ms): every partition
/// gets the same volume, which keeps each under the mock's 5 MiB-per-partition retention.
void preload(const std::string& bootstrap, const std::string& codec, int batch_records, int partitions, int index,
             int producers, int64_t total) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_conf(conf, "bootstrap.servers", bootstrap);
  set_conf(conf, "compression.codec", codec);
  set_conf(conf, "linger.ms", "500");
  set_conf(conf, "batch.num.messages", std::to_string(batch_records));
  set_conf(conf, "batch.size", "1000000");
  set_conf(conf, "queue.buffering.max.kbytes", "1048576");
  set_conf(conf, "queue.buffering.max.messages", "2000000");
  set_conf(conf, "acks", "all");
  static std::atomic<int64_t> failed{0};
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    if (m->err) failed++;
  });
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  std::mt19937_64 rng(1000 + static_cast<uint64_t>(index));
  std::string pool(1 << 20, 'a');
  for (auto& c : pool) c = static_cast<char>('a' + rng() % 26);
  static const char* kPages[] = {"/home", "/search", "/cart", "/checkout", "/item", "/account"};
  std::vector<int> mine;
  for (int p = index; p < partitions; p += producers) mine.push_back(p);
  if (mine.empty()) mine.push_back(index % partitions);
  const int64_t n = total / producers + (index < total % producers ? 1 : 0);
  const char* hname = "source";
  std::string key, value;
  for (int64_t i = 0; i < n; ++i) {
    key = "user-" + std::to_string(rng() % 100000);
    value = "{\"seq\":" + std::to_string(i) + ",\"user\":\"" + key + "\",\"page\":\"";
    value += kPages[rng() % 6];
    value += "\",\"ms\":" + std::to_string(rng() % 5000) + ",\"ua\":\"";
    size_t target = 200 + rng() % 301;
    size_t fill = target > value.size() + 2 ? target - value.size() - 2 : 0;
    value.append(pool, rng() % (pool.size() - 512), fill);
    value += "\"}";
    int32_t partition = mine[static_cast<size_t>(i) % mine.size()];
    rd_kafka_resp_err_t e;
    for (;;) {
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(kTopic.c_str()), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_HEADER(hname, codec.data(), static_cast<ssize_t>(codec.size())), RD_KAFKA_V_END);
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 20);
    }
    if (e) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(e));
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 300000) != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("preload flush timed out");
  rd_kafka_destroy(rk);
  if (failed) throw std::runtime_error("preload: " + std::to_string(failed.load()) + " records failed");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tiermirror e2e benchmark clusters"};
  double bytes = 1e9;
  int partitions = 0, brokers = 1, batch_records = 5000, producers = 2;
  std::string codec = "zstd";
  std::vector<std::string> targets{"a", "b", "c", "mem"};
  app.add_option("--bytes", bytes, "Uncompressed volume to preload (approximate, default 1e9)");
  app.add_option("--partitions", partitions, "Partitions of topic bench (default: 1 per 4.5 MB uncompressed, at least 8)");
  app.add_option("--brokers", brokers, "Brokers per cluster (default 1)");
  app.add_option("--codec", codec, "Producer codec: none, gzip, snappy, lz4, zstd (default zstd)");
  app.add_option("--batch-records", batch_records, "Producer batch.num.messages (default 5000)");
  app.add_option("--producers", producers, "Parallel producer threads for the preload (default 2)");
  app.add_option("--targets", targets, "Names of the target clusters (default a b c mem)");
  CLI11_PARSE(app, argc, argv);
  // librdkafka's mock cluster keeps at most 5 MiB (and 100000 batches) per partition and drops the
  // oldest beyond that, so the volume is spread over enough partitions.
  if (partitions <= 0) partitions = std::max(8, static_cast<int>(bytes / 4.5e6) + 1);

  // Signals are taken by a sigwait thread; librdkafka's threads inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fflush(stdout);
    std::_Exit(0);  // the mock clusters hold only memory
  }).detach();

  try {
    app::MockCluster source("source", brokers);
    source.create_topic(kTopic, partitions, 1);
    std::map<std::string, std::unique_ptr<app::MockCluster>> tgt;
    for (auto& n : targets) {
      tgt[n] = std::make_unique<app::MockCluster>("target-" + n, brokers);
      tgt[n]->create_topic(kTopic, partitions, 1);
    }

    // ~380 bytes per record uncompressed (value 200-500, key, header, record framing).
    const int64_t total_records = std::max<int64_t>(1, static_cast<int64_t>(bytes / 380.0));
    std::vector<std::thread> threads;
    std::vector<std::string> errors(static_cast<size_t>(producers));
    for (int i = 0; i < producers; ++i) {
      threads.emplace_back([&, i] {
        try {
          preload(source.bootstrap(), codec, batch_records, partitions, i, producers, total_records);
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i)] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (!e.empty()) throw std::runtime_error(e);

    net::IoThread io;
    Held held = measure(io, source.bootstrap(), partitions, true);
    if (held.records != total_records)
      throw std::runtime_error("the source holds " + std::to_string(held.records) + " of " +
                               std::to_string(total_records) +
                               " records: librdkafka's mock keeps at most 5 MiB per partition; use more --partitions");
    nlohmann::json ready = {{"source", source.bootstrap()},
                            {"topic", kTopic},
                            {"partitions", partitions},
                            {"brokers", brokers},
                            {"codec", codec},
                            {"records", held.records},
                            {"batches", held.batches},
                            {"compressed_bytes", held.compressed},
                            {"uncompressed_bytes", held.uncompressed},
                            {"pid", ::getpid()}};
    for (auto& [n, c] : tgt) ready["targets"][n] = c->bootstrap();
    std::cout << "READY " << ready.dump() << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string cmd, name;
      in >> cmd >> name;
      if (cmd == "quit") break;
      auto it = tgt.find(name);
      if (it == tgt.end()) {
        std::cout << "ERROR unknown target '" << name << "'" << std::endl;
        continue;
      }
      auto* mock = it->second->mock();
      if (cmd == "down" || cmd == "up") {
        for (int b = 1; b <= brokers; ++b)
          cmd == "down" ? rd_kafka_mock_broker_set_down(mock, b) : rd_kafka_mock_broker_set_up(mock, b);
        std::cout << "OK " << cmd << " " << name << std::endl;
      } else if (cmd == "rtt") {
        int ms = 0;
        in >> ms;
        for (int b = 1; b <= brokers; ++b) rd_kafka_mock_broker_set_rtt(mock, b, ms);
        std::cout << "OK rtt " << name << " " << ms << std::endl;
      } else if (cmd == "reset") {
        // A fresh, empty target for another round of the same contender (the old one's data freed).
        it->second.reset();
        it->second = std::make_unique<app::MockCluster>("target-" + name, brokers);
        it->second->create_topic(kTopic, partitions, 1);
        std::cout << "RESET " << name << " " << it->second->bootstrap() << std::endl;
      } else if (cmd == "count") {
        Held h = measure(io, it->second->bootstrap(), partitions, false);
        std::cout << "COUNT " << name << " " << h.records << std::endl;
      } else {
        std::cout << "ERROR unknown command '" << cmd << "'" << std::endl;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "clusters: " << e.what() << std::endl;
    std::cout << "FAILED " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
