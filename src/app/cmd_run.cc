// `tiermirror run`: mirrors the route until SIGTERM/SIGINT (or, with --until-caught-up,
// until every partition reached the source high watermark seen at its start).
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/signals.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/common/log.h"
#include "tiermirror/config/config.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {

int cmd_run(const RunOptions& opts) {
  auto loaded = load_route_config(opts.config_path);
  if (!loaded) return 1;
  const auto& cfg = *loaded;
  if (!opts.log_level) log::init(cfg.logging.level, cfg.logging.format);

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
  }, opts.force_repack);
  if (opts.force_repack) TM_WARN("app", "--force-repack: every batch is decompressed and recompressed (benchmark mode)");
  std::unique_ptr<SyncThread> syncer;
  if (cfg.partition_sync.enabled) {
    auto route = running.route;
    syncer = std::make_unique<SyncThread>(cfg, [route](const control::SyncReport& report) {
      std::map<std::string, std::string> refused;
      for (const auto& v : report.verdicts)
        if (v.refused) {
          std::string why = "target topic config breaks identity (partition_sync.identity_violation: refuse):";
          for (const auto& p : v.problems) why += " " + p + ";";
          refused[v.topic] = why;
        }
      route->refuse_topics(std::move(refused));
      std::map<std::string, size_t> limits;
      for (const auto& [topic, bytes] : report.target_max_message_bytes) limits[topic] = static_cast<size_t>(bytes);
      route->set_max_message_bytes(std::move(limits));
      route->refresh_now();  // created or grown partitions start without waiting
    });
    running.route->on_new_partitions([s = syncer.get()](std::vector<TopicPartition>) { s->poke(); });
  }
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
  syncer.reset();  // finishes a pass under way first
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
