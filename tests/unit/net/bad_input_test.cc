// Bad bytes from a broker, through a scripted connection: frames cut short, absurd counts and
// lengths inside well-framed responses, and error codes Kafka has not defined (yet). Framing
// problems must break the connection and let the next request reconnect; a decoded response
// with an unknown error code is an answer like any other (the caller classifies it), and
// kafka_errc names the number so logs and pause reasons stay useful.
#include <gtest/gtest.h>

#include <climits>

#include "scripted_broker.h"
#include "tiermirror/net/call.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/messages/metadata.h"
#include "tiermirror/protocol/messages/produce.h"

namespace tiermirror::net {
namespace {

using test::Reply;
using test::ScriptedBroker;
using test::fast_options;

template <typename Resp, typename Req>
std::pair<std::error_code, Resp> round_trip(const std::shared_ptr<Connection>& c, Req req) {
  return await<std::pair<std::error_code, Resp>>([&](auto done) {
    call<Resp>(c, std::move(req), Millis(2000), [done](std::error_code ec, Resp r, int16_t) { done({ec, r}); });
  });
}

std::error_code metadata(const std::shared_ptr<Connection>& c) {
  return round_trip<protocol::MetadataResponse>(c, protocol::MetadataRequest{}).first;
}

Reply one_broker(const protocol::RequestHeader& h) {
  protocol::MetadataResponse r;
  r.brokers.push_back({1, "127.0.0.1", 9092, std::nullopt});
  return ScriptedBroker::frame(h, r, h.api_version);
}

protocol::FetchResponse one_partition(int16_t error_code, Bytes records) {
  protocol::FetchResponse r;
  protocol::FetchResponse::Partition p;
  p.partition_index = 0;
  p.error_code = error_code;
  p.high_watermark = 10;
  p.aborted_transactions.emplace();
  p.records = BufferSlice(SharedBuffer(std::move(records)));
  r.topics.push_back({"t", {p}});
  return r;
}

TEST(BadInput, FrameCutShortThenClosedFailsTheRequestAndReconnects) {
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int conn) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    if (conn == 1) {  // announces 100 bytes, sends the correlation id and 6 more, hangs up
      Bytes b = one_broker(h).bytes;
      b.resize(10);
      b.insert(b.begin(), {0, 0, 0, 100});
      return Reply{Reply::Kind::raw_close, b};
    }
    return one_broker(h);
  });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, fast_options());
  EXPECT_EQ(metadata(c), errc::disconnected);
  EXPECT_FALSE(metadata(c));
  EXPECT_EQ(broker.connections(), 2);
  c->close();
}

TEST(BadInput, SizePrefixCutShortThenClosedFailsTheRequestAndReconnects) {
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int conn) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    if (conn == 1) return Reply{Reply::Kind::raw_close, {0, 0}};
    return one_broker(h);
  });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, fast_options());
  EXPECT_EQ(metadata(c), errc::disconnected);
  EXPECT_FALSE(metadata(c));
  c->close();
}

TEST(BadInput, BodyEndingInsideAFieldIsMalformedAndResetsTheConnection) {
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int conn) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    Reply r = one_broker(h);
    if (conn == 1) r.bytes.resize(r.bytes.size() - 3);  // well framed, but the last field is short
    return r;
  });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, fast_options());
  EXPECT_EQ(metadata(c), errc::malformed);
  EXPECT_FALSE(metadata(c));
  EXPECT_EQ(broker.connections(), 2);
  c->close();
}

