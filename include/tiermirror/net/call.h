#pragma once
// Typed request/response over a Connection: encodes Req for the negotiated version and
// decodes Resp from the answer. A response that does not decode breaks the connection
// (its framing can no longer be trusted) and reaches the handler as errc::malformed.
#include <memory>

#include "tiermirror/common/log.h"
#include "tiermirror/net/connection.h"

namespace tiermirror::net {

template <typename Resp>
using CallHandler = std::function<void(std::error_code ec, Resp resp, int16_t version)>;

/// `fail_if_unreachable`: see Connection::send.
template <typename Resp, typename Req>
void call(const std::shared_ptr<Connection>& conn, Req req, Millis timeout, CallHandler<Resp> handler,
          bool fail_if_unreachable = false) {
  auto shared_req = std::make_shared<Req>(std::move(req));
  std::weak_ptr<Connection> weak = conn;
  conn->send(
      Req::kApi, [shared_req](const protocol::RequestHeader& h) { return protocol::encode_request(h, *shared_req); },
      timeout,
      [weak, handler = std::move(handler)](std::error_code ec, SharedBuffer frame, int16_t version) {
        if (ec) return handler(ec, Resp{}, version);
        auto decoded = protocol::decode_response<Resp>(frame, Resp::kApi, version);
        if (!decoded.ok()) {
          auto c = weak.lock();
          TM_WARN("net", "malformed response",
                  {{"broker", c ? c->endpoint().str() : std::string("?")}, {"error", decoded.error.describe()}});
          if (c) c->abort(errc::malformed, "decode response");
          return handler(errc::malformed, Resp{}, version);
        }
        handler({}, std::move(*decoded.value), version);
      },
      fail_if_unreachable);
}

}  // namespace tiermirror::net
