#include "tiermirror/protocol/produce_check.h"

#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages/produce.h"

namespace tiermirror::protocol {

std::vector<std::string> ProduceRequestChecker::check(int16_t version, const Bytes& frame) {
  std::vector<std::string> out;
  if (frame.size() < 4) return {"a Produce request shorter than its size prefix"};
  SharedBuffer body(Bytes(frame.begin() + 4, frame.end()));
  RequestHeader header;
  auto decoded = decode_request<ProduceRequest>(body, &header);
  if (!decoded.ok()) return {"a Produce request that does not decode: " + decoded.error.describe()};
  if (!skip_.empty() && header.client_id && *header.client_id == skip_) return out;
  const auto& req = *decoded.value;
  // A partition's records may arrive as several slices; the rules read them as one run of bytes.
  std::vector<Bytes> joined;
  std::vector<ProducePartitionInput> inputs;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) {
      Bytes b;
      for (const auto& s : p.records) b.insert(b.end(), s.span().begin(), s.span().end());
      joined.push_back(std::move(b));
    }
  size_t i = 0;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) inputs.push_back({t.name, p.index, ByteSpan(joined[i++])});
  auto violations = validate_produce(version, req.transactional_id, req.acks, inputs);
  {
    std::lock_guard lk(mu_);
    auto seq = tracker_.observe(inputs);
    violations.insert(violations.end(), seq.begin(), seq.end());
  }
  for (const auto& v : violations) out.push_back(to_string(v));
  return out;
}

}  // namespace tiermirror::protocol
