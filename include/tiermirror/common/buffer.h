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
  explicit SharedBuffer(Bytes&& bytes) : data_(std::make_shared<const Bytes>(std::move(bytes))) {}
  static SharedBuffer copy_of(ByteSpan s) { return SharedBuffer(Bytes(s.begin(), s.end())); }

  ByteSpan span() const { return data_ ? ByteSpan(*data_) : ByteSpan(); }
  size_t size() const { return data_ ? data_->size() : 0; }
  bool empty() const { return size() == 0; }
  long use_count() const { return data_.use_count(); }

 private:
  std::shared_ptr<const Bytes> data_;
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
