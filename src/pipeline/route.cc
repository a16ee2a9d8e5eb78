#include "tiermirror/pipeline/route.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/group_offsets.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/pipeline/resume.h"
#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/messages/init_producer_id.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {

namespace asio = boost::asio;
namespace {
constexpr const char* kLog = "pipeline";
}

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

struct Route::Partition {
  explicit Partition(TopicPartition t, int max_in_flight) : tp(std::move(t)), queue(max_in_flight) {}
  TopicPartition tp;
  PartitionState state = PartitionState::starting;
  std::string reason;
  SourceOffset next_fetch{0};
  bool fetching = false;
  PartitionQueue queue;
  AbortedFilter aborted;
  int64_t high_watermark = -1;
  std::optional<int64_t> end_at_start;  // read_committed log end when the partition started
  std::optional<SourceOffset> committed;
  std::string committed_metadata;  // stored with `committed` (kept when a commit round renews it)
  size_t fetch_size_floor = 0;          // raised when one batch exceeds the budget
  bool sending_stopped = false;         // paused for a target-side reason
  PartitionStatus counters;
  // Its topic is no longer selected (reconfigure), or the group took it away (remove): removed
  // once idle and committed. A lost partition is never committed again (another member may
  // own it already).
  bool retiring = false;
  bool lost = false;
  std::chrono::steady_clock::time_point retire_deadline{};
  // resolve_start's callbacks and retries hold a raw pointer until set_running_or_waiting.
  bool start_pending = false;
  int resume_failures = 0;  // resume scans failed in a row (the backoff grows with it)
  // A resume whose target partition is not in the target metadata yet: scanned once it is
  // there. Metadata can lag (a partition another member's syncer just created, a broker that
  // learns of it late) while an earlier owner already wrote past the commit: starting without
  // the scan would send those batches again.
  struct DeferredResume {
    SourceOffset from;
    std::optional<int64_t> hint;
  };
  std::optional<DeferredResume> deferred_resume;
  // The target offset just after the last batch released (acknowledged in order), stored
  // with each commit as the exactly-once resume hint; else a lower bound of where this
  // process's deliveries land (the target high watermark when the resume scan ran).
  std::optional<int64_t> target_hint;
  // The target broker this partition's Produce requests in flight went to. While any is out,
  // nothing new goes to another broker: after a leader move, a request still queued for the
  // old leader (its connection down) would otherwise land after later batches sent to the new
  // one, which answers OUT_OF_ORDER_SEQUENCE_NUMBER (ProducerAppendInfo.checkSequence).
  int32_t produce_broker = -1;
};

template <typename F>
auto Route::on_strand(F&& f) {
  return asio::bind_executor(strand_, std::forward<F>(f));
}

std::shared_ptr<Route> Route::create(asio::io_context& io, std::shared_ptr<net::Cluster> source,
                                     std::shared_ptr<net::Cluster> target, RouteOptions opts) {
  return std::shared_ptr<Route>(new Route(io, std::move(source), std::move(target), std::move(opts)));
}

Route::Route(asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
             RouteOptions opts)
    : io_(io),
      strand_(asio::make_strand(io)),
      source_(std::move(source)),
      target_(std::move(target)),
      opts_(std::move(opts)),
      metadata_timer_(strand_),
      commit_timer_(strand_),
      retry_timer_(strand_),
      stop_timer_(strand_) {
  offsets_ = GroupOffsets::create(source_, opts_.group, opts_.request_timeout);
}

Route::~Route() = default;

size_t Route::total_buffered() const { return frame_bytes_ + fetch_reserved_; }

int64_t Route::wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Route::notify_failed(protocol::ApiKey api, std::error_code ec) {
  for (const auto& o : opts_.observers) o->request_failed(api, ec);
}

void Route::track(const QueuedBatch& b) {
  const auto& owner = b.batch.bytes().owner();
  auto& use = frames_[owner.span().data()];
  if (use.batches++ == 0) {
    use.bytes = owner.size();
    frame_bytes_ += use.bytes;
  }
}

void Route::untrack(const QueuedBatch& b) {
  auto it = frames_.find(b.batch.bytes().owner().span().data());
  if (it == frames_.end()) return;
  if (--it->second.batches == 0) {
    frame_bytes_ -= it->second.bytes;
    frames_.erase(it);
  }
}

// ---------------------------------------------------------------- start, discovery

void Route::start(std::function<void(std::error_code, std::string)> fatal) {
  asio::post(strand_, [self = shared_from_this(), fatal = std::move(fatal)]() mutable {
    self->fatal_ = std::move(fatal);
    self->started_ = true;
    TM_INFO(kLog, "route starting", {{"route", self->opts_.name}, {"group", self->opts_.group}});
    self->init_producer();
    self->refresh_metadata();
    self->commit_timer_.expires_after(self->opts_.commit_interval);
    self->commit_timer_.async_wait([self](const std::error_code& ec) {
      if (!ec) self->commit(nullptr);
    });
  });
}

void Route::refresh_metadata() {
  if (stopping_) return;
  auto self = shared_from_this();
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
  auto one_done = [self, both](std::error_code ec, net::Cluster* cl, const char* side) {
    // A login refused before a cluster ever answered (wrong password, untrusted or expired
    // certificate) will not fix itself: stop with the reason rather than retry forever.
    if (ec && net::is_login_failure(ec) && !cl->metadata() && self->fatal_ && !self->stopping_ && !both->fatal) {
      both->fatal = true;  // once: the process stops, and no refresh follows
      self->fatal_(ec, std::string("cannot log in to the ") + side + " cluster '" + cl->options().name +
                           "': " + cl->login_failure().value_or(ec.message()));
    }
    if (--both->left == 0 && !both->fatal) self->on_metadata(both->source_ec, both->source_md, both->target_ec);
  };
  target_->refresh(std::nullopt, on_strand([self, both, one_done](std::error_code ec, net::MetadataPtr) {
    both->target_ec = ec;
    one_done(ec, self->target_.get(), "target");
  }));
  source_->refresh(std::nullopt, on_strand([self, both, one_done](std::error_code ec, net::MetadataPtr md) {
    both->source_ec = ec;
    both->source_md = md;
    one_done(ec, self->source_.get(), "source");
  }));
}

void Route::on_metadata(std::error_code ec, const net::MetadataPtr& md, std::error_code tec) {
  if (stopping_) return;  // a refresh that ends after stop() discovers nothing
  if (ec || !md) {
    TM_WARN(kLog, "source metadata refresh failed", {{"route", opts_.name}, {"error", ec.message()}});
  } else {
    discover(md);
    if (!tec) metadata_loaded_ = true;
  }
  if (tec) TM_WARN(kLog, "target metadata refresh failed", {{"route", opts_.name}, {"error", tec.message()}});
  bool waiting = false;
  for (auto& [tp, p] : parts_) {
    if (p->state == PartitionState::waiting_target) set_running_or_waiting(*p);
    waiting = waiting || p->state == PartitionState::waiting_target;
  }
  schedule();
  // A target partition the syncer just created may not be in every broker's metadata yet
  // (ZooKeeper-mode brokers learn it asynchronously: seen on Kafka 2.8), so while
  // partitions wait for theirs the next look comes sooner: 0.5 s, doubling up to the interval.
  auto next = opts_.metadata_interval;
  if (waiting) {
    waiting_refresh_ = std::min(next, waiting_refresh_.count() ? waiting_refresh_ * 2 : net::Millis(500));
    next = waiting_refresh_;
  } else {
    waiting_refresh_ = net::Millis(0);
  }
  metadata_timer_.expires_after(next);
  metadata_timer_.async_wait([self = shared_from_this()](const std::error_code& e) {
    if (!e) self->refresh_metadata();
  });
}

