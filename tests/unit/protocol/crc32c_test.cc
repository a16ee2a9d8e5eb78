#include "tiermirror/protocol/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>

namespace tiermirror::protocol {
namespace {

ByteSpan as_span(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

struct Vector {
  Bytes data;
  uint32_t crc;
};

// RFC 3720 appendix B.4 (iSCSI CRC32C examples) and the usual check value.
std::vector<Vector> known_vectors() {
  std::vector<Vector> v;
  v.push_back({Bytes(32, 0x00), 0x8A9136AAu});
  v.push_back({Bytes(32, 0xFF), 0x62A8AB43u});
  Bytes inc(32), dec(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i), dec[i] = static_cast<uint8_t>(31 - i);
  v.push_back({inc, 0x46DD794Eu});
  v.push_back({dec, 0x113FDB5Cu});
  v.push_back({{0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
                0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
               0xD9963A56u});
  const std::string_view check = "123456789";
  v.push_back({Bytes(check.begin(), check.end()), 0xE3069283u});
  v.push_back({{}, 0u});
  return v;
}

TEST(Crc32c, KnownVectorsSoftware) {
  for (const auto& v : known_vectors()) EXPECT_EQ(detail::crc32c_software(v.data), v.crc) << v.data.size();
}

TEST(Crc32c, KnownVectorsHardware) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "CPU without SSE4.2";
  for (const auto& v : known_vectors()) EXPECT_EQ(detail::crc32c_hardware(v.data), v.crc) << v.data.size();
}

TEST(Crc32c, KnownVectorsDispatched) {
  for (const auto& v : known_vectors()) EXPECT_EQ(crc32c(v.data), v.crc) << v.data.size();
  EXPECT_EQ(crc32c(as_span("123456789")), 0xE3069283u);
}

TEST(Crc32c, ChainsAcrossSplits) {
  const auto data = as_span("The quick brown fox jumps over the lazy dog, twice over: the quick brown fox.");
  const uint32_t whole = crc32c(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    EXPECT_EQ(crc32c(data.subspan(cut), crc32c(data.first(cut))), whole) << cut;
    EXPECT_EQ(detail::crc32c_software(data.subspan(cut), detail::crc32c_software(data.first(cut))), whole) << cut;
  }
}

// Every length 0..300 at every start alignment 0..7, software against hardware (and the dispatcher).
TEST(Crc32c, SoftwareAndHardwareAgreeOnRandomData) {
  std::mt19937 rng(20240601);
  Bytes buf(300 + 8);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  const bool hw = detail::crc32c_hardware_available();
  for (size_t start = 0; start < 8; ++start) {
    for (size_t len = 0; len <= 300; ++len) {
      // A fresh allocation of exactly `len` bytes at an odd address lets ASan see any over-read.
      Bytes exact(buf.begin() + start, buf.begin() + start + len);
      const ByteSpan s(exact);
      const uint32_t sw = detail::crc32c_software(s);
      ASSERT_EQ(crc32c(s), sw) << "start " << start << " len " << len;
      if (hw) {
        ASSERT_EQ(detail::crc32c_hardware(s), sw) << "start " << start << " len " << len;
      }
      const ByteSpan unaligned = ByteSpan(buf).subspan(start, len);
      ASSERT_EQ(detail::crc32c_software(unaligned), sw);
      if (hw) {
        ASSERT_EQ(detail::crc32c_hardware(unaligned, 0x12345678u), detail::crc32c_software(unaligned, 0x12345678u));
      }
    }
  }
}

}  // namespace
}  // namespace tiermirror::protocol

namespace tiermirror::protocol {
namespace {

TEST(Crc32cShift, RelatesTheSameDataUnderTwoStartStates) {
  std::mt19937 rng(42);
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{61}, size_t{1000}, size_t{65537}}) {
    Bytes data(len);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    for (int trial = 0; trial < 5; ++trial) {
      uint32_t a = rng(), b = rng();
      EXPECT_EQ(crc32c(data, a) ^ crc32c(data, b), crc32c_shift(a ^ b, len)) << "length " << len;
    }
  }
  EXPECT_EQ(crc32c_shift(0, 12345), 0u);
  EXPECT_EQ(crc32c_shift(0xdeadbeef, 0), 0xdeadbeefu);
}

}  // namespace
}  // namespace tiermirror::protocol
