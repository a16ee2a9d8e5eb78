#include "tiermirror/control/syncer.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>

#include "tiermirror/common/log.h"

namespace tiermirror::control {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Kind = SyncAction::Kind;
using Outcome = SyncAction::Outcome;

constexpr const char* kComponent = "control";

// Kafka's defaults, for entries a config map does not carry.
constexpr const char* kDefaultCompression = "producer";
constexpr const char* kDefaultTimestampType = "CreateTime";
constexpr int64_t kDefaultMaxMessageBytes = 1048588;
constexpr const char* kDefaultCleanupPolicy = "delete";

std::string config_value(const TopicConfigs& cfg, const std::string& key, const std::string& dflt) {
  auto it = cfg.find(key);
  return it == cfg.end() ? dflt : it->second.value;
}

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool has_compact(const std::string& policy) {
  // cleanup.policy is a list: "compact", "delete", "compact,delete" (spaces allowed).
  std::stringstream ss(policy);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "compact") return true;
  }
  return false;
}

const AdminError* error_of(const std::optional<AdminError>& r) { return r ? &*r : nullptr; }
template <typename T>
const AdminError* error_of(const AdminResult<T>& r) {
  return r.ok() ? nullptr : &r.error();
}

bool is(const AdminError& e, kafka_errc k) { return e.ec == make_error_code(k); }

std::string join_configs(const std::map<std::string, std::string>& configs) {
  std::string out;
  for (const auto& [k, v] : configs) {
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out.empty() ? "none" : out;
}

std::string rf_text(int32_t rf) { return rf < 0 ? "the broker's default" : std::to_string(rf); }

}  // namespace

std::string_view to_string(SyncAction::Kind k) {
  switch (k) {
    case Kind::create_topic: return "create_topic";
    case Kind::add_partitions: return "add_partitions";
    case Kind::target_wider: return "target_wider";
    case Kind::target_missing_not_created: return "target_missing_not_created";
  }
  return "?";
}

std::string_view to_string(SyncAction::Outcome o) {
  switch (o) {
    case Outcome::done: return "done";
    case Outcome::would_do: return "would_do";
    case Outcome::already_done_by_another_route: return "already_done_by_another_route";
    case Outcome::failed: return "failed";
    case Outcome::noted: return "noted";
  }
  return "?";
}

std::vector<std::string> identity_problems(const TopicConfigs& source, const TopicConfigs& target) {
  std::vector<std::string> problems;
  // Rule 7: the payload is kept only when compression.type is producer or equals the batch's codec.
  const std::string codec = config_value(target, "compression.type", kDefaultCompression);
  if (codec != "producer")
    problems.push_back("compression.type=" + codec +
                       " on the target: the broker recompresses every batch whose codec differs from " + codec +
                       "; identity holds only for batches already in " + codec + " (set it to producer)");
  // Rule 7: LogAppendTime rewrites maxTimestamp and the timestamp-type attribute (new CRC).
  const std::string ts = config_value(target, "message.timestamp.type", kDefaultTimestampType);
  if (ts == "LogAppendTime")
    problems.push_back(
        "message.timestamp.type=LogAppendTime on the target: the broker rewrites maxTimestamp and the "
        "timestamp-type attribute of every batch (payload kept, batch header and CRC change)");
  // Rule 4: a batch must fit the target's max.message.bytes.
  auto smax = parse_int(config_value(source, "max.message.bytes", std::to_string(kDefaultMaxMessageBytes)));
  auto tmax = parse_int(config_value(target, "max.message.bytes", std::to_string(kDefaultMaxMessageBytes)));
  if (smax && tmax && *tmax < *smax)
    problems.push_back("max.message.bytes=" + std::to_string(*tmax) + " on the target is below the source's " +
                       std::to_string(*smax) +
                       ": batches that fit the source may be refused (MESSAGE_TOO_LARGE); tiermirror repacks "
                       "them, so they are not identical");
  // Rule 13: a compacted topic refuses records without a key.
  const std::string tpol = config_value(target, "cleanup.policy", kDefaultCleanupPolicy);
  const std::string spol = config_value(source, "cleanup.policy", kDefaultCleanupPolicy);
  if (has_compact(tpol) && !has_compact(spol))
    problems.push_back("cleanup.policy=" + tpol + " on the target compacts but the source's (" + spol +
                       ") does not: every record needs a key; keyless records are refused (INVALID_RECORD)");
  return problems;
}

