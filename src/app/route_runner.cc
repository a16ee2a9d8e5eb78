#include "tiermirror/app/route_runner.h"

#include <future>
#include <iostream>

namespace tiermirror::app {

std::optional<std::string> unsupported_security(const config::Config& cfg) {
  for (const auto* c : {&cfg.source, &cfg.target}) {
    if (c->security.protocol == config::SecurityProtocol::plaintext) continue;
    return std::string(c == &cfg.source ? "source" : "target") + ".security.protocol: " +
           std::string(config::to_string(c->security.protocol)) +
           " is not supported by this build yet; only plaintext clusters can be mirrored";
  }
  return std::nullopt;
}

std::optional<config::Config> load_route_config(const std::string& path) {
  auto loaded = config::load_file(path);
  if (!loaded.errors.empty()) {
    for (const auto& d : loaded.errors) std::cerr << config::format_diagnostic(path, d) << "\n";
    return std::nullopt;
  }
  if (auto why = unsupported_security(*loaded.config)) {
    std::cerr << path << ": " << *why << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

pipeline::RouteOptions route_options(const config::Config& cfg) {
  pipeline::RouteOptions o;
  o.name = cfg.route.name;
  auto topics = std::make_shared<config::TopicSelection>(cfg.topics);
  o.select_topic = [topics](const std::string& t) { return topics->matches(t); };
  o.group = cfg.consumer_group;
  o.start_earliest = cfg.start_position == config::StartPosition::earliest;
  o.commit_interval = cfg.commit_interval;
  o.metadata_interval = cfg.partition_sync.interval;
  o.request_timeout = cfg.limits.request_timeout;
  o.bytes_per_partition = cfg.limits.bytes_per_partition;
  o.total_bytes = cfg.limits.total_bytes;
  o.fetch_max_bytes = cfg.limits.fetch_max_bytes;
  o.inflight_per_partition = cfg.limits.inflight_per_partition;
  return o;
}

net::ClusterOptions cluster_options(const config::ClusterConfig& c, const config::Config& cfg) {
  net::ClusterOptions o;
  o.name = c.name;
  o.metadata_timeout = cfg.limits.request_timeout;
  o.connection.connect_timeout = cfg.limits.request_timeout;
  o.connection.client_id = "tiermirror-" + cfg.route.name;
  o.connection.max_frame_bytes = std::max<size_t>(cfg.limits.fetch_max_bytes * 2, 64u << 20);
  return o;
}

RunningRoute start_route(boost::asio::io_context& io, const config::Config& cfg,
                         std::function<void(std::error_code, std::string)> fatal, bool force_repack) {
  RunningRoute r;
  r.source = net::Cluster::create(io, net::parse_endpoints(cfg.source.bootstrap_string()), cluster_options(cfg.source, cfg));
  r.target = net::Cluster::create(io, net::parse_endpoints(cfg.target.bootstrap_string()), cluster_options(cfg.target, cfg));
  auto ro = route_options(cfg);
  ro.force_repack = force_repack;
  r.route = pipeline::Route::create(io, r.source, r.target, std::move(ro));
  r.route->start(std::move(fatal));
  return r;
}

void RunningRoute::stop(net::Millis timeout) {
  std::promise<void> done;
  route->stop(timeout, [&done] { done.set_value(); });
  done.get_future().wait();
  source->close();
  target->close();
}

}  // namespace tiermirror::app
