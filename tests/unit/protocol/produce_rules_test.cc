#include "tiermirror/protocol/produce_rules.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/batch_builder.h"

namespace tiermirror::protocol {
namespace {

using test::BatchBuilder;
using test::ControlType;
using test::RecordSpec;
using test::to_bytes;

// What tiermirror sends: idempotent, baseOffset 0, leader epoch -1, not transactional.
BatchBuilder good(int32_t seq = 0, int n = 3) { return BatchBuilder().producer(1000, 0, seq).add_n(n); }

// Runs one partition's records through the validator with acks=-1 unless told otherwise.
std::vector<RuleViolation> check_one(const Bytes& records, int16_t version = 7,
                                     std::optional<std::string> txn = std::nullopt, int16_t acks = -1,
                                     std::function<TopicLimits(std::string_view)> limits = {}) {
  const ProducePartitionInput in{"t", 3, records};
  return validate_produce(version, txn, acks, std::span(&in, 1), limits);
}

std::string dump(const std::vector<RuleViolation>& vs) {
  std::string s;
  for (const auto& v : vs) s += to_string(v) + "\n";
  return s;
}

bool has(const std::vector<RuleViolation>& vs, ProduceRule rule, kafka_errc err) {
  return std::any_of(vs.begin(), vs.end(), [&](const auto& v) { return v.rule == rule && v.broker_would_return == err; });
}

// Exactly one violation, of `rule`, answered with `err`.
void expect_only(const std::vector<RuleViolation>& vs, ProduceRule rule, kafka_errc err) {
  ASSERT_EQ(vs.size(), 1u) << dump(vs);
  EXPECT_EQ(vs[0].rule, rule) << dump(vs);
  EXPECT_EQ(vs[0].broker_would_return, err) << dump(vs);
  EXPECT_EQ(vs[0].topic, "t");
  EXPECT_EQ(vs[0].partition, 3);
}

TEST(Validator, CleanRequestHasNoViolations) {
  const Bytes a = good(0).build(), b = good(5).codec(Codec::zstd).build(), c = BatchBuilder().add_n(1).build();
  const std::vector<ProducePartitionInput> in{{"t", 0, a}, {"t", 1, b}, {"u", 0, c}};
  const auto vs = validate_produce(7, std::nullopt, -1, in);
  EXPECT_TRUE(vs.empty()) << dump(vs);
}

TEST(Validator, Rule1TwoBatchesInOnePartition) {
  expect_only(check_one(test::concat({good(0).build(), good(3).build()})), ProduceRule::one_batch_per_partition,
              kafka_errc::invalid_record);
}

TEST(Validator, Rule1NoBatch) {
  expect_only(check_one({}), ProduceRule::one_batch_per_partition, kafka_errc::invalid_record);
  const Bytes b = good().build();
  expect_only(check_one(Bytes(b.begin(), b.begin() + 40)), ProduceRule::one_batch_per_partition,
              kafka_errc::invalid_record);
}

TEST(Validator, Rule1TrailingPartialBytes) {
  const Bytes b = good().build();
  expect_only(check_one(test::concat({b, Bytes(b.begin(), b.begin() + 20)})), ProduceRule::one_batch_per_partition,
              kafka_errc::none);
}

TEST(Validator, Rule1SamePartitionTwice) {
  const Bytes a = good(0).build(), b = good(3).build();
  const std::vector<ProducePartitionInput> in{{"t", 3, a}, {"t", 3, b}, {"t", 4, b}};
  // No error from a broker: the later entry silently replaces the earlier one (data loss).
  expect_only(validate_produce(7, std::nullopt, -1, in), ProduceRule::one_batch_per_partition, kafka_errc::none);
}

TEST(Validator, Rule2BaseOffsetZero) {
  expect_only(check_one(good().base_offset(17).build()), ProduceRule::base_offset_zero, kafka_errc::invalid_record);
  // partitionLeaderEpoch is not checked by the broker.
  EXPECT_TRUE(check_one(good().leader_epoch(5).build()).empty());
}

TEST(Validator, Rule3Crc) {
  expect_only(check_one(good().corrupt_crc().build()), ProduceRule::crc_valid, kafka_errc::corrupt_message);
  Bytes bad_size(20, 0);
  bad_size[11] = 3;
  expect_only(check_one(bad_size), ProduceRule::crc_valid, kafka_errc::corrupt_message);
}

TEST(Validator, Rule4MaxMessageBytes) {
  const Bytes b = good().build();
  const auto limit = [&](std::string_view topic) {
    return TopicLimits{topic == "t" ? static_cast<int32_t>(b.size()) - 1 : 1 << 20};
  };
  expect_only(check_one(b, 7, std::nullopt, -1, limit), ProduceRule::fits_max_message_bytes,
              kafka_errc::message_too_large);
  const auto exact = [&](std::string_view) { return TopicLimits{static_cast<int32_t>(b.size())}; };
  EXPECT_TRUE(check_one(b, 7, std::nullopt, -1, exact).empty());
  // Kafka's default max.message.bytes applies when no limits are given.
  const auto vs =
      check_one(BatchBuilder().producer(1, 0, 0).add(RecordSpec::kv(std::nullopt, std::string(1048588, 'x'))).build());
  expect_only(vs, ProduceRule::fits_max_message_bytes, kafka_errc::message_too_large);
}

TEST(Validator, Rule5CountMatchesOffsetDelta) {
  expect_only(check_one(good(0, 2).last_offset_delta(5).build()), ProduceRule::count_matches_offset_delta,
              kafka_errc::invalid_record);
}

TEST(Validator, Rule5EmptyBatch) {
  expect_only(check_one(BatchBuilder().producer(1000, 0, 0).last_offset_delta(3).build()),
              ProduceRule::count_matches_offset_delta, kafka_errc::invalid_record);
}

TEST(Validator, Rule6InnerOffsetDeltasUncompressed) {
  BatchBuilder b = BatchBuilder().producer(1000, 0, 0);
  for (int d : {0, 1, 3}) b.add(RecordSpec::kv("k", "v").with_offset_delta(d));
  b.last_offset_delta(2);
  // Accepted by a broker, but rewritten: identity lost.
  expect_only(check_one(b.build()), ProduceRule::inner_offset_deltas, kafka_errc::none);
  // Compressed: not checked here (needs decompression).
  EXPECT_TRUE(check_one(b.codec(Codec::lz4).build()).empty());
}

TEST(Validator, Rule8NoControlBatches) {
  expect_only(check_one(BatchBuilder().producer(1000, 0, 0).control(ControlType::commit).build()),
              ProduceRule::no_control_batches, kafka_errc::invalid_record);
}

TEST(Validator, Rule9TransactionalNeedsTransactionalId) {
  const Bytes b = good().transactional().build();
  expect_only(check_one(b), ProduceRule::no_transactional_without_txn_id,
              kafka_errc::transactional_id_authorization_failed);
  EXPECT_TRUE(check_one(b, 7, std::string("txn-1")).empty());
}

TEST(Validator, Rule10SequenceWithProducerId) {
  expect_only(check_one(BatchBuilder().producer(1000, 0, -1).add_n(1).build()),
              ProduceRule::sequence_set_with_producer_id, kafka_errc::invalid_record);
  EXPECT_TRUE(check_one(BatchBuilder().producer(-1, -1, -1).add_n(1).build()).empty());  // not idempotent
}

TEST(Validator, Rule11ZstdNeedsV7) {
  const Bytes b = good().codec(Codec::zstd).build();
  expect_only(check_one(b, 6), ProduceRule::zstd_needs_v7, kafka_errc::unsupported_compression_type);
  EXPECT_TRUE(check_one(b, 7).empty());
  EXPECT_TRUE(check_one(good().codec(Codec::lz4).build(), 3).empty());
}

TEST(Validator, MagicV2) {
  expect_only(check_one(test::legacy_message_set_v1(0, std::nullopt, to_bytes("v"))), ProduceRule::magic_v2,
              kafka_errc::invalid_record);
}

TEST(Validator, AcksAll) {
  const Bytes b = good().build();
  for (int16_t acks : {0, 1, 2}) {
    const auto vs = check_one(b, 7, std::nullopt, acks);
    ASSERT_EQ(vs.size(), 1u) << dump(vs);
    EXPECT_EQ(vs[0].rule, ProduceRule::acks_all);
    EXPECT_EQ(vs[0].broker_would_return, acks == 2 ? kafka_errc::invalid_required_acks : kafka_errc::none);
  }
}

TEST(Validator, ReportsEveryViolationNotJustTheFirst) {
  // Source batch forwarded verbatim: wrong base offset, transactional, zstd in v6, bad count, corrupt.
  const Bytes b = good(0, 2).base_offset(500).transactional().codec(Codec::zstd).last_offset_delta(4).corrupt_crc().build();
  const auto vs = check_one(b, 6, std::nullopt, 1);
  EXPECT_EQ(vs.size(), 6u) << dump(vs);
  EXPECT_TRUE(has(vs, ProduceRule::acks_all, kafka_errc::none));
  EXPECT_TRUE(has(vs, ProduceRule::base_offset_zero, kafka_errc::invalid_record));
  EXPECT_TRUE(has(vs, ProduceRule::crc_valid, kafka_errc::corrupt_message));
  EXPECT_TRUE(has(vs, ProduceRule::count_matches_offset_delta, kafka_errc::invalid_record));
  EXPECT_TRUE(has(vs, ProduceRule::no_transactional_without_txn_id, kafka_errc::transactional_id_authorization_failed));
  EXPECT_TRUE(has(vs, ProduceRule::zstd_needs_v7, kafka_errc::unsupported_compression_type));
}

TEST(Validator, ViolationPrintsReadably) {
  const auto vs = check_one(good().base_offset(9).build());
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(to_string(vs[0]), "rule 2 base_offset_zero t-3: batch 0: baseOffset 9, must be 0 -> INVALID_RECORD");
}

// --- rule 10 across requests ---

struct Tracker {
  SequenceTracker st;
  std::vector<Bytes> keep;
  std::vector<RuleViolation> send(std::string topic, int32_t partition, Bytes batch) {
    keep.push_back(std::move(batch));
    const ProducePartitionInput in{std::move(topic), partition, keep.back()};
    return st.observe(std::span(&in, 1));
  }
};

Bytes seq_batch(int64_t pid, int16_t epoch, int32_t seq, int n) {
  return BatchBuilder().producer(pid, epoch, seq).add_n(n).build();
}

TEST(ValidatorSequence, InOrderBatchesAccepted) {
  Tracker t;
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 0, 3)).empty());
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 3, 2)).empty());
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 5, 1)).empty());
  EXPECT_TRUE(t.send("t", 1, seq_batch(7, 0, 0, 4)).empty());  // partitions count separately
  EXPECT_TRUE(t.send("u", 0, seq_batch(7, 0, 0, 4)).empty());
  EXPECT_EQ(t.st.accepted(), 5u);
}

