#include "real_admin.h"

#include <thread>

namespace tiermirror::test::real {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kRequestTimeout{30000};
constexpr milliseconds kPause{50};

}  // namespace

int32_t settled_partitions(control::Admin& admin, const std::string& topic, int32_t want, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int32_t seen = -1;
  for (int streak = 0; streak < 5;) {
    auto r = admin.list_topics(kRequestTimeout);
    seen = r ? 0 : -1;  // an error is not an answer
    if (r)
      for (const auto& t : *r)
        if (t.name == topic) seen = t.partitions;
    streak = seen == want ? streak + 1 : 0;
    if (streak >= 5 || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPause);
  }
  return seen;
}

std::string create_settled_topic(control::Admin& admin, const std::string& topic, int32_t partitions,
                                 const std::map<std::string, std::string>& configs) {
  if (auto e = admin.create_topic(topic, partitions, -1, configs, kRequestTimeout))
    return admin.cluster_name() + ": CreateTopics " + topic + ": " + e->str();
  int32_t n = settled_partitions(admin, topic, partitions);
  if (n != partitions)
    return admin.cluster_name() + ": metadata never settled on " + topic + " with " + std::to_string(partitions) +
           " partitions (last answer " + std::to_string(n) + ")";
  return "";
}

control::AdminResult<control::TopicConfigs> topic_configs_once_known(control::Admin& admin, const std::string& topic,
                                                                     milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto r = admin.topic_configs(topic, kRequestTimeout);
    if (r || r.error().ec != kafka_errc::unknown_topic_or_partition || Clock::now() >= deadline) return r;
    std::this_thread::sleep_for(kPause);
  }
}

}  // namespace tiermirror::test::real
