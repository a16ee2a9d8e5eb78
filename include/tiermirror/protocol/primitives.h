#pragma once
// Kafka's primitive types (https://kafka.apache.org/protocol#protocol_types), as a
// Reader over a received frame and a Writer that builds a request as scatter-gather
// segments. Both know whether the message version is flexible (KIP-482): strings,
// bytes and arrays switch to their compact forms and structs end with tagged fields,
// so adding a flexible version of a message means adding branches, not a rewrite.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/errors.h"

namespace tiermirror::protocol {

/// Where a decode failed: the field being read and its byte offset in the frame body.
struct ReadError {
  errc code = errc::ok;
  const char* field = "";
  size_t offset = 0;
};

/// Reads primitives from a frame body. Errors are sticky: after the first one every read
/// returns a zero value without advancing, so a decoder reads a whole struct and checks
/// ok() once. It never reads past the slice it was given.
class Reader {
 public:
  explicit Reader(BufferSlice data, bool flexible = false) : data_(std::move(data)), flexible_(flexible) {}

  bool flexible() const { return flexible_; }
  void set_flexible(bool f) { flexible_ = f; }
  bool ok() const { return err_.code == errc::ok; }
  const ReadError& error() const { return err_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  /// Marks the reader failed at the current offset (for semantic checks in decoders).
  void fail(errc code, const char* field);

  int8_t i8(const char* field);
  int16_t i16(const char* field);
  int32_t i32(const char* field);
  int64_t i64(const char* field);
  uint32_t u32(const char* field);
  bool boolean(const char* field) { return i8(field) != 0; }
  int32_t varint(const char* field);
  int64_t varlong(const char* field);
  uint32_t uvarint(const char* field);
  std::array<uint8_t, 16> uuid(const char* field);

  /// STRING / COMPACT_STRING. A null where a non-null string is required is an error.
  std::string string(const char* field);
  std::optional<std::string> nullable_string(const char* field);
  /// BYTES / COMPACT_BYTES as a view into the frame (no copy); null reads as empty.
  BufferSlice bytes(const char* field);
  std::optional<BufferSlice> nullable_bytes(const char* field);
  /// ARRAY / COMPACT_ARRAY length; -1 for null. A count that cannot fit in the bytes
  /// left (each element takes at least `min_element_size` bytes) is malformed: absurd
  /// counts are refused before anything is allocated.
  int32_t array_length(const char* field, size_t min_element_size = 1);
  /// Skips a tagged-field section (flexible versions only; a no-op otherwise).
  void tagged_fields(const char* field);

 private:
  bool need(size_t n, const char* field);
  int32_t length_prefix(const char* field, bool compact_nullable_len);

  BufferSlice data_;
  size_t pos_ = 0;
  bool flexible_ = false;
  ReadError err_;
};

/// Builds an encoded message as segments: bytes it owns, and slices of other buffers
/// (record batches) referenced without copying.
class Writer {
 public:
  explicit Writer(bool flexible = false) : flexible_(flexible) { owned_.reserve(256); }

  bool flexible() const { return flexible_; }
  void set_flexible(bool f) { flexible_ = f; }
  /// Total encoded size so far, owned and referenced bytes together.
  size_t size() const { return external_bytes_ + owned_.size(); }

  void i8(int8_t v);
  void i16(int16_t v);
  void i32(int32_t v);
  void i64(int64_t v);
  void u32(uint32_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void varint(int32_t v);
  void varlong(int64_t v);
  void uvarint(uint32_t v);
  void uuid(const std::array<uint8_t, 16>& v);
  void string(std::string_view s);
  void nullable_string(const std::optional<std::string>& s);
  void bytes(ByteSpan b);
  void nullable_bytes(const std::optional<ByteSpan>& b);
  /// BYTES whose content is the concatenation of `segments`, referenced, not copied.
  /// An empty list encodes null (Produce's records field is nullable).
  void external_bytes(const std::vector<BufferSlice>& segments);
  void array_length(int32_t n);
  /// An empty tagged-field section (flexible versions only; a no-op otherwise).
  void empty_tagged_fields();

  /// Overwrites 4 bytes at an owned position written earlier (frame size prefix).
  void patch_i32(size_t owned_pos, int32_t v);
  size_t owned_position() const { return owned_.size(); }

  /// The message as segments in order. The Writer is empty afterwards.
  std::vector<BufferSlice> finish();
  /// The message as one contiguous buffer (tests, small control-plane requests).
  Bytes flatten();

 private:
  void raw(const void* p, size_t n);
  void close_owned_segment();

  struct Pending {
    size_t owned_begin = 0, owned_end = 0;  // range in owned_ when !external
    BufferSlice external;
    bool is_external = false;
  };
  Bytes owned_;
  size_t owned_segment_start_ = 0;
  std::vector<Pending> segments_;
  size_t external_bytes_ = 0;
  bool flexible_ = false;
};

/// Bounded zig-zag varint readers over raw record bytes (ByteUtils.readVarint/readVarlong):
/// advance `p` and return true, or return false when the value runs past `end`, is longer
/// than the type allows, or does not fit it. For record parsing, where a Reader's frame
/// bookkeeping is not wanted.
bool read_varlong(const uint8_t*& p, const uint8_t* end, int64_t& out, int max_bytes = 10);
bool read_varint(const uint8_t*& p, const uint8_t* end, int32_t& out);

/// Bytes a zig-zag varint / varlong / unsigned varint takes on the wire.
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);
size_t uvarint_size(uint32_t v);

}  // namespace tiermirror::protocol