void Route::discover(const net::MetadataPtr& md) {
  // A topic the source no longer lists was deleted: its partitions cannot go on (a topic
  // recreated under the same name is new data; resuming at old offsets would be wrong).
  for (auto& [tp, p] : parts_) {
    if (p->state == PartitionState::paused || md->topics.count(tp.topic)) continue;
    pause(*p, "topic '" + tp.topic + "' no longer exists on the source");
  }
  std::vector<TopicPartition> added;
  std::set<std::string> selected;
  for (const auto& [name, t] : md->topics) {
    if (t.internal || t.error_code != 0 || !opts_.select_topic || !opts_.select_topic(name)) continue;
    selected.insert(name);
    for (const auto& pi : t.partitions) {
      TopicPartition tp{name, pi.partition};
      if (parts_.count(tp)) continue;
      if (opts_.assigned_only && !assigned_.count(tp)) continue;  // another member's, or nobody's yet
      parts_[tp] = std::make_unique<Partition>(tp, opts_.inflight_per_partition);
      parts_[tp]->counters.tp = tp;
      if (auto seq = retired_sequences_.find(tp); seq != retired_sequences_.end()) {
        parts_[tp]->queue.continue_sequence(seq->second);  // retired earlier: same producer id
        retired_sequences_.erase(seq);
      }
      added.push_back(tp);
    }
  }
  if (selected != selected_topics_) {
    selected_topics_ = selected;
    if (selected_topics_fn_) selected_topics_fn_(selected);
  }
  if (added.empty()) return;
  TM_INFO(kLog, "partitions selected", {{"route", opts_.name}, {"added", added.size()}, {"total", parts_.size()}});
  for (const auto& tp : added) {
    auto r = refused_.find(tp.topic);
    if (r != refused_.end()) pause(*parts_[tp], r->second, PauseSide::target);
  }
  if (new_partitions_) new_partitions_(added);
  // Under a syncer, a partition starts once its target topic's max.message.bytes is known:
  // started earlier, a batch above the target's limit would go whole and be refused
  // (MESSAGE_TOO_LARGE pauses the partition), and its resume scan would repack by the wrong
  // limit. The syncer's first pass, and its pass for new topics, report it; a syncer slower
  // than target_limits_wait does not hold mirroring up: the partition starts at the default.
  std::vector<TopicPartition> now, held;
  for (const auto& tp : added) {
    if (opts_.await_target_limits && !max_message_bytes_.count(tp.topic)) {
      parts_[tp]->reason = "waiting for the partition-count syncer to read the target topic's max.message.bytes";
      awaiting_limits_.push_back(tp);
      held.push_back(tp);
    } else {
      now.push_back(tp);
    }
  }
  if (!now.empty()) start_partitions(std::move(now));
  if (held.empty()) return;
  after(opts_.target_limits_wait, [self = shared_from_this(), held = std::set(held.begin(), held.end())] {
    if (self->stopping_) return;
    auto released = self->start_awaiting([&](const TopicPartition& tp) { return held.count(tp) > 0; });
    if (released > 0)
      TM_WARN(kLog, "the syncer has not read the target topics' max.message.bytes in time; assuming Kafka's default "
                    "(a larger batch than the target takes pauses its partition)",
              {{"route", self->opts_.name}, {"partitions", released}, {"waited_ms", self->opts_.target_limits_wait.count()},
               {"bytes", self->opts_.max_message_bytes}});
  });
}

size_t Route::start_awaiting(const std::function<bool(const TopicPartition&)>& pred) {
  std::vector<TopicPartition> ready;
  std::erase_if(awaiting_limits_, [&](const TopicPartition& tp) {
    if (!pred(tp)) return false;
    if (auto p = parts_.find(tp); p != parts_.end() && !p->second->retiring) {
      if (p->second->state != PartitionState::paused) p->second->reason.clear();
      ready.push_back(tp);
    }
    return true;
  });
  size_t n = ready.size();
  if (!ready.empty() && started_ && !stopping_) start_partitions(std::move(ready));
  return n;
}

void Route::start_partitions(std::vector<TopicPartition> tps) {
  auto self = shared_from_this();
  offsets_->fetch_commits(tps, on_strand([self, tps](std::error_code ec,
                                                     std::map<TopicPartition, std::optional<GroupOffsets::Commit>> commits) {
    if (ec) {
      // Without the committed offsets we cannot know where to start: try again later,
      // never guess (starting at the configured position would re-send or skip data).
      TM_WARN(kLog, "cannot read the group's committed offsets; retrying",
              {{"route", self->opts_.name}, {"group", self->opts_.group}, {"error", ec.message()}});
      self->after(self->opts_.retry_backoff * 5, [self, tps] {
        if (!self->stopping_) self->start_partitions(tps);
      });
      return;
    }
    std::map<TopicPartition, std::optional<StartCommit>> committed;
    for (auto& [tp, c] : commits)
      committed[tp] = c ? std::optional(StartCommit{c->next, std::move(c->metadata)}) : std::nullopt;
    self->resolve_start(tps, std::move(committed));
  }));
}

void Route::resolve_start(std::vector<TopicPartition> tps,
                          std::map<TopicPartition, std::optional<StartCommit>> committed) {
  struct Start {
    Partition* p;  // start_pending keeps it alive until its start chain ends
    bool has_commit;
    std::optional<int64_t> hint;
  };
  auto starts = std::make_shared<std::vector<Start>>();
  std::vector<TopicPartition> ask;
  for (const auto& tp : tps) {
    auto it = parts_.find(tp);
    if (it == parts_.end()) continue;
    Partition* p = it->second.get();
    if (p->retiring) {  // its start chain ends here; reap_retired may now remove it
      p->start_pending = false;
      continue;
    }
    p->start_pending = true;
    auto c = committed.find(tp);
    bool has_commit = c != committed.end() && c->second.has_value();
    std::optional<int64_t> hint;
    if (has_commit) {
      p->next_fetch = c->second->next;
      p->committed = c->second->next;
      p->committed_metadata = c->second->metadata;
      p->counters.committed_offset = c->second->next.value();
      hint = parse_resume_hint(c->second->metadata);
    }
    starts->push_back({p, has_commit, hint});
    ask.push_back(tp);
  }
  if (ask.empty()) return;
  // The read_committed ends now, for --until-caught-up; and the starts when no commit. One
  // ListOffsets per source broker for all of them: one request per partition overflowed the
  // connection's queue with 10,000 partitions (each then retried).
  list_offsets(source_, ask, kLatestTimestamp, Isolation::read_committed, opts_.request_timeout,
               on_strand([self = shared_from_this(), starts](std::map<TopicPartition, ListedOffset> ends) {
                 std::vector<TopicPartition> retry;
                 std::vector<Partition*> from_earliest;
                 std::error_code first_error;
                 for (const auto& s : *starts) {
                   Partition& p = *s.p;
                   auto it = ends.find(p.tp);
                   if (it == ends.end() || it->second.ec) {
                     if (!first_error) first_error = it == ends.end() ? make_error_code(errc::malformed) : it->second.ec;
                     retry.push_back(p.tp);
                     continue;
                   }
                   p.end_at_start = it->second.offset;
                   p.high_watermark = it->second.offset;
                   if (s.has_commit) {
                     self->resume(p, p.next_fetch, s.hint);
                   } else if (!self->opts_.start_earliest) {
                     // Nothing of the source before the end is ours; the end is committed at the
                     // next round (resume), so a restart before anything was mirrored starts there.
                     self->resume(p, SourceOffset(it->second.offset), std::nullopt);
                   } else {
                     from_earliest.push_back(&p);
                   }
                 }
                 self->retry_start(std::move(retry), first_error, "end offset");
                 if (!from_earliest.empty()) self->start_from_earliest(std::move(from_earliest));
                 self->schedule();
               }));
}

void Route::start_from_earliest(std::vector<Partition*> parts) {
  std::vector<TopicPartition> tps;
  for (auto* p : parts) tps.push_back(p->tp);
  list_offsets(source_, tps, kEarliestTimestamp, Isolation::read_committed, opts_.request_timeout,
               on_strand([self = shared_from_this(), parts](std::map<TopicPartition, ListedOffset> starts) {
                 std::vector<TopicPartition> retry;
                 std::error_code first_error;
                 for (auto* p : parts) {
                   auto it = starts.find(p->tp);
                   if (it == starts.end() || it->second.ec) {
                     if (!first_error) first_error = it == starts.end() ? make_error_code(errc::malformed) : it->second.ec;
                     retry.push_back(p->tp);
                     continue;
                   }
                   // No commit yet: an earlier process may still have delivered batches from
                   // the start before it died.
                   self->resume(*p, SourceOffset(it->second.offset), std::nullopt);
                 }
                 self->retry_start(std::move(retry), first_error, "log start offset");
                 self->schedule();
               }));
}

void Route::retry_start(std::vector<TopicPartition> tps, std::error_code ec, const char* what) {
  if (tps.empty()) return;
  // One line for all of them: a source broker that is down fails thousands at once.
  TM_WARN(kLog, "cannot read the partitions' offsets at start; retrying",
          {{"route", opts_.name}, {"offset", what}, {"partitions", tps.size()}, {"first", tps.front().str()},
           {"error", ec.message()}});
  after(opts_.retry_backoff * 5, [self = shared_from_this(), tps = std::move(tps)] {
    if (!self->stopping_) self->start_partitions(tps);
  });
}

void Route::resume(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  p.next_fetch = from;
  for (const auto& o : opts_.observers) o->counting_from(p.tp, from);
  // Without a commit, the start offset is committed at the next round: a process that
  // restarts before anything was released starts here again (and counts from here again),
  // not at a later "latest" or log start.
  if (!p.committed && p.queue.empty()) p.queue.start_at(from);
  // Nothing to look for: no source data after `from` (nothing of it can have been sent), or
  // the partition is going away.
  if (stopping_ || p.retiring || p.state == PartitionState::paused || !p.end_at_start ||
      from.value() >= *p.end_at_start) {
    set_running_or_waiting(p);
    schedule();
    return;
  }
  auto md = target_->metadata();
  if (!md || !md->partition(p.tp.topic, p.tp.partition)) {
    // Not "nothing of ours in the target": this process's metadata may just not show it yet.
    p.deferred_resume = Partition::DeferredResume{from, hint};
    set_running_or_waiting(p);  // waits for the target; scans when it appears
    schedule();
    return;
  }
  screen_for_scan(p, from, hint);
}

void Route::screen_for_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  // Thousands of partitions start at once (or retry after an outage): their target log ends
  // are read with one ListOffsets per broker, gathered for a moment, not one scan each.
  screening_.push_back({&p, from, hint});
  if (screen_armed_) return;
  screen_armed_ = true;
  after(net::Millis(20), [self = shared_from_this()] { self->screen_scans(); });
}

