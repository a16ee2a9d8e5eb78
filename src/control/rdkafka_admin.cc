#include "tiermirror/control/rdkafka_admin.h"

#include <atomic>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tiermirror/common/log.h"

namespace tiermirror::control {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Impl note: modern-cpp-kafka's RdKafkaHelper — one unique_ptr deleter per rd_kafka_*_t, so no
// early return can leak a handle, an option set or a result event.
struct Deleter {
  void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
  void operator()(rd_kafka_AdminOptions_t* p) const { rd_kafka_AdminOptions_destroy(p); }
  void operator()(rd_kafka_NewTopic_t* p) const { rd_kafka_NewTopic_destroy(p); }
  void operator()(rd_kafka_NewPartitions_t* p) const { rd_kafka_NewPartitions_destroy(p); }
  void operator()(rd_kafka_ConfigResource_t* p) const { rd_kafka_ConfigResource_destroy(p); }
  void operator()(const rd_kafka_metadata_t* p) const { rd_kafka_metadata_destroy(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Deleter>;

// librdkafka's own timer fires at the request timeout and posts a __TIMED_OUT result; we wait a
// little longer than that for it, then give up ourselves (the request finishes in the background
// and its result goes to a queue nobody reads any more, which librdkafka frees).
constexpr milliseconds kPollGrace{1000};

int to_ms(milliseconds t) {
  return static_cast<int>(std::clamp<int64_t>(t.count(), 1, 24LL * 3600 * 1000));
}

AdminError make_error(rd_kafka_resp_err_t err, const char* msg) {
  std::string m = msg && *msg ? msg : rd_kafka_err2str(err);
  return AdminError{map_rdkafka_error(err), std::move(m)};
}

// What librdkafka's callbacks may touch (the handle's opaque).
struct HandleState {
  std::string name;  // the cluster's name in tiermirror's config
  std::mutex login_mu;
  std::optional<std::string> login_failure;  // guarded by login_mu
  std::atomic<bool> login_failed{false};
  std::atomic<int64_t> login_failed_at{0};  // steady_clock ticks of the latest report
};

// librdkafka reports a broker's error again only when it differs from the last one or 30 s
// have passed (rd_kafka_broker_set_error): a refused login stays the cause of a call's failure
// for that long, unless a call succeeds in between.
constexpr std::chrono::seconds kLoginFailureKept{30};

// Routes librdkafka's log lines to ours. runs on: librdkafka's internal threads.
void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const auto* state = static_cast<const HandleState*>(rd_kafka_opaque(rk));
  const std::string name = state ? state->name : std::string();
  // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
  if (level <= 4)
    TM_WARN("control", "librdkafka", {{"cluster", name}, {"facility", fac}, {"detail", buf}});
  else
    TM_DEBUG("control", "librdkafka", {{"cluster", name}, {"facility", fac}, {"detail", buf}});
}

// Keeps librdkafka's login failures (SASL, TLS) so calls can report them instead of a timeout.
// runs on: librdkafka's internal threads.
void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* state = static_cast<HandleState*>(opaque);
  // A TLS 1.3 server refuses a client certificate (or its absence) only after the handshake, and
  // librdkafka reads that as a receive failure (__TRANSPORT) of its first request: "...: SSL
  // alert number 42" (Kafka 3.x, 4.x), "...SSL routines::decryption failed or bad record mac
  // (after 0ms in state APIVERSION_QUERY)" (Kafka 2.8). As much a refused login as a failed
  // handshake; a TLS error in a session that was already up is not.
  bool tls_alert = err == RD_KAFKA_RESP_ERR__TRANSPORT && reason &&
                   (std::strstr(reason, "SSL alert number") ||
                    (std::strstr(reason, "SSL routines") && std::strstr(reason, "in state APIVERSION_QUERY")));
  if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION && err != RD_KAFKA_RESP_ERR__SSL && !tls_alert) return;  // the rest: log_cb
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  TM_ERROR("control", "login failed",
           {{"cluster", state->name}, {"error", rd_kafka_err2name(code)}, {"detail", reason ? reason : ""}});
  std::lock_guard lk(state->login_mu);
  state->login_failure = reason ? reason : rd_kafka_err2str(code);
  state->login_failed_at = Clock::now().time_since_epoch().count();
  state->login_failed = true;
}

struct CallSetup {
  Ptr<rd_kafka_queue_t> queue;
  Ptr<rd_kafka_AdminOptions_t> options;
};

}  // namespace

