#pragma once
// Refcounted byte buffers and views into them. A fetched record set lives in one
// SharedBuffer; batch views and Produce requests point into it (BufferSlice) and
// keep it alive, so the normal path never copies payload bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace tiermirror {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

class SharedBuffer {
 public:
  SharedBuffer() = default;
  explicit SharedBuffer(Bytes&& bytes) {
    auto holder = std::make_shared<const Bytes>(std::move(bytes));
    data_ = holder->data();
    size_ = holder->size();
    owner_ = std::move(holder);
  }
  static SharedBuffer copy_of(ByteSpan s) { return SharedBuffer(Bytes(s.begin(), s.end())); }

  SharedBuffer(const SharedBuffer&) = default;
  SharedBuffer& operator=(const SharedBuffer&) = default;
  // A moved-from buffer is empty, not a view of memory it no longer owns.
  SharedBuffer(SharedBuffer&& o) noexcept : owner_(std::move(o.owner_)), data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  SharedBuffer& operator=(SharedBuffer&& o) noexcept {
    if (this != &o) {
      owner_ = std::move(o.owner_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }

  /// `n` bytes left uninitialised, for receiving into: a fetched frame is overwritten by
  /// the socket at once, so zero-filling it first would only cost a pass over every byte.
  /// `out` is where to write; the buffer is const once handed on.
  static SharedBuffer uninitialized(size_t n, uint8_t** out) {
    std::shared_ptr<uint8_t[]> holder(new uint8_t[n]);  // default-initialised: no zeroing
    *out = holder.get();
    SharedBuffer b;
    b.data_ = holder.get();
    b.size_ = n;
    b.owner_ = std::move(holder);
    return b;
  }

  /// `n` bytes at `data`, which `owner` keeps alive (BufferPool's recycled blocks).
  static SharedBuffer adopt(std::shared_ptr<const void> owner, const uint8_t* data, size_t n) {
    SharedBuffer b;
    b.data_ = data;
    b.size_ = n;
    b.owner_ = std::move(owner);
    return b;
  }

  ByteSpan span() const { return ByteSpan(data_, size_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  long use_count() const { return owner_.use_count(); }

 private:
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// A view of some bytes of a SharedBuffer that keeps the buffer alive.
class BufferSlice {
 public:
  BufferSlice() = default;
  explicit BufferSlice(SharedBuffer owner) : owner_(std::move(owner)), view_(owner_.span()) {}
  /// `view` must lie inside `owner`.
  BufferSlice(SharedBuffer owner, ByteSpan view) : owner_(std::move(owner)), view_(view) {}

  ByteSpan span() const { return view_; }
  const uint8_t* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  BufferSlice subslice(size_t offset, size_t count = std::dynamic_extent) const {
    return BufferSlice(owner_, view_.subspan(offset, count));
  }
  const SharedBuffer& owner() const { return owner_; }

 private:
  SharedBuffer owner_;
  ByteSpan view_;
};

}  // namespace tiermirror
