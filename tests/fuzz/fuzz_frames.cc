// Fuzzes the frame decoder and every response decoder at every supported version: no
// input may crash, read out of bounds or make a decoder allocate without bound.
#include <cstdint>
#include <cstring>

#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages.h"

using namespace tiermirror;
using namespace tiermirror::protocol;

namespace {

template <typename Msg>
void decode_all_versions(const SharedBuffer& frame, ApiKey api) {
  auto r = supported_versions(api);
  for (int16_t v = r.min; v <= r.max; ++v) {
    auto d = decode_response<Msg>(frame, api, v);
    if (d.ok() && d.consumed > frame.size()) __builtin_trap();
  }
}

template <typename Msg>
void decode_request_frame(const SharedBuffer& frame) {
  RequestHeader h;
  (void)decode_request<Msg>(frame, &h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: how the stream is chunked for the frame decoder; second: which decoder.
  size_t chunk = (data[0] % 16) + 1;
  uint8_t which = data[1];
  ByteSpan input(data + 2, size - 2);

  FrameDecoder dec(1 << 20);
  std::error_code ec;
  size_t pos = 0;
  while (pos < input.size() && !ec) {
    size_t n = std::min(chunk, input.size() - pos);
    size_t used = dec.put(input.subspan(pos, n), ec);
    if (used > n) __builtin_trap();
    pos += used;
    if (auto f = dec.pop()) {
      if (f->size() > (1u << 20)) __builtin_trap();
    } else if (used == 0 && !ec) {
      break;
    }
  }

  SharedBuffer frame = SharedBuffer::copy_of(input);
  switch (which % 12) {
    case 0: decode_all_versions<ApiVersionsResponse>(frame, ApiKey::api_versions); break;
    case 1: decode_all_versions<MetadataResponse>(frame, ApiKey::metadata); break;
    case 2: decode_all_versions<FetchResponse>(frame, ApiKey::fetch); break;
    case 3: decode_all_versions<ProduceResponse>(frame, ApiKey::produce); break;
    case 4: decode_all_versions<ListOffsetsResponse>(frame, ApiKey::list_offsets); break;
    case 5: decode_all_versions<FindCoordinatorResponse>(frame, ApiKey::find_coordinator); break;
    case 6: decode_all_versions<OffsetCommitResponse>(frame, ApiKey::offset_commit); break;
    case 7: decode_all_versions<OffsetFetchResponse>(frame, ApiKey::offset_fetch); break;
    case 8: decode_all_versions<InitProducerIdResponse>(frame, ApiKey::init_producer_id); break;
    case 9: decode_request_frame<ProduceRequest>(frame); break;
    case 10: decode_request_frame<FetchRequest>(frame); break;
    default: decode_request_frame<MetadataRequest>(frame); break;
  }
  return 0;
}
