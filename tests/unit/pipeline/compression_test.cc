// Kafka's codecs as Kafka frames them (include/tiermirror/pipeline/compression.h): round trips,
// the payloads librdkafka wrote into tests/fixtures/record_batches, both snappy framings, the
// pre-KIP-57 LZ4 header checksum, corrupt input and decompression bombs.
#include <gtest/gtest.h>
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <random>
#include <string>

#include "support/paths.h"
#include "tiermirror/pipeline/compression.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;

constexpr Codec kCodecs[] = {Codec::none, Codec::gzip, Codec::snappy, Codec::lz4, Codec::zstd};
constexpr Codec kCompressed[] = {Codec::gzip, Codec::snappy, Codec::lz4, Codec::zstd};

std::string name(Codec c) { return std::string(protocol::to_string(c)); }

// Text-like data that compresses, with some randomness so it is not trivial.
Bytes sample(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  static const std::string words[] = {"user", "{\"n\":", "codec", "origin", "fixture", "pad", "xxxx", "\"}", ","};
  Bytes out;
  out.reserve(n);
  while (out.size() < n) {
    const std::string& w = words[rng() % std::size(words)];
    for (char c : w) {
      if (out.size() == n) break;
      out.push_back(static_cast<uint8_t>(c));
    }
    if (out.size() < n) out.push_back(static_cast<uint8_t>('0' + rng() % 10));
  }
  return out;
}

