#include "tiermirror/control/group_member.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tiermirror/common/errors.h"
#include "tiermirror/common/log.h"

namespace tiermirror::control {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
constexpr const char* kLog = "group";

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* p) const { rd_kafka_topic_partition_list_destroy(p); }
};
using List = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; list && i < list->cnt; ++i) out.push_back({list->elems[i].topic, list->elems[i].partition});
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const std::vector<TopicPartition>& tps) {
  std::string s;
  for (const auto& tp : tps) s += (s.empty() ? "" : ",") + tp.str();
  return s;
}

int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

// librdkafka 2.0.2 aborts destroying a cooperative-sticky member that joined but never got
// its first SyncGroup answer: the sticky assignor's state is destroyed unset
// (rd_kafka_sticky_assignor_state_destroy asserts; librdkafka #4312, fixed in 2.3). Seen at a
// SIGTERM 30 s after joining a group still rebalancing away from killed members. Such a
// member owns nothing; its handle is left to the process's exit (this happens at shutdown
// only), and kept reachable here so that leak checkers do not report it.
void park_unassigned(rd_kafka_t* rk) {
  static std::mutex mu;
  static auto* parked = new std::vector<rd_kafka_t*>;  // never destroyed: reachable to the end
  std::lock_guard lk(mu);
  parked->push_back(rk);
}

}  // namespace

std::string_view to_string(RemoveReason r) { return r == RemoveReason::revoked ? "revoked" : "lost"; }

std::optional<GroupIdentity> parse_group_metadata(const void* data, size_t size) {
  // "CGMDv2:" int32 generation (host order), group id NUL, member id NUL, instance-id flag ...
  static constexpr char kMagic[] = "CGMDv2:";
  constexpr size_t kMagicLen = sizeof kMagic - 1;
  const auto* p = static_cast<const char*>(data);
  if (!p || size < kMagicLen + 4 || std::memcmp(p, kMagic, kMagicLen) != 0) return std::nullopt;
  GroupIdentity id;
  std::memcpy(&id.generation, p + kMagicLen, 4);
  const char* group = p + kMagicLen + 4;
  const char* end = p + size;
  const char* group_end = static_cast<const char*>(std::memchr(group, '\0', static_cast<size_t>(end - group)));
  if (!group_end) return std::nullopt;
  const char* member = group_end + 1;
  const char* member_end = static_cast<const char*>(std::memchr(member, '\0', static_cast<size_t>(end - member)));
  if (!member_end) return std::nullopt;
  id.member_id.assign(member, member_end);
  return id;
}

struct GroupMember::Impl {
  GroupMemberOptions opts;
  GroupListener listener;
  std::string name;  // for logs: "<group> on <cluster>"

  mutable std::mutex mu;
  std::set<TopicPartition> assigned;         // guarded by mu
  std::set<std::string> subscribed;          // guarded by mu
  std::optional<std::set<std::string>> want;  // a subscription to apply, guarded by mu
  GroupIdentity identity;                    // guarded by mu
  uint64_t rebalances = 0, lost_count = 0;   // guarded by mu

  // The fence: Produce may go out while now < fence_until (steady ticks). lost_epoch bumps
  // when an assignment is lost, so a commit sent before that cannot renew the fence after it.
  std::atomic<int64_t> fence_until{0};
  std::atomic<uint64_t> lost_epoch{0};
  std::atomic<uint64_t> unexpected_messages{0};

  std::atomic<bool> stop{false};
  bool closed = false;
  std::thread poller, committer;

  struct CommitJob {
    std::map<TopicPartition, GroupCommit> commits;
    CommitHandler handler;
  };
  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::deque<CommitJob> commit_jobs;  // guarded by commit_mu; bounded by the route (one commit at a time)

  rd_kafka_t* rk = nullptr;

  void extend_fence(Clock::time_point proven_at) {
    auto until = ticks(proven_at + opts.session_timeout - opts.fence_margin);
    auto cur = fence_until.load();
    while (cur < until && !fence_until.compare_exchange_weak(cur, until)) {
    }
  }

