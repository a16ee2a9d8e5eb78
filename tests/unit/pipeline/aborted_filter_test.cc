// read_committed filtering (AbortedFilter) over batches built byte by byte: the decisions
// Kafka's CompletedFetch makes for committed, aborted and interleaved transactions.
#include "tiermirror/pipeline/aborted_filter.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/batch_builder.h"

namespace tiermirror::test {
namespace {

using pipeline::AbortedFilter;
using pipeline::ControlRecordType;
using pipeline::TxnVerdict;
using Aborted = protocol::FetchResponse::AbortedTransaction;

// Views own their bytes through the slice's SharedBuffer.
protocol::RecordBatchView view(const BatchBuilder& b) { return protocol::RecordBatchView(b.build_slice()); }

/// A transactional data batch of `n` records from producer `pid` at `base`.
protocol::RecordBatchView txn(int64_t pid, int64_t base, int n = 2) {
  return view(BatchBuilder().base_offset(base).producer(pid, 0, static_cast<int32_t>(base)).transactional().add_n(n));
}
/// A transaction marker as a broker writes it: control + transactional bits, one control record.
protocol::RecordBatchView marker(int64_t pid, int64_t offset, ControlType type) {
  return view(BatchBuilder().base_offset(offset).producer(pid, 0, -1).transactional().control(type));
}
protocol::RecordBatchView commit_marker(int64_t pid, int64_t offset) { return marker(pid, offset, ControlType::commit); }
protocol::RecordBatchView abort_marker(int64_t pid, int64_t offset) { return marker(pid, offset, ControlType::abort); }
/// A non-transactional batch (idempotent when pid >= 0, plain when pid == -1).
protocol::RecordBatchView plain(int64_t base, int n = 2, int64_t pid = -1) {
  return view(BatchBuilder().base_offset(base).producer(pid, pid < 0 ? -1 : 0, pid < 0 ? -1 : 0).add_n(n));
}

std::vector<TxnVerdict> run(AbortedFilter& f, const std::vector<protocol::RecordBatchView>& batches) {
  std::vector<TxnVerdict> out;
  for (const auto& b : batches) out.push_back(f.next(b));
  return out;
}

constexpr auto keep = TxnVerdict::keep;
constexpr auto drop_aborted = TxnVerdict::drop_aborted;
constexpr auto drop_control = TxnVerdict::drop_control;

TEST(ControlRecord, ReadsTheMarkerKey) {
  EXPECT_EQ(pipeline::control_record_type(abort_marker(7, 10)), ControlRecordType::abort);
  EXPECT_EQ(pipeline::control_record_type(commit_marker(7, 10)), ControlRecordType::commit);
  EXPECT_EQ(pipeline::control_record_type(txn(7, 0)), std::nullopt) << "not a control batch";
  EXPECT_EQ(pipeline::control_record_type(plain(0)), std::nullopt);
}

TEST(ControlRecord, RefusesWhatIsNotAControlRecord) {
  // Control bit over an ordinary record whose key is too short to be a control key.
  auto short_key = view(BatchBuilder().producer(1, 0, -1).transactional().raw_attributes(0x30).add("k", "v"));
  EXPECT_EQ(pipeline::control_record_type(short_key), std::nullopt);
  // Control bit but a codec: control batches are never compressed, the records are not read.
  auto compressed = view(BatchBuilder().producer(1, 0, -1).transactional().control(ControlType::abort).codec(protocol::Codec::gzip));
  EXPECT_EQ(pipeline::control_record_type(compressed), std::nullopt);
  // Truncated batch: the record runs past the bytes.
  Bytes b = BatchBuilder().producer(1, 0, -1).transactional().control(ControlType::abort).build();
  b.resize(b.size() - 6);
  EXPECT_EQ(pipeline::control_record_type(protocol::RecordBatchView(to_slice(b))), std::nullopt);
}

TEST(AbortedFilter, CommittedTransactionIsKeptAndItsMarkerDropped) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{});
  EXPECT_EQ(run(f, {txn(1, 0), txn(1, 2), commit_marker(1, 4), plain(5)}),
            (std::vector<TxnVerdict>{keep, keep, drop_control, keep}));
  EXPECT_EQ(f.aborted_producers(), 0u);
}

