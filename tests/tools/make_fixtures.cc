// Records real librdkafka-produced record sets as test fixtures: for every codec and for
// plain, idempotent and transactional producers, it writes records into an in-process mock
// cluster, fetches the partition raw through tiermirror's wire client and stores the
// record-set bytes as tests/fixtures/record_batches/<codec>-<mode>.bin.
// Run by hand when fixtures need refreshing:
//   cmake --build build/debug --target tiermirror_make_fixtures && build/debug/tests/tiermirror_make_fixtures tests/fixtures/record_batches
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/net/io_thread.h"

using namespace tiermirror;

namespace {

void produce(const std::string& bootstrap, const std::string& topic, const std::string& codec, const std::string& mode) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
  };
  set("bootstrap.servers", bootstrap);
  set("compression.codec", codec);
  set("linger.ms", "50");
  set("batch.num.messages", "20");
  if (mode == "idempotent") set("enable.idempotence", "true");
  if (mode == "transactional") set("transactional.id", "fixture-" + codec);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  auto check = [&](rd_kafka_error_t* e) {
    if (e) {
      std::string m = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw std::runtime_error("transaction: " + m);
    }
  };
  if (mode == "transactional") {
    check(rd_kafka_init_transactions(rk, 10000));
    check(rd_kafka_begin_transaction(rk));
  }
  for (int i = 0; i < 60; ++i) {
    std::string key = "user-" + std::to_string(i % 7);
    std::string value = "{\"n\":" + std::to_string(i) + ",\"codec\":\"" + codec + "\",\"pad\":\"" +
                        std::string(static_cast<size_t>(40 + i % 13), 'x') + "\"}";
    const char* hv = "fixture";
    auto e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("origin", hv, 7),
                               RD_KAFKA_V_END);
    if (e) throw std::runtime_error(rd_kafka_err2str(e));
    if (i % 20 == 19) rd_kafka_flush(rk, 5000);  // several batches per file
  }
  if (mode == "transactional") check(rd_kafka_commit_transaction(rk, 10000));
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  std::string out_dir = argv[1];
  net::IoThread io;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      app::MockCluster mc("fixtures", 1);
      mc.create_topic("fixture", 1, 1);
      produce(mc.bootstrap(), "fixture", codec, mode);
      auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(mc.bootstrap()), net::ClusterOptions::named("fixtures"));
      auto dump = app::read_partition(cluster, {"fixture", 0}, pipeline::Isolation::read_uncommitted);
      cluster->close();
      if (dump.ec) throw std::runtime_error("read back: " + dump.ec.message());
      std::string path = out_dir + "/" + codec + "-" + mode + ".bin";
      std::ofstream f(path, std::ios::binary);
      for (const auto& b : dump.batches) {
        const auto& whole = b.bytes();
        f.write(reinterpret_cast<const char*>(whole.data()), static_cast<std::streamsize>(whole.size()));
      }
      std::printf("%s: %zu batches\n", path.c_str(), dump.batches.size());
    }
  }
  return 0;
}
