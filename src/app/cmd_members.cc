// `tiermirror members --config FILE [--format table|json]`: the route's consumer group on the
// source cluster, its members and who owns which partition (DescribeConsumerGroups).
#include <iostream>
#include <nlohmann/json.hpp>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/route_runner.h"
#include "tiermirror/app/sync_runner.h"
#include "tiermirror/config/config.h"
#include "tiermirror/control/rdkafka_admin.h"

namespace tiermirror::app {

int cmd_members(const MembersOptions& opts) {
  auto loaded = load_route_config(opts.config_path);
  if (!loaded) return 1;
  const auto& cfg = *loaded;
  try {
    control::RdKafkaAdmin admin(admin_connection(cfg.source, cfg));
    auto d = admin.describe_group(cfg.consumer_group, cfg.limits.request_timeout);
    if (!d) {
      std::cerr << "members: group '" << cfg.consumer_group << "' on cluster '" << cfg.source.name
                << "': " << d.error().str() << "\n";
      return 3;
    }
    if (opts.format == "json") {
      nlohmann::ordered_json j;
      j["group"] = cfg.consumer_group;
      j["state"] = d->state;
      j["assignor"] = d->partition_assignor;
      j["members"] = nlohmann::ordered_json::array();
      for (const auto& m : d->members) {
        auto parts = nlohmann::ordered_json::array();
        for (const auto& tp : m.assigned) parts.push_back(tp.str());
        j["members"].push_back({{"member_id", m.member_id}, {"client_id", m.client_id}, {"host", m.host},
                                {"partitions", parts}});
      }
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "group " << cfg.consumer_group << " on " << cfg.source.name << ": " << d->state;
    if (!d->partition_assignor.empty()) std::cout << " (" << d->partition_assignor << ")";
    std::cout << ", " << d->members.size() << " member(s)\n";
    for (const auto& m : d->members) {
      std::cout << "  " << m.member_id << "  " << m.host << "  " << m.assigned.size() << " partition(s):";
      for (const auto& tp : m.assigned) std::cout << " " << tp.str();
      std::cout << "\n";
    }
    if (d->members.empty())
      std::cout << "  no active members: instances with membership.mode none commit here as a simple consumer\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "members: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace tiermirror::app
