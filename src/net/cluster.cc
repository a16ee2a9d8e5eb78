#include "tiermirror/net/cluster.h"

#include <algorithm>

#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/protocol/messages/metadata.h"

namespace tiermirror::net {

const PartitionInfo* MetadataSnapshot::partition(const std::string& topic, int32_t p) const {
  auto it = topics.find(topic);
  if (it == topics.end()) return nullptr;
  // Sorted by partition, and usually exactly 0..n-1: index first, else binary search. A route
  // looks up every partition's leader at every scheduling round; a linear search made that
  // quadratic (a third of a core idling with 10,000 partitions).
  const auto& ps = it->second.partitions;
  if (p >= 0 && static_cast<size_t>(p) < ps.size() && ps[static_cast<size_t>(p)].partition == p)
    return &ps[static_cast<size_t>(p)];
  auto pos = std::lower_bound(ps.begin(), ps.end(), p, [](const PartitionInfo& a, int32_t v) { return a.partition < v; });
  return pos != ps.end() && pos->partition == p ? &*pos : nullptr;
}

std::shared_ptr<Cluster> Cluster::create(asio::io_context& io, std::vector<Endpoint> bootstrap, ClusterOptions opts) {
  return std::shared_ptr<Cluster>(new Cluster(io, std::move(bootstrap), std::move(opts)));
}

Cluster::Cluster(asio::io_context& io, std::vector<Endpoint> bootstrap, ClusterOptions opts)
    : io_(io), bootstrap_(std::move(bootstrap)), opts_(std::move(opts)) {
  // Every connection reports failed logins here; the route reads it to stop with the reason.
  opts_.connection.on_login_failure = [login = login_, chained = std::move(opts_.connection.on_login_failure)](
                                          std::error_code ec, const std::string& detail) {
    {
      std::lock_guard lk(login->mu);
      login->failure = detail;
    }
    if (chained) chained(ec, detail);
  };
  opts_.connection.on_connection_failure = [login = login_, chained = std::move(opts_.connection.on_connection_failure)](
                                               const std::string& line) {
    {
      std::lock_guard lk(login->mu);
      login->last_connection_failure = line;
    }
    if (chained) chained(line);
  };
  // Bootstrap connections get negative ids: they are not brokers until metadata says so.
  int32_t id = -1;
  for (const auto& ep : bootstrap_) bootstrap_conns_.push_back(Connection::create(io_, ep, id--, opts_.connection));
}

Cluster::~Cluster() = default;

MetadataPtr Cluster::metadata() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

std::optional<int32_t> Cluster::leader(const std::string& topic, int32_t partition) const {
  auto snap = metadata();
  if (!snap) return std::nullopt;
  auto* p = snap->partition(topic, partition);
  if (!p || p->leader < 0) return std::nullopt;
  return p->leader;
}

std::shared_ptr<Connection> Cluster::broker(int32_t id) {
  std::lock_guard lk(mu_);
  if (closed_ || !snapshot_) return nullptr;
  auto b = snapshot_->brokers.find(id);
  if (b == snapshot_->brokers.end()) return nullptr;
  auto& conn = brokers_[id];
  if (conn && (conn->endpoint().host != b->second.endpoint.host || conn->endpoint().port != b->second.endpoint.port)) {
    conn->close();  // the broker moved: new address, new connection
    conn.reset();
  }
  if (!conn) conn = Connection::create(io_, b->second.endpoint, id, opts_.connection);
  return conn;
}

std::shared_ptr<Connection> Cluster::leader_connection(const std::string& topic, int32_t partition) {
  auto l = leader(topic, partition);
  return l ? broker(*l) : nullptr;
}

std::vector<std::shared_ptr<Connection>> Cluster::connections() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Connection>> out;
  for (const auto& [id, c] : brokers_)
    if (c) out.push_back(c);
  return out;
}

void Cluster::close() {
  std::map<int32_t, std::shared_ptr<Connection>> brokers;
  std::vector<std::shared_ptr<Connection>> boots;
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    brokers.swap(brokers_);
    boots = bootstrap_conns_;
  }
  for (auto& [id, c] : brokers)
    if (c) c->close();
  for (auto& c : boots) c->close();
}

std::vector<std::shared_ptr<Connection>> Cluster::refresh_candidates() {
  std::vector<std::shared_ptr<Connection>> out;
  MetadataPtr snap = metadata();
  // Ready connections to known brokers first (no connect cost), then other known
  // brokers, then the bootstrap list.
  if (snap) {
    std::vector<std::shared_ptr<Connection>> rest;
    for (const auto& [id, b] : snap->brokers) {
      auto c = broker(id);
      if (!c) continue;
      (c->ready() ? out : rest).push_back(c);
    }
    out.insert(out.end(), rest.begin(), rest.end());
  }
  std::lock_guard lk(mu_);
  out.insert(out.end(), bootstrap_conns_.begin(), bootstrap_conns_.end());
  return out;
}

