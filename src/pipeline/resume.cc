#include "tiermirror/pipeline/resume.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>

#include "tiermirror/common/errors.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kHintPrefix = "tm1 t=";
}

// ---------------------------------------------------------------- hint

std::string format_resume_hint(int64_t target_next) { return std::string(kHintPrefix) + std::to_string(target_next); }

std::optional<int64_t> parse_resume_hint(std::string_view metadata) {
  if (metadata.substr(0, kHintPrefix.size()) != kHintPrefix) return std::nullopt;
  auto digits = metadata.substr(kHintPrefix.size());
  // The number ends the hint or is followed by a space (room for later fields).
  digits = digits.substr(0, digits.find(' '));
  int64_t v = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------- failed scans

bool resume_scan_failure_is_permanent(std::error_code ec) {
  if (ec.category() != kafka_category()) return false;  // local: timeouts, disconnects, no leader
  switch (static_cast<kafka_errc>(ec.value())) {
    // ACLs do not change by themselves (and never while we wait): an operator has to act, and
    // a restart picks the scan up again. Kafka answers these per partition on Fetch and
    // ListOffsets (TOPIC_AUTHORIZATION_FAILED) or for the whole request.
    case kafka_errc::topic_authorization_failed:
    case kafka_errc::cluster_authorization_failed:
    case kafka_errc::sasl_authentication_failed:
    // The broker does not take the request version: retrying sends the same request.
    case kafka_errc::unsupported_version:
      return true;
    default:
      return false;
  }
}

bool resume_needs_scan(std::optional<int64_t> hint, int64_t target_log_end) {
  if (target_log_end == 0) return false;  // never written: nothing of ours in it
  return !hint || *hint != target_log_end;
}

net::Millis resume_scan_retry_delay(int failures, net::Millis backoff, net::Millis cap) {
  auto d = std::max(backoff, net::Millis(1));
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

// ---------------------------------------------------------------- source units

ResumeUnits resume_units(const std::vector<protocol::RecordBatchView>& batches, AbortedFilter& filter,
                         SourceOffset from, size_t max_message_bytes, bool force_repack) {
  ResumeUnits out;
  for (const auto& b : batches) {
    if (b.last_offset() < from) continue;  // split_record_set leaves these out of the data path too
    auto verdict = b.verdict();
    if (verdict == protocol::BatchVerdict::crc_mismatch || verdict == protocol::BatchVerdict::truncated ||
        verdict == protocol::BatchVerdict::bad_length || verdict == protocol::BatchVerdict::unknown_magic ||
        verdict == protocol::BatchVerdict::malformed_records) {
      out.stopped = true;  // the data path pauses the partition before this batch
      return out;
    }
    ResumeUnit u;
    u.first = SourceOffset(b.base_offset());
    u.last = b.last_offset();
    if (filter.next(b) != TxnVerdict::keep) {  // control batch or aborted transaction: never sent
      out.units.push_back(std::move(u));
      continue;
    }
    auto reason = force_repack && !b.is_control() ? std::optional(RepackReason::forced)
                                                  : needs_repack(b, max_message_bytes);
    if (!reason) {
      u.sends.push_back(b);
      u.send_last.push_back(u.last);
      u.facts = BatchFacts{u.first, u.last, b.records_count(), b.size(), b.base_timestamp(), b.max_timestamp()};
      out.units.push_back(std::move(u));
      continue;
    }
    auto repacked = repack(b, max_message_bytes);
    if (!repacked) {
      out.stopped = true;  // the data path pauses here too
      return out;
    }
    u.repacked = true;
    if (repacked->batches.empty()) {  // all records compacted away: the data path sends nothing
      u.facts = BatchFacts{u.first, u.last, 0, b.size(), -1, -1};
      out.units.push_back(std::move(u));
      continue;
    }
    // The same pieces and facts as Route::on_fetch_partition queues when it fetches from `from`.
    auto pieces = repacked_pieces(b, *repacked, from);
    u.facts = pieces.source;
    u.earlier_pieces = std::move(pieces.earlier);
    for (const auto& piece : pieces.send) {
      u.sends.push_back(piece.view);
      u.send_last.push_back(piece.last);
    }
    out.units.push_back(std::move(u));
  }
  return out;
}

// ---------------------------------------------------------------- matcher

void ResumeMatcher::push(ResumeUnit u) {
  pending_.push_back(std::move(u));
  settle();
}

void ResumeMatcher::settle() {
  while (!pending_.empty() && piece_ == 0 && pending_.front().sends.empty()) {
    resume_at_ = SourceOffset(pending_.front().last.value() + 1);
    ++units_matched_;
    matched_.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
}

void ResumeMatcher::offer(const protocol::RecordBatchView& t) {
  if (pending_.empty()) return;
  auto& u = pending_.front();
  // Only a complete v2 batch can be one the route sent (it produces magic 2 only).
  if (t.is_legacy() || !t.complete() || !protocol::same_records(t, u.sends[piece_])) {
    ++skipped_;  // another route's batch, older data, or not (yet) ours
    return;
  }
  ++piece_;
  ++batches_matched_;
  target_next_ = t.base_offset() + t.last_offset_delta() + 1;
  if (piece_ < u.sends.size()) {
    // Should matching end here, the route goes on after this piece (inside the source batch:
    // it sends only the pieces that follow), so nothing matched is sent twice.
    resume_at_ = SourceOffset(u.send_last[piece_ - 1].value() + 1);
    return;
  }
  piece_ = 0;
  resume_at_ = SourceOffset(u.last.value() + 1);
  ++units_matched_;
  matched_.push_back(std::move(u));
  pending_.pop_front();
  settle();
}

std::vector<ResumeUnit> ResumeMatcher::take_matched() {
  std::vector<ResumeUnit> out;
  out.swap(matched_);
  return out;
}

ResumeMatch match_delivered(const std::vector<protocol::RecordBatchView>& target, std::vector<ResumeUnit> units,
                            SourceOffset from) {
  ResumeMatcher m(from);
  for (auto& u : units) m.push(std::move(u));
  for (const auto& t : target) {
    if (m.wants_source()) break;  // every source unit matched: the rest cannot be ours
    m.offer(t);
  }
  return ResumeMatch{m.resume_at(), m.target_next(), m.units_matched(), m.batches_matched(), m.skipped(),
                     m.partial_pieces()};
}

// ---------------------------------------------------------------- the scan

namespace {

struct Scan : std::enable_shared_from_this<Scan> {
  Scan(std::shared_ptr<net::Cluster> s, std::shared_ptr<net::Cluster> t, ResumeScanOptions o,
       asio::any_io_executor ex, std::function<void(ResumeScanResult)> d)
      : source(std::move(s)),
        target(std::move(t)),
        opts(std::move(o)),
        executor(std::move(ex)),
        done(std::move(d)),
        matcher(opts.from),
        timer(executor),
        deadline(std::chrono::steady_clock::now() + opts.deadline),
        source_pos(opts.from),
        target_fetch_bytes(opts.fetch_bytes),
        source_fetch_bytes(opts.fetch_bytes) {}

  std::shared_ptr<net::Cluster> source, target;
  ResumeScanOptions opts;
  asio::any_io_executor executor;
  std::function<void(ResumeScanResult)> done;
  ResumeMatcher matcher;
  AbortedFilter filter;
  ResumeScanResult result;
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;

  int64_t target_log_end = -1, target_hw = -1, target_log_start = -1, target_pos = -1;
  SourceOffset source_pos;
  bool source_done = false;
  std::deque<protocol::RecordBatchView> target_q;
  size_t target_fetch_bytes, source_fetch_bytes;
  bool finished = false;
  std::error_code last_error;

  // Every request gets the whole request_timeout, also near the deadline: one cut short to
  // what is left would time out in flight, and a request timeout breaks the connection (its
  // answers are ordered), which the scan shares with the route's fetches and commits. The
  // deadline decides only whether a failed request is tried again.
  net::Millis request_timeout() const { return opts.request_timeout; }

  // An answer that moved the scan on: the deadline counts from here. The deadline bounds a
  // scan that no longer gets anywhere (a broker down, a leader gone), not one that is slow:
  // each of its requests may wait behind the route's long-polling Fetch on the same connection
  // (a broker answers a connection's requests in order), so a scan of many batches can take
  // far longer than the deadline while every request succeeds. Cut off at a fixed time from
  // its start, such a scan failed at the same place each time and was started over, forever.
  void progressed() { deadline = std::chrono::steady_clock::now() + opts.deadline; }

  // A batch larger than the request allowed: the next request makes room for it. A broker that
  // cut a batch below the size asked would have the scan ask the same again at once, forever
  // now that answers push the deadline back: that counts as a failed request instead.
  static bool grow_fetch(size_t& bytes, size_t needed) {
    if (needed <= bytes) return false;
    bytes = needed;
    return true;
  }

  // Runs `fn` on the executor (network callbacks arrive on connection strands).
  template <typename F>
  void on_executor(F&& fn) {
    asio::post(executor, std::forward<F>(fn));
  }

  void retry(std::error_code ec, std::string what, std::function<void()> again) {
    last_error = ec;
    // Retrying within the scan cannot fix these either: the route decides (it pauses).
    if (ec && resume_scan_failure_is_permanent(ec)) return fail(ec, what + ": " + ec.message());
    if (std::chrono::steady_clock::now() + opts.backoff >= deadline)
      return fail(ec ? ec : make_error_code(errc::timed_out), what + ": " + (ec ? ec.message() : "timed out") +
                                                                 " (retried until the scan deadline)");
    timer.expires_after(opts.backoff);
    timer.async_wait(asio::bind_executor(executor, [self = shared_from_this(), again = std::move(again)](
                                                        const std::error_code& e) {
      if (!e && !self->finished) again();
    }));
  }

  void fail(std::error_code ec, std::string detail) {
    if (finished) return;
    finished = true;
    ResumeScanResult r;
    r.ec = ec;
    r.detail = std::move(detail);
    r.resume_at = opts.from;
    r.target_high_watermark = target_hw;
    r.scanned_from = result.scanned_from;
    r.target_bytes = result.target_bytes;
    r.target_batches = result.target_batches;
    done(std::move(r));
  }

  void finish() {
    if (finished) return;
    finished = true;
    result.resume_at = matcher.resume_at();
    result.target_next = matcher.target_next();
    result.target_high_watermark = target_hw;
    result.skipped = matcher.skipped();
    result.partial_pieces = matcher.partial_pieces();
    result.matched = matcher.take_matched();
    done(std::move(result));
  }

  // 1. The leader's log end offset. A Produce request of the dead process may have been
  //    appended but not yet replicated: it is below the log end but above the high
  //    watermark, unreadable, and would be sent again. So the scan reads up to the log end
  //    seen first, once the high watermark got there (seen on Kafka 4.4 after a broker
  //    restart: duplicates from exactly that).
  void start() {
    auto self = shared_from_this();
    list_log_end_offset(target, opts.tp, request_timeout(), [self](std::error_code ec, int64_t end) {
      self->on_executor([self, ec, end] {
        if (self->finished) return;
        if (ec) return self->retry(ec, "target ListOffsets (log end)", [self] { self->start(); });
        self->progressed();
        self->target_log_end = end;
        self->read_high_watermark();
      });
    });
  }

  // 2. The high watermark (read_uncommitted: every batch below it, other routes' included, is
  //    readable), waited for until it reaches the log end read before; then the log start.
  void read_high_watermark() {
    auto self = shared_from_this();
    list_offset(target, opts.tp, kLatestTimestamp, Isolation::read_uncommitted, request_timeout(),
                [self](std::error_code ec, int64_t hw) {
                  self->on_executor([self, ec, hw] {
                    if (self->finished) return;
                    if (ec) return self->retry(ec, "target ListOffsets (latest)", [self] { self->read_high_watermark(); });
                    self->target_hw = hw;
                    // Waiting for replication is not progress: the deadline ends that wait.
                    if (hw < self->target_log_end) {
                      ++self->result.replication_waits;
                      return self->retry({}, "target high watermark " + std::to_string(hw) + " below the log end " +
                                                 std::to_string(self->target_log_end) + " (replication)",
                                         [self] { self->read_high_watermark(); });
                    }
                    self->progressed();
                    self->read_log_start();
                  });
                });
  }

  void read_log_start() {
    auto self = shared_from_this();
    list_offset(target, opts.tp, kEarliestTimestamp, Isolation::read_uncommitted, request_timeout(),
                [self](std::error_code ec, int64_t earliest) {
                  self->on_executor([self, ec, earliest] {
                    if (self->finished) return;
                    if (ec)
                      return self->retry(ec, "target ListOffsets (earliest)", [self] { self->read_log_start(); });
                    self->progressed();
                    self->target_log_start = earliest;
                    self->choose_start();
                  });
                });
  }

  // 3. Where to read from: the hint, else about max_scan_bytes / 2 before the end.
  void choose_start() {
    if (target_hw <= target_log_start) {
      result.detail = "target partition empty";
      return finish();
    }
    if (opts.hint && *opts.hint >= target_log_start && *opts.hint <= target_hw) {
      result.detail = "from the commit's target offset hint";
      return begin_at(*opts.hint);
    }
    if (!opts.hint)
      result.detail = "no target offset hint in the commit: bounded tail scan";
    else if (*opts.hint > target_hw)
      result.detail = "hint " + std::to_string(*opts.hint) + " beyond the target high watermark " +
                      std::to_string(target_hw) + " (target truncated or recreated?): bounded tail scan";
    else
      result.detail = "hint " + std::to_string(*opts.hint) + " below the target log start " +
                      std::to_string(target_log_start) + " (retention): bounded tail scan";
    estimate_tail();
  }

  // Kafka reads by offset, not by byte: the density of the last batch (bytes per offset)
  // turns the byte bound into a start offset.
  void estimate_tail() {
    auto self = shared_from_this();
    FetchOptions fo{static_cast<int32_t>(target_fetch_bytes), 0, Isolation::read_uncommitted, request_timeout()};
    fetch_partition(target, opts.tp, SourceOffset(target_hw - 1), fo, [self](FetchedPartition f) {
      auto fp = std::make_shared<FetchedPartition>(std::move(f));
      self->on_executor([self, fp] {
        if (self->finished) return;
        if (fp->ec) return self->retry(fp->ec, "target Fetch (tail estimate)", [self] { self->estimate_tail(); });
        if (fp->split.batches.empty() && fp->split.needs_bigger_fetch) {
          if (!grow_fetch(self->target_fetch_bytes, *fp->split.needs_bigger_fetch))
            return self->retry(errc::malformed, "target Fetch (tail estimate): batch cut below the fetch size",
                               [self] { self->estimate_tail(); });
          return self->estimate_tail();
        }
        self->progressed();
        int64_t back = self->target_hw - self->target_log_start;
        if (!fp->split.batches.empty()) {
          const auto& b = fp->split.batches.back();
          double per_offset = static_cast<double>(b.size()) / static_cast<double>(std::max(1, b.last_offset_delta() + 1));
          back = std::min<int64_t>(back, static_cast<int64_t>(static_cast<double>(self->opts.max_scan_bytes / 2) /
                                                              std::max(per_offset, 1.0)));
        }
        self->begin_at(std::max(self->target_log_start, self->target_hw - std::max<int64_t>(back, 1)));
      });
    });
  }

  void begin_at(int64_t offset) {
    target_pos = offset;
    result.scanned_from = offset;
    step();
  }

  // 4. Walk the target; fetch source units only when a target batch waits to be judged.
  void step() {
    if (finished) return;
    for (;;) {
      if (matcher.wants_source() && source_done) return finish();  // nothing left that could match
      if (!target_q.empty()) {
        if (matcher.wants_source()) return fetch_source();
        matcher.offer(target_q.front());
        target_q.pop_front();
        continue;
      }
      if (target_pos >= target_hw) return finish();
      if (result.target_bytes >= opts.max_scan_bytes) {
        result.bound_reached = true;
        return finish();
      }
      return fetch_target();
    }
  }

  void fetch_target() {
    auto self = shared_from_this();
    FetchOptions fo{static_cast<int32_t>(std::min<size_t>(target_fetch_bytes, INT32_MAX)), 0,
                    Isolation::read_uncommitted, request_timeout()};
    fetch_partition(target, opts.tp, SourceOffset(target_pos), fo, [self](FetchedPartition f) {
      auto fp = std::make_shared<FetchedPartition>(std::move(f));
      self->on_executor([self, fp] {
        if (self->finished) return;
        if (fp->ec == kafka_errc::offset_out_of_range) {
          // Retention removed the scan position meanwhile: what matched so far stands.
          self->result.detail += "; target log start moved past the scan position";
          return self->finish();
        }
        if (fp->ec) return self->retry(fp->ec, "target Fetch", [self] { self->fetch_target(); });
        if (fp->split.batches.empty()) {
          if (fp->split.needs_bigger_fetch) {  // one batch larger than the request allowed
            if (!grow_fetch(self->target_fetch_bytes, *fp->split.needs_bigger_fetch))
              return self->retry(errc::malformed, "target Fetch: batch cut below the fetch size",
                                 [self] { self->fetch_target(); });
            return self->fetch_target();
          }
          self->target_pos = self->target_hw;  // nothing readable below the high watermark
          return self->step();
        }
        self->progressed();  // not for a bigger fetch size alone: only batches read move it on
        for (const auto& b : fp->split.batches) {
          if (b.base_offset() >= self->target_hw) break;  // written after the scan started: not ours
          self->target_q.push_back(b);
          self->result.target_bytes += b.size();
          self->result.target_batches++;
        }
        self->target_pos = fp->split.next_fetch_offset.value();
        self->step();
      });
    });
  }

  void fetch_source() {
    if (source_pos.value() >= opts.source_end) {
      source_done = true;
      return step();
    }
    auto self = shared_from_this();
    FetchOptions fo{static_cast<int32_t>(std::min<size_t>(source_fetch_bytes, INT32_MAX)), 0,
                    Isolation::read_committed, request_timeout()};
    fetch_partition(source, opts.tp, source_pos, fo, [self](FetchedPartition f) {
      auto fp = std::make_shared<FetchedPartition>(std::move(f));
      self->on_executor([self, fp] {
        if (self->finished) return;
        if (fp->ec == kafka_errc::offset_out_of_range) {
          // The committed offset is gone (retention) or beyond the end: the data path decides
          // (loss accounting, or a pause); nothing from here can be matched.
          self->source_done = true;
          return self->step();
        }
        if (fp->ec) return self->retry(fp->ec, "source Fetch", [self] { self->fetch_source(); });
        if (fp->split.batches.empty()) {
          if (fp->split.needs_bigger_fetch) {
            if (!grow_fetch(self->source_fetch_bytes, *fp->split.needs_bigger_fetch))
              return self->retry(errc::malformed, "source Fetch: batch cut below the fetch size",
                                 [self] { self->fetch_source(); });
            return self->fetch_source();
          }
          self->source_done = true;
          return self->step();
        }
        self->progressed();
        self->filter.add(fp->aborted_transactions);
        auto units = resume_units(fp->split.batches, self->filter, self->source_pos, self->opts.max_message_bytes,
                                  self->opts.force_repack);
        for (auto& u : units.units) {
          self->source_pos = SourceOffset(u.last.value() + 1);
          self->matcher.push(std::move(u));
        }
        if (units.stopped || !fp->split.ok()) self->source_done = true;
        self->step();
      });
    });
  }
};

}  // namespace

void scan_delivered(std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
                    ResumeScanOptions opts, asio::any_io_executor executor,
                    std::function<void(ResumeScanResult)> done) {
  auto scan = std::make_shared<Scan>(std::move(source), std::move(target), std::move(opts), executor, std::move(done));
  asio::post(executor, [scan] { scan->start(); });
}

}  // namespace tiermirror::pipeline
