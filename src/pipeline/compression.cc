#include "tiermirror/pipeline/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;

class RecordCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "records"; }
  std::string message(int code) const override {
    switch (static_cast<record_errc>(code)) {
      case record_errc::ok: return "ok";
      case record_errc::truncated: return "truncated records";
      case record_errc::malformed: return "malformed records";
      case record_errc::count_mismatch: return "record count does not match the records";
      case record_errc::crc_mismatch: return "checksum mismatch";
      case record_errc::unknown_codec: return "unknown or unsupported compression codec";
      case record_errc::corrupt_compressed: return "corrupt compressed payload";
      case record_errc::output_limit: return "decompressed size exceeds the limit";
      case record_errc::compress_failed: return "compression failed";
      case record_errc::unsupported_format: return "unsupported record format";
      case record_errc::record_too_large:
        return "record too large: a single record does not fit in the target's max.message.bytes";
      case record_errc::empty_batch: return "cannot encode a batch without records";
    }
    return "unknown records error " + std::to_string(code);
  }
};

// Output buffer that grows geometrically but never past limit + 1 bytes: reaching limit + 1 means
// the output is over the limit, and decompression stops there.
class BoundedOutput {
 public:
  explicit BoundedOutput(size_t limit, size_t size_hint = 0)
      : limit_(std::min(limit, std::numeric_limits<size_t>::max() - 1)) {
    buf_.resize(std::min(limit_ + 1, std::max<size_t>(size_hint, 1024)));
  }
  /// Writable space; empty only when over the limit.
  uint8_t* window() {
    if (used_ == buf_.size()) buf_.resize(std::min(limit_ + 1, std::max<size_t>(buf_.size() * 2, 1024)));
    return buf_.data() + used_;
  }
  size_t window_size() const { return buf_.size() - used_; }
  void commit(size_t n) { used_ += n; }
  bool over() const { return used_ > limit_; }
  Bytes take() && {
    buf_.resize(used_);
    return std::move(buf_);
  }

 private:
  size_t limit_;
  Bytes buf_;
  size_t used_ = 0;
};

// ---------------------------------------------------------------- gzip (zlib)

Result<Bytes> gzip_decompress(ByteSpan in, size_t max_output) {
  if (in.size() > std::numeric_limits<uInt>::max()) return record_errc::malformed;
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only (Kafka's gzip is java.util.zip.GZIP*Stream).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return record_errc::corrupt_compressed;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  BoundedOutput out(max_output, in.size() * 4);
  for (;;) {
    uint8_t* w = out.window();
    const size_t cap = std::min<size_t>(out.window_size(), std::numeric_limits<uInt>::max());
    zs.next_out = w;
    zs.avail_out = static_cast<uInt>(cap);
    const int r = inflate(&zs, Z_NO_FLUSH);
    out.commit(cap - zs.avail_out);
    if (out.over()) return record_errc::output_limit;
    if (r == Z_STREAM_END) {
      // Another member follows (GZIPInputStream reads concatenated members); anything else after
      // a complete member is ignored, as GZIPInputStream does.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        if (inflateReset(&zs) != Z_OK) return record_errc::corrupt_compressed;
        continue;
      }
      break;
    }
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR) {
      if (zs.avail_in == 0) return record_errc::truncated;  // stream ends before its trailer
      continue;                                            // output window was full: grow it
    }
    return record_errc::corrupt_compressed;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, ...
  }
  return std::move(out).take();
}

Result<Bytes> gzip_compress(ByteSpan in) {
  if (in.size() > std::numeric_limits<uInt>::max() / 2) return record_errc::compress_failed;
  z_stream zs{};
  // Level 6 (Z_DEFAULT_COMPRESSION) is java.util.zip.Deflater's default, as GZIPOutputStream uses.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return record_errc::compress_failed;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return record_errc::compress_failed;
  out.resize(zs.total_out);
  return out;
}

// ---------------------------------------------------------------- snappy

constexpr std::array<uint8_t, 8> kXerialMagic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;          // magic, int32 version, int32 compatible version
constexpr int32_t kXerialVersion = 1;             // SnappyCodec.DEFAULT_VERSION
constexpr int32_t kXerialMinCompatible = 1;       // SnappyCodec.MINIMUM_COMPATIBLE_VERSION
constexpr size_t kXerialBlockSize = 32 * 1024;    // SnappyOutputStream.DEFAULT_BLOCK_SIZE

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void put_be32(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Result<Bytes> snappy_raw_decompress(ByteSpan in, size_t max_output) {
  const char* src = reinterpret_cast<const char*>(in.data());
  size_t n = 0;
  if (!snappy::GetUncompressedLength(src, in.size(), &n)) return record_errc::corrupt_compressed;
  if (n > max_output) return record_errc::output_limit;  // checked before allocating
  Bytes out(n);
  if (!snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(out.data())))
    return record_errc::corrupt_compressed;
  return out;
}

