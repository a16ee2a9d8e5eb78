#pragma once
// Kafka's four record codecs, framed exactly as Kafka frames them. Used by the repack path only:
// forwarded batches are never decompressed.
//
//   gzip   a gzip stream (RFC 1952), what java.util.zip.GZIPOutputStream and librdkafka write.
//          Concatenated members are read like GZIPInputStream reads them; bytes after a member that
//          do not start another member are ignored, as GZIPInputStream.readTrailer ignores them.
//   snappy two framings exist on the wire:
//          - xerial (snappy-java SnappyOutputStream, what Kafka's Java producer writes through
//            clients/.../compress/SnappyFactory.wrapForOutput): "\x82SNAPPY\0", int32 BE version
//            (1), int32 BE compatible version (1), then chunks [int32 BE length][raw snappy block],
//            each block <= 32 KiB uncompressed (SnappyOutputStream.DEFAULT_BLOCK_SIZE);
//          - raw: one plain snappy block, what librdkafka writes
//            (rdkafka_msgset_writer.c rd_kafka_msgset_writer_compress_snappy ->
//            rd_kafka_snappy_compress_iov, no framing; the fixtures in
//            tests/fixtures/record_batches/snappy-*.bin are raw blocks).
//          Both readers accept both: librdkafka's rd_kafka_msgset_reader_decompress checks the
//          8-byte snappy-java magic and otherwise decodes a raw block; snappy-java's
//          SnappyInputStream.readHeader falls back to a raw block ("readFully") without the magic.
//          decompress() does the same; compress() writes xerial framing (what the Java client
//          writes, readable by every client).
//   lz4    the LZ4 frame format (KIP-57), through liblz4's LZ4F API: independent 64 KiB blocks, no
//          checksums, no content size (Kafka's KafkaLZ4BlockOutputStream and librdkafka's
//          rd_kafka_lz4_compress use the same choices). Legacy magic-0 messages were written with a
//          header checksum computed over the magic bytes too (the pre-KIP-57 bug): pass
//          DecompressOptions::lz4_legacy_header_checksum to accept them.
//   zstd   zstd frames (concatenation allowed), read with ZSTD_decompressStream so frames from
//          streaming compressors (no content size) decode.
//
// `max_output` bounds what decompression allocates: output beyond it is an error
// (record_errc::output_limit), never an unbounded allocation (decompression bombs).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/result.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::pipeline {

/// Errors of the record data path: decompression, record parsing, batch encoding, repack.
enum class record_errc {
  ok = 0,
  truncated,           // the bytes end inside a value, a record, a message or a compressed stream
  malformed,           // impossible lengths or varints, bytes left over, bad framing
  count_mismatch,      // recordsCount differs from the records that are there
  crc_mismatch,        // CRC-32C (v2) or CRC-32 (legacy message) does not match
  unknown_codec,       // codec bits 5-7, or a codec the message format cannot carry
  corrupt_compressed,  // the decompressor rejected the payload
  output_limit,        // decompressed output would exceed the caller's bound
  compress_failed,
  unsupported_format,  // unknown magic, nested compression, control batch given to repack
  record_too_large,    // one record alone does not fit the target's max.message.bytes
  empty_batch,         // encoding zero records (a broker rejects recordsCount 0)
};
const std::error_category& record_category();
inline std::error_code make_error_code(record_errc e) { return {static_cast<int>(e), record_category()}; }

struct DecompressOptions {
  /// LZ4 only: ignore the stored frame-descriptor checksum and use the correct one. Kafka before
  /// KIP-57 (0.8-0.9, magic 0) hashed the magic number into it; Kafka reads magic-0 LZ4 this way
  /// (KafkaLZ4BlockInputStream ignoreFlagDescriptorChecksum), librdkafka too
  /// (rd_kafka_lz4_decompress_fixup_bad_framing).
  bool lz4_legacy_header_checksum = false;
};

Result<Bytes> decompress(protocol::Codec codec, ByteSpan input, size_t max_output);
Result<Bytes> decompress(protocol::Codec codec, ByteSpan input, size_t max_output, const DecompressOptions& opts);

/// Compresses `input` as Kafka's Java producer would (snappy: xerial framing). Codec::none copies.
Result<Bytes> compress(protocol::Codec codec, ByteSpan input);

enum class SnappyFraming : uint8_t { xerial, raw };
/// Snappy with an explicit framing (raw = what librdkafka writes; tests and interop).
Result<Bytes> compress_snappy(ByteSpan input, SnappyFraming framing);
/// Whether a snappy payload starts with the snappy-java (xerial) stream header.
bool is_xerial_snappy(ByteSpan input);

namespace detail {
/// XXH32 (the LZ4 frame format's checksum), exposed for tests.
uint32_t xxh32(ByteSpan data, uint32_t seed = 0);
}  // namespace detail

}  // namespace tiermirror::pipeline

template <>
struct std::is_error_code_enum<tiermirror::pipeline::record_errc> : std::true_type {};
