#pragma once
// Turns a validated Config into a running route (clusters + pipeline) and back to a stop.
#include <memory>

#include "tiermirror/config/config.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/pipeline/route.h"

namespace tiermirror::app {

/// Why this build cannot serve the config's clusters (TLS/SASL are not spoken yet), naming
/// the key; nullopt when it can. Connecting in plaintext to a TLS or SASL listener would
/// fail obscurely, or worse, succeed against the wrong listener.
std::optional<std::string> unsupported_security(const config::Config& cfg);

/// Loads a route config for a command that will connect (run, sync): prints every
/// diagnostic, or the security this build cannot speak, on stderr and returns nullopt.
std::optional<config::Config> load_route_config(const std::string& path);

/// The pipeline's options from the route config (the pipeline never sees YAML).
pipeline::RouteOptions route_options(const config::Config& cfg);
net::ClusterOptions cluster_options(const config::ClusterConfig& c, const config::Config& cfg);

struct RunningRoute {
  std::shared_ptr<net::Cluster> source, target;
  std::shared_ptr<pipeline::Route> route;
  /// Stops the route (commits what was acknowledged) and closes the clusters; blocks.
  void stop(net::Millis timeout);
};

/// Creates clusters and route on `io` and starts it. `fatal` as for Route::start.
RunningRoute start_route(boost::asio::io_context& io, const config::Config& cfg,
                         std::function<void(std::error_code, std::string)> fatal, bool force_repack = false);

}  // namespace tiermirror::app
