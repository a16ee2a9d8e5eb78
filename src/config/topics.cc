#include "tiermirror/config/topics.h"

#include <algorithm>
#include <cctype>
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
  // Topic regexes come from operators' files and are matched against every topic name a cluster
  // reports, so a match must never take exponential time: a backtracking matcher needs ~2^n steps
  // for '(a*)*b' against n 'a's, and the route would hang on its first metadata refresh.
  // libstdc++'s polynomial mode (an extension, see <bits/regex_constants.h>) matches with a
  // Thompson NFA: time linear in the name's length times the pattern's size. It refuses
  // back-references (error_complexity). The pattern's size is bounded by libstdc++'s NFA state
  // limit (error_space). nosubs: only whole-name matches are needed, so no capture copies.
  auto flags = std::regex::ECMAScript | std::regex::nosubs;
#if defined(__GLIBCXX__)
  flags |= std::regex_constants::__polynomial;
#endif
  // libstdc++ parses a back-reference's number, and a {n,m} count, into an int without an
  // overflow check (UBSan, found by fuzz_config): refuse what polynomial mode would refuse
  // anyway (back-references) and counts no topic name can use, before the compiler sees them.
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\\' && i + 1 < source.size()) {
      if (source[i + 1] >= '1' && source[i + 1] <= '9') throw std::regex_error(std::regex_constants::error_complexity);
      ++i;  // an escaped character, '\\' included
      continue;
    }
    if (source[i] != '{') continue;
    size_t run = 0, longest = 0;
    for (size_t j = i + 1; j < source.size() && source[j] != '}'; ++j) {
      run = std::isdigit(static_cast<unsigned char>(source[j])) ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    if (longest > 6) throw std::regex_error(std::regex_constants::error_badbrace);
  }
  p.re_ = std::regex(source, flags);  // throws std::regex_error
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
