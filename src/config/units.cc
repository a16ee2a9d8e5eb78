#include "tiermirror/config/units.h"

#include <array>
#include <cctype>
#include <limits>

namespace tiermirror::config {
namespace {

using u128 = unsigned __int128;

// A non-negative decimal number "123" or "1.25": mantissa (digits without the point) and the
// number of digits after the point. Consumes from `s` starting at `pos`.
struct Decimal {
  u128 mantissa = 0;
  int frac_digits = 0;
};

std::optional<Decimal> parse_decimal(std::string_view s, size_t& pos) {
  Decimal d;
  size_t start = pos;
  int digits = 0;
  auto take_digits = [&](bool frac) {
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++digits > 36) return size_t{0} - 1;  // would overflow 128 bits; reject
      d.mantissa = d.mantissa * 10 + static_cast<unsigned>(s[pos] - '0');
      if (frac) ++d.frac_digits;
      ++pos;
      ++n;
    }
    return n;
  };
  size_t int_digits = take_digits(false);
  if (int_digits == 0 || int_digits == size_t{0} - 1) return std::nullopt;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t f = take_digits(true);
    if (f == 0 || f == size_t{0} - 1) return std::nullopt;
  }
  if (pos == start) return std::nullopt;
  return d;
}

u128 pow10(int n) {
  u128 r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

// value * unit as a whole number, or nullopt if not whole or above `max`.
std::optional<u128> scale(const Decimal& d, u128 unit, u128 max) {
  if (d.mantissa != 0 && unit > std::numeric_limits<u128>::max() / d.mantissa) return std::nullopt;
  u128 product = d.mantissa * unit;
  u128 div = pow10(d.frac_digits);
  if (product % div != 0) return std::nullopt;
  u128 v = product / div;
  if (v > max) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

struct SizeUnit {
  std::string_view name;  // lower case
  uint64_t bytes;
};
constexpr uint64_t K2 = 1024;
constexpr std::array<SizeUnit, 12> kSizeUnits{{
    {"", 1},
    {"b", 1},
    {"kb", 1000ULL},
    {"mb", 1000ULL * 1000},
    {"gb", 1000ULL * 1000 * 1000},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
    {"pb", 1000ULL * 1000 * 1000 * 1000 * 1000},
    {"kib", K2},
    {"mib", K2 * K2},
    {"gib", K2 * K2 * K2},
    {"tib", K2 * K2 * K2 * K2},
    {"pib", K2 * K2 * K2 * K2 * K2},
}};

struct DurationUnit {
  std::string_view name;
  int64_t ms;
};
// Largest first: a duration's parts must appear in this order.
constexpr std::array<DurationUnit, 5> kDurationUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

}  // namespace

std::optional<uint64_t> parse_size(std::string_view s) {
  size_t pos = 0;
  auto d = parse_decimal(s, pos);
  if (!d) return std::nullopt;
  std::string unit = lower(s.substr(pos));
  for (const auto& u : kSizeUnits) {
    if (unit == u.name) {
      auto v = scale(*d, u.bytes, std::numeric_limits<uint64_t>::max());
      if (!v) return std::nullopt;
      return static_cast<uint64_t>(*v);
    }
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t pos = 0;
  size_t next_rank = 0;  // index in kDurationUnits of the largest unit still allowed
  u128 total = 0;
  const u128 max = static_cast<u128>(std::numeric_limits<int64_t>::max());
  while (pos < s.size()) {
    auto d = parse_decimal(s, pos);
    if (!d) return std::nullopt;
    size_t unit_start = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    std::string_view unit = s.substr(unit_start, pos - unit_start);
    if (unit.empty()) return std::nullopt;  // a bare number has no unit
    size_t rank = kDurationUnits.size();
    for (size_t i = 0; i < kDurationUnits.size(); ++i) {
      if (kDurationUnits[i].name == unit) rank = i;
    }
    if (rank == kDurationUnits.size() || rank < next_rank) return std::nullopt;
    next_rank = rank + 1;
    auto v = scale(*d, static_cast<u128>(kDurationUnits[rank].ms), max);
    if (!v) return std::nullopt;
    total += *v;
    if (total > max) return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  // Binary units first (the config's defaults are binary), then decimal, then plain bytes.
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 10> units{{
      {"PiB", K2 * K2 * K2 * K2 * K2},
      {"TiB", K2 * K2 * K2 * K2},
      {"GiB", K2 * K2 * K2},
      {"MiB", K2 * K2},
      {"KiB", K2},
      {"PB", 1000ULL * 1000 * 1000 * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"MB", 1000ULL * 1000},
      {"KB", 1000ULL},
  }};
  for (const auto& [name, size] : units) {
    if (bytes % size == 0) return std::to_string(bytes / size) + std::string(name);
  }
  return std::to_string(bytes);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  uint64_t rest;
  if (ms < 0) {
    out = "-";
    rest = static_cast<uint64_t>(-(ms + 1)) + 1;
  } else {
    rest = static_cast<uint64_t>(ms);
  }
  for (const auto& u : kDurationUnits) {
    uint64_t n = rest / static_cast<uint64_t>(u.ms);
    if (n != 0) {
      out += std::to_string(n);
      out += u.name;
      rest -= n * static_cast<uint64_t>(u.ms);
    }
  }
  return out;
}

}  // namespace tiermirror::config
