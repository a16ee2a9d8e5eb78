// Every Produce request any mock or real test sends through tiermirror's connections is run
// through the produce-rules validator and the idempotent sequence tracker: the mock cluster
// checks almost none of what real brokers enforce (kafka-wire-rules.md), so a violation here
// fails the test that caused it; against a real broker, a broker error without a violation here
// is a gap in the validator.
//
// `tiermirror run` processes the tests start check their own requests: the environment names
// a file in TIERMIRROR_CHECK_PRODUCE_RULES, children append what they find there, and the test
// process fails at its end if the file is not empty.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tiermirror/net/connection.h"
#include "tiermirror/protocol/produce_check.h"
#include "mock_support.h"

namespace tiermirror::test {
namespace {

class ProduceRulesEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    children_file_ = (std::filesystem::temp_directory_path() /
                      ("tiermirror-produce-rules-" + std::to_string(::getpid()) + ".log"))
                         .string();
    std::filesystem::remove(children_file_);
    ::setenv("TIERMIRROR_CHECK_PRODUCE_RULES", children_file_.c_str(), 1);
    net::Connection::set_request_observer([this](protocol::ApiKey api, int16_t version, const Bytes& frame) {
      if (api != protocol::ApiKey::produce) return;
      for (const auto& problem : checker_.check(version, frame))
        ADD_FAILURE() << "Produce request breaks a broker rule: " << problem;
    });
  }
  void TearDown() override {
    net::Connection::set_request_observer(nullptr);
    std::ifstream in(children_file_);
    std::stringstream found;
    found << in.rdbuf();
    if (!found.str().empty())
      ADD_FAILURE() << "a tiermirror process of this test sent Produce requests that break broker rules:\n"
                    << found.str();
    std::filesystem::remove(children_file_);
  }

 private:
  protocol::ProduceRequestChecker checker_{kSetupClientId};
  std::string children_file_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ProduceRulesEnvironment);

}  // namespace
}  // namespace tiermirror::test
