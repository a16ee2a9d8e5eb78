// `tiermirror run` end to end against real Kafka brokers (the real tier's fixture: a 1-broker
// source, a 3-broker target), on every version of the matrix: what the librdkafka mock cannot
// show. Every codec and read_committed filtering of real transactions (aborted batches and
// control markers never reach the target); batches the real log cleaner left with offset gaps;
// batches larger than the target topic's max.message.bytes, with the limit set by hand and
// copied by the syncer; legacy v0/v1 message sets a 2.8 broker writes on request; and a running
// route that follows partition growth, a new topic and a narrowed whitelist (SIGHUP), its lag
// read back with Kafka's own kafka-consumer-groups.
//
// Each test spawns `tiermirror run` as a child with a YAML route config (the produce-rules
// environment makes every child check its own Produce requests), compares the target with the
// source raw (records sections byte-identical, or repacked pieces that account for every record)
// and through a librdkafka read_committed consumer on both sides (keys, values, headers,
// timestamps, in order), and prints one summary line. Every wait has a deadline.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mock_support.h"
#include "real_admin.h"
#include "real_env.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/raw_fetch.h"

extern char** environ;

namespace tiermirror::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using protocol::RecordBatchView;

constexpr std::chrono::milliseconds kAdminTimeout{30000};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 200ms) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

/// The end of a log, for failure messages.
std::string tail(const std::string& s, size_t n = 6000) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Seconds since construction, for the summary lines (where a scenario spends its time).
struct Stopwatch {
  Clock::time_point start = Clock::now();
  double lap() {
    auto now = Clock::now();
    double s = std::chrono::duration<double>(now - start).count();
    start = now;
    return s;
  }
};

// ------------------------------------------------------------------------------------ producing

struct Rec {
  std::optional<std::string> key;  // nullopt: a null key
  std::string value;
  int64_t timestamp = 0;  // CreateTime; 0 = the producer's clock
  std::vector<std::pair<std::string, std::string>> headers;
  int32_t partition = RD_KAFKA_PARTITION_UA;
};

struct ProducerOptions {
  std::string codec = "none";
  bool idempotent = true;
  std::string transactional_id;  // non-empty: a transactional producer
};

/// A librdkafka producer for the scenarios: explicit partitions, headers and timestamps, batches
/// cut where the test calls flush() (linger is long, so a flush sends what is queued as one batch
/// per partition), transactions. Failures throw with librdkafka's message.
class Producer {
 public:
  Producer(const std::string& bootstrap, const ProducerOptions& o) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("producer config ") + k + ": " + err);
    };
    set("bootstrap.servers", bootstrap);
    set("compression.codec", o.codec);
    set("linger.ms", "2000");
    set("batch.num.messages", "100000");
    set("acks", "all");
    set("enable.idempotence", o.idempotent || !o.transactional_id.empty() ? "true" : "false");
    if (!o.transactional_id.empty()) set("transactional.id", o.transactional_id);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
      auto* self = static_cast<Producer*>(opaque);
      if (!m->err) return;
      if (self->first_error_.empty()) self->first_error_ = rd_kafka_err2str(m->err);
      self->failed_++;
    });
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(std::string("producer: ") + err);
    if (!o.transactional_id.empty()) check(rd_kafka_init_transactions(rk_, 30000), "init_transactions");
  }
  ~Producer() { rd_kafka_destroy(rk_); }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  void send(const std::string& topic, const Rec& r) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [k, v] : r.headers) rd_kafka_header_add(hdrs, k.data(), k.size(), v.data(), v.size());
    rd_kafka_resp_err_t e;
    for (;;) {
      e = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
                            RD_KAFKA_V_KEY((r.key ? r.key->data() : nullptr), (r.key ? r.key->size() : 0)),
                            RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(r.timestamp),
                            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk_, 50);
    }
    if (e) {
      rd_kafka_headers_destroy(hdrs);
      throw std::runtime_error(std::string("produce to ") + topic + ": " + rd_kafka_err2str(e));
    }
    sent_++;
    rd_kafka_poll(rk_, 0);
  }
  /// Sends what is queued and waits for every acknowledgement.
  void flush() {
    if (rd_kafka_flush(rk_, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("flush timed out");
    rd_kafka_poll(rk_, 0);
    if (failed_) throw std::runtime_error(std::to_string(failed_) + " records failed: " + first_error_);
  }
  void begin() { check(rd_kafka_begin_transaction(rk_), "begin_transaction"); }
  void commit() { check(rd_kafka_commit_transaction(rk_, 30000), "commit_transaction"); }
  void abort() { check(rd_kafka_abort_transaction(rk_, 30000), "abort_transaction"); }
  int sent() const { return sent_; }

 private:
  static void check(rd_kafka_error_t* e, const char* what) {
    if (!e) return;
    std::string msg = std::string(what) + ": " + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    throw std::runtime_error(msg);
  }
  rd_kafka_t* rk_ = nullptr;
  int sent_ = 0, failed_ = 0;
  std::string first_error_;
};

std::string random_text(std::mt19937_64& rng, size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(n, ' ');
  for (auto& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

// ------------------------------------------------------------------------------------ clusters

control::RdKafkaAdmin admin_for(const std::string& name, const std::string& bootstrap) {
  return control::RdKafkaAdmin(control::AdminConnection{name, bootstrap, "tiermirror-test", {}, {}});
}

int64_t offset_of(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, int64_t which,
                  pipeline::Isolation isolation = pipeline::Isolation::read_uncommitted) {
  using R = std::pair<std::error_code, int64_t>;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto [ec, v] = net::await<R>([&](auto done) {
      pipeline::list_offset(cluster, tp, which, isolation, net::Millis(5000),
                            [done](std::error_code e, int64_t o) { done({e, o}); });
    });
    if (!ec) return v;
    net::await<std::error_code>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto) { done(e); }); });
    std::this_thread::sleep_for(200ms);
  }
  return -1;
}

int64_t high_watermark(const std::shared_ptr<net::Cluster>& c, const TopicPartition& tp) {
  return offset_of(c, tp, pipeline::kLatestTimestamp);
}

/// A partition's data batches as a read_committed consumer keeps them: control batches and
/// batches of aborted transactions dropped, counted.
struct CommittedBatches {
  std::vector<RecordBatchView> data;
  int control = 0, aborted = 0;
};
CommittedBatches committed_batches(const app::PartitionDump& dump) {
  CommittedBatches out;
  pipeline::AbortedFilter filter;
  filter.add(dump.aborted);
  for (const auto& b : dump.batches) {
    switch (filter.next(b)) {
      case pipeline::TxnVerdict::keep: out.data.push_back(b); break;
      case pipeline::TxnVerdict::drop_control: out.control++; break;
      case pipeline::TxnVerdict::drop_aborted: out.aborted++; break;
    }
  }
  return out;
}

std::string compare_consumed(const std::vector<ConsumedRecord>& src, const std::vector<ConsumedRecord>& dst);

/// Both sides of every partition in `tps` through a consumer; "" when they read the same.
/// `no_timestamps`: the source is magic 0, which has no timestamps; librdkafka reports "none" as
/// 0 from a v0 message and as -1 from a v2 batch, so both count as "none" then.
std::string compare_consumers(const real::RealEnv& env, const std::vector<TopicPartition>& tps, size_t* records = nullptr,
                              bool no_timestamps = false) {
  auto src = consume_partitions(env.source.bootstrap, tps);
  auto dst = consume_partitions(env.target.bootstrap, tps);
  if (no_timestamps)
    for (auto* side : {&src, &dst})
      for (auto& [tp, recs] : *side)
        for (auto& r : recs)
          if (r.timestamp <= 0) r.timestamp = -1;
  std::string problems;
  size_t n = 0;
  for (const auto& tp : tps) {
    auto why = compare_consumed(src[tp], dst[tp]);
    if (!why.empty()) problems += tp.str() + ": " + why + "\n";
    n += src[tp].size();
  }
  if (records) *records = n;
  return problems;
}

