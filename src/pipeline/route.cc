#include "tiermirror/pipeline/route.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "partition_pipeline.h"
#include "progress.h"
#include "route_core.h"
#include "source_side.h"
#include "target_side.h"
#include "tiermirror/common/log.h"

namespace tiermirror::pipeline {

namespace asio = boost::asio;
namespace {
constexpr const char* kLog = "pipeline";
}

using detail::Partition;
using detail::PauseSide;

std::string_view to_string(PartitionState s) {
  switch (s) {
    case PartitionState::starting: return "starting";
    case PartitionState::waiting_target: return "waiting_target";
    case PartitionState::resume_waiting: return "resume_waiting";
    case PartitionState::running: return "running";
    case PartitionState::paused: return "paused";
  }
  return "?";
}

// The route as wired: the shared core, the three parts, and what only the route as a whole
// decides: metadata and discovery (which partitions exist), the group's assignment changes
// (assign, remove: one event each, retiring partitions until they drained and committed),
// reconfiguration, start and stop. Runs on the strand (core.strand).
struct Route::Impl {
  Impl(asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
       RouteOptions opts)
      : core(io, std::move(source), std::move(target), std::move(opts)),
        source_side(core, target_side),
        target_side(core, progress),
        progress(core, target_side),
        metadata_timer_(core.strand),
        stop_timer_(core.strand) {
    core.on_schedule = [this] { schedule(); };
  }

  // Fetches, produces, and the end of a stop: what the parts call after every change.
  void schedule();
  void refresh_metadata();
  void on_metadata(std::error_code source_ec, const net::MetadataPtr& source_md, std::error_code target_ec);
  void discover(const net::MetadataPtr& source_md);
  /// Starts the partitions held by await_target_limits that `pred` selects; how many.
  size_t start_awaiting(const std::function<bool(const TopicPartition&)>& pred);
  void maybe_finish_stop();
  void reconfigure(RouteOptions rc);

  // The assignment changes (scale-out) and retirement.
  void assign(std::vector<TopicPartition> tps);
  void remove(std::vector<TopicPartition> tps, Removal why, net::Millis timeout, std::function<void()> done);
  void retire(Partition& p, std::string reason, std::chrono::steady_clock::time_point deadline);
  void reap_retired();
  void finish_removals(bool all);

  detail::RouteCore core;
  detail::SourceSide source_side;
  detail::TargetSide target_side;
  detail::Progress progress;

