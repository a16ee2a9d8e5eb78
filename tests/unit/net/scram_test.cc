#include "tiermirror/net/scram.h"

#include <gtest/gtest.h>

#include "scram_server.h"
#include "tiermirror/common/errors.h"

namespace tiermirror::net {
namespace {

using test::ScramServer;

// RFC 7677 section 3, the SCRAM-SHA-256 example exchange, verbatim.
constexpr const char* kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

TEST(Scram, Rfc7677Sha256Example) {
  ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(c.client_first(), kRfcClientFirst);
  auto fin = c.client_final(kRfcServerFirst);
  ASSERT_TRUE(fin.ok()) << fin.error().message() << " " << c.error_detail();
  EXPECT_EQ(*fin, kRfcClientFinal);
  EXPECT_FALSE(c.verify_server_final(kRfcServerFinal));
}

TEST(Scram, WrongServerSignatureIsRefused) {
  ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  c.client_first();
  ASSERT_TRUE(c.client_final(kRfcServerFirst).ok());
  // A server that does not hold the credential cannot produce the signature.
  auto ec = c.verify_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(ec, kafka_errc::sasl_authentication_failed);
  EXPECT_NE(c.error_detail().find("signature"), std::string::npos);
}

TEST(Scram, ServerErrorIsReported) {
  ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  c.client_first();
  ASSERT_TRUE(c.client_final(kRfcServerFirst).ok());
  EXPECT_EQ(c.verify_server_final("e=invalid-proof"), kafka_errc::sasl_authentication_failed);
  EXPECT_NE(c.error_detail().find("invalid-proof"), std::string::npos);
}

TEST(Scram, RefusesForeignNonceFewIterationsAndGarbage) {
  {
    ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "abc");
    c.client_first();
    auto r = c.client_final("r=xyzdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), kafka_errc::sasl_authentication_failed);
  }
  {
    ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "abc");
    c.client_first();
    auto r = c.client_final("r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(c.error_detail().find("1000"), std::string::npos);
  }
  for (const char* bad : {"", "garbage", "r=abcdef", "r=abcdef,s=!!!!,i=4096", "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=x",
                          "m=ext,r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}) {
    ScramClient c(ScramClient::Hash::sha256, "user", "pencil", "abc");
    c.client_first();
    EXPECT_FALSE(c.client_final(bad).ok()) << bad;
  }
}

TEST(Scram, Sha512RoundTripAgainstServerComputation) {
  ScramServer server(EVP_sha512(), "s3cr=t,pass", Bytes{1, 2, 3, 4, 5, 6, 7, 8}, 4096, "SERVERPART");
  ScramClient c(ScramClient::Hash::sha512, "mirror,user=x", "s3cr=t,pass");  // random nonce
  std::string first = c.client_first();
  EXPECT_EQ(first.rfind("n,,n=mirror=2Cuser=3Dx,r=", 0), 0u) << first;
  auto fin = c.client_final(server.first(first));
  ASSERT_TRUE(fin.ok()) << c.error_detail();
  std::string server_final = server.final_(*fin);
  EXPECT_TRUE(server.authenticated()) << server_final;
  EXPECT_FALSE(c.verify_server_final(server_final));
}

TEST(Scram, Sha512WrongPasswordFailsAtTheServer) {
  ScramServer server(EVP_sha512(), "right", Bytes{9, 9, 9, 9}, 4096, "S");
  ScramClient c(ScramClient::Hash::sha512, "u", "wrong");
  auto fin = c.client_final(server.first(c.client_first()));
  ASSERT_TRUE(fin.ok());
  std::string server_final = server.final_(*fin);
  EXPECT_FALSE(server.authenticated());
  EXPECT_EQ(c.verify_server_final(server_final), kafka_errc::sasl_authentication_failed);
}

TEST(Scram, RandomNoncesDiffer) {
  ScramClient a(ScramClient::Hash::sha256, "u", "p"), b(ScramClient::Hash::sha256, "u", "p");
  std::string first = a.client_first();
  EXPECT_NE(first, b.client_first());
  std::string nonce = first.substr(first.find(",r=") + 3);
  EXPECT_GE(nonce.size(), 24u);
  EXPECT_EQ(nonce.find(','), std::string::npos);  // SCRAM nonces are printable and have no comma
}

TEST(Scram, EscapesSaslname) {
  EXPECT_EQ(scram_escape_username("a,b=c"), "a=2Cb=3Dc");
  EXPECT_EQ(scram_escape_username("plain"), "plain");
}

TEST(SaslPlain, FramingIsAuthzidNulUserNulPassword) {
  Bytes msg = plain_initial_response("mirror", "pa ss");
  Bytes expected{0, 'm', 'i', 'r', 'r', 'o', 'r', 0, 'p', 'a', ' ', 's', 's'};
  EXPECT_EQ(msg, expected);
}

TEST(SaslPlain, MechanismNames) {
  EXPECT_EQ(mechanism_name(SaslMechanism::plain), "PLAIN");
  EXPECT_EQ(mechanism_name(SaslMechanism::scram_sha_256), "SCRAM-SHA-256");
  EXPECT_EQ(mechanism_name(SaslMechanism::scram_sha_512), "SCRAM-SHA-512");
}

}  // namespace
}  // namespace tiermirror::net
