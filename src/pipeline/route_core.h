#pragma once
// What every part of a route shares (route.h): the strand everything runs on, the two
// clusters, the options, the partitions, the byte budget of live fetch responses, and the few
// hooks the parts call each other through (schedule, retry_later, after, pause). The parts:
//
//   SourceSide (source_side.h)  Fetch per source broker, fetch errors, out-of-range
//   TargetSide (target_side.h)  the idempotent producer, Produce per target broker, release
//   Progress   (progress.h)     start offsets, exactly-once resume scans, commits, catch-up
//   Route      (route.cc)       wires them: start, stop, status, reconfigure, discovery,
//                               and the group's assignment changes (assign/remove, retiring)
//
// Internal to the pipeline layer. Everything here runs on the strand: no locks.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "partition_pipeline.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/partition_queue.h"
#include "tiermirror/pipeline/route.h"
#include "tiermirror/protocol/api.h"

namespace tiermirror::pipeline::detail {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

/// The global budget (RouteOptions::total_bytes). Queued batches are views into whole fetch
/// responses: memory is the responses they keep alive, not the batches' bytes. The global
/// budget is charged per live response. The source side charges it (fetches in flight, then
/// the batches of their responses); whoever lets a batch go (release, a target-side pause, a
/// retired partition) untracks it.
class ResponseBudget {
 public:
  void track(const QueuedBatch& b);
  void untrack(const QueuedBatch& b);
  void reserve(size_t bytes) { fetch_reserved_ += bytes; }
  void unreserve(size_t bytes) { fetch_reserved_ -= bytes; }
  /// Live fetch responses + fetches in flight.
  size_t total() const { return frame_bytes_ + fetch_reserved_; }

 private:
  struct FrameUse {
    size_t bytes = 0;
    int batches = 0;
  };
  std::map<const void*, FrameUse> frames_;
  size_t frame_bytes_ = 0;
  size_t fetch_reserved_ = 0;  // max_bytes of fetches in flight
};

enum class PauseSide { source, target };

struct RouteCore {
  RouteCore(boost::asio::io_context& io, std::shared_ptr<net::Cluster> source, std::shared_ptr<net::Cluster> target,
            RouteOptions opts);

  boost::asio::io_context& io;
  Strand strand;
  std::shared_ptr<net::Cluster> source, target;
  RouteOptions opts;
  std::map<TopicPartition, std::unique_ptr<Partition>> parts;
  ResponseBudget budget;
  bool started = false;
  bool stopping = false;
  std::function<void(std::error_code, std::string)> fatal;
  /// The whitelisted source topics last reported (discovery); the caught-up check of a group
  /// member counts their partitions.
  std::set<std::string> selected_topics;

  /// The Route that owns this, for callbacks to keep it alive (as shared_from_this did).
  std::weak_ptr<void> owner;
  std::shared_ptr<void> keep() const { return owner.lock(); }
  /// Wired by the route: fetches, produces, and the end of a stop.
  std::function<void()> on_schedule;

  template <typename F>
  auto on_strand(F&& f) {
    return boost::asio::bind_executor(strand, std::forward<F>(f));
  }
  void schedule() { on_schedule(); }
  void after(net::Millis delay, std::function<void()> fn);
  /// schedule() again after retry_backoff (one timer for the whole route).
  void retry_later();
  void cancel_retry() { retry_timer_.cancel(); }
  void notify_failed(protocol::ApiKey api, std::error_code ec);
  void pause(Partition& p, std::string reason, PauseSide side = PauseSide::source);
  std::vector<PartitionStatus> partition_statuses() const;

 private:
  boost::asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
};

}  // namespace tiermirror::pipeline::detail
