#include "tiermirror/pipeline/repack.h"

#include <algorithm>

namespace tiermirror::pipeline {
namespace {

using protocol::Codec;
using protocol::RecordBatchView;
using protocol::TimestampType;
using View = RecordBatchView;

int64_t ts_diff(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }

}  // namespace

std::string_view to_string(RepackReason r) {
  switch (r) {
    case RepackReason::offset_gaps: return "offset_gaps";
    case RepackReason::empty: return "empty";
    case RepackReason::legacy_format: return "legacy_format";
    case RepackReason::too_large: return "too_large";
    case RepackReason::forced: return "forced";
  }
  return "unknown";
}

std::optional<RepackReason> needs_repack(const RecordBatchView& in, size_t max_batch_bytes) {
  if (in.is_legacy()) return RepackReason::legacy_format;
  if (in.available() < View::kHeaderSize || in.magic() != 2) return std::nullopt;  // the verdict's business
  const int32_t count = in.records_count();
  if (count == 0) return RepackReason::empty;
  if (static_cast<int64_t>(count) != static_cast<int64_t>(in.last_offset_delta()) + 1)
    return RepackReason::offset_gaps;
  if (in.codec() == Codec::none && in.check_inner_offsets() == protocol::InnerOffsets::gaps)
    return RepackReason::offset_gaps;
  if (in.size() > max_batch_bytes) return RepackReason::too_large;
  return std::nullopt;
}

Result<RepackResult> repack(const RecordBatchView& in, size_t max_batch_bytes, const RepackOptions& opts) {
  if (in.available() < View::kLogOverhead || in.available() < in.size()) return record_errc::truncated;
  RepackResult result;
  if (!in.is_legacy()) {
    if (in.available() <= View::kMagic || in.magic() != 2) return record_errc::unsupported_format;
    if (!in.crc_ok()) return in.batch_length() < View::kMinBatchLength ? record_errc::malformed : record_errc::crc_mismatch;
    // Control batches are dropped by the pipeline (rule 8), never re-encoded as data.
    if (in.is_control()) return record_errc::unsupported_format;
    if (in.records_count() == 0) {  // cleaner leftover: nothing to send
      result.next_source_offset = in.next_offset().value();
      return result;
    }
  }

  ParseOptions popts;
  popts.max_decompressed_bytes = opts.max_decompressed_bytes;
  auto parsed_r = parse_records(in, popts);
  if (!parsed_r) return parsed_r.error();
  const ParsedRecords& parsed = *parsed_r;
  const std::vector<Record>& recs = parsed.records;
  const size_t n = recs.size();

  // Source offsets this input stands for (see RepackResult::source_ranges).
  const int64_t first_source = in.is_legacy() ? parsed.offset_of(recs.front()) : in.base_offset();
  int64_t last_source = in.last_offset().value();
  for (const auto& r : recs) last_source = std::max(last_source, parsed.offset_of(r));
  result.next_source_offset = last_source + 1;

  BatchEncodeOptions eopts;
  eopts.codec = parsed.codec;
  eopts.timestamp_type = parsed.timestamp_type;
  if (parsed.timestamp_type == TimestampType::log_append_time) eopts.log_append_time = parsed.max_timestamp;

  auto abs_ts = [&](size_t i) { return parsed.create_timestamp_of(recs[i]); };

  // Budget in uncompressed record bytes per batch. For compressed output it starts from the input's
  // compression ratio and follows the ratio of the batches written so far; every batch is checked
  // after encoding and shrunk when it came out too large.
  const size_t payload_budget = max_batch_bytes > View::kHeaderSize ? max_batch_bytes - View::kHeaderSize : 0;
  auto budget_for_ratio = [&](double ratio) {
    if (parsed.codec == Codec::none) return payload_budget;
    ratio = std::clamp(ratio, 0.001, 1.0);
    const double budget = static_cast<double>(payload_budget) / ratio * 0.9;
    constexpr double kCap = static_cast<double>(size_t{1} << 62);  // no overflow converting back
    return std::max(payload_budget, static_cast<size_t>(std::min(budget, kCap)));
  };
  size_t raw_budget = budget_for_ratio(parsed.decompressed_bytes > 0
                                           ? static_cast<double>(parsed.stored_bytes) /
                                                 static_cast<double>(parsed.decompressed_bytes)
                                           : 1.0);

  int64_t range_start = first_source;
  size_t i = 0;
  while (i < n) {
    // Greedy group [i, j) by exact uncompressed record sizes as they will be written.
    size_t j = i;
    size_t acc = 0;
    while (j < n) {
      const size_t sz = encoded_record_size(recs[j], ts_diff(abs_ts(j), abs_ts(i)), static_cast<int32_t>(j - i));
      if (j > i && acc + sz > raw_budget) break;
      acc += sz;
      ++j;
    }
    for (;;) {
      auto enc = encode_records(std::span<const Record>(recs).subspan(i, j - i), parsed.base_timestamp, eopts);
      if (!enc) return enc.error();
      const size_t size = enc->size();
      if (size <= max_batch_bytes) {
        int64_t range_end = range_start;
        for (size_t k = i; k < j; ++k) range_end = std::max(range_end, parsed.offset_of(recs[k]));
        if (j == n) range_end = std::max(range_end, last_source);
        result.source_ranges.emplace_back(range_start, range_end);
        range_start = range_end + 1;
        result.batches.emplace_back(std::move(enc).value());
        result.records += static_cast<int64_t>(j - i);
        if (parsed.codec != Codec::none && acc > 0 && size > View::kHeaderSize)
          raw_budget = budget_for_ratio(static_cast<double>(size - View::kHeaderSize) / static_cast<double>(acc));
        i = j;
        break;
      }
      if (j - i == 1) return record_errc::record_too_large;
      // Shrink in proportion to the overshoot (at least one record fewer), then re-encode.
      const size_t count = j - i;
      const size_t scaled = static_cast<size_t>(static_cast<double>(count) * static_cast<double>(max_batch_bytes) /
                                                static_cast<double>(size) * 0.95);
      j = i + std::clamp<size_t>(scaled, 1, count - 1);
      acc = 0;
      for (size_t k = i; k < j; ++k)
        acc += encoded_record_size(recs[k], ts_diff(abs_ts(k), abs_ts(i)), static_cast<int32_t>(k - i));
    }
  }
  return result;
}

RepackedPieces repacked_pieces(const View& in, const RepackResult& r, SourceOffset from) {
  RepackedPieces out;
  out.source = BatchFacts{SourceOffset(in.base_offset()), in.last_offset(), 0, in.size(), -1, -1};
  std::vector<View> views;
  for (const auto& piece : r.batches) {
    views.emplace_back(BufferSlice(piece));
    out.source.records += views.back().records_count();
    if (out.source.base_timestamp < 0) out.source.base_timestamp = views.back().base_timestamp();
    out.source.max_timestamp = std::max(out.source.max_timestamp, views.back().max_timestamp());
  }
  if (!in.is_legacy()) {
    out.source.records = in.records_count();
    out.source.base_timestamp = in.base_timestamp();
    out.source.max_timestamp = in.max_timestamp();
  }
  for (size_t i = 0; i < views.size(); ++i) {
    SourceOffset first(r.source_ranges[i].first);
    SourceOffset last = i + 1 == views.size() ? in.last_offset() : SourceOffset(r.source_ranges[i].second);
    if (last < from) {
      out.earlier.push_back(BatchFacts{first, last, views[i].records_count(), views[i].size(),
                                       out.source.base_timestamp, out.source.max_timestamp});
    } else {
      out.send.push_back({first, last, views[i]});
    }
  }
  return out;
}

}  // namespace tiermirror::pipeline