void Route::screen_scans() {
  screen_armed_ = false;
  auto batch = std::move(screening_);
  screening_.clear();
  std::vector<TopicPartition> tps;
  for (const auto& s : batch) tps.push_back(s.p->tp);
  auto self = shared_from_this();
  list_log_end_offsets(target_, tps, opts_.request_timeout, [self, batch](std::map<TopicPartition, ListedOffset> ends) {
    asio::post(self->strand_, [self, batch, ends = std::move(ends)] {
      size_t spared = 0;
      for (const auto& s : batch) {
        Partition& p = *s.p;
        auto it = ends.find(p.tp);
        if (self->stopping_ || p.retiring || p.state == PartitionState::paused) {
          self->set_running_or_waiting(p);  // ends the start chain
        } else if (it != ends.end() && it->second.ec) {
          // The target broker does not answer: a failed scan (no slot taken while it is down).
          ResumeScanResult r;
          r.ec = it->second.ec;
          r.detail = "target ListOffsets (log end): " + it->second.ec.message();
          r.resume_at = s.from;
          if (!self->on_resume_scan_failed(p, s.from, s.hint, r)) self->on_resume_scanned(p, s.from, std::move(r));
        } else if (it != ends.end() && !resume_needs_scan(s.hint, it->second.offset)) {
          ++spared;
          p.resume_failures = 0;
          p.target_hint = it->second.offset;  // what this process sends lands from here
          self->set_running_or_waiting(p);
        } else {
          self->queue_scan(p, s.from, s.hint);
        }
      }
      if (spared > 0)
        TM_INFO(kLog, "exactly-once resume: nothing in the target after the commit's target offset, no scan needed",
                {{"route", self->opts_.name}, {"partitions", spared}, {"to_scan", batch.size() - spared}});
      self->schedule();
    });
  });
}

void Route::queue_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  ResumeScanOptions so;
  so.tp = p.tp;
  so.from = from;
  so.source_end = *p.end_at_start;
  so.hint = hint;
  so.max_scan_bytes = opts_.resume_scan_bytes;
  so.fetch_bytes = std::min<size_t>(opts_.fetch_max_bytes, 1u << 20);
  so.max_message_bytes = max_message_bytes(p.tp.topic);
  so.force_repack = opts_.force_repack;
  so.request_timeout = opts_.request_timeout;
  // Long enough to ride out a leader move; a scan that got no answer that far is tried again
  // (on_resume_scan_failed). A slow scan that keeps reading runs to its end.
  so.deadline = std::max(2 * opts_.request_timeout, net::Millis(10000));
  so.backoff = opts_.retry_backoff;
  Partition* pp = &p;
  scans_waiting_.push_back([self = shared_from_this(), pp, so] {
    self->scans_running_++;
    scan_delivered(self->source_, self->target_, so, self->strand_,
                   [self, pp, from = so.from, hint = so.hint](ResumeScanResult r) {
                     self->scans_running_--;
                     if (!r.ec || !self->on_resume_scan_failed(*pp, from, hint, r))
                       self->on_resume_scanned(*pp, from, std::move(r));
                     self->run_next_scan();
                   });
  });
  run_next_scan();
}

void Route::run_next_scan() {
  while (!scans_waiting_.empty() && scans_running_ < std::max(1, opts_.resume_scans_in_parallel)) {
    auto next = std::move(scans_waiting_.front());
    scans_waiting_.pop_front();
    next();
  }
}

void Route::on_resume_scanned(Partition& p, SourceOffset from, ResumeScanResult r) {
  p.resume_failures = 0;
  if (r.ec) {
    // resume.on_scan_failure: duplicate. Never skip on doubt: from the committed offset, the
    // batches delivered since the last commit are sent again (at-least-once, this time).
    TM_ERROR(kLog, "exactly-once resume failed; resuming at the committed offset: batches delivered since the "
                   "last commit will be duplicated in the target (resume.on_scan_failure: duplicate)",
             {{"route", opts_.name}, {"partition", p.tp.str()}, {"from_offset", from.value()},
              {"error", r.ec.message()}, {"detail", r.detail}});
    set_running_or_waiting(p);
    schedule();
    return;
  }
  uint64_t matched = 0;
  for (const auto& u : r.matched) {
    if (u.sends.empty()) continue;  // dropped (control, aborted): never sent, nothing to count
    ++matched;
    std::vector<BatchFacts> delivered = u.earlier_pieces;
    for (const auto& s : u.sends)
      delivered.push_back(BatchFacts{u.first, u.last, s.records_count(), s.size(), u.facts.base_timestamp,
                                     u.facts.max_timestamp});
    for (const auto& o : opts_.observers) o->already_delivered(p.tp, u.facts, delivered);
    p.counters.acked_max_timestamp = std::max(p.counters.acked_max_timestamp, u.facts.max_timestamp);
  }
  p.counters.resume_matched_batches += matched;
  p.counters.resume_scanned_batches += r.target_batches;
  bool moved = r.resume_at != from && p.queue.empty();
  if (moved) {
    p.next_fetch = r.resume_at;
    p.queue.start_at(r.resume_at);  // committed at once, below
  }
  if (r.target_next)
    p.target_hint = *r.target_next;
  else if (r.target_high_watermark >= 0)
    p.target_hint = r.target_high_watermark;  // whatever this process sends lands after it
  TM_INFO(kLog, "exactly-once resume: target tail matched",
          {{"route", opts_.name}, {"partition", p.tp.str()}, {"committed", from.value()},
           {"resume_at", p.next_fetch.value()}, {"already_delivered_batches", matched},
           {"target_batches_scanned", r.target_batches}, {"target_bytes_scanned", r.target_bytes},
           {"other_batches_skipped", r.skipped}, {"pieces_of_next_batch_found", r.partial_pieces},
           {"scanned_from", r.scanned_from}, {"replication_waits", r.replication_waits}, {"how", r.detail}});
  if (r.bound_reached)
    TM_WARN(kLog, "exactly-once resume: scan bound reached before the target high watermark; batches past it that "
                  "were already delivered are sent again",
            {{"partition", p.tp.str()}, {"resume_scan_bytes", opts_.resume_scan_bytes}});
  set_running_or_waiting(p);
  schedule();
  if (moved && !stopping_) commit(nullptr);
}

bool Route::on_resume_scan_failed(Partition& p, SourceOffset from, std::optional<int64_t> hint,
                                  const ResumeScanResult& r) {
  p.counters.resume_scan_failures++;
  if (opts_.resume_on_scan_failure == ResumeScanFailurePolicy::duplicate) return false;
  if (resume_scan_failure_is_permanent(r.ec)) {
    // Retrying cannot help, and going on would duplicate: the operator fixes it and restarts.
    pause(p, "exactly-once resume scan refused (" + r.ec.message() + "): " + r.detail +
                 "; fix it and restart (or set resume.on_scan_failure: duplicate)");
    p.start_pending = false;
    return true;
  }
  ++p.resume_failures;
  auto delay = resume_scan_retry_delay(p.resume_failures, opts_.retry_backoff, opts_.resume_retry_max);
  p.state = PartitionState::resume_waiting;
  p.reason = "exactly-once resume scan failed " + std::to_string(p.resume_failures) + " time(s), retrying in " +
             std::to_string(delay.count()) + " ms: " + r.detail;
  // Thousands of partitions wait through one outage: a line at the 1st, 2nd, 4th, 8th... failure
  // each, the rest at debug level (status and metrics show every one).
  const bool loud = (p.resume_failures & (p.resume_failures - 1)) == 0;
  TM_LOG_(loud ? log::Level::warn : log::Level::debug, kLog,
          "exactly-once resume scan failed; the partition waits and scans again (no duplicates)",
          {{"route", opts_.name}, {"partition", p.tp.str()}, {"from_offset", from.value()},
           {"attempts", p.resume_failures}, {"retry_in_ms", delay.count()}, {"error", r.ec.message()},
           {"detail", r.detail}});
  after(delay, [self = shared_from_this(), pp = &p, from, hint] {
    // start_pending keeps the partition alive (reap_retired) until this chain ends.
    if (self->stopping_ || pp->retiring || pp->state != PartitionState::resume_waiting) {
      pp->start_pending = false;
      if (!self->stopping_ && !pp->retiring) self->set_running_or_waiting(*pp);
      self->schedule();
      return;
    }
    self->screen_for_scan(*pp, from, hint);
  });
  return true;
}

void Route::set_running_or_waiting(Partition& p) {
  p.start_pending = false;  // the end of resolve_start's chain
  if (p.state == PartitionState::paused) return;
  auto md = target_->metadata();
  bool exists = md && md->partition(p.tp.topic, p.tp.partition) != nullptr;
  if (exists && p.deferred_resume && !stopping_ && !p.retiring) {
    auto d = *p.deferred_resume;
    p.deferred_resume.reset();
    p.start_pending = true;  // the start chain goes on: the scan, then running
    p.state = PartitionState::starting;
    p.reason.clear();
    TM_INFO(kLog, "target partition now in the metadata: exactly-once resume scan",
            {{"partition", p.tp.str()}, {"from_offset", d.from.value()}});
    screen_for_scan(p, d.from, d.hint);
    return;
  }
  if (exists) {
    if (p.state != PartitionState::running)
      TM_INFO(kLog, "partition running", {{"partition", p.tp.str()}, {"from_offset", p.next_fetch.value()}});
    p.state = PartitionState::running;
    p.reason.clear();
  } else {
    // Without any metadata the target has not answered at all: saying its partition is
    // missing would send the operator after the wrong problem.
    std::string reason = md ? "target partition " + std::to_string(p.tp.partition) + " of '" + p.tp.topic +
                                  "' does not exist (target has fewer partitions than the source)"
                            : "no broker of the target cluster has answered yet";
    if (p.state != PartitionState::waiting_target || p.reason != reason) {
      p.state = PartitionState::waiting_target;
      p.reason = std::move(reason);
      if (md) TM_WARN(kLog, "partition waiting for the target", {{"partition", p.tp.str()}, {"reason", p.reason}});
    }
  }
  check_caught_up();
}

