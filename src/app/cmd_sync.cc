// `tiermirror sync --config FILE [--dry-run]`: one pass of the partition-count syncer.
#include <iostream>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/config/config.h"

namespace tiermirror::app {

int cmd_sync(const SyncCommandOptions& opts) {
  auto loaded = load_route_config(opts.config_path);
  if (!loaded) return 1;
  const auto& cfg = *loaded;
  try {
    auto report = sync_once(cfg, opts.dry_run);
    std::cout << report.render();
    return report.failed() ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "sync: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace tiermirror::app
