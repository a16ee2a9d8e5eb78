// A partition retired and selected again under the same producer id: the new queue must
// continue the broker's sequence for that partition (not restart at 0), from the first
// batch the target never acknowledged.
#include <gtest/gtest.h>

#include <limits>

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

TEST(PartitionQueueResume, ResumesPastEverySequenceAlreadySent) {
  PartitionQueue q(5);
  q.push(batch(1, 0, 10));
  q.take_next();
  q.acked(1, TargetOffset(0));  // 0..9 in
  q.push(batch(2, 10, 5));
  q.push(batch(3, 15, 5));
  q.take_next();  // seq 10
  q.take_next();  // seq 15
  q.failed(2);    // its fate unknown: it may have landed
  q.acked(3, TargetOffset(10));  // acked after a failure: not released
  q.release();
  EXPECT_EQ(q.committed_next()->value(), 10);
  // ci36, RealScaleOut zombie test on 4.4.0: the partition left with sequence 10 of unknown
  // fate, another member moved its commit on, and it came back here under the same producer
  // id. Resumed at 10, the first (different) batch was answered as a duplicate of the landed
  // one, with its offset, and counted as delivered: lost. Past every sent sequence, a batch
  // that landed is continued in order, and one that did not leaves a gap the broker refuses.
  EXPECT_EQ(q.resume_sequence(), 20);

  PartitionQueue again(5);
  again.continue_sequence(q.resume_sequence());
  again.push(batch(4, 40, 5));  // whatever the next start is
  again.push(batch(5, 45, 5));
  EXPECT_EQ(again.take_next()->sequence, 20);
  EXPECT_EQ(again.take_next()->sequence, 25) << "the broker knows the producer: pipelining at once";
}

TEST(PartitionQueueResume, SequencesWrapAndANewProducerIdStartsAgain) {
  PartitionQueue q(5);
  q.continue_sequence(std::numeric_limits<int32_t>::max() - 4);
  q.push(batch(1, 0, 10));
  q.take_next();  // INT32_MAX-4 .. wraps to 4
  q.failed(1);
  EXPECT_EQ(q.resume_sequence(), 5) << "past the wrapped end, not back at INT32_MAX-4";
  EXPECT_EQ(q.drop_unsent_tail().size(), 1u);
  q.reset_sequences();  // a new producer id: nothing was sent under it
  EXPECT_EQ(q.resume_sequence(), 0);
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
  EXPECT_EQ(q.next_sequence(), 10) << "the same batch, fetched again, gets its sequence back";
  EXPECT_EQ(q.resume_sequence(), 20) << "but a later queue starts past what was sent";
  EXPECT_TRUE(q.drain().empty());
  EXPECT_EQ(q.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace tiermirror::pipeline