// ---------------------------------------------------------------- scheduling

void Route::schedule() {
  if (!started_) return;
  if (!stopping_) schedule_fetches();
  schedule_produces();
  maybe_finish_stop();
}

void Route::retry_later() {
  if (retry_armed_ || stopping_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(opts_.retry_backoff);
  retry_timer_.async_wait(on_strand([self = shared_from_this()](const std::error_code& ec) {
    self->retry_armed_ = false;
    if (!ec) self->schedule();
  }));
}

void Route::schedule_fetches() {
  size_t total = total_buffered();
  if (total >= opts_.total_bytes) return;  // the global budget is full: fetch nothing
  std::map<int32_t, std::vector<Partition*>> by_leader;
  bool missing_leader = false;
  for (auto& [tp, p] : parts_) {
    if (p->state != PartitionState::running || p->fetching) continue;
    if (p->queue.buffered_bytes() >= opts_.bytes_per_partition) continue;  // its budget is full
    auto leader = source_->leader(tp.topic, tp.partition);
    if (!leader) {
      missing_leader = true;
      continue;
    }
    if (fetching_brokers_.count(*leader)) continue;
    by_leader[*leader].push_back(p.get());
  }
  if (missing_leader) {
    source_->request_refresh();
    retry_later();
  }
  for (auto& [broker, parts] : by_leader) send_fetch(broker, std::move(parts));
}

void Route::send_fetch(int32_t broker, std::vector<Partition*> parts) {
  auto conn = source_->broker(broker);
  if (!conn) return retry_later();
  size_t room_total = opts_.total_bytes - std::min(opts_.total_bytes, total_buffered());
  protocol::FetchRequest req;
  req.max_wait_ms = static_cast<int32_t>(opts_.fetch_max_wait.count());
  req.min_bytes = 1;
  req.max_bytes = static_cast<int32_t>(std::min<size_t>(opts_.fetch_max_bytes, room_total));
  req.isolation_level = static_cast<int8_t>(Isolation::read_committed);
  std::map<std::string, size_t> topic_index;
  for (auto* p : parts) {
    size_t room = opts_.bytes_per_partition - std::min(opts_.bytes_per_partition, p->queue.buffered_bytes());
    size_t want = std::max(std::min({room, opts_.fetch_max_bytes, room_total}), p->fetch_size_floor);
    protocol::FetchRequest::Partition fp;
    fp.partition_index = p->tp.partition;
    fp.fetch_offset = p->next_fetch.value();
    fp.partition_max_bytes = static_cast<int32_t>(std::min<size_t>(want, INT32_MAX));
    auto [it, inserted] = topic_index.emplace(p->tp.topic, req.topics.size());
    if (inserted) req.topics.push_back({p->tp.topic, {}});
    req.topics[it->second].partitions.push_back(fp);
    p->fetching = true;
  }
  fetching_brokers_.insert(broker);
  // The response may use all of max_bytes: reserve it so fetches to other brokers do not
  // count the same room.
  size_t reserved = static_cast<size_t>(req.max_bytes);
  fetch_reserved_ += reserved;
  auto self = shared_from_this();
  // The fetch may wait fetch_max_wait at the broker: its deadline allows for that.
  net::call<protocol::FetchResponse>(
      conn, std::move(req), opts_.request_timeout + opts_.fetch_max_wait,
      on_strand([self, broker, parts, reserved](std::error_code ec, protocol::FetchResponse resp, int16_t) {
        self->fetching_brokers_.erase(broker);
        self->fetch_reserved_ -= reserved;
        for (auto* p : parts) p->fetching = false;
        if (!ec && resp.error_code != 0) {
          // A top-level error answers for every partition asked (Fetch v7+: fetch sessions and
          // errors that are not any one partition's); each partition handles it as its own.
          auto top = make_error_code(static_cast<kafka_errc>(resp.error_code));
          if (!is_retriable(static_cast<kafka_errc>(resp.error_code))) {
            for (auto* p : parts)
              if (p->state == PartitionState::running) self->handle_fetch_error(*p, top);
            self->schedule();
            return;
          }
          ec = top;
        }
        if (ec) {
          self->notify_failed(protocol::ApiKey::fetch, ec);
          TM_DEBUG(kLog, "fetch failed", {{"broker", broker}, {"error", ec.message()}});
          self->source_->report_error(ec);
          self->retry_later();
          return;
        }
        for (const auto& t : resp.topics)
          for (const auto& rp : t.partitions) {
            auto it = self->parts_.find(TopicPartition{t.name, rp.partition_index});
            if (it == self->parts_.end()) continue;
            self->on_fetch_partition(*it->second, rp);
          }
        self->schedule();
      }));
}

void Route::after(net::Millis delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(strand_, delay);
  timer->async_wait([timer, fn = std::move(fn)](const std::error_code& ec) {
    if (!ec) fn();
  });
}

void Route::on_fetch_partition(Partition& p, const protocol::FetchResponse::Partition& rp) {
  if (p.state != PartitionState::running) return;
  if (rp.error_code != 0) return handle_fetch_error(p, make_error_code(static_cast<kafka_errc>(rp.error_code)));
  p.high_watermark = rp.high_watermark;
  p.counters.high_watermark = rp.high_watermark;
  if (rp.aborted_transactions) p.aborted.add(*rp.aborted_transactions);
  auto split = protocol::split_record_set(rp.records, p.next_fetch);
  if (!split.ok()) {
    return pause(p, "malformed record set from the source at fetch offset " + std::to_string(p.next_fetch.value()) +
                        " (" + std::string(protocol::to_string(split.error)) + ")");
  }
  if (split.batches.empty() && split.needs_bigger_fetch) {
    // One batch is larger than the budget allows us to fetch: take it alone (Kafka returns
    // at least one batch anyway, KIP-74), the budget is exceeded by that batch only.
    p.fetch_size_floor = *split.needs_bigger_fetch;
    return;
  }
  p.fetch_size_floor = 0;
  for (const auto& b : split.batches) {
    auto corrupt = [&](protocol::BatchVerdict v) {
      return v == protocol::BatchVerdict::crc_mismatch || v == protocol::BatchVerdict::truncated ||
             v == protocol::BatchVerdict::bad_length || v == protocol::BatchVerdict::unknown_magic ||
             v == protocol::BatchVerdict::malformed_records;
    };
    auto pause_corrupt = [&](protocol::BatchVerdict v) {
      // A corrupt batch is never forwarded. The partition stops before it.
      pause(p, "corrupt source batch at offset " + std::to_string(b.base_offset()) + " (" +
                   std::string(protocol::to_string(v)) + ")");
    };
    // The CRC is one pass over every byte, and the target broker makes it anyway: Kafka checks
    // every v2 batch on Produce (UnifiedLog.analyzeAndValidateRecords) and refuses a mismatch
    // with CORRUPT_MESSAGE, and the rewritten header's CRC is derived from the stored one
    // (rewrite_header), so a corrupt batch stays corrupt. It is checked here when configured,
    // and below for every batch that is not forwarded as fetched.
    auto verdict = b.verdict(std::numeric_limits<size_t>::max(),
                             opts_.verify_crc_on_fetch ? protocol::CrcCheck::verify : protocol::CrcCheck::skip);
    if (corrupt(verdict)) return pause_corrupt(verdict);
    QueuedBatch q;
    q.id = next_batch_id_++;
    q.first = SourceOffset(b.base_offset());
    q.last = b.last_offset();
    q.batch = b;
    q.bytes = b.size();
    q.records = b.is_legacy() ? 0 : b.records_count();
    auto txn = p.aborted.next(b);
    auto reason = opts_.force_repack && !b.is_control() ? std::optional(RepackReason::forced)
                                                         : needs_repack(b, max_message_bytes(p.tp.topic));
    // Dropped (a marker, an aborted transaction) or rebuilt: no broker checks the stored CRC
    // of this batch, so it is checked here: a corrupt header must not make data look aborted.
    if ((txn != TxnVerdict::keep || reason) && !b.is_legacy() && !opts_.verify_crc_on_fetch && !b.crc_ok())
      return pause_corrupt(protocol::BatchVerdict::crc_mismatch);
    if (txn != TxnVerdict::keep) {
      q.send = false;
      p.counters.dropped++;
      track(q);
      p.queue.push(std::move(q));
    } else if (reason) {
      auto repacked = repack(b, max_message_bytes(p.tp.topic));
      if (!repacked) {
        return pause(p, "cannot repack the batch at offset " + std::to_string(b.base_offset()) + ": " +
                            repacked.error().message());
      }
      p.counters.repacked++;
      p.counters.repacked_by_reason[std::string(to_string(*reason))]++;
      TM_DEBUG(kLog, "batch repacked", {{"partition", p.tp.str()}, {"offset", b.base_offset()},
                                        {"reason", std::string(to_string(*reason))}});
      if (repacked->batches.empty()) {  // all records compacted away: nothing to send
        q.send = false;
        p.counters.dropped++;
        track(q);
        p.queue.push(std::move(q));
      } else {
        // The fetch position can lie inside this batch: exactly-once resume found its first
        // pieces in the target, or a commit fell between its pieces before a restart. The
        // repack is deterministic (same input, codec, limit), so the pieces wholly below the
        // position are those delivered: send only the rest.
        auto pieces = repacked_pieces(b, *repacked, p.next_fetch);
        for (size_t i = 0; i < pieces.send.size(); ++i) {
          const auto& piece = pieces.send[i];
          if (piece.first < p.next_fetch)  // not on a piece boundary (another limit or tool): never skip
            TM_WARN(kLog, "fetch offset inside a repacked piece; the piece is sent whole (its records below the "
                          "offset are sent again)",
                    {{"partition", p.tp.str()}, {"fetch_offset", p.next_fetch.value()},
                     {"piece_first_offset", piece.first.value()}});
          QueuedBatch r;
          r.id = next_batch_id_++;
          r.first = piece.first;
          r.last = piece.last;
          r.batch = piece.view;
          r.bytes = piece.view.size();
          r.records = piece.view.records_count();
          r.base_timestamp = pieces.source.base_timestamp;
          r.max_timestamp = pieces.source.max_timestamp;
          if (i + 1 == pieces.send.size()) {  // counted when the last piece is released, with those not sent again
            r.source = pieces.source;
            r.earlier_pieces = std::move(pieces.earlier);
          }
          track(r);
          p.queue.push(std::move(r));
        }
      }
    } else {
      // Forwarded whole even when it starts below the fetch position (a commit or log start
      // inside it): splitting it would mean repacking, and the records section stays as is.
      if (q.first < p.next_fetch)
        TM_WARN(kLog, "fetch offset inside a source batch that is forwarded as is; its records below the offset are "
                      "sent again",
                {{"partition", p.tp.str()}, {"fetch_offset", p.next_fetch.value()}, {"batch_offset", q.first.value()}});
      q.base_timestamp = b.base_timestamp();
      q.max_timestamp = b.max_timestamp();
      q.source = BatchFacts{q.first, q.last, q.records, q.bytes, q.base_timestamp, q.max_timestamp};
      track(q);
      p.queue.push(std::move(q));
    }
    p.next_fetch = SourceOffset(b.last_offset().value() + 1);
  }
  p.counters.next_fetch_offset = p.next_fetch.value();
  release(p);
}

void Route::handle_fetch_error(Partition& p, std::error_code ec) {
  notify_failed(protocol::ApiKey::fetch, ec);
  auto e = static_cast<kafka_errc>(ec.value());
  if (e == kafka_errc::offset_out_of_range) return handle_out_of_range(p);
  if (e == kafka_errc::topic_authorization_failed)
    return pause(p, "TOPIC_AUTHORIZATION_FAILED reading the source: the route's principal needs the Read and Describe ACLs "
                    "on topic '" + p.tp.topic + "' of the source cluster");
  if (e == kafka_errc::corrupt_message) return pause(p, "the source broker reports CORRUPT_MESSAGE");
  if (!is_retriable(e) && e != kafka_errc::unknown_server_error) {
    // Kafka's consumer throws on a Fetch error it does not expect ("Unexpected error code" in
    // its fetcher) rather than retry it; retrying forever would hide the partition's problem.
    return pause(p, ec.message() + " from the source broker on Fetch (not retriable)");
  }
  TM_DEBUG(kLog, "fetch partition error", {{"partition", p.tp.str()}, {"error", ec.message()}});
  source_->report_error(ec);
  retry_later();
}

void Route::handle_out_of_range(Partition& p) {
  // The offset we want is gone (retention) or beyond the end (topic recreated). Kafka's
  // consumer would reset per auto.offset.reset; a mirror must say loudly what it skips.
  auto self = shared_from_this();
  Partition* pp = &p;
  p.fetching = true;
  list_offset(source_, p.tp, kEarliestTimestamp, Isolation::read_committed, opts_.request_timeout,
              on_strand([self, pp](std::error_code ec, int64_t earliest) {
                pp->fetching = false;
                if (ec) return self->retry_later();
                if (pp->next_fetch.value() < earliest) {
                  TM_ERROR(kLog, "source data lost before it was mirrored (retention); skipping to the log start",
                           {{"partition", pp->tp.str()},
                            {"lost_from", pp->next_fetch.value()},
                            {"lost_to", earliest - 1},
                            {"records_lost", earliest - pp->next_fetch.value()}});
                  for (const auto& o : self->opts_.observers)
                    o->lost(pp->tp, pp->next_fetch, SourceOffset(earliest - 1), "retention");
                  pp->next_fetch = SourceOffset(earliest);
                  self->schedule();
                } else {
                  self->pause(*pp, "fetch offset " + std::to_string(pp->next_fetch.value()) +
                                       " is beyond the source log end (topic recreated?); reset the group's offset");
                }
              }));
}

// ---------------------------------------------------------------- producing

void Route::init_producer() {
  producer_state_ = ProducerState::initializing;
  auto self = shared_from_this();
  auto md = target_->metadata();
  std::shared_ptr<net::Connection> conn;
  if (md && !md->brokers.empty()) conn = target_->broker(md->brokers.begin()->first);
  if (!conn) {
    // No target metadata yet: ask for it, then try again.
    target_->refresh(std::nullopt, on_strand([self](std::error_code ec, net::MetadataPtr m) {
      if (ec || !m || m->brokers.empty()) return self->after(self->opts_.retry_backoff * 5, [self] { self->init_producer(); });
      self->init_producer();
    }));
    return;
  }
  // InitProducerId without a transactional id: a fresh idempotent producer id and epoch.
  net::call<protocol::InitProducerIdResponse>(
      conn, protocol::InitProducerIdRequest{}, opts_.request_timeout,
      on_strand([self](std::error_code ec, protocol::InitProducerIdResponse resp, int16_t) {
        if (!ec && resp.error_code != 0) ec = make_error_code(static_cast<kafka_errc>(resp.error_code));
        if (ec) {
          TM_WARN(kLog, "InitProducerId failed on the target; retrying", {{"error", ec.message()}});
          if (ec == kafka_errc::cluster_authorization_failed || ec == kafka_errc::transactional_id_authorization_failed) {
            if (self->fatal_) self->fatal_(ec, "the route may not produce idempotently to the target (IdempotentWrite)");
            return;
          }
          self->target_->report_error(ec);
          return self->after(self->opts_.retry_backoff * 5, [self] { self->init_producer(); });
        }
        self->producer_ = {ProducerId(resp.producer_id), ProducerEpoch(resp.producer_epoch)};
        for (auto& [tp, p] : self->parts_) p->queue.reset_sequences();
        self->retired_sequences_.clear();  // a new producer id starts every partition at 0
        self->producer_state_ = ProducerState::ready;
        TM_INFO(kLog, "producer id from the target",
                {{"route", self->opts_.name}, {"producer_id", resp.producer_id}, {"epoch", resp.producer_epoch}});
        self->schedule();
      }));
}

void Route::reset_producer(const std::string& why) {
  if (producer_state_ == ProducerState::resetting || producer_state_ == ProducerState::initializing) return;
  TM_WARN(kLog, "resetting the idempotent producer", {{"route", opts_.name}, {"why", why}});
  producer_state_ = ProducerState::resetting;
  schedule();
}

void Route::schedule_produces() {
  if (producer_state_ == ProducerState::resetting) {
    // A new producer id only once nothing is in flight: every unacked batch then goes
    // again, in order, with sequences from 0 under the new id.
    for (const auto& [b, n] : produce_in_flight_)
      if (n > 0) return;
    init_producer();
    return;
  }
  // Stopping: requests in flight finish, nothing new goes out.
  if (producer_state_ != ProducerState::ready || stopping_) return;
  if (opts_.may_produce && !opts_.may_produce()) {
    // The group session is not proven fresh: a member whose session expired must not write
    // what the partitions' next owner may already have resumed past. The next successful
    // commit (or assignment) lifts this.
    if (!fenced_)
      TM_WARN(kLog, "not sending: the group session is not confirmed (zombie fence)", {{"route", opts_.name}});
    fenced_ = true;
    retry_later();
    return;
  }
  if (fenced_) TM_INFO(kLog, "sending again: the group session is confirmed", {{"route", opts_.name}});
  fenced_ = false;
  std::map<int32_t, std::vector<Partition*>> by_leader;
  bool missing_leader = false;
  for (auto& [tp, p] : parts_) {
    bool may_send = p->state == PartitionState::running || (p->state == PartitionState::paused && !p->sending_stopped);
    if (!may_send || !p->queue.can_send()) continue;
    auto leader = target_->leader(tp.topic, tp.partition);
    if (!leader) {
      missing_leader = true;
      continue;
    }
    // Waits for the old leader's requests to complete (they fail, and go again in order).
    if (p->queue.in_flight() > 0 && p->produce_broker != *leader) continue;
    by_leader[*leader].push_back(p.get());
  }
  if (missing_leader) {
    target_->request_refresh();
    retry_later();
  }
  for (auto& [broker, parts] : by_leader) {
    while (produce_in_flight_[broker] < opts_.produce_requests_per_broker) {
      std::vector<std::pair<Partition*, QueuedBatch*>> batch;
      size_t bytes = 0;
      for (auto* p : parts) {
        if (bytes >= opts_.fetch_max_bytes) break;
        if (!p->queue.can_send()) continue;
        auto* q = p->queue.take_next();  // one batch per partition per request (wire rule 1)
        if (!q) continue;
        bytes += q->bytes;
        batch.emplace_back(p, q);
      }
      if (batch.empty()) break;
      // No connection (the broker left the metadata, or the cluster is closed): the batches
      // went back to their queues; retry_later() tries again, this loop must not.
      if (!send_produce(broker, std::move(batch))) break;
    }
  }
}

bool Route::send_produce(int32_t broker, std::vector<std::pair<Partition*, QueuedBatch*>> batches) {
  auto conn = target_->broker(broker);
  struct Sent {
    Partition* p;
    uint64_t id;
  };
  std::vector<Sent> sent;
  if (!conn) {
    for (auto& [p, q] : batches) p->queue.failed(q->id);
    retry_later();
    return false;
  }
  protocol::ProduceRequest req;
  req.acks = -1;  // acks=all: nothing is committed before every in-sync replica has it
  req.timeout_ms = static_cast<int32_t>(opts_.request_timeout.count());
  std::map<std::string, size_t> topic_index;
  for (auto& [p, q] : batches) {
    // The header is rewritten (baseOffset 0, leader epoch -1, our producer id, epoch and
    // sequence, transactional bit cleared, new CRC); the records go as fetched.
    auto header = protocol::rewrite_header(q->batch, {producer_.id, producer_.epoch, q->sequence});
    SharedBuffer hbuf(Bytes(header.begin(), header.end()));
    auto [it, inserted] = topic_index.emplace(p->tp.topic, req.topics.size());
    if (inserted) req.topics.push_back({p->tp.topic, {}});
    req.topics[it->second].partitions.push_back({p->tp.partition, {BufferSlice(hbuf), q->batch.records()}});
    p->produce_broker = broker;
    sent.push_back({p, q->id});
  }
  produce_in_flight_[broker]++;
  auto self = shared_from_this();
  net::call<protocol::ProduceResponse>(
      conn, std::move(req), opts_.request_timeout + net::Millis(5000),
      on_strand([self, broker, sent](std::error_code ec, protocol::ProduceResponse resp, int16_t) {
        self->produce_in_flight_[broker]--;
        std::map<TopicPartition, std::pair<int16_t, int64_t>> results;
        if (!ec)
          for (const auto& t : resp.topics)
            for (const auto& rp : t.partitions) results[{t.name, rp.index}] = {rp.error_code, rp.base_offset};
        for (const auto& s : sent) {
          std::error_code pec = ec;
          int64_t base = -1;
          if (!ec) {
            auto it = results.find(s.p->tp);
            if (it == results.end()) {
              pec = errc::malformed;  // the broker did not answer for this partition
            } else {
              if (it->second.first != 0) pec = make_error_code(static_cast<kafka_errc>(it->second.first));
              base = it->second.second;
            }
          }
          self->on_produce_result(*s.p, s.id, pec, base);
        }
        if (ec) self->target_->report_error(ec);
        self->schedule();
      }),
      /*fail_if_unreachable=*/true);  // a leader that went away: the batches go to its successor
  return true;
}

void Route::on_produce_result(Partition& p, uint64_t id, std::error_code ec, int64_t base_offset) {
  if (ec == kafka_errc::duplicate_sequence_number) {
    // The broker holds a batch with this sequence. After a resend (a lost response) that is
    // this batch: as good as an ack. On a first send it is other data: the sequence was used
    // before, by a batch whose fate was unknown when its partition left this route (a group
    // revocation, a lost assignment, an unselected topic) and that the resume then found in
    // the target. Taking that for an ack would commit past data the target never got.
    const QueuedBatch* q = p.queue.get(id);
    if (q && q->attempts <= 1) {
      notify_failed(protocol::ApiKey::produce, ec);
      p.queue.failed(id);
      reset_producer("DUPLICATE_SEQUENCE_NUMBER on the first send of a batch on " + p.tp.str());
      return;
    }
  }
  if (!ec || ec == kafka_errc::duplicate_sequence_number) {
    // DUPLICATE_SEQUENCE_NUMBER: the broker already has this batch (a resend after a lost
    // response); it is as good as an ack.
    p.queue.acked(id, TargetOffset(base_offset));
    release(p);
    return;
  }
  notify_failed(protocol::ApiKey::produce, ec);
  bool explained = p.queue.resend_pending();  // before this failure is counted
  p.queue.failed(id);
  if (ec.category() != kafka_category()) {  // disconnect, timeout, malformed response
    retry_later();
    return;
  }
  auto e = static_cast<kafka_errc>(ec.value());
  switch (e) {
    case kafka_errc::out_of_order_sequence_number:
      // Explained by an earlier failure of this partition in the same window: resend.
      // Otherwise the broker's view of our sequence differs from ours: new producer id.
      if (!explained) reset_producer("OUT_OF_ORDER_SEQUENCE_NUMBER on " + p.tp.str());
      return;
    case kafka_errc::unknown_producer_id:
    case kafka_errc::invalid_producer_epoch:
    case kafka_errc::producer_fenced:
    case kafka_errc::invalid_producer_id_mapping:
      reset_producer(make_error_code(e).message() + " on " + p.tp.str());
      return;
    case kafka_errc::topic_authorization_failed:
      return pause(p, "TOPIC_AUTHORIZATION_FAILED writing the target: the route's principal needs the Write and Describe "
                      "ACLs on topic '" + p.tp.topic + "' of the target cluster", PauseSide::target);
    case kafka_errc::message_too_large:
    case kafka_errc::record_list_too_large:
      return pause(p, make_error_code(e).message() +
                          ": a batch exceeds the target topic's max.message.bytes (assumed " +
                          std::to_string(max_message_bytes(p.tp.topic)) + ")", PauseSide::target);
    case kafka_errc::corrupt_message:
      return pause(p, corrupt_message_reason(p, id), PauseSide::target);
    case kafka_errc::invalid_record:
    case kafka_errc::invalid_timestamp:
    case kafka_errc::unsupported_for_message_format:
    case kafka_errc::unsupported_compression_type:
    case kafka_errc::invalid_required_acks:
      return pause(p, make_error_code(e).message() + " from the target", PauseSide::target);
    default:
      if (is_retriable(e) || e == kafka_errc::unknown_topic_or_partition) {
        target_->report_error(ec);
        retry_later();
        return;
      }
      return pause(p, make_error_code(e).message() + " from the target", PauseSide::target);
  }
}

std::string Route::corrupt_message_reason(const Partition& p, uint64_t id) const {
  // The target checks the CRC-32C of every batch (a mismatch is CORRUPT_MESSAGE). Say whether
  // the batch came corrupt from the source or was damaged on the way: one pass, on this error only.
  const QueuedBatch* q = p.queue.get(id);
  if (!q) return "CORRUPT_MESSAGE from the target";
  const auto at = std::to_string(q->first.value());
  if (!q->batch.crc_ok())
    return "corrupt source batch at offset " + at + " (crc_mismatch): the target refused it with CORRUPT_MESSAGE";
  return "CORRUPT_MESSAGE from the target for the batch at source offset " + at +
         " (its CRC-32C is valid here: damaged on the way, or refused for another reason)";
}

void Route::release(Partition& p) {
  for (const auto& b : p.queue.release()) {
    untrack(b);
    if (!b.send) continue;
    p.counters.batches++;
    p.counters.records += static_cast<uint64_t>(b.records);
    p.counters.bytes += b.bytes;
    p.counters.acked_max_timestamp = std::max(p.counters.acked_max_timestamp, b.max_timestamp);
    // The Produce response's base offset: where the next batch of ours lands at the earliest
    // (acks in order of the idempotent sequence). A resend answered DUPLICATE_SEQUENCE_NUMBER
    // may carry -1: keep the earlier value, still a lower bound.
    if (b.target_offset && b.target_offset->value() >= 0)
      p.target_hint = b.target_offset->value() + b.batch.last_offset_delta() + 1;
    if (!opts_.observers.empty()) {
      // Both tiers at release, one after the other: a publish holds both counts of a batch
      // (or, in the rare take() between the two calls, the next publish the second), so a
      // crash does not leave a batch counted at the source tier only.
      BatchFacts facts{b.first, b.last, b.records, b.bytes, b.base_timestamp, b.max_timestamp};
      int64_t now = wall_clock_ms();
      for (const auto& o : opts_.observers) {
        // Pieces in the target before a restart count at the target tier with their source
        // batch, as exactly-once resume counts a batch it finds whole.
        if (b.source && b.earlier_pieces.empty()) o->fetched(p.tp, *b.source);
        if (b.source && !b.earlier_pieces.empty()) o->already_delivered(p.tp, *b.source, b.earlier_pieces);
        o->acked(p.tp, facts, now);
      }
    }
  }
  check_caught_up();
}

void Route::pause(Partition& p, std::string reason, PauseSide side) {
  if (side == PauseSide::target && !p.sending_stopped) {
    // The target refuses what we send: nothing more goes out, and what was never sent
    // stops holding memory (it is fetched again from the committed offset after a restart).
    p.sending_stopped = true;
    for (const auto& b : p.queue.drop_unsent_tail()) untrack(b);
  }
  // A source-side problem stops fetching only: the valid batches before it are still
  // delivered and committed.
  if (p.state == PartitionState::paused) return;
  p.state = PartitionState::paused;
  p.reason = std::move(reason);
  TM_ERROR(kLog, "partition paused", {{"route", opts_.name}, {"partition", p.tp.str()}, {"reason", p.reason}});
}

// ---------------------------------------------------------------- commits, catch-up, stop

void Route::commit(std::function<void()> done) {
  auto self = shared_from_this();
  auto rearm = [self] {
    if (self->stopping_) return;
    self->commit_timer_.expires_after(self->opts_.commit_interval);
    self->commit_timer_.async_wait([self](const std::error_code& ec) {
      if (!ec) self->commit(nullptr);
    });
  };
  if (committing_) {
    if (done) done();
    return rearm();
  }
  std::map<TopicPartition, GroupOffsets::Commit> todo;
  for (auto& [tp, p] : parts_) {
    if (p->lost) continue;
    auto next = p->queue.committed_next();
    // The hint tells a later process where in the target the batches after `next` begin.
    if (next && (!p->committed || *p->committed != *next))
      todo[tp] = GroupOffsets::Commit{*next, p->target_hint ? format_resume_hint(*p->target_hint) : ""};
  }
  if (opts_.before_commit) {
    // The gate runs every round, even with nothing to commit: progress records go with it.
    std::map<TopicPartition, SourceOffset> ends;
    for (const auto& [tp, c] : todo) ends[tp] = c.next;
    committing_ = true;
    auto timeout = stopping_ ? std::min(stop_timeout_, opts_.request_timeout) : opts_.request_timeout;
    opts_.before_commit(ends, partition_statuses(), timeout, stopping_,
                        [self, todo = std::move(todo), done, rearm](bool ok) mutable {
                          asio::post(self->strand_, [self, ok, todo = std::move(todo), done, rearm]() mutable {
                            self->committing_ = false;
                            // Not published: nothing is committed, so a later process counts it again.
                            // Unchanged offsets still renew a group member's session (no count
                            // goes with them).
                            if (!ok) todo.clear();
                            self->add_renewals(todo);
                            if (todo.empty()) {
                              if (done) done();
                              return rearm();
                            }
                            self->commit_offsets(std::move(todo), std::move(done), std::move(rearm));
                          });
                        });
    return;
  }
  add_renewals(todo);
  if (todo.empty()) {
    if (done) done();
    return rearm();
  }
  commit_offsets(std::move(todo), std::move(done), std::move(rearm));
}

void Route::add_renewals(std::map<TopicPartition, GroupOffsets::Commit>& todo) const {
  if (!opts_.commit_through) return;
  // A group member commits every partition it owns each round, at its last committed offset
  // where nothing new goes: each accepted commit renews its session and so its produce fence
  // (control/group_member.h). Without them a member with nothing new to commit (or whose audit
  // publish failed) would stop sending for good.
  for (const auto& [tp, p] : parts_)
    if (!p->lost && p->committed && !todo.count(tp))
      todo[tp] = GroupOffsets::Commit{*p->committed, p->committed_metadata};
}

void Route::commit_offsets(std::map<TopicPartition, GroupOffsets::Commit> todo, std::function<void()> done,
                           std::function<void()> rearm) {
  auto self = shared_from_this();
  committing_ = true;
  auto handler = on_strand([self, todo, done, rearm](std::error_code ec,
                                                     std::map<TopicPartition, std::error_code> errors) {
    self->committing_ = false;
    if (ec) {
      self->notify_failed(protocol::ApiKey::offset_commit, ec);
      if (ec == kafka_errc::group_authorization_failed)  // loud, but retried: an ACL can be added live
        TM_ERROR(kLog, "offset commit refused: the route's principal needs the Read ACL on the group; retrying",
                 {{"route", self->opts_.name}, {"group", self->opts_.group}, {"error", ec.message()}});
      else
        TM_WARN(kLog, "offset commit failed", {{"route", self->opts_.name}, {"error", ec.message()}});
    } else {
      for (const auto& [tp, c] : todo) {
        auto err = errors.find(tp);
        if (err != errors.end() && err->second) {
          self->notify_failed(protocol::ApiKey::offset_commit, err->second);
          TM_WARN(kLog, "offset commit failed", {{"partition", tp.str()}, {"error", err->second.message()}});
          continue;
        }
        for (const auto& o : self->opts_.observers) o->committed(tp, c.next);
        auto it = self->parts_.find(tp);
        if (it == self->parts_.end()) continue;
        it->second->committed = c.next;
        it->second->committed_metadata = c.metadata;
        it->second->counters.committed_offset = c.next.value();
      }
    }
    self->check_caught_up();
    if (done) done();
    rearm();
  });
  if (!opts_.commit_through) return offsets_->commit(todo, std::move(handler));
  opts_.commit_through(todo, [self, handler = std::move(handler)](std::error_code ec,
                                                                  std::map<TopicPartition, std::error_code> errors) {
    asio::post(self->strand_, [handler, ec, errors = std::move(errors)]() mutable { handler(ec, std::move(errors)); });
  });
}

void Route::on_caught_up(std::function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    self->caught_up_ = std::move(done);
    self->check_caught_up();
  });
}

