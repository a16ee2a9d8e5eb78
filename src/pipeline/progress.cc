#include "progress.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "target_side.h"
#include "tiermirror/common/log.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/pipeline/resume.h"

namespace tiermirror::pipeline::detail {

namespace asio = boost::asio;
namespace {
constexpr const char* kLog = "pipeline";
}

Progress::Progress(RouteCore& core, TargetSide& target)
    : core_(core),
      target_(target),
      offsets_(GroupOffsets::create(core.source, core.opts.group, core.opts.request_timeout)),
      commit_timer_(core.strand) {}

void Progress::arm_commit_timer() {
  commit_timer_.expires_after(core_.opts.commit_interval);
  commit_timer_.async_wait([this, keep = core_.keep()](const std::error_code& ec) {
    if (!ec) commit(nullptr);
  });
}

void Progress::commit_last(std::function<void()> done) {
  commit_timer_.cancel();
  committing_ = false;
  commit(std::move(done));
}

// ---------------------------------------------------------------- start offsets, exactly-once resume

void Progress::start_partitions(std::vector<TopicPartition> tps) {
  auto keep = core_.keep();
  offsets_->fetch_commits(tps, core_.on_strand([this, keep, tps](std::error_code ec,
                                                               std::map<TopicPartition, std::optional<GroupOffsets::Commit>> commits) {
    if (ec) {
      // Without the committed offsets we cannot know where to start: try again later,
      // never guess (starting at the configured position would re-send or skip data).
      TM_WARN(kLog, "cannot read the group's committed offsets; retrying",
              {{"route", core_.opts.name}, {"group", core_.opts.group}, {"error", ec.message()}});
      core_.after(core_.opts.retry_backoff * 5, [this, keep, tps] {
        if (!core_.stopping) start_partitions(tps);
      });
      return;
    }
    std::map<TopicPartition, std::optional<StartCommit>> committed;
    for (auto& [tp, c] : commits)
      committed[tp] = c ? std::optional(StartCommit{c->next, std::move(c->metadata)}) : std::nullopt;
    resolve_start(tps, std::move(committed));
  }));
}

void Progress::resolve_start(std::vector<TopicPartition> tps,
                             std::map<TopicPartition, std::optional<StartCommit>> committed) {
  struct Start {
    Partition* p;  // start_pending keeps it alive until its start chain ends
    bool has_commit;
    std::optional<int64_t> hint;
  };
  auto starts = std::make_shared<std::vector<Start>>();
  std::vector<TopicPartition> ask;
  for (const auto& tp : tps) {
    auto it = core_.parts.find(tp);
    if (it == core_.parts.end()) continue;
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
  list_offsets(core_.source, ask, kLatestTimestamp, Isolation::read_committed, core_.opts.request_timeout,
               core_.on_strand([this, keep = core_.keep(), starts](std::map<TopicPartition, ListedOffset> ends) {
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
                     resume(p, p.next_fetch, s.hint);
                   } else if (!core_.opts.start_earliest) {
                     // Nothing of the source before the end is ours; the end is committed at the
                     // next round (resume), so a restart before anything was mirrored starts there.
                     resume(p, SourceOffset(it->second.offset), std::nullopt);
                   } else {
                     from_earliest.push_back(&p);
                   }
                 }
                 retry_start(std::move(retry), first_error, "end offset");
                 if (!from_earliest.empty()) start_from_earliest(std::move(from_earliest));
                 core_.schedule();
               }));
}

void Progress::start_from_earliest(std::vector<Partition*> parts) {
  std::vector<TopicPartition> tps;
  for (auto* p : parts) tps.push_back(p->tp);
  list_offsets(core_.source, tps, kEarliestTimestamp, Isolation::read_committed, core_.opts.request_timeout,
               core_.on_strand([this, keep = core_.keep(), parts](std::map<TopicPartition, ListedOffset> starts) {
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
                   resume(*p, SourceOffset(it->second.offset), std::nullopt);
                 }
                 retry_start(std::move(retry), first_error, "log start offset");
                 core_.schedule();
               }));
}

