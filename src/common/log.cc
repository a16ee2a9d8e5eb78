#include "tiermirror/common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace tiermirror::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::text};

std::shared_ptr<spdlog::logger> logger() {
  // spdlog gives us a thread-safe stderr sink; we render the line ourselves.
  static std::shared_ptr<spdlog::logger> l = [] {
    auto lg = spdlog::stderr_logger_mt("tiermirror");
    lg->set_pattern("%v");
    lg->set_level(spdlog::level::trace);
    lg->flush_on(spdlog::level::trace);
    return lg;
  }();
  return l;
}

void append_escaped(std::string& out, std::string_view s, bool json) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, json ? "\\u%04x" : "\\x%02x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];  // room for any int the format could print (-Wformat-truncation)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::optional<Level> parse_level(std::string_view s) {
  if (s == "trace") return Level::trace;
  if (s == "debug") return Level::debug;
  if (s == "info") return Level::info;
  if (s == "warn" || s == "warning") return Level::warn;
  if (s == "error") return Level::error;
  if (s == "off") return Level::off;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view s) {
  if (s == "text") return Format::text;
  if (s == "json") return Format::json;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "?";
}

void init(Level level, Format format) {
  g_level = level;
  g_format = format;
  logger();
}

Level current_level() { return g_level.load(std::memory_order_relaxed); }

std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::json) {
    out += "{\"ts\":\"" + timestamp() + "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"component\":\"";
    append_escaped(out, component, true);
    out += "\",\"msg\":\"";
    append_escaped(out, message, true);
    out += '"';
    for (const auto& f : fields) {
      out += ",\"";
      append_escaped(out, f.key, true);
      out += "\":";
      if (f.quoted) out += '"';
      append_escaped(out, f.value, true);
      if (f.quoted) out += '"';
    }
    out += '}';
  } else {
    out += timestamp();
    out += " level=";
    out += level_name(level);
    out += " component=";
    out += component;
    out += " msg=\"";
    append_escaped(out, message, false);
    out += '"';
    for (const auto& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      bool q = needs_quotes(f.value);
      if (q) out += '"';
      append_escaped(out, f.value, false);
      if (q) out += '"';
    }
  }
  return out;
}

void write(Level level, std::string_view component, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  logger()->info(render(g_format.load(), level, component, message, fields));
}

}  // namespace tiermirror::log
