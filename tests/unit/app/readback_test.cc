// prove_delivery: the demo's proof that a target partition holds what a read_committed mirror
// must deliver from one source partition, and nothing else.
#include <gtest/gtest.h>

#include "support/batch_builder.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/pipeline/repack.h"

namespace tiermirror::app {
namespace {

using protocol::RecordBatchView;
using test::BatchBuilder;
using test::ControlType;

RecordBatchView view(Bytes b) { return RecordBatchView(BufferSlice(SharedBuffer(std::move(b)))); }

BatchBuilder records(const std::string& prefix, int n, size_t value_bytes = 20) {
  BatchBuilder b;
  for (int i = 0; i < n; ++i) b.add(prefix + std::to_string(i), std::string(value_bytes, char('a' + i % 26)));
  return b;
}

// Source: a plain batch, a committed transaction (data, COMMIT), an aborted one (data, ABORT
// listed in the fetch), and a batch too large for `limit`. The correct target: the plain batch,
// the committed data, and the large batch repacked into pieces of at most `limit`.
struct Case {
  static constexpr size_t kLimit = 2048;
  PartitionDump source;
  std::vector<RecordBatchView> target;
  Case() {
    auto plain = records("p", 3).base_offset(0).build();
    auto committed = records("c", 2).base_offset(3).producer(7, 0, 0).transactional().build();
    auto commit = BatchBuilder().base_offset(5).producer(7, 0, 2).transactional().control(ControlType::commit).build();
    auto aborted = records("x", 2).base_offset(6).producer(8, 0, 0).transactional().build();
    auto abort = BatchBuilder().base_offset(8).producer(8, 0, 2).transactional().control(ControlType::abort).build();
    auto large = records("l", 40, 200).base_offset(9).build();
    for (auto* b : {&plain, &committed, &commit, &aborted, &abort, &large}) source.batches.push_back(view(*b));
    source.aborted.push_back({8, 6});
    target.push_back(view(plain));
    target.push_back(view(committed));
    auto pieces = pipeline::repack(source.batches.back(), kLimit);
    EXPECT_TRUE(pieces) << pieces.error().message();
    for (auto& p : pieces->batches) target.push_back(view(Bytes(p.span().begin(), p.span().end())));
  }
};

TEST(ProveDelivery, FollowsEverySourceBatchIntoTheTarget) {
  Case c;
  ASSERT_GT(c.target.size(), 3u) << "the large batch is split";
  auto proof = prove_delivery(c.source, c.target);
  ASSERT_TRUE(proof.ok) << proof.detail;
  ASSERT_EQ(proof.steps.size(), 6u);
  EXPECT_EQ(proof.steps[0].how, Delivery::forwarded);
  EXPECT_EQ(proof.steps[1].how, Delivery::forwarded);
  EXPECT_EQ(proof.steps[2].how, Delivery::dropped_control);
  EXPECT_EQ(proof.steps[3].how, Delivery::dropped_aborted);
  EXPECT_EQ(proof.steps[4].how, Delivery::dropped_control);
  EXPECT_EQ(proof.steps[5].how, Delivery::repacked);
  EXPECT_EQ(proof.steps[5].target_batches, c.target.size() - 2);
  EXPECT_EQ(proof.steps[2].target_batches, 0u);
}

TEST(ProveDelivery, AbortedDataInTheTargetFails) {
  Case c;
  c.target.insert(c.target.begin() + 2, c.source.batches[3]);
  auto proof = prove_delivery(c.source, c.target);
  EXPECT_FALSE(proof.ok);
  EXPECT_NE(proof.detail.find("offset 9"), std::string::npos) << proof.detail;
}

TEST(ProveDelivery, AMarkerInTheTargetFails) {
  Case c;
  c.target.push_back(c.source.batches[2]);
  auto proof = prove_delivery(c.source, c.target);
  EXPECT_FALSE(proof.ok);
  EXPECT_NE(proof.detail.find("match no source batch"), std::string::npos) << proof.detail;
}

TEST(ProveDelivery, AnAlteredOrMissingRepackedRecordFails) {
  Case c;
  auto altered = c.target;
  altered.back() = view(records("l", altered.back().records_count(), 199).build());  // one byte shorter values
  EXPECT_FALSE(prove_delivery(c.source, altered).ok);
  auto missing = c.target;
  missing.pop_back();
  auto proof = prove_delivery(c.source, missing);
  EXPECT_FALSE(proof.ok);
  EXPECT_NE(proof.detail.find("the target ends after"), std::string::npos) << proof.detail;
}

TEST(ProveDelivery, AMissingForwardedBatchFails) {
  Case c;
  c.target.erase(c.target.begin());
  EXPECT_FALSE(prove_delivery(c.source, c.target).ok);
}

TEST(ProveIdentity, CountsTheMatchedBatchesPerCodec) {
  auto a = view(records("a", 3).codec(protocol::Codec::none).build());
  auto b = view(records("b", 5).codec(protocol::Codec::none).build());
  auto proof = prove_identity({a, b}, {{a}, {b}});
  ASSERT_TRUE(proof.ok) << proof.detail;
  EXPECT_EQ(proof.by_codec[protocol::Codec::none].batches, 2u);
  EXPECT_EQ(proof.by_codec[protocol::Codec::none].records, 8);
}

}  // namespace
}  // namespace tiermirror::app
