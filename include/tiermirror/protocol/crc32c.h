#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of Kafka v2 record batches
// (DefaultRecordBatch.java, Crc32C.java). Chainable: crc32c(b, crc32c(a)) == crc32c(a + b), so a
// rewritten header and an untouched payload slice are checksummed without joining them.
#include <cstdint>

#include "tiermirror/common/buffer.h"

namespace tiermirror::protocol {

/// CRC-32C of `data`, continuing from `crc` (the result of a previous call; 0 to start).
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, else slicing-by-8 tables.
uint32_t crc32c(ByteSpan data, uint32_t crc = 0);

/// For any data D of `length` bytes: crc32c(D, a) ^ crc32c(D, b) == crc32c_shift(a ^ b, length).
/// (The CRC register is affine in its start state; this is the linear part, "advance by
/// `length` zero bytes", in O(log length).) It lets a header rewrite turn a batch's
/// verified CRC into the new one without reading the payload again.
uint32_t crc32c_shift(uint32_t v, uint64_t length);

namespace detail {
/// Both implementations, exposed so tests can compare them on any machine.
uint32_t crc32c_software(ByteSpan data, uint32_t crc = 0);
/// Only valid when crc32c_hardware_available(); never call it otherwise.
uint32_t crc32c_hardware(ByteSpan data, uint32_t crc = 0);
bool crc32c_hardware_available();
}  // namespace detail

}  // namespace tiermirror::protocol