std::error_code map_rdkafka_error(int code) {
  auto err = static_cast<rd_kafka_resp_err_t>(code);
  if (code == 0) return {};
  if (code > 0) return make_error_code(static_cast<kafka_errc>(code));  // Kafka's own numbering
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return make_error_code(errc::timed_out);
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__SSL:
      return make_error_code(errc::disconnected);
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
      return make_error_code(errc::unsupported_version);
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
      return make_error_code(errc::invalid_argument);
    case RD_KAFKA_RESP_ERR__DESTROY:
      return make_error_code(errc::shutting_down);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return make_error_code(kafka_errc::unknown_topic_or_partition);
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return make_error_code(kafka_errc::sasl_authentication_failed);
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return make_error_code(errc::malformed);
    default:
      // Kept generic; AdminError::message carries librdkafka's own description.
      return make_error_code(kafka_errc::unknown_server_error);
  }
}

struct RdKafkaAdmin::Impl {
  std::string name;
  std::atomic<bool> cancelled{false};
  mutable HandleState state;  // the handle's opaque: declared before rk, outlives it

  // error_cb runs only from rd_kafka_poll on the handle's main queue: without this a refused
  // login reaches nobody and every call waits for its timeout. Serves error (and stats)
  // callbacks only: an admin handle has no delivery reports.
  bool login_failing() const {
    rd_kafka_poll(rk.get(), 0);
    return state.login_failed;
  }
  // At the start of a call: a login refused long enough ago no longer counts (the handle
  // retries; librdkafka would report a new refusal again).
  void forget_old_login_failure() {
    auto at = Clock::time_point(Clock::duration(state.login_failed_at.load()));
    if (state.login_failed && Clock::now() - at > kLoginFailureKept) state.login_failed = false;
  }
  void call_succeeded() { state.login_failed = false; }

  std::optional<AdminError> login_error(const char* what) const {
    if (!login_failing()) return std::nullopt;
    std::lock_guard lk(state.login_mu);
    return AdminError{make_error_code(kafka_errc::sasl_authentication_failed),
                      std::string(what) + ": cannot log in to cluster " + name + ": " +
                          state.login_failure.value_or("")};
  }
  Ptr<rd_kafka_t> rk;  // declared last: destroyed first, while `name` is still valid for log_cb

  CallSetup setup(rd_kafka_admin_op_t op, milliseconds timeout, bool with_operation_timeout) {
    forget_old_login_failure();
    CallSetup s;
    s.queue.reset(rd_kafka_queue_new(rk.get()));
    s.options.reset(rd_kafka_AdminOptions_new(rk.get(), op));
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(s.options.get(), to_ms(timeout), err, sizeof err);
    if (with_operation_timeout) {
      // How long the controller waits for the change to reach the brokers before answering;
      // kept inside the request timeout.
      rd_kafka_AdminOptions_set_operation_timeout(s.options.get(), to_ms(timeout * 3 / 4), err, sizeof err);
    }
    return s;
  }

  // Waits on the call's private queue for its result event.
  Ptr<rd_kafka_event_t> wait(rd_kafka_queue_t* q, rd_kafka_event_type_t want, milliseconds timeout) {
    auto deadline = Clock::now() + timeout + kPollGrace;
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || cancelled || login_failing()) return nullptr;
      // Short slices, so cancel() (shutdown) does not wait for a broker that never answers.
      Ptr<rd_kafka_event_t> ev(rd_kafka_queue_poll(q, to_ms(std::min(left, milliseconds(100)))));
      if (!ev) continue;
      if (rd_kafka_event_type(ev.get()) == want) {
        if (rd_kafka_event_error(ev.get()) >= 0) call_succeeded();  // a broker answered: logged in
        return ev;
      }
      // Nothing else is routed to a private queue; ignore whatever it is.
    }
  }

  AdminError cancelled_error(const char* what) const {
    return AdminError{make_error_code(errc::shutting_down), std::string(what) + " to cluster " + name + " cancelled: shutting down"};
  }

  AdminError timeout_error(const char* what, milliseconds timeout) const {
    if (cancelled) return cancelled_error(what);
    if (auto e = login_error(what)) return *e;
    return AdminError{make_error_code(errc::timed_out),
                      std::string(what) + " got no answer from cluster " + name + " within " +
                          std::to_string(timeout.count()) + " ms"};
  }
};