std::string describe(const ConsumedRecord& r) {
  std::string s = "offset " + std::to_string(r.offset) + " key '" + r.key + "' ts " + std::to_string(r.timestamp) +
                  " value '" + r.value.substr(0, 40) + "' headers";
  for (const auto& [k, v] : r.headers) s += " " + k + "=" + v.substr(0, 20);
  return s;
}

/// Compares what a read_committed consumer reads from source and target partition N; "" when
/// keys, values, headers and timestamps are equal in the same order.
std::string compare_consumed(const std::vector<ConsumedRecord>& src, const std::vector<ConsumedRecord>& dst) {
  for (size_t i = 0; i < std::min(src.size(), dst.size()); ++i)
    if (!(src[i] == dst[i]))
      return "record " + std::to_string(i) + " differs: source " + describe(src[i]) + " / target " + describe(dst[i]);
  if (src.size() != dst.size())
    return "the source has " + std::to_string(src.size()) + " records, the target " + std::to_string(dst.size());
  return "";
}

/// Whether a v2 source batch can be written as it is (Kafka's LogValidator rules): anything
/// else must reach the target repacked.
bool forwardable(const RecordBatchView& b, size_t limit) {
  if (b.is_legacy() || b.records_count() == 0) return false;
  if (b.records_count() != b.last_offset_delta() + 1) return false;
  if (b.codec() == protocol::Codec::none && b.check_inner_offsets() != protocol::InnerOffsets::ok) return false;
  return b.size() <= limit;
}

/// Walks the target alongside the source's (v2) data batches: a forwardable source batch must be
/// the next target batch with the same records; any other one must be followed by gap-free,
/// non-empty batches in the same codec, each within `limit`, whose record counts add up to its
/// surviving records exactly (a piece never spans two source batches; empty ones yield nothing).
struct RepackWalk {
  std::string problem;  // "" when the target is what it should be
  int identical = 0, repacked_sources = 0, pieces = 0, empty_dropped = 0;
  int64_t records = 0;
  size_t largest_target_batch = 0;
};
RepackWalk walk_with_repack(const std::vector<RecordBatchView>& source, const std::vector<RecordBatchView>& target,
                            size_t limit) {
  RepackWalk w;
  size_t t = 0;
  for (const auto& b : target) w.largest_target_batch = std::max(w.largest_target_batch, b.size());
  for (size_t s = 0; s < source.size(); ++s) {
    const auto& sb = source[s];
    std::string where = "source batch " + std::to_string(s) + " (offset " + std::to_string(sb.base_offset()) + ", " +
                        std::to_string(sb.records_count()) + " records, " + std::to_string(sb.size()) + " bytes)";
    if (forwardable(sb, limit)) {
      if (t >= target.size() || !protocol::same_records(target[t], sb)) {
        w.problem = where + " is forwardable but target batch " + std::to_string(t) + " does not carry its records";
        return w;
      }
      ++t;
      ++w.identical;
      w.records += sb.records_count();
      continue;
    }
    if (sb.records_count() == 0) {
      ++w.empty_dropped;
      continue;
    }
    ++w.repacked_sources;
    int64_t need = sb.records_count(), got = 0;
    while (got < need) {
      if (t >= target.size()) {
        w.problem = where + ": the target ends after " + std::to_string(got) + " of its records";
        return w;
      }
      const auto& tb = target[t];
      std::string piece = "target batch " + std::to_string(t) + " (piece of " + where + ")";
      if (tb.magic() != 2 || tb.verdict(limit) != protocol::BatchVerdict::ok) {
        w.problem = piece + " has verdict " + std::string(protocol::to_string(tb.verdict(limit))) + ", size " +
                    std::to_string(tb.size());
        return w;
      }
      if (tb.codec() != sb.codec()) {
        w.problem = piece + " changed the codec";
        return w;
      }
      got += tb.records_count();
      ++t;
      ++w.pieces;
    }
    if (got != need) {
      w.problem = where + ": its pieces in the target hold " + std::to_string(got) + " records, not " +
                  std::to_string(need) + " (a piece spans two source batches)";
      return w;
    }
    w.records += need;
  }
  if (t != target.size())
    w.problem = "the target holds " + std::to_string(target.size() - t) + " batches more than the source accounts for";
  return w;
}

// ------------------------------------------------------------------------------------ the route


/// A route config for the fixture's clusters (PLAINTEXT), `topics` the YAML of topics.include.
std::string route_yaml(const real::RealEnv& env, const std::string& route, const std::string& include,
                       const std::string& extra = "") {
  std::ostringstream y;
  y << "route: {name: " << route << "}\n"
    << "source: {name: source, bootstrap_servers: " << yaml_list(env.source.bootstrap) << "}\n"
    << "target: {name: target, bootstrap_servers: " << yaml_list(env.target.bootstrap) << "}\n"
    << "topics:\n  include: " << include << "\n"
    << "commit_interval: 1s\n"
    << "audit: {enabled: false}\n"
    << "metrics: {listen: \"\"}\n"
    << extra;
  return y.str();
}

/// `tiermirror run --config CONFIG [args]` as a child, its stderr into `log`.
class RunProcess {
 public:
  RunProcess(const std::string& config, const std::filesystem::path& log, std::vector<std::string> extra = {})
      : log_(log) {
    std::vector<std::string> args{"run", "--config", config};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn_tiermirror(args, log.string());
  }
  ~RunProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }

  /// The exit status once the child exited within `timeout`; nullopt (and the child still
  /// running) otherwise. 128 + N for a signal.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }
  /// SIGTERM and the exit status (nullopt if it did not exit within 20 s).
  std::optional<int> terminate() {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, SIGTERM);
    return wait(20s);
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

struct RunOutcome {
  std::optional<int> status;  // nullopt: did not finish in time (stopped by the test)
  std::string log;
};

/// `tiermirror run --until-caught-up` with a deadline; a child still running then is stopped
/// (SIGTERM, then SIGKILL) and reported as not finished.
RunOutcome run_until_caught_up(const std::string& config, const std::filesystem::path& log,
                               std::chrono::milliseconds timeout = 45s) {
  RunProcess p(config, log, {"--until-caught-up"});
  RunOutcome out;
  if (p.pid() <= 0) {
    out.log = "could not spawn " + std::string(TIERMIRROR_BINARY);
    return out;
  }
  out.status = p.wait(timeout);
  if (!out.status) p.terminate();
  out.log = p.log();
  return out;
}

std::string why_not_finished(const RunOutcome& r) {
  if (!r.status) return "`tiermirror run --until-caught-up` did not catch up in time:\n" + tail(r.log);
  return "`tiermirror run --until-caught-up` exited " + std::to_string(*r.status) + ":\n" + tail(r.log);
}

/// The child's error lines: partitions it paused (a batch the target refused, ...), Produce
/// requests breaking a broker rule, resumes that failed.
std::string refusals(const std::string& log) {
  std::istringstream in(log);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("level=error") != std::string::npos || line.find("partition paused") != std::string::npos)
      out += line + "\n";
  return out;
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string(".^$|()[]{}*+?\\").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

/// Reader clients for both clusters, on one io thread.
struct Readers {
  net::IoThread io;
  ClusterClient source, target;
  Readers(const real::RealEnv& env) : source(io, env.source.bootstrap, "source"), target(io, env.target.bootstrap, "target") {}
  void refresh() {
    source.refresh();
    target.refresh();
  }
};

// ================================================================================================

