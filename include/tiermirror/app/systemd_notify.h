#pragma once
// systemd's notify protocol (sd_notify) for `tiermirror run` under Type=notify: readiness,
// status text, stopping, reloading and the watchdog. Without NOTIFY_SOCKET in the
// environment (a shell, a container, a test) every call does nothing.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tiermirror::app {

class SystemdNotify {
 public:
  /// Reads NOTIFY_SOCKET once; the environment is left as it is.
  SystemdNotify();
  /// Stops the watchdog thread.
  ~SystemdNotify();
  SystemdNotify(const SystemdNotify&) = delete;
  SystemdNotify& operator=(const SystemdNotify&) = delete;

  /// Whether a service manager listens (NOTIFY_SOCKET was set).
  bool enabled() const { return enabled_; }

  /// READY=1, with STATUS=status when it is not empty.
  void ready(const std::string& status = {});
  /// STOPPING=1, with STATUS=status when it is not empty.
  void stopping(const std::string& status = {});
  /// RELOADING=1 (with MONOTONIC_USEC): the service manager waits for the next ready().
  void reloading(const std::string& status = {});
  /// STATUS=text: the line `systemctl status` shows.
  void status(const std::string& text);

  /// The watchdog interval the service manager asked for (WatchdogSec=, passed as
  /// WATCHDOG_USEC for this process), or zero when it asked for none.
  std::chrono::microseconds watchdog_interval() const;

  /// Starts a thread sending WATCHDOG=1 every half watchdog interval as long as `alive()`
  /// returns true; when it returns false the ping is skipped (and logged), so a stuck
  /// process is killed and restarted by the service manager. Does nothing and returns
  /// false when no watchdog was asked for. `alive` runs on the watchdog thread.
  bool start_watchdog(std::function<bool()> alive);
  /// Stops and joins the watchdog thread (idempotent).
  void stop_watchdog();

 private:
  bool send(const std::string& message);
  void watchdog_loop(std::chrono::microseconds period, std::function<bool()> alive);

  bool enabled_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

/// A liveness check for the watchdog: true while `io` runs handlers. Each call posts a
/// no-op to `io` and reports whether the one posted by the previous call has run by now
/// (the first call reports true). `io` must outlive every call of the returned function.
std::function<bool()> io_liveness(boost::asio::io_context& io);

}  // namespace tiermirror::app
