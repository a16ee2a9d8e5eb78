#include "tiermirror/protocol/produce_rules.h"

#include <limits>
#include <set>
#include <utility>

#include "tiermirror/protocol/record_set.h"

namespace tiermirror::protocol {
namespace {

using Status = BatchFrame::Status;

// DefaultRecordBatch.incrementSequence: sequences wrap from INT32_MAX to 0.
int32_t increment_sequence(int32_t seq, int32_t inc) {
  if (seq > std::numeric_limits<int32_t>::max() - inc) return inc - (std::numeric_limits<int32_t>::max() - seq) - 1;
  return seq + inc;
}

class Collector {
 public:
  explicit Collector(std::vector<RuleViolation>& out) : out_(out) {}
  void add(ProduceRule rule, const ProducePartitionInput* p, std::string detail, kafka_errc err) {
    out_.push_back(RuleViolation{rule, p ? p->topic : std::string(), p ? p->partition : -1, std::move(detail), err});
  }

 private:
  std::vector<RuleViolation>& out_;
};

std::string batch_tag(size_t index) { return "batch " + std::to_string(index) + ": "; }

// Checks of one v2 batch, in the order the broker meets them: UnifiedLog.analyzeAndValidateRecords
// (baseOffset, size, ensureValid/CRC), then LogValidator.validateBatch (count, control, sequence), with
// the request-level checks of KafkaApis (transactional id) and ProduceRequest.validateRecords (zstd).
void check_batch(const RecordBatchView& b, size_t index, const ProducePartitionInput& p, int16_t version,
                 bool has_txn_id, const TopicLimits& lim, Collector& c) {
  const std::string tag = batch_tag(index);
  if (b.magic() != 2) {
    c.add(ProduceRule::magic_v2, &p, tag + "magic " + std::to_string(b.magic()) + " (Produce v3+ needs magic 2)",
          kafka_errc::invalid_record);
    return;  // the v2 header checks below would read a different layout
  }
  if (b.batch_length() < RecordBatchView::kMinBatchLength) {
    c.add(ProduceRule::crc_valid, &p,
          tag + "size " + std::to_string(b.size()) + " smaller than the 61-byte batch header",
          kafka_errc::corrupt_message);
    return;
  }
  if (b.base_offset() != 0)  // rule 2
    c.add(ProduceRule::base_offset_zero, &p, tag + "baseOffset " + std::to_string(b.base_offset()) + ", must be 0",
          kafka_errc::invalid_record);
  if (b.size() > static_cast<size_t>(std::max<int32_t>(lim.max_message_bytes, 0)))  // rule 4
    c.add(ProduceRule::fits_max_message_bytes, &p,
          tag + "size " + std::to_string(b.size()) + " > max.message.bytes " + std::to_string(lim.max_message_bytes),
          kafka_errc::message_too_large);
  if (b.computed_crc() != b.crc())  // rule 3
    c.add(ProduceRule::crc_valid, &p, tag + "CRC-32C mismatch", kafka_errc::corrupt_message);

  // rule 5, LogValidator.validateBatch: offset range, then reported count, then both agree.
  const int64_t from_offsets = static_cast<int64_t>(b.last_offset_delta()) + 1;
  const int32_t count = b.records_count();
  if (from_offsets <= 0)
    c.add(ProduceRule::count_matches_offset_delta, &p,
          tag + "invalid offset range, lastOffsetDelta " + std::to_string(b.last_offset_delta()),
          kafka_errc::invalid_record);
  else if (count <= 0)
    c.add(ProduceRule::count_matches_offset_delta, &p, tag + "invalid reported count " + std::to_string(count),
          kafka_errc::invalid_record);
  else if (from_offsets != count)
    c.add(ProduceRule::count_matches_offset_delta, &p,
          tag + "recordsCount " + std::to_string(count) + " != lastOffsetDelta + 1 = " + std::to_string(from_offsets),
          kafka_errc::invalid_record);

  // rule 6: uncompressed only (compressed needs decompression; the repack path owns that check).
  switch (b.check_inner_offsets()) {
    case InnerOffsets::gaps:
      c.add(ProduceRule::inner_offset_deltas, &p, tag + "record offset deltas are not 0..n-1 (broker rewrites the batch)",
            kafka_errc::none);
      break;
    case InnerOffsets::malformed:
      // DefaultRecord.readFrom fails on records that do not parse ("Found invalid record structure").
      c.add(ProduceRule::inner_offset_deltas, &p, tag + "records do not parse to the batch end",
            kafka_errc::invalid_record);
      break;
    case InnerOffsets::ok:
    case InnerOffsets::not_checked: break;
  }
  if (b.is_control())  // rule 8
    c.add(ProduceRule::no_control_batches, &p, tag + "control batch", kafka_errc::invalid_record);
  if (b.is_transactional() && !has_txn_id)  // rule 9: KafkaApis fails the whole request
    c.add(ProduceRule::no_transactional_without_txn_id, &p,
          tag + "transactional batch in a request without transactionalId (whole request fails)",
          kafka_errc::transactional_id_authorization_failed);
  if (b.has_producer_id() && b.base_sequence() < 0)  // LogValidator.validateBatch "Invalid sequence number"
    c.add(ProduceRule::sequence_set_with_producer_id, &p,
          tag + "producerId " + std::to_string(b.producer_id().value()) + " with baseSequence " +
              std::to_string(b.base_sequence()),
          kafka_errc::invalid_record);
  if (b.codec() == Codec::zstd && version < 7)  // rule 11, ProduceRequest.validateRecords
    c.add(ProduceRule::zstd_needs_v7, &p, tag + "zstd batch in Produce v" + std::to_string(version),
          kafka_errc::unsupported_compression_type);
}

}  // namespace

std::string_view to_string(ProduceRule r) {
  switch (r) {
    case ProduceRule::one_batch_per_partition: return "one_batch_per_partition";
    case ProduceRule::base_offset_zero: return "base_offset_zero";
    case ProduceRule::crc_valid: return "crc_valid";
    case ProduceRule::fits_max_message_bytes: return "fits_max_message_bytes";
    case ProduceRule::count_matches_offset_delta: return "count_matches_offset_delta";
    case ProduceRule::inner_offset_deltas: return "inner_offset_deltas";
    case ProduceRule::no_control_batches: return "no_control_batches";
    case ProduceRule::no_transactional_without_txn_id: return "no_transactional_without_txn_id";
    case ProduceRule::sequence_set_with_producer_id: return "sequence_set_with_producer_id";
    case ProduceRule::zstd_needs_v7: return "zstd_needs_v7";
    case ProduceRule::magic_v2: return "magic_v2";
    case ProduceRule::acks_all: return "acks_all";
    case ProduceRule::sequence_continuity: return "sequence_continuity";
  }
  return "unknown";
}

std::string to_string(const RuleViolation& v) {
  std::string s = "rule " + std::to_string(static_cast<int>(v.rule)) + " " + std::string(to_string(v.rule));
  if (!v.topic.empty() || v.partition >= 0) s += " " + v.topic + "-" + std::to_string(v.partition);
  s += ": " + v.detail + " -> " + std::string(kafka_error_name(static_cast<int16_t>(v.broker_would_return)));
  return s;
}

std::vector<RuleViolation> validate_produce(int16_t version, const std::optional<std::string>& transactional_id,
                                            int16_t acks, std::span<const ProducePartitionInput> partitions,
                                            const std::function<TopicLimits(std::string_view)>& limits) {
  std::vector<RuleViolation> out;
  Collector c(out);
  if (acks != -1) {
    // Idempotent produce needs acks=all; a broker only refuses values outside {-1, 0, 1}
    // (ReplicaManager.isValidRequiredAcks), so 0 and 1 are accepted there but lose the guarantee.
    const bool valid = acks == 0 || acks == 1;
    c.add(ProduceRule::acks_all, nullptr, "acks " + std::to_string(acks) + ", tiermirror requires -1 (all)",
          valid ? kafka_errc::none : kafka_errc::invalid_required_acks);
  }
  const bool has_txn_id = transactional_id.has_value();
  std::set<std::pair<std::string_view, int32_t>> seen;
  for (const auto& p : partitions) {
    // KafkaApis.handleProduceRequest collects partitions into a map: a second entry silently replaces
    // the first (apache/kafka PR #22662), so the broker answers no error and the first records are lost.
    if (!seen.emplace(p.topic, p.partition).second)
      c.add(ProduceRule::one_batch_per_partition, &p,
            "partition listed twice in one request (broker keeps the last entry, drops the others)", kafka_errc::none);
    const TopicLimits lim = limits ? limits(p.topic) : TopicLimits{};

    // Frame every batch of the partition's records (ByteBufferLogInputStream).
    std::vector<RecordBatchView> batches;
    size_t pos = 0;
    bool framing_broken = false;
    while (pos < p.records.size()) {
      const BatchFrame f = frame_batch(p.records.subspan(pos));
      if (f.status == Status::malformed) {
        c.add(ProduceRule::crc_valid, &p,
              "batch size field at byte " + std::to_string(pos) + " below the minimum record overhead",
              kafka_errc::corrupt_message);
        framing_broken = true;
        break;
      }
      if (f.status == Status::partial) {
        // The broker iterates complete batches only and drops trailing bytes, so alone this is
        // "no batch" (below); after a complete batch it is silently cut: a bug on our side either way.
        if (!batches.empty())
          c.add(ProduceRule::one_batch_per_partition, &p,
                std::to_string(p.records.size() - pos) + " trailing bytes of an incomplete batch", kafka_errc::none);
        break;
      }
      batches.push_back(RecordBatchView::unowned(p.records.subspan(pos, f.size)));
      pos += f.size;
    }
    // rule 1, ProduceRequest.validateRecords: exactly one batch per partition (v3+).
    if (batches.empty() && !framing_broken)
      c.add(ProduceRule::one_batch_per_partition, &p, "no complete record batch", kafka_errc::invalid_record);
    if (batches.size() > 1)
      c.add(ProduceRule::one_batch_per_partition, &p, std::to_string(batches.size()) + " record batches",
            kafka_errc::invalid_record);
    for (size_t i = 0; i < batches.size(); ++i) check_batch(batches[i], i, p, version, has_txn_id, lim, c);
  }
  return out;
}

SequenceTracker::Outcome SequenceTracker::observe_batch(std::string_view topic, int32_t partition,
                                                        const RecordBatchView& batch, std::string* detail) {
  auto why = [&](std::string s) {
    if (detail) *detail = std::move(s);
  };
  if (!batch.complete() || batch.magic() != 2 || batch.batch_length() < RecordBatchView::kMinBatchLength)
    return Outcome::not_checked;
  const int64_t pid = batch.producer_id().value();
  if (pid < 0) return Outcome::not_idempotent;
  const int16_t epoch = batch.producer_epoch().value();
  const int32_t first = batch.base_sequence();
  // DefaultRecordBatch.lastSequence uses lastOffsetDelta; equal to recordsCount - 1 in a valid batch.
  const int32_t last = increment_sequence(first, std::max<int32_t>(batch.last_offset_delta(), 0));

  auto [it, created] = state_.try_emplace(Key{pid, std::string(topic), partition});
  Entry& e = it->second;
  if (created) {
    if (opts_.first_sequence_must_be_zero && first != 0) {
      state_.erase(it);
      why("first batch of producer " + std::to_string(pid) + " has baseSequence " + std::to_string(first) +
          ", expected 0");
      return Outcome::out_of_order;
    }
    e.epoch = epoch;
  } else if (epoch < e.epoch) {  // ProducerAppendInfo.checkProducerEpoch
    why("epoch " + std::to_string(epoch) + " < current epoch " + std::to_string(e.epoch));
    return Outcome::invalid_epoch;
  } else if (epoch == e.epoch) {
    // ProducerStateEntry.findDuplicateBatch runs before the sequence check.
    for (const auto& [f, l] : e.batches)
      if (f == first && l == last) {
        ++duplicates_;
        return Outcome::duplicate;
      }
    const int32_t expected = e.batches.empty() ? 0 : increment_sequence(e.batches.back().second, 1);
    if (first != expected) {  // ProducerAppendInfo.checkSequence
      why("baseSequence " + std::to_string(first) + ", expected " + std::to_string(expected));
      return Outcome::out_of_order;
    }
  } else {
    if (first != 0) {  // "Invalid sequence number for new epoch"
      why("new epoch " + std::to_string(epoch) + " starts at baseSequence " + std::to_string(first) + ", expected 0");
      return Outcome::out_of_order;
    }
    e.epoch = epoch;
    e.batches.clear();
  }
  e.batches.emplace_back(first, last);
  if (e.batches.size() > kRetainedBatches) e.batches.pop_front();
  ++accepted_;
  return Outcome::accepted;
}

std::vector<RuleViolation> SequenceTracker::observe(std::span<const ProducePartitionInput> partitions) {
  std::vector<RuleViolation> out;
  for (const auto& p : partitions) {
    const BatchFrame f = frame_batch(p.records);
    if (f.status != Status::complete) continue;  // validate_produce reports it
    std::string detail;
    const auto outcome = observe_batch(p.topic, p.partition, RecordBatchView::unowned(p.records.first(f.size)), &detail);
    if (outcome == Outcome::out_of_order)
      out.push_back({ProduceRule::sequence_continuity, p.topic, p.partition, detail,
                     kafka_errc::out_of_order_sequence_number});
    else if (outcome == Outcome::invalid_epoch)
      out.push_back({ProduceRule::sequence_continuity, p.topic, p.partition, detail,
                     kafka_errc::invalid_producer_epoch});
  }
  return out;
}

}  // namespace tiermirror::protocol