TEST(RealMirror, EveryCodecAndTransactionsMirrorCommittedDataOnly) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string base = real::unique_topic("codecs");
  const int kPartitions = 3;
  auto source_admin = admin_for("source", env.source.bootstrap);
  std::vector<std::string> codecs{"none", "gzip", "snappy", "lz4", "zstd"};
  std::vector<std::string> topics;
  for (const auto& c : codecs) topics.push_back(base + "-" + c);
  const std::string txn_topic = base + "-txn";
  topics.push_back(txn_topic);
  for (const auto& t : topics) ASSERT_EQ(real::create_settled_topic(source_admin, t, kPartitions), "");
  Stopwatch sw;

  // Keyed records (some with a null key), headers (one with an empty value), CreateTime
  // timestamps ten minutes old; an idempotent producer per codec, 12 batches per partition.
  const int64_t t0 = now_ms() - 10 * 60 * 1000;
  std::mt19937_64 rng(7);
  auto record = [&](int i, int32_t partition, const std::string& tag) {
    Rec r;
    if (i % 17 != 5) r.key = "key-" + std::to_string(i % 50);
    r.value = tag + "-" + std::to_string(i) + "-" + random_text(rng, 50 + rng() % 150);
    r.timestamp = t0 + i;
    r.headers = {{"seq", std::to_string(i)}, {"tag", tag}, {"empty", ""}};
    r.partition = partition;
    return r;
  };
  for (size_t c = 0; c < codecs.size(); ++c) {
    Producer p(env.source.bootstrap, {codecs[c], true, ""});
    for (int i = 0; i < 360; ++i) {
      p.send(topics[c], record(i, i % kPartitions, codecs[c]));
      if (i % 30 == 29) p.flush();
    }
    p.flush();
  }
  // Transactions (zstd): committed, aborted, committed, with a plain idempotent producer
  // writing between them, so read_committed filtering has markers and aborted batches to drop.
  int committed_txn_records = 0, aborted_txn_records = 0;
  {
    Producer txn(env.source.bootstrap, {"zstd", true, "tm-real-txn-" + base});
    Producer plain(env.source.bootstrap, {"lz4", true, ""});
    int i = 0;
    auto transaction = [&](const std::string& tag, int n, bool commit) {
      txn.begin();
      for (int k = 0; k < n; ++k, ++i) txn.send(txn_topic, record(i, i % kPartitions, tag));
      txn.flush();
      commit ? txn.commit() : txn.abort();
      (commit ? committed_txn_records : aborted_txn_records) += n;
    };
    transaction("committed", 90, true);
    for (int k = 0; k < 30; ++k, ++i) plain.send(txn_topic, record(i, i % kPartitions, "plain"));
    plain.flush();
    transaction("aborted", 60, false);
    transaction("committed", 90, true);
    for (int k = 0; k < 30; ++k, ++i) plain.send(txn_topic, record(i, i % kPartitions, "plain"));
    plain.flush();
  }

  Readers rd(env);
  rd.refresh();
  // The coordinator writes the markers after EndTxn answered: wait until every partition's last
  // stable offset reached its high watermark, so the route's end offset at start covers it all.
  for (int p = 0; p < kPartitions; ++p) {
    TopicPartition tp{txn_topic, p};
    int64_t hwm = -2, lso = -1;
    ASSERT_TRUE(wait_until(
        [&] {
          hwm = high_watermark(rd.source.cluster, tp);
          lso = offset_of(rd.source.cluster, tp, pipeline::kLatestTimestamp, pipeline::Isolation::read_committed);
          return hwm > 0 && hwm == lso;
        },
        20s))
        << tp.str() << ": last stable offset " << lso << " never reached the high watermark " << hwm;
  }

  double produce_s = sw.lap();
  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << route_yaml(env, "e2e-codecs-" + std::to_string(::getpid()),
                                      "[{regex: '" + regex_escape(base) + "-.*'}]");
  auto run = run_until_caught_up(config, dir / "run.log");
  ASSERT_EQ(run.status, std::optional<int>(0)) << why_not_finished(run);
  EXPECT_EQ(refusals(run.log), "");
  double mirror_s = sw.lap();

  rd.refresh();
  int batches = 0, control = 0, aborted = 0;
  int64_t records = 0;
  std::vector<TopicPartition> tps;
  for (const auto& topic : topics) {
    for (int p = 0; p < kPartitions; ++p) {
      TopicPartition tp{topic, p};
      tps.push_back(tp);
      auto src = app::read_partition(rd.source.cluster, tp);
      auto dst = app::read_partition(rd.target.cluster, tp);
      ASSERT_FALSE(src.ec) << tp.str() << " source: " << src.ec.message();
      ASSERT_FALSE(dst.ec) << tp.str() << " target: " << dst.ec.message();
      auto committed = committed_batches(src);
      ASSERT_FALSE(committed.data.empty()) << tp.str();
      control += committed.control;
      aborted += committed.aborted;
      // Raw: the target holds exactly the committed data batches, records sections identical,
      // no control batch, no transactional bit.
      auto proof = app::prove_identity(dst.batches, {committed.data});
      EXPECT_TRUE(proof.ok) << tp.str() << ": " << proof.detail;
      for (const auto& b : dst.batches) {
        EXPECT_FALSE(b.is_control()) << tp.str() << " target offset " << b.base_offset();
        EXPECT_FALSE(b.is_transactional()) << tp.str() << " target offset " << b.base_offset();
        EXPECT_TRUE(b.crc_ok()) << tp.str() << " target offset " << b.base_offset();
      }
      batches += static_cast<int>(dst.batches.size());
      records += proof.records;
    }
  }
  // Through a consumer: the same records, headers and timestamps, in order; nothing aborted.
  EXPECT_EQ(compare_consumers(env, tps), "");
  for (const auto& [tp, recs] : consume_partitions(env.target.bootstrap, {{txn_topic, 0}, {txn_topic, 1}, {txn_topic, 2}}))
    for (const auto& r : recs) EXPECT_EQ(r.value.rfind("aborted-", 0), std::string::npos) << tp.str() << " " << describe(r);
  // The scenario really had markers and an aborted transaction to drop.
  EXPECT_EQ(aborted_txn_records, 60);
  EXPECT_GE(control, 3 * kPartitions) << "three transactions end in a marker on every partition";
  EXPECT_GE(aborted, kPartitions) << "the aborted transaction wrote to every partition";
  EXPECT_EQ(records, 5 * 360 + committed_txn_records + 60);
  std::printf("[ summary  ] kafka %s: %zu topics x %d partitions, codecs none/gzip/snappy/lz4/zstd + transactions: "
              "%d target batches identical to the source's committed ones, %lld records; %d control and %d aborted "
              "batches dropped (produce %.1f s, mirror %.1f s, compare %.1f s)\n",
              env.kafka_version.c_str(), topics.size(), kPartitions, batches, static_cast<long long>(records), control,
              aborted, produce_s, mirror_s, sw.lap());
}


