// Passwords: read at connect time, and never part of any diagnostic.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/paths.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {
namespace {

constexpr std::string_view kCanary = "CANARY-7f3a9c";  // inside tests/fixtures/config/source.password

TEST(Secrets, NeverInDiagnostics) {
  // The fixture has a valid password file holding the canary, the canary pasted as an inline
  // `password:` and as password_env, and several unrelated errors.
  auto r = load_file(test::fixture_path("config/secret_with_errors.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_GE(r.errors.size(), 5u);
  bool saw_inline = false, saw_env = false;
  for (const auto& d : r.errors) {
    std::string line = format_diagnostic("secret_with_errors.yaml", d);
    EXPECT_EQ(line.find(kCanary), std::string::npos) << line;
    if (d.path == "source.security.sasl.password") saw_inline = true;
    if (d.path == "target.security.sasl.password_env") saw_env = true;
  }
  EXPECT_TRUE(saw_inline);
  EXPECT_TRUE(saw_env);
}

TEST(Secrets, NeverInTheConfig) {
  std::string yaml = R"(route: {name: r1}
source:
  name: a
  bootstrap_servers: [localhost:9092]
  security:
    protocol: sasl_plaintext
    sasl: {mechanism: PLAIN, username: u, password_file: source.password}
target: {name: b, bootstrap_servers: [localhost:9093]}
topics: {include: [orders]}
)";
  auto r = load_string(yaml, test::fixture_path("config"));
  ASSERT_TRUE(r.ok());
  const SaslConfig& s = *r.config->source.security.sasl;
  EXPECT_EQ(s.password_file.find(kCanary), std::string::npos);
  EXPECT_EQ(s.username.find(kCanary), std::string::npos);
  auto pw = read_password(s);
  ASSERT_TRUE(pw.ok()) << pw.error().message();
  EXPECT_EQ(*pw, "hunter2-CANARY-7f3a9c");  // the trailing newline is not part of the password
}

TEST(Secrets, ReadPassword) {
  SaslConfig env;
  env.password_env = "TIERMIRROR_TEST_SECRET";
  ::setenv("TIERMIRROR_TEST_SECRET", "s3cret", 1);
  ASSERT_TRUE(read_password(env).ok());
  EXPECT_EQ(*read_password(env), "s3cret");
  ::unsetenv("TIERMIRROR_TEST_SECRET");
  EXPECT_FALSE(read_password(env).ok());

  SaslConfig missing;
  missing.password_file = test::fixture_path("config/no-such.password");
  auto m = read_password(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error(), std::errc::no_such_file_or_directory);

  SaslConfig empty;
  empty.password_file = test::fixture_path("config/empty.password");
  EXPECT_FALSE(read_password(empty).ok());

  SaslConfig dir;
  dir.password_file = test::fixture_path("config");
  EXPECT_EQ(read_password(dir).error(), std::errc::is_a_directory);

  EXPECT_FALSE(read_password(SaslConfig{}).ok());
}

}  // namespace
}  // namespace tiermirror::config
