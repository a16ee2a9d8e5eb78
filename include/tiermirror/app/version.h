#pragma once
namespace tiermirror::app {
// Set from the CMake project version.
inline constexpr const char* kVersion = TIERMIRROR_VERSION;
}  // namespace tiermirror::app