  void refresh_identity() {
    rd_kafka_consumer_group_metadata_t* cgmd = rd_kafka_consumer_group_metadata(rk);
    if (!cgmd) return;
    void* buf = nullptr;
    size_t size = 0;
    if (rd_kafka_error_t* e = rd_kafka_consumer_group_metadata_write(cgmd, &buf, &size)) {
      rd_kafka_error_destroy(e);
    } else {
      auto id = parse_group_metadata(buf, size);
      std::free(buf);
      std::lock_guard lk(mu);
      if (id) {
        identity = *id;
      } else if (char* m = rd_kafka_memberid(rk)) {  // the generation stays unknown (-1)
        identity.member_id = m;
        rd_kafka_mem_free(rk, m);
      }
    }
    rd_kafka_consumer_group_metadata_destroy(cgmd);
  }

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Impl*>(opaque)->on_rebalance(rk, err, parts);
  }

  // runs on: the poll thread (or close()'s caller, from rd_kafka_consumer_close).
  void on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    auto tps = to_vector(parts);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // SyncGroup just answered: the session is fresh. Paused before librdkafka could start a
      // fetch (it first asks the committed offsets): records are read by tiermirror's client.
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(handle, parts)) {
        TM_ERROR(kLog, "incremental assign failed", {{"group", opts.group}, {"error", rd_kafka_error_string(e)}});
        rd_kafka_error_destroy(e);
        return;
      }
      rd_kafka_pause_partitions(handle, parts);
      extend_fence(Clock::now());
      refresh_identity();
      {
        std::lock_guard lk(mu);
        assigned.insert(tps.begin(), tps.end());
        ++rebalances;
      }
      TM_INFO(kLog, "partitions assigned",
              {{"group", opts.group}, {"member", status_identity().member_id}, {"generation", status_identity().generation},
               {"added", tps.size()}, {"partitions", describe(tps)}});
      if (!tps.empty() && listener.assigned) listener.assigned(tps);
      return;
    }
    // Revoked, or lost (the session expired: another member may own them already).
    bool lost = rd_kafka_assignment_lost(handle) != 0;
    auto reason = lost ? RemoveReason::lost : RemoveReason::revoked;
    if (lost) {
      lost_epoch.fetch_add(1);
      fence_until = 0;  // nothing more goes out until the next assignment proves a session
    }
    TM_WARN(kLog, lost ? "partitions lost (group session expired): dropped without a commit" : "partitions revoked",
            {{"group", opts.group}, {"removed", tps.size()}, {"partitions", describe(tps)}});
    if (!tps.empty() && listener.removed) {
      // The route drains and commits; librdkafka hands the partitions over only after the
      // unassign below, so a late commit can never rewind their next owner.
      auto done = std::make_shared<std::promise<void>>();
      auto fut = done->get_future();
      listener.removed(tps, reason, [done] {
        try {
          done->set_value();
        } catch (const std::future_error&) {  // called twice: the first one counts
        }
      });
      if (fut.wait_for(opts.revoke_timeout) != std::future_status::ready)
        TM_ERROR(kLog, "the route did not release the partitions in time; handing them over anyway",
                 {{"group", opts.group}, {"partitions", describe(tps)}, {"timeout_ms", opts.revoke_timeout.count()}});
    }
    {
      // Before the unassign: a commit still queued for them is dropped (run_commit), so none can
      // land after the rejoin, under the next generation, and rewind their next owner.
      std::lock_guard lk(mu);
      for (const auto& tp : tps) assigned.erase(tp);
      ++rebalances;
      if (lost) ++lost_count;
    }
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(handle, parts)) {
      TM_WARN(kLog, "incremental unassign failed", {{"group", opts.group}, {"error", rd_kafka_error_string(e)}});
      rd_kafka_error_destroy(e);
    }
  }

  GroupIdentity status_identity() const {
    std::lock_guard lk(mu);
    return identity;
  }

  void poll_loop() {
    while (!stop) {
      std::optional<std::set<std::string>> topics;
      {
        std::lock_guard lk(mu);
        topics.swap(want);
      }
      if (topics) apply_subscription(*topics);
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          TM_WARN(kLog, "group consumer error", {{"group", opts.group}, {"error", rd_kafka_err2name(m->err)},
                                                 {"detail", rd_kafka_message_errstr(m)}});
      } else if (unexpected_messages.fetch_add(1) == 0) {
        // Paused partitions fetch nothing; a record here means that broke. Never used.
        TM_ERROR(kLog, "the group consumer received a record although its partitions are paused; ignored",
                 {{"group", opts.group}});
      }
      rd_kafka_message_destroy(m);
    }
  }

  void apply_subscription(const std::set<std::string>& topics) {
    if (topics.empty()) {
      rd_kafka_unsubscribe(rk);
    } else {
      List list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
      for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
      if (auto err = rd_kafka_subscribe(rk, list.get())) {
        TM_ERROR(kLog, "subscribe failed", {{"group", opts.group}, {"error", rd_kafka_err2name(err)}});
        return;
      }
    }
    TM_INFO(kLog, "subscribed", {{"group", opts.group}, {"topics", topics.size()}});
    std::lock_guard lk(mu);
    subscribed = topics;
  }

  void commit_loop() {
    for (;;) {
      CommitJob job;
      {
        std::unique_lock lk(commit_mu);
        commit_cv.wait(lk, [&] { return stop_commits || !commit_jobs.empty(); });
        if (commit_jobs.empty()) return;
        job = std::move(commit_jobs.front());
        commit_jobs.pop_front();
      }
      run_commit(job);
    }
  }
  bool stop_commits = false;  // guarded by commit_mu

  void stop_commit_thread() {
    {
      std::lock_guard lk(commit_mu);
      stop_commits = true;
      commit_cv.notify_one();
    }
    if (committer.joinable()) committer.join();
  }

  void run_commit(CommitJob& job) {
    std::map<TopicPartition, std::error_code> per;
    {
      std::lock_guard lk(mu);
      for (auto it = job.commits.begin(); it != job.commits.end();) {
        if (assigned.count(it->first)) {
          ++it;
          continue;
        }
        per[it->first] = make_error_code(kafka_errc::unknown_topic_or_partition);  // not ours (any more)
        it = job.commits.erase(it);
      }
    }
    if (job.commits.empty()) {
      if (job.handler) job.handler({}, per);
      return;
    }
    List list(rd_kafka_topic_partition_list_new(static_cast<int>(job.commits.size())));
    for (const auto& [tp, c] : job.commits) {
      auto* e = rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
      e->offset = c.next.value();
      if (!c.metadata.empty()) {  // freed by the list (librdkafka frees metadata with free())
        e->metadata = std::malloc(c.metadata.size());
        std::memcpy(e->metadata, c.metadata.data(), c.metadata.size());
        e->metadata_size = c.metadata.size();
      }
    }
    auto epoch = lost_epoch.load();
    auto sent = Clock::now();
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, list.get(), 0);  // synchronous, on this thread
    std::error_code ec = map_rdkafka_error(err);
    for (int i = 0; i < list->cnt; ++i) {
      const auto& e = list->elems[i];
      per[{e.topic, e.partition}] = map_rdkafka_error(e.err ? e.err : err);
    }
    // Accepted with our member id and generation: the coordinator renewed our session at or
    // after `sent` (see the header). A loss in between wins.
    if (!err && lost_epoch.load() == epoch) extend_fence(sent);
    if (err)
      TM_WARN(kLog, "group commit failed", {{"group", opts.group}, {"error", rd_kafka_err2name(err)}});
    if (job.handler) job.handler(ec, per);
  }
};

