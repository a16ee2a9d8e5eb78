// A client configured for another listener than the one it dials fails in a way only the bytes
// explain: a TLS listener answers plaintext with a TLS alert (read as an absurd frame size), a
// SASL listener answers ApiVersions and then closes the connection of a client that does not log
// in. The connection says so in its failure line (what `run` shows when it gives up at start).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "scripted_broker.h"
#include "tiermirror/net/call.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/protocol/messages/metadata.h"

namespace tiermirror::net {
namespace {

using test::Reply;
using test::ScriptedBroker;

// The failure lines a connection reported, collected across threads.
struct Failures {
  std::mutex mu;
  std::vector<std::string> lines;
  ConnectionOptions options() {
    auto o = test::fast_options();
    o.on_connection_failure = [this](const std::string& line) {
      std::lock_guard lk(mu);
      lines.push_back(line);
    };
    return o;
  }
  std::string first() {
    std::lock_guard lk(mu);
    return lines.empty() ? "" : lines.front();
  }
};

std::error_code metadata(const std::shared_ptr<Connection>& c) {
  return await<std::error_code>([&](auto done) {
    call<protocol::MetadataResponse>(c, protocol::MetadataRequest{}, Millis(2000),
                                     [done](std::error_code ec, protocol::MetadataResponse, int16_t) { done(ec); });
  });
}

Reply one_broker(const protocol::RequestHeader& h) {
  protocol::MetadataResponse r;
  r.brokers.push_back({1, "127.0.0.1", 9092, std::nullopt});
  return ScriptedBroker::frame(h, r, h.api_version);
}

TEST(ListenerMismatch, TlsAlertToPlaintextNamesATlsListener) {
  // What a TLS listener writes to a client whose first bytes are not a ClientHello: a fatal
  // alert record (type 21, TLS 1.2 record version, 2 bytes: level fatal, unexpected_message).
  ScriptedBroker broker([](const protocol::RequestHeader&, const SharedBuffer&, int) {
    return Reply{Reply::Kind::raw_close, {21, 3, 3, 0, 2, 2, 10}};
  });
  IoThread io;
  Failures f;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, f.options());
  EXPECT_TRUE(metadata(c));
  EXPECT_NE(f.first().find("read frame size"), std::string::npos) << f.first();
  EXPECT_NE(f.first().find("this is a TLS listener, set security.protocol to SSL"), std::string::npos) << f.first();
  c->close();
}

TEST(ListenerMismatch, CloseAfterApiVersionsNamesASaslListener) {
  // Kafka's SASL listener answers ApiVersions (KIP-152) and closes at the next request.
  ScriptedBroker broker([](const protocol::RequestHeader& h, const SharedBuffer&, int) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    return Reply{Reply::Kind::close, {}};
  });
  IoThread io;
  Failures f;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, f.options());
  EXPECT_TRUE(metadata(c));
  EXPECT_NE(f.first().find("a SASL listener does that to clients that do not log in"), std::string::npos)
      << f.first();
  c->close();
}

TEST(ListenerMismatch, CloseAfterAnAnsweredRequestBlamesNoListener) {
  // A broker that answered a request and closes later (a restart, idle timeout) is not a
  // misconfiguration: no hint, which would send the operator after the wrong problem.
  std::atomic<int> metadata_requests{0};
  ScriptedBroker broker([&](const protocol::RequestHeader& h, const SharedBuffer&, int) -> Reply {
    if (h.api_key == protocol::ApiKey::api_versions) return ScriptedBroker::api_versions(h);
    if (metadata_requests++ == 0) return one_broker(h);
    return Reply{Reply::Kind::close, {}};
  });
  IoThread io;
  Failures f;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, f.options());
  EXPECT_FALSE(metadata(c));
  EXPECT_TRUE(metadata(c));
  ASSERT_NE(f.first(), "");
  EXPECT_EQ(f.first().find("listener"), std::string::npos) << f.first();
  EXPECT_EQ(f.first().find("TLS"), std::string::npos) << f.first();
  c->close();
}

TEST(ListenerMismatch, AbsurdFrameSizeThatIsNotTlsBlamesNoListener) {
  ScriptedBroker broker([](const protocol::RequestHeader&, const SharedBuffer&, int) {
    return Reply{Reply::Kind::raw_close, {0x7f, 0x7f, 0x7f, 0x7f}};
  });
  IoThread io;
  Failures f;
  auto c = Connection::create(io.io(), {"127.0.0.1", broker.port()}, 1, f.options());
  EXPECT_TRUE(metadata(c));
  EXPECT_NE(f.first().find("malformed"), std::string::npos) << f.first();
  EXPECT_EQ(f.first().find("listener"), std::string::npos) << f.first();
  c->close();
}

}  // namespace
}  // namespace tiermirror::net
