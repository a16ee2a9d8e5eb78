#include "tiermirror/config/topics.h"

#include <cstdio>

namespace tiermirror::config {

namespace {
bool legal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "'.' and '..' are not allowed as topic names";
  if (name.size() > 249) return "is longer than 249 characters";
  for (char c : name) {
    if (!legal_char(c)) {
      std::string shown;
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
        shown = buf;
      } else {
        shown = std::string(1, c);
      }
      return "contains '" + shown + "' (topic names may only use letters, digits, '.', '_' and '-')";
    }
  }
  return "";
}

bool is_legal_topic_name(std::string_view name) { return topic_name_problem(name).empty(); }

TopicPattern TopicPattern::exact(std::string name) {
  TopicPattern p;
  p.kind_ = Kind::exact;
  p.text_ = std::move(name);
  return p;
}

TopicPattern TopicPattern::regex(std::string source) {
  TopicPattern p;
  p.kind_ = Kind::regex;
  p.re_ = std::regex(source, std::regex::ECMAScript);  // throws std::regex_error
  p.text_ = std::move(source);
  return p;
}

bool TopicPattern::matches(std::string_view topic) const {
  if (kind_ == Kind::exact) return topic == text_;
  return std::regex_match(topic.begin(), topic.end(), re_);
}

std::string TopicPattern::describe() const {
  return (kind_ == Kind::regex ? "regex '" : "'") + text_ + "'";
}

const TopicPattern* TopicSelection::included_by(std::string_view topic) const {
  for (const auto& p : include) {
    if (p.matches(topic)) return &p;
  }
  return nullptr;
}

const TopicPattern* TopicSelection::excluded_by(std::string_view topic) const {
  for (const auto& p : exclude) {
    if (p.matches(topic)) return &p;
  }
  return nullptr;
}

bool TopicSelection::matches(std::string_view topic) const {
  return included_by(topic) != nullptr && excluded_by(topic) == nullptr;
}

}  // namespace tiermirror::config
