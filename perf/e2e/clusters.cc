// perf/e2e/clusters: the brokers of the end-to-end benchmark, in their own process so their CPU is
// not counted as mirror CPU. Starts a source mock cluster and one target mock cluster per contender
// (default a, b, c, mem), creates topic `bench` on all of them, preloads the source with keyed
// JSON-like events through librdkafka producers, measures what it holds (records, compressed bytes,
// decompressed bytes), prints one JSON line starting with "READY " and then serves commands on stdin:
//   down NAME | up NAME   target NAME's brokers down / up (rd_kafka_mock_broker_set_down/up)
//   rtt NAME MS           target NAME's brokers answer MS later
//   count NAME            prints "COUNT NAME <sum of high watermarks of bench on NAME>"
//   reset NAME            replaces target NAME by a new, empty cluster; prints "RESET NAME <bootstrap>"
//   produce BYTES         real brokers: preloads about BYTES more (same generator) over every partition;
//                         prints "PRODUCED <records>" (perf/e2e/scale.py: new data for a restarted route)
//   quit                  (or EOF on stdin, SIGTERM, SIGINT) stop
// With --source-bootstrap and --target-bootstrap it starts no cluster: it works on real brokers
// (perf/e2e/run.py starts them with scripts/kafka). It creates `bench` on the source (deleting an
// earlier one), preloads and measures it the same way, and every target NAME is the one real target
// cluster: `reset NAME` deletes every topic of the target but the broker's own (`__*`: bench and
// e.g. MirrorMaker 2's internal topics) and creates an empty `bench` with the source's partition
// count; `count NAME` sums its high watermarks. down/up/rtt are refused (mock only).
// --topics N (real brokers, perf/e2e/scale.py) uses topics bench-0..bench-N-1 of --partitions each
// instead of `bench`: preload, measure, reset and count then cover all of them.
#include <algorithm>
#include <chrono>
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
// `bench`, or bench-0..bench-N-1 with --topics N.
std::vector<std::string> g_topics{"bench"};

struct Held {
  int64_t records = 0, batches = 0, compressed = 0, uncompressed = 0;
};

