#include "target_side.h"

#include <algorithm>
#include <chrono>

#include "progress.h"
#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/protocol/messages/init_producer_id.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline::detail {

namespace {
constexpr const char* kLog = "pipeline";
}

TargetSide::TargetSide(RouteCore& core, Progress& progress) : core_(core), progress_(progress) {}

void TargetSide::init_producer() {
  producer_state_ = ProducerState::initializing;
  auto keep = core_.keep();
  auto md = core_.target->metadata();
  std::shared_ptr<net::Connection> conn;
  if (md && !md->brokers.empty()) conn = core_.target->broker(md->brokers.begin()->first);
  if (!conn) {
    // No target metadata yet: ask for it, then try again.
    core_.target->refresh(std::nullopt, core_.on_strand([this, keep](std::error_code ec, net::MetadataPtr m) {
      if (ec || !m || m->brokers.empty()) return core_.after(core_.opts.retry_backoff * 5, [this, keep] { init_producer(); });
      init_producer();
    }));
    return;
  }
  // InitProducerId without a transactional id: a fresh idempotent producer id and epoch.
  net::call<protocol::InitProducerIdResponse>(
      conn, protocol::InitProducerIdRequest{}, core_.opts.request_timeout,
      core_.on_strand([this, keep](std::error_code ec, protocol::InitProducerIdResponse resp, int16_t) {
        if (!ec && resp.error_code != 0) ec = make_error_code(static_cast<kafka_errc>(resp.error_code));
        if (ec) {
          TM_WARN(kLog, "InitProducerId failed on the target; retrying", {{"error", ec.message()}});
          if (ec == kafka_errc::cluster_authorization_failed || ec == kafka_errc::transactional_id_authorization_failed) {
            if (core_.fatal) core_.fatal(ec, "the route may not produce idempotently to the target (IdempotentWrite)");
            return;
          }
          core_.target->report_error(ec);
          return core_.after(core_.opts.retry_backoff * 5, [this, keep] { init_producer(); });
        }
        producer_ = {ProducerId(resp.producer_id), ProducerEpoch(resp.producer_epoch)};
        for (auto& [tp, p] : core_.parts) p->queue.reset_sequences();
        retired_sequences_.clear();  // a new producer id starts every partition at 0
        producer_state_ = ProducerState::ready;
        TM_INFO(kLog, "producer id from the target",
                {{"route", core_.opts.name}, {"producer_id", resp.producer_id}, {"epoch", resp.producer_epoch}});
        core_.schedule();
      }));
}

void TargetSide::reset_producer(const std::string& why) {
  if (producer_state_ == ProducerState::resetting || producer_state_ == ProducerState::initializing) return;
  TM_WARN(kLog, "resetting the idempotent producer", {{"route", core_.opts.name}, {"why", why}});
  producer_state_ = ProducerState::resetting;
  core_.schedule();
}