TEST(ValidatorSequence, GapIsOutOfOrder) {
  Tracker t;
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 0, 3)).empty());
  const auto vs = t.send("t", 0, seq_batch(7, 0, 4, 1));
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].rule, ProduceRule::sequence_continuity);
  EXPECT_EQ(vs[0].broker_would_return, kafka_errc::out_of_order_sequence_number);
  // The rejected batch left no trace: 3 is still next.
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 3, 1)).empty());
}

TEST(ValidatorSequence, FirstBatchMustStartAtZero) {
  Tracker t;
  EXPECT_EQ(t.send("t", 0, seq_batch(7, 0, 9, 1)).size(), 1u);
  SequenceTracker lenient(SequenceTracker::Options{.first_sequence_must_be_zero = false});
  const Bytes b = seq_batch(7, 0, 9, 1);
  EXPECT_EQ(lenient.observe_batch("t", 0, RecordBatchView::unowned(b)), SequenceTracker::Outcome::accepted);
}

TEST(ValidatorSequence, ResendOfRecentBatchIsDuplicate) {
  Tracker t;
  int32_t seq = 0;
  std::vector<Bytes> sent;
  for (int i = 0; i < 6; ++i) {
    sent.push_back(seq_batch(7, 0, seq, 2));
    ASSERT_TRUE(t.send("t", 0, sent.back()).empty());
    seq += 2;
  }
  // The last 5 batches are retained: resends are duplicates, not errors.
  for (int i = 1; i < 6; ++i) EXPECT_TRUE(t.send("t", 0, sent[i]).empty()) << i;
  EXPECT_EQ(t.st.duplicates(), 5u);
  // The 6th-from-last fell out of the window: now it is out of order.
  const auto vs = t.send("t", 0, sent[0]);
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].broker_would_return, kafka_errc::out_of_order_sequence_number);
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, seq, 1)).empty());
}

