#pragma once
// Kafka frames: a 4-byte big-endian size, then a request or response. FrameDecoder is
// push-style (like Beast's parsers): it never reads past what it was given, and can hand
// the caller the exact region to read into so a frame body is received in place.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/buffer_pool.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

class FrameDecoder {
 public:
  /// Frames larger than `max_frame_size` are refused (absurd sizes from a broken peer
  /// must not make us allocate gigabytes).
  /// Frame bodies come from `pool` when one is given (recycled, see BufferPool).
  explicit FrameDecoder(size_t max_frame_size, std::shared_ptr<BufferPool> pool = nullptr)
      : max_(max_frame_size), pool_(std::move(pool)) {}

  /// Consumes bytes from `in` up to the end of the current frame; returns how many.
  /// Sets `ec` (errc::malformed) on a negative or too-large size; the decoder is then
  /// unusable. Call pop() after each put() that completed a frame.
  size_t put(ByteSpan in, std::error_code& ec);
  /// Zero-copy alternative to put(): the region to receive into next, then commit(n).
  std::span<uint8_t> prepare();
  void commit(size_t n, std::error_code& ec);

  bool has_frame() const { return done_.has_value(); }
  /// The completed frame body (without the size prefix).
  std::optional<SharedBuffer> pop();
  /// Bytes of the frame in progress received so far (0 between frames).
  size_t partial_size() const { return size_got_ + body_got_; }

 private:
  void after_size(std::error_code& ec);

  size_t max_;
  std::shared_ptr<BufferPool> pool_;
  uint8_t size_buf_[4]{};
  size_t size_got_ = 0;
  SharedBuffer body_;            // the frame being received (uninitialised until then)
  uint8_t* body_data_ = nullptr;
  size_t body_got_ = 0;
  bool in_body_ = false;
  std::optional<SharedBuffer> done_;
};

struct RequestHeader {
  ApiKey api_key{};
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

/// Encodes [size][request header][body] as scatter-gather segments. `Body` has
/// `void encode(Writer&, int16_t version) const`.
template <typename Body>
std::vector<BufferSlice> encode_request(const RequestHeader& h, const Body& body);

/// Writes the request header (v1, or v2 with a tagged-field section for flexible
/// versions; client_id stays a non-compact nullable string in both).
void write_request_header(Writer& w, const RequestHeader& h);
/// Reads a request header (for the test validator and the fuzzer); leaves the reader
/// flexible or not according to the API version it read.
RequestHeader read_request_header(Reader& r);

/// The correlation id of a response frame body, or nullopt when shorter than 4 bytes.
std::optional<int32_t> peek_correlation_id(ByteSpan frame);

/// What went wrong decoding a message: api, version, field and offset in the frame.
struct DecodeError {
  ApiKey api{};
  int16_t version = 0;
  errc code = errc::ok;
  std::string field;
  size_t offset = 0;
  std::string describe() const;
};

template <typename T>
struct Decoded {
  std::optional<T> value;
  DecodeError error;
  size_t consumed = 0;  // bytes of the frame body the message used
  bool ok() const { return value.has_value(); }
};

/// Decodes a response frame body: header for (api, version), then `Msg::decode(Reader&,
/// int16_t version)`, which returns Msg and leaves errors in the reader. Bytes after the
/// message are not consumed (`consumed` says where it ended).
template <typename Msg>
Decoded<Msg> decode_response(const SharedBuffer& frame, ApiKey api, int16_t version);
/// The same for request frames (tests, validator, fuzzer).
template <typename Msg>
Decoded<Msg> decode_request(const SharedBuffer& frame, RequestHeader* header_out = nullptr);

// ---------------------------------------------------------------- implementation

template <typename Body>
std::vector<BufferSlice> encode_request(const RequestHeader& h, const Body& body) {
  Writer w;
  size_t size_pos = w.owned_position();
  w.i32(0);
  write_request_header(w, h);
  w.set_flexible(is_flexible(h.api_key, h.api_version));
  body.encode(w, h.api_version);
  w.patch_i32(size_pos, static_cast<int32_t>(w.size() - 4));
  return w.finish();
}

template <typename Msg>
Decoded<Msg> decode_response(const SharedBuffer& frame, ApiKey api, int16_t version) {
  Decoded<Msg> out;
  Reader r(BufferSlice(frame), false);
  r.i32("correlation_id");
  if (response_header_version(api, version) >= 1) {
    r.set_flexible(true);
    r.tagged_fields("response_header.tagged_fields");
  }
  r.set_flexible(is_flexible(api, version));
  Msg m = Msg::decode(r, version);
  if (r.ok()) {
    out.value = std::move(m);
  } else {
    out.error = DecodeError{api, version, r.error().code, r.error().field, r.error().offset};
  }
  out.consumed = r.offset();
  return out;
}

template <typename Msg>
Decoded<Msg> decode_request(const SharedBuffer& frame, RequestHeader* header_out) {
  Decoded<Msg> out;
  Reader r(BufferSlice(frame), false);
  RequestHeader h = read_request_header(r);
  if (header_out) *header_out = h;
  Msg m = Msg::decode(r, h.api_version);
  if (r.ok()) {
    out.value = std::move(m);
  } else {
    out.error = DecodeError{h.api_key, h.api_version, r.error().code, r.error().field, r.error().offset};
  }
  out.consumed = r.offset();
  return out;
}

}  // namespace tiermirror::protocol
