#include <gtest/gtest.h>

#include "tiermirror/config/topics.h"

namespace tiermirror::config {
namespace {

TEST(TopicNames, Legality) {
  EXPECT_TRUE(is_legal_topic_name("orders"));
  EXPECT_TRUE(is_legal_topic_name("a.b_c-D9"));
  EXPECT_TRUE(is_legal_topic_name("..."));
  EXPECT_TRUE(is_legal_topic_name(std::string(249, 'x')));
  EXPECT_FALSE(is_legal_topic_name(std::string(250, 'x')));
  EXPECT_FALSE(is_legal_topic_name(""));
  EXPECT_FALSE(is_legal_topic_name("."));
  EXPECT_FALSE(is_legal_topic_name(".."));
  EXPECT_FALSE(is_legal_topic_name("a b"));
  EXPECT_FALSE(is_legal_topic_name("orders*"));
  EXPECT_FALSE(is_legal_topic_name("caf\xc3\xa9"));
  EXPECT_NE(topic_name_problem("a\tb").find("\\x09"), std::string::npos);
}

TEST(TopicPattern, RegexMatchesWholeName) {
  auto p = TopicPattern::regex("metrics\\..*");
  EXPECT_TRUE(p.matches("metrics.cpu"));
  EXPECT_TRUE(p.matches("metrics."));
  EXPECT_FALSE(p.matches("xmetrics.cpu"));  // full match, not search
  EXPECT_FALSE(p.matches("metrics"));
  auto q = TopicPattern::regex("orders");
  EXPECT_TRUE(q.matches("orders"));
  EXPECT_FALSE(q.matches("orders-eu"));
  EXPECT_FALSE(q.matches("old-orders"));
  EXPECT_EQ(p.describe(), "regex 'metrics\\..*'");
  EXPECT_THROW(TopicPattern::regex("a(b"), std::regex_error);
}

// libstdc++ reads these numbers into an int unchecked (UBSan, found by fuzz_config): they are
// refused before its compiler sees them, with the error polynomial mode or a count gives.
TEST(TopicPattern, HugeBackReferencesAndCountsAreRefusedBeforeCompiling) {
  auto code = [](const std::string& re) {
    try {
      TopicPattern::regex(re);
    } catch (const std::regex_error& e) {
      return e.code();
    }
    return std::regex_constants::error_type{};
  };
  EXPECT_EQ(code("a\\8888888888888888888888"), std::regex_constants::error_complexity);
  EXPECT_EQ(code("(a)\\1"), std::regex_constants::error_complexity);
  EXPECT_EQ(code("a{99999999999}"), std::regex_constants::error_badbrace);
  EXPECT_EQ(code("a{1,99999999999}"), std::regex_constants::error_badbrace);
  EXPECT_NO_THROW(TopicPattern::regex("a{1,249}"));
  EXPECT_NO_THROW(TopicPattern::regex("metrics\\\\8"));  // an escaped backslash, then a literal 8
  EXPECT_NO_THROW(TopicPattern::regex("orders\\.v2"));
}

TEST(TopicPattern, ExactIsLiteral) {
  auto p = TopicPattern::exact("a.b");
  EXPECT_TRUE(p.matches("a.b"));
  EXPECT_FALSE(p.matches("aXb"));  // '.' is not a wildcard in an exact name
  EXPECT_EQ(p.describe(), "'a.b'");
}

TEST(TopicSelection, IncludeMinusExclude) {
  TopicSelection s;
  s.include.push_back(TopicPattern::exact("orders"));
  s.include.push_back(TopicPattern::regex("metrics\\..*"));
  s.exclude.push_back(TopicPattern::regex(".*\\.tmp"));
  s.exclude.push_back(TopicPattern::exact("metrics.secret"));
  EXPECT_TRUE(s.matches("orders"));
  EXPECT_TRUE(s.matches("metrics.cpu"));
  EXPECT_FALSE(s.matches("metrics.cpu.tmp"));
  EXPECT_FALSE(s.matches("metrics.secret"));
  EXPECT_FALSE(s.matches("payments"));
  EXPECT_FALSE(s.matches(""));
  ASSERT_NE(s.excluded_by("metrics.secret"), nullptr);
  EXPECT_EQ(s.excluded_by("metrics.secret")->text(), "metrics.secret");
  EXPECT_EQ(s.included_by("metrics.cpu")->text(), "metrics\\..*");
  TopicSelection empty;
  EXPECT_FALSE(empty.matches("orders"));
}

}  // namespace
}  // namespace tiermirror::config
