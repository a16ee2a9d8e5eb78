// Committed offsets in a consumer group on the source cluster, written as a simple
// (non-member) consumer.
//
// Why a commit with generation_id -1 and member_id "" is accepted (apache/kafka):
//   - core/src/main/scala/kafka/coordinator/group/GroupCoordinator.scala (classic coordinator,
//     up to 3.x), validateOffsetCommit: `if (group.is(Dead)) COORDINATOR_NOT_AVAILABLE
//     else if (generationId < 0 && group.is(Empty)) None` — "When the generation id is -1, the
//     request comes from either the admin client or a consumer which does not use the group
//     management facility. In this case, the request can commit offsets if the group is empty."
//     With generation -1, no member id and a non-empty group it answers UNKNOWN_MEMBER_ID.
//   - group-coordinator/.../classic/ClassicGroup.java (new coordinator, 3.7+/4.x),
//     validateOffsetCommit: the same rule (DEAD → COORDINATOR_NOT_AVAILABLE; generationId < 0 &&
//     EMPTY → accepted; no member id/generation on a non-empty group → UNKNOWN_MEMBER_ID);
//     ConsumerGroup.validateOffsetCommit (KIP-848 groups): memberEpoch < 0 && no members → accepted.
//   - handleFetchOffsets / OffsetFetch: "return offsets blindly regardless the current group state
//     since the group may be using Kafka commit storage without automatic group management";
//     validateGroupStatus gives INVALID_GROUP_ID, COORDINATOR_NOT_AVAILABLE,
//     COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR (top level from OffsetFetch v2, per
//     partition in v1; OffsetCommit always per partition).
// So UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS on a commit mean that some
// consumer joined the route's group: a configuration error, reported, never retried.
#include "tiermirror/pipeline/group_offsets.h"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>

#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/protocol/messages/find_coordinator.h"
#include "tiermirror/protocol/messages/offset_commit.h"
#include "tiermirror/protocol/messages/offset_fetch.h"

namespace tiermirror::pipeline {

namespace asio = boost::asio;
using net::Clock;
using net::Millis;

namespace {

bool coordinator_moved(kafka_errc e) {
  return e == kafka_errc::not_coordinator || e == kafka_errc::coordinator_not_available;
}

/// Kafka errors worth another attempt on a group request (ConsumerCoordinator's
/// OffsetCommitResponseHandler / OffsetFetchResponseHandler retry these).
bool retriable_group_error(kafka_errc e) {
  switch (e) {
    case kafka_errc::coordinator_load_in_progress:
    case kafka_errc::coordinator_not_available:
    case kafka_errc::not_coordinator:
    case kafka_errc::request_timed_out:
    case kafka_errc::network_exception:
    case kafka_errc::unstable_offset_commit:
      return true;
    default:
      return false;
  }
}

/// Transport failures after which the coordinator connection is suspect.
bool transport_retriable(std::error_code ec) {
  return ec == errc::disconnected || ec == errc::timed_out || ec == errc::malformed || ec == errc::queue_full ||
         ec == errc::no_leader;
}

std::error_code kafka_ec(int16_t code) { return make_error_code(static_cast<kafka_errc>(code)); }

}  // namespace

// ---- operations --------------------------------------------------------------------------

struct GroupOffsets::Op {
  Clock::time_point deadline;
  Millis backoff{0};
  std::error_code last_error;
  size_t find_attempt = 0;
  std::shared_ptr<net::Connection> timer_conn;  // a strand to run backoff timers on
  std::shared_ptr<asio::steady_timer> timer;

  virtual ~Op() = default;
  virtual void fail(std::error_code ec) = 0;
};

struct GroupOffsets::FetchOp : GroupOffsets::Op {
  std::vector<TopicPartition> partitions;
  FetchCommitsHandler handler;

  void fail(std::error_code ec) override {
    if (auto h = std::exchange(handler, nullptr)) h(ec, {});
  }
  void done(std::map<TopicPartition, std::optional<Commit>> out) {
    if (auto h = std::exchange(handler, nullptr)) h({}, std::move(out));
  }
};

struct GroupOffsets::CommitOp : GroupOffsets::Op {
  std::map<TopicPartition, Commit> pending;  // not committed yet
  std::map<TopicPartition, std::error_code> results;
  CommitHandler handler;