TEST(RealMirror, CompactionGapsFromTheLogCleanerAreRepacked) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string base = real::unique_topic("compact");
  auto source_admin = admin_for("source", env.source.bootstrap);
  // Segments roll after 500 ms (Kafka 4.x refuses segment.bytes below 1 MiB); the cleaner (its
  // backoff is 1 s on the fixture's brokers) cleans any dirty closed segment.
  const std::map<std::string, std::string> compacted{{"cleanup.policy", "compact"},
                                                     {"segment.ms", "500"},
                                                     {"min.cleanable.dirty.ratio", "0.01"},
                                                     {"delete.retention.ms", "100"},
                                                     {"min.compaction.lag.ms", "0"}};
  std::vector<std::string> topics{base + "-none", base + "-lz4"};
  for (const auto& t : topics) ASSERT_EQ(real::create_settled_topic(source_admin, t, 1, compacted), "");

  // Round 1: 12 batches of 40 distinct keys. Round 2 (a segment later): every third key of each
  // early batch again, so the cleaner removes records from the middle and the ends of every
  // early batch. Round 3 closes round 2's segment, which makes it cleanable.
  // Producer-clock timestamps: segments roll by record timestamps (segment.ms).
  std::mt19937_64 rng(11);
  const int64_t ts = 0;
  for (const auto& topic : topics) {
    Producer p(env.source.bootstrap, {topic.substr(topic.rfind('-') + 1), false, ""});
    for (int b = 0; b < 12; ++b) {
      for (int k = 0; k < 40; ++k)
        p.send(topic, Rec{"k-" + std::to_string(b) + "-" + std::to_string(k), "v1-" + random_text(rng, 100), ts,
                          {{"round", "1"}}, 0});
      p.flush();
    }
  }
  std::this_thread::sleep_for(700ms);  // segment.ms: the next append rolls the segment
  for (const auto& topic : topics) {
    Producer p(env.source.bootstrap, {topic.substr(topic.rfind('-') + 1), false, ""});
    for (int b = 0; b < 12; ++b)
      for (int k = 1; k < 40; k += 3)
        p.send(topic, Rec{"k-" + std::to_string(b) + "-" + std::to_string(k), "v2-" + random_text(rng, 100), ts,
                          {{"round", "2"}}, 0});
    p.flush();
  }
  std::this_thread::sleep_for(700ms);
  for (const auto& topic : topics) {
    Producer p(env.source.bootstrap, {topic.substr(topic.rfind('-') + 1), false, ""});
    p.send(topic, Rec{"roll", "roll", ts, {}, 0});
    p.flush();
  }

  // The real cleaner at work: wait until each topic's log holds the 12 early batches with gaps.
  Readers rd(env);
  rd.refresh();
  auto gapped = [](const std::vector<RecordBatchView>& batches) {
    int n = 0;
    for (const auto& b : batches)
      if (b.records_count() != b.last_offset_delta() + 1) ++n;
    return n;
  };
  for (const auto& topic : topics) {
    int seen = -1;
    ASSERT_TRUE(wait_until(
        [&] {
          auto d = app::read_partition(rd.source.cluster, {topic, 0});
          seen = d.ec ? -1 : gapped(d.batches);
          return seen >= 12;
        },
        40s, 500ms))
        << topic << ": the log cleaner left " << seen << " batches with offset gaps, expected 12";
  }

  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << route_yaml(env, "e2e-compact-" + std::to_string(::getpid()),
                                      "[{regex: '" + regex_escape(base) + "-.*'}]");
  auto run = run_until_caught_up(config, dir / "run.log");
  ASSERT_EQ(run.status, std::optional<int>(0)) << why_not_finished(run);
  EXPECT_EQ(refusals(run.log), "");

  rd.refresh();
  for (const auto& topic : topics) {
    TopicPartition tp{topic, 0};
    auto src = app::read_partition(rd.source.cluster, tp);
    auto dst = app::read_partition(rd.target.cluster, tp);
    ASSERT_FALSE(src.ec) << tp.str() << ": " << src.ec.message();
    ASSERT_FALSE(dst.ec) << tp.str() << ": " << dst.ec.message();
    auto w = walk_with_repack(src.batches, dst.batches, 1048588);
    EXPECT_EQ(w.problem, "") << tp.str();
    EXPECT_GE(w.repacked_sources, 12) << tp.str() << ": the gapped batches were not repacked";
    EXPECT_EQ(gapped(dst.batches), 0) << tp.str();
    size_t consumed = 0;
    EXPECT_EQ(compare_consumers(env, {tp}, &consumed), "");
    // What survived: 12 x 40 round-1 keys minus the 12 x 13 overwritten, round 2, the roll record.
    EXPECT_EQ(consumed, 12u * 27 + 12u * 13 + 1) << tp.str();
    std::printf("[ summary  ] kafka %s: %s: %zu source batches (%d with cleaner gaps) -> %zu target batches: %d "
                "forwarded identical, %d repacked into %d gap-free pieces, %d empty dropped; %lld records\n",
                env.kafka_version.c_str(), topic.c_str(), src.batches.size(), gapped(src.batches), dst.batches.size(),
                w.identical, w.repacked_sources, w.pieces, w.empty_dropped, static_cast<long long>(w.records));
  }
}

/// Batches of ~100 KB (100 records of ~1 KB, incompressible enough that zstd stays well above
/// 20 KB) on both partitions, in two codecs, plus small batches that fit as they are.
void produce_large_batches(const std::string& bootstrap, const std::string& topic, int64_t t0) {
  std::mt19937_64 rng(23);
  int i = 0;
  for (const char* codec : {"none", "zstd"}) {
    Producer p(bootstrap, {codec, true, ""});
    for (int b = 0; b < 4; ++b) {
      int n = b == 2 ? 5 : 100;  // one small batch per round: forwarded as it is
      for (int k = 0; k < n; ++k, ++i)
        for (int32_t part = 0; part < 2; ++part)
          p.send(topic, Rec{"key-" + std::to_string(i), random_text(rng, 1000), t0 + i, {{"i", std::to_string(i)}}, part});
      p.flush();
    }
  }
}

/// The checks of both max.message.bytes tests: the target's batches all within `limit`, the
/// large ones split, the small ones identical, the consumer view equal.
void expect_split(const real::RealEnv& env, Readers& rd, const std::string& topic, size_t limit) {
  rd.refresh();
  for (int32_t p = 0; p < 2; ++p) {
    TopicPartition tp{topic, p};
    auto src = app::read_partition(rd.source.cluster, tp);
    auto dst = app::read_partition(rd.target.cluster, tp);
    ASSERT_FALSE(src.ec) << tp.str() << ": " << src.ec.message();
    ASSERT_FALSE(dst.ec) << tp.str() << ": " << dst.ec.message();
    size_t largest_source = 0;
    for (const auto& b : src.batches) largest_source = std::max(largest_source, b.size());
    ASSERT_GT(largest_source, 2 * limit) << tp.str() << ": the scenario needs source batches far above the limit";
    auto w = walk_with_repack(src.batches, dst.batches, limit);
    EXPECT_EQ(w.problem, "") << tp.str();
    EXPECT_LE(w.largest_target_batch, limit) << tp.str();
    EXPECT_EQ(w.repacked_sources, 6) << tp.str();
    EXPECT_EQ(w.identical, 2) << tp.str() << ": the small batches fit and go as they are";
    size_t consumed = 0;
    EXPECT_EQ(compare_consumers(env, {tp}, &consumed), "");
    EXPECT_EQ(consumed, 610u) << tp.str();
    std::printf("[ summary  ] kafka %s: %s: %zu source batches (largest %zu bytes) -> %zu target batches (largest %zu "
                "<= %zu): %d split into %d pieces, %d identical; %lld records\n",
                env.kafka_version.c_str(), tp.str().c_str(), src.batches.size(), largest_source, dst.batches.size(),
                w.largest_target_batch, limit, w.repacked_sources, w.pieces, w.identical,
                static_cast<long long>(w.records));
  }
}

constexpr size_t kSmallLimit = 20000;

TEST(RealMirror, BatchesLargerThanTheTargetLimitAreSplit) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string topic = real::unique_topic("large");
  auto source_admin = admin_for("source", env.source.bootstrap);
  auto target_admin = admin_for("target", env.target.bootstrap);
  ASSERT_EQ(real::create_settled_topic(source_admin, topic, 2), "");
  ASSERT_EQ(real::create_settled_topic(target_admin, topic, 2, {{"max.message.bytes", std::to_string(kSmallLimit)}}), "");
  produce_large_batches(env.source.bootstrap, topic, now_ms() - 60000);

  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << route_yaml(env, "e2e-large-" + std::to_string(::getpid()), "[" + topic + "]");
  auto run = run_until_caught_up(config, dir / "run.log");
  ASSERT_EQ(run.status, std::optional<int>(0)) << why_not_finished(run);
  EXPECT_EQ(refusals(run.log), "");
  Readers rd(env);
  expect_split(env, rd, topic, kSmallLimit);
}

