#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<SaslHandshakeRequest> handshake_requests(int16_t) {
  return {SaslHandshakeRequest{"SCRAM-SHA-512"}, SaslHandshakeRequest{}};
}
std::vector<SaslHandshakeResponse> handshake_responses(int16_t) {
  return {SaslHandshakeResponse{33, {"PLAIN", "SCRAM-SHA-256"}}, SaslHandshakeResponse{}};
}
std::vector<SaslAuthenticateRequest> authenticate_requests(int16_t) {
  return {SaslAuthenticateRequest{bytes_of("n,,n=user,r=abc")}, SaslAuthenticateRequest{}};
}
std::vector<SaslAuthenticateResponse> authenticate_responses(int16_t v) {
  SaslAuthenticateResponse m;
  m.error_code = 58;
  m.error_message = "Authentication failed: Invalid username or password";
  m.auth_bytes = bytes_of("v=abc");
  if (v >= 1) m.session_lifetime_ms = 3600000;
  return {m, SaslAuthenticateResponse{}};
}

TEST(CodecSasl, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<SaslHandshakeRequest>(handshake_requests);
  check_all_versions<SaslHandshakeResponse>(handshake_responses);
  check_all_versions<SaslAuthenticateRequest>(authenticate_requests);
  check_all_versions<SaslAuthenticateResponse>(authenticate_responses);
}

TEST(CodecSasl, WholeFramesEveryVersion) {
  check_frames_all_versions<SaslHandshakeRequest, SaslHandshakeResponse>(handshake_requests, handshake_responses);
  check_frames_all_versions<SaslAuthenticateRequest, SaslAuthenticateResponse>(authenticate_requests,
                                                                              authenticate_responses);
}

TEST(CodecSasl, UnsupportedVersionRefused) {
  // SaslHandshake v0 (raw tokens after it) is not spoken; SaslAuthenticate stops at v2.
  check_unsupported_versions<SaslHandshakeRequest>();
  check_unsupported_versions<SaslHandshakeResponse>();
  check_unsupported_versions<SaslAuthenticateRequest>();
  check_unsupported_versions<SaslAuthenticateResponse>();
  EXPECT_EQ(supported_versions(ApiKey::sasl_handshake).min, 1);
  EXPECT_EQ(supported_versions(ApiKey::sasl_authenticate).max, 2);
}

TEST(CodecSasl, Golden) {
  // SaslHandshakeRequest.json / Response.json: Mechanism string; ErrorCode, Mechanisms []string.
  check_golden(SaslHandshakeRequest{"PLAIN"}, 1, ByteBuilder().str("PLAIN").build());
  check_golden(SaslHandshakeResponse{0, {"PLAIN", "SCRAM-SHA-256"}}, 1,
               ByteBuilder().i16(0).i32(2).str("PLAIN").str("SCRAM-SHA-256").build());

  // SaslAuthenticateRequest.json: AuthBytes bytes; flexible from v2.
  SaslAuthenticateRequest req{Bytes{0, 'u', 0, 'p'}};
  check_golden(req, 0, ByteBuilder().i32(4).raw({0, 'u', 0, 'p'}).build());
  check_golden(req, 1, ByteBuilder().i32(4).raw({0, 'u', 0, 'p'}).build());
  check_golden(req, 2, ByteBuilder().uvarint(5).raw({0, 'u', 0, 'p'}).uvarint(0).build());

  // SaslAuthenticateResponse.json: ErrorCode, ErrorMessage nullable, AuthBytes, SessionLifetimeMs v1+.
  SaslAuthenticateResponse resp;
  resp.auth_bytes = Bytes{'v', '='};
  resp.session_lifetime_ms = 0;
  check_golden(resp, 0, ByteBuilder().i16(0).null_str().i32(2).raw({'v', '='}).build());
  resp.session_lifetime_ms = 60000;
  check_golden(resp, 1, ByteBuilder().i16(0).null_str().i32(2).raw({'v', '='}).i64(60000).build());
  check_golden(resp, 2, ByteBuilder().i16(0).uvarint(0).uvarint(3).raw({'v', '='}).i64(60000).uvarint(0).build());
}

}  // namespace
}  // namespace tiermirror::protocol