GroupMember::GroupMember(GroupMemberOptions opts, GroupListener listener) : impl_(std::make_unique<Impl>()) {
  auto& im = *impl_;
  im.opts = std::move(opts);
  im.listener = std::move(listener);
  const auto& conn = im.opts.connection;
  const std::string who = "group member of '" + im.opts.group + "' on cluster '" + conn.name + "'";
  if (conn.bootstrap.empty()) throw std::runtime_error(who + ": no bootstrap servers");
  if (im.opts.session_timeout <= im.opts.fence_margin * 2)
    throw std::runtime_error(who + ": the session timeout must exceed twice the fence margin");

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(who + ": librdkafka setting '" + key + "': " + err);
    }
  };
  auto ms = [](milliseconds m) { return std::to_string(m.count()); };
  set("bootstrap.servers", conn.bootstrap);
  set("client.id", conn.client_id);
  set("group.id", im.opts.group);
  set("partition.assignment.strategy", "cooperative-sticky");
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  set("allow.auto.create.topics", "false");
  set("session.timeout.ms", ms(im.opts.session_timeout));
  set("heartbeat.interval.ms", ms(std::max(milliseconds(500), im.opts.session_timeout / 10)));
  // Must cover a revocation's drain (the poll thread waits in the callback meanwhile).
  set("max.poll.interval.ms", ms(std::max(im.opts.session_timeout, im.opts.revoke_timeout + milliseconds(30000))));
  set("log.connection.close", "false");
  // Paused partitions fetch nothing; keep what librdkafka would prefetch small regardless.
  set("queued.max.messages.kbytes", "1024");
  set("fetch.max.bytes", "1048576");
  for (const auto& [k, v] : conn.extra) set(k, v);
  // A diagnostic: librdkafka's own trace of the group protocol (e.g. "cgrp"), on stderr.
  if (const char* debug = std::getenv("TIERMIRROR_GROUP_DEBUG"); debug && *debug) set("debug", debug);
  if (conn.sasl_password) {
    auto pw = conn.sasl_password();
    if (!pw) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(who + ": cannot read the SASL password: " + pw.error().message());
    }
    char err[512];
    auto rc = rd_kafka_conf_set(conf, "sasl.password", pw->c_str(), err, sizeof err);
    std::fill(pw->begin(), pw->end(), '\0');
    if (rc != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(who + ": librdkafka refused the setting 'sasl.password'");
    }
  }
  rd_kafka_conf_set_opaque(conf, &im);
  rd_kafka_conf_set_rebalance_cb(conf, &Impl::rebalance_cb);
  char err[512];
  im.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!im.rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(who + ": rd_kafka_new: " + err);
  }
  rd_kafka_poll_set_consumer(im.rk);
  im.poller = std::thread([&im] { im.poll_loop(); });
  im.committer = std::thread([&im] { im.commit_loop(); });
}

