#include "tiermirror/app/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "tiermirror/common/log.h"

namespace tiermirror::app {

namespace {
std::string with_status(std::string message, const std::string& status) {
  if (!status.empty()) message += "\nSTATUS=" + status;
  return message;
}
}  // namespace

SystemdNotify::SystemdNotify() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
}

SystemdNotify::~SystemdNotify() { stop_watchdog(); }

bool SystemdNotify::send(const std::string& message) {
  if (!enabled_) return false;
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) {
    TM_WARN("app", "sd_notify failed", {{"error", std::string(std::strerror(-rc))}});
    return false;
  }
  return rc > 0;
}

void SystemdNotify::ready(const std::string& status) { send(with_status("READY=1", status)); }

void SystemdNotify::stopping(const std::string& status) { send(with_status("STOPPING=1", status)); }

void SystemdNotify::reloading(const std::string& status) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  send(with_status("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), status));
}

void SystemdNotify::status(const std::string& text) { send("STATUS=" + text); }

std::chrono::microseconds SystemdNotify::watchdog_interval() const {
  if (!enabled_) return std::chrono::microseconds(0);
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID is unset or names this process.
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

bool SystemdNotify::start_watchdog(std::function<bool()> alive) {
  auto interval = watchdog_interval();
  if (interval.count() <= 0 || watchdog_.joinable()) return false;
  auto period = std::max(interval / 2, std::chrono::microseconds(1000));
  {
    std::lock_guard lk(mu_);
    stop_ = false;
  }
  watchdog_ = std::thread([this, period, alive = std::move(alive)] { watchdog_loop(period, alive); });
  TM_DEBUG("app", "systemd watchdog started", {{"interval_us", static_cast<int64_t>(interval.count())}});
  return true;
}

void SystemdNotify::stop_watchdog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void SystemdNotify::watchdog_loop(std::chrono::microseconds period, std::function<bool()> alive) {
  bool stuck = false;
  std::unique_lock lk(mu_);
  for (;;) {
    lk.unlock();
    bool ok = !alive || alive();
    if (ok) {
      send("WATCHDOG=1");
      if (stuck) TM_INFO("app", "io thread responsive again; systemd watchdog pings resumed");
      stuck = false;
    } else if (!stuck) {
      TM_ERROR("app", "io thread unresponsive; withholding systemd watchdog pings");
      stuck = true;
    }
    lk.lock();
    if (cv_.wait_for(lk, period, [this] { return stop_; })) return;
  }
}

std::function<bool()> io_liveness(boost::asio::io_context& io) {
  // ran: the no-op posted last time has run; pending: one was posted and not checked yet.
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto pending = std::make_shared<bool>(false);
  return [&io, ran, pending] {
    bool ok = !*pending || ran->load();
    if (ok) {
      ran->store(false);
      *pending = true;
      boost::asio::post(io, [ran] { ran->store(true); });
    }
    // When not ok the earlier no-op is still queued: keep waiting for it, post no more.
    return ok;
  };
}

}  // namespace tiermirror::app
