// Garbage in, diagnostics out: inputs found by tests/fuzz/fuzz_config and the other shapes of
// text no operator means to write (binary bytes, huge files, deep nesting, pathological regexes).
// Each must give a clear diagnostic quickly and in bounded memory, never a crash or a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/paths.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {
namespace {

using test::fixture_path;

std::string dump(const std::vector<Diagnostic>& errors) {
  std::string r;
  for (const auto& d : errors) r += format_diagnostic("cfg", d) + "\n";
  return r;
}

const char* kMinimal = R"(route:
  name: r1
source:
  name: a
  bootstrap_servers: [localhost:9092]
target:
  name: b
  bootstrap_servers: [localhost:9093]
)";

std::string with_topics(const std::string& topics) { return std::string(kMinimal) + "topics:\n" + topics; }

// yaml-cpp 0.7's LoadAll never returned on a document starting with ',' and kept one more null
// document per turn: fuzz_config's out-of-memory (2 GiB in ~20 s). Found as the fixture below.
TEST(HostileInput, StrayCommaIsASyntaxErrorNotAnEndlessLoop) {
  for (const char* text : {",", ", x", ",a: b", "---\nroute: {name: r}\n---\n,\n"}) {
    auto r = load_string(text, "");
    ASSERT_EQ(r.errors.size(), 1u) << text << "\n" << dump(r.errors);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.errors[0].message, "YAML syntax error: unexpected ','") << text;
    EXPECT_GE(r.errors[0].line, 1) << text;
  }
  auto r = load_string("\n\n  ,\n", "");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 3);
}

TEST(HostileInput, FuzzerOutOfMemoryInputGivesOneSyntaxError) {
  auto r = load_file(fixture_path("config/fuzz_oom_stray_comma.yaml"));
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos) << dump(r.errors);
}

TEST(HostileInput, DocumentsAreStillCountedAndPlaced) {
  auto r = load_string(with_topics("  include: [orders]\n") + "---\nroute: {name: r2}\n---\n", "");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].message, "expected one YAML document, found 3 (separated by '---')");
  EXPECT_EQ(r.errors[0].line, 11);
  EXPECT_TRUE(load_string(with_topics("  include: [orders]\n") + "...\n", "").ok());
}

TEST(HostileInput, BinaryGarbageGivesDiagnostics) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  std::string nuls(1000, '\0');
  std::string utf16_bom = "\xff\xfer\0o\0u\0t\0e\0:\0";
  std::string elf = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0";
  for (const std::string& text : {all_bytes, nuls, utf16_bom, elf, std::string(kMinimal) + all_bytes}) {
    auto r = load_string(text, "");
    EXPECT_FALSE(r.ok());
    ASSERT_FALSE(r.errors.empty());
    for (const auto& d : r.errors) EXPECT_FALSE(d.message.empty());
  }
}

TEST(HostileInput, DeepNestingIsRefusedByTheParserNotByTheStack) {
  // yaml-cpp 0.7 refuses nesting deeper than 500 (DeepRecursion, a ParserException saying only
  // "bad file") before its recursive descent could exhaust the stack: 100000 levels give one
  // diagnostic that says what is wrong. 400 levels parse (and are then the wrong shape).
  for (const auto& [open, close] : {std::pair{"[", "]"}, std::pair{"{a: ", "}"}, std::pair{"- ", ""}}) {
    std::string text;
    for (int i = 0; i < 100000; ++i) text += open;
    text += "x";
    for (int i = 0; i < 100000; ++i) text += close;
    auto r = load_string(text, "");
    ASSERT_EQ(r.errors.size(), 1u) << open << dump(r.errors);
    EXPECT_EQ(r.errors[0].message, "YAML syntax error: values nested too deeply (the parser stops at 500 levels)")
        << open;
    EXPECT_EQ(r.errors[0].line, 1) << open;
  }
  std::string indented;
  for (int i = 0; i < 5000; ++i) indented += std::string(static_cast<size_t>(i), ' ') + "a:\n";
  auto r = load_string(indented, "");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_NE(r.errors[0].message.find("nested too deeply"), std::string::npos) << dump(r.errors);

  std::string list_400 = std::string(400, '[') + std::string(400, ']');
  auto shallow = load_string(list_400, "");
  ASSERT_EQ(shallow.errors.size(), 1u) << dump(shallow.errors);
  EXPECT_NE(shallow.errors[0].message.find("expected a map of keys"), std::string::npos) << dump(shallow.errors);
}

TEST(HostileInput, HugeValuesAreShortenedInMessages) {
  std::string name(4 << 20, 'x');
  name += ' ';
  auto r = load_string("route: {name: '" + name + "'}\n", "");
  ASSERT_FALSE(r.ok());
  for (const auto& d : r.errors) EXPECT_LT(d.message.size(), 1000u) << d.path;
}

TEST(HostileInput, HugeFileIsRefusedBeforeReadingItAll) {
  auto dir = std::filesystem::temp_directory_path() / ("tiermirror-huge-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "huge.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    out << kMinimal << "topics:\n  include: [orders]\n";
    std::string comment = "# " + std::string(1 << 20, 'c') + "\n";
    for (uint64_t written = 0; written <= kMaxConfigBytes; written += comment.size()) out << comment;
  }
  auto r = load_file(path.string());
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].message, "cannot read config file: it is larger than 16 MiB (is it a config file?)");

  // A device that never ends is refused the same way.
  auto zero = load_file("/dev/zero");
  ASSERT_EQ(zero.errors.size(), 1u) << dump(zero.errors);
  EXPECT_NE(zero.errors[0].message.find("larger than 16 MiB"), std::string::npos);
}

TEST(HostileInput, CatastrophicBacktrackingRegexMatchesInLinearTime) {
  // A backtracking matcher takes ~2^n steps for '(a*)*b' on n 'a's: 30 would already take
  // minutes, 249 (the longest topic name) forever. Both happen at load (exclude vs include)
  // and on every topic name the source reports.
  auto r = load_string(with_topics("  include: [" + std::string(249, 'a') + ", {regex: '(\\w+\\.?)*x'}]\n"
                                   "  exclude: [{regex: '(a*)*b'}, {regex: '(a|aa)*c'}]\n"),
                       "");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(r.config->topics.matches(std::string(249, 'a')));
  EXPECT_FALSE(r.config->topics.matches(std::string(248, 'a') + "!"));
  EXPECT_TRUE(r.config->topics.matches("metrics.cpu.x"));
  EXPECT_FALSE(r.config->topics.matches(std::string(240, 'w') + ".y"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HostileInput, RegexBackReferencesAndHugeRepetitionsAreRefused) {
  auto r = load_string(with_topics("  include:\n"
                                   "    - {regex: '(a)\\1'}\n"
                                   "    - {regex: '(x{1000}){1000}'}\n"),
                       "");
  ASSERT_EQ(r.errors.size(), 2u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "topics.include[0].regex");
  EXPECT_EQ(r.errors[0].line, 11);
  EXPECT_EQ(r.errors[0].message,
            "invalid regular expression '(a)\\1': back-references (\\1) are not supported in topic regexes");
  EXPECT_EQ(r.errors[1].path, "topics.include[1].regex");
  EXPECT_EQ(r.errors[1].line, 12);
  EXPECT_NE(r.errors[1].message.find("the pattern is too large"), std::string::npos) << dump(r.errors);
}

}  // namespace
}  // namespace tiermirror::config