Held measure(net::IoThread& io, const std::string& bootstrap, int partitions, bool decompress) {
  auto reader = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), net::ClusterOptions::named("measure"));
  Held h;
  for (auto& topic : g_topics)
  for (int p = 0; p < partitions; ++p) {
    auto dump = app::read_partition(reader, {topic, p}, pipeline::Isolation::read_committed, net::Millis(30000),
                                    decompress ? SIZE_MAX : 1);
    if (dump.ec) throw std::runtime_error("readback " + bootstrap + " " + topic + " partition " + std::to_string(p) + ": " + dump.ec.message());
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

/// A librdkafka client for admin requests and metadata against a real cluster.
class Admin {
 public:
  explicit Admin(const std::string& bootstrap) : bootstrap_(bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", bootstrap);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
    queue_ = rd_kafka_queue_new(rk_);
  }
  ~Admin() {
    rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  /// Topic name -> (partitions, partitions with a leader).
  std::map<std::string, std::pair<int, int>> topics() {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 1, nullptr, &md, 10000);
    if (e) throw std::runtime_error("metadata of " + bootstrap_ + ": " + rd_kafka_err2str(e));
    std::map<std::string, std::pair<int, int>> out;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      if (t.err) continue;
      int led = 0;
      for (int p = 0; p < t.partition_cnt; ++p) led += t.partitions[p].leader >= 0 && !t.partitions[p].err;
      out[t.topic] = {t.partition_cnt, led};
    }
    rd_kafka_metadata_destroy(md);
    return out;
  }

  void delete_topics(const std::vector<std::string>& names) {
    if (names.empty()) return;
    std::vector<rd_kafka_DeleteTopic_t*> del;
    for (auto& n : names) del.push_back(rd_kafka_DeleteTopic_new(n.c_str()));
    rd_kafka_DeleteTopics(rk_, del.data(), del.size(), nullptr, queue_);
    rd_kafka_DeleteTopic_destroy_array(del.data(), del.size());
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue_, 60000);
    if (!ev) throw std::runtime_error("DeleteTopics on " + bootstrap_ + " timed out");
    std::string failure;
    if (rd_kafka_event_error(ev)) failure = rd_kafka_event_error_string(ev);
    if (auto* res = rd_kafka_event_DeleteTopics_result(ev)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** r = rd_kafka_DeleteTopics_result_topics(res, &n);
      for (size_t i = 0; i < n; ++i) {
        auto e = rd_kafka_topic_result_error(r[i]);
        if (e && e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
          failure += std::string(rd_kafka_topic_result_name(r[i])) + ": " + rd_kafka_err2str(e) + " ";
      }
    }
    rd_kafka_event_destroy(ev);
    if (!failure.empty()) throw std::runtime_error("DeleteTopics on " + bootstrap_ + ": " + failure);
    // Gone from the metadata before anything is created again under the same name.
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);;) {
      auto now = topics();
      bool any = false;
      for (auto& n : names) any |= now.count(n) > 0;
      if (!any) return;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("deleted topics still listed on " + bootstrap_);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  /// Creates `name` with `partitions` (replication factor 1) and waits until every partition has
  /// a leader. A deletion of the same name can still be under way: retried for up to 60 s.
  void create_topic(const std::string& name, int partitions) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      char err[512];
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof err);
      if (!nt) throw std::runtime_error(std::string("NewTopic: ") + err);
      rd_kafka_CreateTopics(rk_, &nt, 1, nullptr, queue_);
      rd_kafka_NewTopic_destroy(nt);
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue_, 60000);
      if (!ev) throw std::runtime_error("CreateTopics on " + bootstrap_ + " timed out");
      rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
      std::string what = e ? rd_kafka_event_error_string(ev) : "";
      if (auto* res = rd_kafka_event_CreateTopics_result(ev); res && !e) {
        size_t n = 0;
        const rd_kafka_topic_result_t** r = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n == 1 && rd_kafka_topic_result_error(r[0])) {
          e = rd_kafka_topic_result_error(r[0]);
          what = rd_kafka_topic_result_error_string(r[0]) ? rd_kafka_topic_result_error_string(r[0]) : "";
        }
      }
      rd_kafka_event_destroy(ev);
      if (!e) break;
      if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS || std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("CreateTopics " + name + " on " + bootstrap_ + ": " + rd_kafka_err2str(e) + " " + what);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (;;) {
      auto now = topics();
      auto it = now.find(name);
      if (it != now.end() && it->second.first == partitions && it->second.second == partitions) return;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("topic " + name + " on " + bootstrap_ + " has no leaders after 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  /// Sum of the high watermarks of `name` (ListOffsets only: cheap enough to poll while a mirror runs).
  int64_t high_watermarks(const std::string& name, int partitions) {
    int64_t sum = 0;
    for (int p = 0; p < partitions; ++p) {
      int64_t lo = 0, hi = 0;
      // A topic just created answers "not leader" for a moment after its metadata lists a leader.
      rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int attempt = 0; attempt < 100; ++attempt) {
        e = rd_kafka_query_watermark_offsets(rk_, name.c_str(), p, &lo, &hi, 10000);
        if (e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION && e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
            e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (e) throw std::runtime_error("watermarks of " + name + " on " + bootstrap_ + ": " + rd_kafka_err2str(e));
      sum += hi;
    }
    return sum;
  }

  /// Every topic but the broker's own (`__consumer_offsets`, ...) deleted, then an empty `name`.
  void reset(const std::vector<std::string>& names, int partitions) {
    std::vector<std::string> doomed;
    for (auto& [t, _] : topics())
      if (t.rfind("__", 0) != 0) doomed.push_back(t);
    delete_topics(doomed);
    for (auto& name : names) create_topic(name, partitions);
  }

  int64_t high_watermarks(const std::vector<std::string>& names, int partitions) {
    int64_t sum = 0;
    for (auto& name : names) sum += high_watermarks(name, partitions);
    return sum;
  }

 private:
  std::string bootstrap_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
};

/// Values of the preload. `events` (the default) are clickstream events as web shops log them: a
/// timestamp, event type, user and session ids, page, and a varying set of optional fields (user
/// agent, referrer, geo, A/B assignments, cart, search query, item ids, tags) drawn from realistic
/// vocabularies, 200-500 bytes. They compress like real JSON events (several times with lz4, more
/// with zstd), which is what decides both mirrors' CPU per GB. `letters` are the first benchmark's
/// values: a few fields and a random-letter filler that neither codec compresses much; the worst
/// case for the identity path's ratio, since its CPU follows the compressed bytes.
enum class Values { events, letters };

class EventMaker {
 public:
  explicit EventMaker(uint64_t seed) : rng_(seed), pool_(1 << 20, 'a') {
    for (auto& c : pool_) c = static_cast<char>('a' + rng_() % 26);
  }

  /// Event `seq` of user `user` into `out`, its length drawn uniformly from [200, 500].
  void make(Values kind, int64_t seq, uint64_t user, std::string& out) {
    const size_t target = 200 + rng_() % 301;
    out = "{\"seq\":" + std::to_string(seq) + ",\"user\":\"user-" + std::to_string(user) + "\"";
    if (kind == Values::letters) {
      static const char* kPages[] = {"/home", "/search", "/cart", "/checkout", "/item", "/account"};
      out += ",\"page\":\"" + std::string(kPages[rng_() % 6]) + "\",\"ms\":" + std::to_string(rng_() % 5000) +
             ",\"ua\":\"";
      size_t fill = target > out.size() + 2 ? target - out.size() - 2 : 0;
      out.append(pool_, rng_() % (pool_.size() - 512), fill);
      out += "\"}";
      return;
    }
    static const char* kEvents[] = {"page_view", "page_view", "page_view", "click",  "click",   "search",
                                    "add_to_cart", "scroll", "checkout", "login", "video_play"};
    static const char* kCategories[] = {"shoes", "books", "garden", "toys", "kitchen", "electronics", "sports"};
    // Timestamps advance ~2 ms per event from 2026-11-25T00:00:00Z, as a producer's would.
    ms_ += 1 + rng_() % 3;
    char ts[40];
    std::snprintf(ts, sizeof ts, "2026-11-25T%02lld:%02lld:%02lld.%03lldZ", (ms_ / 3600000) % 24,
                  (ms_ / 60000) % 60, (ms_ / 1000) % 60, ms_ % 1000);
    char session[24];
    std::snprintf(session, sizeof session, "%016llx",
                  static_cast<unsigned long long>((user * 0x9E3779B97F4A7C15ull) ^ (ms_ / 1800000)));
    out += ",\"ts\":\"" + std::string(ts) + "\",\"event\":\"" + kEvents[rng_() % 11] + "\",\"session\":\"" + session +
           "\",\"page\":\"";
    switch (rng_() % 5) {
      case 0: out += "/item/" + std::to_string(10000 + rng_() % 90000); break;
      case 1: out += "/category/" + std::string(kCategories[rng_() % 7]); break;
      case 2: out += "/search"; break;
      case 3: out += "/cart"; break;
      default: out += "/home"; break;
    }
    out += "\"";
    // Optional fields in a random order, each taken while it keeps the event within the target
    // length; short events are filled up with tags.
    size_t order[kOptional];
    for (size_t i = 0; i < kOptional; ++i) order[i] = i;
    std::shuffle(order, order + kOptional, rng_);
    std::string field;
    for (size_t i : order) {
      optional_field(i, field);
      if (out.size() + field.size() + 1 <= target) out += field;
    }
    static const char* kTags[] = {"new", "sale", "promo", "returning", "mobile-app", "newsletter", "gift", "vip"};
    // Each tag costs its quotes and a ',' (or the 9 bytes of ,"tags":[ for the first); the closing
    // "]}" must still fit, so events end within a few bytes of the target.
    bool tagged = false;
    for (;;) {
      std::string_view tag = kTags[rng_() % 8];
      const size_t cost = (tagged ? 1 : 9) + 2 + 2;
      if (out.size() + cost + tag.size() > target) tag = kTags[0];
      if (out.size() + cost + tag.size() > target) break;
      out += tagged ? "," : ",\"tags\":[";
      out += '"';
      out += tag;
      out += '"';
      tagged = true;
    }
    if (tagged) out += ']';
    out += '}';
  }

 private:
  static constexpr size_t kOptional = 8;

  void optional_field(size_t which, std::string& f) {
    static const char* kAgents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
        "Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "shop-app/7.4.2 (Android 13; Samsung SM-S911B)"};
    static const char* kReferrers[] = {"https://www.google.com/", "https://www.bing.com/", "https://t.co/",
                                       "https://www.facebook.com/", "https://news.example.org/deals", ""};
    static const char* kCountries[] = {"DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "BR", "JP", "IN"};
    static const char* kDevices[] = {"desktop", "mobile", "tablet"};
    static const char* kWords[] = {"running", "shoes", "red", "kids", "lamp", "wireless", "garden", "chair",
                                   "coffee", "mug", "gift", "set", "winter", "jacket", "usb-c", "cable"};
    switch (which) {
      case 0: f = ",\"ua\":\"" + std::string(kAgents[rng_() % 6]) + "\""; break;
      case 1: f = ",\"referrer\":\"" + std::string(kReferrers[rng_() % 6]) + "\""; break;
      case 2:
        f = ",\"geo\":{\"country\":\"" + std::string(kCountries[rng_() % 12]) + "\",\"device\":\"" +
            kDevices[rng_() % 3] + "\"}";
        break;
      case 3: f = ",\"latency_ms\":" + std::to_string(5 + rng_() % 900); break;
      case 4:
        f = ",\"ab\":{\"checkout\":\"" + std::string(rng_() % 2 ? "v2" : "control") + "\",\"reco\":\"" +
            std::string(1, static_cast<char>('a' + rng_() % 3)) + "\"}";
        break;
      case 5:
        f = ",\"cart\":{\"items\":" + std::to_string(1 + rng_() % 9) +
            ",\"value_cents\":" + std::to_string(199 + rng_() % 50000) + ",\"currency\":\"EUR\"}";
        break;
      case 6:
        f = ",\"query\":\"" + std::string(kWords[rng_() % 16]) + " " + kWords[rng_() % 16] + "\",\"results\":" +
            std::to_string(rng_() % 400);
        break;
      default: {
        f = ",\"items\":[";
        for (int n = 1 + static_cast<int>(rng_() % 5), i = 0; i < n; ++i)
          f += (i ? "," : "") + std::to_string(10000 + rng_() % 90000);
        f += "]";
      }
    }
  }

  std::mt19937_64 rng_;
  std::string pool_;
  long long ms_ = 0;
};

/// Producer `index` of `producers` writes its share of `total` keyed events (see Values) round-robin
/// over the partitions it owns, with large batches (batch.num.messages, batch.size 1 MB, linger
/// 500 ms): every partition gets the same volume, which keeps each under the mock's
/// 5 MiB-per-partition retention.
void preload(const std::string& bootstrap, const std::string& codec, Values values, int batch_records, int partitions,
             int index, int producers, int64_t total) {
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
  EventMaker events(1000 + static_cast<uint64_t>(index));
  std::mt19937_64 rng(2000 + static_cast<uint64_t>(index));
  // Partition g of all topics' partitions is partition g % partitions of topic g / partitions.
  const int all = partitions * static_cast<int>(g_topics.size());
  std::vector<int> mine;
  for (int p = index; p < all; p += producers) mine.push_back(p);
  if (mine.empty()) mine.push_back(index % all);
  const int64_t n = total / producers + (index < total % producers ? 1 : 0);
  const char* hname = "source";
  std::string key, value;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t user = rng() % 100000;
    key = "user-" + std::to_string(user);
    events.make(values, i, user, value);
    const int g = mine[static_cast<size_t>(i) % mine.size()];
    const int32_t partition = g % partitions;
    const std::string& topic = g_topics[static_cast<size_t>(g / partitions)];
    rd_kafka_resp_err_t e;
    for (;;) {
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
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
  Values values = Values::events;
  app.add_option("--values", values, "Record values: events (realistic clickstream JSON, default) or letters")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Values>{{"events", Values::events},
                                                                         {"letters", Values::letters}}));
  app.add_option("--batch-records", batch_records, "Producer batch.num.messages (default 5000)");
  app.add_option("--producers", producers, "Parallel producer threads for the preload (default 2)");
  int topics = 0;
  app.add_option("--topics", topics, "Real brokers: topics bench-0..bench-N-1 of --partitions each instead of bench");
  app.add_option("--targets", targets, "Names of the target clusters (default a b c mem)");
  std::string real_source, real_target;
  app.add_option("--source-bootstrap", real_source, "Real brokers: the source cluster (no mock clusters)");
  app.add_option("--target-bootstrap", real_target, "Real brokers: the target cluster every target name maps to");
  CLI11_PARSE(app, argc, argv);
  const bool real = !real_source.empty();
  if (real != !real_target.empty()) {
    std::cerr << "clusters: --source-bootstrap and --target-bootstrap go together" << std::endl;
    return 2;
  }
  if (topics > 0) {
    if (!real) {
      std::cerr << "clusters: --topics needs real brokers (--source-bootstrap)" << std::endl;
      return 2;
    }
    g_topics.clear();
    for (int i = 0; i < topics; ++i) g_topics.push_back("bench-" + std::to_string(i));
  }
  const std::string kTopic = g_topics.front();  // the mock clusters' one topic
  // librdkafka's mock cluster keeps at most 5 MiB (and 100000 batches) per partition and drops the
  // oldest beyond that, so the volume is spread over enough partitions. Real brokers keep it all.
  if (partitions <= 0) partitions = real ? 8 : std::max(8, static_cast<int>(bytes / 4.5e6) + 1);

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
    std::unique_ptr<app::MockCluster> mock_source;
    std::map<std::string, std::unique_ptr<app::MockCluster>> tgt;
    std::unique_ptr<Admin> real_admin;  // the real target
    std::string source_bootstrap = real_source;
    if (real) {
      Admin src(real_source);
      src.reset(g_topics, partitions);
      real_admin = std::make_unique<Admin>(real_target);
      real_admin->reset(g_topics, partitions);
      for (auto& n : targets) tgt[n] = nullptr;
    } else {
      mock_source = std::make_unique<app::MockCluster>("source", brokers);
      mock_source->create_topic(kTopic, partitions, 1);
      source_bootstrap = mock_source->bootstrap();
      for (auto& n : targets) {
        tgt[n] = std::make_unique<app::MockCluster>("target-" + n, brokers);
        tgt[n]->create_topic(kTopic, partitions, 1);
      }
    }
    auto target_bootstrap = [&](const std::string& n) { return real ? real_target : tgt[n]->bootstrap(); };

    // ~380 bytes per record uncompressed (value 200-500, key, header, record framing).
    const int64_t total_records = std::max<int64_t>(1, static_cast<int64_t>(bytes / 380.0));
    std::vector<std::thread> threads;
    std::vector<std::string> errors(static_cast<size_t>(producers));
    for (int i = 0; i < producers; ++i) {
      threads.emplace_back([&, i] {
        try {
          preload(source_bootstrap, codec, values, batch_records, partitions, i, producers, total_records);
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i)] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (!e.empty()) throw std::runtime_error(e);

    net::IoThread io;
    Held held = measure(io, source_bootstrap, partitions, true);
    if (held.records != total_records)
      throw std::runtime_error("the source holds " + std::to_string(held.records) + " of " +
                               std::to_string(total_records) + " records" +
                               (real ? "" : ": librdkafka's mock keeps at most 5 MiB per partition; use more --partitions"));
    nlohmann::json ready = {{"source", source_bootstrap},
                            {"real", real},
                            {"topic", kTopic},
                            {"topics", g_topics},
                            {"partitions", partitions},
                            {"brokers", brokers},
                            {"codec", codec},
                            {"values", values == Values::events ? "events" : "letters"},
                            {"records", held.records},
                            {"batches", held.batches},
                            {"compressed_bytes", held.compressed},
                            {"uncompressed_bytes", held.uncompressed},
                            {"pid", ::getpid()}};
    for (auto& [n, c] : tgt) ready["targets"][n] = target_bootstrap(n);
    std::cout << "READY " << ready.dump() << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string cmd, name;
      in >> cmd >> name;
      if (cmd == "quit") break;
      if (cmd == "produce") {
        // More of the same events over every partition (real brokers): data a restarted route must mirror.
        if (!real) {
          std::cout << "ERROR produce works on real brokers only" << std::endl;
          continue;
        }
        try {
          const int64_t more = std::max<int64_t>(1, static_cast<int64_t>(std::stod(name) / 380.0));
          std::vector<std::thread> more_threads;
          std::vector<std::string> more_errors(static_cast<size_t>(producers));
          for (int i = 0; i < producers; ++i)
            more_threads.emplace_back([&, i] {
              try {
                preload(source_bootstrap, codec, values, batch_records, partitions, i, producers, more);
              } catch (const std::exception& e) {
                more_errors[static_cast<size_t>(i)] = e.what();
              }
            });
          for (auto& t : more_threads) t.join();
          std::string failure;
          for (auto& e : more_errors) failure += e;
          if (!failure.empty()) throw std::runtime_error(failure);
          std::cout << "PRODUCED " << more << std::endl;
        } catch (const std::exception& e) {
          std::cout << "ERROR produce: " << e.what() << std::endl;
        }
        continue;
      }
      auto it = tgt.find(name);
      if (it == tgt.end()) {
        std::cout << "ERROR unknown target '" << name << "'" << std::endl;
        continue;
      }
      if (real) {
        try {
          if (cmd == "reset") {
            real_admin->reset(g_topics, partitions);
            std::cout << "RESET " << name << " " << real_target << std::endl;
          } else if (cmd == "count") {
            const int64_t n = real_admin->high_watermarks(g_topics, partitions);  // may throw: before the reply
            std::cout << "COUNT " << name << " " << n << std::endl;
          } else {
            std::cout << "ERROR '" << cmd << "' works on mock clusters only" << std::endl;
          }
        } catch (const std::exception& e) {
          std::cout << "ERROR " << cmd << " " << name << ": " << e.what() << std::endl;
        }
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
