#include "tiermirror/common/buffer_pool.h"

#include <mutex>
#include <vector>

namespace tiermirror {

namespace {

constexpr size_t kGranule = 64 * 1024;

struct Block {
  uint8_t* data = nullptr;
  size_t capacity = 0;
};

void free_all(const std::vector<Block>& blocks) {
  for (const auto& b : blocks) delete[] b.data;
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
  Block got;
  std::vector<Block> to_free;
  {
    std::lock_guard lock(state_->mu);
    auto& idle = state_->idle;
    size_t best = idle.size();
    for (size_t i = 0; i < idle.size(); ++i) {
      if (idle[i].capacity >= n && idle[i].capacity <= most &&
          (best == idle.size() || idle[i].capacity < idle[best].capacity))
        best = i;
    }
    if (best != idle.size()) {
      got = idle[best];
      idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(best));
      state_->stats.idle_bytes -= got.capacity;
      ++state_->stats.reused;
    } else {
      got.capacity = (n + kGranule - 1) / kGranule * kGranule;
      state_->trim(got.capacity, to_free);
      ++state_->stats.allocated;
    }
    state_->stats.taken_bytes += got.capacity;
  }
  free_all(to_free);
  if (!got.data) {
    try {
      got.data = new uint8_t[got.capacity];  // default-initialised: no zeroing pass
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
