#pragma once
// Shared pieces of the message codecs (messages/*.h): array helpers that honour the
// Reader/Writer flexible switch, wire-size lower bounds for Reader::array_length, the
// version gate every decode starts with, and byte-wise comparison of record slices.
// Internal to the protocol layer; callers include tiermirror/protocol/messages.h.
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol::detail {

// Smallest encodings, used as min_element_size so that absurd array counts are refused
// before anything is allocated. Compact forms are smaller, and tagged-field sections
// only exist in flexible versions.
inline size_t min_string(const Reader& r) { return r.flexible() ? 1 : 2; }
inline size_t min_bytes(const Reader& r) { return r.flexible() ? 1 : 4; }
inline size_t min_array(const Reader& r) { return r.flexible() ? 1 : 4; }
inline size_t min_tags(const Reader& r) { return r.flexible() ? 1 : 0; }

/// True when `version` is one tiermirror speaks for `api`; otherwise marks the reader
/// failed with errc::unsupported_version (decoders read nothing then).
inline bool check_version(Reader& r, ApiKey api, int16_t version) {
  auto range = supported_versions(api);
  if (version < range.min || version > range.max) {
    r.fail(errc::unsupported_version, "api_version");
    return false;
  }
  return true;
}

/// Encoding a version outside supported_versions() is a caller bug (versions are
/// negotiated first); the codecs cannot report it, so it is asserted in debug builds.
inline void assert_version([[maybe_unused]] ApiKey api, [[maybe_unused]] int16_t version) {
  assert(version >= supported_versions(api).min && version <= supported_versions(api).max);
}

/// ARRAY / COMPACT_ARRAY of structs; `read_one(Reader&)` returns an element. A null
/// array where the schema does not allow one is malformed.
template <typename T, typename F>
std::vector<T> read_array(Reader& r, const char* field, size_t min_element_size, F&& read_one) {
  std::vector<T> out;
  int32_t n = r.array_length(field, min_element_size);
  if (!r.ok()) return out;
  if (n < 0) {
    r.fail(errc::malformed, field);
    return out;
  }
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(read_one(r));
  return out;
}

/// Nullable ARRAY: nullopt for null.
template <typename T, typename F>
std::optional<std::vector<T>> read_nullable_array(Reader& r, const char* field, size_t min_element_size,
                                                  F&& read_one) {
  int32_t n = r.array_length(field, min_element_size);
  if (!r.ok() || n < 0) return std::nullopt;
  std::vector<T> out;
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(read_one(r));
  return out;
}

template <typename T, typename F>
void write_array(Writer& w, const std::vector<T>& v, F&& write_one) {
  w.array_length(static_cast<int32_t>(v.size()));
  for (const auto& e : v) write_one(w, e);
}

template <typename T, typename F>
void write_nullable_array(Writer& w, const std::optional<std::vector<T>>& v, F&& write_one) {
  if (!v) {
    w.array_length(-1);
    return;
  }
  write_array(w, *v, std::forward<F>(write_one));
}

/// The shape most partition-level messages share: an array (`field`) of topics, each a name,
/// an array of partitions and (flexible versions) tagged fields. `read_partition(Reader&)`
/// returns one partition, which takes at least `partition_min` bytes.
template <typename Topic, typename F>
std::vector<Topic> read_topics(Reader& r, const char* field, size_t partition_min, F&& read_partition) {
  const size_t topic_min = min_string(r) + min_array(r) + min_tags(r);
  return read_array<Topic>(r, field, topic_min, [&](Reader& rr) {
    Topic t;
    t.name = rr.string("topics.name");
    t.partitions = read_array<typename decltype(t.partitions)::value_type>(rr, "topics.partitions", partition_min,
                                                                          read_partition);
    rr.tagged_fields("topics.tagged_fields");
    return t;
  });
}

/// The write side of read_topics: `write_partition(Writer&, const Partition&)`.
template <typename Topic, typename F>
void write_topics(Writer& w, const std::vector<Topic>& topics, F&& write_partition) {
  write_array(w, topics, [&](Writer& ww, const Topic& t) {
    ww.string(t.name);
    write_array(ww, t.partitions, write_partition);
    ww.empty_tagged_fields();
  });
}

inline std::vector<int32_t> read_int32_array(Reader& r, const char* field) {
  return read_array<int32_t>(r, field, 4, [field](Reader& rr) { return rr.i32(field); });
}
inline void write_int32_array(Writer& w, const std::vector<int32_t>& v) {
  write_array(w, v, [](Writer& ww, int32_t x) { ww.i32(x); });
}

/// Whether two slices hold the same bytes (not the same memory).
inline bool same_bytes(const BufferSlice& a, const BufferSlice& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

/// Whether two segment lists hold the same bytes once concatenated, however they are cut.
/// An empty list (null records) differs from a list of empty segments (empty records).
inline bool same_bytes(const std::vector<BufferSlice>& a, const std::vector<BufferSlice>& b) {
  if (a.empty() != b.empty()) return false;
  size_t ia = 0, ib = 0, oa = 0, ob = 0;
  for (;;) {
    while (ia < a.size() && oa == a[ia].size()) ++ia, oa = 0;
    while (ib < b.size() && ob == b[ib].size()) ++ib, ob = 0;
    if (ia == a.size() || ib == b.size()) return ia == a.size() && ib == b.size();
    size_t n = std::min(a[ia].size() - oa, b[ib].size() - ob);
    if (std::memcmp(a[ia].data() + oa, b[ib].data() + ob, n) != 0) return false;
    oa += n;
    ob += n;
  }
}

}  // namespace tiermirror::protocol::detail
