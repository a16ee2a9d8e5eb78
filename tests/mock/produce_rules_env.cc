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
#include <memory>
#include <mutex>

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
      for (const auto& problem : checker()->check(version, frame))
        ADD_FAILURE() << "Produce request breaks a broker rule: " << problem;
    });
  }
  /// A fresh sequence tracker for every test: librdkafka's mock clusters of different tests can
  /// hand out the same producer id, and the tests reuse topic names ("t"), so one test's
  /// sequences must not be checked against another's.
  void fresh_checker() {
    std::lock_guard lk(mu_);
    checker_ = std::make_shared<protocol::ProduceRequestChecker>(kSetupClientId);
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
  std::shared_ptr<protocol::ProduceRequestChecker> checker() {
    std::lock_guard lk(mu_);
    return checker_;
  }

  std::mutex mu_;
  std::shared_ptr<protocol::ProduceRequestChecker> checker_ =
      std::make_shared<protocol::ProduceRequestChecker>(kSetupClientId);
  std::string children_file_;
};

auto* const kEnv = static_cast<ProduceRulesEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new ProduceRulesEnvironment));

class FreshCheckerPerTest : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { kEnv->fresh_checker(); }
};

const bool kFreshCheckerRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new FreshCheckerPerTest);
  return true;
}();

}  // namespace
}  // namespace tiermirror::test
