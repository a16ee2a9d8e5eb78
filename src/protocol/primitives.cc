#include "tiermirror/protocol/primitives.h"

#include <cstring>
#include <limits>

namespace tiermirror::protocol {

// ---------------------------------------------------------------- Reader

void Reader::fail(errc code, const char* field) {
  if (!ok()) return;
  err_ = ReadError{code, field, pos_};
}

bool Reader::need(size_t n, const char* field) {
  if (!ok()) return false;
  if (remaining() < n) {
    fail(errc::truncated, field);
    return false;
  }
  return true;
}

namespace {
template <typename T>
T load_be(const uint8_t* p) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
  return static_cast<T>(v);
}
template <typename T>
void store_be(uint8_t* p, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<uint8_t>(u & 0xff);
    u = static_cast<U>(u >> 8);
  }
}
}  // namespace

int8_t Reader::i8(const char* field) {
  if (!need(1, field)) return 0;
  return static_cast<int8_t>(data_.data()[pos_++]);
}
int16_t Reader::i16(const char* field) {
  if (!need(2, field)) return 0;
  auto v = load_be<int16_t>(data_.data() + pos_);
  pos_ += 2;
  return v;
}
int32_t Reader::i32(const char* field) {
  if (!need(4, field)) return 0;
  auto v = load_be<int32_t>(data_.data() + pos_);
  pos_ += 4;
  return v;
}
int64_t Reader::i64(const char* field) {
  if (!need(8, field)) return 0;
  auto v = load_be<int64_t>(data_.data() + pos_);
  pos_ += 8;
  return v;
}
uint32_t Reader::u32(const char* field) { return static_cast<uint32_t>(i32(field)); }

uint32_t Reader::uvarint(const char* field) {
  if (!ok()) return 0;
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1, field)) return 0;
    uint8_t b = data_.data()[pos_++];
    if (shift == 28 && (b & 0xf0) != 0) {  // more than 32 bits
      fail(errc::malformed, field);
      return 0;
    }
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail(errc::malformed, field);
  return 0;
}

int32_t Reader::varint(const char* field) {
  uint32_t u = uvarint(field);
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

int64_t Reader::varlong(const char* field) {
  if (!ok()) return 0;
  uint64_t u = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1, field)) return 0;
    uint8_t b = data_.data()[pos_++];
    if (shift == 63 && (b & 0xfe) != 0) {
      fail(errc::malformed, field);
      return 0;
    }
    u |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  fail(errc::malformed, field);
  return 0;
}

std::array<uint8_t, 16> Reader::uuid(const char* field) {
  std::array<uint8_t, 16> out{};
  if (!need(16, field)) return out;
  std::memcpy(out.data(), data_.data() + pos_, 16);
  pos_ += 16;
  return out;
}

// Returns the byte length of a string/bytes field, -1 for null.
int32_t Reader::length_prefix(const char* field, bool is_bytes) {
  int32_t len;
  if (flexible_) {
    uint32_t u = uvarint(field);
    if (!ok()) return 0;
    if (u > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      fail(errc::malformed, field);
      return 0;
    }
    len = static_cast<int32_t>(u) - 1;
  } else {
    len = is_bytes ? i32(field) : i16(field);
    if (!ok()) return 0;
  }
  if (len < -1) {
    fail(errc::malformed, field);
    return 0;
  }
  if (len > 0 && static_cast<size_t>(len) > remaining()) {
    fail(errc::truncated, field);
    return 0;
  }
  return len;
}

std::optional<std::string> Reader::nullable_string(const char* field) {
  int32_t len = length_prefix(field, false);
  if (!ok() || len < 0) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(len));
  pos_ += static_cast<size_t>(len);
  return s;
}

std::string Reader::string(const char* field) {
  size_t at = pos_;
  auto s = nullable_string(field);
  if (!ok()) return {};
  if (!s) {
    err_ = ReadError{errc::malformed, field, at};
    return {};
  }
  return std::move(*s);
}

std::optional<BufferSlice> Reader::nullable_bytes(const char* field) {
  int32_t len = length_prefix(field, true);
  if (!ok() || len < 0) return std::nullopt;
  auto s = data_.subslice(pos_, static_cast<size_t>(len));
  pos_ += static_cast<size_t>(len);
  return s;
}

BufferSlice Reader::bytes(const char* field) {
  auto b = nullable_bytes(field);
  return b ? *b : BufferSlice();
}

int32_t Reader::array_length(const char* field, size_t min_element_size) {
  int32_t n;
  if (flexible_) {
    uint32_t u = uvarint(field);
    if (!ok()) return 0;
    if (u > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      fail(errc::malformed, field);
      return 0;
    }
    n = static_cast<int32_t>(u) - 1;
  } else {
    n = i32(field);
    if (!ok()) return 0;
  }
  if (n < -1) {
    fail(errc::malformed, field);
    return 0;
  }
  if (n > 0 && static_cast<uint64_t>(n) * std::max<size_t>(min_element_size, 1) > remaining()) {
    fail(errc::malformed, field);
    return 0;
  }
  return n;
}

