// `tiermirror probe`: asks brokers directly through tiermirror's own wire client.
#include <cinttypes>
#include <cstdio>
#include <iostream>

#include "tiermirror/app/commands.h"
#include "tiermirror/common/log.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::app {
namespace {

using MetaResult = std::pair<std::error_code, net::MetadataPtr>;

std::string join(const std::vector<int32_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s.empty() ? "-" : s;
}

void print_versions(const std::shared_ptr<net::Connection>& conn) {
  static const protocol::ApiKey kApis[] = {
      protocol::ApiKey::produce,      protocol::ApiKey::fetch,          protocol::ApiKey::list_offsets,
      protocol::ApiKey::metadata,     protocol::ApiKey::offset_commit,  protocol::ApiKey::offset_fetch,
      protocol::ApiKey::find_coordinator, protocol::ApiKey::init_producer_id, protocol::ApiKey::api_versions};
  std::printf("  ApiVersions answered at v%d\n", conn->api_versions_version());
  std::printf("  %-18s %-10s %-10s %s\n", "api", "broker", "tiermirror", "using");
  for (auto api : kApis) {
    auto ours = protocol::supported_versions(api);
    auto it = conn->broker_versions().find(static_cast<int16_t>(api));
    std::string broker = it == conn->broker_versions().end()
                             ? "-"
                             : std::to_string(it->second.min) + "-" + std::to_string(it->second.max);
    auto v = conn->version_for(api);
    std::printf("  %-18s %-10s %-10s %s\n", std::string(protocol::api_name(api)).c_str(), broker.c_str(),
                (std::to_string(ours.min) + "-" + std::to_string(ours.max)).c_str(),
                v ? ("v" + std::to_string(*v)).c_str() : "none in common");
  }
}

int print_batches(const std::shared_ptr<net::Cluster>& cluster, const ProbeOptions& opts) {
  TopicPartition tp{*opts.topic, *opts.partition};
  net::Millis timeout(opts.timeout_ms);
  using OffResult = std::pair<std::error_code, int64_t>;
  auto query = [&](int64_t ts) {
    return net::await<OffResult>([&](auto done) {
      pipeline::list_offset(cluster, tp, ts, pipeline::Isolation::read_uncommitted, timeout,
                            [done](std::error_code ec, int64_t o) { done({ec, o}); });
    });
  };
  auto [eec, earliest] = query(pipeline::kEarliestTimestamp);
  auto [lec, latest] = query(pipeline::kLatestTimestamp);
  if (eec || lec) {
    std::cerr << "probe: ListOffsets for " << tp.str() << " failed: " << (eec ? eec : lec).message() << "\n";
    return 3;
  }
  int64_t offset = opts.offset.value_or(earliest);
  std::printf("\n%s: offsets %" PRId64 " to %" PRId64 " (high watermark), fetching from %" PRId64
              " (read_uncommitted: control and aborted batches included)\n",
              tp.str().c_str(), earliest, latest, offset);
  std::printf("%-12s %-12s %7s %-6s %-24s %-24s %8s %5s %8s %-5s %-5s %-4s %s\n", "base", "last", "records", "codec",
              "base_timestamp", "max_timestamp", "pid", "epoch", "seq", "txn", "ctrl", "crc", "bytes");
  int printed = 0;
  pipeline::FetchOptions fo;
  fo.isolation = pipeline::Isolation::read_uncommitted;
  fo.timeout = timeout;
  int attempts = 0;
  while (printed < opts.count && offset < latest) {
    auto fetched = net::await<pipeline::FetchedPartition>([&](auto done) {
      pipeline::fetch_partition(cluster, tp, SourceOffset{offset}, fo, done);
    });
    if (fetched.ec) {
      std::cerr << "probe: Fetch " << tp.str() << " at " << offset << " failed: " << fetched.ec.message() << "\n";
      return 3;
    }
    if (fetched.split.needs_bigger_fetch && fetched.split.batches.empty()) {
      fo.max_bytes = static_cast<int32_t>(std::min<size_t>(*fetched.split.needs_bigger_fetch, 256u << 20));
      if (++attempts > 3) return 3;
      continue;
    }
    if (!fetched.split.ok()) {
      std::cerr << "probe: malformed record set at byte " << fetched.split.error_position << ": "
                << protocol::to_string(fetched.split.error) << "\n";
      return 3;
    }
    if (fetched.split.batches.empty()) break;
    for (const auto& b : fetched.split.batches) {
      if (printed >= opts.count) break;
      if (b.is_legacy()) {
        std::printf("%-12" PRId64 " legacy message set (magic %d), %zu bytes\n", b.base_offset(), b.magic(), b.size());
      } else {
        std::printf("%-12" PRId64 " %-12" PRId64 " %7d %-6s %-24" PRId64 " %-24" PRId64 " %8" PRId64 " %5d %8d %-5s %-5s %-4s %zu\n",
                    b.base_offset(), b.last_offset().value(), b.records_count(), std::string(protocol::to_string(b.codec())).c_str(),
                    b.base_timestamp(), b.max_timestamp(), b.producer_id().value(), b.producer_epoch().value(),
                    b.base_sequence(), b.is_transactional() ? "yes" : "no", b.is_control() ? "yes" : "no",
                    b.crc_ok() ? "ok" : "BAD", b.size());
      }
      ++printed;
    }
    offset = fetched.split.next_fetch_offset.value();
  }
  std::printf("%d batch%s printed\n", printed, printed == 1 ? "" : "es");
  return 0;
}

}  // namespace

