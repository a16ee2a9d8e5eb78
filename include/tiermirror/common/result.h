#pragma once
// Result<T>: a value or an error_code, for the data path where exceptions are not used.
// (std::expected is C++23; GCC 12 in C++20 mode does not provide it.)
#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace tiermirror {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT: implicit by design
  Result(std::error_code ec) : v_(ec) { assert(ec); }       // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  Result(E e) : Result(std::error_code(make_error_code(e))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const std::error_code& error() const { return std::get<std::error_code>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, std::error_code> v_;
};

}  // namespace tiermirror
