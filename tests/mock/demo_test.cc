// `tiermirror demo` as a new user runs it: the binary, its stdout, its exit status. The output
// is the demo's whole point, so what it must say is checked here line by line.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "mock_support.h"

namespace tiermirror::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The first line starting with `prefix`, or "".
std::string line_starting(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const auto& l : lines)
    if (l.rfind(prefix, 0) == 0) return l;
  return "";
}

TEST(TiermirrorDemo, ProvesEveryCodecAndSaysWhichPathsItExercised) {
  auto r = run_command(std::string(TIERMIRROR_BINARY) + " demo --records 300 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  auto lines = lines_of(r.out);
  for (const auto& l : lines) EXPECT_LE(l.size(), 120u) << "too wide: " << l;

  // Per codec: batches and records at each cluster, proven byte-identical, and how many records
  // producers wrote with it (300 into each local).
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    auto l = line_starting(lines, std::string("  ") + codec + " ");
    ASSERT_FALSE(l.empty()) << "no line for " << codec << " in:\n" << r.out;
    EXPECT_NE(l.find("byte-identical"), std::string::npos) << l;
    EXPECT_NE(l.find("  600  "), std::string::npos) << "records produced with it: " << l;
  }
  EXPECT_NE(r.out.find("all 3000 produced records are in the aggregate"), std::string::npos) << r.out;

  // The paths an operator cares about: those the mock can hold are exercised and counted from the read-back...
  for (const char* path : {"  forwarded as fetched", "  repacked, compacted (offset gaps)",
                           "  repacked, larger than the target's limit", "  dropped, transaction marker"}) {
    auto l = line_starting(lines, path);
    ASSERT_FALSE(l.empty()) << "path not exercised: " << path << "\n" << r.out;
    EXPECT_NE(l.find(" -> "), std::string::npos) << l;
  }
  EXPECT_NE(r.out.find("the routes' own counters: 2 repacked, 1 dropped: the same as read back"), std::string::npos)
      << r.out;
  // ...and those it cannot hold are named, with the cluster's own reason.
  auto not_exercised = r.out.find("paths NOT exercised:");
  ASSERT_NE(not_exercised, std::string::npos) << r.out;
  auto rest = r.out.substr(not_exercised);
  EXPECT_NE(rest.find("dropped, aborted transaction data:\n    dc-a listed no aborted transaction"), std::string::npos)
      << rest;
  EXPECT_NE(rest.find("legacy v0/v1 message set to v2:\n    dc-a refused it: UNSUPPORTED_VERSION (error 35)"), std::string::npos)
      << rest;

  // The audit table says why its buckets are still open, and what its latency columns are.
  EXPECT_NE(r.out.find("\n  open: grace period for late data until "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p50<= and p99<= are upper bounds"), std::string::npos) << r.out;

  // It ends with how long it took and what to do next, with commands that exist.
  EXPECT_NE(line_starting(lines, "demo ok in "), "") << r.out;
  EXPECT_NE(r.out.find("tiermirror demo --serve"), std::string::npos);
  EXPECT_NE(r.out.find("tiermirror probe --bootstrap"), std::string::npos);
  EXPECT_NE(r.out.find("tiermirror run --config route.yaml"), std::string::npos);
}

}  // namespace
}  // namespace tiermirror::test