bool SyncReport::failed() const {
  if (!errors.empty()) return true;
  for (const auto& a : actions)
    if (a.outcome == Outcome::failed) return true;
  for (const auto& v : verdicts)
    if (v.incomplete) return true;
  return false;
}

std::set<std::string> SyncReport::refused_topics() const {
  std::set<std::string> out;
  for (const auto& v : verdicts)
    if (v.refused) out.insert(v.topic);
  return out;
}

std::string SyncReport::render() const {
  std::ostringstream os;
  for (const auto& e : errors) os << "error: " << e << "\n";
  std::map<Outcome, int> counts;
  for (const auto& a : actions) {
    counts[a.outcome]++;
    os << to_string(a.kind) << " " << a.topic << ": " << to_string(a.outcome) << " (source " << a.source_partitions
       << " partitions, target " << a.target_partitions_before << " -> " << a.target_partitions_after << ")";
    if (!a.message.empty()) os << " " << a.message;
    os << "\n";
  }
  int with_problems = 0;
  for (const auto& v : verdicts) {
    if (v.ok()) continue;
    ++with_problems;
    for (const auto& p : v.problems)
      os << "identity " << v.topic << (v.refused ? " [refused]" : " [warning]") << ": " << p << "\n";
  }
  os << "summary: " << actions.size() << " action(s)";
  for (const auto& [o, n] : counts) os << ", " << n << " " << to_string(o);
  os << "; " << verdicts.size() << " topic(s) checked, " << with_problems << " with identity problems, "
     << refused_topics().size() << " refused";
  if (!errors.empty()) os << "; " << errors.size() << " error(s)";
  os << "\n";
  return os.str();
}

namespace {

// One pass of the syncer; holds the report being built.
class Pass {
 public:
  Pass(Admin& source, Admin& target, const SyncOptions& opts, bool dry_run)
      : source_(source), target_(target), opts_(opts), dry_run_(dry_run) {}

  SyncReport run() {
    auto src = retried("Metadata", source_, "", [&](milliseconds t) { return source_.list_topics(t); });
    if (!src) return fail_run("cannot list the topics of source cluster " + source_.cluster_name() + ": " +
                              src.error().str());
    auto tgt = retried("Metadata", target_, "", [&](milliseconds t) { return target_.list_topics(t); });
    if (!tgt) return fail_run("cannot list the topics of target cluster " + target_.cluster_name() + ": " +
                              tgt.error().str());

    std::map<std::string, int32_t> target_counts;
    for (const auto& t : *tgt) target_counts[t.name] = t.partitions;
    auto topics = std::move(*src);
    std::sort(topics.begin(), topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto& t : topics) {
      if (t.internal || t.partitions <= 0) continue;
      if (opts_.select && !opts_.select(t.name)) continue;
      auto it = target_counts.find(t.name);
      sync_topic(t, it == target_counts.end() ? std::nullopt : std::optional<int32_t>(it->second));
    }
    return std::move(report_);
  }

 private:
  SyncReport fail_run(std::string msg) {
    TM_ERROR(kComponent, "sync pass failed", {{"error", msg}});
    report_.errors.push_back(std::move(msg));
    return std::move(report_);
  }

