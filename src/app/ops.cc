#include "tiermirror/app/ops.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tiermirror/app/version.h"
#include "tiermirror/common/errors.h"
#include "tiermirror/common/log.h"

namespace tiermirror::app {

namespace {
constexpr const char* kLog = "ops";
using Labels = std::vector<prometheus::ClientMetric::Label>;
using prometheus::MetricType;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string error_name(const std::error_code& ec) {
  if (ec.category() == kafka_category()) return std::string(kafka_error_name(static_cast<int16_t>(ec.value())));
  if (ec.category() == tiermirror_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::ok: return "ok";
      case errc::truncated: return "truncated";
      case errc::malformed: return "malformed";
      case errc::unsupported_version: return "unsupported_version";
      case errc::timed_out: return "timed_out";
      case errc::disconnected: return "disconnected";
      case errc::queue_full: return "queue_full";
      case errc::shutting_down: return "shutting_down";
      case errc::no_leader: return "no_leader";
      case errc::invalid_argument: return "invalid_argument";
    }
  }
  // Bounded: a category and a code, never a message.
  return std::string(ec.category().name()) + "_" + std::to_string(ec.value());
}

// Latency from a record's timestamp to the target's acknowledgement: sub-second when
// keeping up, up to days while catching up on old data.
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.01, 0.025, 0.05, 0.1,  0.25, 0.5,   1,     2.5,
                                                        5,    10,    30,   60,   300,  900,   3600,  21600, 86400};
  return b;
}
}  // namespace

std::string_view to_string(ProcessState s) {
  switch (s) {
    case ProcessState::starting: return "starting";
    case ProcessState::running: return "running";
    case ProcessState::stopping: return "stopping";
  }
  return "?";
}

PartitionLag partition_lag(const pipeline::PartitionStatus& s, int64_t now_ms) {
  PartitionLag lag;
  if (s.high_watermark < 0) return lag;
  int64_t position = s.acked_offset >= 0 ? s.acked_offset : s.next_fetch_offset;
  if (position < 0) return lag;
  lag.records = std::max<int64_t>(0, s.high_watermark - position);
  if (lag.records > 0 && s.acked_max_timestamp >= 0)
    lag.seconds = std::max<double>(0, static_cast<double>(now_ms - s.acked_max_timestamp) / 1000.0);
  return lag;
}

Readiness readiness(const OpsSnapshot& s) {
  if (s.process == ProcessState::stopping || s.route.stopping) return {false, "stopping"};
  if (s.process == ProcessState::starting) return {false, "starting"};
  if (!s.route_answered) return {false, "the route has not answered"};
  if (!s.route.metadata_loaded) return {false, "cluster metadata not loaded yet"};
  if (!s.route.producer_ready) return {false, "no idempotent producer id from the target yet"};
  return {true, "ready"};
}

std::string_view pause_kind(std::string_view r) {
  auto has = [&](std::string_view needle) { return r.find(needle) != std::string_view::npos; };
  if (has("resume scan refused")) return "resume_scan_refused";
  if (has("TOPIC_AUTHORIZATION_FAILED")) return has("writing the target") ? "target_authorization" : "source_authorization";
  if (has("corrupt source batch") || has("malformed record set") || has("reports CORRUPT_MESSAGE"))
    return "corrupt_source_batch";
  if (has("MESSAGE_TOO_LARGE") || has("RECORD_LIST_TOO_LARGE")) return "message_too_large";
  if (has("breaks identity")) return "identity_refused";
  if (has("from the target")) return "target_refused";
  if (has("no longer exists on the source")) return "topic_deleted";
  if (has("beyond the source log end")) return "offset_beyond_log_end";
  if (has("from the source broker on Fetch")) return "source_refused";
  if (has("cannot repack")) return "repack_failed";
  if (has("no longer selected")) return "topic_unselected";
  return "other";
}

const std::vector<std::string_view>& pause_kinds() {
  static const std::vector<std::string_view> kinds{
      "corrupt_source_batch", "source_authorization", "target_authorization", "message_too_large",
      "target_refused",       "identity_refused",     "topic_deleted",        "offset_beyond_log_end",
      "repack_failed",        "topic_unselected",     "source_refused",       "resume_scan_refused",
      "other"};
  return kinds;
}

// ---------------------------------------------------------------- /status and the page

