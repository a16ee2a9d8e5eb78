#include "tiermirror/pipeline/partition_queue.h"

#include <gtest/gtest.h>

namespace tiermirror::pipeline {
namespace {

QueuedBatch batch(uint64_t id, int64_t first, int32_t records, bool send = true) {
  QueuedBatch b;
  b.id = id;
  b.first = SourceOffset(first);
  b.last = SourceOffset(first + records - 1);
  b.records = records;
  b.bytes = 100;
  b.send = send;
  return b;
}

// A queue whose producer the broker already acknowledged once (batch 0, offset 0,
// sequence 0), so pipelining is allowed.
PartitionQueue confirmed(int max_in_flight) {
  PartitionQueue q(max_in_flight);
  q.push(batch(1000, 0, 1));
  q.take_next();
  q.acked(1000, TargetOffset(0));
  q.release();
  return q;
}

TEST(PartitionQueue, SequencesFollowRecordCounts) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 1, 10));
  q.push(batch(2, 11, 3));
  EXPECT_EQ(q.take_next()->sequence, 1);
  EXPECT_EQ(q.take_next()->sequence, 11);
  EXPECT_EQ(q.take_next(), nullptr);
  EXPECT_EQ(q.next_sequence(), 14);
}

TEST(PartitionQueue, FirstBatchOfAProducerGoesAlone) {
  PartitionQueue q(5);
  for (int i = 0; i < 3; ++i) q.push(batch(i + 1, i, 1));
  ASSERT_NE(q.take_next(), nullptr);
  EXPECT_FALSE(q.can_send()) << "no pipelining before the broker knows the producer";
  q.acked(1, TargetOffset(0));
  EXPECT_NE(q.take_next(), nullptr);
  EXPECT_NE(q.take_next(), nullptr);
  q.acked(2, TargetOffset(1));
  q.acked(3, TargetOffset(2));
  q.release();
  q.push(batch(4, 3, 1));
  q.push(batch(5, 4, 1));
  q.reset_sequences();  // a new producer id: alone again
  ASSERT_NE(q.take_next(), nullptr);
  EXPECT_FALSE(q.can_send());
}

TEST(PartitionQueue, AtMostMaxInFlight) {
  PartitionQueue q(2);
  for (int i = 0; i < 4; ++i) q.push(batch(i + 1, i, 1));
  EXPECT_NE(q.take_next(), nullptr);
  q.acked(1, TargetOffset(0));
  q.release();
  q.push(batch(5, 4, 1));
  EXPECT_NE(q.take_next(), nullptr);
  EXPECT_NE(q.take_next(), nullptr);
  EXPECT_FALSE(q.can_send());
  q.acked(2, TargetOffset(1));
  EXPECT_TRUE(q.can_send());
}

TEST(PartitionQueue, ReleasesOnlyTheContiguousAckedPrefix) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 0, 5));
  q.push(batch(2, 5, 5));
  q.push(batch(3, 10, 1, /*send=*/false));  // a dropped control batch
  q.push(batch(4, 11, 2));
  for (int i = 0; i < 3; ++i) q.take_next();
  q.acked(2, TargetOffset(105));
  EXPECT_TRUE(q.release().empty());
  EXPECT_EQ(q.committed_next(), SourceOffset(1)) << "only the priming batch";
  q.acked(1, TargetOffset(100));
  auto released = q.release();
  ASSERT_EQ(released.size(), 3u);  // 1, 2 and the dropped one behind them
  EXPECT_EQ(q.committed_next(), SourceOffset(11));
  EXPECT_EQ(q.buffered_bytes(), 100u);
  q.acked(4, TargetOffset(110));
  q.release();
  EXPECT_EQ(q.committed_next(), SourceOffset(13));
  EXPECT_TRUE(q.empty());
}

TEST(PartitionQueue, FailureWaitsForInFlightThenResendsInOrderWithSameSequences) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 1, 4));
  q.push(batch(2, 5, 4));
  q.push(batch(3, 9, 4));
  q.take_next();
  q.take_next();
  q.take_next();
  q.failed(1);  // e.g. NOT_LEADER_OR_FOLLOWER
  EXPECT_TRUE(q.resend_pending());
  EXPECT_FALSE(q.can_send()) << "nothing goes while requests are still out";
  q.failed(2);  // OUT_OF_ORDER_SEQUENCE, explained by batch 1
  q.failed(3);
  EXPECT_FALSE(q.resend_pending());
  auto* a = q.take_next();
  auto* b = q.take_next();
  auto* c = q.take_next();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->id, 1u);
  EXPECT_EQ(a->sequence, 1);
  EXPECT_EQ(b->sequence, 5);
  EXPECT_EQ(c->sequence, 9);
  EXPECT_EQ(a->attempts, 2);
}

TEST(PartitionQueue, NewProducerRestartsSequencesAtFirstUnacked) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 1, 4));
  q.push(batch(2, 5, 4));
  q.push(batch(3, 9, 4));
  q.take_next();
  q.take_next();
  q.acked(1, TargetOffset(1));
  q.failed(2);
  q.release();
  q.reset_sequences();
  auto* b = q.take_next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, 2u);
  EXPECT_EQ(b->sequence, 0);
  EXPECT_FALSE(q.can_send()) << "the new producer's first batch goes alone";
  q.acked(2, TargetOffset(5));
  EXPECT_EQ(q.take_next()->sequence, 4);
  EXPECT_EQ(q.next_sequence(), 8);
}

TEST(PartitionQueue, SequenceWrapsAtInt32Max) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 1, 1));
  q.take_next();
  q.acked(1, TargetOffset(1));
  q.release();
  // Drive the counter near the top through a big batch count.
  q.push(batch(2, 2, std::numeric_limits<int32_t>::max() - 2));
  q.take_next();
  q.push(batch(3, 5, 3));
  EXPECT_EQ(q.take_next()->sequence, std::numeric_limits<int32_t>::max());
  EXPECT_EQ(q.next_sequence(), 2);
}

TEST(PartitionQueue, DropUnsentTailKeepsWhatIsOutOrDone) {
  PartitionQueue q = confirmed(5);
  q.push(batch(1, 1, 1));
  q.push(batch(2, 2, 1));
  q.push(batch(3, 3, 1));
  q.take_next();
  auto dropped = q.drop_unsent_tail();
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].id, 3u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.buffered_bytes(), 100u);
  q.acked(1, TargetOffset(1));
  q.release();
  EXPECT_EQ(q.committed_next(), SourceOffset(2));
}

}  // namespace
}  // namespace tiermirror::pipeline