void Progress::retry_start(std::vector<TopicPartition> tps, std::error_code ec, const char* what) {
  if (tps.empty()) return;
  // One line for all of them: a source broker that is down fails thousands at once.
  TM_WARN(kLog, "cannot read the partitions' offsets at start; retrying",
          {{"route", core_.opts.name}, {"offset", what}, {"partitions", tps.size()}, {"first", tps.front().str()},
           {"error", ec.message()}});
  core_.after(core_.opts.retry_backoff * 5, [this, keep = core_.keep(), tps = std::move(tps)] {
    if (!core_.stopping) start_partitions(tps);
  });
}

void Progress::resume(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  p.next_fetch = from;
  for (const auto& o : core_.opts.observers) o->counting_from(p.tp, from);
  // Without a commit, the start offset is committed at the next round: a process that
  // restarts before anything was released starts here again (and counts from here again),
  // not at a later "latest" or log start.
  if (!p.committed && p.queue.empty()) p.queue.start_at(from);
  // Nothing to look for: no source data after `from` (nothing of it can have been sent), or
  // the partition is going away.
  if (core_.stopping || p.retiring || p.state == PartitionState::paused || !p.end_at_start ||
      from.value() >= *p.end_at_start) {
    set_running_or_waiting(p);
    core_.schedule();
    return;
  }
  auto md = core_.target->metadata();
  if (!md || !md->partition(p.tp.topic, p.tp.partition)) {
    // Not "nothing of ours in the target": this process's metadata may just not show it yet.
    p.deferred_resume = Partition::DeferredResume{from, hint};
    set_running_or_waiting(p);  // waits for the target; scans when it appears
    core_.schedule();
    return;
  }
  screen_for_scan(p, from, hint);
}

void Progress::screen_for_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  // Thousands of partitions start at once (or retry after an outage): their target log ends
  // are read with one ListOffsets per broker, gathered for a moment, not one scan each.
  screening_.push_back({&p, from, hint});
  if (screen_armed_) return;
  screen_armed_ = true;
  core_.after(net::Millis(20), [this, keep = core_.keep()] { screen_scans(); });
}

void Progress::screen_scans() {
  screen_armed_ = false;
  auto batch = std::move(screening_);
  screening_.clear();
  std::vector<TopicPartition> tps;
  for (const auto& s : batch) tps.push_back(s.p->tp);
  auto keep = core_.keep();
  list_log_end_offsets(core_.target, tps, core_.opts.request_timeout, [this, keep, batch](std::map<TopicPartition, ListedOffset> ends) {
    asio::post(core_.strand, [this, keep, batch, ends = std::move(ends)] {
      size_t spared = 0;
      for (const auto& s : batch) {
        Partition& p = *s.p;
        auto it = ends.find(p.tp);
        if (core_.stopping || p.retiring || p.state == PartitionState::paused) {
          set_running_or_waiting(p);  // ends the start chain
        } else if (it != ends.end() && it->second.ec) {
          // The target broker does not answer: a failed scan (no slot taken while it is down).
          ResumeScanResult r;
          r.ec = it->second.ec;
          r.detail = "target ListOffsets (log end): " + it->second.ec.message();
          r.resume_at = s.from;
          if (!on_resume_scan_failed(p, s.from, s.hint, r)) on_resume_scanned(p, s.from, std::move(r));
        } else if (it != ends.end() && !resume_needs_scan(s.hint, it->second.offset)) {
          ++spared;
          p.resume_failures = 0;
          p.target_hint = it->second.offset;  // what this process sends lands from here
          set_running_or_waiting(p);
        } else {
          queue_scan(p, s.from, s.hint);
        }
      }
      if (spared > 0)
        TM_INFO(kLog, "exactly-once resume: nothing in the target after the commit's target offset, no scan needed",
                {{"route", core_.opts.name}, {"partitions", spared}, {"to_scan", batch.size() - spared}});
      core_.schedule();
    });
  });
}