int cmd_probe(const ProbeOptions& opts) {
  auto endpoints = net::parse_endpoints(opts.bootstrap);
  if (endpoints.empty()) {
    std::cerr << "probe: --bootstrap must be HOST:PORT[,HOST:PORT...], got '" << opts.bootstrap << "'\n";
    return 2;
  }
  net::IoThread io;
  net::ClusterOptions copts;
  copts.name = "probe";
  copts.metadata_timeout = net::Millis(opts.timeout_ms);
  copts.connection.connect_timeout = net::Millis(opts.timeout_ms);
  auto cluster = net::Cluster::create(io.io(), endpoints, copts);
  auto [ec, md] = net::await<MetaResult>([&](auto done) {
    cluster->refresh(std::nullopt, [done](std::error_code e, net::MetadataPtr m) { done({e, m}); });
  });
  if (ec || !md) {
    std::cerr << "probe: no broker of " << opts.bootstrap << " answered Metadata: " << ec.message() << "\n";
    cluster->close();
    return 3;
  }
  std::printf("cluster %s, controller %d, %zu broker%s\n", md->cluster_id.value_or("(no id)").c_str(),
              md->controller_id, md->brokers.size(), md->brokers.size() == 1 ? "" : "s");
  for (const auto& [id, b] : md->brokers) {
    std::printf("broker %d at %s%s\n", id, b.endpoint.str().c_str(), b.rack ? (" rack " + *b.rack).c_str() : "");
    auto conn = cluster->broker(id);
    auto cec = net::await<std::error_code>([&](auto done) { conn->connect(done); });
    if (cec) {
      std::printf("  unreachable: %s\n", cec.message().c_str());
      continue;
    }
    print_versions(conn);
  }
  std::printf("%zu topic%s\n", md->topics.size(), md->topics.size() == 1 ? "" : "s");
  for (const auto& [name, t] : md->topics) {
    if (opts.topic && name != *opts.topic) continue;
    std::printf("topic %s: %zu partition%s%s%s\n", name.c_str(), t.partitions.size(),
                t.partitions.size() == 1 ? "" : "s", t.internal ? " (internal)" : "",
                t.error_code ? (" error " + make_error_code(static_cast<kafka_errc>(t.error_code)).message()).c_str() : "");
    for (const auto& p : t.partitions)
      std::printf("  partition %d: leader %d, replicas %s, isr %s%s\n", p.partition, p.leader, join(p.replicas).c_str(),
                  join(p.isr).c_str(), p.error_code ? (" " + make_error_code(static_cast<kafka_errc>(p.error_code)).message()).c_str() : "");
  }
  int rc = 0;
  if (opts.topic) {
    if (!md->partition(*opts.topic, *opts.partition)) {
      std::cerr << "probe: " << *opts.topic << "-" << *opts.partition << " is not in the cluster's metadata\n";
      rc = 3;
    } else {
      rc = print_batches(cluster, opts);
    }
  }
  cluster->close();
  return rc;
}

}  // namespace tiermirror::app
