// `tiermirror run` under a stand-in for systemd (Type=notify, WatchdogSec=): the process is
// started with NOTIFY_SOCKET and WATCHDOG_USEC against mock clusters, and must send READY=1
// with its status once the route runs, WATCHDOG=1 while it runs, and STOPPING=1 on SIGTERM
// before exiting 0. Every message must come from the main process (NotifyAccess=main).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mock_support.h"

extern char** environ;

namespace tiermirror::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Datagram {
  std::string text;
  pid_t sender = 0;
};

class NotifyListener {
 public:
  explicit NotifyListener(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ok_ = fd_ >= 0 && path_.size() < sizeof(addr.sun_path) &&
          ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    int on = 1;
    ok_ = ok_ && ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0;
  }
  ~NotifyListener() { ::close(fd_); }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

  /// Receives until a datagram containing `line` (as one of its lines) arrives or the
  /// deadline passes; every datagram received is appended to `seen`.
  bool wait_for(const std::string& line, std::chrono::milliseconds timeout, std::vector<Datagram>& seen) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      iovec iov{buf, sizeof(buf)};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = ::recvmsg(fd_, &msg, 0);
      if (n < 0) continue;
      Datagram d{std::string(buf, static_cast<size_t>(n)), 0};
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred;
          std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
          d.sender = cred.pid;
        }
      seen.push_back(d);
      if (("\n" + d.text + "\n").find("\n" + line + "\n") != std::string::npos) return true;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

std::string describe(const std::vector<Datagram>& seen) {
  std::string out;
  for (const auto& d : seen) out += "[pid " + std::to_string(d.sender) + "] " + d.text + "\n";
  return out;
}

TEST(MockSystemdNotify, RunSendsReadyWatchdogAndStopping) {
  app::MockCluster src("dc-a", 1), dst("aggregate", 1);
  src.create_topic("orders", 2, 1);
  dst.create_topic("orders", 2, 1);
  app::TrafficOptions t;
  t.records = 100;
  app::produce_traffic(src.bootstrap(), "orders", t);

  auto dir = std::filesystem::temp_directory_path() / ("tm-notify-e2e-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  NotifyListener listener(dir / "notify");
  ASSERT_TRUE(listener.ok()) << std::strerror(errno);
  auto config = (dir / "route.yaml").string();
  auto err_file = (dir / "stderr").string();
  {
    std::string servers;
    for (char c : src.bootstrap()) servers += c == ',' ? std::string("\", \"") : std::string(1, c);
    std::string targets;
    for (char c : dst.bootstrap()) targets += c == ',' ? std::string("\", \"") : std::string(1, c);
    std::ofstream(config) << "route: {name: dc-a-to-aggregate}\n"
                          << "source: {name: dc-a, bootstrap_servers: [\"" << servers << "\"]}\n"
                          << "target: {name: aggregate, bootstrap_servers: [\"" << targets << "\"]}\n"
                          << "topics: {include: [orders]}\n"
                          << "commit_interval: 1s\n"
                          << "metrics: {listen: \"\"}\n";
  }

  // The environment systemd gives a Type=notify service with WatchdogSec=1s (WATCHDOG_PID
  // left out: the process cannot know its pid before the fork, and sd_watchdog_enabled
  // accepts its absence). Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("NOTIFY_SOCKET=", 0) == 0 || kv.rfind("WATCHDOG_", 0) == 0) continue;
    env_strings.push_back(kv);
  }
  env_strings.push_back("NOTIFY_SOCKET=" + listener.path());
  env_strings.push_back("WATCHDOG_USEC=1000000");
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings{"tiermirror", "run", "--config", config, "--log-level", "info"};
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::execve(TIERMIRROR_BINARY, argv.data(), envp.data());
    ::_exit(127);
  }
  auto kill_child = [&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  };

  std::vector<Datagram> seen;
  if (!listener.wait_for("READY=1", 20s, seen)) {
    kill_child();
    FAIL() << "no READY=1 within 20 s; received:\n" << describe(seen) << "stderr:\n" << read_file(err_file);
  }
  EXPECT_NE(seen.back().text.find("STATUS=mirroring route dc-a-to-aggregate"), std::string::npos) << describe(seen);
  // Pings every 500 ms; wait for two more after READY to see them keep coming.
  size_t pings_before = seen.size();
  bool pinged = listener.wait_for("WATCHDOG=1", 3s, seen);
  pinged = pinged && listener.wait_for("WATCHDOG=1", 3s, seen);
  EXPECT_TRUE(pinged) << "no WATCHDOG=1 while running; received:\n" << describe(seen);
  EXPECT_GT(seen.size(), pings_before);

  ::kill(pid, SIGTERM);
  bool stopping = listener.wait_for("STOPPING=1", 15s, seen);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 200 && (done = ::waitpid(pid, &status, WNOHANG)) == 0; ++i) std::this_thread::sleep_for(100ms);
  if (done == 0) {
    kill_child();
    FAIL() << "tiermirror run did not exit within 20 s of SIGTERM; stderr:\n" << read_file(err_file);
  }
  std::string err = read_file(err_file);
  EXPECT_TRUE(stopping) << "no STOPPING=1 after SIGTERM; received:\n" << describe(seen) << err;
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  for (const auto& d : seen) EXPECT_EQ(d.sender, pid) << "NotifyAccess=main accepts the main process only: " << d.text;
  // READY comes once, before STOPPING.
  int ready = 0;
  for (const auto& d : seen) ready += d.text.find("READY=1") != std::string::npos;
  EXPECT_EQ(ready, 1) << describe(seen);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tiermirror::test
