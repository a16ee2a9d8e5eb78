#include "tiermirror/common/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace tiermirror {
namespace {

constexpr size_t MiB = 1024 * 1024;

BufferPool::Limits limits(size_t idle, size_t total) { return {idle, total}; }

TEST(BufferPool, SmallRequestsGoToTheAllocator) {
  BufferPool pool(limits(8 * MiB, 64 * MiB));
  uint8_t* p = nullptr;
  auto b = pool.take(1000, &p);
  ASSERT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.span().data(), p);
  b = SharedBuffer();
  auto s = pool.stats();
  EXPECT_EQ(s.allocated, 0u);
  EXPECT_EQ(s.idle_bytes, 0u);
}

TEST(BufferPool, AReleasedBlockServesTheNextFrameOfItsSize) {
  BufferPool pool(limits(8 * MiB, 64 * MiB));
  uint8_t* first = nullptr;
  auto a = pool.take(MiB, &first);
  std::memset(first, 0xab, MiB);
  EXPECT_EQ(pool.stats().taken_bytes, MiB);
  a = SharedBuffer();
  EXPECT_EQ(pool.stats().idle_bytes, MiB);
  EXPECT_EQ(pool.stats().taken_bytes, 0u);

  uint8_t* second = nullptr;
  auto b = pool.take(MiB - 1000, &second);  // a little smaller: same block
  EXPECT_EQ(second, first);
  EXPECT_EQ(b.size(), MiB - 1000);
  auto s = pool.stats();
  EXPECT_EQ(s.reused, 1u);
  EXPECT_EQ(s.allocated, 1u);
  EXPECT_EQ(s.idle_bytes, 0u);
}

TEST(BufferPool, ABlockMuchLargerThanTheFrameIsNotPinnedByIt) {
  BufferPool pool(limits(32 * MiB, 64 * MiB));
  uint8_t* big = nullptr;
  pool.take(16 * MiB, &big);  // released at once
  uint8_t* small = nullptr;
  auto b = pool.take(MiB, &small);
  EXPECT_EQ(b.size(), MiB);
  auto s = pool.stats();
  EXPECT_EQ(s.reused, 0u);
  EXPECT_EQ(s.resized, 1u);  // shrunk to the frame: its tail given back, not held by a 1 MiB frame
  EXPECT_EQ(s.taken_bytes, MiB);
  EXPECT_EQ(s.idle_bytes, 0u);
}

TEST(BufferPool, AnIdleBlockOfAnotherSizeIsResizedKeepingItsPages) {
  BufferPool pool(limits(32 * MiB, 64 * MiB));
  uint8_t* first = nullptr;
  {
    auto a = pool.take(MiB, &first);
    std::memset(first, 0x5a, MiB);
  }
  uint8_t* grown = nullptr;
  auto b = pool.take(4 * MiB, &grown);
  auto s = pool.stats();
  EXPECT_EQ(s.allocated, 1u);  // only the first block was mapped anew
  EXPECT_EQ(s.resized, 1u);
  EXPECT_EQ(s.taken_bytes, 4 * MiB);
  EXPECT_EQ(s.idle_bytes, 0u);
  // The same pages (mremap moves them along): what the first frame left is still there.
  for (size_t i = 0; i < MiB; i += 4096) ASSERT_EQ(grown[i], 0x5a) << i;
  std::memset(grown, 1, 4 * MiB);  // and all of it is writable
}

TEST(BufferPool, ResizingPrefersTheLargestSmallerBlock) {
  BufferPool pool(limits(64 * MiB, 128 * MiB));
  uint8_t *p1 = nullptr, *p2 = nullptr, *p3 = nullptr;
  {
    auto a = pool.take(MiB, &p1);
    auto b = pool.take(3 * MiB, &p2);
    auto c = pool.take(20 * MiB, &p3);
    std::memset(p1, 1, MiB);
    std::memset(p2, 2, 3 * MiB);
    std::memset(p3, 3, 20 * MiB);
  }
  uint8_t* got = nullptr;
  auto x = pool.take(8 * MiB, &got);  // none fits as is: the 3 MiB block grows
  EXPECT_EQ(got[0], 2);
  EXPECT_EQ(pool.stats().idle_bytes, 21 * MiB);
  uint8_t* got2 = nullptr;
  auto y = pool.take(10 * MiB, &got2);  // the 1 MiB block is the only smaller one left
  EXPECT_EQ(got2[0], 1);
  uint8_t* got3 = nullptr;
  auto z = pool.take(12 * MiB, &got3);  // only a larger one is left: it shrinks
  EXPECT_EQ(got3[0], 3);
  auto s = pool.stats();
  EXPECT_EQ(s.resized, 3u);
  EXPECT_EQ(s.allocated, 3u);
  EXPECT_EQ(s.idle_bytes, 0u);
  EXPECT_EQ(s.taken_bytes, 30 * MiB);
}