std::map<TopicPartition, std::pair<int64_t, int64_t>> describe_group(const real::RealEnv& env, const std::string& group,
                                                                     std::string* raw);

/// Flips the last byte of the `index`-th batch (0-based) of a partition's first log segment on the
/// source broker's disk, as a failing disk would: the broker serves it as stored (Fetch does not
/// check CRCs). Returns the batch's base offset, or -1 with `why` set.
int64_t damage_segment(const real::RealEnv& env, const TopicPartition& tp, int index, std::string* why) {
  auto path = std::filesystem::path(env.source.dir) / "node-1" / "data" / (tp.topic + "-" + std::to_string(tp.partition)) /
              "00000000000000000000.log";
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) {
    *why = "cannot open " + path.string();
    return -1;
  }
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t at = 0;
  for (int i = 0; at + RecordBatchView::kLogOverhead <= bytes.size(); ++i) {
    auto view = RecordBatchView::unowned(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + at, bytes.size() - at));
    if (view.size() > bytes.size() - at) break;
    if (i == index) {
      const size_t last = at + view.size() - 1;  // inside the records section: covered by the CRC
      f.clear();
      f.seekp(static_cast<std::streamoff>(last));
      f.put(static_cast<char>(bytes[last] ^ 0x5a));
      f.flush();
      if (!f) {
        *why = "cannot write " + path.string();
        return -1;
      }
      return view.base_offset();
    }
    at += view.size();
  }
  *why = path.string() + " holds fewer than " + std::to_string(index + 1) + " batches";
  return -1;
}

// A batch damaged on the source broker's disk. With the default `crc_check: target` the route
// forwards it with its stored CRC (rewriting the header keeps a wrong CRC wrong), the target broker
// refuses it with CORRUPT_MESSAGE and the partition pauses before it; with `crc_check: fetch` the
// route finds it itself and never sends it. Either way the target holds only the batches before
// it, the committed offset stops at it, and the other partition is mirrored whole.
TEST(RealMirror, CorruptSourceBatchIsRefusedAndPausesOnlyItsPartition) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  auto source_admin = admin_for("source", env.source.bootstrap);
  for (const std::string mode : {"target", "fetch"}) {
    SCOPED_TRACE("crc_check: " + mode);
    const std::string topic = real::unique_topic("corrupt-" + mode);
    ASSERT_EQ(real::create_settled_topic(source_admin, topic, 2), "");
    {
      Producer p(env.source.bootstrap, {"zstd", true, ""});
      std::mt19937_64 rng(5);
      for (int b = 0; b < 3; ++b) {
        for (int k = 0; k < 20; ++k)
          for (int32_t part = 0; part < 2; ++part)
            p.send(topic, Rec{"key-" + std::to_string(k), random_text(rng, 200), now_ms() - 60000, {}, part});
        p.flush();  // one batch per partition and round
      }
    }
    std::string why;
    const int64_t bad = damage_segment(env, {topic, 0}, 1, &why);
    ASSERT_EQ(bad, 20) << why;

    const std::string route = "e2e-corrupt-" + mode + "-" + std::to_string(::getpid());
    auto config = (dir / (mode + ".yaml")).string();
    std::ofstream(config) << route_yaml(env, route, "[" + topic + "]", "crc_check: " + mode + "\n");
    // The child checks its own Produce requests (as every child here does) into a file of this
    // test's: a refused batch is expected there in the `target` mode, and nowhere else.
    const auto rules = dir / (mode + "-rules.log");
    std::string shared_rules = std::getenv("TIERMIRROR_CHECK_PRODUCE_RULES") ? std::getenv("TIERMIRROR_CHECK_PRODUCE_RULES") : "";
    ::setenv("TIERMIRROR_CHECK_PRODUCE_RULES", rules.c_str(), 1);
    RunProcess run(config, dir / (mode + ".log"));
    if (shared_rules.empty()) ::unsetenv("TIERMIRROR_CHECK_PRODUCE_RULES");
    else ::setenv("TIERMIRROR_CHECK_PRODUCE_RULES", shared_rules.c_str(), 1);
    ASSERT_GT(run.pid(), 0);

    Readers rd(env);
    ASSERT_TRUE(wait_until(
        [&] {
          rd.refresh();
          return run.log().find("partition paused") != std::string::npos && high_watermark(rd.target.cluster, {topic, 1}) == 60;
        },
        60s))
        << tail(run.log());
    std::this_thread::sleep_for(2500ms);  // commit_interval 1s: the last commit round is out
    ASSERT_EQ(run.terminate(), std::optional<int>(0)) << tail(run.log());
    const std::string log = run.log();
    EXPECT_NE(log.find("corrupt source batch at offset 20 (crc_mismatch)"), std::string::npos) << tail(log);
    EXPECT_EQ(log.find("CORRUPT_MESSAGE") != std::string::npos, mode == "target") << tail(log);
    // The produce-rules validator models the broker: it saw the refused batch only where it was sent.
    const std::string broken = read_file(rules);
    if (mode == "target") {
      EXPECT_NE(broken.find("crc_valid"), std::string::npos) << broken;
      std::istringstream lines(broken);
      for (std::string line; std::getline(lines, line);)
        EXPECT_NE(line.find("crc_valid"), std::string::npos) << "only the corrupt batch breaks a rule: " << line;
    } else {
      EXPECT_EQ(broken, "");
    }

    rd.refresh();
    auto src0 = app::read_partition(rd.source.cluster, {topic, 0});
    auto dst0 = app::read_partition(rd.target.cluster, {topic, 0});
    auto dst1 = app::read_partition(rd.target.cluster, {topic, 1});
    ASSERT_FALSE(src0.ec || dst0.ec || dst1.ec);
    ASSERT_EQ(src0.batches.size(), 3u);
    ASSERT_EQ(dst0.batches.size(), 1u) << "only the batch before the corrupt one";
    EXPECT_TRUE(protocol::same_records(dst0.batches[0], src0.batches[0]));
    EXPECT_EQ(dst1.batches.size(), 3u);
    for (const auto& b : dst1.batches) EXPECT_TRUE(b.crc_ok());
    std::string raw;
    auto group = describe_group(env, "tiermirror-" + route, &raw);
    EXPECT_EQ(group[TopicPartition({topic, 0})].first, 20) << "commits stop before the corrupt batch\n" << raw;
    EXPECT_EQ(group[TopicPartition({topic, 1})].first, 60) << raw;
    std::printf("[ summary  ] kafka %s, crc_check %s: the batch at offset 20 damaged on the source's disk was %s; "
                "partition 0 paused and committed at 20, partition 1 mirrored whole (60 records)\n",
                env.kafka_version.c_str(), mode.c_str(),
                mode == "target" ? "refused by the target (CORRUPT_MESSAGE)" : "found at fetch and never sent");
  }
}

