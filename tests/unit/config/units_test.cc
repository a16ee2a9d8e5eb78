#include <gtest/gtest.h>

#include "tiermirror/config/units.h"

namespace tiermirror::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseSize, Good) {
  struct Case {
    const char* in;
    uint64_t want;
  };
  const Case cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"1B", 1},
      {"512KiB", 512ULL * 1024},
      {"64MiB", 64ULL << 20},
      {"1GiB", 1ULL << 30},
      {"2TiB", 2ULL << 40},
      {"1PiB", 1ULL << 50},
      {"10MB", 10'000'000},
      {"1KB", 1000},
      {"3GB", 3'000'000'000ULL},
      {"64mib", 64ULL << 20},  // unit is case-insensitive
      {"64MIB", 64ULL << 20},
      {"10mb", 10'000'000},
      {"1.5KiB", 1536},
      {"0.5MiB", 512ULL * 1024},
      {"2.25GB", 2'250'000'000ULL},
      {"18446744073709551615", 18446744073709551615ULL},
      {"16383PiB", 16383ULL << 50},
  };
  for (const auto& c : cases) {
    auto v = parse_size(c.in);
    ASSERT_TRUE(v.has_value()) << c.in;
    EXPECT_EQ(*v, c.want) << c.in;
  }
}

TEST(ParseSize, Bad) {
  for (const char* in : {"", "-1", "-1MiB", "+1MiB", "MiB", "1 MiB", " 1MiB", "1MiB ", "1XB", "1EiB", "1k", "1M",
                         "1.MiB", ".5MiB", "1..5MiB", "0.5B", "1.0001KB", "18446744073709551616",
                         "16384PiB", "99999999999999999999999999999999999999999", "1e6", "0x10", "1,5MiB",
                         "abc", "1MiBs"}) {
    EXPECT_FALSE(parse_size(in).has_value()) << "'" << in << "'";
  }
}

TEST(ParseDuration, Good) {
  struct Case {
    const char* in;
    int64_t ms;
  };
  const Case cases[] = {
      {"30s", 30'000},      {"500ms", 500},          {"10m", 600'000},         {"1h", 3'600'000},
      {"1d", 86'400'000},   {"1h30m", 5'400'000},    {"1d2h3m4s5ms", 93'784'005}, {"0s", 0},
      {"1.5s", 1500},       {"0.5h", 1'800'000},     {"90s", 90'000},          {"2m30s", 150'000},
      {"1s500ms", 1500},    {"0ms", 0},
  };
  for (const auto& c : cases) {
    auto v = parse_duration(c.in);
    ASSERT_TRUE(v.has_value()) << c.in;
    EXPECT_EQ(v->count(), c.ms) << c.in;
  }
}

TEST(ParseDuration, Bad) {
  for (const char* in : {"", "30", "0", "-5s", "+5s", "5", "s", "5x", "5S", "5 s", "1h 30m", "30m1h", "1h1h",
                         "1m1m", "0.5ms", "1.s", ".5s", "5us", "5ns", "1w", "1y", "1h30", "30sms",
                         "99999999999999999999d", "106751991167301d"}) {
    EXPECT_FALSE(parse_duration(in).has_value()) << "'" << in << "'";
  }
}

TEST(FormatUnits, RoundTrip) {
  EXPECT_EQ(format_size(8ULL << 20), "8MiB");
  EXPECT_EQ(format_size(512ULL << 20), "512MiB");
  EXPECT_EQ(format_size(10'000'000), "10MB");
  EXPECT_EQ(format_size(1000), "1KB");
  EXPECT_EQ(format_size(1023), "1023");
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_duration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "1d");
  for (uint64_t b : {1ULL, 1000ULL, 1536ULL, 8ULL << 20, 123456789ULL, 18446744073709551615ULL}) {
    EXPECT_EQ(parse_size(format_size(b)), b) << b;
  }
  for (int64_t ms : {1LL, 999LL, 1000LL, 61'001LL, 93'784'005LL, 9'000'000'000'000LL}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace tiermirror::config
