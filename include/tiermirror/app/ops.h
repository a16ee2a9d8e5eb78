#pragma once
// The operations surface of `tiermirror run`: Prometheus metrics, /status (JSON), the HTML
// page, /healthz and /readyz, fed by the route (observer callbacks, status snapshots), the
// network clusters (requests in flight) and the syncer.
//
// Layering: the metrics layer keeps the generic pieces (registry, text exposition, bounded
// HTTP server, HTML escaping); the route glue lives here because it needs pipeline, control
// and config types and nlohmann_json, which the layer table gives app only.
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "tiermirror/app/route_runner.h"
#include "tiermirror/control/group_member.h"
#include "tiermirror/config/config.h"
#include "tiermirror/control/syncer.h"
#include "tiermirror/metrics/exposition.h"
#include "tiermirror/metrics/http_server.h"
#include "tiermirror/pipeline/route.h"
#include "tiermirror/pipeline/route_observer.h"

namespace tiermirror::app {

enum class ProcessState { starting, running, stopping };
std::string_view to_string(ProcessState s);

/// Everything one scrape or status page shows, taken at one moment. No secrets: cluster
/// names and bootstrap addresses only, never security settings.
struct OpsSnapshot {
  std::string route_name, consumer_group;
  std::string source_name, target_name;
  std::vector<std::string> source_bootstrap, target_bootstrap;
  ProcessState process = ProcessState::starting;
  bool route_answered = false;  // false: no route yet; partitions and readiness unknown
  pipeline::RouteStatus route;
  size_t source_in_flight = 0, target_in_flight = 0;  // requests written and unanswered
  int64_t now_ms = 0, started_ms = 0;                  // wall clock
  /// The audit's counters since the process started, and its publisher (audit.enabled).
  struct Audit {
    audit::Counters::Totals totals;
    audit::Publisher::Stats publisher;
  };
  std::optional<Audit> audit;
  /// The route's receive-buffer pool (null before a route is attached).
  std::optional<BufferPool::Stats> receive_buffers;
  /// membership.mode group: this instance in the route's group (member id, generation,
  /// assigned partitions, whether the zombie fence lets it send).
  std::optional<control::GroupMemberStatus> group;
};

/// Lag of one partition, as /metrics and /status report it:
///   records = max(0, high_watermark − acked_offset), where acked_offset is the next source
///             offset the target has not acknowledged (end of the released prefix; before
///             the first acknowledgement the committed or start offset, else the next fetch
///             offset); 0 while the high watermark is unknown;
///   seconds = now − the latest record timestamp the target acknowledged, when records > 0
///             (0 when nothing is behind, or nothing was acknowledged in this process yet).
/// The high watermark is read_committed's end as of the partition's last fetch.
struct PartitionLag {
  int64_t records = 0;
  double seconds = 0;
};
PartitionLag partition_lag(const pipeline::PartitionStatus& s, int64_t now_ms);

struct Readiness {
  bool ready = false;
  std::string reason;  // why not, for /readyz's body
};
/// Ready: running, the route answered, metadata loaded, a producer id held, not stopping.
Readiness readiness(const OpsSnapshot& s);

/// The kind of a pause reason, a bounded label value: corrupt_source_batch,
/// source_authorization, target_authorization, message_too_large, target_refused,
/// identity_refused, topic_deleted, offset_beyond_log_end, repack_failed, topic_unselected, other.
std::string_view pause_kind(std::string_view reason);
/// Every value pause_kind returns (so each gets a series, 0 when none).
const std::vector<std::string_view>& pause_kinds();

std::string status_json(const OpsSnapshot& s);
std::string status_html(const OpsSnapshot& s);

/// Counters and histograms the route, the syncer and reloads update as they happen, and
/// the families computed per scrape from a snapshot. Observer methods run on the route
/// strand; scrape() and the setters on any thread (one mutex).
class RouteMetrics : public pipeline::RouteObserver {
 public:
  RouteMetrics(prometheus::Registry& registry, std::string route, bool per_partition_labels);

  void acked(const TopicPartition& tp, const pipeline::BatchFacts& b, int64_t now_ms) override;
  void lost(const TopicPartition& tp, SourceOffset first, SourceOffset last, std::string_view why) override;
  void request_failed(protocol::ApiKey api, std::error_code ec) override;

  void sync_pass(const control::SyncReport& report);
  void reload(bool applied);
  /// Live: false drops the per-partition series (counters and gauges aggregate per topic).
  void set_per_partition_labels(bool on);

  /// Scrape-time families (gauges from the snapshot; repack/drop counters advanced by the
  /// snapshot's cumulative per-partition figures). Not in the registry: they are computed.
  std::vector<prometheus::MetricFamily> scrape(const OpsSnapshot& s);

 private:
  struct TopicCounters {
    prometheus::Counter *records, *batches, *bytes;
  };
  struct Seen {
    uint64_t dropped = 0;
    std::map<std::string, uint64_t> repacked;
    uint64_t resume_scan_failures = 0;
  };

  std::string route_;
  std::mutex mu_;
  bool per_partition_;
  prometheus::Family<prometheus::Counter>&records_, &batches_, &bytes_;
  prometheus::Family<prometheus::Counter>&p_records_, &p_batches_, &p_bytes_;
  prometheus::Family<prometheus::Counter>&repacked_, &dropped_, &lost_, &errors_, &resume_scan_failures_;
  prometheus::Family<prometheus::Counter>&sync_passes_, &sync_actions_, &sync_verdicts_, &reloads_;
  prometheus::Histogram& latency_;
  std::map<std::string, TopicCounters> topics_;
  std::map<TopicPartition, TopicCounters> partitions_;
  std::map<TopicPartition, Seen> seen_;
};

/// Owns the registry, the metrics and the HTTP server of one `tiermirror run`.
class OpsServer {
 public:
  explicit OpsServer(const config::Config& cfg, metrics::HttpServerOptions http = {});
  ~OpsServer();

  /// The observer to put into RouteOptions::observers.
  std::shared_ptr<RouteMetrics> observer() const { return metrics_; }
  /// Where other layers (audit) register their families; served with /metrics.
  const std::shared_ptr<prometheus::Registry>& registry() const { return exposition_->registry(); }

  /// The route to report on, and the io_context its strands run on (for /healthz).
  void attach(boost::asio::io_context& io, const RunningRoute& route);
  void set_state(ProcessState s) { state_ = s; }
  void set_per_partition_labels(bool on) { metrics_->set_per_partition_labels(on); }

  /// Serves /metrics, /status, /healthz, /readyz and / on host:port (port 0: any).
  std::error_code start(const std::string& host, uint16_t port);
  uint16_t port() const { return http_.port(); }
  /// Stops the HTTP server (before the io_context stops).
  void stop();

  /// Gathers a snapshot (route strand, each connection's strand); `done` runs on one of them.
  void snapshot(std::function<void(OpsSnapshot)> done);

 private:
  OpsSnapshot base() const;

  const config::Config cfg_;
  // Shared with callbacks that may run on the route's io thread after a scrape timed out.
  std::shared_ptr<metrics::Exposition> exposition_;
  std::shared_ptr<RouteMetrics> metrics_;
  metrics::HttpServer http_;
  std::atomic<ProcessState> state_{ProcessState::starting};
  int64_t started_ms_;
  std::mutex mu_;  // guards the attached route
  boost::asio::io_context* io_ = nullptr;
  RunningRoute route_;
};

}  // namespace tiermirror::app