void TargetSide::schedule_produces() {
  if (producer_state_ == ProducerState::resetting) {
    // A new producer id only once nothing is in flight: every unacked batch then goes
    // again, in order, with sequences from 0 under the new id.
    for (const auto& [b, n] : produce_in_flight_)
      if (n > 0) return;
    init_producer();
    return;
  }
  // Stopping: requests in flight finish, nothing new goes out.
  if (producer_state_ != ProducerState::ready || core_.stopping) return;
  if (core_.opts.may_produce && !core_.opts.may_produce()) {
    // The group session is not proven fresh: a member whose session expired must not write
    // what the partitions' next owner may already have resumed past. The next successful
    // commit (or assignment) lifts this.
    if (!fenced_)
      TM_WARN(kLog, "not sending: the group session is not confirmed (zombie fence)", {{"route", core_.opts.name}});
    fenced_ = true;
    core_.retry_later();
    return;
  }
  if (fenced_) TM_INFO(kLog, "sending again: the group session is confirmed", {{"route", core_.opts.name}});
  fenced_ = false;
  std::map<int32_t, std::vector<Partition*>> by_leader;
  bool missing_leader = false;
  for (auto& [tp, p] : core_.parts) {
    bool may_send = p->state == PartitionState::running || (p->state == PartitionState::paused && !p->sending_stopped);
    if (!may_send || !p->queue.can_send()) continue;
    auto leader = core_.target->leader(tp.topic, tp.partition);
    if (!leader) {
      missing_leader = true;
      continue;
    }
    // Waits for the old leader's requests to complete (they fail, and go again in order).
    if (p->queue.in_flight() > 0 && p->produce_broker != *leader) continue;
    by_leader[*leader].push_back(p.get());
  }
  if (missing_leader) {
    core_.target->request_refresh();
    core_.retry_later();
  }
  for (auto& [broker, parts] : by_leader) {
    while (produce_in_flight_[broker] < core_.opts.produce_requests_per_broker) {
      std::vector<std::pair<Partition*, QueuedBatch*>> batch;
      size_t bytes = 0;
      for (auto* p : parts) {
        if (bytes >= core_.opts.fetch_max_bytes) break;
        if (!p->queue.can_send()) continue;
        auto* q = p->queue.take_next();  // one batch per partition per request (wire rule 1)
        if (!q) continue;
        bytes += q->bytes;
        batch.emplace_back(p, q);
      }
      if (batch.empty()) break;
      // No connection (the broker left the metadata, or the cluster is closed): the batches
      // went back to their queues; retry_later() tries again, this loop must not.
      if (!send_produce(broker, std::move(batch))) break;
    }
  }
}

bool TargetSide::send_produce(int32_t broker, std::vector<std::pair<Partition*, QueuedBatch*>> batches) {
  auto conn = core_.target->broker(broker);
  struct Sent {
    Partition* p;
    uint64_t id;
  };
  std::vector<Sent> sent;
  if (!conn) {
    for (auto& [p, q] : batches) p->queue.failed(q->id);
    core_.retry_later();
    return false;
  }
  protocol::ProduceRequest req;
  req.acks = -1;  // acks=all: nothing is committed before every in-sync replica has it
  req.timeout_ms = static_cast<int32_t>(core_.opts.request_timeout.count());
  std::map<std::string, size_t> topic_index;
  for (auto& [p, q] : batches) {
    // The header is rewritten (baseOffset 0, leader epoch -1, our producer id, epoch and
    // sequence, transactional bit cleared, new CRC); the records go as fetched.
    auto header = protocol::rewrite_header(q->batch, {producer_.id, producer_.epoch, q->sequence});
    SharedBuffer hbuf(Bytes(header.begin(), header.end()));
    auto [it, inserted] = topic_index.emplace(p->tp.topic, req.topics.size());
    if (inserted) req.topics.push_back({p->tp.topic, {}});
    req.topics[it->second].partitions.push_back({p->tp.partition, {BufferSlice(hbuf), q->batch.records()}});
    p->produce_broker = broker;
    sent.push_back({p, q->id});
  }
  produce_in_flight_[broker]++;
  auto keep = core_.keep();
  net::call<protocol::ProduceResponse>(
      conn, std::move(req), core_.opts.request_timeout + net::Millis(5000),
      core_.on_strand([this, keep, broker, sent](std::error_code ec, protocol::ProduceResponse resp, int16_t) {
        produce_in_flight_[broker]--;
        std::map<TopicPartition, std::pair<int16_t, int64_t>> results;
        if (!ec)
          for (const auto& t : resp.topics)
            for (const auto& rp : t.partitions) results[{t.name, rp.index}] = {rp.error_code, rp.base_offset};
        for (const auto& s : sent) {
          std::error_code pec = ec;
          int64_t base = -1;
          if (!ec) {
            auto it = results.find(s.p->tp);
            if (it == results.end()) {
              pec = errc::malformed;  // the broker did not answer for this partition
            } else {
              if (it->second.first != 0) pec = make_error_code(static_cast<kafka_errc>(it->second.first));
              base = it->second.second;
            }
          }
          on_produce_result(*s.p, s.id, pec, base);
        }
        if (ec) core_.target->report_error(ec);
        core_.schedule();
      }),
      /*fail_if_unreachable=*/true);  // a leader that went away: the batches go to its successor
  return true;
}

