#include "tiermirror/audit/model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "tiermirror/common/errors.h"

namespace tiermirror::audit {

using nlohmann::json;

// ------------------------------------------------------------------------------- time

int64_t bucket_floor(int64_t ts_ms, int64_t bucket_ms) {
  int64_t r = ts_ms % bucket_ms;
  return ts_ms - (r < 0 ? r + bucket_ms : r);
}

namespace {

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, public domain math).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool read_int(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc() || p != s.data() + digits) return false;
  s.remove_prefix(digits);
  return true;
}

bool eat(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::string format_utc(int64_t ts_ms) {
  int64_t secs = ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000;
  int ms = static_cast<int>(ts_ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  if (ms)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<int64_t> parse_utc(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) && s.size() > 10) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return std::nullopt;
  }
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!read_int(s, 4, y) || !eat(s, '-') || !read_int(s, 2, mo) || !eat(s, '-') || !read_int(s, 2, d))
    return std::nullopt;
  if (!s.empty()) {
    if (!eat(s, 'T') || !read_int(s, 2, h) || !eat(s, ':') || !read_int(s, 2, mi)) return std::nullopt;
    if (eat(s, ':')) {
      if (!read_int(s, 2, sec)) return std::nullopt;
      if (eat(s, '.') && !read_int(s, 3, ms)) return std::nullopt;
    }
    if (!eat(s, 'Z') || !s.empty()) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  // Reject dates like 02-31: they would silently roll into the next month.
  int64_t next_month = mo == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, static_cast<unsigned>(mo + 1), 1);
  if (days >= next_month) return std::nullopt;
  return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

// ------------------------------------------------------------------------------- latency

void LatencyHistogram::add(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);  // clocks of producers and this host may disagree a little
  auto it = std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), ms);
  counts_[static_cast<size_t>(it - kBoundsMs.begin())]++;
  count_++;
  max_ = std::max(max_, ms);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
}

int64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return -1;
  auto need = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
  need = std::clamp<uint64_t>(need, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= need) return i < kBoundsMs.size() ? std::min(kBoundsMs[i], max_) : max_;
  }
  return max_;
}

bool LatencyHistogram::assign(const std::vector<uint64_t>& counts, int64_t max_ms) {
  if (counts.size() != kBuckets) return false;
  uint64_t total = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    counts_[i] = counts[i];
    total += counts[i];
  }
  if ((total == 0) != (max_ms < 0)) return false;
  count_ = total;
  max_ = max_ms;
  return true;
}

// ------------------------------------------------------------------------------- records

std::string_view to_string(Tier t) { return t == Tier::source ? "source" : "target"; }

std::string to_json(const AuditRecord& r) {
  json j;
  j["schema"] = r.schema;
  j["kind"] = r.kind == AuditRecord::Kind::counts ? "counts" : "progress";
  j["id"] = r.id;
  j["route"] = r.route;
  j["source_cluster"] = r.source_cluster;
  j["target_cluster"] = r.target_cluster;
  j["topic"] = r.topic;
  j["published_ms"] = r.published_ms;
  if (r.kind == AuditRecord::Kind::progress) {
    j["watermark_ms"] = r.watermark_ms;
    j["partitions_total"] = r.partitions_total;
    j["partitions_behind"] = r.partitions_behind;
    return j.dump();
  }
  j["tier"] = to_string(r.tier);
  j["cluster"] = r.cluster();
  j["bucket_start"] = format_utc(r.bucket_start_ms);
  j["bucket_end"] = format_utc(r.bucket_end_ms);
  j["bucket_start_ms"] = r.bucket_start_ms;
  j["bucket_end_ms"] = r.bucket_end_ms;
  j["records"] = r.records;
  j["batches"] = r.batches;
  j["bytes"] = r.bytes;
  j["lost"] = r.lost;
  if (r.tier == Tier::target) {
    json l;
    l["p50_ms"] = r.latency.quantile(0.5);
    l["p99_ms"] = r.latency.quantile(0.99);
    l["max_ms"] = r.latency.max_ms();
    l["histogram"] = std::vector<uint64_t>(r.latency.counts().begin(), r.latency.counts().end());
    j["latency"] = std::move(l);
  }
  json parts = json::object();
  for (const auto& [p, s] : r.partitions) {
    json o;
    o["first_offset"] = s.first_offset;
    o["last_offset"] = s.last_offset;
    if (r.schema >= 2) {
      o["segment"] = s.segment;
      o["end"] = s.end;
      o["records"] = s.records;
      o["batches"] = s.batches;
      o["bytes"] = s.bytes;
      if (r.tier == Tier::source) o["lost"] = s.lost;
    }
    if (!s.lost_ranges.empty()) {
      json ranges = json::array();
      for (const auto& [a, b] : s.lost_ranges) ranges.push_back({a, b});
      o["lost_ranges"] = std::move(ranges);
    }
    parts[std::to_string(p)] = std::move(o);
  }
  j["partitions"] = std::move(parts);
  return j.dump();
}

