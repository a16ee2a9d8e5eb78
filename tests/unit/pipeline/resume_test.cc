// Exactly-once resume: the commit hint, the source units and the matching of a target tail
// against the batches the route would send from the committed offset.
#include <gtest/gtest.h>

#include "support/batch_builder.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/pipeline/resume.h"

namespace tiermirror::pipeline {
namespace {

using protocol::RecordBatchView;
using test::BatchBuilder;
using test::RecordSpec;

constexpr size_t kMax = 1048588;

// Source batch `tag` at `base` with n records; distinct keys, values and timestamps per tag.
Bytes source_bytes(int64_t base, int n, const std::string& tag, int64_t ts = 1700000000000) {
  BatchBuilder b;
  b.base_offset(base).base_timestamp(ts + base).producer(4242, 3, static_cast<int32_t>(base));
  for (int i = 0; i < n; ++i) b.add(tag + "-k" + std::to_string(i), tag + "-value-" + std::to_string(i));
  return b.build();
}

RecordBatchView view(Bytes bytes) { return RecordBatchView(test::to_slice(std::move(bytes))); }

// What the target holds for a source batch: header rewritten by the route (producer fields,
// leader epoch), base offset assigned by the target broker.
RecordBatchView delivered(Bytes bytes, int64_t target_offset) {
  protocol::rewrite_in_place(bytes, {ProducerId(77), ProducerEpoch(0), 12});
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(target_offset) >> (56 - 8 * i));
  return view(std::move(bytes));
}

struct Fixture {
  // Source partition: batches of 3 records at offsets 100, 103, 106, 109, 112.
  std::vector<Bytes> src;
  std::vector<RecordBatchView> src_views;
  Fixture() {
    for (int i = 0; i < 5; ++i) {
      src.push_back(source_bytes(100 + 3 * i, 3, "a" + std::to_string(i)));
      src_views.push_back(view(src.back()));
    }
  }
  std::vector<ResumeUnit> units() const {
    AbortedFilter f;
    auto u = resume_units(src_views, f, SourceOffset(100), kMax, false);
    EXPECT_FALSE(u.stopped);
    return u.units;
  }
};

// Another route's batches in the same target partition.
Bytes other(int i) { return source_bytes(9000 + i, 2, "b" + std::to_string(i), 1600000000000); }

TEST(ResumeScanFailure, OnlyWhatRetryingCannotFixIsPermanent) {
  using pipeline::resume_scan_failure_is_permanent;
  EXPECT_TRUE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::topic_authorization_failed)));
  EXPECT_TRUE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::cluster_authorization_failed)));
  EXPECT_TRUE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::unsupported_version)));
  // A broker down, a deadline, leadership moving: the next scan may succeed.
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(errc::timed_out)));
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(errc::disconnected)));
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(errc::no_leader)));
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::not_leader_or_follower)));
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::request_timed_out)));
  EXPECT_FALSE(resume_scan_failure_is_permanent(make_error_code(kafka_errc::unknown_topic_or_partition)));
}

TEST(ResumeScreen, OnlyATargetWithNothingAfterTheHintIsSpared) {
  using pipeline::resume_needs_scan;
  EXPECT_FALSE(resume_needs_scan(1000, 1000));           // nothing appended since the commit
  EXPECT_FALSE(resume_needs_scan(std::nullopt, 0));      // the target partition never held anything
  EXPECT_FALSE(resume_needs_scan(0, 0));
  EXPECT_TRUE(resume_needs_scan(1000, 1001));            // ours, or another route's: the scan tells
  EXPECT_TRUE(resume_needs_scan(std::nullopt, 5));       // no hint: the bounded tail scan
  EXPECT_TRUE(resume_needs_scan(1000, 900));             // hint beyond the log end: truncated, recreated
}

TEST(ResumeScanFailure, RetryDelayDoublesUpToTheCap) {
  using pipeline::resume_scan_retry_delay;
  using net::Millis;
  EXPECT_EQ(resume_scan_retry_delay(1, Millis(200), Millis(30000)), Millis(200));
  EXPECT_EQ(resume_scan_retry_delay(2, Millis(200), Millis(30000)), Millis(400));
  EXPECT_EQ(resume_scan_retry_delay(5, Millis(200), Millis(30000)), Millis(3200));
  EXPECT_EQ(resume_scan_retry_delay(9, Millis(200), Millis(30000)), Millis(30000));
  EXPECT_EQ(resume_scan_retry_delay(1000000, Millis(200), Millis(30000)), Millis(30000));  // no overflow
  EXPECT_EQ(resume_scan_retry_delay(1, Millis(0), Millis(30000)), Millis(1));
}