std::string status_json(const OpsSnapshot& s) {
  using json = nlohmann::ordered_json;
  auto ready = readiness(s);
  json j;
  j["route"] = s.route_name;
  j["state"] = std::string(to_string(s.process));
  j["ready"] = ready.ready;
  j["ready_reason"] = ready.reason;
  j["version"] = kVersion;
  j["started_at_ms"] = s.started_ms;
  j["now_ms"] = s.now_ms;
  j["consumer_group"] = s.consumer_group;
  j["source"] = {{"name", s.source_name}, {"bootstrap_servers", s.source_bootstrap}};
  j["target"] = {{"name", s.target_name}, {"bootstrap_servers", s.target_bootstrap}};
  j["route_answered"] = s.route_answered;
  j["buffered_bytes"] = s.route.buffered_bytes;
  j["budget_bytes"] = s.route.budget_bytes;
  if (s.receive_buffers)
    j["receive_buffers"] = {{"in_use_bytes", s.receive_buffers->taken_bytes},
                            {"idle_bytes", s.receive_buffers->idle_bytes},
                            {"reused", s.receive_buffers->reused},
                            {"resized", s.receive_buffers->resized},
                            {"allocated", s.receive_buffers->allocated}};
  j["requests_in_flight"] = {{"source", s.source_in_flight}, {"target", s.target_in_flight}};
  if (s.group) {
    const auto& g = *s.group;
    auto assigned = json::array();
    for (const auto& tp : g.assigned) assigned.push_back(tp.str());
    j["group"] = {{"member_id", g.member_id},     {"generation", g.generation},
                  {"assigned", assigned},          {"subscribed_topics", g.subscribed.size()},
                  {"may_produce", g.may_produce},  {"fence_in_ms", g.fence_in_ms},
                  {"rebalances", g.rebalances},    {"lost", g.lost}};
  }
  if (s.audit) {
    // Counts not yet in the audit topic: a stop now would report them as unpublished.
    const auto& p = s.audit->publisher;
    j["audit"] = {{"published_records", p.published},
                  {"pending_records", p.pending},
                  {"publish_failures", p.failures}};
  }
  json topics = json::array();
  std::map<std::string, json> by_topic;
  std::vector<std::string> order;
  for (const auto& p : s.route.partitions) {
    auto lag = partition_lag(p, s.now_ms);
    json jp;
    jp["partition"] = p.tp.partition;
    jp["state"] = std::string(pipeline::to_string(p.state));
    jp["reason"] = p.reason;
    jp["next_fetch_offset"] = p.next_fetch_offset;
    jp["acked_offset"] = p.acked_offset;
    jp["committed_offset"] = p.committed_offset;
    jp["high_watermark"] = p.high_watermark;
    jp["lag_records"] = lag.records;
    jp["lag_seconds"] = lag.seconds;
    jp["caught_up"] = p.caught_up;
    jp["buffered_bytes"] = p.buffered_bytes;
    jp["mirrored"] = {{"batches", p.batches}, {"records", p.records}, {"bytes", p.bytes}};
    jp["repacked"] = p.repacked;
    jp["repacked_by_reason"] = p.repacked_by_reason;
    jp["dropped"] = p.dropped;
    jp["resume"] = {{"already_delivered_batches", p.resume_matched_batches},
                    {"target_batches_scanned", p.resume_scanned_batches},
                    {"scan_failures", p.resume_scan_failures}};
    jp["acked_max_timestamp_ms"] = p.acked_max_timestamp;
    auto [it, inserted] = by_topic.try_emplace(p.tp.topic, json::array());
    if (inserted) order.push_back(p.tp.topic);
    it->second.push_back(std::move(jp));
  }
  for (const auto& t : order) topics.push_back({{"topic", t}, {"partitions", std::move(by_topic[t])}});
  j["topics"] = std::move(topics);
  // Replace rather than throw on bytes that are not UTF-8 (topic names never are, but a
  // broker's error text might be).
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string status_html(const OpsSnapshot& s) {
  using metrics::html_escape;
  auto ready = readiness(s);
  std::string h;
  h += "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tiermirror ";
  h += html_escape(s.route_name);
  h += "</title>\n<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td.l,th.l{text-align:left}"
       ".paused{background:#fdd}.waiting_target{background:#ffd}.resume_waiting{background:#ffd}.starting{background:#eef}</style>\n";
  h += "</head><body>\n<h1>tiermirror route " + html_escape(s.route_name) + "</h1>\n<p>";
  h += html_escape(s.source_name) + " (" ;
  for (size_t i = 0; i < s.source_bootstrap.size(); ++i) h += (i ? ", " : "") + html_escape(s.source_bootstrap[i]);
  h += ") &rarr; " + html_escape(s.target_name) + " (";
  for (size_t i = 0; i < s.target_bootstrap.size(); ++i) h += (i ? ", " : "") + html_escape(s.target_bootstrap[i]);
  h += ")</p>\n<p>state: <b>" + html_escape(to_string(s.process)) + "</b>; ready: <b>" +
       html_escape(ready.ready ? "yes" : "no (" + ready.reason + ")") + "</b>; version " + html_escape(kVersion) +
       "; group " + html_escape(s.consumer_group) + "</p>\n";
  h += "<p>buffered " + std::to_string(s.route.buffered_bytes) + " of " + std::to_string(s.route.budget_bytes) +
       " bytes; requests in flight: source " + std::to_string(s.source_in_flight) + ", target " +
       std::to_string(s.target_in_flight) + "</p>\n";
  h += "<p><a href=\"/status\">/status</a> <a href=\"/metrics\">/metrics</a> <a href=\"/readyz\">/readyz</a> "
       "<a href=\"/healthz\">/healthz</a></p>\n";
  h += "<table>\n<tr><th class=\"l\">topic</th><th>partition</th><th class=\"l\">state</th><th>next fetch</th>"
       "<th>acked</th><th>committed</th><th>high watermark</th><th>lag</th><th>lag s</th><th>buffered</th>"
       "<th>records</th><th>batches</th><th>repacked</th><th>dropped</th><th class=\"l\">reason</th></tr>\n";
  for (const auto& p : s.route.partitions) {
    auto lag = partition_lag(p, s.now_ms);
    std::string state(pipeline::to_string(p.state));
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", lag.seconds);
    h += "<tr class=\"" + html_escape(state) + "\"><td class=\"l\">" + html_escape(p.tp.topic) + "</td><td>" +
         std::to_string(p.tp.partition) + "</td><td class=\"l\">" + html_escape(state) + "</td><td>" +
         std::to_string(p.next_fetch_offset) + "</td><td>" + std::to_string(p.acked_offset) + "</td><td>" +
         std::to_string(p.committed_offset) + "</td><td>" + std::to_string(p.high_watermark) + "</td><td>" +
         std::to_string(lag.records) + "</td><td>" + secs + "</td><td>" + std::to_string(p.buffered_bytes) +
         "</td><td>" + std::to_string(p.records) + "</td><td>" + std::to_string(p.batches) + "</td><td>" +
         std::to_string(p.repacked) + "</td><td>" + std::to_string(p.dropped) + "</td><td class=\"l\">" +
         html_escape(p.reason) + "</td></tr>\n";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

// ---------------------------------------------------------------- metrics

namespace {
prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const std::string& name,
                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
}  // namespace

RouteMetrics::RouteMetrics(prometheus::Registry& r, std::string route, bool per_partition_labels)
    : route_(std::move(route)),
      per_partition_(per_partition_labels),
      records_(counter(r, "tiermirror_mirrored_records_total", "Records the target acknowledged, per topic")),
      batches_(counter(r, "tiermirror_mirrored_batches_total", "Batches the target acknowledged, per topic")),
      bytes_(counter(r, "tiermirror_mirrored_bytes_total", "Batch bytes the target acknowledged (as sent), per topic")),
      p_records_(counter(r, "tiermirror_partition_mirrored_records_total",
                         "Records the target acknowledged, per partition (metrics.per_partition_labels)")),
      p_batches_(counter(r, "tiermirror_partition_mirrored_batches_total",
                         "Batches the target acknowledged, per partition (metrics.per_partition_labels)")),
      p_bytes_(counter(r, "tiermirror_partition_mirrored_bytes_total",
                       "Batch bytes the target acknowledged, per partition (metrics.per_partition_labels)")),
      repacked_(counter(r, "tiermirror_batches_repacked_total",
                        "Source batches repacked instead of forwarded, by reason")),
      dropped_(counter(r, "tiermirror_batches_dropped_total",
                       "Source batches not mirrored: control markers, aborted transactions, compacted empty")),
      lost_(counter(r, "tiermirror_lost_offsets_total",
                    "Source offsets removed by retention before they were mirrored")),
      errors_(counter(r, "tiermirror_request_errors_total", "Failed requests (or partitions of one), by API and error")),
      resume_scan_failures_(counter(r, "tiermirror_resume_scan_failures_total",
                                    "Exactly-once resume scans that failed (each retried unless "
                                    "resume.on_scan_failure is duplicate), per topic")),
      sync_passes_(counter(r, "tiermirror_syncer_passes_total", "Partition-count syncer passes, by result")),
      sync_actions_(counter(r, "tiermirror_syncer_actions_total", "Syncer actions, by action and outcome")),
      sync_verdicts_(counter(r, "tiermirror_syncer_identity_verdicts_total",
                             "Target topics checked by the syncer, by identity verdict")),
      reloads_(counter(r, "tiermirror_config_reloads_total", "SIGHUP reloads, by result (applied, rejected)")),
      latency_(prometheus::BuildHistogram()
                   .Name("tiermirror_replication_latency_seconds")
                   .Help("From a batch's maxTimestamp to the target's acknowledgement")
                   .Register(r)
                   .Add({{"route", route_}}, latency_buckets())) {
  // Series that alerting expects to exist from the start (0 rather than absent).
  for (const char* result : {"applied", "rejected"}) reloads_.Add({{"route", route_}, {"result", result}});
}

void RouteMetrics::acked(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms) {
  std::lock_guard lk(mu_);
  auto it = topics_.find(tp.topic);
  if (it == topics_.end()) {
    prometheus::Labels l{{"route", route_}, {"topic", tp.topic}};
    it = topics_.emplace(tp.topic, TopicCounters{&records_.Add(l), &batches_.Add(l), &bytes_.Add(l)}).first;
  }
  it->second.records->Increment(b.records);
  it->second.batches->Increment();
  it->second.bytes->Increment(static_cast<double>(b.bytes));
  if (per_partition_) {
    auto pit = partitions_.find(tp);
    if (pit == partitions_.end()) {
      prometheus::Labels l{{"route", route_}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}};
      pit = partitions_.emplace(tp, TopicCounters{&p_records_.Add(l), &p_batches_.Add(l), &p_bytes_.Add(l)}).first;
    }
    pit->second.records->Increment(b.records);
    pit->second.batches->Increment();
    pit->second.bytes->Increment(static_cast<double>(b.bytes));
  }
  if (b.max_timestamp >= 0) latency_.Observe(std::max<double>(0, static_cast<double>(now_ms - b.max_timestamp) / 1000.0));
}

void RouteMetrics::lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view) {
  lost_.Add({{"route", route_}, {"topic", tp.topic}}).Increment(static_cast<double>(last.value() - first.value() + 1));
}

void RouteMetrics::request_failed(protocol::ApiKey api, std::error_code ec) {
  errors_.Add({{"route", route_}, {"api", std::string(protocol::api_name(api))}, {"error", error_name(ec)}}).Increment();
}

void RouteMetrics::sync_pass(const control::SyncReport& report) {
  sync_passes_.Add({{"route", route_}, {"result", report.failed() ? "failed" : "ok"}}).Increment();
  for (const auto& a : report.actions)
    sync_actions_
        .Add({{"route", route_},
              {"action", std::string(control::to_string(a.kind))},
              {"outcome", std::string(control::to_string(a.outcome))}})
        .Increment();
  for (const auto& v : report.verdicts) {
    const char* verdict = v.incomplete ? "incomplete" : v.refused ? "refused" : v.ok() ? "ok" : "warning";
    sync_verdicts_.Add({{"route", route_}, {"verdict", verdict}}).Increment();
  }
}

void RouteMetrics::reload(bool applied) {
  reloads_.Add({{"route", route_}, {"result", applied ? "applied" : "rejected"}}).Increment();
}

void RouteMetrics::set_per_partition_labels(bool on) {
  std::lock_guard lk(mu_);
  if (per_partition_ == on) return;
  per_partition_ = on;
  if (!on) {
    for (auto& [tp, c] : partitions_) {
      p_records_.Remove(c.records);
      p_batches_.Remove(c.batches);
      p_bytes_.Remove(c.bytes);
    }
    partitions_.clear();
  }
}

std::vector<prometheus::MetricFamily> RouteMetrics::scrape(const OpsSnapshot& s) {
  using metrics::add_sample;
  using metrics::make_family;
  std::lock_guard lk(mu_);
  const std::string& route = route_;
  auto lag_records = make_family("tiermirror_lag_records",
                                 "Source high watermark minus the next offset the target has not acknowledged",
                                 MetricType::Gauge);
  auto lag_seconds = make_family("tiermirror_lag_seconds",
                                 "While behind: now minus the latest record time the target acknowledged "
                                 "(per topic: the largest)",
                                 MetricType::Gauge);
  auto states = make_family("tiermirror_partitions",
                            "Partitions in each state (per partition: 1 for its state, 0 for the others)",
                            MetricType::Gauge);
  auto part_buffered = make_family("tiermirror_partition_buffered_bytes",
                                   "Bytes of batches queued for the target (fetched, not yet released)",
                                   MetricType::Gauge);
  auto paused = make_family("tiermirror_paused_partitions", "Paused partitions, by kind of reason", MetricType::Gauge);
  auto buffered = make_family("tiermirror_buffered_bytes",
                              "Memory charged against limits.total_bytes: live fetch responses and fetches in flight",
                              MetricType::Gauge);
  auto budget = make_family("tiermirror_buffer_budget_bytes", "limits.total_bytes", MetricType::Gauge);
  auto in_flight = make_family("tiermirror_requests_in_flight", "Requests written to brokers and not yet answered",
                               MetricType::Gauge);
  auto ready = make_family("tiermirror_ready", "1 when /readyz answers 200", MetricType::Gauge);
  auto build = make_family("tiermirror_build_info", "Always 1; the version as a label", MetricType::Gauge);
  auto start = make_family("tiermirror_start_time_seconds", "Process start, Unix time", MetricType::Gauge);

  static constexpr pipeline::PartitionState kStates[] = {
      pipeline::PartitionState::starting, pipeline::PartitionState::waiting_target,
      pipeline::PartitionState::resume_waiting, pipeline::PartitionState::running, pipeline::PartitionState::paused};
  struct TopicAgg {
    int64_t lag = 0;
    double lag_s = 0;
    size_t buffered = 0;
    std::map<pipeline::PartitionState, int> states;
  };
  std::map<std::string, TopicAgg> topics;
  std::map<std::string_view, int> paused_by_kind;
  for (auto k : pause_kinds()) paused_by_kind[k] = 0;
  std::map<TopicPartition, Seen> still_seen;
  std::map<std::pair<std::string, std::string>, uint64_t> repacked_delta;
  std::map<std::string, uint64_t> dropped_delta, scan_failed_delta;
  for (const auto& p : s.route.partitions) {
    auto lag = partition_lag(p, s.now_ms);
    if (p.state == pipeline::PartitionState::paused) paused_by_kind[pause_kind(p.reason)]++;
    // Cumulative per-partition figures become counter increments; a partition that
    // restarted (retired and selected again) counts from zero.
    const Seen& prev = seen_[p.tp];
    Seen now{p.dropped, p.repacked_by_reason, p.resume_scan_failures};
    dropped_delta[p.tp.topic] += p.dropped >= prev.dropped ? p.dropped - prev.dropped : p.dropped;
    scan_failed_delta[p.tp.topic] += p.resume_scan_failures >= prev.resume_scan_failures
                                         ? p.resume_scan_failures - prev.resume_scan_failures
                                         : p.resume_scan_failures;
    for (const auto& [reason, n] : p.repacked_by_reason) {
      auto pr = prev.repacked.find(reason);
      uint64_t before = pr == prev.repacked.end() ? 0 : pr->second;
      repacked_delta[{p.tp.topic, reason}] += n >= before ? n - before : n;
    }
    still_seen[p.tp] = std::move(now);
    if (per_partition_) {
      Labels l{{"route", route}, {"topic", p.tp.topic}, {"partition", std::to_string(p.tp.partition)}};
      add_sample(lag_records, l, static_cast<double>(lag.records));
      add_sample(lag_seconds, l, lag.seconds);
      add_sample(part_buffered, l, static_cast<double>(p.buffered_bytes));
      for (auto st : kStates) {
        auto ls = l;
        ls.push_back({"state", std::string(pipeline::to_string(st))});
        add_sample(states, ls, st == p.state ? 1 : 0);
      }
    } else {
      auto& t = topics[p.tp.topic];
      t.lag += lag.records;
      t.lag_s = std::max(t.lag_s, lag.seconds);
      t.buffered += p.buffered_bytes;
      t.states[p.state]++;
    }
  }
  if (s.route_answered) seen_ = std::move(still_seen);
  for (const auto& [key, n] : repacked_delta)
    if (n) repacked_.Add({{"route", route}, {"topic", key.first}, {"reason", key.second}}).Increment(static_cast<double>(n));
  for (const auto& [topic, n] : dropped_delta)
    if (n) dropped_.Add({{"route", route}, {"topic", topic}}).Increment(static_cast<double>(n));
  for (const auto& [topic, n] : scan_failed_delta)
    if (n) resume_scan_failures_.Add({{"route", route}, {"topic", topic}}).Increment(static_cast<double>(n));
  for (const auto& [topic, t] : topics) {
    Labels l{{"route", route}, {"topic", topic}};
    add_sample(lag_records, l, static_cast<double>(t.lag));
    add_sample(lag_seconds, l, t.lag_s);
    add_sample(part_buffered, l, static_cast<double>(t.buffered));
    for (auto st : kStates) {
      auto ls = l;
      ls.push_back({"state", std::string(pipeline::to_string(st))});
      auto it = t.states.find(st);
      add_sample(states, ls, it == t.states.end() ? 0 : it->second);
    }
  }
  for (const auto& [kind, n] : paused_by_kind) add_sample(paused, {{"route", route}, {"reason", std::string(kind)}}, n);
  add_sample(buffered, {{"route", route}}, static_cast<double>(s.route.buffered_bytes));
  add_sample(budget, {{"route", route}}, static_cast<double>(s.route.budget_bytes));
  add_sample(in_flight, {{"route", route}, {"cluster", "source"}}, static_cast<double>(s.source_in_flight));
  add_sample(in_flight, {{"route", route}, {"cluster", "target"}}, static_cast<double>(s.target_in_flight));
  add_sample(ready, {{"route", route}}, readiness(s).ready ? 1 : 0);
  add_sample(build, {{"version", kVersion}}, 1);
  add_sample(start, {{"route", route}}, static_cast<double>(s.started_ms) / 1000.0);
  std::vector<prometheus::MetricFamily> out{
      std::move(lag_records), std::move(lag_seconds), std::move(states), std::move(part_buffered),
      std::move(paused),      std::move(buffered),    std::move(budget), std::move(in_flight),
      std::move(ready),       std::move(build),       std::move(start)};
  if (s.receive_buffers) {
    // The memory fetch responses occupy (block capacities, common/buffer_pool.h), beside what the
    // budget charges; a low reuse count means responses keep arriving in fresh pages.
    const auto& rb = *s.receive_buffers;
    auto bytes = make_family("tiermirror_receive_buffer_bytes",
                             "Receive blocks for fetch responses: in use (holding batches) and idle (kept for reuse)",
                             MetricType::Gauge);
    add_sample(bytes, {{"route", route}, {"state", "in_use"}}, static_cast<double>(rb.taken_bytes));
    add_sample(bytes, {{"route", route}, {"state", "idle"}}, static_cast<double>(rb.idle_bytes));
    auto blocks = make_family("tiermirror_receive_buffers_total",
                              "Responses of 64 KiB and more received into a reused block or a newly allocated one",
                              MetricType::Counter);
    add_sample(blocks, {{"route", route}, {"block", "reused"}}, static_cast<double>(rb.reused));
    add_sample(blocks, {{"route", route}, {"block", "resized"}}, static_cast<double>(rb.resized));
    add_sample(blocks, {{"route", route}, {"block", "allocated"}}, static_cast<double>(rb.allocated));
    out.push_back(std::move(bytes));
    out.push_back(std::move(blocks));
  }
  if (s.group) {
    // Scale-out: who this instance is in the route's group and what it owns.
    const auto& g = *s.group;
    auto member = make_family("tiermirror_group_member_info",
                              "This instance in the route's consumer group (membership.mode group): member id and "
                              "generation as labels, value 1", MetricType::Gauge);
    add_sample(member, {{"route", route}, {"member_id", g.member_id}, {"generation", std::to_string(g.generation)}}, 1);
    auto assigned = make_family("tiermirror_group_assigned_partitions",
                                "Partitions the group assigned to this instance", MetricType::Gauge);
    add_sample(assigned, {{"route", route}}, static_cast<double>(g.assigned.size()));
    auto rebalances = make_family("tiermirror_group_rebalances_total",
                                  "Assignment changes this instance saw (partitions assigned, revoked or lost)",
                                  MetricType::Counter);
    add_sample(rebalances, {{"route", route}}, static_cast<double>(g.rebalances));
    auto lost = make_family("tiermirror_group_lost_total",
                            "Assignments lost because the group session expired", MetricType::Counter);
    add_sample(lost, {{"route", route}}, static_cast<double>(g.lost));
    auto fence = make_family("tiermirror_group_may_produce",
                             "1 while the group session is proven fresh enough to send (the zombie fence), else 0",
                             MetricType::Gauge);
    add_sample(fence, {{"route", route}}, g.may_produce ? 1 : 0);
    for (auto* f : {&member, &assigned, &rebalances, &lost, &fence}) out.push_back(std::move(*f));
  }
  if (s.audit) {
    // The tier audit as this process counted it (docs/audit.md); the audit topic has the
    // per-bucket truth across routes and restarts.
    const auto& t = s.audit->totals;
    const auto& p = s.audit->publisher;
    auto records = make_family("tiermirror_audit_records_total",
                               "Records counted by the audit since start, by tier (source: fetched and mirrored; "
                               "target: acknowledged)",
                               MetricType::Counter);
    add_sample(records, {{"route", route}, {"tier", "source"}}, static_cast<double>(t.source_records));
    add_sample(records, {{"route", route}, {"tier", "target"}}, static_cast<double>(t.target_records));
    auto lost = make_family("tiermirror_audit_lost_records_total",
                            "Source offsets that vanished before they were mirrored (retention), since start",
                            MetricType::Counter);
    add_sample(lost, {{"route", route}}, static_cast<double>(t.lost));
    uint64_t expected = t.source_records + t.lost;
    auto ratio = make_family("tiermirror_audit_completeness_ratio",
                             "Target records / (source records + lost) since start; records still in flight count "
                             "as missing, so it dips while the route lags; loss keeps it below 1",
                             MetricType::Gauge);
    add_sample(ratio, {{"route", route}},
               expected ? static_cast<double>(t.target_records) / static_cast<double>(expected) : 1.0);
    auto published = make_family("tiermirror_audit_published_records_total",
                                 "Audit records the audit cluster acknowledged", MetricType::Counter);
    add_sample(published, {{"route", route}}, static_cast<double>(p.published));
    auto failures = make_family("tiermirror_audit_publish_failures_total", "Failed audit publish attempts",
                                MetricType::Counter);
    add_sample(failures, {{"route", route}}, static_cast<double>(p.failures));
    auto pending = make_family("tiermirror_audit_pending_records",
                               "Audit records of a failed publish, waiting for the next commit (which waits for them)",
                               MetricType::Gauge);
    add_sample(pending, {{"route", route}}, static_cast<double>(p.pending));
    for (auto* f : {&records, &lost, &ratio, &published, &failures, &pending}) out.push_back(std::move(*f));
  }
  return out;
}

// ---------------------------------------------------------------- the server

OpsServer::OpsServer(const config::Config& cfg, metrics::HttpServerOptions http)
    : cfg_(cfg),
      exposition_(std::make_shared<metrics::Exposition>()),
      metrics_(std::make_shared<RouteMetrics>(*exposition_->registry(), cfg.route.name, cfg.metrics.per_partition_labels)),
      http_(http),
      started_ms_(wall_ms()) {}

OpsServer::~OpsServer() { stop(); }

void OpsServer::attach(boost::asio::io_context& io, const RunningRoute& route) {
  std::lock_guard lk(mu_);
  io_ = &io;
  route_ = route;
}

void OpsServer::stop() { http_.stop(); }

OpsSnapshot OpsServer::base() const {
  OpsSnapshot s;
  s.route_name = cfg_.route.name;
  s.consumer_group = cfg_.consumer_group;
  s.source_name = cfg_.source.name;
  s.target_name = cfg_.target.name;
  for (const auto& hp : cfg_.source.bootstrap_servers) s.source_bootstrap.push_back(hp.str());
  for (const auto& hp : cfg_.target.bootstrap_servers) s.target_bootstrap.push_back(hp.str());
  s.process = state_.load();
  s.started_ms = started_ms_;
  s.now_ms = wall_ms();
  return s;
}

void OpsServer::snapshot(std::function<void(OpsSnapshot)> done) {
  RunningRoute r;
  {
    std::lock_guard lk(mu_);
    r = route_;
  }
  if (!r.route) return done(base());
  struct Gather {
    std::mutex mu;
    OpsSnapshot snap;
    size_t remaining = 0;
    std::function<void(OpsSnapshot)> done;
  };
  auto g = std::make_shared<Gather>();
  g->snap = base();
  if (r.audit_counters && r.audit_publisher)
    g->snap.audit = OpsSnapshot::Audit{r.audit_counters->totals(), r.audit_publisher->stats()};
  if (r.frames) g->snap.receive_buffers = r.frames->stats();
  if (r.group) g->snap.group = r.group->status();
  g->done = std::move(done);
  auto finish = [g] {
    std::function<void(OpsSnapshot)> cb;
    {
      std::lock_guard lk(g->mu);
      if (--g->remaining > 0) return;
      cb = std::move(g->done);
    }
    g->snap.now_ms = wall_ms();
    cb(std::move(g->snap));
  };
  auto src = r.source ? r.source->connections() : std::vector<std::shared_ptr<net::Connection>>{};
  auto dst = r.target ? r.target->connections() : std::vector<std::shared_ptr<net::Connection>>{};
  g->remaining = 1 + src.size() + dst.size();
  r.route->route_status([g, finish](pipeline::RouteStatus rs) {
    {
      std::lock_guard lk(g->mu);
      g->snap.route = std::move(rs);
      g->snap.route_answered = true;
    }
    finish();
  });
  // Connection::in_flight() is strand-only: read it there.
  for (const auto& [conns, target] : {std::pair{&src, false}, std::pair{&dst, true}})
    for (const auto& c : *conns)
      boost::asio::post(c->strand(), [g, c, finish, target = target] {
        size_t n = c->in_flight();
        {
          std::lock_guard lk(g->mu);
          (target ? g->snap.target_in_flight : g->snap.source_in_flight) += n;
        }
        finish();
      });
}

std::error_code OpsServer::start(const std::string& host, uint16_t port) {
  using metrics::HttpRequest;
  using metrics::HttpRespond;
  using metrics::HttpResponse;
  // Snapshots finish on a data-path strand; rendering (all partitions) moves to the HTTP
  // thread so a scrape of a large route does not stall mirroring.
  auto render_on_http = [this](HttpRespond respond, std::function<HttpResponse(const OpsSnapshot&)> render) {
    snapshot([defer = http_.deferrer(), respond, render](OpsSnapshot s) {
      defer([s = std::move(s), respond, render] { respond(render(s)); });
    });
  };
  http_.handle("/metrics", [this, render_on_http](const HttpRequest&, HttpRespond respond) {
    render_on_http(respond, [m = metrics_, ex = exposition_](const OpsSnapshot& s) {
      return HttpResponse{200, metrics::kTextContentType, ex->render(m->scrape(s))};
    });
  });
  http_.handle("/status", [render_on_http](const HttpRequest&, HttpRespond respond) {
    render_on_http(respond, [](const OpsSnapshot& s) { return HttpResponse{200, "application/json", status_json(s)}; });
  });
  http_.handle("/", [render_on_http](const HttpRequest&, HttpRespond respond) {
    render_on_http(respond,
                   [](const OpsSnapshot& s) { return HttpResponse{200, "text/html; charset=utf-8", status_html(s)}; });
  });
  http_.handle("/readyz", [this](const HttpRequest&, HttpRespond respond) {
    snapshot([respond](OpsSnapshot s) {
      auto r = readiness(s);
      respond(HttpResponse{r.ready ? 200u : 503u, "text/plain; charset=utf-8", r.reason + "\n"});
    });
  });
  // Alive while the io thread that runs the route runs handlers; a stuck one gets the
  // server's 503 after its handler timeout.
  http_.handle("/healthz", [this](const HttpRequest&, HttpRespond respond) {
    boost::asio::io_context* io;
    {
      std::lock_guard lk(mu_);
      io = io_;
    }
    if (!io) return respond(HttpResponse{200, "text/plain; charset=utf-8", "ok\n"});
    boost::asio::post(*io, [respond] { respond(HttpResponse{200, "text/plain; charset=utf-8", "ok\n"}); });
  });
  auto ec = http_.start(host, port);
  if (!ec) TM_INFO(kLog, "serving metrics and status", {{"listen", host + ":" + std::to_string(http_.port())}});
  return ec;
}

}  // namespace tiermirror::app