void Reader::tagged_fields(const char* field) {
  if (!flexible_ || !ok()) return;
  uint32_t count = uvarint(field);
  if (count > remaining()) {
    fail(errc::malformed, field);
    return;
  }
  for (uint32_t i = 0; i < count && ok(); ++i) {
    uvarint(field);  // tag
    uint32_t size = uvarint(field);
    if (!need(size, field)) return;
    pos_ += size;  // unknown tags are skipped, as KIP-482 intends
  }
}

// ---------------------------------------------------------------- Writer

void Writer::raw(const void* p, size_t n) {
  auto b = static_cast<const uint8_t*>(p);
  owned_.insert(owned_.end(), b, b + n);
}
void Writer::i8(int8_t v) { owned_.push_back(static_cast<uint8_t>(v)); }
void Writer::i16(int16_t v) {
  uint8_t b[2];
  store_be(b, v);
  raw(b, 2);
}
void Writer::i32(int32_t v) {
  uint8_t b[4];
  store_be(b, v);
  raw(b, 4);
}
void Writer::i64(int64_t v) {
  uint8_t b[8];
  store_be(b, v);
  raw(b, 8);
}
void Writer::u32(uint32_t v) { i32(static_cast<int32_t>(v)); }

void Writer::uvarint(uint32_t v) {
  while (v >= 0x80) {
    owned_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  owned_.push_back(static_cast<uint8_t>(v));
}
void Writer::varint(int32_t v) {
  uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}
void Writer::varlong(int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    owned_.push_back(static_cast<uint8_t>(u | 0x80));
    u >>= 7;
  }
  owned_.push_back(static_cast<uint8_t>(u));
}
void Writer::uuid(const std::array<uint8_t, 16>& v) { raw(v.data(), v.size()); }

void Writer::string(std::string_view s) {
  if (flexible_)
    uvarint(static_cast<uint32_t>(s.size() + 1));
  else
    i16(static_cast<int16_t>(s.size()));
  raw(s.data(), s.size());
}
void Writer::nullable_string(const std::optional<std::string>& s) {
  if (s) return string(*s);
  if (flexible_)
    uvarint(0);
  else
    i16(-1);
}
void Writer::bytes(ByteSpan b) {
  if (flexible_)
    uvarint(static_cast<uint32_t>(b.size() + 1));
  else
    i32(static_cast<int32_t>(b.size()));
  raw(b.data(), b.size());
}
void Writer::nullable_bytes(const std::optional<ByteSpan>& b) {
  if (b) return bytes(*b);
  if (flexible_)
    uvarint(0);
  else
    i32(-1);
}

void Writer::close_owned_segment() {
  if (owned_.size() > owned_segment_start_) {
    Pending p;
    p.owned_begin = owned_segment_start_;
    p.owned_end = owned_.size();
    segments_.push_back(p);
  }
  owned_segment_start_ = owned_.size();
}

void Writer::external_bytes(const std::vector<BufferSlice>& segments) {
  if (segments.empty()) return nullable_bytes(std::nullopt);
  size_t total = 0;
  for (const auto& s : segments) total += s.size();
  if (flexible_)
    uvarint(static_cast<uint32_t>(total + 1));
  else
    i32(static_cast<int32_t>(total));
  close_owned_segment();
  for (const auto& s : segments) {
    if (s.empty()) continue;
    Pending p;
    p.external = s;
    p.is_external = true;
    segments_.push_back(std::move(p));
    external_bytes_ += s.size();
  }
}

void Writer::array_length(int32_t n) {
  if (flexible_)
    uvarint(static_cast<uint32_t>(n + 1));
  else
    i32(n);
}

void Writer::empty_tagged_fields() {
  if (flexible_) uvarint(0);
}

void Writer::patch_i32(size_t owned_pos, int32_t v) { store_be(owned_.data() + owned_pos, v); }

std::vector<BufferSlice> Writer::finish() {
  close_owned_segment();
  SharedBuffer owned(std::move(owned_));
  std::vector<BufferSlice> out;
  out.reserve(segments_.size());
  for (auto& p : segments_) {
    if (p.is_external)
      out.push_back(std::move(p.external));
    else
      out.emplace_back(owned, owned.span().subspan(p.owned_begin, p.owned_end - p.owned_begin));
  }
  owned_ = Bytes();
  segments_.clear();
  owned_segment_start_ = 0;
  external_bytes_ = 0;
  return out;
}

Bytes Writer::flatten() {
  auto segs = finish();
  Bytes out;
  for (const auto& s : segs) out.insert(out.end(), s.span().begin(), s.span().end());
  return out;
}

bool read_varlong(const uint8_t*& p, const uint8_t* end, int64_t& out, int max_bytes) {
  uint64_t raw = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (p == end) return false;
    uint8_t b = *p++;
    raw |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

bool read_varint(const uint8_t*& p, const uint8_t* end, int32_t& out) {
  int64_t v = 0;
  if (!read_varlong(p, end, v, 5)) return false;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) return false;
  out = static_cast<int32_t>(v);
  return true;
}

size_t uvarint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
size_t varint_size(int32_t v) { return uvarint_size((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
size_t varlong_size(int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

}  // namespace tiermirror::protocol
