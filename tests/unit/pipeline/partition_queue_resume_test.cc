// A partition retired and selected again under the same producer id: the new queue must
// continue the broker's sequence for that partition (not restart at 0), from the first
// batch the target never acknowledged.
#include <gtest/gtest.h>

#include "tiermirror/pipeline/partition_queue.h"

namespace tiermirror::pipeline {
namespace {

QueuedBatch batch(uint64_t id, int64_t first, int32_t records) {
  QueuedBatch b;
  b.id = id;
  b.first = SourceOffset(first);
  b.last = SourceOffset(first + records - 1);
  b.records = records;
  b.bytes = 100;
  return b;
}

TEST(PartitionQueueResume, ResumesAtTheFirstUnacknowledgedSequence) {
  PartitionQueue q(5);
  q.push(batch(1, 0, 10));
  q.take_next();
  q.acked(1, TargetOffset(0));  // 0..9 in
  q.push(batch(2, 10, 5));
  q.push(batch(3, 15, 5));
  q.take_next();  // seq 10
  q.take_next();  // seq 15
  q.failed(2);
  q.acked(3, TargetOffset(10));  // acked after a failure: not released
  EXPECT_EQ(q.resume_sequence(), 10);
  q.release();
  EXPECT_EQ(q.committed_next()->value(), 10);

  PartitionQueue again(5);
  again.continue_sequence(q.resume_sequence());
  again.push(batch(4, 10, 5));  // fetched again from the committed offset
  again.push(batch(5, 15, 5));
  EXPECT_EQ(again.take_next()->sequence, 10);
  EXPECT_EQ(again.take_next()->sequence, 15) << "the broker knows the producer: pipelining at once";
}

TEST(PartitionQueueResume, DroppingFailedBatchesGivesTheirSequencesBack) {
  PartitionQueue q(5);
  q.push(batch(1, 0, 10));
  q.take_next();
  q.acked(1, TargetOffset(0));
  q.release();
  q.push(batch(2, 10, 5));
  q.push(batch(3, 15, 5));
  q.push(batch(4, 20, 5));
  q.take_next();
  q.take_next();
  q.failed(2);
  q.failed(3);
  EXPECT_EQ(q.next_sequence(), 20);
  EXPECT_EQ(q.drop_unsent_tail().size(), 3u);
  EXPECT_EQ(q.next_sequence(), 10);
  EXPECT_EQ(q.resume_sequence(), 10);
  EXPECT_TRUE(q.drain().empty());
  EXPECT_EQ(q.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace tiermirror::pipeline
