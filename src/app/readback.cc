#include "tiermirror/app/readback.h"

#include <thread>

#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {

PartitionDump read_partition(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp,
                             pipeline::Isolation isolation, net::Millis timeout, size_t max_batches) {
  using OffResult = std::pair<std::error_code, int64_t>;
  using MetaResult = std::pair<std::error_code, net::MetadataPtr>;
  PartitionDump out;
  auto retry_pause = [&] {
    net::await<MetaResult>(
        [&](auto done) { cluster->refresh(std::nullopt, [done](auto ec, auto md) { done({ec, md}); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  int64_t offsets[2] = {-1, -1};
  int64_t stamps[2] = {pipeline::kEarliestTimestamp, pipeline::kLatestTimestamp};
  for (int i = 0; i < 2; ++i) {
    for (int attempt = 0;; ++attempt) {
      auto [ec, o] = net::await<OffResult>([&](auto done) {
        pipeline::list_offset(cluster, tp, stamps[i], isolation, timeout,
                              [done](std::error_code e, int64_t v) { done({e, v}); });
      });
      if (!ec) {
        offsets[i] = o;
        break;
      }
      if (attempt >= 5) {
        out.ec = ec;
        return out;
      }
      retry_pause();
    }
  }
  out.high_watermark = offsets[1];
  int64_t offset = offsets[0];
  pipeline::FetchOptions fo;
  fo.isolation = isolation;
  fo.timeout = timeout;
  int failures = 0;
  while (offset < offsets[1] && out.batches.size() < max_batches) {
    auto f = net::await<pipeline::FetchedPartition>(
        [&](auto done) { pipeline::fetch_partition(cluster, tp, SourceOffset{offset}, fo, done); });
    if (f.ec || !f.split.ok()) {
      if (++failures > 5) {
        out.ec = f.ec ? f.ec : std::error_code(errc::malformed);
        return out;
      }
      retry_pause();
      continue;
    }
    if (f.split.batches.empty()) {
      if (f.split.needs_bigger_fetch) {
        fo.max_bytes = static_cast<int32_t>(std::min<size_t>(*f.split.needs_bigger_fetch, 256u << 20));
        continue;
      }
      break;  // nothing more below the high watermark (aborted or compacted away)
    }
    if (f.aborted_transactions)
      out.aborted.insert(out.aborted.end(), f.aborted_transactions->begin(), f.aborted_transactions->end());
    for (auto& b : f.split.batches) out.batches.push_back(b);
    offset = f.split.next_fetch_offset.value();
  }
  return out;
}

}  // namespace tiermirror::app

namespace tiermirror::app {

IdentityProof prove_identity(const std::vector<protocol::RecordBatchView>& target,
                             const std::vector<std::vector<protocol::RecordBatchView>>& sources) {
  IdentityProof proof;
  proof.matched.assign(sources.size(), 0);
  for (size_t i = 0; i < target.size(); ++i) {
    const auto& t = target[i];
    bool found = false;
    // Each target batch must be the next unmatched batch of one of the sources.
    for (size_t s = 0; s < sources.size() && !found; ++s) {
      size_t& next = proof.matched[s];
      if (next < sources[s].size() && protocol::same_records(t, sources[s][next])) {
        ++next;
        found = true;
      }
    }
    if (!found) {
      proof.detail = "target batch " + std::to_string(i) + " (offset " + std::to_string(t.base_offset()) +
                     ") is not the next batch of any source: reordered, altered or duplicated";
      return proof;
    }
    proof.records += t.records_count();
  }
  for (size_t s = 0; s < sources.size(); ++s) {
    if (proof.matched[s] != sources[s].size()) {
      proof.detail = "source " + std::to_string(s) + ": " + std::to_string(sources[s].size() - proof.matched[s]) +
                     " batches missing from the target";
      return proof;
    }
  }
  proof.ok = true;
  return proof;
}

}  // namespace tiermirror::app
