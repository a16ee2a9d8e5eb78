#include "tiermirror/app/sync_runner.h"

#include <stdexcept>

#include "tiermirror/common/log.h"
#include "tiermirror/control/rdkafka_admin.h"
#include "tiermirror/control/topic_setup.h"
#include "tiermirror/net/security.h"

namespace tiermirror::app {

control::SyncOptions sync_options(const config::Config& cfg) {
  control::SyncOptions o;
  auto topics = std::make_shared<config::TopicSelection>(cfg.topics);
  o.select = [topics](const std::string& t) { return topics->matches(t); };
  o.create_missing_topics = cfg.partition_sync.create_missing_topics;
  o.replication_factor = cfg.partition_sync.replication_factor;
  o.copy_configs = cfg.partition_sync.copy_configs;
  o.identity = cfg.partition_sync.identity_violation == config::IdentityViolation::refuse
                   ? control::IdentityPolicy::refuse
                   : control::IdentityPolicy::warn;
  o.timeout = cfg.limits.request_timeout;
  return o;
}

std::map<std::string, std::string> rdkafka_security(const config::SecurityConfig& sec) {
  std::map<std::string, std::string> out;
  out["security.protocol"] = std::string(config::to_string(sec.protocol));  // librdkafka's spelling too
  if (sec.uses_tls()) {
    config::TlsConfig tls = sec.tls.value_or(config::TlsConfig{});
    if (!tls.ca_file.empty()) out["ssl.ca.location"] = tls.ca_file;  // unset: the system trust store
    if (!tls.cert_file.empty()) {
      out["ssl.certificate.location"] = tls.cert_file;
      out["ssl.key.location"] = tls.key_file;
    }
    out["ssl.endpoint.identification.algorithm"] = tls.verify_hostname ? "https" : "none";
  }
  if (sec.uses_sasl() && sec.sasl) {
    out["sasl.mechanisms"] = std::string(config::to_string(sec.sasl->mechanism));
    out["sasl.username"] = sec.sasl->username;
  }
  return out;
}

control::AdminConnection admin_connection(const config::ClusterConfig& c, const config::Config& cfg) {
  control::AdminConnection a;
  a.name = c.name;
  a.bootstrap = c.bootstrap_string();
  a.client_id = "tiermirror-" + cfg.route.name + "-admin";
  a.extra = rdkafka_security(c.security);
  if (c.security.uses_sasl() && c.security.sasl)
    a.sasl_password = [sasl = *c.security.sasl] { return config::read_password(sasl); };
  return a;
}

control::SyncReport sync_once(const config::Config& cfg, bool dry_run) {
  control::RdKafkaAdmin source(admin_connection(cfg.source, cfg));
  control::RdKafkaAdmin target(admin_connection(cfg.target, cfg));
  control::Syncer syncer(source, target, sync_options(cfg));
  auto report = syncer.run_once(dry_run);
  // A refused login is not a syncer verdict: the command stops with it (exit 3).
  if (report.failed())
    for (const auto* a : {&source, &target})
      if (auto why = admin_login_failure(*a, cfg)) throw std::runtime_error(*why);
  return report;
}

std::optional<std::string> admin_login_failure(const control::RdKafkaAdmin& admin, const config::Config& cfg) {
  auto why = admin.login_failure();
  if (!why) return std::nullopt;
  std::string out = "the admin client cannot log in to cluster '" + admin.cluster_name() + "': " + *why;
  const auto& cluster = admin.cluster_name() == cfg.target.name ? cfg.target : cfg.source;
  // The hints the data path gives from the bytes (net::Connection), from librdkafka's words.
  auto says = [&](const char* text) { return why->find(text) != std::string::npos; };
  const bool no_client_cert = !cluster.security.tls || cluster.security.tls->cert_file.empty();
  if (says("Illegal SASL state") || says("not valid in current SASL state")) {
    out += std::string(" (") + net::hint::kNoSaslOnListener + ")";
  } else if (cluster.security.uses_tls() && says("SSL") && !says("verify failed")) {
    // A handshake cut short or answered in plaintext: no TLS on that port. A TLS refusal after
    // the broker's certificate was accepted, to a client that sends none: most likely
    // ssl.client.auth=required.
    if (says("unexpected eof") || says("wrong version number") || says("packet length too long"))
      out += std::string(" (") + net::hint::kNoTlsOnPort + ")";
    else if (no_client_cert)
      out += std::string(" (") + net::hint::kClientCertificate + ")";
  }
  const auto& sasl = cluster.security.sasl;
  if (cluster.security.uses_sasl() && sasl && sasl->mechanism != config::SaslMechanism::plain &&
      !control::librdkafka_scram_works_with_kafka4())
    out += " (if the password is right: librdkafka " + control::librdkafka_version() +
           " cannot log in with SCRAM to Kafka 4.x brokers, which check the SCRAM nonce strictly; fixed in librdkafka "
           "2.6.1. tiermirror's own data path is not affected: use PLAIN over TLS for the admin client's cluster, a "
           "newer librdkafka, or partition_sync.enabled: false with the target topics made by hand)";
  return out;
}

std::shared_ptr<control::RdKafkaAdmin> audit_topic_admin(const config::Config& cfg) {
  if (!cfg.audit.enabled || !cfg.audit.create_topic) return nullptr;
  const auto& cluster = cfg.audit.cluster == config::AuditCluster::target ? cfg.target : cfg.source;
  return std::make_shared<control::RdKafkaAdmin>(admin_connection(cluster, cfg));
}

std::optional<std::string> ensure_audit_topic(const config::Config& cfg, control::RdKafkaAdmin& admin) {
  const auto& cluster = cfg.audit.cluster == config::AuditCluster::target ? cfg.target : cfg.source;
  control::TopicSpec spec;
  spec.name = cfg.audit.topic;
  spec.partitions = cfg.audit.topic_partitions;
  spec.replication_factor = cfg.audit.topic_replication_factor;
  spec.configs = {{"retention.ms", std::to_string(cfg.audit.topic_retention.count())},
                  {"cleanup.policy", "delete"}};  // every record counts: compaction would drop some
  auto r = control::ensure_topic(admin, spec, cfg.limits.request_timeout);
  using Outcome = control::EnsureTopicResult::Outcome;
  if (r.outcome == Outcome::created)
    TM_INFO("audit", "audit topic created",
            {{"cluster", cluster.name}, {"topic", spec.name}, {"partitions", spec.partitions},
             {"replication_factor", spec.replication_factor}, {"retention_ms", cfg.audit.topic_retention.count()}});
  if (r.outcome != Outcome::failed) return std::nullopt;
  if (auto why = admin_login_failure(admin, cfg)) return why;
  if (r.error->retriable()) {
    TM_WARN("audit", "cannot check the audit topic now; publishes retry",
            {{"cluster", cluster.name}, {"topic", spec.name}, {"error", r.error->str()}});
    return std::nullopt;
  }
  return "cannot create the audit topic '" + spec.name + "' on cluster '" + cluster.name + "': " + r.error->str() +
         " (create it by hand and set audit.create_topic: false, or set audit.enabled: false)";
}

SyncThread::SyncThread(const config::Config& cfg, Callbacks callbacks)
    : cfg_(cfg), callbacks_(std::move(callbacks)), thread_([this] { loop(); }) {}

SyncThread::~SyncThread() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    if (source_) source_->cancel();  // a pass under way ends now
    if (target_) target_->cancel();
  }
  cv_.notify_all();
  thread_.join();
}

