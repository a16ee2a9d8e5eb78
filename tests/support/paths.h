#pragma once
#include <string>

namespace tiermirror::test {
/// Absolute path of a file under tests/fixtures.
std::string fixture_path(const std::string& name);
/// Absolute path of the repository root.
std::string source_path(const std::string& relative);
}  // namespace tiermirror::test