void Route::check_caught_up() {
  // Called at every release, which with thousands of partitions is thousands of times per fetch
  // round; the check walks every partition. Coalesced: at most one walk per 25 ms.
  if (!caught_up_ || caught_up_reported_ || caught_up_check_armed_) return;
  caught_up_check_armed_ = true;
  after(net::Millis(25), [self = shared_from_this()] {
    self->caught_up_check_armed_ = false;
    self->check_caught_up_now();
  });
}

void Route::check_caught_up_now() {
  if (!caught_up_ || caught_up_reported_ || parts_.empty()) return;
  if (opts_.assigned_only) {
    // A member is caught up only as a group of one: it must hold every selected partition.
    auto md = source_->metadata();
    if (!md) return;
    size_t selected = 0, owned = 0;
    for (const auto& [name, t] : md->topics)
      if (selected_topics_.count(name)) selected += t.partitions.size();
    for (const auto& [tp, p] : parts_) owned += p->retiring ? 0 : 1;
    if (owned < selected) return;
  }
  bool need_commit = false;
  for (const auto& [tp, p] : parts_) {
    if (p->retiring) continue;
    if (!p->end_at_start || p->state != PartitionState::running) return;
    auto released = p->queue.committed_next();
    // Mirrored up to: the released prefix, or (nothing sent yet) where fetching started.
    int64_t done = released ? released->value() : (p->queue.empty() ? p->next_fetch.value() : -1);
    if (done < *p->end_at_start) return;
    if (released && p->committed != released) need_commit = true;
  }
  // Everything acknowledged: commit now rather than at the next tick, then report.
  if (need_commit) return commit(nullptr);
  caught_up_reported_ = true;
  TM_INFO(kLog, "caught up with the source's last stable offsets listed at start", {{"route", opts_.name}});
  asio::post(io_, caught_up_);
}

