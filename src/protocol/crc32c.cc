#include "tiermirror/protocol/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define TIERMIRROR_CRC32C_X86 1
#endif

namespace tiermirror::protocol {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli, reflected

// tables[0] is the classic byte table; tables[k][b] is the CRC of byte b followed by k zero bytes,
// which lets the loop fold 8 input bytes with 8 independent lookups (slicing-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][b] = c;
  }
  for (uint32_t b = 0; b < 256; ++b)
    for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  return t;
}
constexpr auto kTables = make_tables();

uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // unaligned-safe; compiles to one load
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

#ifdef TIERMIRROR_CRC32C_X86
// Compiled for SSE4.2 without a global -msse4.2: only reached after the runtime CPU check.
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t crc) {
  uint64_t c = ~crc;
  while (n >= 8) {
    c = _mm_crc32_u64(c, load_le64(p));
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#endif

using Impl = uint32_t (*)(ByteSpan, uint32_t);

Impl select_impl() {
  return detail::crc32c_hardware_available() ? &detail::crc32c_hardware : &detail::crc32c_software;
}

}  // namespace

namespace detail {

uint32_t crc32c_software(ByteSpan data, uint32_t crc) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

bool crc32c_hardware_available() {
#ifdef TIERMIRROR_CRC32C_X86
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
#else
  return false;
#endif
}

uint32_t crc32c_hardware(ByteSpan data, uint32_t crc) {
#ifdef TIERMIRROR_CRC32C_X86
  return crc32c_sse42(data.data(), data.size(), crc);
#else
  return crc32c_software(data, crc);
#endif
}

}  // namespace detail

uint32_t crc32c(ByteSpan data, uint32_t crc) {
  static const Impl impl = select_impl();
  return impl(data, crc);
}

namespace {

// A GF(2)-linear map on the 32-bit CRC register: column j is the image of bit j.
using Operator = std::array<uint32_t, 32>;

uint32_t apply(const Operator& m, uint32_t v) {
  uint32_t r = 0;
  for (int j = 0; v != 0; ++j, v >>= 1)
    if (v & 1u) r ^= m[j];
  return r;
}

Operator compose(const Operator& outer, const Operator& inner) {
  Operator r{};
  for (int j = 0; j < 32; ++j) r[j] = apply(outer, inner[j]);
  return r;
}

// Operators for 2^k zero bytes, k = 0..63, built once: shifting by n applies one per set bit.
const std::array<Operator, 64>& zero_byte_powers() {
  static const std::array<Operator, 64> powers = [] {
    // One zero bit through the reflected register: crc = (crc >> 1) ^ (crc & 1 ? poly : 0).
    Operator bit{};
    bit[0] = 0x82F63B78u;
    for (int j = 1; j < 32; ++j) bit[j] = 1u << (j - 1);
    Operator byte = compose(bit, bit);  // 2 bits
    byte = compose(byte, byte);         // 4 bits
    byte = compose(byte, byte);         // 8 bits
    std::array<Operator, 64> p{};
    p[0] = byte;
    for (size_t k = 1; k < p.size(); ++k) p[k] = compose(p[k - 1], p[k - 1]);
    return p;
  }();
  return powers;
}

}  // namespace

uint32_t crc32c_shift(uint32_t v, uint64_t length) {
  const auto& powers = zero_byte_powers();
  for (size_t k = 0; length != 0 && v != 0; ++k, length >>= 1)
    if (length & 1u) v = apply(powers[k], v);
  return v;
}

}  // namespace tiermirror::protocol
