#pragma once
// The server side of SCRAM (RFC 5802), written independently of net::ScramClient, for the
// tests: it derives the stored credential from the password, checks the client's proof
// and signs the exchange.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <string>
#include <string_view>

#include "tiermirror/common/buffer.h"

namespace tiermirror::test {

class ScramServer {
 public:
  ScramServer(const EVP_MD* md, std::string password, Bytes salt, int iterations, std::string nonce_suffix)
      : md_(md), password_(std::move(password)), salt_(std::move(salt)), iterations_(iterations),
        suffix_(std::move(nonce_suffix)) {}

  static std::string b64(const Bytes& b) {
    std::string out(4 * ((b.size() + 2) / 3), '\0');
    out.resize(static_cast<size_t>(
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), b.data(), static_cast<int>(b.size()))));
    return out;
  }
  static Bytes unb64(std::string_view s) {
    Bytes out(s.size() / 4 * 3 + 3);
    int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    if (n < 0) return {};
    size_t pad = (!s.empty() && s.back() == '=') + (s.size() > 1 && s[s.size() - 2] == '=');
    out.resize(static_cast<size_t>(n) - pad);
    return out;
  }

  /// client-first "n,,n=user,r=nonce" -> server-first.
  std::string first(std::string_view client_first) {
    client_first_bare_ = std::string(client_first.substr(3));
    auto r = client_first_bare_.find(",r=");
    username_ = client_first_bare_.substr(2, r - 2);
    nonce_ = client_first_bare_.substr(r + 3) + suffix_;
    server_first_ = "r=" + nonce_ + ",s=" + b64(salt_) + ",i=" + std::to_string(iterations_);
    return server_first_;
  }

  /// client-final "c=biws,r=nonce,p=proof" -> "v=signature", or "e=invalid-proof".
  std::string final_(std::string_view client_final) {
    auto p = client_final.rfind(",p=");
    std::string without_proof(client_final.substr(0, p));
    Bytes proof = unb64(client_final.substr(p + 3));
    if (without_proof != "c=biws,r=" + nonce_) return "e=other-error";
    std::string auth = client_first_bare_ + "," + server_first_ + "," + without_proof;
    Bytes salted(static_cast<size_t>(EVP_MD_get_size(md_)));
    PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), salt_.data(), static_cast<int>(salt_.size()),
                      iterations_, md_, static_cast<int>(salted.size()), salted.data());
    Bytes client_key = hmac(salted, "Client Key");
    Bytes stored_key = hash(client_key);
    Bytes client_sig = hmac(stored_key, auth);
    if (proof.size() != client_sig.size()) return "e=invalid-proof";
    Bytes recovered(proof.size());
    for (size_t i = 0; i < proof.size(); ++i) recovered[i] = proof[i] ^ client_sig[i];
    if (hash(recovered) != stored_key) return "e=invalid-proof";
    authenticated_ = true;
    return "v=" + b64(hmac(hmac(salted, "Server Key"), auth));
  }

  bool authenticated() const { return authenticated_; }
  const std::string& username() const { return username_; }

 private:
  Bytes hmac(const Bytes& key, std::string_view data) const {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    HMAC(md_, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out.data(), &n);
    out.resize(n);
    return out;
  }
  Bytes hash(const Bytes& data) const {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &n, md_, nullptr);
    out.resize(n);
    return out;
  }

  const EVP_MD* md_;
  std::string password_;
  Bytes salt_;
  int iterations_;
  std::string suffix_;
  std::string client_first_bare_, server_first_, nonce_, username_;
  bool authenticated_ = false;
};

}  // namespace tiermirror::test
