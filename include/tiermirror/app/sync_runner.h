#pragma once
// The partition-count syncer, wired to a route's config: one pass for `tiermirror sync`,
// and a background thread for `tiermirror run` (at start, every partition_sync.interval,
// and at once when the route discovers new source partitions). librdkafka's admin calls
// block, so they stay off the io thread.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "tiermirror/config/config.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/control/syncer.h"

namespace tiermirror::app {

control::SyncOptions sync_options(const config::Config& cfg);
/// librdkafka's security settings for a cluster (security.protocol, ssl.*, sasl.mechanisms,
/// sasl.username); the password is not among them (AdminConnection::sasl_password).
std::map<std::string, std::string> rdkafka_security(const config::SecurityConfig& sec);
control::AdminConnection admin_connection(const config::ClusterConfig& c, const config::Config& cfg);

/// One pass against both clusters of the route (creates admin clients, runs, closes).
control::SyncReport sync_once(const config::Config& cfg, bool dry_run);
/// Why a pass failed on a refused login of `admin` (a cluster of `cfg`), with the likely
/// cause where one is known; nullopt when its login was not refused.
std::optional<std::string> admin_login_failure(const control::RdKafkaAdmin& admin, const config::Config& cfg);

/// The admin client `run` makes its audit topic with: null when the audit is off or
/// audit.create_topic is false.
std::shared_ptr<control::RdKafkaAdmin> audit_topic_admin(const config::Config& cfg);
/// `run`'s start: the audit topic on the audit cluster, created when missing, through `admin`
/// (audit_topic_admin). The reason `run` must stop (a refused creation or login, with the
/// broker's message), or nullopt: created, present, or not settled now because the cluster did
/// not answer (logged; the start deadline judges an unreachable cluster).
std::optional<std::string> ensure_audit_topic(const config::Config& cfg, control::RdKafkaAdmin& admin);

class SyncThread {
 public:
  /// All run on the syncer thread.
  struct Callbacks {
    /// After every pass (e.g. to tell the route).
    std::function<void(const control::SyncReport&)> after_pass;
    /// During a pass, as soon as one target topic was checked (control::SyncOptions::on_topic_checked).
    std::function<void(const control::IdentityVerdict&, int64_t target_max_message_bytes)> topic_checked;
    /// After a pass that failed because a cluster refused the admin client's login (it will
    /// not fix itself: `run` stops with it).
    std::function<void(const std::string&)> login_failed;
    /// Scale-out: whether this instance does the pass's writes (creating topics, adding
    /// partitions, copying configs). When it answers false the pass only reads (a dry run:
    /// verdicts and target limits still reach the route); unset: always writes.
    std::function<bool()> may_write;
  };
  SyncThread(const config::Config& cfg, Callbacks callbacks);
  ~SyncThread();
  /// Runs a pass soon (new source partitions were seen).
  void poke();
  /// A reloaded config: topics, partition_sync and limits apply from the next pass (the
  /// clusters stay: they need a restart).
  void reconfigure(const config::Config& cfg);
  /// The next pass uses new admin clients (rotated certificate files, password): SIGHUP.
  void reload();

 private:
  void loop();
  bool stopping();

  config::Config cfg_;  // guarded by mu_
  std::shared_ptr<control::RdKafkaAdmin> source_, target_;  // guarded by mu_
  Callbacks callbacks_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace tiermirror::app