TEST(ValidatorSequence, EpochBumpResetsSequence) {
  Tracker t;
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 0, 0, 5)).empty());
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 1, 0, 2)).empty());  // new epoch starts at 0
  EXPECT_TRUE(t.send("t", 0, seq_batch(7, 1, 2, 2)).empty());
  const auto bad_start = t.send("t", 0, seq_batch(7, 2, 4, 1));  // new epoch must start at 0
  ASSERT_EQ(bad_start.size(), 1u);
  EXPECT_EQ(bad_start[0].broker_would_return, kafka_errc::out_of_order_sequence_number);
  const auto older = t.send("t", 0, seq_batch(7, 0, 5, 1));  // epoch went down
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].broker_would_return, kafka_errc::invalid_producer_epoch);
}

TEST(ValidatorSequence, SequenceWrapsAtInt32Max) {
  SequenceTracker st(SequenceTracker::Options{.first_sequence_must_be_zero = false});
  const Bytes a = seq_batch(7, 0, 2147483646, 2);  // 2147483646, 2147483647
  const Bytes b = seq_batch(7, 0, 0, 1);
  EXPECT_EQ(st.observe_batch("t", 0, RecordBatchView::unowned(a)), SequenceTracker::Outcome::accepted);
  EXPECT_EQ(st.observe_batch("t", 0, RecordBatchView::unowned(b)), SequenceTracker::Outcome::accepted);
}

TEST(ValidatorSequence, NonIdempotentBatchesAreIgnored) {
  SequenceTracker st;
  const Bytes b = BatchBuilder().add_n(1).build();
  EXPECT_EQ(st.observe_batch("t", 0, RecordBatchView::unowned(b)), SequenceTracker::Outcome::not_idempotent);
}

}  // namespace
}  // namespace tiermirror::protocol