void Route::stop(net::Millis timeout, std::function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), timeout, done = std::move(done)]() mutable {
    self->stopping_ = true;
    self->stop_timeout_ = timeout;
    self->stopped_ = std::move(done);
    self->metadata_timer_.cancel();
    self->retry_timer_.cancel();
    TM_INFO(kLog, "route stopping: no new fetches, waiting for the target's acks", {{"route", self->opts_.name}});
    self->stop_timer_.expires_after(timeout);
    self->stop_timer_.async_wait(self->on_strand([self](const std::error_code& ec) {
      if (ec || !self->stopped_) return;
      TM_WARN(kLog, "stop timeout: abandoning requests still in flight", {{"route", self->opts_.name}});
      self->abandon_in_flight_ = true;
      self->maybe_finish_stop();
    }));
    self->maybe_finish_stop();
  });
}

void Route::maybe_finish_stop() {
  if (!stopping_ || !stopped_) return;
  if (!abandon_in_flight_)
    for (const auto& [b, n] : produce_in_flight_)
      if (n > 0) return;
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  stop_timer_.cancel();
  commit_timer_.cancel();
  committing_ = false;
  commit([self = shared_from_this(), done] {
    TM_INFO(kLog, "route stopped; acknowledged offsets committed", {{"route", self->opts_.name}});
    self->finish_removals(true);
    asio::post(self->io_, done);
  });
}

