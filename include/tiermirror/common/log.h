#pragma once
// Structured logging on stderr: one line per event, `key=value` text or JSON lines,
// both friendly to journald. stdout stays for command output.
// Never pass payload bytes, keys or values of records here.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace tiermirror::log {

enum class Level { trace, debug, info, warn, error, off };
enum class Format { text, json };

std::optional<Level> parse_level(std::string_view s);
std::optional<Format> parse_format(std::string_view s);
std::string_view level_name(Level l);

/// Configure the process-wide logger. Safe to call again (reload).
void init(Level level, Format format);
Level current_level();
inline bool enabled(Level l) { return l >= current_level() && l != Level::off; }

struct Field {
  std::string_view key;
  std::string value;
  bool quoted = true;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N> && !std::is_same_v<N, bool>>>
  Field(std::string_view k, N n) : key(k), value(std::to_string(n)), quoted(false) {}
  Field(std::string_view k, bool b) : key(k), value(b ? "true" : "false"), quoted(false) {}
};

void write(Level level, std::string_view component, std::string_view message,
           std::initializer_list<Field> fields = {});

/// Renders one line without writing it (used by write and by tests).
std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields);

#define TM_LOG_(lvl, component, msg, ...)                                                     \
  do {                                                                                         \
    if (::tiermirror::log::enabled(lvl)) ::tiermirror::log::write(lvl, component, msg, ##__VA_ARGS__); \
  } while (0)
#define TM_DEBUG(component, msg, ...) TM_LOG_(::tiermirror::log::Level::debug, component, msg, ##__VA_ARGS__)
#define TM_INFO(component, msg, ...) TM_LOG_(::tiermirror::log::Level::info, component, msg, ##__VA_ARGS__)
#define TM_WARN(component, msg, ...) TM_LOG_(::tiermirror::log::Level::warn, component, msg, ##__VA_ARGS__)
#define TM_ERROR(component, msg, ...) TM_LOG_(::tiermirror::log::Level::error, component, msg, ##__VA_ARGS__)

}  // namespace tiermirror::log