void TargetSide::on_produce_result(Partition& p, uint64_t id, std::error_code ec, int64_t base_offset) {
  if (ec == kafka_errc::duplicate_sequence_number) {
    // The broker holds a batch with this sequence. After a resend (a lost response) that is
    // this batch: as good as an ack. On a first send it is other data: the sequence was used
    // before, by a batch whose fate was unknown when its partition left this route (a group
    // revocation, a lost assignment, an unselected topic) and that the resume then found in
    // the target. Taking that for an ack would commit past data the target never got.
    const QueuedBatch* q = p.queue.get(id);
    if (q && q->attempts <= 1) {
      core_.notify_failed(protocol::ApiKey::produce, ec);
      p.queue.failed(id);
      reset_producer("DUPLICATE_SEQUENCE_NUMBER on the first send of a batch on " + p.tp.str());
      return;
    }
  }
  if (!ec || ec == kafka_errc::duplicate_sequence_number) {
    // DUPLICATE_SEQUENCE_NUMBER: the broker already has this batch (a resend after a lost
    // response); it is as good as an ack.
    p.queue.acked(id, TargetOffset(base_offset));
    release(p);
    return;
  }
  core_.notify_failed(protocol::ApiKey::produce, ec);
  bool explained = p.queue.resend_pending();  // before this failure is counted
  p.queue.failed(id);
  if (ec.category() != kafka_category()) {  // disconnect, timeout, malformed response
    core_.retry_later();
    return;
  }
  auto e = static_cast<kafka_errc>(ec.value());
  switch (e) {
    case kafka_errc::out_of_order_sequence_number:
      // Explained by an earlier failure of this partition in the same window: resend.
      // Otherwise the broker's view of our sequence differs from ours: new producer id.
      if (!explained) reset_producer("OUT_OF_ORDER_SEQUENCE_NUMBER on " + p.tp.str());
      return;
    case kafka_errc::unknown_producer_id:
    case kafka_errc::invalid_producer_epoch:
    case kafka_errc::producer_fenced:
    case kafka_errc::invalid_producer_id_mapping:
      reset_producer(make_error_code(e).message() + " on " + p.tp.str());
      return;
    case kafka_errc::topic_authorization_failed:
      return core_.pause(p, "TOPIC_AUTHORIZATION_FAILED writing the target: the route's principal needs the Write and Describe "
                            "ACLs on topic '" + p.tp.topic + "' of the target cluster", PauseSide::target);
    case kafka_errc::message_too_large:
    case kafka_errc::record_list_too_large:
      return core_.pause(p, make_error_code(e).message() +
                                ": a batch exceeds the target topic's max.message.bytes (assumed " +
                                std::to_string(max_message_bytes(p.tp.topic)) + ")", PauseSide::target);
    case kafka_errc::corrupt_message:
      return core_.pause(p, corrupt_message_reason(p, id), PauseSide::target);
    case kafka_errc::invalid_record:
    case kafka_errc::invalid_timestamp:
    case kafka_errc::unsupported_for_message_format:
    case kafka_errc::unsupported_compression_type:
    case kafka_errc::invalid_required_acks:
      return core_.pause(p, make_error_code(e).message() + " from the target", PauseSide::target);
    default:
      if (is_retriable(e) || e == kafka_errc::unknown_topic_or_partition) {
        core_.target->report_error(ec);
        core_.retry_later();
        return;
      }
      return core_.pause(p, make_error_code(e).message() + " from the target", PauseSide::target);
  }
}

std::string TargetSide::corrupt_message_reason(const Partition& p, uint64_t id) const {
  // The target checks the CRC-32C of every batch (a mismatch is CORRUPT_MESSAGE). Say whether
  // the batch came corrupt from the source or was damaged on the way: one pass, on this error only.
  const QueuedBatch* q = p.queue.get(id);
  if (!q) return "CORRUPT_MESSAGE from the target";
  const auto at = std::to_string(q->first.value());
  if (!q->batch.crc_ok())
    return "corrupt source batch at offset " + at + " (crc_mismatch): the target refused it with CORRUPT_MESSAGE";
  return "CORRUPT_MESSAGE from the target for the batch at source offset " + at +
         " (its CRC-32C is valid here: damaged on the way, or refused for another reason)";
}