TEST(ResumeHint, RoundTripsAndRejectsForeignMetadata) {
  EXPECT_EQ(format_resume_hint(1234), "tm1 t=1234");
  EXPECT_EQ(parse_resume_hint("tm1 t=1234"), 1234);
  EXPECT_EQ(parse_resume_hint("tm1 t=0"), 0);
  EXPECT_EQ(parse_resume_hint("tm1 t=77 x=1"), 77);  // later fields are ignored
  EXPECT_EQ(parse_resume_hint(""), std::nullopt);
  EXPECT_EQ(parse_resume_hint("tm1 t="), std::nullopt);
  EXPECT_EQ(parse_resume_hint("tm1 t=-5"), std::nullopt);
  EXPECT_EQ(parse_resume_hint("tm1 t=12a"), std::nullopt);
  EXPECT_EQ(parse_resume_hint("some consumer's metadata"), std::nullopt);
  EXPECT_EQ(parse_resume_hint("tm2 t=5"), std::nullopt);
}

TEST(ResumeMatch, SameRecordsIgnoresRewrittenHeaderFields) {
  auto a = source_bytes(100, 3, "x");
  EXPECT_TRUE(protocol::same_records(view(a), delivered(a, 5)));
  EXPECT_FALSE(protocol::same_records(view(a), view(source_bytes(100, 3, "y"))));
  // Same records section, another timestamp: not the same batch.
  EXPECT_FALSE(protocol::same_records(view(a), view(source_bytes(100, 3, "x", 1))));
}

TEST(ResumeMatch, NothingDelivered) {
  Fixture f;
  std::vector<RecordBatchView> target{delivered(other(0), 0), delivered(other(1), 2)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 100);
  EXPECT_EQ(m.units_matched, 0u);
  EXPECT_EQ(m.skipped, 2u);
  EXPECT_FALSE(m.target_next);
}

TEST(ResumeMatch, EmptyTarget) {
  Fixture f;
  auto m = match_delivered({}, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 100);
  EXPECT_EQ(m.units_matched, 0u);
}

TEST(ResumeMatch, EverythingDelivered) {
  Fixture f;
  std::vector<RecordBatchView> target{delivered(other(0), 40)};  // older data before the hint's window
  for (int i = 0; i < 5; ++i) target.push_back(delivered(f.src[i], 42 + 3 * i));
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 115);
  EXPECT_EQ(m.units_matched, 5u);
  EXPECT_EQ(m.batches_matched, 5u);
  ASSERT_TRUE(m.target_next);
  EXPECT_EQ(*m.target_next, 42 + 12 + 3);  // after the last matched target batch
}

TEST(ResumeMatch, PartialTail) {
  Fixture f;
  std::vector<RecordBatchView> target;
  for (int i = 0; i < 3; ++i) target.push_back(delivered(f.src[i], 10 + 3 * i));
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 109);  // batch 3 (offsets 109-111) was never delivered
  EXPECT_EQ(m.units_matched, 3u);
  EXPECT_EQ(*m.target_next, 19);
}

TEST(ResumeMatch, InterleavedRoutesAreSkipped) {
  Fixture f;
  std::vector<RecordBatchView> target{delivered(other(0), 0),  delivered(f.src[0], 2), delivered(other(1), 5),
                                      delivered(other(2), 7),  delivered(f.src[1], 9), delivered(f.src[2], 12),
                                      delivered(other(3), 15), delivered(f.src[3], 17)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 112);
  EXPECT_EQ(m.units_matched, 4u);
  EXPECT_EQ(m.skipped, 4u);
  EXPECT_EQ(*m.target_next, 20);
}

TEST(ResumeMatch, GapStopsMatchingAndNeverSkipsUndeliveredData) {
  Fixture f;
  // Batch 2 is missing from the target, batch 3 is there: resume at batch 2. Batch 3 is sent
  // again (a duplicate at worst), batch 2 is never skipped.
  std::vector<RecordBatchView> target{delivered(f.src[0], 0), delivered(f.src[1], 3), delivered(f.src[3], 6),
                                      delivered(f.src[4], 9)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 106);
  EXPECT_EQ(m.units_matched, 2u);
  EXPECT_EQ(m.skipped, 2u);
}

TEST(ResumeMatch, MissingFirstBatchMatchesNothing) {
  Fixture f;
  std::vector<RecordBatchView> target{delivered(f.src[1], 0), delivered(f.src[2], 3)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 100);
  EXPECT_EQ(m.units_matched, 0u);
}

