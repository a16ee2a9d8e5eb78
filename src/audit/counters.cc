#include "tiermirror/audit/counters.h"

#include <chrono>

namespace tiermirror::audit {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void extend(PartitionSpan& s, int64_t first, int64_t last) {
  if (s.first_offset < 0 || first < s.first_offset) s.first_offset = first;
  if (last > s.last_offset) s.last_offset = last;
}

}  // namespace

Delta& Counters::delta(Tier tier, const std::string& topic, int64_t ts_ms) {
  int64_t start = bucket_floor(ts_ms, bucket_ms_);
  auto [it, inserted] = open_.try_emplace(Key{tier, topic, start});
  if (inserted) {
    it->second.tier = tier;
    it->second.topic = topic;
    it->second.bucket_start_ms = start;
  }
  return it->second;
}

void Counters::fetched(const TopicPartition& tp, const pipeline::BatchFacts& b) {
  std::lock_guard lk(mu_);
  count_source(tp, b);
}

void Counters::acked(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms) {
  std::lock_guard lk(mu_);
  count_target(tp, b, now_ms, true);
}

void Counters::already_delivered(const TopicPartition& tp, const pipeline::BatchFacts& source,
                                 const std::vector<pipeline::BatchFacts>& delivered) {
  std::lock_guard lk(mu_);  // one lock: a take() sees both tiers of the batch or neither
  count_source(tp, source);
  int64_t now = wall_ms();
  for (const auto& d : delivered) count_target(tp, d, now, false);
}

void Counters::count_source(const TopicPartition& tp, const pipeline::BatchFacts& b) {
  auto& d = delta(Tier::source, tp.topic, b.base_timestamp >= 0 ? b.base_timestamp : wall_ms());
  d.records += static_cast<uint64_t>(b.records);
  d.batches++;
  d.bytes += b.bytes;
  totals_.source_records += static_cast<uint64_t>(b.records);
  auto& span = d.partitions[tp.partition];
  extend(span, b.first.value(), b.last.value());
  auto pending = pending_lost_.find(tp);
  if (pending != pending_lost_.end()) {
    for (const auto& [first, last] : pending->second) {
      d.lost += static_cast<uint64_t>(last - first + 1);
      span.lost_ranges.emplace_back(first, last);
    }
    pending_lost_.erase(pending);
  }
}

void Counters::count_target(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms, bool latency) {
  auto& d = delta(Tier::target, tp.topic, b.base_timestamp >= 0 ? b.base_timestamp : now_ms);
  d.records += static_cast<uint64_t>(b.records);
  d.batches++;
  d.bytes += b.bytes;
  totals_.target_records += static_cast<uint64_t>(b.records);
  if (latency && b.max_timestamp >= 0) d.latency.add(now_ms - b.max_timestamp);
  extend(d.partitions[tp.partition], b.first.value(), b.last.value());
}

void Counters::lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view) {
  if (last.value() < first.value()) return;
  std::lock_guard lk(mu_);
  pending_lost_[tp].emplace_back(first.value(), last.value());
  totals_.lost += static_cast<uint64_t>(last.value() - first.value() + 1);
}

std::vector<Delta> Counters::take(int64_t now_ms) {
  std::lock_guard lk(mu_);
  for (auto& [tp, ranges] : pending_lost_) {
    auto& d = delta(Tier::source, tp.topic, now_ms);
    auto& span = d.partitions[tp.partition];
    for (const auto& [first, last] : ranges) {
      d.lost += static_cast<uint64_t>(last - first + 1);
      span.lost_ranges.emplace_back(first, last);
    }
  }
  pending_lost_.clear();
  std::vector<Delta> out;
  out.reserve(open_.size());
  for (auto& [k, d] : open_) out.push_back(std::move(d));
  open_.clear();
  return out;
}

Counters::Totals Counters::totals() const {
  std::lock_guard lk(mu_);
  return totals_;
}

}  // namespace tiermirror::audit