void Route::refuse_topics(std::map<std::string, std::string> reasons) {
  asio::post(strand_, [self = shared_from_this(), reasons = std::move(reasons)] {
    self->refused_ = reasons;
    for (auto& [tp, p] : self->parts_) {
      auto r = reasons.find(tp.topic);
      if (r != reasons.end()) self->pause(*p, r->second, PauseSide::target);
    }
  });
}

size_t Route::max_message_bytes(const std::string& topic) const {
  auto it = max_message_bytes_.find(topic);
  return it != max_message_bytes_.end() ? it->second : opts_.max_message_bytes;
}

void Route::set_max_message_bytes(std::map<std::string, size_t> limits, bool release_all) {
  asio::post(strand_, [self = shared_from_this(), limits = std::move(limits), release_all] {
    for (const auto& [topic, bytes] : limits) {
      size_t limit = bytes > 0 ? bytes : self->opts_.max_message_bytes;
      auto [it, added] = self->max_message_bytes_.emplace(topic, limit);
      if (added || it->second != limit) {
        if (bytes > 0)
          TM_INFO(kLog, "target max.message.bytes", {{"topic", topic}, {"bytes", limit}});
        else
          TM_WARN(kLog, "the syncer could not read the target topic's max.message.bytes; assuming Kafka's default",
                  {{"topic", topic}, {"bytes", limit}});
      }
      it->second = limit;
    }
    self->start_awaiting([&](const TopicPartition& tp) { return release_all || self->max_message_bytes_.count(tp.topic) > 0; });
  });
}