TEST(ResumeMatch, DuplicateInTheTargetIsSkipped) {
  Fixture f;
  std::vector<RecordBatchView> target{delivered(f.src[0], 0), delivered(f.src[1], 3), delivered(f.src[1], 6),
                                      delivered(f.src[2], 9)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 109);
  EXPECT_EQ(m.skipped, 1u);
}

TEST(ResumeMatch, OrderMatters) {
  Fixture f;
  // Batch 1 before batch 0 in the target: only what follows the first match in order counts.
  std::vector<RecordBatchView> target{delivered(f.src[1], 0), delivered(f.src[0], 3)};
  auto m = match_delivered(target, f.units(), SourceOffset(100));
  EXPECT_EQ(m.resume_at.value(), 103);
  EXPECT_EQ(m.units_matched, 1u);
}

TEST(ResumeMatch, ControlAndAbortedBatchesAreStepped) {
  // data 0-1, a commit marker at 2, data 3-4: the marker is never sent.
  auto d0 = source_bytes(0, 2, "c0");
  Bytes marker = BatchBuilder().base_offset(2).producer(9, 0, -1).transactional().control(test::ControlType::commit).build();
  auto d1 = source_bytes(3, 2, "c1");
  auto d2 = source_bytes(5, 2, "c2");
  AbortedFilter filter;
  auto units = resume_units({view(d0), view(marker), view(d1), view(d2)}, filter, SourceOffset(0), kMax, false);
  ASSERT_EQ(units.units.size(), 4u);
  EXPECT_TRUE(units.units[1].sends.empty());
  // Delivered: d0 and d1 (the marker between them was dropped).
  auto m = match_delivered({delivered(d0, 0), delivered(d1, 2)}, units.units, SourceOffset(0));
  EXPECT_EQ(m.resume_at.value(), 5);
  EXPECT_EQ(m.units_matched, 3u);
  EXPECT_EQ(m.batches_matched, 2u);
  // A marker right after the last delivered batch is stepped too.
  auto m2 = match_delivered({delivered(d0, 0)}, resume_units({view(d0), view(marker), view(d1)}, filter = {},
                                                             SourceOffset(0), kMax, false).units,
                            SourceOffset(0));
  EXPECT_EQ(m2.resume_at.value(), 3);
}

TEST(ResumeMatch, RepackedBatchMatchesItsDeterministicRepack) {
  // A compacted source batch: offsets 10 and 12 left of 10..12 (count 2, lastOffsetDelta 2):
  // the route repacks it; the same repack at resume gives the same bytes.
  BatchBuilder gb;
  gb.base_offset(10).base_timestamp(1700000000500);
  gb.add(RecordSpec::kv("k0", "v0").with_offset_delta(0));
  gb.add(RecordSpec::kv("k2", "v2").with_offset_delta(2));
  gb.last_offset_delta(2);
  auto gapped = gb.build();
  ASSERT_EQ(needs_repack(view(gapped), kMax), RepackReason::offset_gaps);
  auto before = source_bytes(7, 3, "r0");
  auto after = source_bytes(13, 3, "r1");
  AbortedFilter filter;
  auto units = resume_units({view(before), view(gapped), view(after)}, filter, SourceOffset(7), kMax, false);
  ASSERT_EQ(units.units.size(), 3u);
  ASSERT_TRUE(units.units[1].repacked);
  ASSERT_EQ(units.units[1].sends.size(), 1u);
  EXPECT_EQ(units.units[1].facts.records, 2);

  auto piece = repack(view(gapped), kMax);
  ASSERT_TRUE(piece);
  auto piece_bytes = piece->batches[0].span();
  Bytes sent(piece_bytes.begin(), piece_bytes.end());
  auto m = match_delivered({delivered(before, 0), delivered(sent, 3), delivered(after, 5)}, units.units,
                           SourceOffset(7));
  EXPECT_EQ(m.resume_at.value(), 16);
  EXPECT_EQ(m.units_matched, 3u);

  // The target holds the source batch's bytes instead (say a repack by another version that
  // kept them): no match there, matching stops before it and the rest is sent again.
  auto m2 = match_delivered({delivered(before, 0), delivered(gapped, 3), delivered(after, 5)}, units.units,
                            SourceOffset(7));
  EXPECT_EQ(m2.resume_at.value(), 10);
  EXPECT_EQ(m2.units_matched, 1u);
}