  asio::steady_timer metadata_timer_, stop_timer_;
  bool abandon_in_flight_ = false;
  std::function<void()> stopped_;
  net::Millis waiting_refresh_{0};  // metadata refresh interval while partitions wait for the target
  bool metadata_loaded_ = false;
  bool reap_armed_ = false;
  std::function<void(std::vector<TopicPartition>)> new_partitions_;
  std::vector<TopicPartition> awaiting_limits_;  // discovered, held by await_target_limits
  // Scale-out: the partitions the group assigned (assigned_only), removals waiting for their
  // partitions to drain, and who is told the whitelisted topics.
  std::set<TopicPartition> assigned_;
  struct PendingRemoval {
    std::set<TopicPartition> tps;
    std::function<void()> done;
  };
  std::vector<PendingRemoval> removals_;
  std::function<void(std::set<std::string>)> selected_topics_fn_;
};

std::shared_ptr<Route> Route::create(asio::io_context& io, std::shared_ptr<net::Cluster> source,
                                     std::shared_ptr<net::Cluster> target, RouteOptions opts) {
  auto route = std::shared_ptr<Route>(new Route(io, std::move(source), std::move(target), std::move(opts)));
  route->impl_->core.owner = route;  // the parts' callbacks keep the route alive, as its own did
  return route;
}

Route::Route(asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
             RouteOptions opts)
    : impl_(std::make_unique<Impl>(io, std::move(source), std::move(target), std::move(opts))) {}

Route::~Route() = default;

// ---------------------------------------------------------------- start, stop, status

void Route::start(std::function<void(std::error_code, std::string)> fatal) {
  asio::post(impl_->core.strand, [self = shared_from_this(), fatal = std::move(fatal)]() mutable {
    auto& m = *self->impl_;
    m.core.fatal = std::move(fatal);
    m.core.started = true;
    TM_INFO(kLog, "route starting", {{"route", m.core.opts.name}, {"group", m.core.opts.group}});
    m.target_side.init_producer();
    m.refresh_metadata();
    m.progress.arm_commit_timer();
  });
}

void Route::on_caught_up(std::function<void()> done) {
  asio::post(impl_->core.strand, [self = shared_from_this(), done = std::move(done)]() mutable {
    self->impl_->progress.on_caught_up(std::move(done));
  });
}

void Route::stop(net::Millis timeout, std::function<void()> done) {
  asio::post(impl_->core.strand, [self = shared_from_this(), timeout, done = std::move(done)]() mutable {
    auto& m = *self->impl_;
    m.core.stopping = true;
    m.progress.set_stop_timeout(timeout);
    m.stopped_ = std::move(done);
    m.metadata_timer_.cancel();
    m.core.cancel_retry();
    TM_INFO(kLog, "route stopping: no new fetches, waiting for the target's acks", {{"route", m.core.opts.name}});
    m.stop_timer_.expires_after(timeout);
    m.stop_timer_.async_wait(m.core.on_strand([self](const std::error_code& ec) {
      auto& m = *self->impl_;
      if (ec || !m.stopped_) return;
      TM_WARN(kLog, "stop timeout: abandoning requests still in flight", {{"route", m.core.opts.name}});
      m.abandon_in_flight_ = true;
      m.maybe_finish_stop();
    }));
    m.maybe_finish_stop();
  });
}

void Route::refuse_topics(std::map<std::string, std::string> reasons) {
  asio::post(impl_->core.strand, [self = shared_from_this(), reasons = std::move(reasons)]() mutable {
    self->impl_->target_side.refuse_topics(std::move(reasons));
  });
}

void Route::set_max_message_bytes(std::map<std::string, size_t> limits, bool release_all) {
  asio::post(impl_->core.strand, [self = shared_from_this(), limits = std::move(limits), release_all] {
    auto& m = *self->impl_;
    m.target_side.set_max_message_bytes(limits);
    m.start_awaiting(
        [&](const TopicPartition& tp) { return release_all || m.target_side.knows_max_message_bytes(tp.topic); });
  });
}

void Route::refresh_now() {
  asio::post(impl_->core.strand, [self = shared_from_this()] {
    auto& m = *self->impl_;
    if (!m.core.started || m.core.stopping) return;
    m.metadata_timer_.cancel();  // its handler sees operation_aborted and does nothing
    m.waiting_refresh_ = net::Millis(0);  // the syncer changed the target: look again soon
    m.refresh_metadata();
  });
}

void Route::on_new_partitions(std::function<void(std::vector<TopicPartition>)> fn) {
  asio::post(impl_->core.strand,
             [self = shared_from_this(), fn = std::move(fn)]() mutable { self->impl_->new_partitions_ = std::move(fn); });
}

void Route::status(std::function<void(std::vector<PartitionStatus>)> handler) {
  asio::post(impl_->core.strand, [self = shared_from_this(), handler = std::move(handler)] {
    handler(self->impl_->core.partition_statuses());
  });
}

void Route::route_status(std::function<void(RouteStatus)> handler) {
  asio::post(impl_->core.strand, [self = shared_from_this(), handler = std::move(handler)] {
    auto& m = *self->impl_;
    RouteStatus rs;
    rs.partitions = m.core.partition_statuses();
    rs.buffered_bytes = m.core.budget.total();
    rs.budget_bytes = m.core.opts.total_bytes;
    rs.metadata_loaded = m.metadata_loaded_;
    rs.producer_ready = m.target_side.producer_ready();
    rs.stopping = m.core.stopping;
    handler(std::move(rs));
  });
}

void Route::reconfigure(RouteOptions rc) {
  asio::post(impl_->core.strand, [self = shared_from_this(), rc = std::move(rc)]() mutable {
    self->impl_->reconfigure(std::move(rc));
  });
}

void Route::assign(std::vector<TopicPartition> tps) {
  asio::post(impl_->core.strand, [self = shared_from_this(), tps = std::move(tps)]() mutable {
    self->impl_->assign(std::move(tps));
  });
}

void Route::remove(std::vector<TopicPartition> tps, Removal why, net::Millis timeout, std::function<void()> done) {
  asio::post(impl_->core.strand,
             [self = shared_from_this(), tps = std::move(tps), why, timeout, done = std::move(done)]() mutable {
               self->impl_->remove(std::move(tps), why, timeout, std::move(done));
             });
}

void Route::on_selected_topics(std::function<void(std::set<std::string>)> fn) {
  asio::post(impl_->core.strand, [self = shared_from_this(), fn = std::move(fn)]() mutable {
    auto& m = *self->impl_;
    m.selected_topics_fn_ = std::move(fn);
    if (!m.core.selected_topics.empty()) m.selected_topics_fn_(m.core.selected_topics);
  });
}

// ---------------------------------------------------------------- metadata, discovery

void Route::Impl::refresh_metadata() {
  if (core.stopping) return;
  auto keep = core.keep();
  // Both clusters at once: a source that cannot log in is known without waiting for a target
  // that does not answer. The results are used together once both are in, the target's first,
  // so partitions learn whether their target partition exists.
  struct Both {
    std::error_code source_ec, target_ec;
    net::MetadataPtr source_md;
    int left = 2;
    bool fatal = false;
  };
  auto both = std::make_shared<Both>();
  auto one_done = [this, keep, both](std::error_code ec, net::Cluster* cl, const char* side) {
    // A login refused before a cluster ever answered (wrong password, untrusted or expired
    // certificate) will not fix itself: stop with the reason rather than retry forever.
    if (ec && net::is_login_failure(ec) && !cl->metadata() && core.fatal && !core.stopping && !both->fatal) {
      both->fatal = true;  // once: the process stops, and no refresh follows
      core.fatal(ec, std::string("cannot log in to the ") + side + " cluster '" + cl->options().name +
                     "': " + cl->login_failure().value_or(ec.message()));
    }
    if (--both->left == 0 && !both->fatal) on_metadata(both->source_ec, both->source_md, both->target_ec);
  };
  core.target->refresh(std::nullopt, core.on_strand([this, keep, both, one_done](std::error_code ec, net::MetadataPtr) {
    both->target_ec = ec;
    one_done(ec, core.target.get(), "target");
  }));
  core.source->refresh(std::nullopt, core.on_strand([this, keep, both, one_done](std::error_code ec, net::MetadataPtr md) {
    both->source_ec = ec;
    both->source_md = md;
    one_done(ec, core.source.get(), "source");
  }));
}

void Route::Impl::on_metadata(std::error_code ec, const net::MetadataPtr& md, std::error_code tec) {
  if (core.stopping) return;  // a refresh that ends after stop() discovers nothing
  if (ec || !md) {
    TM_WARN(kLog, "source metadata refresh failed", {{"route", core.opts.name}, {"error", ec.message()}});
  } else {
    discover(md);
    if (!tec) metadata_loaded_ = true;
  }
  if (tec) TM_WARN(kLog, "target metadata refresh failed", {{"route", core.opts.name}, {"error", tec.message()}});
  bool waiting = false;
  for (auto& [tp, p] : core.parts) {
    if (p->state == PartitionState::waiting_target) progress.set_running_or_waiting(*p);
    waiting = waiting || p->state == PartitionState::waiting_target;
  }
  schedule();
  // A target partition the syncer just created may not be in every broker's metadata yet
  // (ZooKeeper-mode brokers learn it asynchronously: seen on Kafka 2.8), so while
  // partitions wait for theirs the next look comes sooner: 0.5 s, doubling up to the interval.
  auto next = core.opts.metadata_interval;
  if (waiting) {
    waiting_refresh_ = std::min(next, waiting_refresh_.count() ? waiting_refresh_ * 2 : net::Millis(500));
    next = waiting_refresh_;
  } else {
    waiting_refresh_ = net::Millis(0);
  }
  metadata_timer_.expires_after(next);
  metadata_timer_.async_wait([this, keep = core.keep()](const std::error_code& e) {
    if (!e) refresh_metadata();
  });
}

void Route::Impl::discover(const net::MetadataPtr& md) {
  // A topic the source no longer lists was deleted: its partitions cannot go on (a topic
  // recreated under the same name is new data; resuming at old offsets would be wrong).
  for (auto& [tp, p] : core.parts) {
    if (p->state == PartitionState::paused || md->topics.count(tp.topic)) continue;
    core.pause(*p, "topic '" + tp.topic + "' no longer exists on the source");
  }
  std::vector<TopicPartition> added;
  std::set<std::string> selected;
  for (const auto& [name, t] : md->topics) {
    if (t.internal || t.error_code != 0 || !core.opts.select_topic || !core.opts.select_topic(name)) continue;
    selected.insert(name);
    for (const auto& pi : t.partitions) {
      TopicPartition tp{name, pi.partition};
      if (core.parts.count(tp)) continue;
      if (core.opts.assigned_only && !assigned_.count(tp)) continue;  // another member's, or nobody's yet
      core.parts[tp] = std::make_unique<Partition>(tp, core.opts.inflight_per_partition);
      core.parts[tp]->counters.tp = tp;
      if (auto seq = target_side.take_retired_sequence(tp))
        core.parts[tp]->queue.continue_sequence(*seq);  // retired earlier: same producer id
      added.push_back(tp);
    }
  }
  if (selected != core.selected_topics) {
    core.selected_topics = selected;
    if (selected_topics_fn_) selected_topics_fn_(selected);
  }
  if (added.empty()) return;
  TM_INFO(kLog, "partitions selected", {{"route", core.opts.name}, {"added", added.size()}, {"total", core.parts.size()}});
  for (const auto& tp : added) {
    if (const auto* r = target_side.refused(tp.topic)) core.pause(*core.parts[tp], *r, PauseSide::target);
  }
  if (new_partitions_) new_partitions_(added);
  // Under a syncer, a partition starts once its target topic's max.message.bytes is known:
  // started earlier, a batch above the target's limit would go whole and be refused
  // (MESSAGE_TOO_LARGE pauses the partition), and its resume scan would repack by the wrong
  // limit. The syncer's first pass, and its pass for new topics, report it; a syncer slower
  // than target_limits_wait does not hold mirroring up: the partition starts at the default.
  std::vector<TopicPartition> now, held;
  for (const auto& tp : added) {
    if (core.opts.await_target_limits && !target_side.knows_max_message_bytes(tp.topic)) {
      core.parts[tp]->reason = "waiting for the partition-count syncer to read the target topic's max.message.bytes";
      awaiting_limits_.push_back(tp);
      held.push_back(tp);
    } else {
      now.push_back(tp);
    }
  }
  if (!now.empty()) progress.start_partitions(std::move(now));
  if (held.empty()) return;
  core.after(core.opts.target_limits_wait, [this, keep = core.keep(), held = std::set(held.begin(), held.end())] {
    if (core.stopping) return;
    auto released = start_awaiting([&](const TopicPartition& tp) { return held.count(tp) > 0; });
    if (released > 0)
      TM_WARN(kLog, "the syncer has not read the target topics' max.message.bytes in time; assuming Kafka's default "
                    "(a larger batch than the target takes pauses its partition)",
              {{"route", core.opts.name}, {"partitions", released}, {"waited_ms", core.opts.target_limits_wait.count()},
               {"bytes", core.opts.max_message_bytes}});
  });
}

size_t Route::Impl::start_awaiting(const std::function<bool(const TopicPartition&)>& pred) {
  std::vector<TopicPartition> ready;
  std::erase_if(awaiting_limits_, [&](const TopicPartition& tp) {
    if (!pred(tp)) return false;
    if (auto p = core.parts.find(tp); p != core.parts.end() && !p->second->retiring) {
      if (p->second->state != PartitionState::paused) p->second->reason.clear();
      ready.push_back(tp);
    }
    return true;
  });
  size_t n = ready.size();
  if (!ready.empty() && core.started && !core.stopping) progress.start_partitions(std::move(ready));
  return n;
}

// ---------------------------------------------------------------- scheduling, stop

void Route::Impl::schedule() {
  if (!core.started) return;
  if (!core.stopping) source_side.schedule_fetches();
  target_side.schedule_produces();
  maybe_finish_stop();
}

void Route::Impl::maybe_finish_stop() {
  if (!core.stopping || !stopped_) return;
  if (!abandon_in_flight_ && target_side.in_flight()) return;
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  stop_timer_.cancel();
  progress.commit_last([this, keep = core.keep(), done] {
    TM_INFO(kLog, "route stopped; acknowledged offsets committed", {{"route", core.opts.name}});
    finish_removals(true);
    asio::post(core.io, done);
  });
}

// ---------------------------------------------------------------- live reload

void Route::Impl::reconfigure(RouteOptions rc) {
  auto& o = core.opts;
  o.select_topic = std::move(rc.select_topic);
  o.start_earliest = rc.start_earliest;
  o.commit_interval = rc.commit_interval;
  o.metadata_interval = rc.metadata_interval;
  o.request_timeout = rc.request_timeout;
  o.bytes_per_partition = rc.bytes_per_partition;
  o.total_bytes = rc.total_bytes;
  o.fetch_max_bytes = rc.fetch_max_bytes;
  o.inflight_per_partition = rc.inflight_per_partition;
  // Live so an operator can choose duplicates for partitions waiting on a long outage.
  o.resume_on_scan_failure = rc.resume_on_scan_failure;
  std::set<std::string> retired_topics;
  size_t retired = 0;
  for (auto& [tp, p] : core.parts) {
    p->queue.set_max_in_flight(o.inflight_per_partition);
    if (p->retiring || (o.select_topic && o.select_topic(tp.topic))) continue;
    // Acknowledged offsets get a few commit rounds; after that the partition goes anyway
    // (its last acknowledged batches are sent again if the topic is selected later).
    retire(*p, "topic no longer selected (configuration reloaded)",
                 std::chrono::steady_clock::now() + 3 * std::max(o.commit_interval, o.request_timeout));
    retired_topics.insert(tp.topic);
    ++retired;
  }
  std::string topics;
  for (const auto& t : retired_topics) topics += (topics.empty() ? "" : ",") + t;
  TM_INFO(kLog, "route reconfigured",
          {{"route", o.name}, {"retiring_partitions", retired}, {"retiring_topics", topics},
           {"total_bytes", o.total_bytes}, {"bytes_per_partition", o.bytes_per_partition},
           {"fetch_max_bytes", o.fetch_max_bytes}, {"inflight_per_partition", o.inflight_per_partition}});
  reap_retired();
  if (core.started && !core.stopping) {
    metadata_timer_.cancel();  // newly selected topics start now, not at the next tick
    refresh_metadata();
  }
}

// ---------------------------------------------------------------- assignment changes, retiring partitions

void Route::Impl::assign(std::vector<TopicPartition> tps) {
  assigned_.insert(tps.begin(), tps.end());
  TM_INFO(kLog, "partitions assigned by the group", {{"route", core.opts.name}, {"added", tps.size()},
                                                    {"assigned", assigned_.size()}});
  // Known partitions start now; the others at the metadata pass that finds them. One still
  // retiring from an earlier removal starts again once it is gone (reap_retired).
  if (auto md = core.source->metadata(); md && core.started && !core.stopping) discover(md);
}

void Route::Impl::remove(std::vector<TopicPartition> tps, Removal why, net::Millis timeout, std::function<void()> done) {
  PendingRemoval r{{}, std::move(done)};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& tp : tps) {
    assigned_.erase(tp);
    // Held for the syncer's limits and never started: it just leaves that list.
    std::erase(awaiting_limits_, tp);
    auto it = core.parts.find(tp);
    if (it == core.parts.end()) continue;
    Partition& p = *it->second;
    if (why == Removal::lost) {
      p.lost = true;  // never committed again: another member may have resumed it already
      retire(p, "lost: the group session expired", deadline);
    } else {
      retire(p, "revoked by the group", deadline);
    }
    r.tps.insert(tp);
  }
  TM_INFO(kLog, why == Removal::lost ? "partitions lost by the group member" : "partitions revoked by the group",
          {{"route", core.opts.name}, {"removed", r.tps.size()}, {"assigned", assigned_.size()}});
  // Both wait until the requests in flight finished (a lost partition without a commit):
  // librdkafka rejoins only after `done`, so a partition it merely believes lost (an
  // ILLEGAL_GENERATION answer to a commit) reaches another member only after our last
  // Produce landed, before that member's resume scan.
  if (r.tps.empty()) {
    asio::post(core.strand, std::move(r.done));
  } else {
    removals_.push_back(std::move(r));
  }
  if (core.stopping) return finish_removals(true);  // stop() commits every partition
  reap_retired();
}

