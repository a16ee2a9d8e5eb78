// Fuzzes the config loader: operators write config files by hand, and `run` re-reads them on
// SIGHUP, so any text must give either a Config or diagnostics, never a crash, a hang or
// unbounded memory. A Config comes only without diagnostics, and every diagnostic formats.
#include <cstdint>
#include <string_view>

#include "tiermirror/config/config.h"

using namespace tiermirror;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = config::load_string(text, "/nonexistent-fuzz-base");
  if (r.ok() != r.errors.empty()) __builtin_trap();
  if (r.config.has_value() != r.errors.empty()) __builtin_trap();
  for (const auto& d : r.errors) {
    if (d.message.empty()) __builtin_trap();
    (void)config::format_diagnostic("fuzz.yaml", d);
  }
  if (r.config) {
    // A loaded selection is usable: matching a name must not throw or crash.
    (void)r.config->topics.matches("orders");
    (void)r.config->topics.matches(std::string(249, 'a'));
  }
  return 0;
}
