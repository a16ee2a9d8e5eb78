// `tiermirror run`: mirrors the route until SIGTERM/SIGINT (or, with --until-caught-up,
// until every partition reached the source high watermark seen at its start).
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/signals.h"
#include "tiermirror/common/log.h"
#include "tiermirror/config/config.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {

int cmd_run(const RunOptions& opts) {
  auto loaded = config::load_file(opts.config_path);
  if (!loaded.errors.empty()) {
    for (const auto& d : loaded.errors) std::cerr << config::format_diagnostic(opts.config_path, d) << "\n";
    return 1;
  }
  const auto& cfg = *loaded.config;
  if (!opts.log_level) log::init(cfg.logging.level, cfg.logging.format);
  for (const auto* c : {&cfg.source, &cfg.target}) {
    // Connecting in plaintext to a TLS or SASL listener would fail obscurely (or worse,
    // succeed against the wrong listener): refuse plainly until the data path speaks them.
    if (c->security.protocol != config::SecurityProtocol::plaintext) {
      std::cerr << opts.config_path << ": " << (c == &cfg.source ? "source" : "target")
                << ".security.protocol: " << config::to_string(c->security.protocol)
                << " is not supported by this build yet; only plaintext clusters can be mirrored\n";
      return 1;
    }
  }

  // Signals are blocked in every thread and taken by sigwait below; the route reports
  // catch-up and fatal errors by raising SIGUSR1 so one wait covers them all.
  sigset_t signals = block_shutdown_signals();
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::mutex mu;
  std::optional<std::string> fatal;
  std::atomic<bool> caught_up{false};
  net::IoThread io;
  auto running = start_route(io.io(), cfg, [&](std::error_code ec, std::string why) {
    {
      std::lock_guard lk(mu);
      fatal = why + " (" + ec.message() + ")";
    }
    kill(getpid(), SIGUSR1);
  });
  if (opts.until_caught_up) {
    running.route->on_caught_up([&] {
      caught_up = true;
      kill(getpid(), SIGUSR1);
    });
  }
  TM_INFO("app", "running", {{"route", cfg.route.name}, {"source", cfg.source.name}, {"target", cfg.target.name}});
  for (;;) {
    int sig = wait_for_signal(signals);
    if (sig == SIGHUP) {
      TM_WARN("app", "SIGHUP: live reload is not available yet; restart to apply config changes");
      continue;
    }
    if (sig == SIGUSR1 && !caught_up && !fatal) continue;
    if (sig != SIGUSR1) TM_INFO("app", "shutting down", {{"signal", sig}});
    break;
  }
  running.stop(net::Millis(10000));
  io.stop();
  std::lock_guard lk(mu);
  if (fatal) {
    TM_ERROR("app", "route failed", {{"route", cfg.route.name}, {"error", *fatal}});
    return 3;
  }
  return 0;
}

}  // namespace tiermirror::app
