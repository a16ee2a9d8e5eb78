#pragma once
// The topic whitelist of a route: include/exclude items, each an exact topic name or an
// ECMAScript regular expression that must match the WHOLE topic name (MirrorMaker semantics).
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace tiermirror::config {

/// Kafka's rule for topic names: 1..249 characters from [a-zA-Z0-9._-], not "." or "..".
bool is_legal_topic_name(std::string_view name);
/// Why `name` is not a legal topic name ("contains ' '", "is longer than 249 characters"...),
/// or "" when it is legal.
std::string topic_name_problem(std::string_view name);

class TopicPattern {
 public:
  enum class Kind { exact, regex };

  /// An exact topic name.
  static TopicPattern exact(std::string name);
  /// A regular expression (ECMAScript, whole-name match). Throws std::regex_error if invalid,
  /// with error_complexity for a back-reference and error_space when the pattern is too large.
  /// Matching takes time linear in the topic name's length (never exponential).
  static TopicPattern regex(std::string source);

  Kind kind() const { return kind_; }
  bool is_regex() const { return kind_ == Kind::regex; }
  /// The topic name, or the regular expression's source text.
  const std::string& text() const { return text_; }
  /// Where the item was written in the config (1-based; 0 when built in code).
  int line = 0;
  int column = 0;

  bool matches(std::string_view topic) const;
  /// "'orders'" or "regex 'orders\..*'", for messages.
  std::string describe() const;

 private:
  Kind kind_ = Kind::exact;
  std::string text_;
  std::regex re_;
};

struct TopicSelection {
  std::vector<TopicPattern> include;
  std::vector<TopicPattern> exclude;

  /// Included by some include item and excluded by no exclude item.
  bool matches(std::string_view topic) const;
  /// The first include item that matches `topic`, or nullptr.
  const TopicPattern* included_by(std::string_view topic) const;
  /// The first exclude item that matches `topic`, or nullptr.
  const TopicPattern* excluded_by(std::string_view topic) const;
};

}  // namespace tiermirror::config
