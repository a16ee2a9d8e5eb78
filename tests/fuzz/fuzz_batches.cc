// Fuzzes record-set splitting, batch verdicts, the inner-offset walk, the header rewrite
// and the produce-rules validator on arbitrary bytes.
#include <cstdint>

#include "tiermirror/protocol/produce_rules.h"
#include "tiermirror/protocol/record_batch.h"
#include "tiermirror/protocol/record_set.h"

using namespace tiermirror;
using namespace tiermirror::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BufferSlice records(SharedBuffer::copy_of(ByteSpan(data, size)));
  int64_t fetch_offset = size > 0 ? data[0] % 8 : 0;
  auto split = split_record_set(records, SourceOffset(fetch_offset));
  size_t total = 0;
  for (const auto& b : split.batches) {
    total += b.size();
    (void)b.verdict(1 << 20);
    (void)b.check_inner_offsets();
    (void)b.crc_ok();
    if (b.verdict() == BatchVerdict::ok) {
      auto h = rewrite_header(b, {ProducerId(1), ProducerEpoch(0), 0});
      Bytes out(h.begin(), h.end());
      out.insert(out.end(), b.records().span().begin(), b.records().span().end());
      if (!RecordBatchView::unowned(ByteSpan(out)).crc_ok()) __builtin_trap();
    }
  }
  if (total > size) __builtin_trap();
  std::vector<ProducePartitionInput> in{{"t", 0, ByteSpan(data, size)}};
  (void)validate_produce(7, std::nullopt, -1, in);
  return 0;
}
