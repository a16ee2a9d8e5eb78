// Every Produce request any mock test sends through tiermirror's connections is decoded
// and run through the produce-rules validator and the idempotent sequence tracker: the
// mock cluster checks almost none of what real brokers enforce (kafka-wire-rules.md), so
// a violation here fails the test that caused it.
#include <gtest/gtest.h>

#include <mutex>

#include "tiermirror/net/connection.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/produce_rules.h"
#include "mock_support.h"

namespace tiermirror::test {
namespace {

class ProduceRulesEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    net::Connection::set_request_observer([this](protocol::ApiKey api, int16_t version, const Bytes& frame) {
      if (api != protocol::ApiKey::produce) return;
      check(version, frame);
    });
  }
  void TearDown() override { net::Connection::set_request_observer(nullptr); }

 private:
  void check(int16_t version, const Bytes& frame) {
    // The observer sees the frame with its 4-byte size prefix.
    SharedBuffer body(Bytes(frame.begin() + 4, frame.end()));
    protocol::RequestHeader header;
    auto decoded = protocol::decode_request<protocol::ProduceRequest>(body, &header);
    if (!decoded.ok()) {
      ADD_FAILURE() << "tiermirror sent a Produce request that does not decode: " << decoded.error.describe();
      return;
    }
    if (header.client_id && *header.client_id == kSetupClientId) return;  // tests planting bad input
    const auto& req = *decoded.value;
    std::vector<protocol::ProducePartitionInput> inputs;
    std::vector<Bytes> joined;  // keeps flattened record bytes alive
    joined.reserve(64);
    for (const auto& t : req.topics)
      for (const auto& p : t.partitions) {
        Bytes b;
        for (const auto& s : p.records) b.insert(b.end(), s.span().begin(), s.span().end());
        joined.push_back(std::move(b));
      }
    size_t i = 0;
    for (const auto& t : req.topics)
      for (const auto& p : t.partitions) inputs.push_back({t.name, p.index, ByteSpan(joined[i++])});
    auto violations = protocol::validate_produce(version, req.transactional_id, req.acks, inputs);
    std::lock_guard lk(mu_);
    auto seq = tracker_.observe(inputs);
    violations.insert(violations.end(), seq.begin(), seq.end());
    for (const auto& v : violations) ADD_FAILURE() << "Produce request breaks a broker rule: " << protocol::to_string(v);
  }

  std::mutex mu_;
  protocol::SequenceTracker tracker_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ProduceRulesEnvironment);

}  // namespace
}  // namespace tiermirror::test
