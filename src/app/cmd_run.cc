// `tiermirror run`: mirrors the route until SIGTERM/SIGINT (or, with --until-caught-up,
// until every partition is mirrored and committed up to the last stable offset listed at its start).
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>
#include <tuple>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/ops.h"
#include "tiermirror/app/reload.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/signals.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/app/systemd_notify.h"
#include "tiermirror/common/log.h"
#include "tiermirror/config/config.h"
#include "tiermirror/net/io_thread.h"

namespace tiermirror::app {

int cmd_run(const RunOptions& opts) {
  auto loaded = load_route_config(opts.config_path);
  if (!loaded) return 1;
  const auto& cfg = *loaded;
  if (!opts.log_level) log::init(cfg.logging.level, cfg.logging.format);
  check_produce_rules_from_env();

  // Signals are blocked in every thread and taken by sigwait below; the route reports
  // catch-up and fatal errors by raising SIGUSR1 so one wait covers them all.
  sigset_t signals = block_shutdown_signals();
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::mutex mu;
  std::optional<std::string> fatal;
  std::atomic<bool> caught_up{false};
  net::IoThread io;
  SystemdNotify notify;  // no-op unless started by systemd (Type=notify); declared after io: stops first
  notify.start_watchdog(io_liveness(io.io()));
  // /metrics, /status, /healthz, /readyz (metrics.listen; "" disables). Declared after io:
  // destroyed first. A listener that cannot bind is fatal: an unmonitored mirror is worse.
  std::unique_ptr<OpsServer> ops;
  std::vector<std::shared_ptr<pipeline::RouteObserver>> observers;
  if (cfg.metrics.enabled()) {
    ops = std::make_unique<OpsServer>(cfg);
    if (auto ec = ops->start(cfg.metrics.listen->host, cfg.metrics.listen->port)) {
      TM_ERROR("app", "cannot serve metrics", {{"metrics.listen", cfg.metrics.listen->str()}, {"error", ec.message()}});
      return 3;
    }
    observers.push_back(ops->observer());
  }
  auto running = start_route(io.io(), cfg, [&](std::error_code ec, std::string why) {
    {
      std::lock_guard lk(mu);
      fatal = why + " (" + ec.message() + ")";
    }
    kill(getpid(), SIGUSR1);
  }, opts.force_repack, observers);
  if (ops) ops->attach(io.io(), running);
  if (opts.force_repack) TM_WARN("app", "--force-repack: every batch is decompressed and recompressed (benchmark mode)");
  std::unique_ptr<SyncThread> syncer;
  if (cfg.partition_sync.enabled) {
    auto route = running.route;
    auto sync_metrics = ops ? ops->observer() : nullptr;
    SyncThread::Callbacks calls;
    calls.after_pass = [route, sync_metrics](const control::SyncReport& report) {
      if (sync_metrics) sync_metrics->sync_pass(report);
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
      // Topics whose target configs could not be read: 0 = Kafka's default, so their
      // partitions (held until the syncer reports) still start.
      for (const auto& v : report.verdicts) limits.emplace(v.topic, 0);
      // A pass that failed as a whole (a cluster's topics not listed) must not hold new
      // partitions forever: they start at Kafka's default limit; the next pass corrects it.
      route->set_max_message_bytes(std::move(limits), !report.errors.empty());
      route->refresh_now();  // created or grown partitions start without waiting
    };
    // A topic's partitions start as soon as its target limit is known, not after a pass that
    // may have many topics to create first. Refused topics wait for the pass's end, where
    // their refusal reaches the route before their limit.
    calls.topic_checked = [route](const control::IdentityVerdict& v, int64_t max_message_bytes) {
      if (!v.refused) route->set_max_message_bytes({{v.topic, static_cast<size_t>(max_message_bytes)}}, false);
    };
    calls.login_failed = [&](const std::string& why) {
      // A refused login will not fix itself, as on the data path: stop with the reason.
      {
        std::lock_guard lk(mu);
        if (!fatal) fatal = "partition-count syncer: " + why;
      }
      kill(getpid(), SIGUSR1);
    };
    if (running.group) calls.may_write = [&running] { return running.syncer_writes(); };
    syncer = std::make_unique<SyncThread>(cfg, std::move(calls));
    running.route->on_new_partitions([s = syncer.get()](std::vector<TopicPartition>) { s->poke(); });
  }
  // The audit topic beside the route's start (an admin round trip or two; a cluster that does
  // not answer is the start deadline's to judge): a refused creation stops run.
  std::shared_ptr<control::RdKafkaAdmin> audit_admin;
  try {
    audit_admin = audit_topic_admin(cfg);
  } catch (const std::exception& e) {  // librdkafka refused a setting, or the password is unreadable
    TM_ERROR("app", "route failed", {{"route", cfg.route.name}, {"error", std::string("audit topic: ") + e.what()}});
    running.stop(net::Millis(1000));
    return 3;
  }
  std::atomic<bool> audit_setup_cancelled{false};
  std::thread audit_setup([&] {
    if (!audit_admin) return;
    auto why = ensure_audit_topic(cfg, *audit_admin);
    if (!why || audit_setup_cancelled) return;  // a cancelled call is no verdict
    {
      std::lock_guard lk(mu);
      if (!fatal) fatal = *why;
    }
    kill(getpid(), SIGUSR1);
  });
  // A cluster none of whose brokers could be spoken to since the start is far more often
  // misconfigured (a listener of another protocol, a wrong port) than down: stop with what its
  // connections said instead of retrying forever. Later outages are waited out as always.
  boost::asio::steady_timer start_deadline(io.io(), cfg.limits.request_timeout);
  start_deadline.async_wait([&, source = running.source, target = running.target](const boost::system::error_code& ec) {
    if (ec) return;
    for (const auto& [side, name, cluster] :
         {std::tuple{"target", cfg.target.name, target}, std::tuple{"source", cfg.source.name, source}}) {
      if (cluster->metadata()) continue;
      const auto ms = cfg.limits.request_timeout.count();
      std::string why = std::string("no broker of the ") + side + " cluster '" + name + "' could be spoken to within " +
                        (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
                        " of the start (limits.request_timeout)";
      why += ": " + cluster->last_connection_failure().value_or("none answered, and no connection attempt failed yet");
      {
        std::lock_guard lk(mu);
        if (!fatal) fatal = why;
      }
      kill(getpid(), SIGUSR1);
      return;
    }
  });
  if (opts.until_caught_up) {
    running.route->on_caught_up([&] {
      caught_up = true;
      kill(getpid(), SIGUSR1);
    });
  }
  TM_INFO("app", "running", {{"route", cfg.route.name}, {"source", cfg.source.name}, {"target", cfg.target.name}});
  notify.ready("mirroring route " + cfg.route.name);
  if (ops) ops->set_state(ProcessState::running);
  config::Config current = cfg;  // what SIGHUP reloads compare against
  for (;;) {
    int sig = wait_for_signal(signals);
    if (sig == SIGHUP) {
      notify.reloading("reloading " + opts.config_path);
      reload_route(opts.config_path, current, {running.route, running.frames, syncer.get(), ops.get(), opts.log_level.has_value()});
      // Certificate rotation: new connections read the TLS files again; live ones stay up.
      running.source->reload_tls();
      running.target->reload_tls();
      if (syncer) syncer->reload();
      TM_INFO("app", "SIGHUP: TLS files and SASL passwords are re-read for new connections");
      notify.ready("mirroring route " + cfg.route.name);
      continue;
    }
    if (sig == SIGUSR1 && !caught_up && !fatal) continue;
    if (sig != SIGUSR1) TM_INFO("app", "shutting down", {{"signal", sig}});
    if (sig != SIGUSR1 && opts.until_caught_up && !caught_up) {
      // A script waiting for "caught up" must not read a stop by signal as success.
      std::lock_guard lk(mu);
      if (!fatal) fatal = "stopped by signal " + std::to_string(sig) + " before every partition caught up";
    }
    break;
  }
  start_deadline.cancel();
  audit_setup_cancelled = true;
  if (audit_admin) audit_admin->cancel();  // a call still waiting for the cluster ends now
  audit_setup.join();
  notify.stopping("stopping route " + cfg.route.name);
  if (ops) ops->set_state(ProcessState::stopping);
  // The route first: until it stops it may discover partitions and poke the syncer.
  const size_t unpublished = running.stop(net::Millis(10000));
  syncer.reset();  // finishes a pass under way first
  if (ops) ops->stop();  // before the io thread: /healthz and scrapes post to it
  io.stop();
  std::lock_guard lk(mu);
  if (!fatal && unpublished > 0)  // the stop itself went well, but the audit is behind
    fatal = "the audit counts of " + std::to_string(unpublished) +
            " partitions could not be published before the stop deadline (the next run counts them again)";
  if (fatal) {
    TM_ERROR("app", "route failed", {{"route", cfg.route.name}, {"error", *fatal}});
    return 3;
  }
  return 0;
}

}  // namespace tiermirror::app
