#include "route_core.h"

#include "tiermirror/common/log.h"

namespace tiermirror::pipeline::detail {

namespace asio = boost::asio;
namespace {
constexpr const char* kLog = "pipeline";
}

void ResponseBudget::track(const QueuedBatch& b) {
  const auto& owner = b.batch.bytes().owner();
  auto& use = frames_[owner.span().data()];
  if (use.batches++ == 0) {
    use.bytes = owner.size();
    frame_bytes_ += use.bytes;
  }
}

void ResponseBudget::untrack(const QueuedBatch& b) {
  auto it = frames_.find(b.batch.bytes().owner().span().data());
  if (it == frames_.end()) return;
  if (--it->second.batches == 0) {
    frame_bytes_ -= it->second.bytes;
    frames_.erase(it);
  }
}

RouteCore::RouteCore(asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
                     RouteOptions opts)
    : io(io),
      strand(asio::make_strand(io)),
      source(std::move(source)),
      target(std::move(target)),
      opts(std::move(opts)),
      retry_timer_(strand) {}

void RouteCore::after(net::Millis delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(strand, delay);
  timer->async_wait([timer, fn = std::move(fn)](const std::error_code& ec) {
    if (!ec) fn();
  });
}

void RouteCore::retry_later() {
  if (retry_armed_ || stopping) return;
  retry_armed_ = true;
  retry_timer_.expires_after(opts.retry_backoff);
  retry_timer_.async_wait(on_strand([this, keep = keep()](const std::error_code& ec) {
    retry_armed_ = false;
    if (!ec) schedule();
  }));
}

void RouteCore::notify_failed(protocol::ApiKey api, std::error_code ec) {
  for (const auto& o : opts.observers) o->request_failed(api, ec);
}

void RouteCore::pause(Partition& p, std::string reason, PauseSide side) {
  if (side == PauseSide::target && !p.sending_stopped) {
    // The target refuses what we send: nothing more goes out, and what was never sent
    // stops holding memory (it is fetched again from the committed offset after a restart).
    p.sending_stopped = true;
    for (const auto& b : p.queue.drop_unsent_tail()) budget.untrack(b);
  }
  // A source-side problem stops fetching only: the valid batches before it are still
  // delivered and committed.
  if (p.state == PartitionState::paused) return;
  p.state = PartitionState::paused;
  p.reason = std::move(reason);
  TM_ERROR(kLog, "partition paused", {{"route", opts.name}, {"partition", p.tp.str()}, {"reason", p.reason}});
}

std::vector<PartitionStatus> RouteCore::partition_statuses() const {
  std::vector<PartitionStatus> out;
  for (const auto& [tp, p] : parts) {
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

}  // namespace tiermirror::pipeline::detail
