#include "tiermirror/control/topic_setup.h"

namespace tiermirror::control {

EnsureTopicResult ensure_topic(Admin& admin, const TopicSpec& spec, std::chrono::milliseconds timeout) {
  using Outcome = EnsureTopicResult::Outcome;
  auto topics = admin.list_topics(timeout);
  if (!topics) return {Outcome::failed, topics.error()};
  for (const auto& t : *topics)
    if (t.name == spec.name) return {Outcome::existed, std::nullopt};
  auto err = admin.create_topic(spec.name, spec.partitions, spec.replication_factor, spec.configs, timeout);
  if (!err) return {Outcome::created, std::nullopt};
  if (err->ec == make_error_code(kafka_errc::topic_already_exists)) return {Outcome::existed, std::nullopt};
  return {Outcome::failed, err};
}

}  // namespace tiermirror::control