void Progress::queue_scan(Partition& p, SourceOffset from, std::optional<int64_t> hint) {
  ResumeScanOptions so;
  so.tp = p.tp;
  so.from = from;
  so.source_end = *p.end_at_start;
  so.hint = hint;
  so.max_scan_bytes = core_.opts.resume_scan_bytes;
  so.fetch_bytes = std::min<size_t>(core_.opts.fetch_max_bytes, 1u << 20);
  so.max_message_bytes = target_.max_message_bytes(p.tp.topic);
  so.force_repack = core_.opts.force_repack;
  so.request_timeout = core_.opts.request_timeout;
  // Long enough to ride out a leader move; a scan that got no answer that far is tried again
  // (on_resume_scan_failed). A slow scan that keeps reading runs to its end.
  so.deadline = std::max(2 * core_.opts.request_timeout, net::Millis(10000));
  so.backoff = core_.opts.retry_backoff;
  Partition* pp = &p;
  scans_waiting_.push_back([this, keep = core_.keep(), pp, so] {
    scans_running_++;
    scan_delivered(core_.source, core_.target, so, core_.strand,
                   [this, keep, pp, from = so.from, hint = so.hint](ResumeScanResult r) {
                     scans_running_--;
                     if (!r.ec || !on_resume_scan_failed(*pp, from, hint, r))
                       on_resume_scanned(*pp, from, std::move(r));
                     run_next_scan();
                   });
  });
  run_next_scan();
}

void Progress::run_next_scan() {
  while (!scans_waiting_.empty() && scans_running_ < std::max(1, core_.opts.resume_scans_in_parallel)) {
    auto next = std::move(scans_waiting_.front());
    scans_waiting_.pop_front();
    next();
  }
}

void Progress::on_resume_scanned(Partition& p, SourceOffset from, ResumeScanResult r) {
  p.resume_failures = 0;
  if (r.ec) {
    // resume.on_scan_failure: duplicate. Never skip on doubt: from the committed offset, the
    // batches delivered since the last commit are sent again (at-least-once, this time).
    TM_ERROR(kLog, "exactly-once resume failed; resuming at the committed offset: batches delivered since the "
                   "last commit will be duplicated in the target (resume.on_scan_failure: duplicate)",
             {{"route", core_.opts.name}, {"partition", p.tp.str()}, {"from_offset", from.value()},
              {"error", r.ec.message()}, {"detail", r.detail}});
    set_running_or_waiting(p);
    core_.schedule();
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
    for (const auto& o : core_.opts.observers) o->already_delivered(p.tp, u.facts, delivered);
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
          {{"route", core_.opts.name}, {"partition", p.tp.str()}, {"committed", from.value()},
           {"resume_at", p.next_fetch.value()}, {"already_delivered_batches", matched},
           {"target_batches_scanned", r.target_batches}, {"target_bytes_scanned", r.target_bytes},
           {"other_batches_skipped", r.skipped}, {"pieces_of_next_batch_found", r.partial_pieces},
           {"scanned_from", r.scanned_from}, {"replication_waits", r.replication_waits}, {"how", r.detail}});
  if (r.bound_reached)
    TM_WARN(kLog, "exactly-once resume: scan bound reached before the target high watermark; batches past it that "
                  "were already delivered are sent again",
            {{"partition", p.tp.str()}, {"resume_scan_bytes", core_.opts.resume_scan_bytes}});
  set_running_or_waiting(p);
  core_.schedule();
  if (moved && !core_.stopping) commit(nullptr);
}

bool Progress::on_resume_scan_failed(Partition& p, SourceOffset from, std::optional<int64_t> hint,
                                     const ResumeScanResult& r) {
  p.counters.resume_scan_failures++;
  if (core_.opts.resume_on_scan_failure == ResumeScanFailurePolicy::duplicate) return false;
  if (resume_scan_failure_is_permanent(r.ec)) {
    // Retrying cannot help, and going on would duplicate: the operator fixes it and restarts.
    core_.pause(p, "exactly-once resume scan refused (" + r.ec.message() + "): " + r.detail +
                       "; fix it and restart (or set resume.on_scan_failure: duplicate)");
    p.start_pending = false;
    return true;
  }
  ++p.resume_failures;
  auto delay = resume_scan_retry_delay(p.resume_failures, core_.opts.retry_backoff, core_.opts.resume_retry_max);
  p.state = PartitionState::resume_waiting;
  p.reason = "exactly-once resume scan failed " + std::to_string(p.resume_failures) + " time(s), retrying in " +
             std::to_string(delay.count()) + " ms: " + r.detail;
  // Thousands of partitions wait through one outage: a line at the 1st, 2nd, 4th, 8th... failure
  // each, the rest at debug level (status and metrics show every one).
  const bool loud = (p.resume_failures & (p.resume_failures - 1)) == 0;
  TM_LOG_(loud ? log::Level::warn : log::Level::debug, kLog,
          "exactly-once resume scan failed; the partition waits and scans again (no duplicates)",
          {{"route", core_.opts.name}, {"partition", p.tp.str()}, {"from_offset", from.value()},
           {"attempts", p.resume_failures}, {"retry_in_ms", delay.count()}, {"error", r.ec.message()},
           {"detail", r.detail}});
  core_.after(delay, [this, keep = core_.keep(), pp = &p, from, hint] {
    // start_pending keeps the partition alive (reap_retired) until this chain ends.
    if (core_.stopping || pp->retiring || pp->state != PartitionState::resume_waiting) {
      pp->start_pending = false;
      if (!core_.stopping && !pp->retiring) set_running_or_waiting(*pp);
      core_.schedule();
      return;
    }
    screen_for_scan(*pp, from, hint);
  });
  return true;
}

