#include "tiermirror/common/log.h"

#include <gtest/gtest.h>

namespace tiermirror::log {
namespace {

TEST(Log, TextLineIsKeyValue) {
  auto line = render(Format::text, Level::warn, "net", "connect failed", {{"broker", 3}, {"addr", "a b"}});
  EXPECT_NE(line.find(" level=warn component=net msg=\"connect failed\" broker=3 addr=\"a b\""), std::string::npos)
      << line;
}

TEST(Log, JsonLineEscapes) {
  auto line = render(Format::json, Level::error, "config", "bad \"value\"\n", {{"line", 4}, {"key", "x\ty"}});
  EXPECT_NE(line.find("\"msg\":\"bad \\\"value\\\"\\n\",\"line\":4,\"key\":\"x\\ty\"}"), std::string::npos) << line;
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("warning"), Level::warn);
  EXPECT_FALSE(parse_level("loud").has_value());
  EXPECT_EQ(parse_format("json"), Format::json);
}

}  // namespace
}  // namespace tiermirror::log