// The syncer gives the target topic the source's max.message.bytes (copy_configs); the route
// must cut batches to it from its very first Produce. The usual way a route meets such a topic:
// `tiermirror sync` (or an earlier run) created it, and `run` starts on a whitelist that also
// holds topics the syncer still has to create, so its first pass takes a while. Until that pass
// hands over the target's limit, the route must not send batches sized for Kafka's default.
TEST(RealMirror, RunSplitsBatchesLargerThanTheTargetLimitFromItsFirstProduce) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string base = real::unique_topic("large-synced");
  const std::string topic = base + "-data";
  auto source_admin = admin_for("source", env.source.bootstrap);
  auto target_admin = admin_for("target", env.target.bootstrap);
  ASSERT_EQ(real::create_settled_topic(source_admin, topic, 2), "");
  produce_large_batches(env.source.bootstrap, topic, now_ms() - 60000);
  // Lowered after the data was written: the source keeps its large batches, the syncer copies
  // the small limit.
  auto alter = env.tool("configs", env.source.bootstrap,
                        "--alter --entity-type topics --entity-name " + topic +
                            " --add-config max.message.bytes=" + std::to_string(kSmallLimit));
  ASSERT_EQ(alter.status, 0) << alter.out;
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = source_admin.topic_configs(topic, kAdminTimeout);
        return c && c->count("max.message.bytes") && c->at("max.message.bytes").value == std::to_string(kSmallLimit);
      },
      10s))
      << "the source never showed max.message.bytes=" << kSmallLimit;

  // `tiermirror sync` creates the target topic with the copied limit.
  const std::string route = "e2e-large-synced-" + std::to_string(::getpid());
  const std::string sync_extra = "partition_sync: {copy_configs: [max.message.bytes]}\n";
  auto sync_config = (dir / "sync.yaml").string();
  std::ofstream(sync_config) << route_yaml(env, route, "[" + topic + "]", sync_extra);
  auto sync = run_command(std::string(TIERMIRROR_BINARY) + " sync --config " + sync_config + " 2>&1");
  ASSERT_EQ(sync.status, 0) << sync.out;
  ASSERT_EQ(real::settled_partitions(target_admin, topic, 2), 2) << sync.out;
  auto cfg = real::topic_configs_once_known(target_admin, topic);
  ASSERT_TRUE(cfg.ok()) << cfg.error().str();
  ASSERT_EQ(cfg->at("max.message.bytes").value, std::to_string(kSmallLimit)) << "the syncer copies the limit\n"
                                                                            << sync.out;
  // Twenty more (empty) topics on the route's whitelist that the target does not have yet.
  for (int i = 0; i < 20; ++i) {
    auto e = source_admin.create_topic(base + "-more-" + std::to_string(i), 1, -1, {}, kAdminTimeout);
    ASSERT_FALSE(e) << e->str();
  }

  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << route_yaml(env, route, "[{regex: '" + regex_escape(base) + "-.*'}]", sync_extra);
  auto run = run_until_caught_up(config, dir / "run.log");
  EXPECT_EQ(refusals(run.log), "") << "the first batches went out at Kafka's default limit";
  ASSERT_EQ(run.status, std::optional<int>(0)) << why_not_finished(run);
  Readers rd(env);
  expect_split(env, rd, topic, kSmallLimit);
}

// Kafka 2.8 still writes v0/v1 message sets when a topic asks for an old message format; the
// route must repack them into v2 batches (Produce v3+ carries v2 only) with the same records.
// Kafka 3.x accepts the setting but ignores it (v2 always, KIP-724); Kafka 4.x refuses it.
TEST(RealMirror, LegacyMessageSetsAreRepackedToV2) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string base = real::unique_topic("legacy");
  auto source_admin = admin_for("source", env.source.bootstrap);
  if (env.at_least(4, 0)) {
    auto e = source_admin.create_topic(base + "-v1", 1, -1, {{"message.format.version", "0.10.2"}}, kAdminTimeout);
    ASSERT_TRUE(e.has_value()) << "Kafka " << env.kafka_version << " accepted message.format.version=0.10.2";
    EXPECT_NE(e->str().find("INVALID_CONFIG"), std::string::npos) << e->str();
    std::printf("[ summary  ] kafka %s refuses message.format.version (%s): 4.x removed the v0/v1 message formats "
                "(KIP-724), no log can hold legacy message sets to repack\n",
                env.kafka_version.c_str(), e->str().c_str());
    return;
  }
  // 2.x: 0.9.0 gives magic 0 (no timestamps), 0.10.2 magic 1. Old formats carry no headers and
  // no producer ids: a plain producer without headers.
  struct Legacy {
    std::string topic, format;
    int magic;
  };
  std::vector<Legacy> legacy{{base + "-v0", "0.9.0", 0}, {base + "-v1", "0.10.2", 1}};
  for (const auto& l : legacy) ASSERT_EQ(real::create_settled_topic(source_admin, l.topic, 2, {{"message.format.version", l.format}}), "");
  const int64_t t0 = now_ms() - 60000;
  std::mt19937_64 rng(5);
  int i = 0;
  for (const char* codec : {"none", "gzip", "snappy", "lz4"}) {
    Producer p(env.source.bootstrap, {codec, false, ""});
    for (int b = 0; b < 3; ++b) {
      for (int k = 0; k < 40; ++k, ++i)
        for (const auto& l : legacy)
          p.send(l.topic, Rec{"key-" + std::to_string(i), std::string(codec) + "-" + random_text(rng, 80), t0 + i, {},
                              i % 2});
      p.flush();
    }
  }
  Readers rd(env);
  rd.refresh();
  std::map<std::string, int> legacy_sets;  // per topic, in the source log
  for (const auto& l : legacy)
    for (int32_t p = 0; p < 2; ++p) {
      auto src = app::read_partition(rd.source.cluster, {l.topic, p});
      ASSERT_FALSE(src.ec) << l.topic << ": " << src.ec.message();
      ASSERT_FALSE(src.batches.empty());
      for (const auto& b : src.batches) {
        if (!env.at_least(3, 0)) {
          EXPECT_EQ(b.magic(), l.magic) << l.topic << " offset " << b.base_offset();
        }
        if (b.is_legacy()) legacy_sets[l.topic]++;
      }
    }
  if (env.at_least(3, 0)) {
    // 3.x takes the setting and ignores it: the log holds v2 batches only.
    for (const auto& l : legacy) EXPECT_EQ(legacy_sets[l.topic], 0) << l.topic;
    std::printf("[ summary  ] kafka %s accepts message.format.version=%s/%s but stores v2 batches (ignored since 3.0): "
                "no legacy message sets; mirrored as v2\n",
                env.kafka_version.c_str(), legacy[0].format.c_str(), legacy[1].format.c_str());
  } else {
    for (const auto& l : legacy) EXPECT_GT(legacy_sets[l.topic], 0) << l.topic << ": Kafka 2.8 wrote no magic " << l.magic;
  }

  auto config = (dir / "route.yaml").string();
  std::ofstream(config) << route_yaml(env, "e2e-legacy-" + std::to_string(::getpid()),
                                      "[{regex: '" + regex_escape(base) + "-.*'}]");
  auto run = run_until_caught_up(config, dir / "run.log");
  ASSERT_EQ(run.status, std::optional<int>(0)) << why_not_finished(run);
  EXPECT_EQ(refusals(run.log), "");

  rd.refresh();
  for (const auto& l : legacy) {
    int target_batches = 0;
    int64_t target_records = 0;
    std::set<int> codecs;
    for (int32_t p = 0; p < 2; ++p) {
      TopicPartition tp{l.topic, p};
      auto dst = app::read_partition(rd.target.cluster, tp);
      ASSERT_FALSE(dst.ec) << tp.str() << ": " << dst.ec.message();
      for (const auto& b : dst.batches) {
        EXPECT_EQ(b.magic(), 2) << tp.str() << " target offset " << b.base_offset();
        EXPECT_EQ(b.verdict(), protocol::BatchVerdict::ok) << tp.str() << " target offset " << b.base_offset();
        codecs.insert(static_cast<int>(b.codec()));
        target_records += b.records_count();
      }
      target_batches += static_cast<int>(dst.batches.size());
      size_t consumed = 0;
      EXPECT_EQ(compare_consumers(env, {tp}, &consumed, l.magic == 0), "");
      EXPECT_EQ(consumed, 240u) << tp.str();
    }
    EXPECT_EQ(target_records, 480) << l.topic;
    EXPECT_EQ(codecs.size(), 4u) << l.topic << ": every codec kept (none, gzip, snappy, lz4)";
    if (!env.at_least(3, 0))
      std::printf("[ summary  ] kafka %s: %s (message.format.version %s): %d magic-%d message sets in the source "
                  "-> %d v2 batches in the target, %lld records\n",
                  env.kafka_version.c_str(), l.topic.c_str(), l.format.c_str(), legacy_sets[l.topic], l.magic,
                  target_batches, static_cast<long long>(target_records));
  }
}

