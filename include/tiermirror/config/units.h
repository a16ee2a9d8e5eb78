#pragma once
// Human units in the config: sizes ("64MiB", "10MB", "1024") and durations ("30s", "1h30m").
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiermirror::config {

/// Parses a byte size: a non-negative integer or decimal number followed by an optional,
/// case-insensitive unit: B, KB/MB/GB/TB/PB (powers of 1000) or KiB/MiB/GiB/TiB/PiB (powers
/// of 1024). No unit means bytes. The result must be a whole number of bytes that fits in
/// 64 bits ("1.5KiB" = 1536 is fine, "0.5B" is not). No sign, no spaces.
/// Returns nullopt for anything else (negative, overflow, unknown unit, empty).
std::optional<uint64_t> parse_size(std::string_view s);

/// Parses a duration: one or more <number><unit> parts with units d, h, m, s, ms, each at most
/// once and largest first ("1h30m", "1d", "500ms", "1.5s"). A plain number has no unit and is
/// rejected, as are signs, spaces, unknown units, and results that are not a whole number of
/// milliseconds or overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

/// Shortest exact rendering in the units above: 8388608 → "8MiB", 1000 → "1000" (bytes),
/// 5400000ms → "1h30m", 0 → "0s". parse_size/parse_duration accept what these print.
std::string format_size(uint64_t bytes);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace tiermirror::config