TEST(AbortedFilter, AbortedTransactionIsDroppedUpToItsMarker) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}});
  EXPECT_EQ(run(f, {txn(1, 0), txn(1, 2, 3)}), (std::vector<TxnVerdict>{drop_aborted, drop_aborted}));
  EXPECT_TRUE(f.is_aborted(ProducerId(1)));
  EXPECT_EQ(f.next(abort_marker(1, 5)), drop_control);
  EXPECT_FALSE(f.is_aborted(ProducerId(1)));
  // The producer's next transaction is not listed: it commits and is kept.
  EXPECT_EQ(run(f, {txn(1, 6), commit_marker(1, 8)}), (std::vector<TxnVerdict>{keep, drop_control}));
}

TEST(AbortedFilter, NullAbortedListChangesNothing) {
  AbortedFilter f;
  f.add(std::optional<std::vector<Aborted>>{});
  EXPECT_EQ(run(f, {txn(1, 0), commit_marker(1, 2)}), (std::vector<TxnVerdict>{keep, drop_control}));
}

TEST(AbortedFilter, InterleavedProducersOneAbortsOneCommits) {
  AbortedFilter f;
  // Producer 1 aborts the transaction it starts at 0; producer 2 commits the one it starts at 2;
  // producer 3 starts one at 10 that aborts later.
  f.add(std::vector<Aborted>{{1, 0}, {3, 10}});
  EXPECT_EQ(run(f, {txn(1, 0), txn(2, 2), txn(1, 4), plain(6, 1), txn(2, 7), abort_marker(1, 9)}),
            (std::vector<TxnVerdict>{drop_aborted, keep, drop_aborted, keep, keep, drop_control}));
  // After producer 1's ABORT marker (9): producer 3's aborted transaction starts at 10.
  EXPECT_EQ(run(f, {txn(3, 10), txn(2, 12), commit_marker(2, 14), txn(1, 15), abort_marker(3, 17), txn(3, 18)}),
            (std::vector<TxnVerdict>{drop_aborted, keep, drop_control, keep, drop_control, keep}));
  EXPECT_EQ(f.aborted_producers(), 0u);
  EXPECT_EQ(f.pending(), 0u);
}

TEST(AbortedFilter, AbortedTransactionListedInTwoResponses) {
  AbortedFilter f;
  // Response 1 ends in the middle of producer 1's aborted transaction.
  f.add(std::vector<Aborted>{{1, 3}});
  EXPECT_EQ(run(f, {plain(0, 3), txn(1, 3), txn(2, 5)}), (std::vector<TxnVerdict>{keep, drop_aborted, keep}));
  // Response 2: the broker lists the open aborted transaction again (and a new one of 2).
  f.add(std::vector<Aborted>{{1, 3}, {2, 12}});
  EXPECT_EQ(run(f, {txn(1, 7), commit_marker(2, 9), abort_marker(1, 10), txn(1, 11, 1), txn(2, 12), abort_marker(2, 14)}),
            (std::vector<TxnVerdict>{drop_aborted, drop_control, drop_control, keep, drop_aborted, drop_control}));
  EXPECT_EQ(f.aborted_producers(), 0u);
}

TEST(AbortedFilter, AbortedStateCarriesIntoAResponseThatDoesNotListIt) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{4, 0}});
  EXPECT_EQ(f.next(txn(4, 0)), drop_aborted);
  f.add(std::vector<Aborted>{});  // next response: list empty (or lists it again, see above)
  EXPECT_EQ(run(f, {txn(4, 2), abort_marker(4, 4), txn(4, 5)}), (std::vector<TxnVerdict>{drop_aborted, drop_control, keep}));
}