/// Kafka's kafka-consumer-groups --describe for a group: per topic-partition, CURRENT-OFFSET
/// ("-" as -1) and LAG ("-" as -1). Empty when the tool failed; `raw` gets its output.
std::map<TopicPartition, std::pair<int64_t, int64_t>> describe_group(const real::RealEnv& env, const std::string& group,
                                                                     std::string* raw) {
  std::map<TopicPartition, std::pair<int64_t, int64_t>> out;
  auto r = env.tool("consumer-groups", env.source.bootstrap, "--describe --group " + group);
  *raw = r.out;
  if (r.status != 0) return out;
  std::istringstream in(r.out);
  std::string line;
  auto num = [](const std::string& s) -> int64_t { return s == "-" ? -1 : std::stoll(s); };
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 6 || w[0] != group) continue;
    try {
      out[TopicPartition{w[1], std::stoi(w[2])}] = {num(w[3]), num(w[5])};
    } catch (const std::exception&) {
    }
  }
  return out;
}

TEST(RealMirror, GrowthNewTopicAndNarrowedWhitelistInARunningRoute) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string base = real::unique_topic("live");
  const std::string a = base + "-a", b = base + "-b", c = base + "-c";
  auto source_admin = admin_for("source", env.source.bootstrap);
  auto target_admin = admin_for("target", env.target.bootstrap);
  ASSERT_EQ(real::create_settled_topic(source_admin, a, 2), "");
  ASSERT_EQ(real::create_settled_topic(source_admin, b, 1), "");
  std::mt19937_64 rng(3);
  int seq = 0;
  auto produce = [&](const std::string& topic, int32_t partitions, int per_partition) {
    Producer p(env.source.bootstrap, {"lz4", true, ""});
    for (int k = 0; k < per_partition; ++k)
      for (int32_t part = 0; part < partitions; ++part, ++seq)
        p.send(topic, Rec{"key-" + std::to_string(seq), random_text(rng, 120), 0, {{"seq", std::to_string(seq)}}, part});
    p.flush();
  };
  produce(a, 2, 100);
  produce(b, 1, 100);

  const std::string route = "e2e-live-" + std::to_string(::getpid());
  const std::string group = "tiermirror-" + route;
  auto config = (dir / "route.yaml").string();
  auto write_config = [&](const std::string& regex) {
    std::ofstream(config) << route_yaml(env, route, "[{regex: '" + regex + "'}]",
                                        "partition_sync: {interval: 2s}\n");
  };
  write_config(regex_escape(base) + "-.*");
  RunProcess run(config, dir / "run.log");
  ASSERT_GT(run.pid(), 0);

  Readers rd(env);
  rd.refresh();
  // The target partition N holds exactly source partition N's batches.
  auto mirrored = [&](const std::string& topic, int32_t p) {
    TopicPartition tp{topic, p};
    int64_t s = high_watermark(rd.source.cluster, tp);
    return s > 0 && high_watermark(rd.target.cluster, tp) == s;
  };
  auto expect_identical = [&](const std::string& topic, int32_t p) {
    TopicPartition tp{topic, p};
    auto src = app::read_partition(rd.source.cluster, tp);
    auto dst = app::read_partition(rd.target.cluster, tp);
    auto proof = app::prove_identity(dst.batches, {src.batches});
    EXPECT_TRUE(proof.ok) << tp.str() << ": " << proof.detail;
  };
  auto all_mirrored = [&](const std::string& topic, int32_t partitions) {
    return [&, topic, partitions] {
      rd.target.refresh();
      for (int32_t p = 0; p < partitions; ++p)
        if (!mirrored(topic, p)) return false;
      return true;
    };
  };
  ASSERT_TRUE(wait_until(all_mirrored(a, 2), 30s, 500ms)) << "first mirror of " << a << "\n" << tail(run.log());
  ASSERT_TRUE(wait_until(all_mirrored(b, 1), 10s, 500ms)) << "first mirror of " << b << "\n" << tail(run.log());

  // Growth: the source topic gets two more partitions; the route finds them, the syncer grows the
  // target, and the new partitions are mirrored N -> N without a restart.
  ASSERT_FALSE(source_admin.create_partitions(a, 4, kAdminTimeout));
  ASSERT_EQ(real::settled_partitions(source_admin, a, 4), 4);
  produce(a, 4, 50);
  ASSERT_TRUE(wait_until(all_mirrored(a, 4), 40s, 500ms)) << "after growing " << a << " to 4 partitions\n"
                                                         << tail(run.log());
  EXPECT_EQ(real::settled_partitions(target_admin, a, 4), 4);

  // A new topic that matches the whitelist: created on the target and mirrored, no restart.
  ASSERT_EQ(real::create_settled_topic(source_admin, c, 2), "");
  produce(c, 2, 60);
  ASSERT_TRUE(wait_until(all_mirrored(c, 2), 40s, 500ms)) << "new topic " << c << "\n" << tail(run.log());

  // Narrowed whitelist, SIGHUP: b is dropped, a and c go on.
  write_config(regex_escape(base) + "-(a|c)");
  ASSERT_EQ(::kill(run.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until(
      [&] {
        auto log = run.log();
        auto at = log.find("route reconfigured");
        return at != std::string::npos && log.find(b, at) != std::string::npos;
      },
      15s))
      << "the reload never retired " << b << "\n" << tail(run.log());
  int64_t b_target_before = high_watermark(rd.target.cluster, {b, 0});
  int64_t b_source_before = high_watermark(rd.source.cluster, {b, 0});
  ASSERT_EQ(b_target_before, b_source_before);
  produce(b, 1, 40);  // after the reload: must stay on the source
  produce(a, 4, 30);  // still mirrored
  produce(c, 2, 30);
  ASSERT_TRUE(wait_until(all_mirrored(a, 4), 30s, 500ms)) << "after the reload\n" << tail(run.log());
  ASSERT_TRUE(wait_until(all_mirrored(c, 2), 30s, 500ms)) << "after the reload\n" << tail(run.log());

  // Kafka's own tool reads the route's progress from the source group: no lag on what is still
  // selected; the dropped topic keeps the offset where it was retired (its later records lag).
  std::string raw;
  std::map<TopicPartition, std::pair<int64_t, int64_t>> lag;
  auto settled = [&] {
    lag = describe_group(env, group, &raw);
    for (int32_t p = 0; p < 4; ++p)
      if (!lag.count({a, p}) || lag[{a, p}].second != 0) return false;
    for (int32_t p = 0; p < 2; ++p)
      if (!lag.count({c, p}) || lag[{c, p}].second != 0) return false;
    return true;
  };
  ASSERT_TRUE(wait_until(settled, 40s, 1000ms)) << "kafka-consumer-groups --describe --group " << group << ":\n" << raw;
  const TopicPartition b0{b, 0};
  ASSERT_TRUE(lag.count(b0)) << raw;
  EXPECT_EQ(lag[b0].first, b_source_before) << raw;
  EXPECT_EQ(lag[b0].second, 40) << raw;
  // By now a and c moved on twice over; b's target did not.
  rd.target.refresh();
  EXPECT_EQ(high_watermark(rd.target.cluster, {b, 0}), b_target_before) << "data produced to " << b
                                                                        << " after it was dropped reached the target";
  for (int32_t p = 0; p < 4; ++p) expect_identical(a, p);
  for (int32_t p = 0; p < 2; ++p) expect_identical(c, p);

  auto status = run.terminate();
  EXPECT_EQ(status, std::optional<int>(0)) << tail(run.log());
  EXPECT_EQ(refusals(run.log()), "");
  std::printf("[ summary  ] kafka %s: running route: %s grown 2 -> 4 partitions and mirrored, new topic %s mirrored, "
              "%s dropped by SIGHUP (40 later records stayed on the source); kafka-consumer-groups shows LAG 0 on the "
              "6 selected partitions\n",
              env.kafka_version.c_str(), a.c_str(), c.c_str(), b.c_str());
}