  // Calls f(attempt_timeout) until it succeeds, fails for good, or the operation's budget
  // (opts_.timeout) is spent. Each attempt gets an equal share of what is left, so a hanging
  // first attempt still leaves room for the retries.
  template <typename F>
  auto retried(const char* op, Admin& admin, const std::string& topic, F&& f, bool* inconclusive = nullptr)
      -> std::invoke_result_t<F&, milliseconds> {
    const auto deadline = Clock::now() + opts_.timeout;
    const int attempts = std::max(1, opts_.max_attempts);
    for (int attempt = 1;; ++attempt) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      auto share = std::max(milliseconds(1), left / (attempts - attempt + 1));
      auto r = f(share);
      const AdminError* e = error_of(r);
      if (!e) return r;
      // The attempt may have taken effect: no answer (timed out, disconnected), or the broker's
      // REQUEST_TIMED_OUT, which says only that the controller did not finish within the
      // request's timeout_ms; the creation goes on (seen with 2,000 partitions on Kafka 4.4).
      if (inconclusive && (e->ec == errc::timed_out || e->ec == errc::disconnected ||
                           e->ec == make_error_code(kafka_errc::request_timed_out)))
        *inconclusive = true;
      if (!e->retriable() || attempt >= attempts) return r;
      auto wait = std::min(opts_.retry_backoff * attempt,
                           std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
      if (wait <= milliseconds(0)) return r;
      TM_WARN(kComponent, "admin call failed, retrying",
              {{"cluster", admin.cluster_name()}, {"op", op}, {"topic", topic}, {"attempt", attempt},
               {"error", e->str()}});
      std::this_thread::sleep_for(wait);
    }
  }

  void add(SyncAction a) {
    const bool bad = a.outcome == Outcome::failed;
    const std::initializer_list<log::Field> fields = {{"topic", a.topic},
                                                     {"kind", to_string(a.kind)},
                                                     {"outcome", to_string(a.outcome)},
                                                     {"source_partitions", a.source_partitions},
                                                     {"target_before", a.target_partitions_before},
                                                     {"target_after", a.target_partitions_after},
                                                     {"detail", a.message}};
    if (bad)
      TM_WARN(kComponent, "topic sync failed", fields);
    else
      TM_INFO(kComponent, "topic sync", fields);
    report_.actions.push_back(std::move(a));
  }

  // The target's partition count now, after a broker said another route got there first. Metadata
  // can lag the controller by a moment, so a count below `want` (or no topic) is read again a few
  // times before it is believed.
  // After a timed-out attempt of ours the creation may still be spreading to the brokers (a
  // wide topic's metadata reaches them a while after the controller committed it), so then the
  // re-reads go on, backing off, for up to opts_.timeout rather than max_attempts times.
  std::optional<int32_t> reread_count(const std::string& topic, int32_t want, std::string& why, bool patient) {
    const int attempts = std::max(1, opts_.max_attempts);
    const auto until = Clock::now() + opts_.timeout;
    std::optional<int32_t> count;
    for (int attempt = 1; attempt <= attempts || (patient && Clock::now() < until); ++attempt) {
      if (attempt > 1) {
        auto wait = std::min(opts_.retry_backoff * (attempt - 1), milliseconds(2000));
        if (patient && attempt > attempts)
          wait = std::min(wait, std::chrono::duration_cast<milliseconds>(until - Clock::now()));
        if (wait > milliseconds(0)) std::this_thread::sleep_for(wait);
      }
      auto r = retried("Metadata", target_, topic, [&](milliseconds t) { return target_.list_topics(t); });
      if (!r) {
        why = "re-reading the target failed: " + r.error().str();
        return std::nullopt;
      }
      count.reset();
      for (const auto& t : *r)
        if (t.name == topic) count = t.partitions;
      if (count && *count >= want) return count;
    }
    if (!count) why = "the target's metadata does not show the topic";
    return count;
  }

