#include "tiermirror/audit/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>

#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/records.h"

namespace tiermirror::audit {

namespace {

// How far one route has counted one topic, from its progress records.
struct RouteProgress {
  std::string target_cluster;
  int64_t last_published_ms = -1;
  int64_t watermark_ms = -1;  // the latest watermark published
  int32_t partitions_total = 0, partitions_behind = 0;
};
using RouteKey = std::pair<std::string, std::string>;  // route, topic

struct Deduped {
  std::vector<const AuditRecord*> records;
  size_t duplicates = 0;
  std::map<RouteKey, RouteProgress> progress;
};

Deduped dedupe(const std::vector<AuditRecord>& records) {
  Deduped d;
  std::set<std::string> seen;
  for (const auto& r : records) {
    if (!seen.insert(r.id).second) {
      d.duplicates++;
      continue;
    }
    d.records.push_back(&r);
    auto& p = d.progress[{r.route, r.topic}];
    p.target_cluster = r.target_cluster;
    if (r.kind != AuditRecord::Kind::progress) continue;
    if (r.published_ms >= p.last_published_ms) {
      p.last_published_ms = r.published_ms;
      p.partitions_total = r.partitions_total;
      p.partitions_behind = r.partitions_behind;
    }
    p.watermark_ms = std::max(p.watermark_ms, r.watermark_ms);
  }
  return d;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f%%", v * 100.0);
  return buf;
}

std::string millis(int64_t ms) {
  if (ms < 0) return "-";
  char buf[32];
  if (ms < 10000)
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

// Why [start, end) of `topic` into `target_cluster` may still change, or "" when it cannot.
std::string open_reason(const Deduped& d, const std::string& topic, const std::string& target_cluster, int64_t start,
                        int64_t end, int64_t grace_ms, int64_t now_ms) {
  if (now_ms < end + grace_ms) return "grace period for late data until " + format_utc(end + grace_ms);
  for (const auto& [key, p] : d.progress) {
    if (key.second != topic || p.target_cluster != target_cluster) continue;
    if (p.last_published_ms < start) continue;  // the route was gone before the bucket began
    if (p.watermark_ms >= end + grace_ms) continue;
    std::string why = "route " + key.first + " has counted '" + topic + "' only through " +
                      (p.watermark_ms < 0 ? std::string("nothing yet") : format_utc(p.watermark_ms));
    if (p.partitions_behind > 0)
      why += " (" + std::to_string(p.partitions_behind) + " of " + std::to_string(p.partitions_total) +
             " partitions behind)";
    why += "; last report " + format_utc(p.last_published_ms);
    return why;
  }
  return "";
}

double ratio(uint64_t target, uint64_t expected) {
  return expected == 0 ? 1.0 : static_cast<double>(target) / static_cast<double>(expected);
}

}  // namespace

namespace {

// What one record adds to its bucket. Schema 1 records are deltas: all of them count.
// Schema 2 partition entries are cumulative over a segment: per (route, tier, topic, bucket,
// partition, segment) only the entry with the largest end counts (docs/audit.md).
struct Contribution {
  const AuditRecord* r;
  uint64_t records = 0, batches = 0, bytes = 0, lost = 0;
  bool latency = false;
};

std::vector<Contribution> contributions(const std::vector<const AuditRecord*>& records) {
  std::vector<Contribution> out;
  using Key = std::tuple<std::string, Tier, std::string, int64_t, int32_t, int64_t>;
  std::map<Key, std::pair<const AuditRecord*, const PartitionSpan*>> latest;
  for (const auto* r : records) {
    if (r->kind != AuditRecord::Kind::counts) continue;
    if (r->schema < 2) {
      out.push_back({r, r->records, r->batches, r->bytes, r->lost, true});
      continue;
    }
    out.push_back({r, 0, 0, 0, 0, true});  // its latency samples (deltas)
    for (const auto& [p, span] : r->partitions) {
      auto& best = latest[{r->route, r->tier, r->topic, r->bucket_start_ms, p, span.segment}];
      if (!best.second || span.end > best.second->end) best = {r, &span};
    }
  }
  for (const auto& [k, best] : latest) {
    const auto& s = *best.second;
    out.push_back({best.first, s.records, s.batches, s.bytes, s.lost, false});
  }
  return out;
}

}  // namespace

Report build_report(const std::vector<AuditRecord>& records, const ReportOptions& opts) {
  Report rep;
  rep.records_read = records.size();
  auto d = dedupe(records);
  rep.duplicates = d.duplicates;
  using Key = std::tuple<std::string, std::string, int64_t, int64_t>;  // topic, target cluster, start, end
  std::map<Key, BucketReport> buckets;
  std::map<Key, std::map<std::pair<std::string, Tier>, TierCount>> tiers;
  for (const auto& c : contributions(d.records)) {
    const AuditRecord* r = c.r;
    if (opts.topic && r->topic != *opts.topic) continue;
    if (opts.from_ms && r->bucket_start_ms < *opts.from_ms) continue;
    if (opts.to_ms && r->bucket_start_ms >= *opts.to_ms) continue;
    Key k{r->topic, r->target_cluster, r->bucket_start_ms, r->bucket_end_ms};
    auto& b = buckets[k];
    b.topic = r->topic;
    b.target_cluster = r->target_cluster;
    b.start_ms = r->bucket_start_ms;
    b.end_ms = r->bucket_end_ms;
    auto& t = tiers[k][{r->cluster(), r->tier}];
    t.cluster = r->cluster();
    t.tier = r->tier;
    t.records += c.records;
    t.batches += c.batches;
    t.bytes += c.bytes;
    t.lost += c.lost;
    if (r->tier == Tier::source) {
      b.source_records += c.records;
      b.lost += c.lost;
    } else {
      b.target_records += c.records;
      if (c.latency) b.latency.merge(r->latency);
    }
  }
  for (auto& [k, b] : buckets) {
    for (auto& [tk, t] : tiers[k]) b.counts.push_back(t);
    std::stable_sort(b.counts.begin(), b.counts.end(),
                     [](const TierCount& x, const TierCount& y) { return x.tier == Tier::source && y.tier != Tier::source; });
    b.completeness = ratio(b.target_records, b.source_records + b.lost);
    b.open_reason = open_reason(d, b.topic, b.target_cluster, b.start_ms, b.end_ms, opts.grace_ms, opts.now_ms);
    b.open = !b.open_reason.empty();
    rep.buckets.push_back(std::move(b));
  }
  return rep;
}

std::string render_table(const Report& r) {
  // Columns as wide as their widest cell, so the usual report fits 120 columns; why a bucket is
  // open goes on its own line under it, as long as it needs.
  std::vector<std::vector<std::string>> rows{{"topic", "bucket (UTC)", "length", "sources (records)", "lost",
                                              "target (records)", "complete", "p50<=", "p99<=", "max", "state"}};
  for (const auto& b : r.buckets) {
    std::string sources, target;
    for (const auto& t : b.counts) {
      auto& s = t.tier == Tier::source ? sources : target;
      if (!s.empty()) s += " ";
      s += t.cluster + "=" + std::to_string(t.records);
    }
    rows.push_back({b.topic, format_utc(b.start_ms), std::to_string((b.end_ms - b.start_ms) / 60000) + "m", sources,
                    std::to_string(b.lost), target, percent(b.completeness), millis(b.latency.quantile(0.5)),
                    millis(b.latency.quantile(0.99)), millis(b.latency.max_ms()), b.open ? "open" : "closed"});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  const std::set<size_t> right{4, 6, 7, 8, 9};  // numbers
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < rows[i].size(); ++c) {
      const auto& cell = rows[i][c];
      std::string pad(width[c] - cell.size(), ' ');
      if (c > 0) line += c == rows[i].size() - 1 ? "  " : " ";
      line += right.count(c) ? pad + cell : (c == rows[i].size() - 1 ? cell : cell + pad);
    }
    out += line + "\n";
    if (i > 0 && r.buckets[i - 1].open) out += "  open: " + r.buckets[i - 1].open_reason + "\n";
  }
  if (r.buckets.empty()) out += "(no audit counts match)\n";
  out += "latency: from a batch's newest record to the target's ack; p50<= and p99<= are upper bounds: the bound of\n"
         "the histogram bucket holding that quantile, or the exact max when smaller\n";
  char line[128];
  std::snprintf(line, sizeof line, "%zu audit records read, %zu duplicates dropped\n", r.records_read, r.duplicates);
  out += line;
  return out;
}

std::string render_json(const Report& r) {
  nlohmann::json j;
  j["records_read"] = r.records_read;
  j["duplicates"] = r.duplicates;
  auto& arr = j["buckets"] = nlohmann::json::array();
  for (const auto& b : r.buckets) {
    nlohmann::json o;
    o["topic"] = b.topic;
    o["target_cluster"] = b.target_cluster;
    o["bucket_start"] = format_utc(b.start_ms);
    o["bucket_end"] = format_utc(b.end_ms);
    o["source_records"] = b.source_records;
    o["lost"] = b.lost;
    o["target_records"] = b.target_records;
    o["completeness"] = b.completeness;
    o["latency_ms"] = {{"p50", b.latency.quantile(0.5)}, {"p99", b.latency.quantile(0.99)}, {"max", b.latency.max_ms()}};
    o["open"] = b.open;
    if (b.open) o["open_reason"] = b.open_reason;
    auto& counts = o["counts"] = nlohmann::json::array();
    for (const auto& t : b.counts)
      counts.push_back({{"cluster", t.cluster},
                        {"tier", to_string(t.tier)},
                        {"records", t.records},
                        {"batches", t.batches},
                        {"bytes", t.bytes},
                        {"lost", t.lost}});
    arr.push_back(std::move(o));
  }
  return j.dump(2) + "\n";
}

CheckResult check(const std::vector<AuditRecord>& records, const std::string& topic, int64_t start_ms, int64_t end_ms,
                  double min_completeness, int64_t grace_ms, int64_t now_ms) {
  auto d = dedupe(records);
  std::set<std::string> targets;
  uint64_t source = 0, lost = 0, target = 0;
  size_t buckets = 0;
  std::set<std::pair<int64_t, std::string>> seen_buckets;
  for (const auto* r : d.records)
    if (r->topic == topic) targets.insert(r->target_cluster);
  for (const auto& c : contributions(d.records)) {
    const AuditRecord* r = c.r;
    if (r->topic != topic) continue;
    if (r->bucket_end_ms <= start_ms || r->bucket_start_ms >= end_ms) continue;
    if (r->bucket_start_ms < start_ms || r->bucket_end_ms > end_ms)
      return {2, "cannot tell: the window " + format_utc(start_ms) + "/" + format_utc(end_ms) +
                     " does not align with the audit buckets (" + format_utc(r->bucket_start_ms) + " to " +
                     format_utc(r->bucket_end_ms) + ")"};
    if (seen_buckets.insert({r->bucket_start_ms, r->target_cluster}).second) buckets++;
    if (r->tier == Tier::source) {
      source += c.records;
      lost += c.lost;
    } else {
      target += c.records;
    }
  }
  if (targets.empty()) return {2, "cannot tell: no audit records for topic '" + topic + "'"};
  for (const auto& t : targets) {
    auto why = open_reason(d, topic, t, start_ms, end_ms, grace_ms, now_ms);
    if (!why.empty()) return {2, "cannot tell: the window is still open: " + why};
  }
  double c = ratio(target, source + lost);
  std::string counts = std::to_string(target) + " of " + std::to_string(source + lost) + " records in the target (" +
                       std::to_string(lost) + " lost at the source) across " + std::to_string(buckets) + " buckets";
  if (c + 1e-12 < min_completeness)
    return {1, "incomplete: '" + topic + "' " + format_utc(start_ms) + " to " + format_utc(end_ms) + " is " +
                   percent(c) + " complete (below " + percent(min_completeness) + "): " + counts};
  return {0, "complete: '" + topic + "' " + format_utc(start_ms) + " to " + format_utc(end_ms) + " is " + percent(c) +
                 " complete: " + counts};
}

void scan_partition(const std::vector<protocol::RecordBatchView>& batches,
                    const std::vector<protocol::FetchResponse::AbortedTransaction>& aborted, const ScanOptions& opts,
                    ScanResult& out) {
  pipeline::AbortedFilter filter;
  filter.add(aborted);
  auto in_window = [&](int64_t start) { return start >= opts.from_ms && start < opts.to_ms; };
  for (const auto& b : batches) {
    if (filter.next(b) != pipeline::TxnVerdict::keep) {
      (b.is_control() ? out.control_batches : out.aborted_batches)++;
      continue;
    }
    if (b.is_legacy() || opts.exact) {
      auto parsed = pipeline::parse_records(b);
      if (!parsed) {
        out.errors.push_back("batch at offset " + std::to_string(b.base_offset()) + ": " + parsed.error().message());
        continue;
      }
      int64_t batch_ts = parsed->base_timestamp;
      if (int64_t s = bucket_floor(batch_ts, opts.bucket_ms); in_window(s)) {
        out.buckets[s].batches++;
        out.buckets[s].bytes += b.size();
        if (!opts.exact) out.buckets[s].records += parsed->records.size();
      }
      if (opts.exact)
        for (const auto& r : parsed->records)
          if (int64_t s = bucket_floor(parsed->timestamp_of(r), opts.bucket_ms); in_window(s)) out.buckets[s].records++;
      continue;
    }
    int64_t s = bucket_floor(b.base_timestamp(), opts.bucket_ms);
    if (!in_window(s)) continue;
    auto& bucket = out.buckets[s];
    bucket.records += static_cast<uint64_t>(b.records_count());
    bucket.batches++;
    bucket.bytes += b.size();
  }
}

std::optional<int64_t> recount_bucket_ms(const std::vector<AuditRecord>& records, const std::string& topic,
                                         int64_t start_ms, int64_t end_ms) {
  int64_t size = 0;
  for (const auto& r : records) {
    if (r.kind != AuditRecord::Kind::counts || r.topic != topic) continue;
    if (r.bucket_end_ms <= start_ms || r.bucket_start_ms >= end_ms) continue;
    int64_t s = r.bucket_end_ms - r.bucket_start_ms;
    if (size != 0 && s != size) return std::nullopt;
    size = s;
  }
  if (size != 0) return size;
  int64_t a = start_ms, b = end_ms - start_ms;  // gcd: buckets aligned to the epoch that tile the window
  while (b != 0) a = std::exchange(b, a % b);
  return a > 0 ? a : end_ms - start_ms;
}

CheckResult recount(const CheckResult& base, const Report& audit, const std::string& topic, const std::string& cluster,
                    const ScanResult& scan, int64_t start_ms, int64_t end_ms, int64_t bucket_ms) {
  if (base.exit_code == 2) return base;
  if (!scan.errors.empty()) return {2, "cannot tell: recounting on " + cluster + ": " + scan.errors.front()};
  auto in_window = [&](int64_t s) { return s >= start_ms && s < end_ms; };
  std::map<int64_t, std::pair<uint64_t, uint64_t>> buckets;  // start -> (held, counted)
  bool reported = false;  // did any route count this cluster as its source here?
  for (const auto& b : audit.buckets) {
    if (b.topic != topic || !in_window(b.start_ms)) continue;
    for (const auto& t : b.counts)
      if (t.tier == Tier::source && t.cluster == cluster) {
        buckets[b.start_ms].second += t.records;
        reported = true;
      }
  }
  for (const auto& [s, b] : scan.buckets)
    if (in_window(s)) buckets[s].first += b.records;
  uint64_t held = 0, counted = 0;
  std::optional<int64_t> first_short;
  size_t short_buckets = 0;
  for (const auto& [s, hc] : buckets) {
    held += hc.first;
    counted += hc.second;
    if (hc.first <= hc.second) continue;
    if (!first_short) first_short = s;
    short_buckets++;
  }
  if (first_short) {
    int64_t s = *first_short;
    auto hc = buckets[s];
    std::string line = "incomplete: " + cluster + " holds " + std::to_string(hc.first) + " records of '" + topic +
                       "' in " + format_utc(s) + ".." + format_utc(s + bucket_ms) + ", the routes counted " +
                       std::to_string(hc.second);
    line += " (";
    if (short_buckets > 1)
      line += "and " + std::to_string(short_buckets - 1) + (short_buckets > 2 ? " more buckets" : " more bucket") +
              " short; ";
    line += reported ? "a partition or route not mirrored?)"
                     : "no route reported '" + cluster + "' as its source of '" + topic +
                           "' here: a route not running, or a source.name other than " + cluster + "?)";
    if (base.exit_code == 1) line += "; and " + base.line;
    return {1, line};
  }
  std::string line = base.line + "; recounted on " + cluster + ": ";
  if (held == counted)
    line += std::to_string(held) + " records match";
  else  // the source lost data since it was counted: not a gap in the mirror
    line += "it holds " + std::to_string(held) + " records, the routes counted " + std::to_string(counted) +
            " (note: fewer on the source, retention removed data or the topic was recreated since)";
  return {base.exit_code, line};
}

}  // namespace tiermirror::audit