void Progress::set_running_or_waiting(Partition& p) {
  p.start_pending = false;  // the end of resolve_start's chain
  if (p.state == PartitionState::paused) return;
  auto md = core_.target->metadata();
  bool exists = md && md->partition(p.tp.topic, p.tp.partition) != nullptr;
  if (exists && p.deferred_resume && !core_.stopping && !p.retiring) {
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

// ---------------------------------------------------------------- commits, catch-up

void Progress::commit(std::function<void()> done) {
  auto keep = core_.keep();
  auto rearm = [this, keep] {
    if (core_.stopping) return;
    commit_timer_.expires_after(core_.opts.commit_interval);
    commit_timer_.async_wait([this, keep](const std::error_code& ec) {
      if (!ec) commit(nullptr);
    });
  };
  if (committing_) {
    if (done) done();
    return rearm();
  }
  std::map<TopicPartition, GroupOffsets::Commit> todo;
  for (auto& [tp, p] : core_.parts) {
    if (p->lost) continue;
    auto next = p->queue.committed_next();
    // The hint tells a later process where in the target the batches after `next` begin.
    if (next && (!p->committed || *p->committed != *next))
      todo[tp] = GroupOffsets::Commit{*next, p->target_hint ? format_resume_hint(*p->target_hint) : ""};
  }
  if (core_.opts.before_commit) {
    // The gate runs every round, even with nothing to commit: progress records go with it.
    std::map<TopicPartition, SourceOffset> ends;
    for (const auto& [tp, c] : todo) ends[tp] = c.next;
    committing_ = true;
    auto timeout = core_.stopping ? std::min(stop_timeout_, core_.opts.request_timeout) : core_.opts.request_timeout;
    core_.opts.before_commit(ends, core_.partition_statuses(), timeout, core_.stopping,
                        [this, keep, todo = std::move(todo), done, rearm](bool ok) mutable {
                          asio::post(core_.strand, [this, keep, ok, todo = std::move(todo), done, rearm]() mutable {
                            committing_ = false;
                            // Not published: nothing is committed, so a later process counts it again.
                            // Unchanged offsets still renew a group member's session (no count
                            // goes with them).
                            if (!ok) todo.clear();
                            add_renewals(todo);
                            if (todo.empty()) {
                              if (done) done();
                              return rearm();
                            }
                            commit_offsets(std::move(todo), std::move(done), std::move(rearm));
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

void Progress::add_renewals(std::map<TopicPartition, GroupOffsets::Commit>& todo) const {
  if (!core_.opts.commit_through) return;
  // A group member commits every partition it owns each round, at its last committed offset
  // where nothing new goes: each accepted commit renews its session and so its produce fence
  // (control/group_member.h). Without them a member with nothing new to commit (or whose audit
  // publish failed) would stop sending for good.
  for (const auto& [tp, p] : core_.parts)
    if (!p->lost && p->committed && !todo.count(tp))
      todo[tp] = GroupOffsets::Commit{*p->committed, p->committed_metadata};
}

void Progress::commit_offsets(std::map<TopicPartition, GroupOffsets::Commit> todo, std::function<void()> done,
                              std::function<void()> rearm) {
  auto keep = core_.keep();
  committing_ = true;
  auto handler = core_.on_strand([this, keep, todo, done, rearm](std::error_code ec,
                                                                 std::map<TopicPartition, std::error_code> errors) {
    committing_ = false;
    refuse_beside_group_members(ec, errors);
    if (ec) {
      core_.notify_failed(protocol::ApiKey::offset_commit, ec);
      if (ec == kafka_errc::group_authorization_failed)  // loud, but retried: an ACL can be added live
        TM_ERROR(kLog, "offset commit refused: the route's principal needs the Read ACL on the group; retrying",
                 {{"route", core_.opts.name}, {"group", core_.opts.group}, {"error", ec.message()}});
      else
        TM_WARN(kLog, "offset commit failed", {{"route", core_.opts.name}, {"error", ec.message()}});
    } else {
      for (const auto& [tp, c] : todo) {
        auto err = errors.find(tp);
        if (err != errors.end() && err->second) {
          core_.notify_failed(protocol::ApiKey::offset_commit, err->second);
          TM_WARN(kLog, "offset commit failed", {{"partition", tp.str()}, {"error", err->second.message()}});
          continue;
        }
        for (const auto& o : core_.opts.observers) o->committed(tp, c.next);
        auto it = core_.parts.find(tp);
        if (it == core_.parts.end()) continue;
        it->second->committed = c.next;
        it->second->committed_metadata = c.metadata;
        it->second->counters.committed_offset = c.next.value();
      }
    }
    check_caught_up();
    if (done) done();
    rearm();
  });
  if (!core_.opts.commit_through) return offsets_->commit(todo, std::move(handler));
  core_.opts.commit_through(todo, [this, keep, handler = std::move(handler)](std::error_code ec,
                                                                             std::map<TopicPartition, std::error_code> errors) {
    asio::post(core_.strand, [handler, ec, errors = std::move(errors)]() mutable { handler(ec, std::move(errors)); });
  });
}

void Progress::refuse_beside_group_members(std::error_code ec, const std::map<TopicPartition, std::error_code>& errors) {
  // Without membership (membership.mode none) this process commits as a simple consumer
  // (generation -1, no member id), which a broker accepts only while the group has no members:
  // a non-empty group answers UNKNOWN_MEMBER_ID (Kafka's GroupCoordinator, "only members can
  // commit offsets"). Its members are instances with membership.mode group; this process
  // mirrors their partitions too, so every batch it sends is a second copy. Stop, loudly.
  if (core_.opts.commit_through || refused_beside_members_ || !core_.fatal || core_.stopping) return;
  bool members = ec == kafka_errc::unknown_member_id;
  for (const auto& [tp, e] : errors) members = members || e == kafka_errc::unknown_member_id;
  if (!members) return;
  refused_beside_members_ = true;
  core_.fatal(make_error_code(kafka_errc::unknown_member_id),
              "the route's consumer group '" + core_.opts.group +
                  "' has active members (instances with membership.mode: group), which refuse this process's "
                  "commits: with membership.mode: none it mirrors their partitions a second time. Stop it, or set "
                  "membership.mode: group in every instance (`tiermirror members` lists the members)");
}

void Progress::on_caught_up(std::function<void()> done) {
  caught_up_ = std::move(done);
  check_caught_up();
}

void Progress::check_caught_up() {
  // Called at every release, which with thousands of partitions is thousands of times per fetch
  // round; the check walks every partition. Coalesced: at most one walk per 25 ms.
  if (!caught_up_ || caught_up_reported_ || caught_up_check_armed_) return;
  caught_up_check_armed_ = true;
  core_.after(net::Millis(25), [this, keep = core_.keep()] {
    caught_up_check_armed_ = false;
    check_caught_up_now();
  });
}

void Progress::check_caught_up_now() {
  if (!caught_up_ || caught_up_reported_ || core_.parts.empty()) return;
  if (core_.opts.assigned_only) {
    // A member is caught up only as a group of one: it must hold every selected partition.
    auto md = core_.source->metadata();
    if (!md) return;
    size_t selected = 0, owned = 0;
    for (const auto& [name, t] : md->topics)
      if (core_.selected_topics.count(name)) selected += t.partitions.size();
    for (const auto& [tp, p] : core_.parts) owned += p->retiring ? 0 : 1;
    if (owned < selected) return;
  }
  bool need_commit = false;
  for (const auto& [tp, p] : core_.parts) {
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
  TM_INFO(kLog, "caught up with the source's last stable offsets listed at start", {{"route", core_.opts.name}});
  asio::post(core_.io, caught_up_);
}


}  // namespace tiermirror::pipeline::detail
