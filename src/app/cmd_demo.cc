// `tiermirror demo`: in-process clusters for two local datacenters and one aggregate,
// keyed traffic in every codec written by librdkafka producers, hand-made batches for the
// paths an operator worries about (compaction, oversized batches, transactions, legacy
// formats), two routes mirroring both locals into the aggregate, and a proof, read back
// from the clusters, of what the aggregate holds.
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <random>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/app/signals.h"
#include "tiermirror/audit/counters.h"
#include "tiermirror/audit/publisher.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/records.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/pipeline/route.h"
#include "tiermirror/protocol/crc32c.h"

namespace tiermirror::app {
namespace {

using protocol::Codec;
using protocol::RecordBatchView;

constexpr const char* kTopic = "events";
constexpr int kPartitions = 6;
// One partition of hand-made batches on dc-a, mirrored by dc-a's route only.
constexpr const char* kPathsTopic = "paths";
// On dc-a, never mirrored: tells whether the cluster lists aborted transactions in Fetch.
constexpr const char* kAbortCheckTopic = "aborted-check";
constexpr const char* kAuditTopic = "__tiermirror_audit";
// The aggregate's max.message.bytes for 'paths', handed to the routes as the syncer would.
constexpr size_t kPathsLimit = 16 << 10;
constexpr Codec kCodecs[] = {Codec::none, Codec::gzip, Codec::snappy, Codec::lz4, Codec::zstd};

long long ll(int64_t v) { return static_cast<long long>(v); }
// "1 batch", "2 batches".
std::string count(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}
unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- hand-made batches: what the log cleaner, a transactional producer or an old client leaves ---

void put_be(Bytes& b, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

void reseal(Bytes& b) {  // the CRC-32C covers attributes to the end
  put_be(b, RecordBatchView::kCrc,
         protocol::crc32c(ByteSpan(b).subspan(RecordBatchView::kCrcCoverageStart)), 4);
}

// A v2 batch of `kvs` (record i at base_ts + i), written by the repack path's own encoder.
Bytes v2_batch(const std::vector<std::pair<std::string, std::string>>& kvs, Codec codec, int64_t base_ts) {
  std::vector<pipeline::Record> records;
  for (size_t i = 0; i < kvs.size(); ++i) {
    pipeline::Record r;
    r.timestamp_delta = static_cast<int64_t>(i);
    r.key = ByteSpan(reinterpret_cast<const uint8_t*>(kvs[i].first.data()), kvs[i].first.size());
    r.value = ByteSpan(reinterpret_cast<const uint8_t*>(kvs[i].second.data()), kvs[i].second.size());
    records.push_back(r);
  }
  pipeline::BatchEncodeOptions o;
  o.codec = codec;
  auto out = pipeline::encode_records(records, base_ts, o);
  if (!out) throw std::runtime_error("demo: cannot encode a batch: " + out.error().message());
  return std::move(*out);
}

std::vector<std::pair<std::string, std::string>> kvs(const std::string& prefix, int n, size_t value_bytes,
                                                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    std::string v = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"";
    while (v.size() + 2 < value_bytes) v += static_cast<char>('a' + rng() % 26);
    out.emplace_back(prefix + "-" + std::to_string(i), v + "\"}");
  }
  return out;
}

// Marks a batch as written inside a transaction of producer `pid`.
void make_transactional(Bytes& b, int64_t pid, bool control) {
  uint16_t attrs = static_cast<uint16_t>((b[RecordBatchView::kAttributes] << 8) | b[RecordBatchView::kAttributes + 1]);
  attrs |= RecordBatchView::kTransactionalBit;
  if (control) attrs |= RecordBatchView::kControlBit;
  put_be(b, RecordBatchView::kAttributes, attrs, 2);
  put_be(b, RecordBatchView::kProducerId, static_cast<uint64_t>(pid), 8);
  put_be(b, RecordBatchView::kProducerEpoch, 0, 2);
  put_be(b, RecordBatchView::kBaseSequence, 0, 4);
  reseal(b);
}

// A transaction marker (ControlRecordType: 0 abort, 1 commit): key version 0 + type, value
// version 0 + coordinator epoch 0.
Bytes marker(int64_t pid, bool commit, int64_t ts) {
  std::string key{'\0', '\0', '\0', static_cast<char>(commit ? 1 : 0)};
  std::string value(6, '\0');
  auto b = v2_batch({{key, value}}, Codec::none, ts);
  make_transactional(b, pid, true);
  return b;
}

// As the log cleaner leaves a batch whose last records it removed: lastOffsetDelta kept.
Bytes compacted(int records, int32_t last_offset_delta, int64_t ts) {
  auto b = v2_batch(kvs("compacted", records, 60, 7), Codec::none, ts);
  put_be(b, RecordBatchView::kLastOffsetDelta, static_cast<uint32_t>(last_offset_delta), 4);
  reseal(b);
  return b;
}

// A batch the cleaner emptied: header only, recordsCount 0.
Bytes emptied(int64_t ts) {
  auto b = v2_batch(kvs("emptied", 1, 20, 8), Codec::none, ts);
  b.resize(RecordBatchView::kHeaderSize);
  put_be(b, RecordBatchView::kBatchLength, RecordBatchView::kHeaderSize - RecordBatchView::kLogOverhead, 4);
  put_be(b, RecordBatchView::kRecordsCount, 0, 4);
  reseal(b);
  return b;
}

uint32_t crc32_ieee(ByteSpan data) {  // legacy messages' checksum (reflected 0xEDB88320)
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t byte : data) {
    c ^= byte;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A magic-1 message set as a pre-0.11 client wrote it: offset, size, crc, magic, attributes,
// timestamp, key, value per message.
Bytes legacy_v1(int n, int64_t ts) {
  Bytes out;
  uint64_t offset = 0;
  for (const auto& [k, v] : kvs("legacy", n, 40, 9)) {
    Bytes m(4 + 1 + 1 + 8);  // crc, magic, attributes (no codec), timestamp
    m[4] = 1;
    put_be(m, 6, static_cast<uint64_t>(ts), 8);
    for (const auto* s : {&k, &v}) {
      size_t at = m.size();
      m.resize(at + 4 + s->size());
      put_be(m, at, s->size(), 4);
      std::copy(s->begin(), s->end(), m.begin() + static_cast<std::ptrdiff_t>(at + 4));
    }
    put_be(m, 0, crc32_ieee(ByteSpan(m).subspan(4)), 4);
    size_t at = out.size();
    out.resize(at + 12);
    put_be(out, at, offset++, 8);
    put_be(out, at + 8, m.size(), 4);
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

// The paths the demo tries to take through a route, and what became of each attempt.
struct PathPlan {
  std::string what;     // how the output names it
  std::string not_why;  // why it could not be exercised ("" when it was planted)
};

}  // namespace

int cmd_demo(const DemoOptions& opts) {
  sigset_t signals = block_shutdown_signals();
  auto t0 = std::chrono::steady_clock::now();
  bool all_ok = true;
  std::printf("tiermirror demo: three in-process Kafka clusters (librdkafka's mock brokers), two routes\n");
  auto dca = std::make_unique<MockCluster>("dc-a", 3);
  auto dcb = std::make_unique<MockCluster>("dc-b", 3);
  auto aggregate = std::make_unique<MockCluster>("aggregate", 3);
  for (auto* c : {dca.get(), dcb.get(), aggregate.get()}) c->create_topic(kTopic, kPartitions, 1);
  dca->create_topic(kPathsTopic, 1, 1);
  dca->create_topic(kAbortCheckTopic, 1, 1);
  aggregate->create_topic(kPathsTopic, 1, 1);
  aggregate->create_topic(kAuditTopic, 1, 1);
  std::printf("  dc-a       %s  topics '%s' (%d partitions), '%s' (1)\n", dca->bootstrap().c_str(), kTopic,
              kPartitions, kPathsTopic);
  std::printf("  dc-b       %s  topic '%s' (%d partitions)\n", dcb->bootstrap().c_str(), kTopic, kPartitions);
  std::printf("  aggregate  %s  topics '%s', '%s', '%s'\n", aggregate->bootstrap().c_str(), kTopic, kPathsTopic,
              kAuditTopic);

  std::printf("\nproducing %d keyed records per codec into '%s' of dc-a (idempotent producer) and dc-b (plain)\n",
              opts.records_per_codec, kTopic);
  int64_t produced = 0;
  std::map<Codec, int64_t> produced_by_codec;
  uint64_t seed = 1;
  for (auto* c : {dca.get(), dcb.get()}) {
    for (Codec codec : kCodecs) {
      TrafficOptions t;
      t.codec = std::string(protocol::to_string(codec));
      t.records = opts.records_per_codec;
      t.idempotent = c == dca.get();
      t.seed = seed++;
      int n = produce_traffic(c->bootstrap(), kTopic, t);
      produced += n;
      produced_by_codec[codec] += n;
    }
  }

  // Batches librdkafka's producer never writes, planted raw into dc-a's 'paths'. Whatever the
  // mock refuses is reported as not exercised, with the broker's own answer.
  std::printf("planting batches into '%s' of dc-a that librdkafka's producer never writes:\n", kPathsTopic);
  const TopicPartition paths_tp{kPathsTopic, 0};
  int64_t ts = wall_ms();
  std::vector<PathPlan> plans;
  auto plant = [&](const std::string& what, const Bytes& batch) {
    auto why = append_raw_batch(dca->bootstrap(), paths_tp, batch);
    std::printf("  %-62s %s\n", what.c_str(), why.empty() ? "stored" : ("refused: " + why).c_str());
    plans.push_back({what, why.empty() ? "" : "dc-a refused it: " + why});
    return why.empty();
  };
  // The mock numbers offsets by recordsCount, not lastOffsetDelta: the batch after the compacted
  // one must hold the offset past its lastOffsetDelta (where every reader fetches next), as the
  // committed transaction's 4 records do. On a real broker the offsets would simply skip.
  plant("a plain batch of 3 records", v2_batch(kvs("plain", 3, 60, 1), Codec::none, ts));
  bool compacted_stored = plant("a compacted batch: 3 records left, lastOffsetDelta 5", compacted(3, 5, ts));
  {
    auto data = v2_batch(kvs("committed", 4, 60, 3), Codec::none, ts);
    make_transactional(data, 4242, false);
    plant("a committed transaction: 4 records", data);
    plant("  and its COMMIT marker", marker(4242, true, ts));
  }
  {
    auto large = v2_batch(kvs("large", 48, 800, 2), Codec::gzip, ts);
    plant("a " + std::to_string(large.size() >> 10) + " KiB gzip batch of 48 records (the aggregate takes " +
              std::to_string(kPathsLimit >> 10) + " KiB)",
          large);
  }
  // An aborted transaction only makes sense where Fetch says it was aborted: ask the cluster.
  {
    auto data = v2_batch(kvs("aborted", 2, 60, 4), Codec::none, ts);
    make_transactional(data, 4343, false);
    const TopicPartition check_tp{kAbortCheckTopic, 0};
    std::string why = append_raw_batch(dca->bootstrap(), check_tp, data);
    if (why.empty()) why = append_raw_batch(dca->bootstrap(), check_tp, marker(4343, false, ts));
    net::IoThread check_io;
    auto reader = net::Cluster::create(check_io.io(), net::parse_endpoints(dca->bootstrap()),
                                       net::ClusterOptions::named("dc-a"));
    auto dump = why.empty() ? read_partition(reader, check_tp) : PartitionDump{};
    reader->close();
    if (why.empty() && dump.ec) why = "cannot read it back: " + dump.ec.message();
    if (why.empty() && dump.aborted.empty()) {
      plans.push_back({"an aborted transaction",
                       "dc-a listed no aborted transaction in a read_committed Fetch of one planted in '" +
                           std::string(kAbortCheckTopic) + "'"});
      std::printf("  %-62s %s\n", "an aborted transaction", "skipped: the cluster cannot say it was aborted");
    } else if (!why.empty()) {
      plans.push_back({"an aborted transaction", why});
      std::printf("  %-62s %s\n", "an aborted transaction", ("refused: " + why).c_str());
    } else {
      plant("an aborted transaction: 2 records", data);
      plant("  and its ABORT marker", marker(4343, false, ts));
    }
  }
  plant("a batch the cleaner emptied: 0 records", emptied(ts));
  plant("a legacy magic-1 message set of 3 messages", legacy_v1(3, ts));

  if (compacted_stored)
    std::printf("  (the mock numbers offsets by record count, not lastOffsetDelta, so the batch after the compacted\n"
                "  one starts inside its offsets; the route cannot know that and may warn on stderr that it sends\n"
                "  that batch whole: the proof below shows whether anything reached the aggregate twice)\n");

  net::IoThread io;
  struct DemoRoute {
    std::string name;
    std::shared_ptr<net::Cluster> src, dst;
    std::shared_ptr<pipeline::Route> route;
    std::shared_ptr<audit::Publisher> publisher;
    std::promise<void> caught_up;
  };
  std::vector<std::unique_ptr<DemoRoute>> routes;
  for (auto* c : {dca.get(), dcb.get()}) {
    auto r = std::make_unique<DemoRoute>();
    r->name = c->name() + "-to-aggregate";
    r->src = net::Cluster::create(io.io(), net::parse_endpoints(c->bootstrap()), net::ClusterOptions::named(c->name()));
    r->dst = net::Cluster::create(io.io(), net::parse_endpoints(aggregate->bootstrap()),
                                  net::ClusterOptions::named("aggregate"));
    pipeline::RouteOptions ro;
    ro.name = r->name;
    ro.select_topic = [](const std::string& t) { return t == kTopic || t == kPathsTopic; };
    ro.group = "tiermirror-" + r->name;
    ro.commit_interval = net::Millis(1000);
    ro.fetch_max_wait = net::Millis(100);
    auto counters = std::make_shared<audit::Counters>(10 * 60 * 1000);
    ro.observers.push_back(counters);
    audit::PublisherOptions po;
    po.route = r->name;
    po.source_cluster = c->name();
    po.target_cluster = "aggregate";
    po.topic = kAuditTopic;
    po.interval = net::Millis(2000);
    r->publisher = audit::Publisher::create(io.io(), r->dst, counters, po);
    ro.before_commit = r->publisher->commit_gate();
    r->route = pipeline::Route::create(io.io(), r->src, r->dst, ro);
    // What `run`'s syncer reads from the target; 'events' keeps Kafka's default.
    r->route->set_max_message_bytes({{kPathsTopic, kPathsLimit}});
    r->route->start([name = r->name](std::error_code ec, std::string why) {
      std::fprintf(stderr, "demo: route %s failed: %s (%s)\n", name.c_str(), why.c_str(), ec.message().c_str());
    });
    auto* raw = r.get();
    r->route->on_caught_up([raw] { raw->caught_up.set_value(); });
    routes.push_back(std::move(r));
  }
  std::printf("\nmirroring: dc-a -> aggregate and dc-b -> aggregate, partition N to partition N, until caught up\n");
  auto status_of = [](pipeline::Route& route) {
    return net::await<std::vector<pipeline::PartitionStatus>>([&](auto done) { route.status(done); });
  };
  // The routes' own counters, to hold against what the read-back shows.
  uint64_t route_repacked = 0, route_dropped = 0;
  std::map<std::string, uint64_t> route_repacked_by_reason;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (auto& r : routes) {
    auto fut = r->caught_up.get_future();
    while (fut.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::printf("  %s did not catch up within 90s\n", r->name.c_str());
        all_ok = false;
        break;
      }
    }
    pipeline::PartitionStatus sum;
    auto st = status_of(*r->route);
    for (const auto& p : st) {
      sum.batches += p.batches;
      sum.records += p.records;
      sum.repacked += p.repacked;
      sum.dropped += p.dropped;
      for (const auto& [why, n] : p.repacked_by_reason) route_repacked_by_reason[why] += n;
    }
    route_repacked += sum.repacked;
    route_dropped += sum.dropped;
    std::printf("  %s: %zu partitions, %llu records in %llu batches acknowledged by the aggregate\n",
                r->name.c_str(), st.size(), ull(sum.records), ull(sum.batches));
  }
  for (auto& r : routes) {
    std::promise<void> stopped;
    r->route->stop(net::Millis(5000), [&stopped] { stopped.set_value(); });
    stopped.get_future().wait();
    std::promise<std::error_code> flushed;
    r->publisher->flush_and_stop(net::Millis(5000), [&flushed](std::error_code ec) { flushed.set_value(ec); });
    if (auto ec = flushed.get_future().get()) {
      std::printf("  %s: the audit counts were not published: %s\n", r->name.c_str(), ec.message().c_str());
      all_ok = false;
    }
  }

  auto reader_a = net::Cluster::create(io.io(), net::parse_endpoints(dca->bootstrap()), net::ClusterOptions::named("dc-a"));
  auto reader_b = net::Cluster::create(io.io(), net::parse_endpoints(dcb->bootstrap()), net::ClusterOptions::named("dc-b"));
  auto reader_g = net::Cluster::create(io.io(), net::parse_endpoints(aggregate->bootstrap()),
                                       net::ClusterOptions::named("aggregate"));

  std::printf("\nproof for '%s', read back raw from all three clusters (nothing decompressed): every aggregate\n"
              "partition N holds exactly the batches of partition N of dc-a and dc-b, each source's order kept,\n"
              "records sections byte-identical\n",
              kTopic);
  int64_t proven_records = 0;
  std::map<Codec, CodecTally> tally_a, tally_b, tally_g, proven;
  for (int p = 0; p < kPartitions; ++p) {
    auto a = read_partition(reader_a, {kTopic, p});
    auto b = read_partition(reader_b, {kTopic, p});
    auto g = read_partition(reader_g, {kTopic, p});
    if (a.ec || b.ec || g.ec) {
      std::printf("  partition %d: cannot read back: %s\n", p, (a.ec ? a.ec : b.ec ? b.ec : g.ec).message().c_str());
      all_ok = false;
      continue;
    }
    auto tally = [](const PartitionDump& d, std::map<Codec, CodecTally>& into) {
      int64_t records = 0;
      for (const auto& x : d.batches) {
        into[x.codec()].batches++;
        into[x.codec()].records += x.records_count();
        records += x.records_count();
      }
      return records;
    };
    int64_t ra = tally(a, tally_a), rb = tally(b, tally_b), rg = tally(g, tally_g);
    auto proof = prove_identity(g.batches, {a.batches, b.batches});
    std::printf("  partition %d: dc-a %zu batches/%lld records + dc-b %zu/%lld -> aggregate %zu/%lld: %s\n", p,
                a.batches.size(), ll(ra), b.batches.size(), ll(rb), g.batches.size(), ll(rg),
                proof.ok ? "identical" : proof.detail.c_str());
    all_ok &= proof.ok && proof.records == ra + rb;
    proven_records += proof.records;
    if (proof.ok)
      for (const auto& [c, t] : proof.by_codec) {
        proven[c].batches += t.batches;
        proven[c].records += t.records;
      }
  }
  std::printf("per codec, over all %d partitions (batches/records, from the batch headers read back; proven: the\n"
              "aggregate batches matched byte-identical to a source batch; set: records whose producer used it):\n",
              kPartitions);
  std::printf("  %-6s  %13s  %13s  %13s  %13s  %6s\n", "codec", "dc-a", "dc-b", "aggregate", "proven", "set");
  for (Codec c : kCodecs) {
    auto cell = [](const CodecTally& t) { return std::to_string(t.batches) + "/" + std::to_string(t.records); };
    CodecTally sources{tally_a[c].batches + tally_b[c].batches, tally_a[c].records + tally_b[c].records};
    bool codec_ok = proven[c].batches == sources.batches && proven[c].records == sources.records &&
                    tally_g[c].batches == sources.batches && tally_g[c].records == sources.records;
    std::printf("  %-6s  %13s  %13s  %13s  %13s  %6lld  %s\n", std::string(protocol::to_string(c)).c_str(), cell(tally_a[c]).c_str(),
                cell(tally_b[c]).c_str(), cell(tally_g[c]).c_str(), cell(proven[c]).c_str(), ll(produced_by_codec[c]),
                !codec_ok                   ? "MISMATCH"
                : proven[c].batches == 0 ? "no batch in this codec: not exercised"
                                         : "byte-identical");
    all_ok &= codec_ok;
  }
  // librdkafka sends a batch uncompressed when compressing would not make it smaller (tiny
  // batches): the headers, not the producers' settings, say what the aggregate holds.
  int64_t uncompressed_extra = tally_a[Codec::none].records + tally_b[Codec::none].records - produced_by_codec[Codec::none];
  if (uncompressed_extra > 0)
    std::printf("  (%lld records of compressing producers are in batches librdkafka wrote uncompressed: compressing\n"
                "  them would not have made them smaller)\n",
                ll(uncompressed_extra));
  if (proven_records != produced) {
    std::printf("records proven in the aggregate (%lld) differ from records produced (%lld)\n", ll(proven_records),
                ll(produced));
    all_ok = false;
  } else {
    std::printf("all %lld produced records are in the aggregate, batch for batch\n", ll(produced));
  }

  // The paths: the source batches read back from dc-a, the target's from the aggregate, matched
  // record by record (repacked batches are decoded for that, and only they).
  std::printf("\nproof for '%s' (dc-a partition 0 -> aggregate partition 0), each source batch followed into the\n"
              "aggregate; repacked ones decoded and compared record by record (keys, values, headers, timestamps):\n",
              kPathsTopic);
  auto ps = read_partition(reader_a, paths_tp);
  auto pg = read_partition(reader_g, paths_tp);
  struct Seen {
    uint64_t batches = 0, target_batches = 0;
    int64_t records = 0;
  };
  std::map<std::string, Seen> seen;  // by path
  if (ps.ec || pg.ec) {
    std::printf("  cannot read back: %s\n", (ps.ec ? ps.ec : pg.ec).message().c_str());
    all_ok = false;
  } else {
    auto proof = prove_delivery(ps, pg.batches);
    for (const auto& step : proof.steps) {
      std::string path;
      if (step.how == Delivery::repacked) {
        auto why = pipeline::needs_repack(step.source, kPathsLimit);
        path = "repacked: " + std::string(why ? pipeline::to_string(*why) : "(needed none)");
      } else {
        path = std::string(to_string(step.how));
      }
      auto& s = seen[path];
      s.batches++;
      s.records += step.source.records_count();
      s.target_batches += step.target_batches;
      std::string what = count(step.source.records_count(), "record", "records") + ", " +
                         std::string(protocol::to_string(step.source.codec())) +
                         (step.source.is_control()         ? ", marker"
                          : step.source.is_transactional() ? ", transactional"
                                                           : "");
      std::printf("  offset %3lld  %-30s -> %-22s -> %s\n", ll(step.source.base_offset()), what.c_str(), path.c_str(),
                  count(step.target_batches, "aggregate batch", "aggregate batches").c_str());
    }
    std::printf("  %s: %zu source batches -> %zu aggregate batches\n",
                proof.ok ? "same records, nothing else" : proof.detail.c_str(), ps.batches.size(), pg.batches.size());
    all_ok &= proof.ok;
  }
  // The read-back against the routes' own counters: two independent accounts of one run.
  uint64_t seen_repacked = 0, seen_dropped = 0;
  for (const auto& [path, s] : seen) {
    if (path.rfind("repacked: ", 0) == 0) {
      seen_repacked += s.batches;
      if (route_repacked_by_reason[path.substr(10)] != s.batches) all_ok = false;
    }
    if (path.rfind("dropped", 0) == 0) seen_dropped += s.batches;
  }
  bool counters_agree = seen_repacked == route_repacked && seen_dropped == route_dropped;
  std::printf("  the routes' own counters: %llu repacked, %llu dropped: %s\n", ull(route_repacked), ull(route_dropped),
              counters_agree ? "the same as read back" : "DIFFERENT from what was read back");
  all_ok &= counters_agree;

  struct Path {
    const char* label;
    const char* key;  // in `seen`
    const char* planted_as;  // the plan's `what` prefix, for why it was not exercised
  };
  const Path paths[] = {
      {"forwarded as fetched (records section unchanged)", "forwarded", nullptr},
      {"repacked, compacted (offset gaps), same records", "repacked: offset_gaps", "a compacted batch"},
      {"repacked, larger than the target's limit, split", "repacked: too_large", "a gzip batch"},
      {"dropped, transaction marker (read_committed)", "dropped (control)", "  and its COMMIT marker"},
      {"dropped, aborted transaction data", "dropped (aborted)", "an aborted transaction"},
      {"repacked, empty batch (nothing to deliver)", "repacked: empty", "a batch the cleaner emptied"},
      {"repacked, legacy v0/v1 message set to v2", "repacked: legacy_format", "a legacy magic-1"},
  };
  std::printf("paths exercised (counted from the read-back):\n");
  for (const auto& p : paths) {
    auto it = seen.find(p.key);
    if (it == seen.end()) continue;
    std::printf("  %-50s %s, %s -> %s\n", p.label, count(it->second.batches, "batch", "batches").c_str(),
                count(it->second.records, "record", "records").c_str(),
                count(it->second.target_batches, "aggregate batch", "aggregate batches").c_str());
  }
  std::printf("paths NOT exercised:\n");
  int not_exercised = 0;
  for (const auto& p : paths) {
    if (seen.count(p.key)) continue;
    ++not_exercised;
    std::string why = "planted, but no source batch took this path: FAILED";
    for (const auto& plan : plans)
      if (p.planted_as && plan.what.rfind(p.planted_as, 0) == 0 && !plan.not_why.empty()) why = plan.not_why;
    if (why.find("FAILED") != std::string::npos) all_ok = false;
    std::printf("  %s:\n    %s\n", p.label, why.c_str());
  }
  if (not_exercised == 0) std::printf("  none\n");
  else
    std::printf("  (the real-Kafka tier, tests/real/mirror_real_test.cc, covers aborted transactions, batches the\n"
                "  cleaner emptied and legacy message sets on Apache Kafka brokers)\n");

  for (auto& c : {reader_a, reader_b, reader_g}) c->close();
  for (auto& r : routes) {
    r->src->close();
    r->dst->close();
  }

  // The same report `tiermirror audit report --bootstrap <aggregate>` prints. The records
  // were produced just now, so their buckets are still open (grace for late data).
  std::printf("\ntier audit (from the audit topic '%s' on the aggregate, as `tiermirror audit report` shows it):\n",
              kAuditTopic);
  std::fflush(stdout);
  AuditOptions ao;
  ao.bootstrap = aggregate->bootstrap();
  ao.audit_topic = kAuditTopic;
  if (cmd_audit(ao) != 0) all_ok = false;
  std::fflush(stdout);

  auto next_steps = [&](const std::string& dca_bootstrap, const std::string& aggregate_bootstrap) {
    std::printf("next: look at the raw batch headers of 'paths' on both sides yourself, then mirror your own clusters:\n");
    if (!opts.serve)
      std::printf("  tiermirror demo --serve        # keeps the clusters up until Ctrl-C, prints their bootstraps\n");
    std::printf("  tiermirror probe --bootstrap %s --topic %s --partition 0\n"
                "  tiermirror probe --bootstrap %s --topic %s --partition 0\n"
                "  cp config/tiermirror.example.yaml route.yaml   # your clusters and topics\n"
                "  tiermirror validate --config route.yaml && tiermirror run --config route.yaml\n",
                dca_bootstrap.c_str(), kPathsTopic, aggregate_bootstrap.c_str(), kPathsTopic);
  };
  if (opts.serve) {
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\ndemo %s in %.1fs (clusters started, traffic produced, mirrored, proven, audited)\n",
                all_ok ? "ok" : "FAILED", secs);
    next_steps(dca->bootstrap(), aggregate->bootstrap());
    std::printf("serving until interrupted (Ctrl-C)\nbootstrap dc-a=%s\nbootstrap dc-b=%s\nbootstrap aggregate=%s\n",
                dca->bootstrap().c_str(), dcb->bootstrap().c_str(), aggregate->bootstrap().c_str());
    std::fflush(stdout);
    int sig = wait_for_signal(signals);
    std::printf("signal %d: stopping the clusters\n", sig);
    return all_ok ? 0 : 1;
  }
  // Stopped before the clock is read, so the time covers everything the command does.
  io.stop();
  aggregate.reset();
  dcb.reset();
  dca.reset();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\ndemo %s in %.1fs (clusters started, traffic produced, mirrored, proven, audited, clusters stopped)\n",
              all_ok ? "ok" : "FAILED", secs);
  next_steps("<dc-a bootstrap>", "<aggregate bootstrap>");
  return all_ok ? 0 : 1;
}

}  // namespace tiermirror::app
