#include "tiermirror/audit/publisher.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

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

std::shared_ptr<Publisher> Publisher::create(asio::io_context& io, std::shared_ptr<net::Cluster> cluster,
                                             std::shared_ptr<Counters> counters, StatusSource status,
                                             PublisherOptions opts) {
  return std::shared_ptr<Publisher>(
      new Publisher(io, std::move(cluster), std::move(counters), std::move(status), std::move(opts)));
}

Publisher::Publisher(asio::io_context& io, std::shared_ptr<net::Cluster> cluster, std::shared_ptr<Counters> counters,
                     StatusSource status, PublisherOptions opts)
    : strand_(asio::make_strand(io)),
      cluster_(std::move(cluster)),
      counters_(std::move(counters)),
      status_(std::move(status)),
      opts_(std::move(opts)),
      timer_(strand_) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  instance_ = buf;
}

Publisher::~Publisher() = default;

std::string Publisher::next_id() { return opts_.route + "/" + instance_ + "/" + std::to_string(++sequence_); }

void Publisher::start() {
  asio::post(strand_, [self = shared_from_this()] {
    TM_INFO(kLog, "audit publisher started",
            {{"route", self->opts_.route}, {"topic", self->opts_.topic}, {"interval_ms", self->opts_.interval.count()}});
    self->arm();
  });
}

void Publisher::arm() {
  if (stopped_) return;
  timer_.expires_after(opts_.interval);
  timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->stopped_) return;
    self->tick([self](std::error_code) { self->arm(); });
  });
}

void Publisher::tick(std::function<void(std::error_code)> done) {
  auto self = shared_from_this();
  // Status first, then the counters: whatever the route acknowledged before the snapshot
  // is already counted when take() runs, so the watermark never runs ahead of the counts.
  status_([self, done = std::move(done)](std::vector<pipeline::PartitionStatus> parts) mutable {
    asio::post(self->strand_, [self, parts = std::move(parts), done = std::move(done)]() mutable {
      self->collect(std::move(parts));
      self->send_pending(std::move(done));
    });
  });
}

void Publisher::collect(std::vector<pipeline::PartitionStatus> parts) {
  int64_t now = wall_ms();
  auto stamp = [&](AuditRecord& r) {
    r.id = next_id();
    r.route = opts_.route;
    r.source_cluster = opts_.source_cluster;
    r.target_cluster = opts_.target_cluster;
    r.published_ms = now;
  };
  for (auto& d : counters_->take(now)) {
    AuditRecord r;
    r.kind = AuditRecord::Kind::counts;
    r.tier = d.tier;
    r.topic = std::move(d.topic);
    r.bucket_start_ms = d.bucket_start_ms;
    r.bucket_end_ms = d.bucket_start_ms + counters_->bucket_ms();
    r.records = d.records;
    r.batches = d.batches;
    r.bytes = d.bytes;
    r.lost = d.lost;
    r.latency = d.latency;
    r.partitions = std::move(d.partitions);
    stamp(r);
    if (r.lost)
      TM_ERROR(kLog, "audit: source records lost before they were mirrored",
               {{"route", opts_.route}, {"topic", r.topic}, {"bucket", format_utc(r.bucket_start_ms)}, {"lost", r.lost}});
    pending_.push_back(std::move(r));
  }
  for (auto& r : progress_records(parts, now)) {
    stamp(r);
    pending_.push_back(std::move(r));
  }
  size_t dropped = 0;
  while (pending_.size() > opts_.max_pending) {
    pending_.pop_front();
    dropped++;
  }
  std::lock_guard lk(stats_mu_);
  stats_.pending = pending_.size();
  stats_.pending_counts = pending_counts();
  if (dropped) {
    stats_.dropped += dropped;
    TM_ERROR(kLog, "audit records dropped: the audit cluster has been unreachable too long",
             {{"route", opts_.route}, {"dropped", dropped}, {"max_pending", opts_.max_pending}});
  }
}

void Publisher::send_pending(std::function<void(std::error_code)> done) {
  if (pending_.empty() || sending_) return done({});
  auto self = shared_from_this();
  if (cluster_->metadata() && cluster_->metadata()->topics.count(opts_.topic)) return send_with_metadata(std::move(done));
  // Naming the topic in a Metadata request (v1-v3) lets a broker with
  // auto.create.topics.enable create it; otherwise it must exist (docs/audit.md).
  cluster_->refresh(std::vector<std::string>{opts_.topic},
                    asio::bind_executor(strand_, [self, done = std::move(done)](std::error_code ec, net::MetadataPtr) mutable {
                      self->send_with_metadata(std::move(done));
                    }));
}

