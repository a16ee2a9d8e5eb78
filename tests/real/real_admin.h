#pragma once
// Admin reads that wait for a 3-broker cluster to agree on a topic just created: each broker
// learns of it from the controller at its own pace, and a request goes to any of them.
#include <chrono>
#include <map>
#include <string>

#include "tiermirror/control/admin.h"

namespace tiermirror::test::real {

/// The partition count metadata shows for `topic` once it answered `want` five times in a row;
/// the last answer when that did not happen within `timeout` (0: not listed, -1: an error).
int32_t settled_partitions(control::Admin& admin, const std::string& topic, int32_t want,
                           std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// Creates a topic and waits until metadata settled on it; a failure message, or "".
std::string create_settled_topic(control::Admin& admin, const std::string& topic, int32_t partitions,
                                 const std::map<std::string, std::string>& configs = {});

/// DescribeConfigs of a topic: asked again while a broker answers UNKNOWN_TOPIC_OR_PARTITION
/// (one that has not learned of the topic yet; seen on a 3.9.2 target), for up to `timeout`.
control::AdminResult<control::TopicConfigs> topic_configs_once_known(
    control::Admin& admin, const std::string& topic, std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace tiermirror::test::real
