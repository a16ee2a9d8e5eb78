#pragma once
// read_committed filtering of one partition's fetched batches, as Kafka's consumer does it
// (clients/.../consumer/internals/CompletedFetch.java: consumeAbortedTransactionsUpTo,
// isBatchAborted, containsAbortMarker; librdkafka: rdkafka_msgset_reader.c).
//
// A READ_COMMITTED Fetch still returns every batch below the last stable offset, including
// batches of aborted transactions and the control (marker) batches; it lists the aborted
// transactions overlapping the response as (producerId, firstOffset). Per batch, in order:
//   1. every listed transaction with firstOffset <= batch.lastOffset makes its producer
//      "aborted" (a min-heap by firstOffset drained into a set of producer ids);
//   2. a control batch is dropped (drop_control); if its control record is an ABORT marker
//      its producer leaves the set (a COMMIT marker changes nothing);
//   3. a transactional batch of a producer in the set is dropped (drop_aborted);
//   4. everything else is kept.
//
// One filter lives per partition for as long as fetches continue in offset order: call add()
// with each response's list, then next() for each of that response's batches. Unlike Kafka's
// per-response CompletedFetch the state carries over, so a transaction that a response lists
// but whose marker arrives in a later response stays aborted until the marker. The broker lists
// an open aborted transaction again in every response overlapping it; re-listed entries are
// harmless (the set is idempotent), and an entry that starts below what the filter has already
// passed for a producer not currently aborted is ignored as stale (its ABORT marker was already
// seen). After a seek (fetching from a non-contiguous offset) call reset().
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

enum class TxnVerdict : uint8_t { keep, drop_aborted, drop_control };
std::string_view to_string(TxnVerdict v);

/// Kafka's ControlRecordType (ControlRecordType.java). ABORT/COMMIT are transaction markers;
/// the others are KRaft metadata-log records and never appear in a user topic.
enum class ControlRecordType : int16_t {
  abort = 0,
  commit = 1,
  leader_change = 2,
  snapshot_header = 3,
  snapshot_footer = 4,
};

/// The type in the key of a control batch's first record (key = version int16, type int16).
/// nullopt when the batch is not a control batch, is compressed (control batches never are),
/// or its first record or key does not parse. Types Kafka does not know come back as is.
std::optional<ControlRecordType> control_record_type(const protocol::RecordBatchView& batch);

class AbortedFilter {
 public:
  using Aborted = protocol::FetchResponse::AbortedTransaction;

  /// Adds a response's aborted-transaction list (call before that response's batches).
  void add(const std::vector<Aborted>& aborted);
  void add(const std::optional<std::vector<Aborted>>& aborted) {
    if (aborted) add(*aborted);
  }

  /// The verdict for the next batch of the partition, in offset order. Updates the state.
  TxnVerdict next(const protocol::RecordBatchView& batch);

  /// Forgets everything (after a seek).
  void reset();

  /// Producers currently inside an aborted transaction.
  bool is_aborted(ProducerId pid) const { return aborted_pids_.count(pid.value()) != 0; }
  size_t aborted_producers() const { return aborted_pids_.size(); }
  /// Listed transactions not yet reached (firstOffset beyond the batches seen so far).
  size_t pending() const { return pending_.size(); }

 private:
  void drain_up_to(int64_t last_offset);

  // Ordered by (firstOffset, producerId): the smallest first offset is begin(); duplicates
  // from re-listing collapse.
  std::set<std::pair<int64_t, int64_t>> pending_;
  std::unordered_set<int64_t> aborted_pids_;
  std::optional<int64_t> next_offset_;  // one past the last batch given to next()
};

}  // namespace tiermirror::pipeline
