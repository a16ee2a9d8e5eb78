#include <iostream>

#include "tiermirror/app/commands.h"
#include "tiermirror/config/config.h"

namespace tiermirror::app {

int cmd_validate(const std::string& config_path) {
  auto result = config::load_file(config_path);
  if (!result.errors.empty()) {
    for (const auto& d : result.errors) std::cout << config::format_diagnostic(config_path, d) << "\n";
    std::cout << config_path << ": " << result.errors.size() << (result.errors.size() == 1 ? " problem" : " problems")
              << "\n";
    return 1;
  }
  const auto& c = *result.config;
  std::cout << config_path << ": ok (route " << c.route.name << ": " << c.source.name << " -> " << c.target.name
            << ")\n";
  return 0;
}

}  // namespace tiermirror::app
