// `tiermirror demo`: in-process clusters for two local datacenters and one aggregate,
// keyed traffic in every codec written by librdkafka producers, two routes mirroring both
// locals into the aggregate, and a proof that the aggregate holds exactly their batches.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/app/signals.h"
#include "tiermirror/audit/counters.h"
#include "tiermirror/audit/publisher.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/route.h"

#include <future>

namespace tiermirror::app {
namespace {

constexpr const char* kTopic = "events";
constexpr int kPartitions = 6;
constexpr const char* kAuditTopic = "__tiermirror_audit";
const char* kCodecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};

}  // namespace

int cmd_demo(const DemoOptions& opts) {
  sigset_t signals = block_shutdown_signals();
  auto t0 = std::chrono::steady_clock::now();
  std::printf("tiermirror demo: starting in-process Kafka clusters (librdkafka mock brokers)\n");
  MockCluster dca("dc-a", 3), dcb("dc-b", 3), aggregate("aggregate", 3);
  aggregate.create_topic(kAuditTopic, 1, 1);
  for (auto* c : {&dca, &dcb, &aggregate}) {
    c->create_topic(kTopic, kPartitions, 1);
    std::printf("  %-9s bootstrap %s, topic '%s' with %d partitions\n", c->name().c_str(), c->bootstrap().c_str(),
                kTopic, kPartitions);
  }

  std::printf("producing %d keyed records per codec into dc-a (idempotent producer) and dc-b (plain producer)\n",
              opts.records_per_codec);
  int64_t produced = 0;
  uint64_t seed = 1;
  for (auto* c : {&dca, &dcb}) {
    for (const char* codec : kCodecs) {
      TrafficOptions t;
      t.codec = codec;
      t.records = opts.records_per_codec;
      t.idempotent = c == &dca;
      t.seed = seed++;
      produced += produce_traffic(c->bootstrap(), kTopic, t);
    }
  }

  net::IoThread io;
  struct DemoRoute {
    std::string name;
    MockCluster* source;
    std::shared_ptr<net::Cluster> src, dst;
    std::shared_ptr<pipeline::Route> route;
    std::shared_ptr<audit::Publisher> publisher;
    std::promise<void> caught_up;
  };
  std::vector<std::unique_ptr<DemoRoute>> routes;
  for (auto* c : {&dca, &dcb}) {
    auto r = std::make_unique<DemoRoute>();
    r->name = c->name() + "-to-aggregate";
    r->source = c;
    r->src = net::Cluster::create(io.io(), net::parse_endpoints(c->bootstrap()), net::ClusterOptions::named(c->name()));
    r->dst = net::Cluster::create(io.io(), net::parse_endpoints(aggregate.bootstrap()), net::ClusterOptions::named("aggregate"));
    pipeline::RouteOptions ro;
    ro.name = r->name;
    ro.select_topic = [](const std::string& t) { return t == kTopic; };
    ro.group = "tiermirror-" + r->name;
    ro.commit_interval = net::Millis(1000);
    ro.fetch_max_wait = net::Millis(100);
    auto counters = std::make_shared<audit::Counters>(10 * 60 * 1000);
    ro.observers.push_back(counters);
    r->route = pipeline::Route::create(io.io(), r->src, r->dst, ro);
    audit::PublisherOptions po;
    po.route = r->name;
    po.source_cluster = c->name();
    po.target_cluster = "aggregate";
    po.topic = kAuditTopic;
    po.interval = net::Millis(2000);
    auto route = r->route;
    r->publisher = audit::Publisher::create(io.io(), r->dst, counters,
                                            [route](auto handler) { route->status(std::move(handler)); }, po);
    r->publisher->start();
    r->route->start([name = r->name](std::error_code ec, std::string why) {
      std::fprintf(stderr, "demo: route %s failed: %s (%s)\n", name.c_str(), why.c_str(), ec.message().c_str());
    });
    auto* raw = r.get();
    r->route->on_caught_up([raw] { raw->caught_up.set_value(); });
    routes.push_back(std::move(r));
  }
  std::printf("mirroring with two routes, dc-a -> aggregate and dc-b -> aggregate, partition N to partition N\n");
  auto totals = [](pipeline::Route& route) {
    auto st = net::await<std::vector<pipeline::PartitionStatus>>([&](auto done) { route.status(done); });
    pipeline::PartitionStatus sum;
    for (const auto& p : st) {
      sum.batches += p.batches;
      sum.records += p.records;
      sum.bytes += p.bytes;
      sum.repacked += p.repacked;
      sum.dropped += p.dropped;
    }
    return std::make_pair(sum, st.size());
  };
  bool all_ok = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (auto& r : routes) {
    auto fut = r->caught_up.get_future();
    while (fut.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) {
      auto [sum, n] = totals(*r->route);
      std::printf("  %s: %llu records in %llu batches acknowledged by the aggregate\n", r->name.c_str(),
                  static_cast<unsigned long long>(sum.records), static_cast<unsigned long long>(sum.batches));
      if (std::chrono::steady_clock::now() > deadline) {
        std::printf("  %s did not catch up within 90s\n", r->name.c_str());
        all_ok = false;
        break;
      }
    }
    auto [sum, n] = totals(*r->route);
    std::printf("  %s: caught up: %zu partitions, %llu batches, %llu records, %llu bytes, %llu repacked, %llu dropped\n",
                r->name.c_str(), n, static_cast<unsigned long long>(sum.batches),
                static_cast<unsigned long long>(sum.records), static_cast<unsigned long long>(sum.bytes),
                static_cast<unsigned long long>(sum.repacked), static_cast<unsigned long long>(sum.dropped));
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

  std::printf("proof: every aggregate partition N holds exactly the batches of partition N of dc-a and dc-b,\n"
              "       each source's order kept, records sections byte-identical (read raw, nothing decompressed)\n");
  auto reader_a = net::Cluster::create(io.io(), net::parse_endpoints(dca.bootstrap()), net::ClusterOptions::named("dc-a"));
  auto reader_b = net::Cluster::create(io.io(), net::parse_endpoints(dcb.bootstrap()), net::ClusterOptions::named("dc-b"));
  auto reader_g = net::Cluster::create(io.io(), net::parse_endpoints(aggregate.bootstrap()), net::ClusterOptions::named("aggregate"));
  int64_t proven_records = 0;
  for (int p = 0; p < kPartitions; ++p) {
    auto a = read_partition(reader_a, {kTopic, p});
    auto b = read_partition(reader_b, {kTopic, p});
    auto g = read_partition(reader_g, {kTopic, p});
    if (a.ec || b.ec || g.ec) {
      std::printf("  partition %d: cannot read back: %s\n", p, (a.ec ? a.ec : b.ec ? b.ec : g.ec).message().c_str());
      all_ok = false;
      continue;
    }
    auto proof = prove_identity(g.batches, {a.batches, b.batches});
    int64_t ra = 0, rb = 0;
    for (const auto& x : a.batches) ra += x.records_count();
    for (const auto& x : b.batches) rb += x.records_count();
    std::printf("  partition %d: dc-a %zu batches/%lld records + dc-b %zu batches/%lld records -> aggregate %zu batches/%lld records: %s\n",
                p, a.batches.size(), static_cast<long long>(ra), b.batches.size(), static_cast<long long>(rb),
                g.batches.size(), static_cast<long long>(proof.records), proof.ok ? "identical" : proof.detail.c_str());
    all_ok &= proof.ok && proof.records == ra + rb;
    proven_records += proof.records;
  }
  for (auto& c : {reader_a, reader_b, reader_g}) c->close();
  for (auto& r : routes) {
    r->src->close();
    r->dst->close();
  }
  if (proven_records != produced) {
    std::printf("records in the aggregate (%lld) differ from records produced (%lld)\n",
                static_cast<long long>(proven_records), static_cast<long long>(produced));
    all_ok = false;
  } else {
    std::printf("all %lld produced records are in the aggregate, batch for batch\n", static_cast<long long>(produced));
  }

  // The same report `tiermirror audit report --bootstrap <aggregate>` prints. The records
  // were produced just now, so their buckets are still open (grace for late data).
  std::printf("\ntier audit (from the audit topic '%s' on the aggregate):\n", kAuditTopic);
  std::fflush(stdout);
  AuditOptions ao;
  ao.bootstrap = aggregate.bootstrap();
  ao.audit_topic = kAuditTopic;
  if (cmd_audit(ao) != 0) all_ok = false;
  std::fflush(stdout);

  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("demo finished in %.1fs: %s\n", secs, all_ok ? "ok" : "FAILED");

  if (opts.serve) {
    std::printf("\nserving until interrupted (Ctrl-C). Try:\n  tiermirror probe --bootstrap %s --topic %s --partition 0\n",
                dca.bootstrap().c_str(), kTopic);
    std::printf("bootstrap dc-a=%s\nbootstrap dc-b=%s\nbootstrap aggregate=%s\n", dca.bootstrap().c_str(),
                dcb.bootstrap().c_str(), aggregate.bootstrap().c_str());
    std::fflush(stdout);
    int sig = wait_for_signal(signals);
    std::printf("signal %d: stopping the clusters\n", sig);
  }
  return all_ok ? 0 : 1;
}

}  // namespace tiermirror::app