// An oversized source batch at offsets 100..139 that the route splits into pieces.
struct Oversized {
  static constexpr size_t kLimit = 1200;
  Bytes bytes;
  RepackResult repacked;
  std::vector<RecordBatchView> pieces;  // as the target holds them
  Oversized() {
    BatchBuilder big;
    big.base_offset(100).base_timestamp(1700000000000);
    for (int i = 0; i < 40; ++i) big.add("key-" + std::to_string(i), std::string(100, static_cast<char>('a' + i % 26)));
    bytes = big.build();
    auto r = repack(view(bytes), kLimit);
    EXPECT_TRUE(r);
    repacked = std::move(r).value();
    for (size_t i = 0; i < repacked.batches.size(); ++i) {
      auto sp = repacked.batches[i].span();
      pieces.push_back(delivered(Bytes(sp.begin(), sp.end()), 500 + static_cast<int64_t>(i) * 20));
    }
  }
  // Where the route goes on once piece i is in the target.
  int64_t after_piece(size_t i) const { return repacked.source_ranges[i].second + 1; }
  ResumeUnits units(SourceOffset from) const {
    AbortedFilter filter;
    return resume_units({view(bytes), view(source_bytes(140, 3, "next"))}, filter, from, kLimit, false);
  }
};

TEST(ResumeMatch, RepackedPiecesAllThereMatchTheBatchWhole) {
  Oversized o;
  ASSERT_GE(o.pieces.size(), 4u);
  auto units = o.units(SourceOffset(100));
  ASSERT_EQ(units.units.size(), 2u);
  ASSERT_EQ(units.units[0].sends.size(), o.pieces.size());
  EXPECT_TRUE(units.units[0].earlier_pieces.empty());
  ResumeMatcher m(SourceOffset(100));
  m.push(units.units[0]);
  m.push(units.units[1]);
  for (const auto& p : o.pieces) m.offer(p);
  EXPECT_EQ(m.resume_at().value(), 140);
  EXPECT_EQ(m.units_matched(), 1u);
  EXPECT_EQ(m.batches_matched(), o.pieces.size());
  EXPECT_EQ(m.partial_pieces(), 0u);
  EXPECT_EQ(*m.target_next(), o.pieces.back().base_offset() + o.pieces.back().last_offset_delta() + 1);
  auto taken = m.take_matched();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].sends.size(), o.pieces.size());
}

TEST(ResumeMatch, RepackedBatchPartlyThereResumesAfterItsLastPieceFound) {
  // Pieces 1 and 2 of the batch reached the target before the crash (another route's batch
  // between them): resume inside the source batch, right after piece 2, so the route sends
  // the remaining pieces only and nothing is duplicated.
  Oversized o;
  ASSERT_GE(o.pieces.size(), 4u);
  auto units = o.units(SourceOffset(100));
  EXPECT_EQ(units.units[0].send_last[1].value() + 1, o.after_piece(1));
  ResumeMatcher m(SourceOffset(100));
  for (const auto& u : units.units) m.push(u);
  m.offer(o.pieces[0]);
  m.offer(delivered(other(0), 510));
  m.offer(o.pieces[1]);
  EXPECT_GT(o.after_piece(1), 100);
  EXPECT_LT(o.after_piece(1), 140);
  EXPECT_EQ(m.resume_at().value(), o.after_piece(1));
  ASSERT_TRUE(m.target_next());
  EXPECT_EQ(*m.target_next(), o.pieces[1].base_offset() + o.pieces[1].last_offset_delta() + 1);
  EXPECT_EQ(m.partial_pieces(), 2u);
  EXPECT_EQ(m.units_matched(), 0u);
  EXPECT_EQ(m.skipped(), 1u);
  // Not matched whole: the route counts it when it has sent the remaining pieces.
  EXPECT_TRUE(m.take_matched().empty());

  // The same through match_delivered: piece 3 missing, piece 4 there: resume after piece 2.
  std::vector<RecordBatchView> target{o.pieces[0], o.pieces[1], o.pieces[3]};
  auto r = match_delivered(target, o.units(SourceOffset(100)).units, SourceOffset(100));
  EXPECT_EQ(r.resume_at.value(), o.after_piece(1));
  EXPECT_EQ(r.partial_pieces, 2u);
  EXPECT_EQ(r.units_matched, 0u);
  EXPECT_EQ(*r.target_next, o.pieces[1].base_offset() + o.pieces[1].last_offset_delta() + 1);

  // Only the first piece: resume after it.
  auto first = match_delivered({o.pieces[0]}, o.units(SourceOffset(100)).units, SourceOffset(100));
  EXPECT_EQ(first.resume_at.value(), o.after_piece(0));
  EXPECT_EQ(first.partial_pieces, 1u);
}

