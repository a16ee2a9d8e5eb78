#include "tiermirror/audit/publisher.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <tuple>

#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/pipeline/records.h"
#include "tiermirror/protocol/messages/produce.h"

namespace tiermirror::audit {

namespace asio = boost::asio;
namespace {
constexpr const char* kLog = "audit";

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// FNV-1a: a stable partition choice for the route's records (std::hash may differ by build).
uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

ByteSpan span_of(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

}  // namespace

std::vector<AuditRecord> progress_records(const std::vector<pipeline::PartitionStatus>& parts, int64_t now_ms) {
  std::map<std::string, AuditRecord> by_topic;
  for (const auto& p : parts) {
    auto [it, inserted] = by_topic.try_emplace(p.tp.topic);
    auto& r = it->second;
    if (inserted) {
      r.kind = AuditRecord::Kind::progress;
      r.topic = p.tp.topic;
      r.watermark_ms = now_ms;
    }
    r.partitions_total++;
    if (p.caught_up) continue;
    r.partitions_behind++;
    r.watermark_ms = std::min(r.watermark_ms, p.acked_max_timestamp);
  }
  std::vector<AuditRecord> out;
  for (auto& [t, r] : by_topic) out.push_back(std::move(r));
  return out;
}

std::vector<AuditRecord> counts_records(std::vector<Sealed::Entry> entries,
                                        const std::map<std::pair<std::string, int64_t>, LatencyHistogram>& latency,
                                        int64_t bucket_ms, size_t per_record) {
  using Key = std::tuple<Tier, std::string, int64_t>;
  std::map<Key, std::vector<AuditRecord>> records;
  auto fresh = [bucket_ms](Tier tier, const std::string& topic, int64_t bucket_start_ms) {
    AuditRecord r;
    r.kind = AuditRecord::Kind::counts;
    r.tier = tier;
    r.topic = topic;
    r.bucket_start_ms = bucket_start_ms;
    r.bucket_end_ms = bucket_start_ms + bucket_ms;
    return r;
  };
  for (auto& e : entries) {
    auto& list = records[{e.tier, e.topic, e.bucket_start_ms}];
    if (list.empty() || list.back().partitions.size() >= per_record)
      list.push_back(fresh(e.tier, e.topic, e.bucket_start_ms));
    auto& r = list.back();
    r.records += e.count.records;
    r.batches += e.count.batches;
    r.bytes += e.count.bytes;
    r.lost += e.count.lost;
    PartitionSpan span;
    span.first_offset = e.count.first_offset;
    span.last_offset = e.count.last_offset;
    span.lost_ranges = std::move(e.count.lost_ranges);
    span.segment = e.segment;
    span.end = e.end;
    span.records = e.count.records;
    span.batches = e.count.batches;
    span.bytes = e.count.bytes;
    span.lost = e.count.lost;
    r.partitions[e.partition] = std::move(span);
  }
  // Latency is a delta: it rides on the first target record of its bucket (a record of its
  // own when the bucket has no counts in this publish).
  for (const auto& [k, h] : latency) {
    auto& list = records[{Tier::target, k.first, k.second}];
    if (list.empty()) list.push_back(fresh(Tier::target, k.first, k.second));
    list.front().latency = h;
  }
  std::vector<AuditRecord> out;
  for (auto& [k, list] : records)
    for (auto& r : list) out.push_back(std::move(r));
  return out;
}

std::shared_ptr<Publisher> Publisher::create(asio::io_context& io, std::shared_ptr<net::Cluster> cluster,
                                             std::shared_ptr<Counters> counters, PublisherOptions opts) {
  return std::shared_ptr<Publisher>(new Publisher(io, std::move(cluster), std::move(counters), std::move(opts)));
}

Publisher::Publisher(asio::io_context& io, std::shared_ptr<net::Cluster> cluster, std::shared_ptr<Counters> counters,
                     PublisherOptions opts)
    : strand_(asio::make_strand(io)), cluster_(std::move(cluster)), counters_(std::move(counters)), opts_(std::move(opts)) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  instance_ = buf;
}

Publisher::~Publisher() = default;

std::string Publisher::next_id() { return opts_.route + "/" + instance_ + "/" + std::to_string(++sequence_); }

pipeline::CommitGate Publisher::commit_gate() {
  std::weak_ptr<Publisher> weak = shared_from_this();
  return [weak](const std::map<TopicPartition, SourceOffset>& ends, std::vector<pipeline::PartitionStatus> status,
                net::Millis timeout, bool stopping, std::function<void(bool)> done) {
    auto self = weak.lock();
    if (!self) return done(false);
    self->before_commit(ends, std::move(status), timeout, stopping, std::move(done));
  };
}

void Publisher::before_commit(const std::map<TopicPartition, SourceOffset>& ends,
                              std::vector<pipeline::PartitionStatus> status, net::Millis timeout, bool stopping,
                              std::function<void(bool)> done) {
  // On the route strand: nothing is released between the status and the seal, so the
  // progress records never run ahead of the counts published with them.
  auto sealed = counters_->seal(ends, wall_ms());
  asio::post(strand_, [self = shared_from_this(), sealed = std::move(sealed), status = std::move(status), timeout,
                       stopping, done = std::move(done)]() mutable {
    const int64_t now = wall_ms();
    const bool progress_due = stopping || now - self->last_progress_ms_ >= self->opts_.interval.count();
    if (sealed.entries.empty() && self->pending_.empty() && !progress_due) {
      // Nothing counted since the last publish: the latency samples wait for one.
      for (auto& [k, h] : sealed.latency) self->latency_[k].merge(h);
      return done(true);
    }
    self->collect(std::move(sealed), std::move(status), progress_due);
    self->send_pending(timeout, [self, done = std::move(done)](std::error_code ec) {
      if (!ec) self->on_published();
      done(!ec);
    });
  });
}

void Publisher::collect(Sealed sealed, std::vector<pipeline::PartitionStatus> status, bool with_progress) {
  int64_t now = wall_ms();
  auto stamp = [&](AuditRecord& r) {
    r.id = next_id();
    r.route = opts_.route;
    r.source_cluster = opts_.source_cluster;
    r.target_cluster = opts_.target_cluster;
    r.published_ms = now;
  };
  // The counters give every open segment from its start: what an earlier attempt still holds
  // is a subset of it, and progress records go after the counts they follow.
  std::deque<AuditRecord> kept;
  for (auto& r : pending_)
    if (r.kind == AuditRecord::Kind::progress && !with_progress) kept.push_back(std::move(r));
  pending_.clear();
  for (auto& [k, h] : sealed.latency) latency_[k].merge(h);
  collected_seal_ = sealed.generation;
  for (auto& r : counts_records(std::move(sealed.entries), latency_, counters_->bucket_ms(), opts_.partitions_per_record)) {
    stamp(r);
    if (r.lost)
      TM_INFO(kLog, "audit: source records lost before they were mirrored (counted in the audit)",
              {{"route", opts_.route}, {"topic", r.topic}, {"bucket", format_utc(r.bucket_start_ms)}, {"lost", r.lost}});
    pending_.push_back(std::move(r));
  }
  for (auto& r : kept) pending_.push_back(std::move(r));
  if (with_progress) {
    for (auto& r : progress_records(status, now)) {
      stamp(r);
      pending_.push_back(std::move(r));
    }
    last_progress_ms_ = now;
  }
  update_stats();
}

void Publisher::on_published() {
  // pending_ is empty: every seal collected so far went out (a seal not collected yet did not).
  counters_->published(collected_seal_);
  latency_.clear();
}

void Publisher::update_stats() {
  std::lock_guard lk(stats_mu_);
  stats_.pending = pending_.size();
  stats_.pending_counts = static_cast<size_t>(std::count_if(
      pending_.begin(), pending_.end(), [](const AuditRecord& r) { return r.kind == AuditRecord::Kind::counts; }));
}

void Publisher::send_pending(net::Millis timeout, std::function<void(std::error_code)> done) {
  if (pending_.empty()) return done({});
  if (sending_) {
    // A publish is under way: this caller's records (in pending_ now) go once it is done.
    waiters_.push_back({timeout, std::move(done)});
    return;
  }
  auto self = shared_from_this();
  auto finish = [self, done = std::move(done)](std::error_code ec) mutable {
    done(ec);
    auto waiters = std::move(self->waiters_);
    self->waiters_.clear();
    for (auto& w : waiters) self->send_pending(w.timeout, std::move(w.done));
  };
  if (cluster_->metadata() && cluster_->metadata()->topics.count(opts_.topic))
    return send_with_metadata(timeout, std::move(finish));
  // Naming the topic in a Metadata request (v1-v3) lets a broker with
  // auto.create.topics.enable create it; otherwise it must exist (docs/audit.md).
  sending_ = true;
  cluster_->refresh(std::vector<std::string>{opts_.topic},
                    asio::bind_executor(strand_, [self, timeout, finish = std::move(finish)](std::error_code,
                                                                                             net::MetadataPtr) mutable {
                      self->sending_ = false;
                      self->send_with_metadata(timeout, std::move(finish));
                    }));
}

void Publisher::failed(const std::string& why) {
  {
    std::lock_guard lk(stats_mu_);
    stats_.failures++;
  }
  if (why != last_error_)  // once per distinct problem, not every commit
    TM_WARN(kLog, "audit publish failed; offsets are committed once it succeeds",
            {{"route", opts_.route}, {"topic", opts_.topic}, {"error", why}, {"pending", pending_.size()}});
  last_error_ = why;
}

void Publisher::send_with_metadata(net::Millis timeout, std::function<void(std::error_code)> done) {
  auto md = cluster_->metadata();
  const net::TopicInfo* topic = nullptr;
  if (md) {
    auto it = md->topics.find(opts_.topic);
    if (it != md->topics.end() && it->second.error_code == 0 && !it->second.partitions.empty()) topic = &it->second;
  }
  // Without any metadata the cluster has not answered at all: "topic not found" would mislead.
  if (!md) {
    failed("no broker of cluster " + cluster_->options().name + " has answered");
    return done(make_error_code(errc::no_leader));
  }
  if (!topic) {
    failed("audit topic not found on " + cluster_->options().name);
    return done(make_error_code(kafka_errc::unknown_topic_or_partition));
  }
  int32_t partition = topic->partitions[fnv1a(opts_.route) % topic->partitions.size()].partition;
  auto conn = cluster_->leader_connection(opts_.topic, partition);
  if (!conn) {
    cluster_->request_refresh();
    failed("no leader for the audit topic");
    return done(make_error_code(errc::no_leader));
  }

  // One batch of as many pending records as fit.
  std::vector<std::string> keys, values;
  size_t bytes = 0;
  for (const auto& r : pending_) {
    if (!values.empty() && bytes >= opts_.max_batch_bytes) break;
    keys.push_back(r.id);
    values.push_back(to_json(r));
    bytes += keys.back().size() + values.back().size() + 16;
  }
  int64_t now = wall_ms();
  std::vector<pipeline::Record> recs(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    recs[i].offset_delta = static_cast<int32_t>(i);
    recs[i].key = span_of(keys[i]);
    recs[i].value = span_of(values[i]);
  }
  auto encoded = pipeline::encode_records(recs, now);
  if (!encoded) {
    failed("cannot encode audit records: " + encoded.error().message());
    return done(encoded.error());
  }

  protocol::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = static_cast<int32_t>(timeout.count());
  req.topics.push_back({opts_.topic, {{partition, {BufferSlice(SharedBuffer(std::move(*encoded)))}}}});
  sending_ = true;
  auto self = shared_from_this();
  net::call<protocol::ProduceResponse>(
      conn, std::move(req), timeout + std::min(timeout, net::Millis(5000)),
      asio::bind_executor(strand_, [self, keys = std::move(keys), partition, timeout, done = std::move(done)](
                                       std::error_code ec, protocol::ProduceResponse resp, int16_t) mutable {
        self->sending_ = false;
        if (!ec) {
          int16_t code = -1;
          for (const auto& t : resp.topics)
            for (const auto& p : t.partitions)
              if (t.name == self->opts_.topic && p.index == partition) code = p.error_code;
          if (code != 0) ec = code < 0 ? std::error_code(errc::malformed) : make_error_code(static_cast<kafka_errc>(code));
        }
        if (ec) {
          self->cluster_->report_error(ec);
          self->failed(ec.message());
          return done(ec);
        }
        self->last_error_.clear();
        // By id: a commit may have rebuilt pending_ while this batch was out.
        std::set<std::string> sent(keys.begin(), keys.end());
        std::erase_if(self->pending_, [&](const AuditRecord& r) { return sent.count(r.id) > 0; });
        {
          std::lock_guard lk(self->stats_mu_);
          self->stats_.published += keys.size();
        }
        self->update_stats();
        self->send_pending(timeout, std::move(done));  // the rest, if one batch did not hold it all
      }));
}

void Publisher::flush_and_stop(net::Millis timeout, std::function<void(std::error_code)> done) {
  asio::post(strand_, [self = shared_from_this(), timeout, done = std::move(done)]() mutable {
    // A cluster that never answered since the start (misconfigured, unreachable) would not
    // answer now either: waiting out the stop deadline would only delay the exit.
    if (!self->pending_.empty() && !self->cluster_->metadata()) return done(make_error_code(errc::no_leader));
    self->send_pending(timeout, [self, done = std::move(done)](std::error_code ec) {
      if (!ec) self->on_published();
      done(ec);
    });
  });
}

Publisher::Stats Publisher::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

}  // namespace tiermirror::audit
