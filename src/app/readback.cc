#include "tiermirror/app/readback.h"

#include <thread>

#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/aborted_filter.h"
#include "tiermirror/pipeline/records.h"

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
    auto& tally = proof.by_codec[t.codec()];
    tally.batches++;
    tally.records += t.records_count();
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

namespace tiermirror::app {

std::string_view to_string(Delivery d) {
  switch (d) {
    case Delivery::forwarded: return "forwarded";
    case Delivery::repacked: return "repacked";
    case Delivery::dropped_control: return "dropped (control)";
    case Delivery::dropped_aborted: return "dropped (aborted)";
  }
  return "?";
}

namespace {

bool same_bytes(const std::optional<ByteSpan>& a, const std::optional<ByteSpan>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::equal(a->begin(), a->end(), b->begin(), b->end());
}

// What a consumer sees of record `i` of `a` and record `j` of `b`: equal?
bool same_record(const pipeline::ParsedRecords& a, size_t i, const pipeline::ParsedRecords& b, size_t j) {
  const auto& x = a.records[i];
  const auto& y = b.records[j];
  if (!same_bytes(x.key, y.key) || !same_bytes(x.value, y.value) || a.timestamp_of(x) != b.timestamp_of(y))
    return false;
  if (x.headers.size() != y.headers.size()) return false;
  for (size_t h = 0; h < x.headers.size(); ++h)
    if (x.headers[h].first != y.headers[h].first || !same_bytes(x.headers[h].second, y.headers[h].second))
      return false;
  return true;
}

}  // namespace

DeliveryProof prove_delivery(const PartitionDump& source, const std::vector<protocol::RecordBatchView>& target) {
  DeliveryProof proof;
  pipeline::AbortedFilter filter;
  filter.add(source.aborted);
  size_t t = 0;
  auto fail = [&](const protocol::RecordBatchView& s, const std::string& why) {
    proof.detail = "source batch at offset " + std::to_string(s.base_offset()) + ": " + why;
    return proof;
  };
  for (const auto& s : source.batches) {
    DeliveryStep step{s};
    auto verdict = filter.next(s);
    if (verdict != pipeline::TxnVerdict::keep) {
      // Absent from the target: the next target batch must belong to a later source batch,
      // which the next kept source batch checks.
      step.how = verdict == pipeline::TxnVerdict::drop_control ? Delivery::dropped_control : Delivery::dropped_aborted;
      proof.steps.push_back(step);
      continue;
    }
    if (t < target.size() && protocol::same_records(target[t], s)) {
      step.target_batches = 1;
      ++t;
      proof.steps.push_back(step);
      continue;
    }
    auto want = pipeline::parse_records(s);
    if (!want) return fail(s, "its records do not parse: " + want.error().message());
    size_t matched = 0;
    while (matched < want->records.size()) {
      if (t >= target.size())
        return fail(s, "the target ends after " + std::to_string(matched) + " of its " +
                           std::to_string(want->records.size()) + " records");
      const auto& piece = target[t];
      auto got = pipeline::parse_records(piece);
      if (!got) return fail(s, "target batch at offset " + std::to_string(piece.base_offset()) +
                                   " does not parse: " + got.error().message());
      if (got->codec != want->codec)
        return fail(s, "target batch at offset " + std::to_string(piece.base_offset()) + " changed the codec");
      for (size_t j = 0; j < got->records.size(); ++j, ++matched)
        if (matched >= want->records.size() || !same_record(*want, matched, *got, j))
          return fail(s, "record " + std::to_string(matched) + " differs from target batch at offset " +
                             std::to_string(piece.base_offset()) + ": reordered, altered, aborted or extra data");
      ++step.target_batches;
      ++t;
    }
    step.how = Delivery::repacked;
    proof.steps.push_back(step);
  }
  if (t != target.size()) {
    proof.detail = std::to_string(target.size() - t) + " target batches from offset " +
                   std::to_string(target[t].base_offset()) + " on match no source batch";
    return proof;
  }
  proof.ok = true;
  return proof;
}

}  // namespace tiermirror::app
