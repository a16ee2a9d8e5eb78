// Fuzzes the audit record parser: the audit topic is read from a cluster, so its records
// are untrusted input. Whatever parses must survive a write/parse round trip unchanged.
#include <cstdint>
#include <string_view>

#include "tiermirror/audit/model.h"

using namespace tiermirror;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto r = audit::from_json(text, &why);
  if (!r) return 0;
  auto again = audit::from_json(audit::to_json(*r));
  if (!again || !(*again == *r)) __builtin_trap();
  (void)r->latency.quantile(0.99);
  return 0;
}
