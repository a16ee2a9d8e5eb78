#include "tiermirror/protocol/messages/sasl_authenticate.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void SaslAuthenticateRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.bytes(auth_bytes);
  w.empty_tagged_fields();
}

SaslAuthenticateRequest SaslAuthenticateRequest::decode(Reader& r, int16_t version) {
  SaslAuthenticateRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  auto b = r.bytes("auth_bytes");
  m.auth_bytes.assign(b.span().begin(), b.span().end());
  r.tagged_fields("tagged_fields");
  return m;
}

void SaslAuthenticateResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i16(error_code);
  w.nullable_string(error_message);
  w.bytes(auth_bytes);
  if (version >= 1) w.i64(session_lifetime_ms);
  w.empty_tagged_fields();
}

SaslAuthenticateResponse SaslAuthenticateResponse::decode(Reader& r, int16_t version) {
  SaslAuthenticateResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.error_code = r.i16("error_code");
  m.error_message = r.nullable_string("error_message");
  auto b = r.bytes("auth_bytes");
  m.auth_bytes.assign(b.span().begin(), b.span().end());
  if (version >= 1) m.session_lifetime_ms = r.i64("session_lifetime_ms");
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
