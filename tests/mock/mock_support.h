#pragma once
// Helpers for tests against librdkafka's in-process mock clusters.
#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/common/strong_types.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::test {

/// Client id of connections that plant raw (possibly rule-breaking) batches in a source
/// cluster; the produce-rules check skips their requests.
inline constexpr const char* kSetupClientId = "tiermirror-test-setup";

/// Writes raw batch bytes to a partition of a mock cluster as they are (the mock stores
/// them verbatim: a way to plant corrupt, gapped or huge batches in a source).
void plant_batch(const std::string& bootstrap, const TopicPartition& tp, const Bytes& batch);

struct ConsumedRecord {
  int64_t offset = -1;
  std::string key, value;
  int64_t timestamp = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const ConsumedRecord& o) const {
    return key == o.key && value == o.value && timestamp == o.timestamp && headers == o.headers;
  }
};

/// Reads whole partitions with one librdkafka consumer (read_committed), each from its start to
/// the end it sees (one consumer for them all: a consumer's start-up costs about a second).
/// Throws when a partition's end is not reached within 60 s.
std::map<TopicPartition, std::vector<ConsumedRecord>> consume_partitions(const std::string& bootstrap,
                                                                         const std::vector<TopicPartition>& tps);
std::vector<ConsumedRecord> consume_partition(const std::string& bootstrap, const std::string& topic, int32_t partition);

/// A bootstrap list ("h:p,h:p") as a YAML flow sequence, for route configs.
std::string yaml_list(const std::string& bootstrap);

/// Runs a shell command; its exit status (-1 if it did not exit) and what it printed on stdout.
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult run_command(const std::string& cmd);

/// `tiermirror ARGS...` (the binary under test) as a child: stdout discarded, stderr into
/// `stderr_path` (truncated, or appended to); its pid, or -1 when it could not start.
pid_t spawn_tiermirror(const std::vector<std::string>& args, const std::string& stderr_path, bool append = false);

/// A TCP port on 127.0.0.1 that was free a moment ago (for a child's metrics listener).
int free_port();

/// A whole file's text ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);
/// How often `needle` occurs in `text` (log lines, say).
size_t count_of(const std::string& text, const std::string& needle);

/// A source batch the target does not hold exactly once (by batch_key).
struct CopyMismatch {
  int64_t source_offset = -1;          // -1: a target batch no source batch matches
  int64_t missing = 0;                 // > 0: copies lost; < 0: extra copies in the target
  std::vector<int64_t> target_offsets;  // where its copies are
};
/// Every source batch in the target exactly once? The ones that are not.
std::vector<CopyMismatch> count_copies(const std::vector<protocol::RecordBatchView>& source,
                                       const std::vector<protocol::RecordBatchView>& target);

/// Per partition 0..partitions-1 of `topic`: every source batch in the target exactly once, in
/// source order, records sections identical (app::prove_identity). Each stray batch is a test
/// failure (`where` names the logs to look at); returns the totals.
struct CopyTotals {
  size_t batches = 0, duplicates = 0, lost = 0;
};
CopyTotals expect_exact_copies(const std::shared_ptr<net::Cluster>& source, const std::shared_ptr<net::Cluster>& target,
                               const std::string& topic, int partitions, const std::string& where = "");

/// Per bucket, the audit's two tiers for `topic` (`audit report` on `audit_bootstrap`) equal
/// recounts of the source and target logs from batch headers (`audit scan`): the audit is exact.
void expect_audit_exact(const std::string& topic, const std::string& audit_topic, const std::string& audit_bootstrap,
                        const std::string& source_bootstrap, const std::string& target_bootstrap,
                        const std::string& bucket);

/// A batch's identity when counting copies of it: records section, count, timestamps, codec
/// (the header fields a mirror rewrites are left out).
std::string batch_key(const protocol::RecordBatchView& b);

/// A cluster client bound to a test's IoThread; closed on destruction.
struct ClusterClient {
  ClusterClient(net::IoThread& io, const std::string& bootstrap, std::string name = "test");
  ~ClusterClient();
  net::MetadataPtr refresh();
  std::shared_ptr<net::Cluster> cluster;
};

}  // namespace tiermirror::test