TEST(ResumeMatch, UnitsFromInsideARepackedBatchLeaveOutItsEarlierPieces) {
  // A restart from an offset inside the batch (committed after piece 2): its pieces 1-2 were
  // delivered and committed; only the others are matched (and sent).
  Oversized o;
  ASSERT_GE(o.pieces.size(), 4u);
  SourceOffset from(o.after_piece(1));
  auto units = o.units(from);
  ASSERT_EQ(units.units.size(), 2u);
  const auto& u = units.units[0];
  EXPECT_EQ(u.first.value(), 100);
  EXPECT_EQ(u.last.value(), 139);
  ASSERT_EQ(u.sends.size(), o.pieces.size() - 2);
  ASSERT_EQ(u.earlier_pieces.size(), 2u);
  EXPECT_EQ(u.earlier_pieces[1].last.value(), o.after_piece(1) - 1);
  EXPECT_EQ(u.facts.records, 40) << "the source batch is still counted whole";
  for (size_t i = 0; i < u.sends.size(); ++i) EXPECT_TRUE(protocol::same_records(u.sends[i], o.pieces[i + 2])) << i;
  EXPECT_EQ(u.send_last.back().value(), 139);

  // Piece 3 in the target: resume after it.
  auto partial = match_delivered({o.pieces[2]}, units.units, from);
  EXPECT_EQ(partial.resume_at.value(), o.after_piece(2));
  EXPECT_EQ(partial.partial_pieces, 1u);
  // Pieces 1-2 are not expected again: a target holding them before piece 3 still matches.
  std::vector<RecordBatchView> rest(o.pieces.begin(), o.pieces.end());
  auto whole = match_delivered(rest, o.units(from).units, from);
  EXPECT_EQ(whole.resume_at.value(), 140);
  EXPECT_EQ(whole.units_matched, 1u);
  EXPECT_EQ(whole.batches_matched, o.pieces.size() - 2);
  EXPECT_EQ(whole.skipped, 2u);

  // From inside a piece (not a boundary: another limit, another tool): that piece is kept.
  auto inside = o.units(SourceOffset(o.after_piece(1) + 1));
  EXPECT_EQ(inside.units[0].sends.size(), o.pieces.size() - 2);
  // From the batch's last offset: only the last piece.
  auto at_last = o.units(SourceOffset(139));
  EXPECT_EQ(at_last.units[0].sends.size(), 1u);
  // Past the batch: it is left out, as split_record_set leaves it out of a fetch.
  auto past = o.units(SourceOffset(140));
  ASSERT_EQ(past.units.size(), 1u);
  EXPECT_EQ(past.units[0].first.value(), 140);
}

TEST(ResumeMatch, ForwardedBatchStraddlingTheStartIsKeptWhole) {
  // The data path forwards a batch as is even when the fetch offset lies inside it.
  Fixture f;
  AbortedFilter filter;
  auto units = resume_units(f.src_views, filter, SourceOffset(104), kMax, false);
  ASSERT_EQ(units.units.size(), 4u);
  EXPECT_EQ(units.units[0].first.value(), 103);
  ASSERT_EQ(units.units[0].sends.size(), 1u);
  EXPECT_TRUE(units.units[0].earlier_pieces.empty());
  auto m = match_delivered({delivered(f.src[1], 0)}, units.units, SourceOffset(104));
  EXPECT_EQ(m.resume_at.value(), 106);
}

TEST(ResumeMatch, CorruptSourceBatchStopsTheUnits) {
  auto good = source_bytes(0, 2, "g");
  auto bad = BatchBuilder().base_offset(2).add_n(2).corrupt_crc().build();
  AbortedFilter filter;
  auto units =
      resume_units({view(good), view(bad), view(source_bytes(4, 2, "h"))}, filter, SourceOffset(0), kMax, false);
  EXPECT_TRUE(units.stopped);
  EXPECT_EQ(units.units.size(), 1u);
}

TEST(ResumeMatch, StreamingMatcherWantsSourceOnlyWhenItHasNothingToCompare) {
  Fixture f;
  auto units = f.units();
  ResumeMatcher m(SourceOffset(100));
  EXPECT_TRUE(m.wants_source());
  m.push(std::move(units[0]));
  EXPECT_FALSE(m.wants_source());
  m.offer(delivered(other(0), 0));  // skipped, still waiting for batch 0
  EXPECT_FALSE(m.wants_source());
  m.offer(delivered(f.src[0], 2));
  EXPECT_TRUE(m.wants_source());
  EXPECT_EQ(m.resume_at().value(), 103);
  auto taken = m.take_matched();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].facts.records, 3);
  EXPECT_TRUE(m.take_matched().empty());
}

}  // namespace
}  // namespace tiermirror::pipeline