// Chunks after the stream header, as rd_kafka_snappy_java_uncompress and SnappyInputStream read
// them. Two passes: sum the declared lengths (bounded), then allocate once and decode.
Result<Bytes> snappy_xerial_decompress(ByteSpan in, size_t max_output) {
  if (in.size() < kXerialHeaderSize) return record_errc::truncated;
  const int32_t version = static_cast<int32_t>(load_be32(in.data() + 8));
  if (version < kXerialMinCompatible) return record_errc::corrupt_compressed;
  size_t total = 0;
  for (int pass = 1; pass <= 2; ++pass) {
    Bytes out;
    if (pass == 2) out.resize(total);
    size_t pos = kXerialHeaderSize, upos = 0;
    while (pos < in.size()) {
      // snappy-java also accepts a concatenated stream: a new header where a chunk length would be.
      if (in.size() - pos >= kXerialHeaderSize && std::equal(kXerialMagic.begin(), kXerialMagic.end(), in.data() + pos)) {
        pos += kXerialHeaderSize;
        continue;
      }
      if (in.size() - pos < 4) return record_errc::truncated;
      const uint32_t clen = load_be32(in.data() + pos);
      pos += 4;
      if (clen > in.size() - pos) return record_errc::truncated;
      const char* chunk = reinterpret_cast<const char*>(in.data() + pos);
      size_t ulen = 0;
      if (!snappy::GetUncompressedLength(chunk, clen, &ulen)) return record_errc::corrupt_compressed;
      if (pass == 1) {
        if (ulen > max_output - total) return record_errc::output_limit;
        total += ulen;
      } else {
        if (ulen > total - upos) return record_errc::corrupt_compressed;
        if (!snappy::RawUncompress(chunk, clen, reinterpret_cast<char*>(out.data() + upos)))
          return record_errc::corrupt_compressed;
      }
      pos += clen;
      upos += ulen;
    }
    if (pass == 2) return out;
  }
  return record_errc::malformed;  // unreachable
}

Result<Bytes> snappy_decompress(ByteSpan in, size_t max_output) {
  if (is_xerial_snappy(in)) return snappy_xerial_decompress(in, max_output);
  return snappy_raw_decompress(in, max_output);
}

// ---------------------------------------------------------------- lz4 (frame format)

constexpr uint32_t kLz4FrameMagic = 0x184D2204;  // little-endian on the wire: 04 22 4D 18

// Replaces the frame descriptor's header checksum with the correct one (KIP-57): byte
// (XXH32(FLG..end of descriptor, seed 0) >> 8) & 0xFF. Returns false if the header is too short.
bool fix_lz4_header_checksum(Bytes& frame) {
  if (frame.size() < 7) return false;
  const uint32_t magic = uint32_t{frame[0]} | (uint32_t{frame[1]} << 8) | (uint32_t{frame[2]} << 16) |
                         (uint32_t{frame[3]} << 24);
  if (magic != kLz4FrameMagic) return false;
  const uint8_t flg = frame[4];
  size_t desc_end = 6;             // FLG, BD
  if (flg & 0x08) desc_end += 8;   // content size
  if (flg & 0x01) desc_end += 4;   // dictionary id
  if (frame.size() <= desc_end) return false;
  const uint32_t h = detail::xxh32(ByteSpan(frame).subspan(4, desc_end - 4));
  frame[desc_end] = static_cast<uint8_t>((h >> 8) & 0xFF);
  return true;
}

Result<Bytes> lz4_decompress(ByteSpan in, size_t max_output, bool legacy_checksum) {
  Bytes fixed;
  if (legacy_checksum) {
    fixed.assign(in.begin(), in.end());
    if (!fix_lz4_header_checksum(fixed)) return record_errc::corrupt_compressed;
    in = fixed;
  }
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) return record_errc::corrupt_compressed;
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> dctx(raw, LZ4F_freeDecompressionContext);
  BoundedOutput out(max_output, in.size() * 4);
  size_t pos = 0;
  size_t hint = 1;  // != 0: a frame is in progress (or none has started)
  while (true) {
    uint8_t* w = out.window();
    size_t dst = out.window_size();
    size_t src = in.size() - pos;
    hint = LZ4F_decompress(dctx.get(), w, &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) return record_errc::corrupt_compressed;
    pos += src;
    out.commit(dst);
    if (out.over()) return record_errc::output_limit;
    if (hint == 0 && pos == in.size()) break;  // last frame complete, all input used
    // hint == 0 with input left: another frame follows (the context is ready for it).
    if (src == 0 && dst == 0) return record_errc::truncated;  // no progress: the frame needs more input
  }
  return std::move(out).take();
}

Result<Bytes> lz4_compress(ByteSpan in) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = 0;
  Bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return record_errc::compress_failed;
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------- zstd

