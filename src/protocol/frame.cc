#include "tiermirror/protocol/frame.h"

#include <algorithm>
#include <cstring>

namespace tiermirror::protocol {

void FrameDecoder::after_size(std::error_code& ec) {
  int32_t size = static_cast<int32_t>((uint32_t(size_buf_[0]) << 24) | (uint32_t(size_buf_[1]) << 16) |
                                      (uint32_t(size_buf_[2]) << 8) | uint32_t(size_buf_[3]));
  if (size < 0 || static_cast<size_t>(size) > max_) {
    ec = errc::malformed;
    return;
  }
  body_ = pool_ ? pool_->take(static_cast<size_t>(size), &body_data_)
                : SharedBuffer::uninitialized(static_cast<size_t>(size), &body_data_);
  body_got_ = 0;
  in_body_ = true;
  if (size == 0) {
    done_ = std::move(body_);
    body_ = SharedBuffer();
    size_got_ = 0;
    in_body_ = false;
  }
}

std::span<uint8_t> FrameDecoder::prepare() {
  if (done_) return {};
  if (!in_body_) return {size_buf_ + size_got_, 4 - size_got_};
  return {body_data_ + body_got_, body_.size() - body_got_};
}

void FrameDecoder::commit(size_t n, std::error_code& ec) {
  if (done_ || n == 0) return;
  if (!in_body_) {
    size_got_ += n;
    if (size_got_ == 4) after_size(ec);
    return;
  }
  body_got_ += n;
  if (body_got_ == body_.size()) {
    done_ = std::move(body_);
    body_ = SharedBuffer();
    body_data_ = nullptr;
    body_got_ = 0;
    size_got_ = 0;
    in_body_ = false;
  }
}

size_t FrameDecoder::put(ByteSpan in, std::error_code& ec) {
  size_t used = 0;
  while (used < in.size() && !done_ && !ec) {
    auto dst = prepare();
    size_t n = std::min(dst.size(), in.size() - used);
    std::memcpy(dst.data(), in.data() + used, n);
    used += n;
    commit(n, ec);
  }
  return used;
}

std::optional<SharedBuffer> FrameDecoder::pop() {
  auto f = std::move(done_);
  done_.reset();
  return f;
}

void write_request_header(Writer& w, const RequestHeader& h) {
  w.set_flexible(false);
  w.i16(static_cast<int16_t>(h.api_key));
  w.i16(h.api_version);
  w.i32(h.correlation_id);
  w.nullable_string(h.client_id);  // never compact, even in header v2
  if (request_header_version(h.api_key, h.api_version) >= 2) {
    w.set_flexible(true);
    w.empty_tagged_fields();
  }
}

RequestHeader read_request_header(Reader& r) {
  RequestHeader h;
  r.set_flexible(false);
  h.api_key = static_cast<ApiKey>(r.i16("request_header.api_key"));
  h.api_version = r.i16("request_header.api_version");
  h.correlation_id = r.i32("request_header.correlation_id");
  h.client_id = r.nullable_string("request_header.client_id");
  if (request_header_version(h.api_key, h.api_version) >= 2) {
    r.set_flexible(true);
    r.tagged_fields("request_header.tagged_fields");
  }
  r.set_flexible(is_flexible(h.api_key, h.api_version));
  return h;
}

std::optional<int32_t> peek_correlation_id(ByteSpan frame) {
  if (frame.size() < 4) return std::nullopt;
  return static_cast<int32_t>((uint32_t(frame[0]) << 24) | (uint32_t(frame[1]) << 16) | (uint32_t(frame[2]) << 8) |
                              uint32_t(frame[3]));
}

std::string DecodeError::describe() const {
  return std::string(api_name(api)) + " v" + std::to_string(version) + ": " +
         std::error_code(code).message() + " at field '" + field + "', offset " + std::to_string(offset);
}

}  // namespace tiermirror::protocol
