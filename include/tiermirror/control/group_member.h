#pragma once
// GroupMember: a route instance's membership in the route's consumer group on the SOURCE
// cluster, so that several instances of one route share its partitions (scale-out).
//
// librdkafka does the group protocol (classic, cooperative-sticky assignment): join, sync,
// heartbeats, and generation-fenced commits. It fetches nothing: every partition it is
// assigned is paused at once, and records are read by tiermirror's own client as always.
// librdkafka stays behind this header.
//
// Threads: one polls the consumer (rebalance callbacks run there), one runs commits (each a
// synchronous rd_kafka_commit, so a revocation's final commit can run while the poll thread
// waits inside the rebalance callback for the route to drain).
//
// Zombie fence. Idempotence deduplicates per producer id only, so a member that lost its
// session but still sends Produce requests could write after the new owner's resume scan.
// A successful OffsetCommit from a member also renews its session in a classic group
// (Kafka's OffsetMetadataManager reschedules the member's heartbeat when the group is Stable
// or PreparingRebalance; the pre-4.0 GroupCoordinator did the same), so the session lasts at
// least until the commit's send time + session_timeout. may_produce() is true only before
// that instant minus `fence_margin`; the route commits every owned partition each round
// (unchanged offsets too) to keep renewing it, and a lost assignment ends it at once.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "tiermirror/common/strong_types.h"
#include "tiermirror/control/rdkafka_admin.h"

namespace tiermirror::control {

struct GroupMemberOptions {
  AdminConnection connection;  // bootstrap, client id, security, password
  std::string group;
  std::chrono::milliseconds session_timeout{30000};
  /// How long a revocation may take (drain in-flight Produce requests and commit): librdkafka
  /// waits that long for the route before the rebalance goes on (max.poll.interval.ms is set
  /// above it).
  std::chrono::milliseconds revoke_timeout{45000};
  /// Produce stops this long before the session could have expired (see the fence above).
  std::chrono::milliseconds fence_margin{5000};
};

enum class RemoveReason { revoked, lost };
std::string_view to_string(RemoveReason r);

struct GroupCommit {
  SourceOffset next;
  std::string metadata;
};

/// What the member tells the route. Both run on the member's poll thread: post to your own
/// executor. `removed` must call `done` once the partitions' in-flight work finished and, when
/// revoked, their acknowledged offsets were committed (through GroupMember::commit); the poll
/// thread waits for it (at most revoke_timeout) before librdkafka hands the partitions over.
struct GroupListener {
  std::function<void(std::vector<TopicPartition>)> assigned;
  std::function<void(std::vector<TopicPartition>, RemoveReason, std::function<void()> done)> removed;
};

struct GroupMemberStatus {
  std::string member_id;  // "" before the first join
  int32_t generation = -1;
  std::vector<TopicPartition> assigned;
  std::set<std::string> subscribed;
  bool may_produce = false;
  int64_t fence_in_ms = 0;  // until may_produce turns false (0 when it is false)
  uint64_t rebalances = 0;  // assignment changes seen (assigned or removed callbacks)
  uint64_t lost = 0;        // of which assignments lost (session expired)
};

class GroupMember {
 public:
  using CommitHandler = std::function<void(std::error_code, std::map<TopicPartition, std::error_code>)>;

  /// Throws std::runtime_error (a startup error) when librdkafka refuses the settings.
  GroupMember(GroupMemberOptions opts, GroupListener listener);
  ~GroupMember();
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  /// Subscribes to exactly these topics (the route's whitelist applied to the source's
  /// metadata); a change of the set rejoins the group. Thread-safe.
  void subscribe(std::set<std::string> topics);
  /// Commits through the group (member id and generation checked by the coordinator); the
  /// handler runs on the commit thread. A success renews the fence.
  void commit(std::map<TopicPartition, GroupCommit> commits, CommitHandler handler);
  /// False once the session may have expired (see above), and before the first assignment.
  bool may_produce() const;
  GroupMemberStatus status() const;
  /// Leaves the group (LeaveGroup: the others take the partitions over at once) and stops the
  /// threads. Call after the route stopped and committed. Idempotent.
  void close();
  /// Stops without leaving (tests: what kill -9 leaves behind, a member that times out).
  void abandon();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The generation id and member id inside librdkafka's serialized consumer group metadata
/// (rd_kafka_consumer_group_metadata_write, format "CGMDv2:"); librdkafka 2.0 has no getter
/// for the generation. nullopt when the bytes are not in that format.
struct GroupIdentity {
  int32_t generation = -1;
  std::string member_id;
};
std::optional<GroupIdentity> parse_group_metadata(const void* data, size_t size);

}  // namespace tiermirror::control
