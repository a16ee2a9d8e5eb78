#include "tiermirror/pipeline/aborted_filter.h"

#include "tiermirror/protocol/primitives.h"

namespace tiermirror::pipeline {

std::string_view to_string(TxnVerdict v) {
  switch (v) {
    case TxnVerdict::keep: return "keep";
    case TxnVerdict::drop_aborted: return "drop_aborted";
    case TxnVerdict::drop_control: return "drop_control";
  }
  return "?";
}

std::optional<ControlRecordType> control_record_type(const protocol::RecordBatchView& batch) {
  if (!batch.is_control() || batch.codec() != protocol::Codec::none) return std::nullopt;
  if (batch.records_count() < 1) return std::nullopt;
  // DefaultRecord: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
  // keyLength varint, key. ControlRecordType.parse: key = version int16 (>= 0), type int16.
  protocol::Reader r(batch.records());
  int32_t length = r.varint("record length");
  if (!r.ok() || length < 0 || static_cast<size_t>(length) > r.remaining()) return std::nullopt;
  r.i8("record attributes");
  r.varlong("timestamp delta");
  r.varint("offset delta");
  int32_t key_length = r.varint("key length");
  if (!r.ok() || key_length < 4 || static_cast<size_t>(key_length) > r.remaining()) return std::nullopt;
  int16_t version = r.i16("control key version");
  int16_t type = r.i16("control key type");
  if (!r.ok() || version < 0) return std::nullopt;
  return static_cast<ControlRecordType>(type);
}

void AbortedFilter::add(const std::vector<Aborted>& aborted) {
  for (const auto& a : aborted) {
    // A transaction that starts below what this filter already passed, for a producer not
    // inside an aborted transaction now, was closed by an ABORT marker already seen: the
    // broker lists a transaction in every response that overlaps it, never after its marker,
    // so only a stale re-listing can look like this.
    if (next_offset_ && a.first_offset < *next_offset_ && !aborted_pids_.count(a.producer_id)) continue;
    pending_.emplace(a.first_offset, a.producer_id);
  }
}

void AbortedFilter::drain_up_to(int64_t last_offset) {
  while (!pending_.empty() && pending_.begin()->first <= last_offset) {
    aborted_pids_.insert(pending_.begin()->second);
    pending_.erase(pending_.begin());
  }
}

TxnVerdict AbortedFilter::next(const protocol::RecordBatchView& batch) {
  const int64_t last = batch.last_offset().value();
  next_offset_ = last + 1;
  drain_up_to(last);
  if (batch.is_control()) {
    // Control batches are never handed to producers (wire rule 8). Only an ABORT marker ends
    // an aborted transaction; a COMMIT marker (or an unreadable control record) does not.
    if (batch.has_producer_id() && control_record_type(batch) == ControlRecordType::abort)
      aborted_pids_.erase(batch.producer_id().value());
    return TxnVerdict::drop_control;
  }
  if (batch.is_transactional() && aborted_pids_.count(batch.producer_id().value())) return TxnVerdict::drop_aborted;
  return TxnVerdict::keep;
}

void AbortedFilter::reset() {
  pending_.clear();
  aborted_pids_.clear();
  next_offset_.reset();
}

}  // namespace tiermirror::pipeline