  // TOPIC_ALREADY_EXISTS / INVALID_PARTITIONS: another route feeding the same aggregate won the race
  // (or an earlier attempt of ours that timed out took effect). Success if the target is now wide enough.
  void settle_race(SyncAction a, const AdminError& e, bool inconclusive) {
    std::string why;
    auto now = reread_count(a.topic, a.source_partitions, why, inconclusive);
    if (now && *now >= a.source_partitions) {
      a.outcome = inconclusive ? Outcome::done : Outcome::already_done_by_another_route;
      a.target_partitions_after = *now;
      a.message = (inconclusive ? "the target has " + std::to_string(*now) +
                                      " partitions now (our timed-out attempt or another route did it): "
                                : "another route got there first, the target has " + std::to_string(*now) +
                                      " partitions: ") +
                  e.str();
    } else {
      a.outcome = Outcome::failed;
      a.target_partitions_after = now.value_or(a.target_partitions_before);
      a.message = now ? "the broker answered " + e.str() + ", but the target has only " + std::to_string(*now) +
                            " partitions (a later pass grows it)"
                      : "the broker answered " + e.str() + ", and " + why;
    }
    add(std::move(a));
  }

  // Every attempt timed out: one look whether one of them took effect after all. True (and
  // the action added as done) when the target has the partitions wanted.
  bool took_effect(SyncAction& a, const AdminError& e) {
    auto r = target_.list_topics(opts_.timeout);
    if (!r) return false;
    for (const auto& t : *r) {
      if (t.name != a.topic || t.partitions < a.source_partitions) continue;
      a.outcome = Outcome::done;
      a.target_partitions_after = t.partitions;
      a.message = "the target has " + std::to_string(t.partitions) +
                  " partitions now (a timed-out attempt of ours, or another route, did it): " + e.str();
      add(std::move(a));
      return true;
    }
    return false;
  }

  void sync_topic(const TopicInfo& src, std::optional<int32_t> target_count) {
    const std::string& topic = src.name;
    SyncAction a{};
    a.topic = topic;
    a.source_partitions = src.partitions;
    a.target_partitions_before = target_count.value_or(0);
    a.target_partitions_after = a.target_partitions_before;

    if (!target_count && !opts_.create_missing_topics) {
      a.kind = Kind::target_missing_not_created;
      a.outcome = Outcome::noted;
      a.message = "the target topic does not exist and create_missing_topics is off: the route's partitions "
                  "wait until it exists";
      add(std::move(a));
      return;
    }

    auto src_cfg = retried("DescribeConfigs", source_, topic, [&](milliseconds t) { return source_.topic_configs(topic, t); });

    if (!target_count) {
      a.kind = Kind::create_topic;
      if (!src_cfg) {
        a.outcome = Outcome::failed;
        a.message = "cannot read the source topic's configs to copy them: " + src_cfg.error().str();
        add(std::move(a));
        return;
      }
      std::map<std::string, std::string> configs;
      for (const auto& key : opts_.copy_configs) {
        auto it = src_cfg->find(key);
        if (it != src_cfg->end() && !it->second.is_default) configs[key] = it->second.value;
      }
      configs["compression.type"] = "producer";  // rule 7: the broker keeps every batch's codec
      const std::string plan = std::to_string(src.partitions) + " partitions, replication factor " +
                               rf_text(opts_.replication_factor) + ", configs " + join_configs(configs);
      if (dry_run_) {
        a.outcome = Outcome::would_do;
        a.target_partitions_after = src.partitions;
        a.message = "would create with " + plan;
        add(std::move(a));
        return;
      }
      bool inconclusive = false;
      auto err = retried(
          "CreateTopics", target_, topic,
          [&](milliseconds t) { return target_.create_topic(topic, src.partitions, opts_.replication_factor, configs, t); },
          &inconclusive);
      if (!err) {
        a.outcome = Outcome::done;
        a.target_partitions_after = src.partitions;
        a.message = "created with " + plan;
        add(std::move(a));
      } else if (is(*err, kafka_errc::topic_already_exists)) {
        settle_race(std::move(a), *err, inconclusive);
      } else if (inconclusive && err->retriable() && took_effect(a, *err)) {
        // The last attempt timed out too, but an earlier one created the topic.
      } else {
        a.outcome = Outcome::failed;
        a.message = "CreateTopics with " + plan + " failed: " + err->str();
        add(std::move(a));
      }
      if (report_.actions.back().outcome != Outcome::failed) check_identity(topic, src_cfg);
      return;
    }

    if (*target_count < src.partitions) {
      a.kind = Kind::add_partitions;
      if (dry_run_) {
        a.outcome = Outcome::would_do;
        a.target_partitions_after = src.partitions;
        a.message = "would add " + std::to_string(src.partitions - *target_count) + " partitions";
        add(std::move(a));
      } else {
        bool inconclusive = false;
        auto err = retried(
            "CreatePartitions", target_, topic,
            [&](milliseconds t) { return target_.create_partitions(topic, src.partitions, t); }, &inconclusive);
        if (!err) {
          a.outcome = Outcome::done;
          a.target_partitions_after = src.partitions;
          a.message = "added " + std::to_string(src.partitions - *target_count) + " partitions";
          add(std::move(a));
        } else if (is(*err, kafka_errc::invalid_partitions)) {
          // After a timed-out attempt: that attempt may have reached the count already.
          settle_race(std::move(a), *err, inconclusive);
        } else if (inconclusive && err->retriable() && took_effect(a, *err)) {
          // The last attempt timed out too, but an earlier one added the partitions.
        } else {
          a.outcome = Outcome::failed;
          a.message = "CreatePartitions to " + std::to_string(src.partitions) + " failed: " + err->str();
          add(std::move(a));
        }
      }
    } else if (*target_count > src.partitions) {
      a.kind = Kind::target_wider;
      a.outcome = Outcome::noted;
      a.message = "the target has more partitions than the source; left as it is (never shrunk), its extra "
                  "partitions get no mirrored data";
      add(std::move(a));
    }
    check_identity(topic, src_cfg);
  }

