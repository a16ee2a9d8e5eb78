#include "tiermirror/pipeline/partition_queue.h"

#include <cassert>
#include <limits>

namespace tiermirror::pipeline {

bool PartitionQueue::ahead(int32_t a, int32_t b) {
  // Sequences wrap at INT32_MAX: a is ahead of b when it is less than half the space after it.
  int64_t d = (static_cast<int64_t>(a) - b) & std::numeric_limits<int32_t>::max();
  return d > 0 && d < (int64_t{1} << 30);
}

int32_t PartitionQueue::advance(int32_t seq, int32_t n) {
  // Kafka's sequences wrap from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence).
  int64_t next = static_cast<int64_t>(seq) + n;
  if (next > std::numeric_limits<int32_t>::max()) next -= static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1;
  return static_cast<int32_t>(next);
}

void PartitionQueue::push(QueuedBatch b) {
  if (!b.send) b.state = QueuedBatch::State::acked;
  bytes_ += b.bytes;
  q_.push_back(std::move(b));
}

bool PartitionQueue::can_send() const {
  if (resend_pending_ || in_flight_ >= max_in_flight_) return false;
  if (!producer_confirmed_ && in_flight_ > 0) return false;
  for (const auto& b : q_)
    if (b.state == QueuedBatch::State::queued) return true;
  return false;
}

QueuedBatch* PartitionQueue::take_next() {
  if (!can_send()) return nullptr;
  for (auto& b : q_) {
    if (b.state != QueuedBatch::State::queued) continue;
    if (b.sequence < 0) {
      b.sequence = next_sequence_;
      next_sequence_ = advance(next_sequence_, b.records);
    }
    b.state = QueuedBatch::State::in_flight;
    b.attempts++;
    in_flight_++;
    int32_t end = advance(b.sequence, b.records);
    if (!sent_end_ || ahead(end, *sent_end_)) sent_end_ = end;
    return &b;
  }
  return nullptr;
}

QueuedBatch* PartitionQueue::find(uint64_t id) {
  for (auto& b : q_)
    if (b.id == id) return &b;
  return nullptr;
}

const QueuedBatch* PartitionQueue::get(uint64_t id) const {
  for (const auto& b : q_)
    if (b.id == id) return &b;
  return nullptr;
}

void PartitionQueue::acked(uint64_t id, TargetOffset offset) {
  auto* b = find(id);
  if (!b || b->state != QueuedBatch::State::in_flight) return;
  b->state = QueuedBatch::State::acked;
  b->target_offset = offset;
  producer_confirmed_ = true;
  in_flight_--;
  if (in_flight_ == 0) resend_pending_ = false;
}

void PartitionQueue::failed(uint64_t id) {
  auto* b = find(id);
  if (!b || b->state != QueuedBatch::State::in_flight) return;
  b->state = QueuedBatch::State::queued;
  in_flight_--;
  resend_pending_ = in_flight_ > 0;
}

void PartitionQueue::reset_sequences() {
  assert(in_flight_ == 0);
  next_sequence_ = 0;
  sent_end_.reset();
  producer_confirmed_ = false;
  for (auto& b : q_) {
    if (b.state != QueuedBatch::State::queued || !b.send) continue;
    b.sequence = next_sequence_;
    next_sequence_ = advance(next_sequence_, b.records);
  }
}

std::vector<QueuedBatch> PartitionQueue::release() {
  std::vector<QueuedBatch> out;
  while (!q_.empty() && q_.front().state == QueuedBatch::State::acked) {
    committed_next_ = SourceOffset(q_.front().last.value() + 1);
    bytes_ -= q_.front().bytes;
    out.push_back(std::move(q_.front()));
    q_.pop_front();
  }
  return out;
}

std::vector<QueuedBatch> PartitionQueue::drop_unsent_tail() {
  std::vector<QueuedBatch> out;
  while (!q_.empty() && q_.back().state == QueuedBatch::State::queued) {
    // A failed batch keeps its sequence; dropping it gives the sequence back, so whatever
    // is sent next (the same batch, fetched again) carries it.
    if (q_.back().sequence >= 0) next_sequence_ = q_.back().sequence;
    bytes_ -= q_.back().bytes;
    out.push_back(std::move(q_.back()));
    q_.pop_back();
  }
  return out;
}

int32_t PartitionQueue::resume_sequence() const {
  int32_t next = next_sequence_;
  for (const auto& b : q_)
    if (b.state != QueuedBatch::State::acked && b.sequence >= 0) {
      next = b.sequence;
      break;
    }
  // Never below a sequence already sent: a send whose fate is unknown may have landed, and
  // the next queue of this partition may start elsewhere (another group member moved the
  // commit on): other data under that sequence would be taken by the broker for the landed
  // batch and acknowledged without being stored (Kafka answers a duplicate of its last five
  // batches with the original offset). A gap instead is answered OUT_OF_ORDER_SEQUENCE_NUMBER,
  // which renews the producer id; the resume scan finds whatever did land.
  if (sent_end_ && ahead(*sent_end_, next)) next = *sent_end_;
  return next;
}

std::vector<QueuedBatch> PartitionQueue::drain() {
  std::vector<QueuedBatch> out(std::make_move_iterator(q_.begin()), std::make_move_iterator(q_.end()));
  q_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace tiermirror::pipeline
