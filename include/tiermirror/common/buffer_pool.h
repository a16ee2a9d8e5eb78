#pragma once
// Recycled receive buffers. Every fetch response is received into one SharedBuffer that lives
// until the target acknowledged its batches; allocating each afresh costs more than the data
// path itself: large blocks come from mmap, and the kernel zero-fills every page on first touch
// (the e2e benchmark's profile: a third of tiermirror's CPU in clear_page). A pool hands back
// blocks whose pages are already resident.
//
// Bounds: blocks taken and idle blocks together stay within `max_total` (idle ones are freed
// first when a new block would exceed it), and at most `max_idle` bytes wait idle. A block
// serves a request as it is only if it is at most a quarter (+ 64 KiB) larger, so a large idle
// block is never pinned by a small frame; otherwise the idle block nearest in size is resized
// (mremap: its resident pages move along, only growth is fresh memory), since response sizes
// vary and a fresh block costs a fault per page. Requests below kMinPooled go to the
// allocator directly.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tiermirror/common/buffer.h"

namespace tiermirror {

class BufferPool {
 public:
  static constexpr size_t kMinPooled = 64 * 1024;

  struct Limits {
    size_t max_idle = 0;   // bytes kept for reuse when nothing holds them
    size_t max_total = 0;  // taken + idle; beyond it idle blocks are freed, never taken ones
  };
  struct Stats {
    size_t idle_bytes = 0;   // capacity of the blocks waiting for reuse
    size_t taken_bytes = 0;  // capacity of the blocks handed out and not yet released
    uint64_t reused = 0;     // requests served from an idle block as it was
    uint64_t resized = 0;    // requests served from an idle block of another size, remapped
    uint64_t allocated = 0;  // requests that mapped a new block (pooled sizes only)
  };

  explicit BufferPool(Limits limits);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  /// `n` bytes, uninitialised (a reused block holds an earlier frame's bytes), writable through
  /// `*out` until the buffer is handed on. Released buffers return to the pool from any thread.
  SharedBuffer take(size_t n, uint8_t** out);

  /// New limits apply from the next take or release (a config reload changes the budget).
  void set_limits(Limits limits);
  Stats stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;  // shared with the blocks' deleters: they may outlive the pool
};

}  // namespace tiermirror