Bytes random_bytes(size_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes read_fixture(const std::string& name) {
  std::ifstream in(test::fixture_path(name), std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(Codec, RoundTripsEveryCodecOnEmptySmallAndOneMebibyte) {
  const Bytes inputs[] = {Bytes{}, Bytes{'x'}, sample(100), sample(1 << 20), random_bytes(70000)};
  for (Codec c : kCodecs) {
    for (const Bytes& in : inputs) {
      SCOPED_TRACE(name(c) + " size " + std::to_string(in.size()));
      auto z = compress(c, in);
      ASSERT_TRUE(z.ok()) << z.error().message();
      auto back = decompress(c, *z, in.size());  // exactly the bound: allowed
      ASSERT_TRUE(back.ok()) << back.error().message();
      EXPECT_EQ(*back, in);
      if (c != Codec::none && in.size() == (1u << 20)) {
        EXPECT_LT(z->size(), in.size() * 3 / 4);
      }
    }
  }
}

TEST(Codec, OutputOneByteOverTheBoundIsAnError) {
  const Bytes in = sample(50000);
  for (Codec c : kCodecs) {
    SCOPED_TRACE(name(c));
    auto z = compress(c, in);
    ASSERT_TRUE(z.ok());
    auto r = decompress(c, *z, in.size() - 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), record_errc::output_limit);
  }
}

TEST(Codec, CompressWritesKafkasFraming) {
  const Bytes in = sample(100000);
  // gzip: a gzip member (RFC 1952 magic, deflate).
  auto gz = compress(Codec::gzip, in);
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ((*gz)[0], 0x1f);
  EXPECT_EQ((*gz)[1], 0x8b);
  EXPECT_EQ((*gz)[2], 8);
  // lz4: frame magic 0x184D2204 (LE), FLG version 01 + independent blocks, BD 64 KiB, and the
  // KIP-57 header checksum over FLG..BD only.
  auto lz = compress(Codec::lz4, in);
  ASSERT_TRUE(lz.ok());
  EXPECT_EQ(Bytes(lz->begin(), lz->begin() + 4), (Bytes{0x04, 0x22, 0x4d, 0x18}));
  EXPECT_EQ((*lz)[4], 0x60);
  EXPECT_EQ((*lz)[5], 0x40);
  EXPECT_EQ((*lz)[6], static_cast<uint8_t>(detail::xxh32(ByteSpan(*lz).subspan(4, 2)) >> 8));
  // zstd: frame magic 0xFD2FB528 (LE).
  auto zs = compress(Codec::zstd, in);
  ASSERT_TRUE(zs.ok());
  EXPECT_EQ(Bytes(zs->begin(), zs->begin() + 4), (Bytes{0x28, 0xb5, 0x2f, 0xfd}));
  // snappy: xerial stream header, version 1, compatible 1, chunks of <= 32 KiB input.
  auto sn = compress(Codec::snappy, in);
  ASSERT_TRUE(sn.ok());
  const Bytes header{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(Bytes(sn->begin(), sn->begin() + 16), header);
  EXPECT_TRUE(is_xerial_snappy(*sn));
  size_t pos = 16, chunks = 0;
  while (pos < sn->size()) {
    const uint32_t len = (uint32_t{(*sn)[pos]} << 24) | (uint32_t{(*sn)[pos + 1]} << 16) |
                         (uint32_t{(*sn)[pos + 2]} << 8) | (*sn)[pos + 3];
    pos += 4 + len;
    ++chunks;
  }
  EXPECT_EQ(pos, sn->size());
  EXPECT_EQ(chunks, 4u);  // 100000 bytes in 32 KiB blocks
}

TEST(Codec, Xxh32MatchesTheSpecAndLiblz4) {
  EXPECT_EQ(detail::xxh32(ByteSpan()), 0x02CC5D05u);  // XXH32("", 0), xxHash's test vector
  // Long inputs take the 4-lane path; LZ4F's own frames carry XXH32 of their descriptor (short),
  // so cross-check the long path with a content-checksummed LZ4 frame.
  const Bytes in = sample(1000);
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  Bytes frame(LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n = LZ4F_compressFrame(frame.data(), frame.size(), in.data(), in.size(), &prefs);
  ASSERT_FALSE(LZ4F_isError(n));
  const uint32_t stored = uint32_t{frame[n - 4]} | (uint32_t{frame[n - 3]} << 8) | (uint32_t{frame[n - 2]} << 16) |
                          (uint32_t{frame[n - 1]} << 24);
  EXPECT_EQ(detail::xxh32(in), stored);
}

TEST(Codec, DecompressesTheLibrdkafkaFixturePayloads) {
  for (Codec c : kCompressed) {
    for (const char* mode : {"plain", "idempotent", "transactional"}) {
      SCOPED_TRACE(name(c) + "-" + mode);
      Bytes raw = read_fixture("record_batches/" + name(c) + "-" + mode + ".bin");
      ASSERT_FALSE(raw.empty());
      auto split = protocol::split_record_set(BufferSlice(SharedBuffer(std::move(raw))), SourceOffset(0));
      ASSERT_EQ(split.batches.size(), 3u);
      for (const auto& b : split.batches) {
        ASSERT_EQ(b.codec(), c);
        auto plain = decompress(c, b.records().span(), 1 << 20);
        ASSERT_TRUE(plain.ok()) << plain.error().message();
        EXPECT_GT(plain->size(), b.records().size());
        const std::string text(plain->begin(), plain->end());
        EXPECT_NE(text.find("user-"), std::string::npos);
        EXPECT_NE(text.find("fixture"), std::string::npos);
        // librdkafka 2.0.2 writes raw snappy blocks, not xerial framing.
        if (c == Codec::snappy) {
          EXPECT_FALSE(is_xerial_snappy(b.records().span()));
        }
      }
    }
  }
}

TEST(Codec, RawAndXerialSnappyBothDecode) {
  for (size_t size : {size_t{1}, size_t{1000}, size_t{32 * 1024}, size_t{200000}}) {
    const Bytes in = sample(size, static_cast<uint32_t>(size));
    auto raw = compress_snappy(in, SnappyFraming::raw);
    auto xerial = compress_snappy(in, SnappyFraming::xerial);
    ASSERT_TRUE(raw.ok() && xerial.ok());
    EXPECT_FALSE(is_xerial_snappy(*raw));
    EXPECT_TRUE(is_xerial_snappy(*xerial));
    auto a = decompress(Codec::snappy, *raw, size);
    auto b = decompress(Codec::snappy, *xerial, size);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, in);
    EXPECT_EQ(*b, in);
  }
  // Two xerial streams back to back read as one (snappy-java SnappyInputStream does).
  const Bytes x = sample(5000, 1), y = sample(7000, 2);
  auto both = decompress(Codec::snappy, concat(*compress(Codec::snappy, x), *compress(Codec::snappy, y)), 1 << 20);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*both, concat(x, y));
  // Header only: an empty stream, as SnappyOutputStream writes for no input.
  auto empty = decompress(Codec::snappy, *compress(Codec::snappy, Bytes{}), 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Codec, ConcatenatedGzipMembersAndZstdFramesAndLz4Frames) {
  const Bytes x = sample(3000, 3), y = sample(4000, 4);
  for (Codec c : {Codec::gzip, Codec::zstd, Codec::lz4}) {
    SCOPED_TRACE(name(c));
    auto r = decompress(c, concat(*compress(c, x), *compress(c, y)), 1 << 20);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, concat(x, y));
  }
  // Bytes after a complete gzip member that are not another member are ignored, as
  // java.util.zip.GZIPInputStream ignores them.
  auto g = decompress(Codec::gzip, concat(*compress(Codec::gzip, x), Bytes{0, 0, 0, 1}), 1 << 20);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, x);
}

TEST(Codec, ZstdFrameWithoutContentSizeDecodes) {
  const Bytes in = sample(300000);
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0);
  Bytes out(ZSTD_compressBound(in.size()));
  ZSTD_inBuffer zin{in.data(), in.size(), 0};
  ZSTD_outBuffer zout{out.data(), out.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx.get(), &zout, &zin, ZSTD_e_end), 0u);
  out.resize(zout.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  auto r = decompress(Codec::zstd, out, in.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, in);
  auto bomb = decompress(Codec::zstd, out, 1000);
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.error(), record_errc::output_limit);
}

