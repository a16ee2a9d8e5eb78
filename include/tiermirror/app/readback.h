#pragma once
// Reads every batch of a partition (or topic) through the wire client, synchronously.
// For the demo's proofs, `probe`-like summaries and the mock tests. Not the data path.
#include <map>
#include <string>
#include <vector>

#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::app {

struct PartitionDump {
  std::error_code ec;
  std::vector<protocol::RecordBatchView> batches;  // each keeps its fetched buffer alive
  int64_t high_watermark = -1;
  /// The aborted transactions the fetches listed (read_committed), for an AbortedFilter.
  std::vector<protocol::FetchResponse::AbortedTransaction> aborted;
};

/// Fetches [earliest, high watermark) of one partition, or its first `max_batches`
/// batches. Retries leader moves a few times.
PartitionDump read_partition(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp,
                             pipeline::Isolation isolation = pipeline::Isolation::read_committed,
                             net::Millis timeout = net::Millis(10000), size_t max_batches = SIZE_MAX);

}  // namespace tiermirror::app

namespace tiermirror::app {

/// Checks that `target` (one partition of the aggregate) holds exactly the batches of the
/// `sources` (the same partition of each source cluster), each source's order kept, every
/// records section byte-identical and record counts and timestamps equal — and nothing
/// else. Batches of different sources may interleave in any way. A batch duplicated in the
/// target fails the proof (it is not the next unmatched batch of any source), unless a
/// source holds the same records twice in a row. Compares with protocol::same_records.
/// Batches and records of one codec, from batch headers.
struct CodecTally {
  uint64_t batches = 0;
  int64_t records = 0;
};
struct IdentityProof {
  bool ok = false;
  std::string detail;                 // why not, when !ok
  std::vector<size_t> matched;        // batches matched per source
  int64_t records = 0;
  std::map<protocol::Codec, CodecTally> by_codec;  // the target batches matched so far
};
IdentityProof prove_identity(const std::vector<protocol::RecordBatchView>& target,
                             const std::vector<std::vector<protocol::RecordBatchView>>& sources);

}  // namespace tiermirror::app

namespace tiermirror::app {

/// What became of one source batch in the target, as read back from both.
enum class Delivery {
  forwarded,        // one target batch with the same records section (same_records)
  repacked,         // one or more target batches that together hold the same records
  dropped_control,  // a transaction marker: absent from the target
  dropped_aborted,  // data of a transaction the source listed as aborted: absent from the target
};
std::string_view to_string(Delivery d);

struct DeliveryStep {
  protocol::RecordBatchView source;
  Delivery how = Delivery::forwarded;
  size_t target_batches = 0;  // what it became in the target (0 when dropped)
};

/// Checks that `target` (one partition, mirrored from the one source partition `source` only)
/// holds exactly what a read_committed mirror must deliver: each source batch, in order, either
/// forwarded (same records section) or repacked (the next target batches decode to the same
/// records: keys, values, headers and timestamps, in the source's codec), and no trace of
/// control batches or of data the source listed as aborted (its fetches' aborted transactions).
/// Unlike prove_identity, this decompresses repacked batches to compare their records.
struct DeliveryProof {
  bool ok = false;
  std::string detail;  // why not, when !ok
  std::vector<DeliveryStep> steps;
};
DeliveryProof prove_delivery(const PartitionDump& source, const std::vector<protocol::RecordBatchView>& target);

}  // namespace tiermirror::app