void Cluster::refresh(std::optional<std::vector<std::string>> topics, MetadataHandler handler) {
  {
    std::lock_guard lk(mu_);
    if (closed_) {
      if (handler) handler(errc::shutting_down, snapshot_);
      return;
    }
    if (handler) waiters_.push_back(std::move(handler));
    if (refreshing_) return;  // the refresh under way answers this caller too
    refreshing_ = true;
    refresh_login_error_ = {};
  }
  auto candidates = std::make_shared<std::vector<std::shared_ptr<Connection>>>(refresh_candidates());
  try_refresh(0, candidates, std::move(topics));
}

void Cluster::try_refresh(size_t attempt, std::shared_ptr<std::vector<std::shared_ptr<Connection>>> candidates,
                          std::optional<std::vector<std::string>> topics) {
  if (attempt >= candidates->size()) {
    std::error_code login_ec;
    {
      std::lock_guard lk(mu_);
      login_ec = refresh_login_error_;
    }
    return finish_refresh(login_ec ? login_ec : std::error_code(errc::no_leader), nullptr);
  }
  auto conn = (*candidates)[attempt];
  protocol::MetadataRequest req;
  if (topics) {
    req.topics.emplace();
    for (const auto& t : *topics) req.topics->push_back({t});
  }
  auto self = shared_from_this();
  call<protocol::MetadataResponse>(
      conn, req, opts_.metadata_timeout,
      [self, attempt, candidates, topics, conn](std::error_code ec, protocol::MetadataResponse resp, int16_t) {
        if (ec) {
          if (is_login_failure(ec)) {
            std::lock_guard lk(self->mu_);
            self->refresh_login_error_ = ec;
          }
          TM_DEBUG("net", "metadata request failed, trying next broker",
                   {{"cluster", self->opts_.name}, {"broker", conn->endpoint().str()}, {"error", ec.message()}});
          return self->try_refresh(attempt + 1, candidates, topics);
        }
        auto snap = std::make_shared<MetadataSnapshot>();
        {
          std::lock_guard lk(self->mu_);
          if (topics && self->snapshot_) snap->topics = self->snapshot_->topics;  // partial refresh merges
        }
        for (const auto& b : resp.brokers)
          snap->brokers[b.node_id] = BrokerInfo{b.node_id, Endpoint{b.host, static_cast<uint16_t>(b.port)}, b.rack};
        for (const auto& t : resp.topics) {
          TopicInfo ti{t.name, t.error_code, t.is_internal, {}};
          for (const auto& p : t.partitions)
            ti.partitions.push_back(PartitionInfo{p.partition_index, p.leader_id, p.error_code, p.replica_nodes, p.isr_nodes});
          std::sort(ti.partitions.begin(), ti.partitions.end(),
                    [](const auto& a, const auto& b) { return a.partition < b.partition; });
          snap->topics[t.name] = std::move(ti);
        }
        snap->controller_id = resp.controller_id;
        snap->cluster_id = resp.cluster_id;
        snap->fetched_at = Clock::now();
        self->finish_refresh({}, std::move(snap));
      });
}

void Cluster::finish_refresh(std::error_code ec, MetadataPtr snap) {
  std::vector<MetadataHandler> waiters;
  MetadataPtr current;
  {
    std::lock_guard lk(mu_);
    if (snap) snapshot_ = snap;
    refreshing_ = false;
    waiters.swap(waiters_);
    current = snapshot_;
  }
  if (ec) {
    TM_WARN("net", "metadata refresh failed: no broker answered", {{"cluster", opts_.name}, {"error", ec.message()}});
  } else {
    std::lock_guard lk(login_->mu);
    login_->failure.reset();
  }
  for (auto& w : waiters) w(ec, current);
}

void Cluster::request_refresh() {
  {
    std::lock_guard lk(mu_);
    auto now = Clock::now();
    if (closed_ || now - last_error_refresh_ < opts_.refresh_backoff) return;
    last_error_refresh_ = now;
  }
  refresh(std::nullopt, nullptr);
}

void Cluster::report_error(std::error_code ec) {
  if (!ec) return;
  bool stale = ec == errc::disconnected || ec == errc::timed_out || ec == errc::no_leader;
  if (ec.category() == kafka_category()) stale = needs_metadata_refresh(static_cast<kafka_errc>(ec.value()));
  if (stale) request_refresh();
}

}  // namespace tiermirror::net

namespace tiermirror::net {

std::optional<std::string> Cluster::last_connection_failure() const {
  std::lock_guard lk(login_->mu);
  return login_->last_connection_failure;
}

std::optional<std::string> Cluster::login_failure() const {
  std::lock_guard lk(login_->mu);
  return login_->failure;
}

void Cluster::reload_tls() {
  if (opts_.connection.security.tls) opts_.connection.security.tls->reload();
}

}  // namespace tiermirror::net