void Route::Impl::retire(Partition& p, std::string reason, std::chrono::steady_clock::time_point deadline) {
  p.retire_deadline = p.retiring ? std::min(p.retire_deadline, deadline) : deadline;
  p.retiring = true;
  p.reason = std::move(reason);
  p.state = PartitionState::paused;  // no new fetches (schedule_fetches takes running only)
  if (!p.sending_stopped) {
    p.sending_stopped = true;  // no new produces; requests in flight still complete
    for (const auto& b : p.queue.drop_unsent_tail()) core.budget.untrack(b);
  }
}

void Route::Impl::reap_retired() {
  if (core.stopping) return;  // stop() commits every partition, retiring ones included
  bool pending = false, need_commit = false;
  std::vector<TopicPartition> removed;
  auto now = std::chrono::steady_clock::now();
  for (auto it = core.parts.begin(); it != core.parts.end();) {
    Partition& p = *it->second;
    // Fetch and produce callbacks hold raw pointers: only an idle partition may go.
    if (!p.retiring) {
      ++it;
      continue;
    }
    bool idle = !p.start_pending && !p.fetching && p.queue.in_flight() == 0;
    auto released = p.queue.committed_next();
    bool committed = p.lost || !released || p.committed == released;
    if (idle && (committed || now >= p.retire_deadline)) {
      if (!committed)
        TM_WARN(kLog, "retired partition removed before its acknowledged offsets were committed",
                {{"partition", p.tp.str()}, {"acknowledged_next", released->value()}});
      // The broker keeps this producer's sequence for the partition: if the topic is
      // selected again under the same producer id, its new queue continues from here.
      if (int32_t seq = p.queue.resume_sequence(); seq > 0) target_side.keep_retired_sequence(p.tp, seq);
      for (const auto& b : p.queue.drain()) core.budget.untrack(b);
      for (const auto& o : core.opts.observers) o->removed(p.tp);
      removed.push_back(p.tp);
      it = core.parts.erase(it);
      continue;
    }
    pending = true;
    if (idle && !committed) need_commit = true;
    ++it;
  }
  if (!removed.empty())
    TM_INFO(kLog, "retired partitions removed", {{"route", core.opts.name}, {"removed", removed.size()}, {"total", core.parts.size()}});
  if (need_commit && !progress.committing()) progress.commit(nullptr);
  finish_removals(false);
  if (pending && !reap_armed_) {
    reap_armed_ = true;
    // A group's revocation waits on this (the rebalance with it): look more often then.
    core.after(removals_.empty() ? core.opts.retry_backoff * 5 : core.opts.retry_backoff, [this, keep = core.keep()] {
      reap_armed_ = false;
      reap_retired();
    });
  }
  // A topic selected again while its old partitions were retiring: discover it now.
  bool reselected = false;
  for (const auto& tp : removed)
    reselected = reselected || (core.opts.assigned_only ? assigned_.count(tp) > 0
                                                        : core.opts.select_topic && core.opts.select_topic(tp.topic));
  if (reselected && core.started) {
    metadata_timer_.cancel();
    refresh_metadata();
  }
}

void Route::Impl::finish_removals(bool all) {
  std::vector<std::function<void()>> done;
  std::erase_if(removals_, [&](const PendingRemoval& r) {
    bool gone = all || std::none_of(r.tps.begin(), r.tps.end(), [&](const auto& tp) { return core.parts.count(tp) > 0; });
    if (gone) done.push_back(r.done);
    return gone;
  });
  for (auto& d : done)
    if (d) d();
}

}  // namespace tiermirror::pipeline
