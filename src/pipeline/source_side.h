#pragma once
// The source side of a route (route_core.h): one Fetch at a time per source broker for all its
// running partitions, within the byte budgets; each partition's part of the response is
// filtered batch by batch into its queue (forward, repack, drop, or pause before a corrupt
// batch); fetch errors and offsets out of range. Runs on the route strand.
#include <cstdint>
#include <set>
#include <system_error>
#include <vector>

#include "route_core.h"
#include "tiermirror/protocol/messages/fetch.h"

namespace tiermirror::pipeline::detail {

class TargetSide;

class SourceSide {
 public:
  /// `target`: where fetched batches are released (their partition may have nothing in
  /// flight) and what the target topics' batch limit is (repacking).
  SourceSide(RouteCore& core, TargetSide& target);
  SourceSide(const SourceSide&) = delete;
  SourceSide& operator=(const SourceSide&) = delete;

  /// Sends a Fetch to every source leader with running partitions that have room and no fetch
  /// out yet; nothing while the global budget is full.
  void schedule_fetches();

 private:
  void send_fetch(int32_t broker, std::vector<Partition*> parts);
  void on_fetch_partition(Partition& p, const protocol::FetchResponse::Partition& rp);
  void handle_fetch_error(Partition& p, std::error_code ec);
  void handle_out_of_range(Partition& p);

  RouteCore& core_;
  TargetSide& target_;
  std::set<int32_t> fetching_brokers_;
  uint64_t next_batch_id_ = 1;
};

}  // namespace tiermirror::pipeline::detail