TEST(BadInput, AbsurdCountsAndLengthsInsideAFetchResponseAreMalformed) {
  // Each case is a well-framed Fetch response; the connection must refuse it before
  // allocating for the count it claims, break, and serve the next request on a new one.
  enum Case { topics_2_31, topics_negative, partitions_2_31, records_2_31, records_negative, kCases };
  std::atomic<int> which{0};
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    if (h.api_key != protocol::ApiKey::fetch) return one_broker(h);
    EXPECT_EQ(h.api_version, 11);  // the layout below is v11's
    protocol::Writer w;
    w.i32(h.correlation_id);
    w.i32(0);  // throttle_time_ms
    w.i16(0);  // error_code
    w.i32(0);  // session_id
    switch (which.load()) {
      case topics_2_31:
        w.i32(INT32_MAX);
        break;
      case topics_negative:
        w.i32(INT32_MIN);
        break;
      case partitions_2_31:
        w.i32(1);
        w.string("t");
        w.i32(INT32_MAX);
        break;
      case records_2_31:
      case records_negative:
        w.i32(1);
        w.string("t");
        w.i32(1);
        w.i32(0);   // partition_index
        w.i16(0);   // error_code
        w.i64(10);  // high_watermark
        w.i64(10);  // last_stable_offset
        w.i64(0);   // log_start_offset
        w.i32(0);   // aborted_transactions
        w.i32(-1);  // preferred_read_replica
        w.i32(which.load() == records_2_31 ? INT32_MAX : -7);  // records length
        w.i32(0);
        break;
    }
    return Reply{Reply::Kind::frame, w.flatten()};
  });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, fast_options());
  for (int i = 0; i < kCases; ++i) {
    which = i;
    auto [ec, resp] = round_trip<protocol::FetchResponse>(c, protocol::FetchRequest{});
    EXPECT_EQ(ec, errc::malformed) << "case " << i;
    EXPECT_FALSE(metadata(c)) << "case " << i;  // the next request gets a fresh connection
  }
  EXPECT_EQ(broker.connections(), 1 + kCases);
  c->close();
}

TEST(BadInput, UnknownErrorCodesInFetchAndProduceAreAnswersNotFailures) {
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    if (h.api_key == protocol::ApiKey::fetch) return ScriptedBroker::frame(h, one_partition(9999, {}), h.api_version);
    if (h.api_key == protocol::ApiKey::produce) {
      protocol::ProduceResponse r;
      r.topics.push_back({"t", {{0, -32768, -1, -1, -1}, {1, 9999, -1, -1, -1}}});
      return ScriptedBroker::frame(h, r, h.api_version);
    }
    return one_broker(h);
  });
  IoThread io;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, fast_options());

  auto [fec, fetch] = round_trip<protocol::FetchResponse>(c, protocol::FetchRequest{});
  ASSERT_FALSE(fec) << fec.message();
  ASSERT_EQ(fetch.topics.size(), 1u);
  ASSERT_EQ(fetch.topics[0].partitions.size(), 1u);
  std::error_code e = make_error_code(static_cast<kafka_errc>(fetch.topics[0].partitions[0].error_code));
  EXPECT_EQ(e.message(), "UNKNOWN_ERROR_CODE_9999");
  EXPECT_FALSE(is_retriable(static_cast<kafka_errc>(e.value())));
  EXPECT_FALSE(needs_metadata_refresh(static_cast<kafka_errc>(e.value())));

  auto [pec, produce] = round_trip<protocol::ProduceResponse>(c, protocol::ProduceRequest{});
  ASSERT_FALSE(pec) << pec.message();
  ASSERT_EQ(produce.topics.size(), 1u);
  ASSERT_EQ(produce.topics[0].partitions.size(), 2u);
  EXPECT_EQ(std::error_code(static_cast<kafka_errc>(produce.topics[0].partitions[0].error_code)).message(),
            "UNKNOWN_ERROR_CODE_-32768");
  EXPECT_EQ(std::error_code(static_cast<kafka_errc>(produce.topics[0].partitions[1].error_code)).message(),
            "UNKNOWN_ERROR_CODE_9999");

  EXPECT_FALSE(metadata(c));
  EXPECT_EQ(broker.connections(), 1);  // nothing about an unknown code breaks the connection
  c->close();
}

}  // namespace
}  // namespace tiermirror::net
