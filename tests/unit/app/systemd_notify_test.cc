// SystemdNotify against a datagram socket standing in for systemd's NOTIFY_SOCKET.
#include "tiermirror/app/systemd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {
namespace {

using namespace std::chrono_literals;

/// A bound AF_UNIX datagram socket in a fresh temporary directory, exported as
/// NOTIFY_SOCKET (and the watchdog variables cleared) for the test's lifetime.
class NotifySocket {
 public:
  NotifySocket() {
    dir_ = std::filesystem::temp_directory_path() /
           ("tm-notify-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "notify").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    EXPECT_LT(path_.size(), sizeof(addr.sun_path));
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout = 2000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotify, DoesNothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "100000", 1);
  SystemdNotify n;
  EXPECT_FALSE(n.enabled());
  n.ready("x");
  n.status("y");
  n.stopping();
  EXPECT_EQ(n.watchdog_interval().count(), 0);
  EXPECT_FALSE(n.start_watchdog([] { return true; }));
  ::unsetenv("WATCHDOG_USEC");
}

TEST(SystemdNotify, SendsReadyStatusStoppingAndReloading) {
  NotifySocket sock;
  SystemdNotify n;
  ASSERT_TRUE(n.enabled());
  n.ready("mirroring route dca-to-aggregate");
  EXPECT_EQ(sock.next(), "READY=1\nSTATUS=mirroring route dca-to-aggregate");
  n.status("3 partitions paused");
  EXPECT_EQ(sock.next(), "STATUS=3 partitions paused");
  n.reloading();
  auto reloading = sock.next();
  ASSERT_TRUE(reloading);
  EXPECT_EQ(reloading->rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << *reloading;
  n.ready();
  EXPECT_EQ(sock.next(), "READY=1");
  n.stopping("stopping route dca-to-aggregate");
  EXPECT_EQ(sock.next(), "STOPPING=1\nSTATUS=stopping route dca-to-aggregate");
  EXPECT_FALSE(sock.next(100ms)) << "one datagram per call";
  EXPECT_FALSE(n.start_watchdog([] { return true; })) << "no WATCHDOG_USEC, no watchdog";
}

TEST(SystemdNotify, WatchdogPingsAtHalfTheIntervalWhileAlive) {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  SystemdNotify n;
  EXPECT_EQ(n.watchdog_interval(), 200ms);
  ASSERT_TRUE(n.start_watchdog([] { return true; }));
  EXPECT_FALSE(n.start_watchdog([] { return true; })) << "one watchdog thread";
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(sock.next(), "WATCHDOG=1") << i;
  auto elapsed = std::chrono::steady_clock::now() - start;
  // The first ping is immediate, then one per 100 ms.
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
  n.stop_watchdog();
  while (sock.next(50ms)) {
  }
  EXPECT_FALSE(sock.next(300ms)) << "no ping after stop_watchdog";
}

TEST(SystemdNotify, WatchdogIsForAnotherProcessWhenWatchdogPidDiffers) {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  SystemdNotify n;
  EXPECT_EQ(n.watchdog_interval().count(), 0);
  EXPECT_FALSE(n.start_watchdog([] { return true; }));
}

TEST(SystemdNotify, WatchdogWithholdsPingsWhileNotAlive) {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "100000", 1);
  std::atomic<bool> alive{false};
  SystemdNotify n;
  ASSERT_TRUE(n.start_watchdog([&] { return alive.load(); }));
  EXPECT_FALSE(sock.next(300ms)) << "no ping while the liveness check fails";
  alive = true;
  EXPECT_EQ(sock.next(), "WATCHDOG=1");
}

TEST(IoLiveness, TrueWhileTheIoContextRunsHandlersFalseWhileItIsStuck) {
  net::IoThread io;
  auto alive = io_liveness(io.io());
  EXPECT_TRUE(alive()) << "nothing posted yet";
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(alive());
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(alive());

  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> blocked;
  boost::asio::post(io.io(), [&blocked, released] {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();
  EXPECT_TRUE(alive()) << "the previous no-op ran before the io thread blocked";
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(alive()) << "the io thread is stuck: the no-op has not run";
  EXPECT_FALSE(alive());
  release.set_value();
  bool again = false;
  for (int i = 0; i < 100 && !(again = alive()); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(again) << "responsive again";
}

TEST(IoLiveness, DrivesTheWatchdog) {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "100000", 1);
  net::IoThread io;
  SystemdNotify n;
  ASSERT_TRUE(n.start_watchdog(io_liveness(io.io())));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sock.next(), "WATCHDOG=1") << i;
  std::promise<void> release;
  auto released = release.get_future().share();
  boost::asio::post(io.io(), [released] { released.wait(); });
  while (sock.next(60ms)) {
  }
  EXPECT_FALSE(sock.next(300ms)) << "a stuck io thread gets no ping";
  release.set_value();
  EXPECT_EQ(sock.next(), "WATCHDOG=1");
  n.stop_watchdog();
}

}  // namespace
}  // namespace tiermirror::app
