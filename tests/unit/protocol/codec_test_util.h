#pragma once
// Shared checks for the message codec tests (codec_<api>_test.cc). Each test file holds
// mostly data: a sample message per version and a few golden byte vectors written by hand
// from Kafka's schemas with ByteBuilder (which does not use Writer, so a Writer bug cannot
// hide behind a round trip).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol::testing {

inline BufferSlice slice_of(Bytes b) { return BufferSlice(SharedBuffer(std::move(b))); }
inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes concat(const std::vector<BufferSlice>& segments) {
  Bytes out;
  for (const auto& s : segments) out.insert(out.end(), s.span().begin(), s.span().end());
  return out;
}
/// True when `inner` lies inside `outer` (same memory, not equal bytes).
inline bool points_into(const BufferSlice& inner, ByteSpan outer) {
  return !inner.empty() && inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

/// Builds golden vectors byte by byte, big-endian, as the protocol guide spells them.
class ByteBuilder {
 public:
  ByteBuilder& raw(std::initializer_list<uint8_t> b) {
    out_.insert(out_.end(), b);
    return *this;
  }
  ByteBuilder& raw(const Bytes& b) {
    out_.insert(out_.end(), b.begin(), b.end());
    return *this;
  }
  ByteBuilder& i8(int8_t v) { return be(static_cast<uint8_t>(v), 1); }
  ByteBuilder& i16(int16_t v) { return be(static_cast<uint16_t>(v), 2); }
  ByteBuilder& i32(int32_t v) { return be(static_cast<uint32_t>(v), 4); }
  ByteBuilder& i64(int64_t v) { return be(static_cast<uint64_t>(v), 8); }
  ByteBuilder& uvarint(uint32_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  /// STRING: int16 length + bytes; NULLABLE_STRING null: -1.
  ByteBuilder& str(std::string_view s) { return i16(static_cast<int16_t>(s.size())).raw(bytes_of(s)); }
  ByteBuilder& null_str() { return i16(-1); }
  /// COMPACT_STRING: uvarint(length + 1) + bytes.
  ByteBuilder& cstr(std::string_view s) { return uvarint(static_cast<uint32_t>(s.size() + 1)).raw(bytes_of(s)); }
  /// BYTES: int32 length + bytes.
  ByteBuilder& bytes(const Bytes& b) { return i32(static_cast<int32_t>(b.size())).raw(b); }
  /// ARRAY length (int32) / COMPACT_ARRAY length (uvarint n + 1).
  ByteBuilder& arr(int32_t n) { return i32(n); }
  ByteBuilder& carr(uint32_t n) { return uvarint(n + 1); }
  /// An empty tagged-field section.
  ByteBuilder& no_tags() { return uvarint(0); }
  Bytes build() const { return out_; }

 private:
  ByteBuilder& be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes out_;
};

/// A message body as the Writer encodes it for (Msg::kApi, version).
template <typename Msg>
Bytes encode_body(const Msg& m, int16_t version) {
  Writer w(is_flexible(Msg::kApi, version));
  m.encode(w, version);
  return w.flatten();
}

template <typename Msg>
struct BodyResult {
  std::optional<Msg> value;
  ReadError error;
  size_t consumed = 0;
  bool ok() const { return value.has_value(); }
};

/// Decodes a body straight through Reader (no frame header).
template <typename Msg>
BodyResult<Msg> decode_body(BufferSlice body, int16_t version) {
  BodyResult<Msg> out;
  Reader r(std::move(body), is_flexible(Msg::kApi, version));
  Msg m = Msg::decode(r, version);
  if (r.ok()) out.value = std::move(m);
  out.error = r.error();
  out.consumed = r.offset();
  return out;
}
template <typename Msg>
BodyResult<Msg> decode_body(const Bytes& body, int16_t version) {
  return decode_body<Msg>(slice_of(body), version);
}

inline std::string describe(const ReadError& e) {
  return std::error_code(e.code).message() + " at '" + e.field + "' offset " + std::to_string(e.offset);
}

/// The three body-level properties of a codec, for one message and version:
///  1. decode(encode(m)) == m, consuming exactly the encoded bytes (and re-encoding gives
///     the same bytes);
///  2. every strict prefix of the body fails to decode, without crashing or throwing;
///  3. bytes after the body are left alone;
///  4. the same message written and read in compact forms (as if the version were
///     flexible) round-trips too: every struct level has its tagged-field section, so a
///     flexible version only adds gates.
template <typename Msg>
void check_body_codec(const Msg& m, int16_t version) {
  SCOPED_TRACE(std::string(api_name(Msg::kApi)) + " v" + std::to_string(version));
  const Bytes wire = encode_body(m, version);

  auto d = decode_body<Msg>(wire, version);
  ASSERT_TRUE(d.ok()) << describe(d.error);
  EXPECT_TRUE(*d.value == m) << "round trip changed the message";
  EXPECT_EQ(d.consumed, wire.size());
  EXPECT_EQ(encode_body(*d.value, version), wire);

  for (size_t n = 0; n < wire.size(); ++n) {
    auto t = decode_body<Msg>(Bytes(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n)), version);
    EXPECT_FALSE(t.ok()) << "a prefix of " << n << " of " << wire.size() << " bytes decoded";
  }

  Bytes garbage = wire;
  garbage.insert(garbage.end(), {0xde, 0xad, 0xbe, 0xef, 0x00, 0xff});
  auto g = decode_body<Msg>(garbage, version);
  ASSERT_TRUE(g.ok()) << describe(g.error);
  EXPECT_TRUE(*g.value == m);
  EXPECT_EQ(g.consumed, wire.size());

  Writer fw(true);
  m.encode(fw, version);
  Bytes compact = fw.flatten();
  Reader fr(slice_of(compact), true);
  Msg f = Msg::decode(fr, version);
  ASSERT_TRUE(fr.ok()) << "compact forms: " << describe(fr.error());
  EXPECT_TRUE(f == m) << "compact forms changed the message";
  EXPECT_EQ(fr.offset(), compact.size());
}

/// check_body_codec over every supported version; `samples(version)` returns the messages
/// to check (non-default values in every field that version has).
template <typename Msg, typename Samples>
void check_all_versions(Samples&& samples) {
  auto range = supported_versions(Msg::kApi);
  ASSERT_FALSE(range.empty());
  for (int16_t v = range.min; v <= range.max; ++v) {
    std::vector<Msg> msgs = samples(v);
    ASSERT_FALSE(msgs.empty());
    for (const auto& m : msgs) check_body_codec(m, v);
  }
}

/// `expected` is the body of `m` at `version`, in both directions.
template <typename Msg>
void check_golden(const Msg& m, int16_t version, const Bytes& expected) {
  SCOPED_TRACE(std::string(api_name(Msg::kApi)) + " v" + std::to_string(version) + " golden");
  EXPECT_EQ(encode_body(m, version), expected);
  auto d = decode_body<Msg>(expected, version);
  ASSERT_TRUE(d.ok()) << describe(d.error);
  EXPECT_TRUE(*d.value == m);
  EXPECT_EQ(d.consumed, expected.size());
}

/// A whole request frame: encode_request -> [size][header v1/v2][body] -> decode_request.
template <typename Msg>
void check_request_frame(const Msg& m, int16_t version) {
  SCOPED_TRACE(std::string(api_name(Msg::kApi)) + " v" + std::to_string(version) + " request frame");
  RequestHeader h{Msg::kApi, version, 4242, std::string("tiermirror")};
  Bytes wire = concat(encode_request(h, m));
  ASSERT_GE(wire.size(), 4u);
  uint32_t size = (uint32_t(wire[0]) << 24) | (uint32_t(wire[1]) << 16) | (uint32_t(wire[2]) << 8) | wire[3];
  EXPECT_EQ(size, wire.size() - 4);
  SharedBuffer frame(Bytes(wire.begin() + 4, wire.end()));
  RequestHeader got;
  auto d = decode_request<Msg>(frame, &got);
  ASSERT_TRUE(d.ok()) << d.error.describe();
  EXPECT_TRUE(*d.value == m);
  EXPECT_EQ(d.consumed, frame.size());
  EXPECT_EQ(got.api_key, Msg::kApi);
  EXPECT_EQ(got.api_version, version);
  EXPECT_EQ(got.correlation_id, 4242);
  EXPECT_EQ(got.client_id, "tiermirror");
}

/// A response frame body as a broker sends it: correlation id, a tagged-field section when
/// the response header is v1, then the body.
template <typename Msg>
SharedBuffer response_frame(const Msg& m, int16_t version, int32_t correlation_id) {
  Writer w;
  w.i32(correlation_id);
  if (response_header_version(Msg::kApi, version) >= 1) {
    w.set_flexible(true);
    w.empty_tagged_fields();
  }
  w.set_flexible(is_flexible(Msg::kApi, version));
  m.encode(w, version);
  return SharedBuffer(w.flatten());
}

template <typename Msg>
void check_response_frame(const Msg& m, int16_t version) {
  SCOPED_TRACE(std::string(api_name(Msg::kApi)) + " v" + std::to_string(version) + " response frame");
  SharedBuffer frame = response_frame(m, version, 77);
  EXPECT_EQ(peek_correlation_id(frame.span()), 77);
  auto d = decode_response<Msg>(frame, Msg::kApi, version);
  ASSERT_TRUE(d.ok()) << d.error.describe();
  EXPECT_TRUE(*d.value == m);
  EXPECT_EQ(d.consumed, frame.size());
}

/// Frame checks for a request/response pair over every supported version.
template <typename Req, typename Resp, typename ReqSamples, typename RespSamples>
void check_frames_all_versions(ReqSamples&& req, RespSamples&& resp) {
  static_assert(Req::kApi == Resp::kApi);
  auto range = supported_versions(Req::kApi);
  for (int16_t v = range.min; v <= range.max; ++v) {
    check_request_frame(req(v).front(), v);
    check_response_frame(resp(v).front(), v);
  }
}

/// A decode at a version outside supported_versions() fails with unsupported_version.
template <typename Msg>
void check_unsupported_versions() {
  auto range = supported_versions(Msg::kApi);
  for (int16_t v : {static_cast<int16_t>(range.min - 1), static_cast<int16_t>(range.max + 1)}) {
    if (v < 0) continue;
    auto d = decode_body<Msg>(Bytes(64, 0), v);
    EXPECT_FALSE(d.ok()) << "v" << v;
    EXPECT_EQ(d.error.code, errc::unsupported_version) << "v" << v;
  }
}

}  // namespace tiermirror::protocol::testing
