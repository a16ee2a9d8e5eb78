// perf/e2e/classic_mirror: what a classic mirror maker with an identity handler does (MirrorMaker 1 with
// a partition-keeping handler), on librdkafka: consume every record, produce it to the same partition
// number on the target with its key, value, headers and timestamp, recompressed with the same codec.
// Reads every partition of the topic until the high watermark seen at start, then flushes and exits.
// Prints one JSON line with records and key+value bytes moved.
//
//   classic_mirror --source HOST:PORT,... --target HOST:PORT,... --topic T --group G --codec zstd
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "classic_mirror: %s\n", what.c_str());
  std::exit(1);
}

void set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) die(std::string(k) + ": " + err);
}

rd_kafka_t* make(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

int failed_deliveries = 0;

}  // namespace

int main(int argc, char** argv) {
  std::string source, target, topic = "bench", group = "classic-mirror", codec = "zstd";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--source") source = v;
    else if (k == "--target") target = v;
    else if (k == "--topic") topic = v;
    else if (k == "--group") group = v;
    else if (k == "--codec") codec = v;
    else die("unknown option " + k);
  }
  if (source.empty() || target.empty()) die("usage: --source BOOTSTRAP --target BOOTSTRAP [--topic T --group G --codec C]");

  // Producer: same codec, MirrorMaker-like batching (large batches, short linger), acks=all.
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  set(pconf, "bootstrap.servers", target);
  set(pconf, "compression.codec", codec);
  set(pconf, "linger.ms", "20");
  set(pconf, "batch.num.messages", "10000");
  set(pconf, "batch.size", "1000000");
  set(pconf, "queue.buffering.max.kbytes", "262144");
  set(pconf, "acks", "all");
  rd_kafka_conf_set_dr_msg_cb(pconf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    if (m->err) failed_deliveries++;
  });
  rd_kafka_t* producer = make(RD_KAFKA_PRODUCER, pconf);

  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  set(cconf, "bootstrap.servers", source);
  set(cconf, "group.id", group);
  set(cconf, "auto.offset.reset", "earliest");
  set(cconf, "enable.auto.commit", "true");
  set(cconf, "enable.partition.eof", "true");
  set(cconf, "isolation.level", "read_committed");
  rd_kafka_t* consumer = make(RD_KAFKA_CONSUMER, cconf);
  rd_kafka_poll_set_consumer(consumer);

  // Partitions and the high watermarks seen at start.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(consumer, topic.c_str(), nullptr);
  if (rd_kafka_metadata(consumer, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
      md->topics[0].err)
    die("metadata for " + topic);
  int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);

  std::vector<int64_t> hwm(static_cast<size_t>(partitions), 0);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  int remaining = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(consumer, topic.c_str(), p, &lo, &hi, 10000)) die("watermarks");
    hwm[static_cast<size_t>(p)] = hi;
    if (hi > lo) remaining++;
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_STORED;
  }
  if (rd_kafka_assign(consumer, assignment)) die("assign");
  rd_kafka_topic_partition_list_destroy(assignment);

  std::vector<bool> done(static_cast<size_t>(partitions), false);
  rd_kafka_topic_t* out = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
  long long records = 0, payload_bytes = 0;
  while (remaining > 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    rd_kafka_poll(producer, 0);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      size_t p = static_cast<size_t>(m->partition);
      if (!done[p] && m->offset >= hwm[p]) done[p] = true, remaining--;
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) die(std::string("consume: ") + rd_kafka_message_errstr(m));
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    rd_kafka_headers_t* hdrs = nullptr;
    rd_kafka_headers_t* copy = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) copy = rd_kafka_headers_copy(hdrs);
    if (!copy) copy = rd_kafka_headers_new(0);
    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(producer, RD_KAFKA_V_RKT(out), RD_KAFKA_V_PARTITION(m->partition),
                              RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                              RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(producer, 50);
    }
    if (err) die(std::string("produce: ") + rd_kafka_err2str(err));
    records++;
    payload_bytes += static_cast<long long>(m->key_len + m->len);
    size_t p = static_cast<size_t>(m->partition);
    if (!done[p] && m->offset + 1 >= hwm[p]) done[p] = true, remaining--;
    rd_kafka_message_destroy(m);
  }
  if (rd_kafka_flush(producer, 120000)) die("flush timed out");
  rd_kafka_commit(consumer, nullptr, 0);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_topic_destroy(out);
  rd_kafka_destroy(producer);
  if (failed_deliveries) die(std::to_string(failed_deliveries) + " deliveries failed");
  std::printf("{\"records\": %lld, \"payload_bytes\": %lld}\n", records, payload_bytes);
  return 0;
}