void TargetSide::release(Partition& p) {
  for (const auto& b : p.queue.release()) {
    core_.budget.untrack(b);
    if (!b.send) continue;
    p.counters.batches++;
    p.counters.records += static_cast<uint64_t>(b.records);
    p.counters.bytes += b.bytes;
    p.counters.acked_max_timestamp = std::max(p.counters.acked_max_timestamp, b.max_timestamp);
    // The Produce response's base offset: where the next batch of ours lands at the earliest
    // (acks in order of the idempotent sequence). A resend answered DUPLICATE_SEQUENCE_NUMBER
    // may carry -1: keep the earlier value, still a lower bound.
    if (b.target_offset && b.target_offset->value() >= 0)
      p.target_hint = b.target_offset->value() + b.batch.last_offset_delta() + 1;
    if (!core_.opts.observers.empty()) {
      // Both tiers at release, one after the other: a publish holds both counts of a batch
      // (or, in the rare take() between the two calls, the next publish the second), so a
      // crash does not leave a batch counted at the source tier only.
      BatchFacts facts{b.first, b.last, b.records, b.bytes, b.base_timestamp, b.max_timestamp};
      int64_t now = wall_clock_ms();
      for (const auto& o : core_.opts.observers) {
        // Pieces in the target before a restart count at the target tier with their source
        // batch, as exactly-once resume counts a batch it finds whole.
        if (b.source && b.earlier_pieces.empty()) o->fetched(p.tp, *b.source);
        if (b.source && !b.earlier_pieces.empty()) o->already_delivered(p.tp, *b.source, b.earlier_pieces);
        o->acked(p.tp, facts, now);
      }
    }
  }
  progress_.check_caught_up();
}

size_t TargetSide::max_message_bytes(const std::string& topic) const {
  auto it = max_message_bytes_.find(topic);
  return it != max_message_bytes_.end() ? it->second : core_.opts.max_message_bytes;
}

int64_t TargetSide::wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}


bool TargetSide::in_flight() const {
  for (const auto& [b, n] : produce_in_flight_)
    if (n > 0) return true;
  return false;
}

void TargetSide::refuse_topics(std::map<std::string, std::string> reasons) {
  refused_ = reasons;
  for (auto& [tp, p] : core_.parts) {
    auto r = reasons.find(tp.topic);
    if (r != reasons.end()) core_.pause(*p, r->second, PauseSide::target);
  }
}

const std::string* TargetSide::refused(const std::string& topic) const {
  auto r = refused_.find(topic);
  return r != refused_.end() ? &r->second : nullptr;
}

void TargetSide::set_max_message_bytes(const std::map<std::string, size_t>& limits) {
  for (const auto& [topic, bytes] : limits) {
    size_t limit = bytes > 0 ? bytes : core_.opts.max_message_bytes;
    auto [it, added] = max_message_bytes_.emplace(topic, limit);
    if (added || it->second != limit) {
      if (bytes > 0)
        TM_INFO(kLog, "target max.message.bytes", {{"topic", topic}, {"bytes", limit}});
      else
        TM_WARN(kLog, "the syncer could not read the target topic's max.message.bytes; assuming Kafka's default",
                {{"topic", topic}, {"bytes", limit}});
    }
    it->second = limit;
  }
}

std::optional<int32_t> TargetSide::take_retired_sequence(const TopicPartition& tp) {
  auto seq = retired_sequences_.find(tp);
  if (seq == retired_sequences_.end()) return std::nullopt;
  int32_t next = seq->second;
  retired_sequences_.erase(seq);
  return next;
}

void TargetSide::keep_retired_sequence(const TopicPartition& tp, int32_t seq) { retired_sequences_[tp] = seq; }

}  // namespace tiermirror::pipeline::detail