void Publisher::send_with_metadata(std::function<void(std::error_code)> done) {
  auto md = cluster_->metadata();
  const net::TopicInfo* topic = nullptr;
  if (md) {
    auto it = md->topics.find(opts_.topic);
    if (it != md->topics.end() && it->second.error_code == 0 && !it->second.partitions.empty()) topic = &it->second;
  }
  auto fail = [this, &done](std::error_code ec, const std::string& why) {
    {
      std::lock_guard lk(stats_mu_);
      stats_.failures++;
    }
    if (why != last_error_)  // once per distinct problem, not every interval
      TM_WARN(kLog, "audit publish failed; records kept for the next attempt",
              {{"route", opts_.route}, {"topic", opts_.topic}, {"error", why}, {"pending", pending_.size()}});
    last_error_ = why;
    done(ec);
  };
  // Without any metadata the cluster has not answered at all: "topic not found" would mislead.
  if (!md) return fail(make_error_code(errc::no_leader), "no broker of cluster " + cluster_->options().name + " has answered");
  if (!topic) return fail(make_error_code(kafka_errc::unknown_topic_or_partition), "audit topic not found on " + cluster_->options().name);
  int32_t partition =
      topic->partitions[fnv1a(opts_.route) % topic->partitions.size()].partition;
  auto conn = cluster_->leader_connection(opts_.topic, partition);
  if (!conn) {
    cluster_->request_refresh();
    return fail(errc::no_leader, "no leader for the audit topic");
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
  if (!encoded) return fail(encoded.error(), "cannot encode audit records: " + encoded.error().message());
  size_t count = values.size();

  protocol::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = static_cast<int32_t>(opts_.timeout.count());
  req.topics.push_back({opts_.topic, {{partition, {BufferSlice(SharedBuffer(std::move(*encoded)))}}}});
  sending_ = true;
  auto self = shared_from_this();
  net::call<protocol::ProduceResponse>(
      conn, std::move(req), opts_.timeout + net::Millis(5000),
      asio::bind_executor(strand_, [self, count, partition, done = std::move(done)](
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
          {
            std::lock_guard lk(self->stats_mu_);
            self->stats_.failures++;
          }
          std::string why = ec.message();
          if (why != self->last_error_)
            TM_WARN(kLog, "audit publish failed; records kept for the next attempt",
                    {{"route", self->opts_.route}, {"topic", self->opts_.topic}, {"error", why}});
          self->last_error_ = why;
          return done(ec);
        }
        self->last_error_.clear();
        for (size_t i = 0; i < count && !self->pending_.empty(); ++i) self->pending_.pop_front();
        {
          std::lock_guard lk(self->stats_mu_);
          self->stats_.published += count;
          self->stats_.pending = self->pending_.size();
          self->stats_.pending_counts = self->pending_counts();
        }
        self->send_pending(std::move(done));  // the rest, if one batch did not hold it all
      }));
}

void Publisher::flush_and_stop(net::Millis timeout, std::function<void(std::error_code)> done) {
  auto self = shared_from_this();
  asio::post(strand_, [self, timeout, done = std::move(done)]() mutable {
    self->stopped_ = true;
    self->timer_.cancel();
    // Whichever comes first: the flush, or the timeout. `done` runs once.
    auto once = std::make_shared<std::function<void(std::error_code)>>(std::move(done));
    auto deadline = std::make_shared<asio::steady_timer>(self->strand_, timeout);
    deadline->async_wait([once](const std::error_code& ec) {
      if (ec || !*once) return;
      auto f = std::move(*once);
      *once = nullptr;
      f(errc::timed_out);
    });
    auto attempt = std::make_shared<std::function<void()>>();
    *attempt = [self, once, deadline, attempt] {
      // A cluster that never answered since the start (misconfigured, unreachable) would not
      // answer now either: waiting out the stop deadline would only delay the exit.
      if (!self->cluster_->metadata() && !self->pending_.empty()) {
        deadline->cancel();
        auto f = std::move(*once);
        *once = nullptr;
        asio::post(self->strand_, [attempt] { *attempt = nullptr; });  // not while it runs
        return f(make_error_code(errc::no_leader));
      }
      self->send_pending([self, once, deadline, attempt](std::error_code ec) {
        if (!*once) {  // timed out already
          *attempt = nullptr;
          return;
        }
        if (!ec && self->pending_.empty()) {
          deadline->cancel();
          auto f = std::move(*once);
          *once = nullptr;
          f({});
          *attempt = nullptr;  // breaks the self-reference
          return;
        }
        // Retry until the deadline (metadata may just have been refreshed).
        auto t = std::make_shared<asio::steady_timer>(self->strand_, net::Millis(200));
        t->async_wait([t, attempt](const std::error_code& e) {
          if (!e && *attempt) (*attempt)();
        });
      });
    };
    self->status_([self, attempt](std::vector<pipeline::PartitionStatus> parts) {
      asio::post(self->strand_, [self, attempt, parts = std::move(parts)]() mutable {
        self->collect(std::move(parts));
        (*attempt)();
      });
    });
  });
}

size_t Publisher::pending_counts() const {
  return static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(),
                                           [](const AuditRecord& r) { return r.kind == AuditRecord::Kind::counts; }));
}

Publisher::Stats Publisher::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

}  // namespace tiermirror::audit