  void fail(std::error_code ec) override {
    for (const auto& [tp, c] : pending) results[tp] = ec;
    pending.clear();
    if (auto h = std::exchange(handler, nullptr)) h(ec, std::move(results));
  }
  void done(std::error_code ec) {
    if (auto h = std::exchange(handler, nullptr)) h(ec, std::move(results));
  }
};

// ---- construction --------------------------------------------------------------------------

std::shared_ptr<GroupOffsets> GroupOffsets::create(std::shared_ptr<net::Cluster> source, std::string group,
                                                   net::Millis timeout) {
  GroupOffsetsOptions o;
  o.timeout = timeout;
  return create(std::move(source), std::move(group), o);
}

std::shared_ptr<GroupOffsets> GroupOffsets::create(std::shared_ptr<net::Cluster> source, std::string group,
                                                   GroupOffsetsOptions opts) {
  return std::shared_ptr<GroupOffsets>(new GroupOffsets(std::move(source), std::move(group), opts));
}

GroupOffsets::GroupOffsets(std::shared_ptr<net::Cluster> source, std::string group, GroupOffsetsOptions opts)
    : cluster_(std::move(source)), group_(std::move(group)), opts_(opts) {
  if (opts_.request_timeout.count() <= 0) opts_.request_timeout = std::max(Millis(1000), opts_.timeout / 3);
  if (opts_.backoff_initial.count() <= 0) opts_.backoff_initial = Millis(1);
  if (opts_.backoff_max < opts_.backoff_initial) opts_.backoff_max = opts_.backoff_initial;
}

std::optional<int32_t> GroupOffsets::coordinator() const {
  std::lock_guard lk(mu_);
  if (!coordinator_) return std::nullopt;
  return coordinator_id_;
}

void GroupOffsets::forget_coordinator() {
  std::lock_guard lk(mu_);
  if (coordinator_) ++generation_;
  coordinator_.reset();
  coordinator_id_ = -1;
}

void GroupOffsets::invalidate(uint64_t generation) {
  std::lock_guard lk(mu_);
  if (generation == 0 || generation != generation_ || !coordinator_) return;
  TM_DEBUG("offsets", "forgetting group coordinator", {{"group", group_}, {"broker", coordinator_id_}});
  coordinator_.reset();
  coordinator_id_ = -1;
  ++generation_;
}

Millis GroupOffsets::request_timeout(const Op& op) const {
  auto left = std::chrono::duration_cast<Millis>(op.deadline - Clock::now());
  return std::clamp(left, Millis(1), opts_.request_timeout);
}

void GroupOffsets::retry_later(const std::shared_ptr<Op>& op, std::error_code why, std::function<void()> again) {
  op->last_error = why;
  if (op->backoff.count() == 0) op->backoff = opts_.backoff_initial;
  Millis delay = op->backoff;
  op->backoff = std::min(op->backoff * 2, opts_.backoff_max);
  if (Clock::now() + delay >= op->deadline) {
    TM_DEBUG("offsets", "group request gives up at its deadline", {{"group", group_}, {"error", why.message()}});
    return op->fail(why);
  }
  if (!op->timer_conn) {
    auto conns = cluster_->connections();
    if (!conns.empty()) op->timer_conn = conns.front();
  }
  if (!op->timer_conn) return op->fail(why);  // nothing to run a timer on: no broker was ever reached
  TM_DEBUG("offsets", "retrying group request",
           {{"group", group_}, {"error", why.message()}, {"delay_ms", static_cast<int64_t>(delay.count())}});
  op->timer = std::make_shared<asio::steady_timer>(op->timer_conn->strand(), delay);
  op->timer->async_wait([op, again = std::move(again)](const boost::system::error_code&) { again(); });
}

// ---- the coordinator ---------------------------------------------------------------------

void GroupOffsets::with_coordinator(const std::shared_ptr<Op>& op, std::function<void()> again,
                                    std::function<void(std::shared_ptr<net::Connection>, uint64_t)> use) {
  if (Clock::now() >= op->deadline) return op->fail(op->last_error ? op->last_error : make_error_code(errc::timed_out));
  auto self = shared_from_this();
  coordinator_for(op, [self, op, again = std::move(again), use = std::move(use)](
                          std::error_code ec, std::shared_ptr<net::Connection> conn, uint64_t gen) {
    if (ec) {
      bool retry = ec.category() == kafka_category() ? retriable_group_error(static_cast<kafka_errc>(ec.value()))
                                                     : transport_retriable(ec);
      return retry ? self->retry_later(op, ec, again) : op->fail(ec);
    }
    use(std::move(conn), gen);
  });
}

void GroupOffsets::coordinator_for(const std::shared_ptr<Op>& op, CoordinatorHandler handler) {
  std::shared_ptr<net::Connection> conn;
  uint64_t gen = 0;
  {
    std::lock_guard lk(mu_);
    conn = coordinator_;
    gen = generation_;
  }
  if (conn) {
    if (!op->timer_conn) op->timer_conn = conn;
    return handler({}, std::move(conn), gen);
  }
  find_coordinator(op, std::move(handler), false);
}

void GroupOffsets::find_coordinator(const std::shared_ptr<Op>& op, CoordinatorHandler handler, bool refreshed) {
  auto self = shared_from_this();
  auto md = cluster_->metadata();
  if (!md || md->brokers.empty()) {
    if (refreshed) return handler(errc::no_leader, nullptr, 0);
    return cluster_->refresh(std::nullopt, [self, op, handler = std::move(handler)](std::error_code ec, net::MetadataPtr) mutable {
      if (ec == errc::shutting_down) return handler(ec, nullptr, 0);
      self->find_coordinator(op, std::move(handler), true);
    });
  }
  // Any broker answers FindCoordinator: ready connections first, then the others; successive
  // attempts of one operation rotate so a dead broker is not asked twice in a row.
  std::vector<std::shared_ptr<net::Connection>> ready, rest;
  for (const auto& [id, b] : md->brokers) {
    auto c = cluster_->broker(id);
    if (c) (c->ready() ? ready : rest).push_back(std::move(c));
  }
  ready.insert(ready.end(), rest.begin(), rest.end());
  if (ready.empty()) return handler(errc::no_leader, nullptr, 0);
  auto conn = ready[op->find_attempt++ % ready.size()];
  if (!op->timer_conn) op->timer_conn = conn;

  protocol::FindCoordinatorRequest req;
  req.key = group_;
  req.key_type = protocol::FindCoordinatorRequest::kGroup;
  net::call<protocol::FindCoordinatorResponse>(
      conn, std::move(req), request_timeout(*op),
      [self, op, conn, handler = std::move(handler)](std::error_code ec, protocol::FindCoordinatorResponse resp,
                                                     int16_t) mutable {
        if (ec) {
          self->cluster_->report_error(ec);
          return handler(ec, nullptr, 0);
        }
        if (resp.error_code != 0) {
          TM_DEBUG("offsets", "FindCoordinator failed",
                   {{"group", self->group_}, {"broker", conn->endpoint().str()},
                    {"error", make_error_code(static_cast<kafka_errc>(resp.error_code)).message()}});
          return handler(kafka_ec(resp.error_code), nullptr, 0);
        }
        self->use_coordinator(op, resp.node_id, std::move(handler), false);
      });
}

void GroupOffsets::use_coordinator(const std::shared_ptr<Op>& op, int32_t node_id, CoordinatorHandler handler,
                                   bool refreshed) {
  auto conn = cluster_->broker(node_id);
  if (!conn) {
    // A broker the metadata snapshot does not know yet: refresh once, then give up this round.
    if (refreshed) return handler(make_error_code(kafka_errc::coordinator_not_available), nullptr, 0);
    auto self = shared_from_this();
    return cluster_->refresh(std::nullopt, [self, op, node_id, handler = std::move(handler)](std::error_code ec,
                                                                                             net::MetadataPtr) mutable {
      if (ec == errc::shutting_down) return handler(ec, nullptr, 0);
      self->use_coordinator(op, node_id, std::move(handler), true);
    });
  }
  uint64_t gen;
  bool moved = false;
  {
    std::lock_guard lk(mu_);
    if (coordinator_ != conn) {
      coordinator_ = conn;
      coordinator_id_ = node_id;
      ++generation_;
    }
    gen = generation_;
    moved = node_id != last_found_id_;
    last_found_id_ = node_id;
  }
  if (moved)
    TM_INFO("offsets", "group coordinator found",
            {{"group", group_}, {"broker", node_id}, {"endpoint", conn->endpoint().str()}});
  handler({}, std::move(conn), gen);
}

// ---- fetch ---------------------------------------------------------------------------------

void GroupOffsets::fetch(std::vector<TopicPartition> partitions, FetchHandler handler) {
  fetch_commits(std::move(partitions),
                [handler = std::move(handler)](std::error_code ec, std::map<TopicPartition, std::optional<Commit>> c) {
                  std::map<TopicPartition, std::optional<SourceOffset>> out;
                  for (auto& [tp, v] : c) out[tp] = v ? std::optional<SourceOffset>(v->next) : std::nullopt;
                  handler(ec, std::move(out));
                });
}

void GroupOffsets::fetch_commits(std::vector<TopicPartition> partitions, FetchCommitsHandler handler) {
  if (partitions.empty()) return handler({}, {});
  if (group_.empty()) return handler(errc::invalid_argument, {});
  auto op = std::make_shared<FetchOp>();
  op->deadline = Clock::now() + opts_.timeout;
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  op->partitions = std::move(partitions);
  op->handler = std::move(handler);
  run_fetch(op);
}

void GroupOffsets::run_fetch(const std::shared_ptr<FetchOp>& op) {
  auto self = shared_from_this();
  auto again = [self, op] { self->run_fetch(op); };
  with_coordinator(op, again, [self, op, again](std::shared_ptr<net::Connection> conn, uint64_t gen) {
    protocol::OffsetFetchRequest req;
    req.group_id = self->group_;
    req.topics.emplace();
    for (const auto& tp : op->partitions) {
      if (req.topics->empty() || req.topics->back().name != tp.topic) req.topics->push_back({tp.topic, {}});
      req.topics->back().partition_indexes.push_back(tp.partition);
    }
    net::call<protocol::OffsetFetchResponse>(
        conn, std::move(req), self->request_timeout(*op),
        [self, op, again, gen](std::error_code ec, protocol::OffsetFetchResponse resp, int16_t) {
          if (ec) {
            if (!transport_retriable(ec)) return op->fail(ec);
            self->invalidate(gen);
            self->cluster_->report_error(ec);
            return self->retry_later(op, ec, again);
          }
          // One classification for the top-level error (v2+) and the per-partition ones (v1 puts
          // group errors there): coordinator errors retry the whole request, anything else fails it.
          auto classify = [&](int16_t code) -> bool {  // true: the op is finished or rescheduled
            if (code == 0) return false;
            auto e = static_cast<kafka_errc>(code);
            if (coordinator_moved(e)) self->invalidate(gen);
            if (retriable_group_error(e))
              self->retry_later(op, make_error_code(e), again);
            else
              op->fail(make_error_code(e));
            return true;
          };
          if (classify(resp.error_code)) return;
          std::map<TopicPartition, std::optional<Commit>> out;
          for (const auto& t : resp.topics)
            for (const auto& p : t.partitions) {
              TopicPartition tp{t.name, p.partition_index};
              if (!std::binary_search(op->partitions.begin(), op->partitions.end(), tp)) continue;
              if (classify(p.error_code)) return;
              if (p.committed_offset < 0)
                out[tp] = std::nullopt;
              else
                out[tp] = Commit{SourceOffset(p.committed_offset), p.metadata.value_or("")};
            }
          if (out.size() != op->partitions.size()) {
            TM_WARN("offsets", "OffsetFetch response lacks requested partitions", {{"group", self->group_}});
            return op->fail(errc::malformed);
          }
          op->done(std::move(out));
        });
  });
}

// ---- commit --------------------------------------------------------------------------------

void GroupOffsets::commit(std::map<TopicPartition, Commit> commits, CommitHandler handler) {
  if (commits.empty()) return handler({}, {});
  if (group_.empty()) {
    std::map<TopicPartition, std::error_code> out;
    for (const auto& [tp, c] : commits) out[tp] = errc::invalid_argument;
    return handler(errc::invalid_argument, std::move(out));
  }
  auto op = std::make_shared<CommitOp>();
  op->deadline = Clock::now() + opts_.timeout;
  op->pending = std::move(commits);
  op->handler = std::move(handler);
  run_commit(op);
}

void GroupOffsets::run_commit(const std::shared_ptr<CommitOp>& op) {
  auto self = shared_from_this();
  auto again = [self, op] { self->run_commit(op); };
  with_coordinator(op, again, [self, op, again](std::shared_ptr<net::Connection> conn, uint64_t gen) {
    protocol::OffsetCommitRequest req;
    req.group_id = self->group_;
    req.generation_id = -1;  // simple consumer: see the top of this file
    req.member_id.clear();
    req.retention_time_ms = -1;  // v2-4: the broker's offsets.retention.minutes
    for (const auto& [tp, c] : op->pending) {
      if (req.topics.empty() || req.topics.back().name != tp.topic) req.topics.push_back({tp.topic, {}});
      protocol::OffsetCommitRequest::Partition p;
      p.partition_index = tp.partition;
      p.committed_offset = c.next.value();
      p.committed_leader_epoch = -1;
      p.committed_metadata = c.metadata;
      req.topics.back().partitions.push_back(std::move(p));
    }
    net::call<protocol::OffsetCommitResponse>(
        conn, std::move(req), self->request_timeout(*op),
        [self, op, again, gen](std::error_code ec, protocol::OffsetCommitResponse resp, int16_t) {
          if (ec) {
            if (!transport_retriable(ec)) return op->fail(ec);
            self->invalidate(gen);
            self->cluster_->report_error(ec);
            return self->retry_later(op, ec, again);
          }
          std::error_code group_error, retry_error;
          std::map<TopicPartition, Commit> still;
          std::map<TopicPartition, int16_t> codes;
          for (const auto& t : resp.topics)
            for (const auto& p : t.partitions) codes[{t.name, p.partition_index}] = p.error_code;
          for (auto& [tp, c] : op->pending) {
            auto it = codes.find(tp);
            if (it == codes.end()) {
              op->results[tp] = errc::malformed;  // the broker did not answer for it
              continue;
            }
            auto e = static_cast<kafka_errc>(it->second);
            op->results[tp] = it->second ? make_error_code(e) : std::error_code();
            if (it->second == 0) continue;
            if (retriable_group_error(e)) {
              if (coordinator_moved(e)) self->invalidate(gen);
              retry_error = make_error_code(e);
              still.emplace(tp, std::move(c));
              continue;
            }
            switch (e) {
              case kafka_errc::group_authorization_failed:
              case kafka_errc::invalid_group_id:
              case kafka_errc::unknown_member_id:
              case kafka_errc::illegal_generation:
              case kafka_errc::rebalance_in_progress:
              case kafka_errc::fenced_instance_id:
              case kafka_errc::group_max_size_reached:
                group_error = make_error_code(e);
                break;
              default:
                break;  // partition-level: OFFSET_METADATA_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, ...
            }
          }
          op->pending = std::move(still);
          if (group_error) {
            TM_WARN("offsets", "the group refused the commit",
                    {{"group", self->group_}, {"error", group_error.message()}});
            return op->fail(group_error);
          }
          if (!op->pending.empty()) return self->retry_later(op, retry_error, again);
          op->done({});
        });
  });
}

}  // namespace tiermirror::pipeline