void Route::refresh_now() {
  asio::post(strand_, [self = shared_from_this()] {
    if (!self->started_ || self->stopping_) return;
    self->metadata_timer_.cancel();  // its handler sees operation_aborted and does nothing
    self->waiting_refresh_ = net::Millis(0);  // the syncer changed the target: look again soon
    self->refresh_metadata();
  });
}

void Route::on_new_partitions(std::function<void(std::vector<TopicPartition>)> fn) {
  asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)]() mutable { self->new_partitions_ = std::move(fn); });
}

std::vector<PartitionStatus> Route::partition_statuses() const {
  std::vector<PartitionStatus> out;
  for (const auto& [tp, p] : parts_) {
    if (p->retiring) continue;
    PartitionStatus s = p->counters;
    s.state = p->state;
    s.reason = p->reason;
    s.next_fetch_offset = p->next_fetch.value();
    s.committed_offset = p->committed ? p->committed->value() : -1;
    auto released = p->queue.committed_next();
    const bool started = p->state != PartitionState::starting && p->state != PartitionState::resume_waiting;
    s.acked_offset = released ? released->value()
                     : p->committed ? p->committed->value()
                     : p->queue.empty() && started ? p->next_fetch.value()
                                                   : -1;
    s.high_watermark = p->high_watermark;
    s.buffered_bytes = p->queue.buffered_bytes();
    s.caught_up = p->state == PartitionState::running && p->queue.empty() && p->high_watermark >= 0 &&
                  p->next_fetch.value() >= p->high_watermark;
    out.push_back(std::move(s));
  }
  return out;
}

void Route::status(std::function<void(std::vector<PartitionStatus>)> handler) {
  asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)] {
    handler(self->partition_statuses());
  });
}

// ---------------------------------------------------------------- status page, live reload

void Route::route_status(std::function<void(RouteStatus)> handler) {
  asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)] {
    RouteStatus rs;
    rs.partitions = self->partition_statuses();
    rs.buffered_bytes = self->total_buffered();
    rs.budget_bytes = self->opts_.total_bytes;
    rs.metadata_loaded = self->metadata_loaded_;
    rs.producer_ready = self->producer_state_ == ProducerState::ready;
    rs.stopping = self->stopping_;
    handler(std::move(rs));
  });
}

void Route::reconfigure(RouteOptions rc) {
  asio::post(strand_, [self = shared_from_this(), rc = std::move(rc)]() mutable {
    auto& o = self->opts_;
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
    for (auto& [tp, p] : self->parts_) {
      p->queue.set_max_in_flight(o.inflight_per_partition);
      if (p->retiring || (o.select_topic && o.select_topic(tp.topic))) continue;
      // Acknowledged offsets get a few commit rounds; after that the partition goes anyway
      // (its last acknowledged batches are sent again if the topic is selected later).
      self->retire(*p, "topic no longer selected (configuration reloaded)",
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
    self->reap_retired();
    if (self->started_ && !self->stopping_) {
      self->metadata_timer_.cancel();  // newly selected topics start now, not at the next tick
      self->refresh_metadata();
    }
  });
}

void Route::retire(Partition& p, std::string reason, std::chrono::steady_clock::time_point deadline) {
  p.retire_deadline = p.retiring ? std::min(p.retire_deadline, deadline) : deadline;
  p.retiring = true;
  p.reason = std::move(reason);
  p.state = PartitionState::paused;  // no new fetches (schedule_fetches takes running only)
  if (!p.sending_stopped) {
    p.sending_stopped = true;  // no new produces; requests in flight still complete
    for (const auto& b : p.queue.drop_unsent_tail()) untrack(b);
  }
}

void Route::reap_retired() {
  if (stopping_) return;  // stop() commits every partition, retiring ones included
  bool pending = false, need_commit = false;
  std::vector<TopicPartition> removed;
  auto now = std::chrono::steady_clock::now();
  for (auto it = parts_.begin(); it != parts_.end();) {
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
      if (int32_t seq = p.queue.resume_sequence(); seq > 0) retired_sequences_[p.tp] = seq;
      for (const auto& b : p.queue.drain()) untrack(b);
      for (const auto& o : opts_.observers) o->removed(p.tp);
      removed.push_back(p.tp);
      it = parts_.erase(it);
      continue;
    }
    pending = true;
    if (idle && !committed) need_commit = true;
    ++it;
  }
  if (!removed.empty())
    TM_INFO(kLog, "retired partitions removed", {{"route", opts_.name}, {"removed", removed.size()}, {"total", parts_.size()}});
  if (need_commit && !committing_) commit(nullptr);
  finish_removals(false);
  if (pending && !reap_armed_) {
    reap_armed_ = true;
    // A group's revocation waits on this (the rebalance with it): look more often then.
    after(removals_.empty() ? opts_.retry_backoff * 5 : opts_.retry_backoff, [self = shared_from_this()] {
      self->reap_armed_ = false;
      self->reap_retired();
    });
  }
  // A topic selected again while its old partitions were retiring: discover it now.
  bool reselected = false;
  for (const auto& tp : removed)
    reselected = reselected || (opts_.assigned_only ? assigned_.count(tp) > 0
                                                    : opts_.select_topic && opts_.select_topic(tp.topic));
  if (reselected && started_) {
    metadata_timer_.cancel();
    refresh_metadata();
  }
}

void Route::finish_removals(bool all) {
  std::vector<std::function<void()>> done;
  std::erase_if(removals_, [&](const PendingRemoval& r) {
    bool gone = all || std::none_of(r.tps.begin(), r.tps.end(), [&](const auto& tp) { return parts_.count(tp) > 0; });
    if (gone) done.push_back(r.done);
    return gone;
  });
  for (auto& d : done)
    if (d) d();
}

// ---------------------------------------------------------------- scale-out: the group's assignment

void Route::assign(std::vector<TopicPartition> tps) {
  asio::post(strand_, [self = shared_from_this(), tps = std::move(tps)] {
    self->assigned_.insert(tps.begin(), tps.end());
    TM_INFO(kLog, "partitions assigned by the group", {{"route", self->opts_.name}, {"added", tps.size()},
                                                      {"assigned", self->assigned_.size()}});
    // Known partitions start now; the others at the metadata pass that finds them. One still
    // retiring from an earlier removal starts again once it is gone (reap_retired).
    if (auto md = self->source_->metadata(); md && self->started_ && !self->stopping_) self->discover(md);
  });
}

void Route::remove(std::vector<TopicPartition> tps, Removal why, net::Millis timeout, std::function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), tps = std::move(tps), why, timeout, done = std::move(done)]() mutable {
    PendingRemoval r{{}, std::move(done)};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (const auto& tp : tps) {
      self->assigned_.erase(tp);
      // Held for the syncer's limits and never started: it just leaves that list.
      std::erase(self->awaiting_limits_, tp);
      auto it = self->parts_.find(tp);
      if (it == self->parts_.end()) continue;
      Partition& p = *it->second;
      if (why == Removal::lost) {
        p.lost = true;  // never committed again: another member may have resumed it already
        self->retire(p, "lost: the group session expired", deadline);
      } else {
        self->retire(p, "revoked by the group", deadline);
      }
      r.tps.insert(tp);
    }
    TM_INFO(kLog, why == Removal::lost ? "partitions lost by the group member" : "partitions revoked by the group",
            {{"route", self->opts_.name}, {"removed", r.tps.size()}, {"assigned", self->assigned_.size()}});
    // Both wait until the requests in flight finished (a lost partition without a commit):
    // librdkafka rejoins only after `done`, so a partition it merely believes lost (an
    // ILLEGAL_GENERATION answer to a commit) reaches another member only after our last
    // Produce landed, before that member's resume scan.
    if (r.tps.empty()) {
      asio::post(self->strand_, std::move(r.done));
    } else {
      self->removals_.push_back(std::move(r));
    }
    if (self->stopping_) return self->finish_removals(true);  // stop() commits every partition
    self->reap_retired();
  });
}

void Route::on_selected_topics(std::function<void(std::set<std::string>)> fn) {
  asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
    self->selected_topics_fn_ = std::move(fn);
    if (!self->selected_topics_.empty()) self->selected_topics_fn_(self->selected_topics_);
  });
}

}  // namespace tiermirror::pipeline
