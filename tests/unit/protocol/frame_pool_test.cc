// Frame bodies received into recycled blocks (BufferPool) hold exactly their own bytes.
#include <gtest/gtest.h>

#include "tiermirror/common/buffer_pool.h"
#include "tiermirror/protocol/frame.h"

namespace tiermirror::protocol {
namespace {

constexpr size_t MiB = 1024 * 1024;

Bytes frame_of(size_t n, uint8_t fill) {
  Bytes f{uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  f.resize(4 + n, fill);
  return f;
}

TEST(FramePool, FramesReceivedIntoAReusedBlockHoldOnlyTheirOwnBytes) {
  auto pool = std::make_shared<BufferPool>(BufferPool::Limits{8 * MiB, 64 * MiB});
  FrameDecoder dec(16 * MiB, pool);
  std::error_code ec;
  auto first = frame_of(300 * 1024, 0x11);
  dec.put(first, ec);
  auto a = dec.pop();
  ASSERT_TRUE(a && !ec);
  const uint8_t* where = a->span().data();
  a.reset();
  auto second = frame_of(290 * 1024, 0x22);
  dec.put(second, ec);
  auto b = dec.pop();
  ASSERT_TRUE(b && !ec);
  EXPECT_EQ(b->span().data(), where);  // the same block, received into again
  ASSERT_EQ(b->size(), 290u * 1024);
  for (auto byte : b->span()) ASSERT_EQ(byte, 0x22);
  EXPECT_EQ(pool->stats().reused, 1u);
}

}  // namespace
}  // namespace tiermirror::protocol
