#include "tiermirror/protocol/messages/sasl_handshake.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void SaslHandshakeRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.string(mechanism);
}

SaslHandshakeRequest SaslHandshakeRequest::decode(Reader& r, int16_t version) {
  SaslHandshakeRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.mechanism = r.string("mechanism");
  return m;
}

void SaslHandshakeResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i16(error_code);
  detail::write_array(w, mechanisms, [](Writer& ww, const std::string& s) { ww.string(s); });
}

SaslHandshakeResponse SaslHandshakeResponse::decode(Reader& r, int16_t version) {
  SaslHandshakeResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.error_code = r.i16("error_code");
  m.mechanisms = detail::read_array<std::string>(r, "mechanisms", detail::min_string(r),
                                                 [](Reader& rr) { return rr.string("mechanisms"); });
  return m;
}

}  // namespace tiermirror::protocol
