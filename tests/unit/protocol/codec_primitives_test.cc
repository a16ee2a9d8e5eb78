#include <gtest/gtest.h>

#include <limits>

#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {
namespace {

BufferSlice slice(Bytes b) { return BufferSlice(SharedBuffer(std::move(b))); }

TEST(CodecPrimitives, IntegersAreBigEndian) {
  Writer w;
  w.i16(0x0102);
  w.i32(-2);
  w.i64(0x0102030405060708);
  auto b = w.flatten();
  ASSERT_EQ(b.size(), 14u);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 2);
  EXPECT_EQ(b[5], 0xfe);
  Reader r(slice(b));
  EXPECT_EQ(r.i16("a"), 0x0102);
  EXPECT_EQ(r.i32("b"), -2);
  EXPECT_EQ(r.i64("c"), 0x0102030405060708);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CodecPrimitives, VarintsRoundTripAtTheEdges) {
  for (int32_t v : {0, 1, -1, 63, -64, 64, 300, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
    Writer w;
    w.varint(v);
    auto b = w.flatten();
    EXPECT_EQ(b.size(), varint_size(v));
    Reader r(slice(b));
    EXPECT_EQ(r.varint("v"), v);
    EXPECT_TRUE(r.ok());
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    Writer w;
    w.varlong(v);
    auto b = w.flatten();
    EXPECT_EQ(b.size(), varlong_size(v));
    Reader r(slice(b));
    EXPECT_EQ(r.varlong("v"), v);
    EXPECT_TRUE(r.ok());
  }
  // Zig-zag encoding as Kafka's ByteUtils writes it: -1 -> 0x01, 1 -> 0x02, 300 -> 0xd8 0x04.
  Writer w;
  w.varint(-1);
  w.varint(1);
  w.varint(300);
  EXPECT_EQ(w.flatten(), (Bytes{0x01, 0x02, 0xd8, 0x04}));
}

TEST(CodecPrimitives, OverlongVarintIsMalformed) {
  Reader r(slice({0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  r.uvarint("v");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::malformed);
}

TEST(CodecPrimitives, StringsClassicAndCompact) {
  for (bool flexible : {false, true}) {
    Writer w(flexible);
    w.string("abc");
    w.nullable_string(std::nullopt);
    w.nullable_string(std::string());
    auto b = w.flatten();
    EXPECT_EQ(b.size(), flexible ? 4u + 1 + 1 : 5u + 2 + 2);
    Reader r(slice(b), flexible);
    EXPECT_EQ(r.string("s"), "abc");
    EXPECT_FALSE(r.nullable_string("n").has_value());
    EXPECT_EQ(r.nullable_string("e"), std::string());
    EXPECT_TRUE(r.ok());
  }
}

TEST(CodecPrimitives, NullWhereStringRequiredIsMalformed) {
  Reader r(slice({0xff, 0xff}));
  r.string("topic");
  EXPECT_EQ(r.error().code, errc::malformed);
  EXPECT_STREQ(r.error().field, "topic");
}

TEST(CodecPrimitives, AbsurdArrayCountRefusedBeforeAllocation) {
  Reader r(slice({0x7f, 0xff, 0xff, 0xff, 0x00}));
  EXPECT_EQ(r.array_length("topics"), 0);
  EXPECT_EQ(r.error().code, errc::malformed);
  Reader n(slice({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(n.array_length("topics"), -1);
  EXPECT_TRUE(n.ok());
}

TEST(CodecPrimitives, ErrorsAreStickyAndCarryOffset) {
  Reader r(slice({0x00, 0x01, 0x02}));
  r.i16("a");
  r.i32("b");
  EXPECT_EQ(r.i16("c"), 0);
  EXPECT_EQ(r.error().code, errc::truncated);
  EXPECT_STREQ(r.error().field, "b");
  EXPECT_EQ(r.error().offset, 2u);
}

TEST(CodecPrimitives, TaggedFieldsAreSkipped) {
  // two tags: tag 0 with 2 bytes, tag 5 with 0 bytes; then an int8.
  Reader r(slice({0x02, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x07}), true);
  r.tagged_fields("t");
  EXPECT_EQ(r.i8("x"), 7);
  EXPECT_TRUE(r.ok());
}

TEST(CodecPrimitives, ExternalBytesAreReferencedNotCopied) {
  SharedBuffer payload(Bytes{1, 2, 3, 4, 5});
  Writer w;
  w.i16(9);
  w.external_bytes({BufferSlice(payload, payload.span().subspan(1, 3))});
  w.i8(1);
  EXPECT_EQ(w.size(), 2u + 4 + 3 + 1);
  auto segs = w.finish();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[1].data(), payload.span().data() + 1);  // same memory
  EXPECT_EQ(payload.use_count(), 2);
}

TEST(Frame, DecoderByteByByteAndInOnePiece) {
  Bytes wire{0, 0, 0, 3, 7, 8, 9, 0, 0, 0, 1, 5};
  for (size_t step : {size_t{1}, wire.size()}) {
    FrameDecoder d(1024);
    std::vector<Bytes> frames;
    std::error_code ec;
    size_t pos = 0;
    while (pos < wire.size()) {
      size_t n = std::min(step, wire.size() - pos);
      size_t used = d.put(ByteSpan(wire).subspan(pos, n), ec);
      ASSERT_FALSE(ec);
      pos += used;
      if (auto f = d.pop()) frames.emplace_back(f->span().begin(), f->span().end());
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0], (Bytes{7, 8, 9}));
    EXPECT_EQ(frames[1], (Bytes{5}));
  }
}

TEST(Frame, DecoderStopsAtFrameEnd) {
  Bytes wire{0, 0, 0, 1, 42, 0xde, 0xad};
  FrameDecoder d(1024);
  std::error_code ec;
  EXPECT_EQ(d.put(wire, ec), 5u);  // trailing bytes belong to the next frame
  ASSERT_TRUE(d.has_frame());
}

TEST(Frame, AbsurdSizeRefused) {
  FrameDecoder d(1 << 20);
  std::error_code ec;
  Bytes wire{0x7f, 0xff, 0xff, 0xff};
  d.put(wire, ec);
  EXPECT_EQ(ec, errc::malformed);
  FrameDecoder neg(1 << 20);
  std::error_code ec2;
  Bytes wire2{0xff, 0xff, 0xff, 0xfe};
  neg.put(wire2, ec2);
  EXPECT_EQ(ec2, errc::malformed);
}

TEST(Frame, RequestHeaderV1AndV2) {
  for (auto [api, version] : {std::pair{ApiKey::metadata, int16_t{1}}, std::pair{ApiKey::api_versions, int16_t{3}}}) {
    Writer w;
    RequestHeader h{api, version, 77, std::string("tiermirror")};
    write_request_header(w, h);
    auto b = w.flatten();
    Reader r(slice(b));
    auto got = read_request_header(r);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(got.api_key, api);
    EXPECT_EQ(got.api_version, version);
    EXPECT_EQ(got.correlation_id, 77);
    EXPECT_EQ(got.client_id, "tiermirror");
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(r.flexible(), is_flexible(api, version));
  }
}

TEST(Api, NegotiatePicksHighestCommonVersion) {
  EXPECT_EQ(negotiate({3, 7}, {0, 9}), 7);
  EXPECT_EQ(negotiate({3, 7}, {0, 5}), 5);
  EXPECT_FALSE(negotiate({3, 7}, {0, 2}).has_value());
  EXPECT_EQ(response_header_version(ApiKey::api_versions, 3), 0);
  EXPECT_EQ(response_header_version(ApiKey::fetch, 12), 1);
  EXPECT_EQ(request_header_version(ApiKey::produce, 7), 1);
}

}  // namespace
}  // namespace tiermirror::protocol
