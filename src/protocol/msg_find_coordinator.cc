#include "tiermirror/protocol/messages/find_coordinator.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void FindCoordinatorRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.string(key);
  if (version >= 1) w.i8(key_type);
  w.empty_tagged_fields();
}

FindCoordinatorRequest FindCoordinatorRequest::decode(Reader& r, int16_t version) {
  FindCoordinatorRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.key = r.string("key");
  if (version >= 1) m.key_type = r.i8("key_type");
  r.tagged_fields("tagged_fields");
  return m;
}

void FindCoordinatorResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  if (version >= 1) w.i32(throttle_time_ms);
  w.i16(error_code);
  if (version >= 1) w.nullable_string(error_message);
  w.i32(node_id);
  w.string(host);
  w.i32(port);
  w.empty_tagged_fields();
}

FindCoordinatorResponse FindCoordinatorResponse::decode(Reader& r, int16_t version) {
  FindCoordinatorResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  if (version >= 1) m.throttle_time_ms = r.i32("throttle_time_ms");
  m.error_code = r.i16("error_code");
  if (version >= 1) m.error_message = r.nullable_string("error_message");
  m.node_id = r.i32("node_id");
  // Impl note: Kafka writes "" for Host in an error response; librdkafka 2.0.2's mock
  // writes null. Both mean "no coordinator": read it as nullable so the error code counts.
  m.host = r.nullable_string("host").value_or("");
  m.port = r.i32("port");
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