// Issue 18: the target broker holding a partition (replication factor 1, so nobody else can
// lead it) is down when the route starts after a kill -9, for longer than the resume scan's
// deadline. The partition waits in resume_waiting and scans again once the broker is back:
// every batch delivered before the kill is found, none sent twice, none lost.
TEST(RealMirror, ResumeWaitsForATargetBrokerDownAtStart) {
  TIERMIRROR_REAL_ENV(env);
  if (env.target.brokers < 2) GTEST_SKIP() << "needs a target cluster of 2 or more brokers";
  real::Scratch dir("tm-real-e2e");
  const std::string topic = real::unique_topic("resume-wait");
  const std::string route = "e2e-resume-wait-" + std::to_string(::getpid());
  auto source_admin = admin_for("source", env.source.bootstrap);
  auto target_admin = admin_for("target", env.target.bootstrap);
  ASSERT_EQ(real::create_settled_topic(source_admin, topic, 1), "");
  if (auto e = target_admin.create_topic(topic, 1, 1, {}, kAdminTimeout)) FAIL() << e->str();
  ASSERT_EQ(real::settled_partitions(target_admin, topic, 1), 1);
  for (const char* codec : {"none", "lz4", "zstd"}) {
    app::TrafficOptions t;
    t.codec = codec;
    t.records = 3000;
    app::produce_traffic(env.source.bootstrap, topic, t);
  }
  const TopicPartition tp{topic, 0};
  Readers rd(env);
  rd.refresh();

  // First life: everything delivered, nothing committed (commit_interval 1h), then kill -9.
  auto yaml = route_yaml(env, route, "[" + topic + "]");
  auto first = yaml;
  first.replace(first.find("commit_interval: 1s"), 19, "commit_interval: 1h");
  std::ofstream(dir / "first.yaml") << first;
  {
    RunProcess run((dir / "first.yaml").string(), dir / "first.log");
    ASSERT_GT(run.pid(), 0);
    const int64_t end = high_watermark(rd.source.cluster, tp);
    ASSERT_TRUE(wait_until([&] { return high_watermark(rd.target.cluster, tp) == end; }, 60s, 100ms))
        << tail(run.log());
  }  // SIGKILL

  auto md = rd.target.refresh();
  ASSERT_TRUE(md && md->partition(topic, 0));
  const int node = md->partition(topic, 0)->leader;
  ASSERT_GE(node, 1);
  ASSERT_TRUE(env.stop_node(env.target, node));
  struct Restart {
    const real::RealEnv& env;
    int node;
    bool started = false;
    ~Restart() {
      if (!started) env.start_node(env.target, node);
    }
  } restart{env, node};

  // Second life: the scan's deadline is max(2 x 5 s, 10 s); the broker stays down longer. Its
  // address is left out of the bootstrap list: this is about the resume scan, not bootstrapping.
  const std::string down = ":" + std::to_string(md->brokers.at(node).endpoint.port);
  std::string others;
  std::istringstream list(env.target.bootstrap);
  for (std::string b; std::getline(list, b, ',');)
    if (b.size() < down.size() || b.compare(b.size() - down.size(), down.size(), down) != 0)
      others += (others.empty() ? "" : ",") + b;
  auto second = yaml + "limits: {request_timeout: 5s}\n";
  second.replace(second.find(yaml_list(env.target.bootstrap)), yaml_list(env.target.bootstrap).size(),
                 yaml_list(others));
  std::ofstream(dir / "second.yaml") << second;
  RunProcess run((dir / "second.yaml").string(), dir / "second.log", {"--until-caught-up"});
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_until([&] { return run.log().find("the partition waits and scans again") != std::string::npos; },
                         60s, 200ms))
      << tail(run.log());
  std::this_thread::sleep_for(12s);  // past the scan deadline: still waiting, nothing sent
  EXPECT_EQ(run.log().find("resuming at the committed offset"), std::string::npos) << tail(run.log());
  ASSERT_TRUE(env.start_node(env.target, node));
  restart.started = true;
  auto status = run.wait(120s);
  ASSERT_EQ(status, std::optional<int>(0)) << tail(run.log());
  EXPECT_EQ(refusals(run.log()), "");

  rd.refresh();
  auto src = app::read_partition(rd.source.cluster, tp);
  auto dst = app::read_partition(rd.target.cluster, tp);
  EXPECT_EQ(dst.batches.size(), src.batches.size()) << "duplicated (or lost) batches";
  auto proof = app::prove_identity(dst.batches, {src.batches});
  EXPECT_TRUE(proof.ok) << proof.detail;
  std::printf("resume wait on %s: broker %d down at start; %zu source batches, %zu target batches\n",
              env.kafka_version.c_str(), node, src.batches.size(), dst.batches.size());
}

// start_position: latest (docs/configuration.md): what the source held before the route's first
// start is not mirrored, and the end it started at is committed at the first round, so a process
// killed before it mirrored anything starts there again: records written while none ran are
// mirrored, none skipped.
TEST(RealMirror, ALatestStartIsCommittedSoAKillBeforeAnyDataSkipsNothing) {
  TIERMIRROR_REAL_ENV(env);
  real::Scratch dir("tm-real-e2e");
  const std::string topic = real::unique_topic("latest");
  const std::string route = "e2e-latest-" + std::to_string(::getpid());
  auto source_admin = admin_for("source", env.source.bootstrap);
  ASSERT_EQ(real::create_settled_topic(source_admin, topic, 1), "");
  auto produce = [&](uint64_t seed) {
    app::TrafficOptions t;
    t.codec = "lz4";
    t.records = 200;
    t.seed = seed;
    return app::produce_traffic(env.source.bootstrap, topic, t);
  };
  produce(1);  // before the route's first start: not ours
  const TopicPartition tp{topic, 0};
  Readers rd(env);
  rd.refresh();
  const size_t before = app::read_partition(rd.source.cluster, tp).batches.size();
  ASSERT_GT(before, 0u);

  std::ofstream(dir / "route.yaml") << route_yaml(env, route, "[" + topic + "]", "start_position: latest\n");
  {
    RunProcess run((dir / "route.yaml").string(), dir / "first.log");
    ASSERT_GT(run.pid(), 0);
    ASSERT_TRUE(wait_until([&] { return run.log().find("partition running") != std::string::npos; }, 60s, 100ms))
        << tail(run.log());
    std::this_thread::sleep_for(3s);  // commit rounds (1 s) with nothing new to mirror
  }  // SIGKILL
  produce(2);  // while no process runs
  auto r = run_until_caught_up((dir / "route.yaml").string(), dir / "second.log");
  ASSERT_EQ(r.status, std::optional<int>(0)) << why_not_finished(r);
  rd.refresh();
  auto src = app::read_partition(rd.source.cluster, tp);
  auto dst = app::read_partition(rd.target.cluster, tp);
  ASSERT_FALSE(src.ec || dst.ec);
  std::vector<protocol::RecordBatchView> ours(src.batches.begin() + static_cast<std::ptrdiff_t>(before), src.batches.end());
  EXPECT_EQ(dst.batches.size(), ours.size()) << "only the batches written after the first start, each once\n"
                                             << tail(r.log);
  auto proof = app::prove_identity(dst.batches, {ours});
  EXPECT_TRUE(proof.ok) << proof.detail;
}

}  // namespace
}  // namespace tiermirror::test
