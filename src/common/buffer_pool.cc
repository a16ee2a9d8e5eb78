#include "tiermirror/common/buffer_pool.h"

#include <sys/mman.h>

#include <mutex>
#include <new>
#include <vector>

namespace tiermirror {

namespace {

constexpr size_t kGranule = 64 * 1024;

struct Block {
  uint8_t* data = nullptr;
  size_t capacity = 0;
};

// Blocks are mappings of their own, so that a block of the wrong size can be resized with
// mremap: its resident pages move along (page-table entries, no copy) and only growth is fresh.
uint8_t* map_block(size_t capacity) {
  void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

uint8_t* resize_block(const Block& b, size_t capacity) {
  void* p = ::mremap(b.data, b.capacity, capacity, MREMAP_MAYMOVE);
  if (p != MAP_FAILED) return static_cast<uint8_t*>(p);
  ::munmap(b.data, b.capacity);
  return map_block(capacity);
}

void free_all(const std::vector<Block>& blocks) {
  for (const auto& b : blocks) ::munmap(b.data, b.capacity);
}

}  // namespace

struct BufferPool::State {
  mutable std::mutex mu;
  Limits limits;
  std::vector<Block> idle;  // oldest first: trimming frees the blocks that waited longest
  Stats stats;
  bool closed = false;

  /// Moves idle blocks (oldest first) to `out` until the limits hold with `extra` more taken.
  void trim(size_t extra, std::vector<Block>& out) {
    size_t drop = 0;
    while (drop < idle.size() &&
           (stats.idle_bytes > limits.max_idle ||
            stats.taken_bytes + stats.idle_bytes + extra > limits.max_total)) {
      stats.idle_bytes -= idle[drop].capacity;
      out.push_back(idle[drop]);
      ++drop;
    }
    idle.erase(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(drop));
  }

  void release(uint8_t* data, size_t capacity) {
    std::vector<Block> to_free;
    {
      std::lock_guard lock(mu);
      stats.taken_bytes -= capacity;
      if (closed || capacity > limits.max_idle) {
        to_free.push_back({data, capacity});
      } else {
        idle.push_back({data, capacity});
        stats.idle_bytes += capacity;
        trim(0, to_free);
      }
    }
    free_all(to_free);  // outside the lock: freeing a large block is a munmap
  }
};

namespace {

struct GiveBack {
  std::shared_ptr<BufferPool::State> state;
  size_t capacity;
  void operator()(uint8_t* data) const { state->release(data, capacity); }
};

}  // namespace

BufferPool::BufferPool(Limits limits) : state_(std::make_shared<State>()) { state_->limits = limits; }

BufferPool::~BufferPool() {
  std::vector<Block> to_free;
  {
    std::lock_guard lock(state_->mu);
    state_->closed = true;  // buffers still held are freed when released
    to_free.swap(state_->idle);
    state_->stats.idle_bytes = 0;
  }
  free_all(to_free);
}

SharedBuffer BufferPool::take(size_t n, uint8_t** out) {
  if (n < kMinPooled) return SharedBuffer::uninitialized(n, out);
  const size_t most = n + n / 4 + kGranule;  // the largest block worth using for n bytes
  Block got, resize;                          // resize: an idle block of another size, remapped
  std::vector<Block> to_free;
  {
    std::lock_guard lock(state_->mu);
    auto& idle = state_->idle;
    // Best fit among the blocks that hold n without wasting much; failing that, the block
    // nearest in size (the largest smaller one, else the smallest larger one) is resized: fetch
    // responses vary in size, and a fresh block would fault in every page again.
    size_t best = idle.size(), near = idle.size();
    for (size_t i = 0; i < idle.size(); ++i) {
      const size_t c = idle[i].capacity;
      if (c >= n && c <= most) {
        if (best == idle.size() || c < idle[best].capacity) best = i;
      } else if (near == idle.size()) {
        near = i;
      } else {
        const size_t nc = idle[near].capacity;
        if (c < n ? (nc > n || c > nc) : (nc > n && c < nc)) near = i;
      }
    }
    if (best != idle.size() || near != idle.size()) {
      const size_t pick = best != idle.size() ? best : near;
      (best != idle.size() ? got : resize) = idle[pick];
      state_->stats.idle_bytes -= idle[pick].capacity;
      idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    if (got.data) {
      ++state_->stats.reused;
    } else {
      got.capacity = (n + kGranule - 1) / kGranule * kGranule;
      state_->trim(got.capacity, to_free);
      ++(resize.data ? state_->stats.resized : state_->stats.allocated);
    }
    state_->stats.taken_bytes += got.capacity;
  }
  free_all(to_free);
  if (!got.data) {
    try {
      got.data = resize.data ? resize_block(resize, got.capacity) : map_block(got.capacity);
    } catch (...) {
      std::lock_guard lock(state_->mu);
      state_->stats.taken_bytes -= got.capacity;
      throw;
    }
  }
  *out = got.data;
  std::shared_ptr<uint8_t> owner(got.data, GiveBack{state_, got.capacity});
  return SharedBuffer::adopt(std::move(owner), got.data, n);
}

void BufferPool::set_limits(Limits limits) {
  std::vector<Block> to_free;
  {
    std::lock_guard lock(state_->mu);
    state_->limits = limits;
    state_->trim(0, to_free);
  }
  free_all(to_free);
}

BufferPool::Stats BufferPool::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

}  // namespace tiermirror
