#include "support/paths.h"

namespace tiermirror::test {
std::string fixture_path(const std::string& name) { return std::string(TIERMIRROR_FIXTURE_DIR) + "/" + name; }
std::string source_path(const std::string& relative) { return std::string(TIERMIRROR_SOURCE_DIR) + "/" + relative; }
}  // namespace tiermirror::test