bool SyncThread::stopping() {
  std::lock_guard lk(mu_);
  return stop_;
}

void SyncThread::reload() {
  std::lock_guard lk(mu_);
  // The next pass makes new admin clients: they read the certificate files and the password
  // again (librdkafka reads them only when a handle is created).
  source_.reset();
  target_.reset();
}

void SyncThread::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void SyncThread::reconfigure(const config::Config& cfg) {
  std::lock_guard lk(mu_);
  cfg_ = cfg;
}

void SyncThread::loop() {
  for (;;) {
    std::shared_ptr<control::RdKafkaAdmin> source, target;
    config::Config cfg;
    try {
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        cfg = cfg_;
        if (!source_) source_ = std::make_shared<control::RdKafkaAdmin>(admin_connection(cfg_.source, cfg_));
        if (!target_) target_ = std::make_shared<control::RdKafkaAdmin>(admin_connection(cfg_.target, cfg_));
        source = source_;
        target = target_;
      }
      auto opts = sync_options(cfg);
      if (callbacks_.topic_checked)
        opts.on_topic_checked = [this](const control::IdentityVerdict& v, int64_t max_message_bytes) {
          if (!stopping()) callbacks_.topic_checked(v, max_message_bytes);
        };
      control::Syncer syncer(*source, *target, std::move(opts));
      // One writer per route at a time when instances share it (the group picks it).
      auto report = syncer.run_once(callbacks_.may_write && !callbacks_.may_write());
      if (callbacks_.after_pass && !stopping()) callbacks_.after_pass(report);
      if (report.failed() && callbacks_.login_failed && !stopping())
        for (const auto* a : {source.get(), target.get()})
          if (auto why = admin_login_failure(*a, cfg)) {
            callbacks_.login_failed(*why);
            break;
          }
    } catch (const std::exception& e) {
      // Admin clients failing to start is not fatal to mirroring: log and try next time.
      TM_ERROR("control", "partition-count syncer failed", {{"error", e.what()}});
      std::lock_guard lk(mu_);
      source_.reset();
      target_.reset();
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, cfg_.partition_sync.interval, [this] { return stop_ || poked_; });
    if (stop_) return;
    poked_ = false;
  }
}

}  // namespace tiermirror::app