Result<AuditRecord> from_json(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> Result<AuditRecord> {
    if (why) *why = std::move(reason);
    return errc::malformed;
  };
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  // Every field read goes through these, so a wrong type is an error, never an exception.
  auto str = [&](const char* k, std::string& out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [](const json& o, const char* k, auto& out) {
    auto it = o.find(k);
    if (it == o.end() || !it->is_number_integer()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  AuditRecord r;
  int schema = 0;
  if (!num(j, "schema", schema)) return fail("no schema number");
  if (schema > AuditRecord::kSchema) return fail("schema " + std::to_string(schema) + " is newer than this reader");
  if (schema < 1) return fail("schema " + std::to_string(schema) + " is not a schema");
  r.schema = schema;
  std::string kind, tier;
  if (!str("kind", kind) || (kind != "counts" && kind != "progress")) return fail("kind is not counts or progress");
  r.kind = kind == "counts" ? AuditRecord::Kind::counts : AuditRecord::Kind::progress;
  if (!str("id", r.id) || r.id.empty()) return fail("no id");
  if (!str("route", r.route) || !str("source_cluster", r.source_cluster) || !str("target_cluster", r.target_cluster) ||
      !str("topic", r.topic))
    return fail("route, source_cluster, target_cluster and topic are required");
  if (!num(j, "published_ms", r.published_ms)) return fail("no published_ms");
  if (r.kind == AuditRecord::Kind::progress) {
    if (!num(j, "watermark_ms", r.watermark_ms) || !num(j, "partitions_total", r.partitions_total) ||
        !num(j, "partitions_behind", r.partitions_behind))
      return fail("progress needs watermark_ms, partitions_total, partitions_behind");
    return r;
  }
  if (!str("tier", tier) || (tier != "source" && tier != "target")) return fail("tier is not source or target");
  r.tier = tier == "source" ? Tier::source : Tier::target;
  if (!num(j, "bucket_start_ms", r.bucket_start_ms) || !num(j, "bucket_end_ms", r.bucket_end_ms) ||
      r.bucket_end_ms <= r.bucket_start_ms)
    return fail("bucket_start_ms/bucket_end_ms missing or empty");
  if (!num(j, "records", r.records) || !num(j, "batches", r.batches) || !num(j, "bytes", r.bytes) ||
      !num(j, "lost", r.lost))
    return fail("records, batches, bytes and lost are required");
  if (auto l = j.find("latency"); l != j.end()) {
    int64_t max_ms = -1;
    auto h = l->find("histogram");
    if (!l->is_object() || !num(*l, "max_ms", max_ms) || h == l->end() || !h->is_array()) return fail("bad latency");
    std::vector<uint64_t> counts;
    for (const auto& c : *h) {
      if (!c.is_number_unsigned()) return fail("bad latency histogram");
      counts.push_back(c.get<uint64_t>());
    }
    if (!r.latency.assign(counts, max_ms)) return fail("latency histogram does not match schema 1");
  }
  auto parts = j.find("partitions");
  if (parts == j.end() || !parts->is_object()) return fail("no partitions object");
  for (const auto& [key, o] : parts->items()) {
    int32_t p = -1;
    auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), p);
    if (ec != std::errc() || ptr != key.data() + key.size() || p < 0 || !o.is_object())
      return fail("bad partition entry '" + key + "'");
    PartitionSpan s;
    if (!num(o, "first_offset", s.first_offset) || !num(o, "last_offset", s.last_offset))
      return fail("partition " + key + " needs first_offset and last_offset");
    if (schema >= 2) {
      if (!num(o, "segment", s.segment) || !num(o, "end", s.end) || !num(o, "records", s.records) ||
          !num(o, "batches", s.batches) || !num(o, "bytes", s.bytes) || s.end < s.segment)
        return fail("partition " + key + " needs segment, end, records, batches and bytes (schema 2)");
      if (o.contains("lost") && !num(o, "lost", s.lost)) return fail("partition " + key + ": bad lost");
    }
    if (auto lr = o.find("lost_ranges"); lr != o.end()) {
      if (!lr->is_array()) return fail("bad lost_ranges");
      for (const auto& range : *lr) {
        if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() || !range[1].is_number_integer())
          return fail("bad lost range");
        s.lost_ranges.emplace_back(range[0].get<int64_t>(), range[1].get<int64_t>());
      }
    }
    r.partitions[p] = std::move(s);
  }
  return r;
}

}  // namespace tiermirror::audit
