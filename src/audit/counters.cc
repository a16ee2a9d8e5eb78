#include "tiermirror/audit/counters.h"

#include <chrono>

namespace tiermirror::audit {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void extend(PartitionCount& c, int64_t first, int64_t last) {
  if (c.first_offset < 0 || first < c.first_offset) c.first_offset = first;
  if (last > c.last_offset) c.last_offset = last;
}

void add_lost(PartitionCount& c, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  for (const auto& [first, last] : ranges) {
    c.lost += static_cast<uint64_t>(last - first + 1);
    c.lost_ranges.emplace_back(first, last);
  }
}

void add(PartitionCount& into, const PartitionCount& c) {
  into.records += c.records;
  into.batches += c.batches;
  into.bytes += c.bytes;
  into.lost += c.lost;
  if (c.first_offset >= 0) extend(into, c.first_offset, c.last_offset);
  into.lost_ranges.insert(into.lost_ranges.end(), c.lost_ranges.begin(), c.lost_ranges.end());
}

}  // namespace

Counters::Segment& Counters::segment(const TopicPartition& tp, int64_t first_offset) {
  auto [it, inserted] = segments_.try_emplace(tp);
  // Without counting_from (tests, tools), the segment begins at the first batch counted.
  if (inserted) it->second.start = first_offset;
  return it->second;
}

PartitionCount& Counters::count(Segment& s, Tier tier, int64_t ts_ms) {
  s.published = false;
  return s.open.counts[{tier, bucket_floor(ts_ms, bucket_ms_)}];
}

void Counters::counting_from(const TopicPartition& tp, SourceOffset from) {
  std::lock_guard lk(mu_);
  // A partition (re)started by this process: whatever an earlier start counted and did not
  // commit is counted again from here, by this segment.
  auto& s = segments_[tp];
  s = Segment{};
  s.start = from.value();
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
  std::lock_guard lk(mu_);
  count_source(tp, source);
  const int64_t start = segment(tp, source.first.value()).start;
  int64_t now = wall_ms();
  for (const auto& d : delivered)
    if (d.last.value() >= start) count_target(tp, d, now, false);
}

void Counters::count_source(const TopicPartition& tp, const pipeline::BatchFacts& b) {
  auto& s = segment(tp, b.first.value());
  auto& c = count(s, Tier::source, b.base_timestamp >= 0 ? b.base_timestamp : wall_ms());
  c.records += static_cast<uint64_t>(b.records);
  c.batches++;
  c.bytes += b.bytes;
  totals_.source_records += static_cast<uint64_t>(b.records);
  extend(c, b.first.value(), b.last.value());
  auto pending = pending_lost_.find(tp);
  if (pending != pending_lost_.end()) {
    add_lost(c, pending->second);
    pending_lost_.erase(pending);
  }
}

void Counters::count_target(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms, bool latency) {
  const int64_t ts = b.base_timestamp >= 0 ? b.base_timestamp : now_ms;
  auto& s = segment(tp, b.first.value());
  auto& c = count(s, Tier::target, ts);
  c.records += static_cast<uint64_t>(b.records);
  c.batches++;
  c.bytes += b.bytes;
  totals_.target_records += static_cast<uint64_t>(b.records);
  extend(c, b.first.value(), b.last.value());
  if (latency && b.max_timestamp >= 0) latency_[{tp.topic, bucket_floor(ts, bucket_ms_)}].add(now_ms - b.max_timestamp);
}

void Counters::lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view) {
  if (last.value() < first.value()) return;
  std::lock_guard lk(mu_);
  pending_lost_[tp].emplace_back(first.value(), last.value());
  totals_.lost += static_cast<uint64_t>(last.value() - first.value() + 1);
}

Sealed Counters::seal(const std::map<TopicPartition, SourceOffset>& ends, int64_t now_ms) {
  std::lock_guard lk(mu_);
  for (const auto& [tp, end] : ends) {
    auto it = segments_.find(tp);
    auto lost = pending_lost_.find(tp);
    if (lost != pending_lost_.end()) {
      // No batch followed the gap yet: the loss goes into the bucket of now, with this seal.
      auto& s = it != segments_.end() ? it->second : segment(tp, end.value());
      add_lost(count(s, Tier::source, now_ms), lost->second);
      pending_lost_.erase(lost);
      it = segments_.find(tp);
    }
    if (it == segments_.end() || it->second.open.counts.empty()) continue;
    auto& s = it->second;
    s.open.end = end.value();
    s.sealed.push_back(std::move(s.open));
    s.open = Chunk{};
    s.last_seal = seals_ + 1;
  }
  Sealed out;
  out.generation = ++seals_;
  for (const auto& [tp, s] : segments_) {
    if (s.sealed.empty()) continue;
    std::map<BucketKey, PartitionCount> sum;
    for (const auto& chunk : s.sealed)
      for (const auto& [k, c] : chunk.counts) add(sum[k], c);
    for (auto& [k, c] : sum)
      out.entries.push_back({k.first, tp.topic, k.second, tp.partition, s.start, s.sealed.back().end, std::move(c)});
  }
  out.latency = std::move(latency_);
  latency_.clear();
  return out;
}

void Counters::published(uint64_t generation) {
  std::lock_guard lk(mu_);
  for (auto& [tp, s] : segments_)
    if (s.open.counts.empty() && s.last_seal <= generation) s.published = true;
}

void Counters::committed(const TopicPartition& tp, SourceOffset next) {
  std::lock_guard lk(mu_);
  auto it = segments_.find(tp);
  if (it == segments_.end()) {
    segments_[tp].start = next.value();
    return;
  }
  // Counts below a committed offset are final: no later process counts them again.
  auto& s = it->second;
  while (!s.sealed.empty() && s.sealed.front().end <= next.value()) s.sealed.pop_front();
  if (s.start < next.value()) s.start = next.value();
}

void Counters::removed(const TopicPartition& tp) {
  std::lock_guard lk(mu_);
  // Not ours any more: a stop must not wait to publish counts that its next owner counts
  // again from the committed offset (scale-out, docs/audit.md).
  segments_.erase(tp);
  pending_lost_.erase(tp);
}

size_t Counters::unpublished_partitions() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& [tp, s] : segments_) n += s.published ? 0 : 1;
  return n + pending_lost_.size();
}

Counters::Totals Counters::totals() const {
  std::lock_guard lk(mu_);
  return totals_;
}

}  // namespace tiermirror::audit