RdKafkaAdmin::RdKafkaAdmin(AdminConnection conn) : impl_(std::make_unique<Impl>()) {
  impl_->name = conn.name;
  impl_->state.name = conn.name;
  const std::string who = "admin client for cluster '" + conn.name + "'";
  if (conn.bootstrap.empty()) throw std::runtime_error(who + ": no bootstrap servers");

  Ptr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
  auto set = [&](const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(who + ": librdkafka setting '" + key + "': " + err);
  };
  set("bootstrap.servers", conn.bootstrap);
  set("client.id", conn.client_id);
  set("log.connection.close", "false");  // brokers close idle admin connections; that is no news
  for (const auto& [k, v] : conn.extra) set(k, v);
  if (conn.sasl_password) {
    // Read now, at connect time; a failure names neither the value nor anything derived from it.
    auto pw = conn.sasl_password();
    if (!pw) throw std::runtime_error(who + ": cannot read the SASL password: " + pw.error().message());
    char err[512];
    auto rc = rd_kafka_conf_set(conf.get(), "sasl.password", pw->c_str(), err, sizeof err);
    std::fill(pw->begin(), pw->end(), '\0');
    if (rc != RD_KAFKA_CONF_OK) throw std::runtime_error(who + ": librdkafka refused the setting 'sasl.password'");
  }
  rd_kafka_conf_set_opaque(conf.get(), &impl_->state);  // for log_cb/error_cb; stable (Impl is on the heap)
  rd_kafka_conf_set_log_cb(conf.get(), log_cb);
  rd_kafka_conf_set_error_cb(conf.get(), error_cb);

  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (!rk) throw std::runtime_error(who + ": rd_kafka_new: " + err);
  conf.release();  // rd_kafka_new took ownership
  impl_->rk.reset(rk);
}

RdKafkaAdmin::~RdKafkaAdmin() = default;

std::string RdKafkaAdmin::cluster_name() const { return impl_->name; }

void RdKafkaAdmin::cancel() { impl_->cancelled = true; }

std::optional<std::string> RdKafkaAdmin::login_failure() const {
  std::lock_guard lk(impl_->state.login_mu);
  return impl_->state.login_failure;
}

AdminResult<std::vector<TopicInfo>> RdKafkaAdmin::list_topics(milliseconds timeout) {
  if (impl_->cancelled) return impl_->cancelled_error("Metadata");
  impl_->forget_old_login_failure();
  // rd_kafka_metadata blocks for its whole timeout when no broker lets us in: ask in growing
  // slices and look for a refused login (and a cancel) between them.
  const auto deadline = Clock::now() + timeout;
  milliseconds slice{500};
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (;;) {
    if (impl_->cancelled) return impl_->cancelled_error("Metadata");
    if (impl_->login_failing()) break;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    err = rd_kafka_metadata(impl_->rk.get(), /*all_topics=*/1, nullptr, &raw, to_ms(std::min(left, slice)));
    if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) std::this_thread::sleep_for(milliseconds(50));  // no busy loop
    slice = std::min(slice * 2, milliseconds(4000));
  }
  Ptr<const rd_kafka_metadata_t> md(raw);
  if (!err) impl_->call_succeeded();
  if (err) {
    if (auto e = impl_->login_error("Metadata")) return *e;
    auto e = make_error(err, nullptr);
    e.message = "Metadata from cluster " + impl_->name + ": " + e.message;
    return e;
  }
  std::vector<TopicInfo> out;
  out.reserve(static_cast<size_t>(md->topic_cnt));
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    // A topic the broker lists with an error and no partitions (being deleted, or not authorized
    // with an old broker) is not usable; one with partitions and a transient error (no leader) is.
    if (t.err && t.partition_cnt == 0) {
      TM_DEBUG("control", "topic skipped in metadata",
               {{"cluster", impl_->name}, {"topic", t.topic}, {"error", rd_kafka_err2name(t.err)}});
      continue;
    }
    TopicInfo info;
    info.name = t.topic;
    info.partitions = t.partition_cnt;
    // Impl note: librdkafka 2.0.2 does not expose Metadata's is_internal flag; Kafka's own list of
    // internal topics (Topic.isInternal) is these two names.
    info.internal = info.name == "__consumer_offsets" || info.name == "__transaction_state";
    out.push_back(std::move(info));
  }
  return out;
}

