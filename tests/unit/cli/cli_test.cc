// Runs the built `tiermirror` binary: exit statuses, usage on errors, validate's report.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "support/paths.h"

namespace tiermirror::test {
namespace {

struct Run {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `prefix`: a command that runs tiermirror (e.g. `timeout`), empty for none.
Run run(const std::string& args, const std::string& prefix = "") {
  auto dir = std::filesystem::temp_directory_path() / ("tm-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string err_file = (dir / "stderr").string();
  std::string cmd = prefix + std::string(TIERMIRROR_BINARY) + " " + args + " 2>" + err_file;
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / ("tm-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(Cli, VersionAndHelp) {
  auto v = run("version");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out, std::string("tiermirror ") + TIERMIRROR_VERSION + "\n");
  auto h = run("--help");
  EXPECT_EQ(h.status, 0);
  for (const char* cmd : {"run", "validate", "sync", "demo", "probe", "version", "help"})
    EXPECT_NE(h.out.find(cmd), std::string::npos) << cmd;
  auto hr = run("help run");
  EXPECT_EQ(hr.status, 0);
  EXPECT_NE(hr.out.find("--until-caught-up"), std::string::npos);
  for (const char* cmd : {"run", "validate", "sync", "demo", "probe"}) {
    auto sub = run(std::string(cmd) + " --help");
    EXPECT_EQ(sub.status, 0) << cmd;
    EXPECT_NE(sub.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(Cli, HelpAloneIsTheTopLevelHelp) {
  auto h = run("help");
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.out, run("--help").out);
  EXPECT_NE(h.out.find("Usage: tiermirror [OPTIONS] SUBCOMMAND"), std::string::npos) << h.out;
  EXPECT_EQ(h.out.find("Command to describe"), std::string::npos) << "not the help command's own help:\n" << h.out;
}

TEST(Cli, HelpNamesTheCommandInItsUsageLine) {
  for (const char* cmd : {"run", "validate", "sync", "demo", "probe", "audit", "audit report", "audit check",
                          "audit scan", "version", "help"}) {
    auto h = run(std::string("help ") + cmd);
    EXPECT_EQ(h.status, 0) << cmd;
    EXPECT_NE(h.out.find(std::string("Usage: tiermirror ") + cmd + " "), std::string::npos) << cmd << "\n" << h.out;
    auto flag = run(std::string(cmd) + " --help");  // the same words through --help
    EXPECT_EQ(flag.out, h.out) << cmd;
  }
}

TEST(Cli, UnknownCommandIsNamedWithAPointerToHelp) {
  struct Case {
    const char* args;
    const char* command;  // as the message names it
    const char* help;     // the help that lists the commands it could have been
  };
  for (const Case& c : {Case{"frobnicate", "frobnicate", "tiermirror help"},
                        Case{"--log-level debug frobnicate --x", "frobnicate", "tiermirror help"},
                        Case{"help frobnicate", "frobnicate", "tiermirror help"},
                        Case{"audit frobnicate", "audit frobnicate", "tiermirror help audit"},
                        Case{"help audit frobnicate", "audit frobnicate", "tiermirror help audit"}}) {
    auto r = run(c.args);
    EXPECT_EQ(r.status, 2) << c.args;
    EXPECT_EQ(r.err, std::string("tiermirror: unknown command '") + c.command + "'; '" + c.help +
                         "' lists the commands\n")
        << c.args;
    EXPECT_TRUE(r.out.empty()) << c.args << ": " << r.out;
  }
}

TEST(Cli, UntilCaughtUpHelpNamesTheOffsetTheRouteWaitsFor) {
  // The route lists the read_committed end (the last stable offset), not the high watermark;
  // the two differ while a transaction is open, so the help must not say high watermark.
  auto h = run("help run");
  std::string flat = std::regex_replace(h.out, std::regex("\\s+"), " ");
  EXPECT_NE(flat.find("last stable offset (its read_committed end"), std::string::npos) << h.out;
  EXPECT_EQ(flat.find("high watermark seen"), std::string::npos) << h.out;
}

TEST(Cli, UsageErrorsAreAUsageError) {
  for (const char* args : {"validate --config x.yaml --bogus", "", "run", "probe --topic t", "audit"}) {
    auto r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find("Usage"), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << "usage errors go to stderr: " << args;
  }
}

TEST(Cli, ValidateAcceptsTheExample) {
  auto r = run("validate --config " + source_path("config/tiermirror.example.yaml"));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
}

TEST(Cli, ValidateReportsEveryProblemWithLineNumbers) {
  std::string secret = "hunter2-do-not-print";
  auto pw = write_temp("real-password", secret + "\n");
  std::string yaml =
      "route:\n"
      "  name: dc-a-to-aggregate\n"
      "source:\n"
      "  name: dc-a\n"
      "  bootstrap_server: [\"127.0.0.1:9092\"]\n"  // line 5: misspelled key
      "  bootstrap_servers: [\"127.0.0.1:9092\"]\n"
      "target:\n"
      "  name: aggregate\n"
      "  bootstrap_servers: [\"127.0.0.1:9093\"]\n"
      "  security:\n"
      "    protocol: sasl_plaintext\n"
      "    sasl:\n"
      "      mechanism: SCRAM-SHA-512\n"
      "      username: mirror\n"
      "      password_file: /nonexistent/tiermirror/password\n"  // line 15: missing file
      "topics:\n"
      "  include:\n"
      "    - orders\n"
      "    - regex: 'clicks\\.(['\n";  // line 19: invalid regular expression
  auto path = write_temp("bad.yaml", yaml);
  auto r = run("validate --config " + path);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(":5:[0-9]+: source.bootstrap_server: unknown key")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(":15:[0-9]+: target.security.sasl.password_file: .*")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(":19:[0-9]+: topics.include\\[1\\].regex: .*regular expression")))
      << r.out;
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);
}

TEST(Cli, ValidateMissingFile) {
  auto r = run("validate --config /nonexistent/tiermirror.yaml");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("/nonexistent/tiermirror.yaml"), std::string::npos);
}

TEST(Cli, ProbeRejectsABadBootstrapList) {
  auto r = run("probe --bootstrap nohost");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("HOST:PORT"), std::string::npos);
}

TEST(Cli, RunStopsWithOneLineWhenTheLoginCannotWork) {
  // TLS is spoken now; a CA file that is no certificate makes every login fail before any
  // broker is reached, and `run` stops at start with the reason (exit 3) instead of retrying.
  std::string yaml =
      "route: {name: r}\n"
      "source: {name: a, bootstrap_servers: [\"127.0.0.1:1\"],\n"
      "         security: {protocol: ssl, tls: {ca_file: " + fixture_path("config/ca.pem") + "}}}\n"
      "target: {name: b, bootstrap_servers: [\"127.0.0.1:2\"]}\n"
      "topics: {include: [t]}\n"
      "partition_sync: {enabled: false}\n"
      "metrics: {listen: \"\"}\n"
      "limits: {request_timeout: 2s}\n";
  auto r = run("run --config " + write_temp("tls.yaml", yaml));
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("cannot log in to the source cluster 'a'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("config/ca.pem"), std::string::npos) << r.err;
}

TEST(Cli, RunStopsCleanlyOnSigterm) {
  // Brokers that do not answer: run keeps retrying until SIGTERM (which comes before the start
  // deadline, limits.request_timeout), then stops, commits nothing it did not mirror, and exits 0.
  std::string yaml =
      "route: {name: r}\n"
      "source: {name: a, bootstrap_servers: [\"127.0.0.1:1\"]}\n"
      "target: {name: b, bootstrap_servers: [\"127.0.0.1:2\"]}\n"
      "topics: {include: [t]}\n"
      "metrics: {listen: \"\"}\n"
      "limits: {request_timeout: 60s}\n";
  auto config = write_temp("run.yaml", yaml);
  auto err_file = write_temp("run.stderr", "");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(err_file.c_str(), O_WRONLY | O_TRUNC);
    ::dup2(fd, 2);
    ::execl(TIERMIRROR_BINARY, "tiermirror", "run", "--config", config.c_str(), "--log-level", "info", nullptr);
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (::waitpid(pid, &status, WNOHANG) == 0 && !WIFEXITED(status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "tiermirror run did not stop within 10 s of SIGTERM";
  }
  std::ifstream e(err_file);
  std::string err((std::istreambuf_iterator<char>(e)), {});
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_NE(err.find("shutting down"), std::string::npos) << err;
  EXPECT_NE(err.find("route stopped"), std::string::npos) << err;
}

TEST(Cli, RunStopsWithExit3WhenNoBrokerAnsweredByTheStartDeadline) {
  // No broker of the target could ever be spoken to: far more often a wrong address or listener
  // than an outage. run names the cluster and what its connections saw, and exits 3.
  auto config = write_temp("deadline.yaml",
                           "route: {name: r}\n"
                           "source: {name: a, bootstrap_servers: [\"127.0.0.1:1\"]}\n"
                           "target: {name: b, bootstrap_servers: [\"127.0.0.1:2\"]}\n"
                           "topics: {include: [t]}\n"
                           "metrics: {listen: \"\"}\n"
                           "partition_sync: {enabled: false}\n"
                           "limits: {request_timeout: 1s}\n");
  auto r = run("run --config " + config);
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("no broker of the target cluster 'b' could be spoken to within 1 s of the start "
                       "(limits.request_timeout): broker 127.0.0.1:2: connect: Connection refused"),
            std::string::npos)
      << r.err;
}

TEST(Cli, UntilCaughtUpStoppedBySignalIsNotASuccess) {
  auto config = write_temp("until.yaml",
                           "route: {name: r}\n"
                           "source: {name: a, bootstrap_servers: [\"127.0.0.1:1\"]}\n"
                           "target: {name: b, bootstrap_servers: [\"127.0.0.1:2\"]}\n"
                           "topics: {include: [t]}\n"
                           "metrics: {listen: \"\"}\n"
                           "partition_sync: {enabled: false}\n"
                           "limits: {request_timeout: 60s}\n");
  // `timeout` sends SIGTERM after 1 s and exits with run's own status.
  auto r = run("run --until-caught-up --config " + config, "timeout --preserve-status 1 ");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("stopped by signal 15 before every partition caught up"), std::string::npos) << r.err;
}

TEST(Cli, AuditCheckAnswersTwoWhenItCannotTell) {
  // A gate must never pass by default: usage errors, bad windows and unreachable clusters are 2.
  auto usage = run("audit check --bootstrap 127.0.0.1:1 --topic t");
  EXPECT_EQ(usage.status, 2);
  EXPECT_NE(usage.err.find("--window"), std::string::npos) << usage.err;
  auto window = run("audit check --bootstrap 127.0.0.1:1 --topic t --window 2026-11-22T10:00Z");
  EXPECT_EQ(window.status, 2);
  EXPECT_NE(window.out.find("cannot tell: --window"), std::string::npos) << window.out;
  auto down = run("audit check --bootstrap 127.0.0.1:1 --topic t --window 2026-11-22T10:00Z/1h --timeout-ms 300");
  EXPECT_EQ(down.status, 2);
  EXPECT_NE(down.out.find("cannot tell: audit topic"), std::string::npos) << down.out;
  EXPECT_EQ(std::count(down.out.begin(), down.out.end(), '\n'), 1) << "one line: " << down.out;
}

TEST(Cli, AuditReportAndScanNameWhatIsWrong) {
  auto report = run("audit report --bootstrap 127.0.0.1:1 --timeout-ms 300");
  EXPECT_EQ(report.status, 3);
  EXPECT_NE(report.err.find("audit topic"), std::string::npos) << report.err;
  auto time = run("audit report --bootstrap 127.0.0.1:1 --from yesterday");
  EXPECT_EQ(time.status, 2);
  EXPECT_NE(time.err.find("--from 'yesterday' is not a UTC time"), std::string::npos) << time.err;
  auto scan = run("audit scan --bootstrap 127.0.0.1:1 --topic t --bucket 0s");
  EXPECT_EQ(scan.status, 2);
  EXPECT_NE(scan.err.find("--bucket"), std::string::npos) << scan.err;
  auto missing = run("audit scan --bootstrap 127.0.0.1:1");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("--topic"), std::string::npos) << missing.err;
}

TEST(Cli, AuditCheckRecountSourceIsRepeatableAndCheckedFirst) {
  auto help = run("help audit check");
  EXPECT_NE(help.out.find("--recount-source"), std::string::npos) << help.out;
  for (const char* bad : {"dc-a", "=127.0.0.1:1", "dc-a=", "dc-a=nohost"}) {
    auto r = run(std::string("audit check --bootstrap 127.0.0.1:1 --topic t --window 2026-11-22T10:00Z/1h "
                             "--recount-source ") + bad);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.out.find("cannot tell: --recount-source wants NAME=HOST:PORT"), std::string::npos) << bad << ": " << r.out;
  }
  // Two clusters, one with a bootstrap list: accepted (then the audit topic is unreachable).
  auto two = run("audit check --bootstrap 127.0.0.1:1 --topic t --window 2026-11-22T10:00Z/1h --timeout-ms 300 "
                 "--recount-source dc-a=127.0.0.1:1,127.0.0.1:2 --recount-source dc-b=127.0.0.1:3");
  EXPECT_EQ(two.status, 2) << two.err;
  EXPECT_NE(two.out.find("cannot tell: audit topic"), std::string::npos) << two.out << two.err;
}

}  // namespace
}  // namespace tiermirror::test