TEST(Codec, Lz4LegacyHeaderChecksumNeedsTheOption) {
  const Bytes in = sample(10000);
  Bytes frame = *compress(Codec::lz4, in);
  // Kafka 0.8/0.9 (magic 0) hashed the magic number into the descriptor checksum.
  frame[6] = static_cast<uint8_t>(detail::xxh32(ByteSpan(frame).first(6)) >> 8);
  ASSERT_NE(frame[6], static_cast<uint8_t>(detail::xxh32(ByteSpan(frame).subspan(4, 2)) >> 8));
  auto strict = decompress(Codec::lz4, frame, 1 << 20);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error(), record_errc::corrupt_compressed);
  DecompressOptions legacy;
  legacy.lz4_legacy_header_checksum = true;
  auto lenient = decompress(Codec::lz4, frame, 1 << 20, legacy);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(*lenient, in);
  // A correct checksum is accepted with the option too.
  auto correct = decompress(Codec::lz4, *compress(Codec::lz4, in), 1 << 20, legacy);
  ASSERT_TRUE(correct.ok());
  EXPECT_EQ(*correct, in);
}

TEST(Codec, TruncatedInputIsAnErrorAtEveryLength) {
  const Bytes in = sample(20000);
  for (Codec c : kCompressed) {
    SCOPED_TRACE(name(c));
    const Bytes z = *compress(c, in);
    for (size_t cut = 0; cut < z.size(); ++cut) {
      // A xerial stream cut right after its 16-byte header is an empty stream (snappy-java reads it so).
      if (c == Codec::snappy && cut == 16) continue;
      auto r = decompress(c, ByteSpan(z).first(cut), 1 << 20);
      EXPECT_FALSE(r.ok()) << "cut at " << cut;
    }
  }
}

TEST(Codec, CorruptInputIsAnErrorNotACrash) {
  const Bytes garbage = random_bytes(5000, 99);
  for (Codec c : kCompressed) {
    SCOPED_TRACE(name(c));
    EXPECT_FALSE(decompress(c, garbage, 1 << 20).ok());
    // Flip every byte of a real payload: errors or (where the codec has no checksum over that
    // byte) other output, never a crash or an unbounded allocation.
    const Bytes z = *compress(c, sample(3000));
    size_t errors = 0;
    for (size_t i = 0; i < z.size(); ++i) {
      Bytes bad = z;
      bad[i] ^= 0x5a;
      auto r = decompress(c, bad, 1 << 16);
      if (!r.ok()) {
        ++errors;
      } else {
        EXPECT_LE(r->size(), size_t{1} << 16);
      }
    }
    EXPECT_GT(errors, 0u);
    // Header bytes are always checked.
    Bytes bad_magic = z;
    bad_magic[c == Codec::snappy ? 1 : 0] ^= 0xff;
    if (c != Codec::snappy) {
      EXPECT_FALSE(decompress(c, bad_magic, 1 << 20).ok());
    }
  }
  // A xerial chunk length past the end, and a chunk that is not snappy.
  Bytes x = *compress(Codec::snappy, sample(1000));
  x[16] = 0x7f;
  EXPECT_FALSE(decompress(Codec::snappy, x, 1 << 20).ok());
  // A gzip member followed by a corrupt second member.
  Bytes two = concat(*compress(Codec::gzip, sample(100)), Bytes{0x1f, 0x8b, 8, 0, 0xde, 0xad});
  EXPECT_FALSE(decompress(Codec::gzip, two, 1 << 20).ok());
}

TEST(Codec, DecompressionBombsStopAtTheBound) {
  const Bytes zeros(16 << 20, 0);
  constexpr size_t kLimit = 1 << 20;
  for (Codec c : kCompressed) {
    SCOPED_TRACE(name(c));
    const Bytes z = *compress(c, zeros);
    EXPECT_LT(z.size(), size_t{1} << 20);  // tiny input ...
    auto r = decompress(c, z, kLimit);     // ... expanding 16x past the bound
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), record_errc::output_limit);
  }
  // Raw snappy whose declared length is huge: refused before allocating.
  Bytes liar{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  auto r = decompress(Codec::snappy, liar, kLimit);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), record_errc::output_limit);
  // zstd frame declaring a content size over the bound: refused before allocating.
  const Bytes big = *compress(Codec::zstd, Bytes(2 << 20, 'a'));
  auto zr = decompress(Codec::zstd, big, kLimit);
  ASSERT_FALSE(zr.ok());
  EXPECT_EQ(zr.error(), record_errc::output_limit);
}

TEST(Codec, ErrorsHaveReadableMessages) {
  std::error_code ec = record_errc::record_too_large;
  EXPECT_EQ(std::string(ec.category().name()), "records");
  EXPECT_NE(ec.message().find("record too large"), std::string::npos);
  EXPECT_EQ(std::error_code(record_errc::output_limit).message(), "decompressed size exceeds the limit");
}

}  // namespace
}  // namespace tiermirror::pipeline
