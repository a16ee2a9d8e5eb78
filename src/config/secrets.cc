// SASL passwords are read only here, at connect time (and once by validation, which discards
// the value). Nothing in this file puts a password into a message.
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tiermirror/common/errors.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {

Result<std::string> read_password(const SaslConfig& sasl) {
  std::string value;
  if (!sasl.password_file.empty()) {
    std::error_code fs_ec;
    if (std::filesystem::is_directory(sasl.password_file, fs_ec)) {
      return std::error_code(EISDIR, std::generic_category());
    }
    errno = 0;
    std::ifstream in(sasl.password_file, std::ios::binary);
    if (!in) {
      int e = errno != 0 ? errno : EIO;
      return std::error_code(e, std::generic_category());
    }
    value.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      std::fill(value.begin(), value.end(), '\0');
      return std::error_code(EIO, std::generic_category());
    }
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  } else if (!sasl.password_env.empty()) {
    const char* v = std::getenv(sasl.password_env.c_str());
    if (v == nullptr) return make_error_code(errc::invalid_argument);
    value = v;
  } else {
    return make_error_code(errc::invalid_argument);
  }
  if (value.empty()) return make_error_code(errc::invalid_argument);
  return value;
}

}  // namespace tiermirror::config