  void check_identity(const std::string& topic, const AdminResult<TopicConfigs>& src_cfg) {
    IdentityVerdict v;
    v.topic = topic;
    if (!src_cfg) {
      v.incomplete = true;
      v.problems.push_back("cannot read the source topic's configs: " + src_cfg.error().str());
    }
    auto tgt_cfg = retried("DescribeConfigs", target_, topic, [&](milliseconds t) { return target_.topic_configs(topic, t); });
    if (!tgt_cfg) {
      v.incomplete = true;
      v.problems.push_back("cannot read the target topic's configs: " + tgt_cfg.error().str());
    }
    int64_t max_message_bytes = 0;
    if (tgt_cfg) {
      auto max = parse_int(config_value(*tgt_cfg, "max.message.bytes", std::to_string(kDefaultMaxMessageBytes)));
      if (max && *max > 0) report_.target_max_message_bytes[topic] = max_message_bytes = *max;
    }
    if (src_cfg && tgt_cfg) v.problems = identity_problems(*src_cfg, *tgt_cfg);
    // A topic whose configs could not be checked is refused too: refuse means "mirror only what is
    // known to stay identical".
    v.refused = !v.problems.empty() && opts_.identity == IdentityPolicy::refuse;
    if (!v.ok()) {
      std::string all;
      for (const auto& p : v.problems) all += (all.empty() ? "" : "; ") + p;
      TM_WARN(kComponent, v.refused ? "target topic refused: batches would not stay identical"
                                    : "target topic breaks batch identity",
              {{"topic", topic}, {"cluster", target_.cluster_name()}, {"refused", v.refused}, {"problems", all}});
    }
    if (opts_.on_topic_checked) opts_.on_topic_checked(v, max_message_bytes);
    report_.verdicts.push_back(std::move(v));
  }

  Admin& source_;
  Admin& target_;
  const SyncOptions& opts_;
  const bool dry_run_;
  SyncReport report_;
};

}  // namespace

Syncer::Syncer(Admin& source, Admin& target, SyncOptions options)
    : source_(source), target_(target), opts_(std::move(options)) {}

SyncReport Syncer::run_once(bool dry_run) { return Pass(source_, target_, opts_, dry_run).run(); }

}  // namespace tiermirror::control