TEST(AbortedFilter, StaleRelistingAfterTheMarkerIsIgnored) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}});
  EXPECT_EQ(run(f, {txn(1, 0), abort_marker(1, 2)}), (std::vector<TxnVerdict>{drop_aborted, drop_control}));
  // A later response listing the finished transaction again must not abort producer 1's next one.
  f.add(std::vector<Aborted>{{1, 0}});
  EXPECT_EQ(run(f, {txn(1, 3), commit_marker(1, 5)}), (std::vector<TxnVerdict>{keep, drop_control}));
}

TEST(AbortedFilter, NonTransactionalBatchesAreUnaffected) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}});
  // Same producer id, transactional bit off (idempotent producer): kept, as Kafka's isBatchAborted
  // requires the transactional bit. Plain batches (no producer id) are always kept.
  EXPECT_EQ(run(f, {txn(1, 0), plain(2, 2, 1), plain(4), txn(1, 6)}),
            (std::vector<TxnVerdict>{drop_aborted, keep, keep, drop_aborted}));
}

TEST(AbortedFilter, BatchBeforeTheAbortedFirstOffsetIsKept) {
  AbortedFilter f;
  // Producer 1 commits a transaction at 0..4, then aborts one starting at 10; both in one response.
  f.add(std::vector<Aborted>{{1, 10}});
  EXPECT_EQ(run(f, {txn(1, 0, 3), txn(1, 3, 2), commit_marker(1, 5), plain(6, 4)}),
            (std::vector<TxnVerdict>{keep, keep, drop_control, keep}));
  EXPECT_FALSE(f.is_aborted(ProducerId(1)));
  EXPECT_EQ(f.pending(), 1u);
  EXPECT_EQ(run(f, {txn(1, 10), abort_marker(1, 12)}), (std::vector<TxnVerdict>{drop_aborted, drop_control}));
}

TEST(AbortedFilter, FirstOffsetInsideABatchCountsFromItsLastOffset) {
  AbortedFilter f;
  // Kafka drains the aborted list up to the batch's LAST offset (consumeAbortedTransactionsUpTo).
  f.add(std::vector<Aborted>{{1, 5}});
  EXPECT_EQ(f.next(txn(1, 3, 4)), drop_aborted);  // offsets 3..6 contain first offset 5
}

TEST(AbortedFilter, SeveralAbortedTransactionsOfOneProducer) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}, {1, 6}});
  EXPECT_EQ(run(f, {txn(1, 0), abort_marker(1, 2), txn(1, 3, 2), commit_marker(1, 5), txn(1, 6), abort_marker(1, 8), txn(1, 9)}),
            (std::vector<TxnVerdict>{drop_aborted, drop_control, keep, drop_control, drop_aborted, drop_control, keep}));
}

TEST(AbortedFilter, ResetForgetsEverything) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}, {2, 100}});
  EXPECT_EQ(f.next(txn(1, 0)), drop_aborted);
  f.reset();
  EXPECT_EQ(f.pending(), 0u);
  EXPECT_EQ(f.aborted_producers(), 0u);
  EXPECT_EQ(f.next(txn(1, 2)), keep);
  // After a reset an entry below the last position is accepted again (fresh start after a seek).
  f.reset();
  f.add(std::vector<Aborted>{{1, 0}});
  EXPECT_EQ(f.next(txn(1, 2)), drop_aborted);
}

TEST(AbortedFilter, MarkerOfAnotherProducerDoesNotEndTheAbort) {
  AbortedFilter f;
  f.add(std::vector<Aborted>{{1, 0}});
  EXPECT_EQ(run(f, {txn(1, 0), abort_marker(2, 2), commit_marker(1, 3), txn(1, 4), abort_marker(1, 6)}),
            (std::vector<TxnVerdict>{drop_aborted, drop_control, drop_control, drop_aborted, drop_control}))
      << "a COMMIT marker does not clear an aborted producer; only its ABORT marker does";
}

}  // namespace
}  // namespace tiermirror::test
