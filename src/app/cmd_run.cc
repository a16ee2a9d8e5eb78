// `tiermirror run`: for now it loads the route, connects to both clusters and reports
// what the whitelist selects; the partition pipelines that mirror are not in this build.
#include <cstdio>
#include <iostream>

#include "tiermirror/app/commands.h"
#include "tiermirror/common/log.h"
#include "tiermirror/config/config.h"
#include "tiermirror/net/cluster.h"
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
  TM_INFO("app", "starting route", {{"route", cfg.route.name}, {"source", cfg.source.name}, {"target", cfg.target.name}});

  net::IoThread io;
  using MetaResult = std::pair<std::error_code, net::MetadataPtr>;
  int rc = 0;
  for (const auto* cluster_cfg : {&cfg.source, &cfg.target}) {
    std::string list = cluster_cfg->bootstrap_string();
    net::ClusterOptions co;
    co.name = cluster_cfg->name;
    co.metadata_timeout = cfg.limits.request_timeout;
    co.connection.connect_timeout = cfg.limits.request_timeout;
    auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(list), co);
    auto [ec, md] = net::await<MetaResult>(
        [&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
    if (ec || !md) {
      TM_ERROR("app", "cluster unreachable", {{"cluster", cluster_cfg->name}, {"bootstrap", list}, {"error", ec.message()}});
      rc = 3;
      cluster->close();
      continue;
    }
    int selected = 0;
    for (const auto& [name, t] : md->topics) {
      if (t.internal || !cfg.topics.matches(name)) continue;
      ++selected;
      TM_INFO("app", "topic selected", {{"cluster", cluster_cfg->name}, {"topic", name}, {"partitions", t.partitions.size()}});
    }
    TM_INFO("app", "cluster reachable",
            {{"cluster", cluster_cfg->name}, {"brokers", md->brokers.size()}, {"selected_topics", selected}});
    cluster->close();
  }
  TM_ERROR("app", "the partition pipelines are not part of this build yet: nothing is mirrored",
           {{"route", cfg.route.name}});
  return rc ? rc : 3;
}

}  // namespace tiermirror::app