AdminResult<TopicConfigs> RdKafkaAdmin::topic_configs(const std::string& topic, milliseconds timeout) {
  auto s = impl_->setup(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout, false);
  Ptr<rd_kafka_ConfigResource_t> res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* arr[] = {res.get()};
  rd_kafka_DescribeConfigs(impl_->rk.get(), arr, 1, s.options.get(), s.queue.get());

  auto ev = impl_->wait(s.queue.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout);
  if (!ev) return impl_->timeout_error("DescribeConfigs", timeout);
  if (auto err = rd_kafka_event_error(ev.get())) return make_error(err, rd_kafka_event_error_string(ev.get()));

  const auto* result = rd_kafka_event_DescribeConfigs_result(ev.get());
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(result, &n);
  for (size_t i = 0; i < n; ++i) {
    const auto* r = resources[i];
    if (topic != rd_kafka_ConfigResource_name(r)) continue;
    if (auto err = rd_kafka_ConfigResource_error(r)) return make_error(err, rd_kafka_ConfigResource_error_string(r));
    TopicConfigs out;
    size_t cnt = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(r, &cnt);
    for (size_t j = 0; j < cnt; ++j) {
      const auto* e = entries[j];
      const char* value = rd_kafka_ConfigEntry_value(e);
      if (!value) continue;  // sensitive, or no value
      auto src = rd_kafka_ConfigEntry_source(e);
      // DescribeConfigs v1+ names the source; v0 only says is_default (source UNKNOWN).
      bool topic_override = src == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG ||
                            (src == RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG && !rd_kafka_ConfigEntry_is_default(e));
      out[rd_kafka_ConfigEntry_name(e)] = ConfigEntry(value, !topic_override);
    }
    return out;
  }
  return AdminError{make_error_code(kafka_errc::unknown_topic_or_partition),
                    "DescribeConfigs answer from cluster " + impl_->name + " does not mention topic " + topic};
}

std::optional<AdminError> RdKafkaAdmin::create_topic(const std::string& topic, int32_t partitions,
                                                     int32_t replication_factor,
                                                     const std::map<std::string, std::string>& configs,
                                                     milliseconds timeout) {
  // librdkafka lets an empty name and 0 partitions through to the broker; refuse them here.
  if (topic.empty()) return AdminError{make_error_code(errc::invalid_argument), "CreateTopics: empty topic name"};
  if (partitions < 1 && partitions != -1)
    return AdminError{make_error_code(errc::invalid_argument),
                      "CreateTopics " + topic + ": invalid partition count " + std::to_string(partitions)};
  char errstr[512];
  Ptr<rd_kafka_NewTopic_t> nt(rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, errstr, sizeof errstr));
  if (!nt) return AdminError{make_error_code(errc::invalid_argument), errstr};
  for (const auto& [k, v] : configs) {
    if (auto err = rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str()))
      return make_error(err, ("config " + k).c_str());
  }
  auto s = impl_->setup(RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout, true);
  rd_kafka_NewTopic_t* arr[] = {nt.get()};
  rd_kafka_CreateTopics(impl_->rk.get(), arr, 1, s.options.get(), s.queue.get());

  auto ev = impl_->wait(s.queue.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout);
  if (!ev) return impl_->timeout_error("CreateTopics", timeout);
  if (auto err = rd_kafka_event_error(ev.get())) return make_error(err, rd_kafka_event_error_string(ev.get()));
  size_t n = 0;
  const auto** results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (topic != rd_kafka_topic_result_name(results[i])) continue;
    if (auto err = rd_kafka_topic_result_error(results[i]))
      return make_error(err, rd_kafka_topic_result_error_string(results[i]));
    return std::nullopt;
  }
  return AdminError{make_error_code(errc::malformed), "CreateTopics answer does not mention topic " + topic};
}