TEST(BufferPool, BestFitPicksTheSmallestBlockThatHolds) {
  BufferPool pool(limits(32 * MiB, 64 * MiB));
  uint8_t *p1 = nullptr, *p2 = nullptr;
  {
    auto a = pool.take(2 * MiB + 100 * 1024, &p1);
    auto b = pool.take(2 * MiB, &p2);
  }
  uint8_t* got = nullptr;
  auto c = pool.take(2 * MiB - 10, &got);
  EXPECT_EQ(got, p2);
}

TEST(BufferPool, IdleBytesStayWithinTheIdleLimitOldestFreedFirst) {
  BufferPool pool(limits(2 * MiB, 64 * MiB));
  uint8_t *p1 = nullptr, *p2 = nullptr, *p3 = nullptr;
  auto a = pool.take(MiB, &p1);
  auto b = pool.take(MiB, &p2);
  auto c = pool.take(MiB, &p3);
  a = SharedBuffer();
  b = SharedBuffer();
  c = SharedBuffer();  // three idle would exceed 2 MiB: a's block (oldest) is freed
  EXPECT_EQ(pool.stats().idle_bytes, 2 * MiB);
  uint8_t *q1 = nullptr, *q2 = nullptr, *q3 = nullptr;
  auto x = pool.take(MiB, &q1);
  auto y = pool.take(MiB, &q2);
  auto z = pool.take(MiB, &q3);
  EXPECT_EQ(pool.stats().reused, 2u);
  EXPECT_TRUE((q1 == p2 || q1 == p3) && (q2 == p2 || q2 == p3));
}

TEST(BufferPool, ABlockLargerThanTheIdleLimitIsFreedOnRelease) {
  BufferPool pool(limits(MiB, 64 * MiB));
  uint8_t* p = nullptr;
  pool.take(4 * MiB, &p);
  EXPECT_EQ(pool.stats().idle_bytes, 0u);
}

TEST(BufferPool, TakenAndIdleStayWithinTheTotalIdleGoesFirst) {
  BufferPool pool(limits(8 * MiB, 4 * MiB));
  uint8_t* p = nullptr;
  {
    auto a = pool.take(MiB, &p);
    auto b = pool.take(2 * MiB, &p);
  }
  EXPECT_EQ(pool.stats().idle_bytes, 3 * MiB);
  // The 2 MiB block grows to 3.5 MiB; with the 1 MiB one that would be 4.5 > 4: the idle one goes.
  auto held = pool.take(3 * MiB + 512 * 1024, &p);
  auto s = pool.stats();
  EXPECT_EQ(s.resized, 1u);
  EXPECT_EQ(s.idle_bytes, 0u);
  EXPECT_EQ(s.taken_bytes, 3 * MiB + 512 * 1024);
  // Taken blocks are never refused: the route's budget, not the pool, limits what is live.
  auto over = pool.take(4 * MiB, &p);
  EXPECT_EQ(pool.stats().taken_bytes, 7 * MiB + 512 * 1024);
}

TEST(BufferPool, SetLimitsTrimsIdleBlocks) {
  BufferPool pool(limits(8 * MiB, 64 * MiB));
  uint8_t* p = nullptr;
  auto a = pool.take(MiB, &p);
  auto b = pool.take(2 * MiB, &p);
  a = SharedBuffer();
  b = SharedBuffer();
  EXPECT_EQ(pool.stats().idle_bytes, 3 * MiB);
  pool.set_limits(limits(2 * MiB, 64 * MiB));
  EXPECT_EQ(pool.stats().idle_bytes, 2 * MiB);  // the oldest (1 MiB) freed
}

TEST(BufferPool, BuffersMayOutliveThePool) {
  SharedBuffer kept;
  {
    BufferPool pool(limits(8 * MiB, 64 * MiB));
    uint8_t* p = nullptr;
    kept = pool.take(MiB, &p);
    std::memset(p, 7, MiB);
  }
  EXPECT_EQ(kept.span()[MiB - 1], 7);
  kept = SharedBuffer();  // unmapped, not returned to the closed pool
}

TEST(BufferPool, ReleasesFromManyThreadsKeepTheAccountsRight) {
  BufferPool pool(limits(64 * MiB, 256 * MiB));
  std::vector<SharedBuffer> bufs;
  for (int i = 0; i < 64; ++i) {
    uint8_t* p = nullptr;
    bufs.push_back(pool.take(128 * 1024 + static_cast<size_t>(i) * 4096, &p));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < bufs.size(); i += 4) {
        uint8_t* p = nullptr;
        auto again = pool.take(bufs[i].size(), &p);  // concurrent takes too
        bufs[i] = SharedBuffer();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto s = pool.stats();
  EXPECT_EQ(s.taken_bytes, 0u);
  EXPECT_EQ(s.reused + s.resized + s.allocated, 128u);
}

}  // namespace
}  // namespace tiermirror
