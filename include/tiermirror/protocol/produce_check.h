#pragma once
// Encoded Produce requests checked the way a broker would, before they are sent: decode, every
// rule of validate_produce, and idempotent sequences across requests (SequenceTracker). The test
// tiers run every request through it; `tiermirror run` does too when TIERMIRROR_CHECK_PRODUCE_RULES
// is set (a diagnostic for comparing the validator with a real broker).
#include <mutex>
#include <string>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/produce_rules.h"

namespace tiermirror::protocol {

class ProduceRequestChecker {
 public:
  /// Requests whose client id is `skip_client_id` are not checked (tests planting bad input).
  explicit ProduceRequestChecker(std::string skip_client_id = {}) : skip_(std::move(skip_client_id)) {}

  /// `frame` is the request as sent, with its 4-byte size prefix. Returns one line per broken rule
  /// (topic, partition, rule and the broker's answer; never record bytes). Thread-safe.
  std::vector<std::string> check(int16_t version, const Bytes& frame);

 private:
  std::string skip_;
  std::mutex mu_;
  SequenceTracker tracker_;
};

}  // namespace tiermirror::protocol
