#include "source_side.h"

#include <algorithm>
#include <limits>

#include "target_side.h"
#include "tiermirror/common/log.h"
#include "tiermirror/net/call.h"
#include "tiermirror/pipeline/raw_fetch.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/protocol/record_set.h"

namespace tiermirror::pipeline::detail {

namespace {
constexpr const char* kLog = "pipeline";
}

SourceSide::SourceSide(RouteCore& core, TargetSide& target) : core_(core), target_(target) {}

void SourceSide::schedule_fetches() {
  size_t total = core_.budget.total();
  if (total >= core_.opts.total_bytes) return;  // the global budget is full: fetch nothing
  std::map<int32_t, std::vector<Partition*>> by_leader;
  bool missing_leader = false;
  for (auto& [tp, p] : core_.parts) {
    if (p->state != PartitionState::running || p->fetching) continue;
    if (p->queue.buffered_bytes() >= core_.opts.bytes_per_partition) continue;  // its budget is full
    auto leader = core_.source->leader(tp.topic, tp.partition);
    if (!leader) {
      missing_leader = true;
      continue;
    }
    if (fetching_brokers_.count(*leader)) continue;
    by_leader[*leader].push_back(p.get());
  }
  if (missing_leader) {
    core_.source->request_refresh();
    core_.retry_later();
  }
  for (auto& [broker, parts] : by_leader) send_fetch(broker, std::move(parts));
}

void SourceSide::send_fetch(int32_t broker, std::vector<Partition*> parts) {
  auto conn = core_.source->broker(broker);
  if (!conn) return core_.retry_later();
  size_t room_total = core_.opts.total_bytes - std::min(core_.opts.total_bytes, core_.budget.total());
  protocol::FetchRequest req;
  req.max_wait_ms = static_cast<int32_t>(core_.opts.fetch_max_wait.count());
  req.min_bytes = 1;
  req.max_bytes = static_cast<int32_t>(std::min<size_t>(core_.opts.fetch_max_bytes, room_total));
  req.isolation_level = static_cast<int8_t>(Isolation::read_committed);
  std::map<std::string, size_t> topic_index;
  for (auto* p : parts) {
    size_t room = core_.opts.bytes_per_partition - std::min(core_.opts.bytes_per_partition, p->queue.buffered_bytes());
    size_t want = std::max(std::min({room, core_.opts.fetch_max_bytes, room_total}), p->fetch_size_floor);
    protocol::FetchRequest::Partition fp;
    fp.partition_index = p->tp.partition;
    fp.fetch_offset = p->next_fetch.value();
    fp.partition_max_bytes = static_cast<int32_t>(std::min<size_t>(want, INT32_MAX));
    auto [it, inserted] = topic_index.emplace(p->tp.topic, req.topics.size());
    if (inserted) req.topics.push_back({p->tp.topic, {}});
    req.topics[it->second].partitions.push_back(fp);
    p->fetching = true;
  }
  fetching_brokers_.insert(broker);
  // The response may use all of max_bytes: reserve it so fetches to other brokers do not
  // count the same room.
  size_t reserved = static_cast<size_t>(req.max_bytes);
  core_.budget.reserve(reserved);
  auto keep = core_.keep();
  // The fetch may wait fetch_max_wait at the broker: its deadline allows for that.
  net::call<protocol::FetchResponse>(
      conn, std::move(req), core_.opts.request_timeout + core_.opts.fetch_max_wait,
      core_.on_strand([this, keep, broker, parts, reserved](std::error_code ec, protocol::FetchResponse resp, int16_t) {
        fetching_brokers_.erase(broker);
        core_.budget.unreserve(reserved);
        for (auto* p : parts) p->fetching = false;
        if (!ec && resp.error_code != 0) {
          // A top-level error answers for every partition asked (Fetch v7+: fetch sessions and
          // errors that are not any one partition's); each partition handles it as its own.
          auto top = make_error_code(static_cast<kafka_errc>(resp.error_code));
          if (!is_retriable(static_cast<kafka_errc>(resp.error_code))) {
            for (auto* p : parts)
              if (p->state == PartitionState::running) handle_fetch_error(*p, top);
            core_.schedule();
            return;
          }
          ec = top;
        }
        if (ec) {
          core_.notify_failed(protocol::ApiKey::fetch, ec);
          TM_DEBUG(kLog, "fetch failed", {{"broker", broker}, {"error", ec.message()}});
          core_.source->report_error(ec);
          core_.retry_later();
          return;
        }
        for (const auto& t : resp.topics)
          for (const auto& rp : t.partitions) {
            auto it = core_.parts.find(TopicPartition{t.name, rp.partition_index});
            if (it == core_.parts.end()) continue;
            on_fetch_partition(*it->second, rp);
          }
        core_.schedule();
      }));
}

void SourceSide::on_fetch_partition(Partition& p, const protocol::FetchResponse::Partition& rp) {
  if (p.state != PartitionState::running) return;
  if (rp.error_code != 0) return handle_fetch_error(p, make_error_code(static_cast<kafka_errc>(rp.error_code)));
  p.high_watermark = rp.high_watermark;
  p.counters.high_watermark = rp.high_watermark;
  if (rp.aborted_transactions) p.aborted.add(*rp.aborted_transactions);
  auto split = protocol::split_record_set(rp.records, p.next_fetch);
  if (!split.ok()) {
    return core_.pause(p, "malformed record set from the source at fetch offset " + std::to_string(p.next_fetch.value()) +
                              " (" + std::string(protocol::to_string(split.error)) + ")");
  }
  if (split.batches.empty() && split.needs_bigger_fetch) {
    // One batch is larger than the budget allows us to fetch: take it alone (Kafka returns
    // at least one batch anyway, KIP-74), the budget is exceeded by that batch only.
    p.fetch_size_floor = *split.needs_bigger_fetch;
    return;
  }
  p.fetch_size_floor = 0;
  for (const auto& b : split.batches) {
    auto corrupt = [&](protocol::BatchVerdict v) {
      return v == protocol::BatchVerdict::crc_mismatch || v == protocol::BatchVerdict::truncated ||
             v == protocol::BatchVerdict::bad_length || v == protocol::BatchVerdict::unknown_magic ||
             v == protocol::BatchVerdict::malformed_records;
    };
    auto pause_corrupt = [&](protocol::BatchVerdict v) {
      // A corrupt batch is never forwarded. The partition stops before it.
      core_.pause(p, "corrupt source batch at offset " + std::to_string(b.base_offset()) + " (" +
                         std::string(protocol::to_string(v)) + ")");
    };
    // The CRC is one pass over every byte, and the target broker makes it anyway: Kafka checks
    // every v2 batch on Produce (UnifiedLog.analyzeAndValidateRecords) and refuses a mismatch
    // with CORRUPT_MESSAGE, and the rewritten header's CRC is derived from the stored one
    // (rewrite_header), so a corrupt batch stays corrupt. It is checked here when configured,
    // and below for every batch that is not forwarded as fetched.
    auto verdict = b.verdict(std::numeric_limits<size_t>::max(),
                             core_.opts.verify_crc_on_fetch ? protocol::CrcCheck::verify : protocol::CrcCheck::skip);
    if (corrupt(verdict)) return pause_corrupt(verdict);
    QueuedBatch q;
    q.id = next_batch_id_++;
    q.first = SourceOffset(b.base_offset());
    q.last = b.last_offset();
    q.batch = b;
    q.bytes = b.size();
    q.records = b.is_legacy() ? 0 : b.records_count();
    auto txn = p.aborted.next(b);
    auto reason = core_.opts.force_repack && !b.is_control() ? std::optional(RepackReason::forced)
                                                         : needs_repack(b, target_.max_message_bytes(p.tp.topic));
    // Dropped (a marker, an aborted transaction) or rebuilt: no broker checks the stored CRC
    // of this batch, so it is checked here: a corrupt header must not make data look aborted.
    if ((txn != TxnVerdict::keep || reason) && !b.is_legacy() && !core_.opts.verify_crc_on_fetch && !b.crc_ok())
      return pause_corrupt(protocol::BatchVerdict::crc_mismatch);
    if (txn != TxnVerdict::keep) {
      q.send = false;
      p.counters.dropped++;
      core_.budget.track(q);
      p.queue.push(std::move(q));
    } else if (reason) {
      auto repacked = repack(b, target_.max_message_bytes(p.tp.topic));
      if (!repacked) {
        return core_.pause(p, "cannot repack the batch at offset " + std::to_string(b.base_offset()) + ": " +
                                  repacked.error().message());
      }
      p.counters.repacked++;
      p.counters.repacked_by_reason[std::string(to_string(*reason))]++;
      TM_DEBUG(kLog, "batch repacked", {{"partition", p.tp.str()}, {"offset", b.base_offset()},
                                        {"reason", std::string(to_string(*reason))}});
      if (repacked->batches.empty()) {  // all records compacted away: nothing to send
        q.send = false;
        p.counters.dropped++;
        core_.budget.track(q);
        p.queue.push(std::move(q));
      } else {
        // The fetch position can lie inside this batch: exactly-once resume found its first
        // pieces in the target, or a commit fell between its pieces before a restart. The
        // repack is deterministic (same input, codec, limit), so the pieces wholly below the
        // position are those delivered: send only the rest.
        auto pieces = repacked_pieces(b, *repacked, p.next_fetch);
        for (size_t i = 0; i < pieces.send.size(); ++i) {
          const auto& piece = pieces.send[i];
          if (piece.first < p.next_fetch)  // not on a piece boundary (another limit or tool): never skip
            TM_WARN(kLog, "fetch offset inside a repacked piece; the piece is sent whole (its records below the "
                          "offset are sent again)",
                    {{"partition", p.tp.str()}, {"fetch_offset", p.next_fetch.value()},
                     {"piece_first_offset", piece.first.value()}});
          QueuedBatch r;
          r.id = next_batch_id_++;
          r.first = piece.first;
          r.last = piece.last;
          r.batch = piece.view;
          r.bytes = piece.view.size();
          r.records = piece.view.records_count();
          r.base_timestamp = pieces.source.base_timestamp;
          r.max_timestamp = pieces.source.max_timestamp;
          if (i + 1 == pieces.send.size()) {  // counted when the last piece is released, with those not sent again
            r.source = pieces.source;
            r.earlier_pieces = std::move(pieces.earlier);
          }
          core_.budget.track(r);
          p.queue.push(std::move(r));
        }
      }
    } else {
      // Forwarded whole even when it starts below the fetch position (a commit or log start
      // inside it): splitting it would mean repacking, and the records section stays as is.
      if (q.first < p.next_fetch)
        TM_WARN(kLog, "fetch offset inside a source batch that is forwarded as is; its records below the offset are "
                      "sent again",
                {{"partition", p.tp.str()}, {"fetch_offset", p.next_fetch.value()}, {"batch_offset", q.first.value()}});
      q.base_timestamp = b.base_timestamp();
      q.max_timestamp = b.max_timestamp();
      q.source = BatchFacts{q.first, q.last, q.records, q.bytes, q.base_timestamp, q.max_timestamp};
      core_.budget.track(q);
      p.queue.push(std::move(q));
    }
    p.next_fetch = SourceOffset(b.last_offset().value() + 1);
  }
  p.counters.next_fetch_offset = p.next_fetch.value();
  target_.release(p);
}

void SourceSide::handle_fetch_error(Partition& p, std::error_code ec) {
  core_.notify_failed(protocol::ApiKey::fetch, ec);
  auto e = static_cast<kafka_errc>(ec.value());
  if (e == kafka_errc::offset_out_of_range) return handle_out_of_range(p);
  if (e == kafka_errc::topic_authorization_failed)
    return core_.pause(p, "TOPIC_AUTHORIZATION_FAILED reading the source: the route's principal needs the Read and Describe ACLs "
                          "on topic '" + p.tp.topic + "' of the source cluster");
  if (e == kafka_errc::corrupt_message) return core_.pause(p, "the source broker reports CORRUPT_MESSAGE");
  if (!is_retriable(e) && e != kafka_errc::unknown_server_error) {
    // Kafka's consumer throws on a Fetch error it does not expect ("Unexpected error code" in
    // its fetcher) rather than retry it; retrying forever would hide the partition's problem.
    return core_.pause(p, ec.message() + " from the source broker on Fetch (not retriable)");
  }
  TM_DEBUG(kLog, "fetch partition error", {{"partition", p.tp.str()}, {"error", ec.message()}});
  core_.source->report_error(ec);
  core_.retry_later();
}

void SourceSide::handle_out_of_range(Partition& p) {
  // The offset we want is gone (retention) or beyond the end (topic recreated). Kafka's
  // consumer would reset per auto.offset.reset; a mirror must say loudly what it skips.
  auto keep = core_.keep();
  Partition* pp = &p;
  p.fetching = true;
  list_offset(core_.source, p.tp, kEarliestTimestamp, Isolation::read_committed, core_.opts.request_timeout,
              core_.on_strand([this, keep, pp](std::error_code ec, int64_t earliest) {
                pp->fetching = false;
                if (ec) return core_.retry_later();
                if (pp->next_fetch.value() < earliest) {
                  TM_ERROR(kLog, "source data lost before it was mirrored (retention); skipping to the log start",
                           {{"partition", pp->tp.str()},
                            {"lost_from", pp->next_fetch.value()},
                            {"lost_to", earliest - 1},
                            {"records_lost", earliest - pp->next_fetch.value()}});
                  for (const auto& o : core_.opts.observers)
                    o->lost(pp->tp, pp->next_fetch, SourceOffset(earliest - 1), "retention");
                  pp->next_fetch = SourceOffset(earliest);
                  core_.schedule();
                } else {
                  core_.pause(*pp, "fetch offset " + std::to_string(pp->next_fetch.value()) +
                                             " is beyond the source log end (topic recreated?); reset the group's offset");
                }
              }));
}


}  // namespace tiermirror::pipeline::detail