std::optional<AdminError> RdKafkaAdmin::create_partitions(const std::string& topic, int32_t new_total,
                                                          milliseconds timeout) {
  char errstr[512];
  Ptr<rd_kafka_NewPartitions_t> np(rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(std::max(new_total, 0)),
                                                              errstr, sizeof errstr));
  if (!np) return AdminError{make_error_code(errc::invalid_argument), errstr};
  auto s = impl_->setup(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout, true);
  rd_kafka_NewPartitions_t* arr[] = {np.get()};
  rd_kafka_CreatePartitions(impl_->rk.get(), arr, 1, s.options.get(), s.queue.get());

  auto ev = impl_->wait(s.queue.get(), RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, timeout);
  if (!ev) return impl_->timeout_error("CreatePartitions", timeout);
  if (auto err = rd_kafka_event_error(ev.get())) return make_error(err, rd_kafka_event_error_string(ev.get()));
  size_t n = 0;
  const auto** results =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (topic != rd_kafka_topic_result_name(results[i])) continue;
    if (auto err = rd_kafka_topic_result_error(results[i]))
      return make_error(err, rd_kafka_topic_result_error_string(results[i]));
    return std::nullopt;
  }
  return AdminError{make_error_code(errc::malformed), "CreatePartitions answer does not mention topic " + topic};
}

AdminResult<GroupDescription> RdKafkaAdmin::describe_group(const std::string& group, milliseconds timeout) {
  auto s = impl_->setup(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout, false);
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(impl_->rk.get(), groups, 1, s.options.get(), s.queue.get());
  auto ev = impl_->wait(s.queue.get(), RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, timeout);
  if (!ev) return impl_->timeout_error("DescribeConsumerGroups", timeout);
  if (auto err = rd_kafka_event_error(ev.get())) return make_error(err, rd_kafka_event_error_string(ev.get()));
  size_t n = 0;
  const auto** descs = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto* d = descs[i];
    if (group != rd_kafka_ConsumerGroupDescription_group_id(d)) continue;
    if (const auto* e = rd_kafka_ConsumerGroupDescription_error(d))
      return make_error(rd_kafka_error_code(e), rd_kafka_error_string(e));
    GroupDescription out;
    out.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    if (const char* a = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) out.partition_assignor = a;
    for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(d); ++m) {
      const auto* md = rd_kafka_ConsumerGroupDescription_member(d, m);
      GroupMemberDescription member;
      auto str = [](const char* v) { return v ? std::string(v) : std::string(); };
      member.member_id = str(rd_kafka_MemberDescription_consumer_id(md));
      member.client_id = str(rd_kafka_MemberDescription_client_id(md));
      member.host = str(rd_kafka_MemberDescription_host(md));
      if (const auto* a = rd_kafka_MemberDescription_assignment(md))
        if (const auto* list = rd_kafka_MemberAssignment_partitions(a))
          for (int k = 0; k < list->cnt; ++k)
            member.assigned.push_back({list->elems[k].topic, list->elems[k].partition});
      std::sort(member.assigned.begin(), member.assigned.end());
      out.members.push_back(std::move(member));
    }
    return out;
  }
  return AdminError{make_error_code(errc::malformed),
                    "DescribeConsumerGroups answer from cluster " + impl_->name + " does not mention group " + group};
}

std::string librdkafka_version() { return rd_kafka_version_str(); }

bool librdkafka_scram_works_with_kafka4() { return rd_kafka_version() >= 0x02060100; }

}  // namespace tiermirror::control
