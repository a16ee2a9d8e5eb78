#pragma once
// The send side of one partition pipeline, without I/O: batches in source order, each sent
// with an idempotent sequence number, acknowledged in any order but released (and so
// committable) only as a contiguous prefix. After a failed send nothing new is sent until
// every request in flight for the partition has completed; then the unacknowledged batches
// go again, in order, with their original sequences, so the broker's idempotence check
// (per producer and partition, the last 5 batches) keeps order and drops duplicates.
//
/// runs on: the route strand
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/strong_types.h"
#include "tiermirror/pipeline/route_observer.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

struct QueuedBatch {
  enum class State { queued, in_flight, acked };

  uint64_t id = 0;
  SourceOffset first{0}, last{0};  // source offsets the batch accounts for (inclusive)
  protocol::RecordBatchView batch;  // what goes to the target (fetched or repacked)
  bool send = true;                 // false: dropped (control, aborted, empty): released in order
  int32_t records = 0;
  size_t bytes = 0;                 // counted against the byte budgets
  int32_t sequence = -1;            // assigned at first send; kept for resends
  State state = State::queued;
  int attempts = 0;
  std::optional<TargetOffset> target_offset;
  // The source batch's timestamps (for repacked pieces too): what the counters bucket by.
  int64_t base_timestamp = -1, max_timestamp = -1;
  // The source batch as the fetched tier counts it, on the batch (or last repacked piece)
  // whose release completes it: the route reports both tiers at release, together.
  std::optional<BatchFacts> source;
  // With `source`: pieces of that repacked batch the target held before a restart (not sent
  // again). Counted at the target tier together with it.
  std::vector<BatchFacts> earlier_pieces;
};

class PartitionQueue {
 public:
  explicit PartitionQueue(int max_in_flight) : max_in_flight_(max_in_flight) {}

  /// Appends a batch (source order). Dropped batches (send == false) arrive acked.
  void push(QueuedBatch b);

  /// Whether a batch may be sent now: one is queued, fewer than max_in_flight are out,
  /// no resend is pending, and — until the broker acknowledged one batch of the current
  /// producer id on this partition — nothing else is out.
  ///
  /// Impl note: a broker with no state for (producer id, partition) accepts any first
  /// sequence (ProducerAppendInfo.checkSequence). If the first batch failed before being
  /// appended (say NOT_ENOUGH_REPLICAS) while the second was in flight, the second would be
  /// accepted first and the resent first batch land after it. Once one batch is in, gaps
  /// get OUT_OF_ORDER_SEQUENCE_NUMBER and pipelining is safe.
  bool can_send() const;
  /// Marks the next queued batch in flight, assigning its sequence on first send.
  QueuedBatch* take_next();

  /// Batch `id` while it is queued or in flight, else nullptr.
  const QueuedBatch* get(uint64_t id) const;

  /// The target acknowledged batch `id` at `offset`.
  void acked(uint64_t id, TargetOffset offset);
  /// Sending batch `id` failed retriably; it (and whatever is still in flight) goes again.
  void failed(uint64_t id);
  /// Whether a failure happened that has not been resent yet (an OUT_OF_ORDER_SEQUENCE for
  /// a later batch is then explained by it, not a sequence desync).
  bool resend_pending() const { return resend_pending_; }

  /// A new producer id or epoch: sequences restart at 0 from the first unacked batch.
  /// Only while nothing is in flight.
  void reset_sequences();

  /// Releases the acknowledged prefix; returns the batches released (for counters).
  std::vector<QueuedBatch> release();
  /// Removes the trailing batches never sent (a paused partition frees its memory; they
  /// are fetched again from the committed offset after a restart). Returns them.
  std::vector<QueuedBatch> drop_unsent_tail();
  /// Removes every batch (a retired partition, once nothing is in flight). Returns them.
  std::vector<QueuedBatch> drain();
  /// Where a queue for the same partition, created later under the same producer id,
  /// continues numbering (continue_sequence): the first unacknowledged batch's sequence, else
  /// the next unassigned one, but never below a sequence already sent (a send of unknown fate
  /// may have landed; see the .cc).
  int32_t resume_sequence() const;
  /// Starts numbering at `next` for a producer id the broker already knows on this partition.
  void continue_sequence(int32_t next) {
    next_sequence_ = next;
    producer_confirmed_ = true;
  }
  /// Applies to sends from now on (a reload); batches already in flight stay.
  void set_max_in_flight(int n) { max_in_flight_ = n; }

  /// Exactly-once resume found [.., next) already delivered: commit `next` although nothing
  /// was released. Only while the queue is empty (at partition start).
  void start_at(SourceOffset next) {
    if (q_.empty()) committed_next_ = next;
  }
  /// The next source offset to commit (after the released prefix), or nullopt before any.
  std::optional<SourceOffset> committed_next() const { return committed_next_; }
  size_t buffered_bytes() const { return bytes_; }
  int in_flight() const { return in_flight_; }
  size_t size() const { return q_.size(); }
  bool empty() const { return q_.empty(); }
  int32_t next_sequence() const { return next_sequence_; }

 private:
  QueuedBatch* find(uint64_t id);
  static int32_t advance(int32_t seq, int32_t n);
  static bool ahead(int32_t a, int32_t b);

  int max_in_flight_;
  std::deque<QueuedBatch> q_;
  int in_flight_ = 0;
  bool resend_pending_ = false;
  bool producer_confirmed_ = false;  // the broker acked a batch of the current producer id
  int32_t next_sequence_ = 0;
  std::optional<int32_t> sent_end_;  // the sequence after the furthest one ever sent (this producer id)
  size_t bytes_ = 0;
  std::optional<SourceOffset> committed_next_;
};

}  // namespace tiermirror::pipeline
