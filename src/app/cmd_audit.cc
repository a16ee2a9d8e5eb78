// `tiermirror audit report|check|scan`: reads the audit topic (or, for scan, a topic's
// batch headers) through tiermirror's own wire client. docs/audit.md describes the schema.
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/audit/model.h"
#include "tiermirror/audit/report.h"
#include "tiermirror/common/log.h"
#include "tiermirror/config/units.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/records.h"

namespace tiermirror::app {
namespace {

using MetaResult = std::pair<std::error_code, net::MetadataPtr>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct TopicRead {
  std::vector<PartitionDump> partitions;
  std::string error;  // why the topic could not be read; "" when it was
};

// Every partition of `topic`, earliest to the high watermark, read_committed. Metadata is
// asked for all topics: naming one in a Metadata request (v1-v3) could auto-create it.
// With `each`, a partition is handed to it and dropped, so only one is held at a time.
TopicRead read_topic(const std::shared_ptr<net::Cluster>& cluster, const std::string& topic, net::Millis timeout,
                     const std::function<void(const PartitionDump&)>& each = {}) {
  TopicRead out;
  auto [ec, md] = net::await<MetaResult>(
      [&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
  if (ec || !md) {
    out.error = "cannot read metadata: " + ec.message();
    return out;
  }
  auto it = md->topics.find(topic);
  if (it == md->topics.end() || it->second.error_code != 0) {
    out.error = "topic '" + topic + "' not found";
    return out;
  }
  for (const auto& p : it->second.partitions) {
    auto dump = read_partition(cluster, TopicPartition{topic, p.partition}, pipeline::Isolation::read_committed, timeout);
    if (dump.ec) {
      out.error = "cannot read " + topic + "-" + std::to_string(p.partition) + ": " + dump.ec.message();
      return out;
    }
    if (each)
      each(dump);
    else
      out.partitions.push_back(std::move(dump));
  }
  return out;
}

struct AuditRead {
  std::vector<audit::AuditRecord> records;
  size_t malformed = 0;
  std::string error;
};

AuditRead read_audit(const std::shared_ptr<net::Cluster>& cluster, const std::string& topic, net::Millis timeout) {
  AuditRead out;
  auto read = read_topic(cluster, topic, timeout);
  if (!read.error.empty()) {
    out.error = "audit topic: " + read.error;
    return out;
  }
  for (const auto& part : read.partitions)
    for (const auto& batch : part.batches) {
      if (batch.is_control()) continue;
      auto parsed = pipeline::parse_records(batch);
      if (!parsed) {
        out.malformed++;
        continue;
      }
      for (const auto& r : parsed->records) {
        if (!r.value) {
          out.malformed++;
          continue;
        }
        std::string_view text(reinterpret_cast<const char*>(r.value->data()), r.value->size());
        std::string why;
        auto rec = audit::from_json(text, &why);
        if (!rec) {
          out.malformed++;
          TM_DEBUG("audit", "skipping a malformed audit record", {{"offset", parsed->offset_of(r)}, {"why", why}});
          continue;
        }
        out.records.push_back(std::move(*rec));
      }
    }
  if (out.malformed) TM_WARN("audit", "audit records that do not parse were skipped", {{"count", out.malformed}});
  return out;
}

std::optional<int64_t> time_arg(const std::optional<std::string>& s, const char* name, bool& bad) {
  if (!s) return std::nullopt;
  auto t = audit::parse_utc(*s);
  if (!t) {
    std::cerr << "tiermirror audit: " << name << " '" << *s
              << "' is not a UTC time like 2026-11-22T10:00Z or Unix milliseconds\n";
    bad = true;
  }
  return t;
}

std::optional<int64_t> duration_arg(const std::string& s, const char* name) {
  auto d = config::parse_duration(s);
  if (!d || d->count() <= 0) {
    std::cerr << "tiermirror audit: " << name << " '" << s << "' is not a positive duration like 10m or 1h\n";
    return std::nullopt;
  }
  return d->count();
}

int report(const AuditOptions& o, const std::shared_ptr<net::Cluster>& cluster) {
  bool bad = false;
  audit::ReportOptions ro;
  ro.topic = o.topic;
  ro.from_ms = time_arg(o.from, "--from", bad);
  ro.to_ms = time_arg(o.to, "--to", bad);
  auto grace = duration_arg(o.grace, "--grace");
  if (bad || !grace) return 2;
  ro.grace_ms = *grace;
  ro.now_ms = now_ms();
  auto read = read_audit(cluster, o.audit_topic, net::Millis(o.timeout_ms));
  if (!read.error.empty()) {
    std::cerr << "tiermirror audit report: " << read.error << "\n";
    return 3;
  }
  auto rep = audit::build_report(read.records, ro);
  std::cout << (o.format == "json" ? audit::render_json(rep) : audit::render_table(rep));
  return 0;
}

std::shared_ptr<net::Cluster> open_cluster(net::IoThread& io, std::vector<net::Endpoint> endpoints,
                                           const std::string& name, int timeout_ms) {
  auto o = net::ClusterOptions::named(name);
  o.metadata_timeout = net::Millis(timeout_ms);
  o.connection.connect_timeout = net::Millis(timeout_ms);
  o.connection.client_id = "tiermirror-audit";
  return net::Cluster::create(io.io(), std::move(endpoints), o);
}

struct RecountSource {
  std::string name;
  std::vector<net::Endpoint> endpoints;
};

// --recount-source NAME=HOST:PORT[,...]; nullopt when one is malformed.
std::optional<std::vector<RecountSource>> recount_sources(const std::vector<std::string>& args) {
  std::vector<RecountSource> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == 0 || eq == std::string::npos) return std::nullopt;
    RecountSource rs{a.substr(0, eq), net::parse_endpoints(a.substr(eq + 1))};
    if (rs.endpoints.empty()) return std::nullopt;
    out.push_back(std::move(rs));
  }
  return out;
}

// Counts the window on each source cluster from batch headers, as the routes count, and
// compares with the audit's source tier (audit::recount).
audit::CheckResult recount(const AuditOptions& o, net::IoThread& io, const std::vector<RecountSource>& sources,
                           const std::vector<audit::AuditRecord>& records, int64_t start, int64_t end,
                           audit::CheckResult result) {
  auto bucket = audit::recount_bucket_ms(records, *o.topic, start, end);
  if (!bucket)
    return {2, "cannot tell: the routes counted '" + *o.topic + "' in buckets of different sizes in the window"};
  audit::ReportOptions ro;
  ro.topic = o.topic;
  ro.from_ms = start;
  ro.to_ms = end;
  auto report = audit::build_report(records, ro);
  audit::ScanOptions so;
  so.from_ms = start;
  so.to_ms = end;
  so.bucket_ms = *bucket;
  for (const auto& src : sources) {
    auto cluster = open_cluster(io, src.endpoints, src.name, o.timeout_ms);
    audit::ScanResult scan;
    auto read = read_topic(cluster, *o.topic, net::Millis(o.timeout_ms),
                           [&](const PartitionDump& p) { audit::scan_partition(p.batches, p.aborted, so, scan); });
    cluster->close();
    if (!read.error.empty()) return {2, "cannot tell: recounting on " + src.name + ": " + read.error};
    result = audit::recount(result, report, *o.topic, src.name, scan, start, end, *bucket);
    if (result.exit_code == 2) break;
  }
  return result;
}

int check(const AuditOptions& o, net::IoThread& io, const std::shared_ptr<net::Cluster>& cluster) {
  // Exit 2 for anything that keeps us from an answer: a gate must never pass by default.
  auto slash = o.window.find('/');
  std::optional<int64_t> start, length;
  if (slash != std::string::npos) {
    start = audit::parse_utc(std::string_view(o.window).substr(0, slash));
    length = duration_arg(o.window.substr(slash + 1), "--window duration");
  }
  if (!start || !length) {
    std::cout << "cannot tell: --window '" << o.window << "' is not START/DURATION, e.g. 2026-11-22T10:00Z/1h\n";
    return 2;
  }
  auto grace = duration_arg(o.grace, "--grace");
  if (!grace) return 2;
  auto sources = recount_sources(o.recount_sources);
  if (!sources) {
    std::cout << "cannot tell: --recount-source wants NAME=HOST:PORT[,HOST:PORT...], e.g. dc-a=dc-a-1:9092\n";
    return 2;
  }
  auto read = read_audit(cluster, o.audit_topic, net::Millis(o.timeout_ms));
  if (!read.error.empty()) {
    std::cout << "cannot tell: " << read.error << "\n";
    return 2;
  }
  auto r = audit::check(read.records, *o.topic, *start, *start + *length, o.min_completeness, *grace, now_ms());
  if (r.exit_code != 2 && !sources->empty())
    r = recount(o, io, *sources, read.records, *start, *start + *length, std::move(r));
  std::cout << r.line << "\n";
  return r.exit_code;
}

int scan(const AuditOptions& o, const std::shared_ptr<net::Cluster>& cluster) {
  bool bad = false;
  audit::ScanOptions so;
  auto from = time_arg(o.from, "--from", bad);
  auto to = time_arg(o.to, "--to", bad);
  auto bucket = duration_arg(o.bucket, "--bucket");
  if (bad || !bucket) return 2;
  so.from_ms = from.value_or(INT64_MIN);
  so.to_ms = to.value_or(INT64_MAX);
  so.bucket_ms = *bucket;
  so.exact = o.exact;
  auto read = read_topic(cluster, *o.topic, net::Millis(o.timeout_ms));
  if (!read.error.empty()) {
    std::cerr << "tiermirror audit scan: " << read.error << "\n";
    return 3;
  }
  audit::ScanResult result;
  for (const auto& p : read.partitions) audit::scan_partition(p.batches, p.aborted, so, result);
  for (const auto& e : result.errors) std::cerr << "tiermirror audit scan: " << e << "\n";
  uint64_t records = 0, batches = 0, bytes = 0;
  if (o.format == "json") {
    nlohmann::json j;
    j["topic"] = *o.topic;
    j["exact"] = o.exact;
    auto& arr = j["buckets"] = nlohmann::json::array();
    for (const auto& [start, b] : result.buckets)
      arr.push_back({{"bucket_start", audit::format_utc(start)},
                     {"bucket_end", audit::format_utc(start + so.bucket_ms)},
                     {"records", b.records},
                     {"batches", b.batches},
                     {"bytes", b.bytes}});
    j["control_batches"] = result.control_batches;
    j["aborted_batches"] = result.aborted_batches;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("%-22s %12s %10s %14s\n", "bucket (UTC)", "records", "batches", "bytes");
    for (const auto& [start, b] : result.buckets) {
      std::printf("%-22s %12llu %10llu %14llu\n", audit::format_utc(start).c_str(),
                  static_cast<unsigned long long>(b.records), static_cast<unsigned long long>(b.batches),
                  static_cast<unsigned long long>(b.bytes));
      records += b.records;
      batches += b.batches;
      bytes += b.bytes;
    }
    std::printf("%-22s %12llu %10llu %14llu\n", "total", static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(batches), static_cast<unsigned long long>(bytes));
    std::printf("(%s; skipped %llu control and %llu aborted batches)\n",
                o.exact ? "records by their own timestamps" : "whole batches by baseTimestamp, as the counters",
                static_cast<unsigned long long>(result.control_batches),
                static_cast<unsigned long long>(result.aborted_batches));
  }
  return result.errors.empty() ? 0 : 1;
}

}  // namespace

int cmd_audit(const AuditOptions& opts) {
  auto endpoints = net::parse_endpoints(opts.bootstrap);
  if (endpoints.empty()) {
    std::cerr << "tiermirror audit: --bootstrap '" << opts.bootstrap << "' is not HOST:PORT[,HOST:PORT...]\n";
    return 2;
  }
  net::IoThread io;
  auto cluster = open_cluster(io, std::move(endpoints), "audit", opts.timeout_ms);
  int rc = 2;
  switch (opts.action) {
    case AuditOptions::Action::report: rc = report(opts, cluster); break;
    case AuditOptions::Action::check: rc = check(opts, io, cluster); break;
    case AuditOptions::Action::scan: rc = scan(opts, cluster); break;
  }
  cluster->close();
  io.stop();
  return rc;
}

}  // namespace tiermirror::app