GroupMember::~GroupMember() { close(); }

void GroupMember::subscribe(std::set<std::string> topics) {
  std::lock_guard lk(impl_->mu);
  if (!impl_->want && topics == impl_->subscribed) return;
  impl_->want = std::move(topics);
}

void GroupMember::commit(std::map<TopicPartition, GroupCommit> commits, CommitHandler handler) {
  {
    std::lock_guard lk(impl_->commit_mu);
    if (!impl_->stop_commits) {
      impl_->commit_jobs.push_back({std::move(commits), std::move(handler)});
      impl_->commit_cv.notify_one();
      return;
    }
  }
  if (handler) handler(make_error_code(errc::shutting_down), {});
}

bool GroupMember::may_produce() const { return ticks(Clock::now()) < impl_->fence_until.load(); }

GroupMemberStatus GroupMember::status() const {
  GroupMemberStatus s;
  std::lock_guard lk(impl_->mu);
  s.member_id = impl_->identity.member_id;
  s.generation = impl_->identity.generation;
  s.assigned.assign(impl_->assigned.begin(), impl_->assigned.end());
  s.subscribed = impl_->subscribed;
  auto left = impl_->fence_until.load() - ticks(Clock::now());
  s.may_produce = left > 0;
  s.fence_in_ms = left > 0 ? std::chrono::duration_cast<milliseconds>(Clock::duration(left)).count() : 0;
  s.rebalances = impl_->rebalances;
  s.lost = impl_->lost_count;
  return s;
}

void GroupMember::close() {
  auto& im = *impl_;
  if (im.closed) return;
  im.closed = true;
  im.stop = true;
  if (im.poller.joinable()) im.poller.join();
  bool ever_assigned;
  {
    std::lock_guard lk(im.mu);
    ever_assigned = im.rebalances > 0;
  }
  // LeaveGroup: the rebalance callback runs here once more (revoking everything; the route has
  // stopped and committed, so it answers at once), and the others take over without waiting
  // for our session to expire. Not before a first assignment: librdkafka before 2.3 aborts
  // closing a cooperative-sticky member whose assignor state was never set (librdkafka
  // #4312); such a member owns nothing, and its session just expires.
  if (!ever_assigned) {
    TM_INFO(kLog, "leaving without LeaveGroup: never assigned (librdkafka #4312)", {{"group", im.opts.group}});
    im.stop_commit_thread();
    park_unassigned(im.rk);
    im.rk = nullptr;
    return;
  }
  if (auto err = rd_kafka_consumer_close(im.rk))
    TM_WARN(kLog, "leaving the group failed", {{"group", im.opts.group}, {"error", rd_kafka_err2name(err)}});
  im.stop_commit_thread();
  rd_kafka_destroy(im.rk);
  im.rk = nullptr;
}

void GroupMember::abandon() {
  auto& im = *impl_;
  if (im.closed) return;
  im.closed = true;
  im.stop = true;
  im.fence_until = 0;
  if (im.poller.joinable()) im.poller.join();
  im.stop_commit_thread();
  bool ever_assigned;
  {
    std::lock_guard lk(im.mu);
    ever_assigned = im.rebalances > 0;
  }
  if (ever_assigned)
    rd_kafka_destroy_flags(im.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  else
    park_unassigned(im.rk);
  im.rk = nullptr;
}

}  // namespace tiermirror::control