Result<Bytes> zstd_decompress(ByteSpan in, size_t max_output) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return record_errc::corrupt_compressed;
  // The window stays at libzstd's default limit (2^27 bytes, ZSTD_WINDOWLOG_LIMIT_DEFAULT): a frame
  // asking for more is refused, so decoder memory is bounded too.
  size_t hint_size = in.size() * 4;
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR) {
    if (content > max_output) return record_errc::output_limit;
    hint_size = static_cast<size_t>(content);
  }
  BoundedOutput out(max_output, hint_size);
  ZSTD_inBuffer zin{in.data(), in.size(), 0};
  while (true) {
    uint8_t* w = out.window();
    ZSTD_outBuffer zout{w, out.window_size(), 0};
    const size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
    if (ZSTD_isError(r)) return record_errc::corrupt_compressed;
    out.commit(zout.pos);
    if (out.over()) return record_errc::output_limit;
    if (r == 0 && zin.pos == zin.size) break;  // a frame ended exactly at the end of the input
    // Input used up, output not full (nothing left to flush), frame not finished: cut short.
    if (zin.pos == zin.size && zout.pos < zout.size && r != 0) return record_errc::truncated;
  }
  return std::move(out).take();
}

Result<Bytes> zstd_compress(ByteSpan in) {
  Bytes out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) return record_errc::compress_failed;
  out.resize(n);
  return out;
}

}  // namespace

const std::error_category& record_category() {
  static const RecordCategory c;
  return c;
}

bool is_xerial_snappy(ByteSpan input) {
  return input.size() >= kXerialHeaderSize && std::equal(kXerialMagic.begin(), kXerialMagic.end(), input.data());
}

Result<Bytes> decompress(Codec codec, ByteSpan input, size_t max_output) {
  return decompress(codec, input, max_output, DecompressOptions{});
}

Result<Bytes> decompress(Codec codec, ByteSpan input, size_t max_output, const DecompressOptions& opts) {
  switch (codec) {
    case Codec::none:
      if (input.size() > max_output) return record_errc::output_limit;
      return Bytes(input.begin(), input.end());
    case Codec::gzip: return gzip_decompress(input, max_output);
    case Codec::snappy: return snappy_decompress(input, max_output);
    case Codec::lz4: return lz4_decompress(input, max_output, opts.lz4_legacy_header_checksum);
    case Codec::zstd: return zstd_decompress(input, max_output);
  }
  return record_errc::unknown_codec;
}

Result<Bytes> compress_snappy(ByteSpan input, SnappyFraming framing) {
  if (framing == SnappyFraming::raw) {
    Bytes out(snappy::MaxCompressedLength(input.size()));
    size_t n = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(input.data()), input.size(),
                        reinterpret_cast<char*>(out.data()), &n);
    out.resize(n);
    return out;
  }
  // SnappyOutputStream: header, then one chunk per 32 KiB of input. Empty input gives the header
  // alone, as SnappyOutputStream writes on close.
  Bytes out(kXerialMagic.begin(), kXerialMagic.end());
  put_be32(out, static_cast<uint32_t>(kXerialVersion));
  put_be32(out, static_cast<uint32_t>(kXerialMinCompatible));
  Bytes block(snappy::MaxCompressedLength(kXerialBlockSize));
  for (size_t pos = 0; pos < input.size(); pos += kXerialBlockSize) {
    const size_t len = std::min(kXerialBlockSize, input.size() - pos);
    size_t n = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(input.data() + pos), len, reinterpret_cast<char*>(block.data()),
                        &n);
    put_be32(out, static_cast<uint32_t>(n));
    out.insert(out.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(n));
  }
  return out;
}

Result<Bytes> compress(Codec codec, ByteSpan input) {
  switch (codec) {
    case Codec::none: return Bytes(input.begin(), input.end());
    case Codec::gzip: return gzip_compress(input);
    case Codec::snappy: return compress_snappy(input, SnappyFraming::xerial);
    case Codec::lz4: return lz4_compress(input);
    case Codec::zstd: return zstd_compress(input);
  }
  return record_errc::unknown_codec;
}

namespace detail {

// XXH32 (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md), little-endian lanes.
uint32_t xxh32(ByteSpan data, uint32_t seed) {
  constexpr uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u, P4 = 668265263u, P5 = 374761393u;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  auto le32 = [](const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  };
  auto round = [&](uint32_t acc, uint32_t lane) { return rotl(acc + lane * P2, 13) * P1; };
  const uint8_t* p = data.data();
  const uint8_t* const end = p + data.size();
  uint32_t h;
  if (data.size() >= 16) {
    uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    while (end - p >= 16) {
      v1 = round(v1, le32(p));
      v2 = round(v2, le32(p + 4));
      v3 = round(v3, le32(p + 8));
      v4 = round(v4, le32(p + 12));
      p += 16;
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
  } else {
    h = seed + P5;
  }
  h += static_cast<uint32_t>(data.size());
  while (end - p >= 4) {
    h = rotl(h + le32(p) * P3, 17) * P4;
    p += 4;
  }
  while (p < end) {
    h = rotl(h + uint32_t{*p} * P5, 11) * P1;
    ++p;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

}  // namespace detail

}  // namespace tiermirror::pipeline
