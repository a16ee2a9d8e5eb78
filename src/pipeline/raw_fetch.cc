#include "tiermirror/pipeline/raw_fetch.h"

#include <mutex>

#include "tiermirror/net/call.h"
#include "tiermirror/protocol/messages/list_offsets.h"

namespace tiermirror::pipeline {

namespace {

constexpr int32_t kConsumerReplicaId = -1;
constexpr int32_t kDebuggingReplicaId = -2;  // ListOffsetsRequest.DEBUGGING_REPLICA_ID

void list_offset_as(int32_t replica_id, const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp,
                    int64_t timestamp, Isolation isolation, net::Millis timeout,
                    std::function<void(std::error_code, int64_t)> handler) {
  auto conn = cluster->leader_connection(tp.topic, tp.partition);
  if (!conn) return handler(errc::no_leader, -1);
  protocol::ListOffsetsRequest req;
  req.replica_id = replica_id;
  req.isolation_level = static_cast<int8_t>(isolation);
  req.topics.push_back({tp.topic, {{tp.partition, -1, timestamp}}});
  net::call<protocol::ListOffsetsResponse>(
      conn, std::move(req), timeout,
      [cluster, tp, handler = std::move(handler)](std::error_code ec, protocol::ListOffsetsResponse resp, int16_t) {
        if (ec) {
          cluster->report_error(ec);
          return handler(ec, -1);
        }
        for (const auto& t : resp.topics) {
          if (t.name != tp.topic) continue;
          for (const auto& p : t.partitions) {
            if (p.partition_index != tp.partition) continue;
            if (p.error_code != 0) {
              std::error_code kec = make_error_code(static_cast<kafka_errc>(p.error_code));
              cluster->report_error(kec);
              return handler(kec, -1);
            }
            return handler({}, p.offset);
          }
        }
        handler(errc::malformed, -1);  // the broker did not answer for our partition
      });
}

}  // namespace

void list_offset(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, int64_t timestamp,
                 Isolation isolation, net::Millis timeout, std::function<void(std::error_code, int64_t)> handler) {
  list_offset_as(kConsumerReplicaId, cluster, tp, timestamp, isolation, timeout, std::move(handler));
}

void list_log_end_offset(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, net::Millis timeout,
                         std::function<void(std::error_code, int64_t)> handler) {
  list_offset_as(kDebuggingReplicaId, cluster, tp, kLatestTimestamp, Isolation::read_uncommitted, timeout,
                 std::move(handler));
}

namespace {

void list_offsets_as(int32_t replica_id, const std::shared_ptr<net::Cluster>& cluster,
                     const std::vector<TopicPartition>& tps, int64_t timestamp, Isolation isolation,
                     net::Millis timeout, std::function<void(std::map<TopicPartition, ListedOffset>)> handler) {
  struct Gather {
    std::mutex mu;  // answers come back on each broker connection's strand
    std::map<TopicPartition, ListedOffset> out;
    size_t left = 0;
    std::function<void(std::map<TopicPartition, ListedOffset>)> handler;
  };
  auto g = std::make_shared<Gather>();
  g->handler = std::move(handler);
  std::map<int32_t, std::vector<TopicPartition>> by_leader;
  for (const auto& tp : tps) {
    auto leader = cluster->leader(tp.topic, tp.partition);
    if (leader) by_leader[*leader].push_back(tp);
    else g->out[tp].ec = errc::no_leader;
  }
  g->left = by_leader.size();
  if (by_leader.empty()) return g->handler(std::move(g->out));
  auto one_done = [g](std::map<TopicPartition, ListedOffset> part) {
    std::unique_lock lk(g->mu);
    for (auto& [tp, r] : part) g->out[tp] = r;
    if (--g->left > 0) return;
    auto out = std::move(g->out);
    lk.unlock();
    g->handler(std::move(out));
  };
  for (const auto& entry : by_leader) {
    const int32_t leader = entry.first;
    const std::vector<TopicPartition>& parts = entry.second;  // named: a lambda cannot capture a binding (clang)
    auto fail_all = [parts](std::error_code ec) {
      std::map<TopicPartition, ListedOffset> r;
      for (const auto& tp : parts) r[tp].ec = ec;
      return r;
    };
    auto conn = cluster->broker(leader);
    if (!conn) {
      one_done(fail_all(errc::no_leader));
      continue;
    }
    protocol::ListOffsetsRequest req;
    req.replica_id = replica_id;
    req.isolation_level = static_cast<int8_t>(isolation);
    std::map<std::string, size_t> topic_index;
    for (const auto& tp : parts) {
      auto [it, added] = topic_index.try_emplace(tp.topic, req.topics.size());
      if (added) req.topics.push_back({tp.topic, {}});
      req.topics[it->second].partitions.push_back({tp.partition, -1, timestamp});
    }
    net::call<protocol::ListOffsetsResponse>(
        conn, std::move(req), timeout,
        [cluster, parts, fail_all, one_done](std::error_code ec, protocol::ListOffsetsResponse resp, int16_t) {
          if (ec) {
            cluster->report_error(ec);
            return one_done(fail_all(ec));
          }
          // A partition the broker left out counts as malformed, as in list_offset_as.
          auto r = fail_all(make_error_code(errc::malformed));
          for (const auto& t : resp.topics) {
            for (const auto& p : t.partitions) {
              auto it = r.find(TopicPartition{t.name, p.partition_index});
              if (it == r.end()) continue;
              if (p.error_code != 0) {
                it->second = {make_error_code(static_cast<kafka_errc>(p.error_code)), -1};
                cluster->report_error(it->second.ec);
              } else {
                it->second = {{}, p.offset};
              }
            }
          }
          one_done(std::move(r));
        });
  }
}

}  // namespace

void list_offsets(const std::shared_ptr<net::Cluster>& cluster, const std::vector<TopicPartition>& tps,
                  int64_t timestamp, Isolation isolation, net::Millis timeout,
                  std::function<void(std::map<TopicPartition, ListedOffset>)> handler) {
  list_offsets_as(kConsumerReplicaId, cluster, tps, timestamp, isolation, timeout, std::move(handler));
}

void list_log_end_offsets(const std::shared_ptr<net::Cluster>& cluster, const std::vector<TopicPartition>& tps,
                          net::Millis timeout,
                          std::function<void(std::map<TopicPartition, ListedOffset>)> handler) {
  // The log end, replicated or not (as list_log_end_offset).
  list_offsets_as(kDebuggingReplicaId, cluster, tps, kLatestTimestamp, Isolation::read_uncommitted, timeout,
                  std::move(handler));
}

void fetch_partition(const std::shared_ptr<net::Cluster>& cluster, const TopicPartition& tp, SourceOffset offset,
                     const FetchOptions& opts, std::function<void(FetchedPartition)> handler) {
  auto conn = cluster->leader_connection(tp.topic, tp.partition);
  if (!conn) {
    FetchedPartition out;
    out.ec = errc::no_leader;
    return handler(std::move(out));
  }
  protocol::FetchRequest req;
  req.max_wait_ms = opts.max_wait_ms;
  req.min_bytes = 1;
  req.max_bytes = opts.max_bytes;
  req.isolation_level = static_cast<int8_t>(opts.isolation);
  protocol::FetchRequest::Partition p;
  p.partition_index = tp.partition;
  p.fetch_offset = offset.value();
  p.partition_max_bytes = opts.max_bytes;
  req.topics.push_back({tp.topic, {p}});
  net::call<protocol::FetchResponse>(
      conn, std::move(req), opts.timeout,
      [cluster, tp, offset, handler = std::move(handler)](std::error_code ec, protocol::FetchResponse resp,
                                                          int16_t version) {
        FetchedPartition out;
        out.fetch_version = version;
        if (!ec && resp.error_code != 0) ec = make_error_code(static_cast<kafka_errc>(resp.error_code));
        if (ec) {
          cluster->report_error(ec);
          out.ec = ec;
          return handler(std::move(out));
        }
        for (auto& t : resp.topics) {
          if (t.name != tp.topic) continue;
          for (auto& part : t.partitions) {
            if (part.partition_index != tp.partition) continue;
            out.high_watermark = part.high_watermark;
            out.last_stable_offset = part.last_stable_offset;
            out.log_start_offset = part.log_start_offset;
            out.aborted_transactions = std::move(part.aborted_transactions);
            if (part.error_code != 0) {
              out.ec = make_error_code(static_cast<kafka_errc>(part.error_code));
              cluster->report_error(out.ec);
              return handler(std::move(out));
            }
            out.split = protocol::split_record_set(part.records, offset);
            return handler(std::move(out));
          }
        }
        out.ec = errc::malformed;
        handler(std::move(out));
      });
}

}  // namespace tiermirror::pipeline
