#include "tiermirror/net/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

#include "tiermirror/common/errors.h"

namespace tiermirror::net {

namespace {

const EVP_MD* md(ScramClient::Hash h) { return h == ScramClient::Hash::sha256 ? EVP_sha256() : EVP_sha512(); }

std::string base64(const uint8_t* p, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}
std::string base64(const Bytes& b) { return base64(b.data(), b.size()); }

std::optional<Bytes> unbase64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  Bytes out(s.size() / 4 * 3);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

Bytes hmac(ScramClient::Hash h, const Bytes& key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(md(h), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

Bytes digest(ScramClient::Hash h, const Bytes& data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md(h), nullptr);
  out.resize(len);
  return out;
}

// The comma-separated "k=v" attributes of a SCRAM message, in order.
std::vector<std::pair<char, std::string_view>> attributes(std::string_view msg) {
  std::vector<std::pair<char, std::string_view>> out;
  size_t start = 0;
  while (start <= msg.size()) {
    size_t end = msg.find(',', start);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view a = msg.substr(start, end - start);
    if (a.size() < 2 || a[1] != '=') return {};
    out.emplace_back(a[0], a.substr(2));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string_view mechanism_name(SaslMechanism m) {
  switch (m) {
    case SaslMechanism::plain: return "PLAIN";
    case SaslMechanism::scram_sha_256: return "SCRAM-SHA-256";
    case SaslMechanism::scram_sha_512: return "SCRAM-SHA-512";
  }
  return "PLAIN";
}

Bytes plain_initial_response(std::string_view username, std::string_view password) {
  Bytes out;
  out.reserve(username.size() + password.size() + 2);
  out.push_back(0);  // empty authzid
  out.insert(out.end(), username.begin(), username.end());
  out.push_back(0);
  out.insert(out.end(), password.begin(), password.end());
  return out;
}

std::string scram_escape_username(std::string_view username) {
  std::string out;
  for (char c : username) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}
void wipe(Bytes& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

ScramClient::ScramClient(Hash hash, std::string username, std::string password, std::string nonce)
    : hash_(hash), username_(std::move(username)), password_(std::move(password)), nonce_(std::move(nonce)) {
  if (nonce_.empty()) {
    uint8_t raw[24];
    RAND_bytes(raw, sizeof raw);
    nonce_ = base64(raw, sizeof raw);  // base64 has no ',': a valid SCRAM nonce
  }
}

ScramClient::~ScramClient() {
  wipe(password_);
  wipe(server_signature_);
}

std::string ScramClient::client_first() {
  client_first_bare_ = "n=" + scram_escape_username(username_) + ",r=" + nonce_;
  return "n,," + client_first_bare_;  // gs2 header: no channel binding, no authzid
}

Result<std::string> ScramClient::client_final(std::string_view server_first) {
  auto attrs = attributes(server_first);
  // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
  if (attrs.size() < 3 || attrs[0].first != 'r' || attrs[1].first != 's' || attrs[2].first != 'i') {
    detail_ = attrs.empty() || attrs[0].first != 'm' ? "malformed SCRAM server-first message"
                                                     : "the server requires a SCRAM extension we do not know";
    return make_error_code(errc::malformed);
  }
  std::string_view server_nonce = attrs[0].second;
  if (server_nonce.size() <= nonce_.size() || server_nonce.substr(0, nonce_.size()) != nonce_) {
    detail_ = "the SCRAM server nonce does not extend ours";
    return make_error_code(kafka_errc::sasl_authentication_failed);
  }
  auto salt = unbase64(attrs[1].second);
  if (!salt || salt->empty()) {
    detail_ = "malformed SCRAM salt";
    return make_error_code(errc::malformed);
  }
  int iterations = 0;
  auto is = attrs[2].second;
  auto [end, ec] = std::from_chars(is.data(), is.data() + is.size(), iterations);
  if (ec != std::errc() || end != is.data() + is.size()) {
    detail_ = "malformed SCRAM iteration count";
    return make_error_code(errc::malformed);
  }
  if (iterations < kMinIterations || iterations > kMaxIterations) {
    detail_ = "the server asks for " + std::to_string(iterations) + " SCRAM iterations (accepted: " +
              std::to_string(kMinIterations) + " to " + std::to_string(kMaxIterations) + ")";
    return make_error_code(kafka_errc::sasl_authentication_failed);
  }

  // RFC 5802 section 3: SaltedPassword = Hi(password, salt, i) = PBKDF2-HMAC.
  Bytes salted(static_cast<size_t>(EVP_MD_get_size(md(hash_))));
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), salt->data(), static_cast<int>(salt->size()),
                    iterations, md(hash_), static_cast<int>(salted.size()), salted.data());
  wipe(password_);  // only the derived keys are needed from here on

  const std::string without_proof = "c=biws,r=" + std::string(server_nonce);  // biws = base64("n,,")
  const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  Bytes client_key = hmac(hash_, salted, "Client Key");
  Bytes stored_key = digest(hash_, client_key);
  Bytes client_signature = hmac(hash_, stored_key, auth_message);
  Bytes proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_signature[i];
  Bytes server_key = hmac(hash_, salted, "Server Key");
  server_signature_ = hmac(hash_, server_key, auth_message);

  std::string out = without_proof + ",p=" + base64(proof);
  for (Bytes* secret : {&salted, &client_key, &stored_key, &client_signature, &proof, &server_key}) wipe(*secret);
  return out;
}

std::error_code ScramClient::verify_server_final(std::string_view server_final) {
  auto attrs = attributes(server_final);
  if (attrs.empty()) {
    detail_ = "malformed SCRAM server-final message";
    return make_error_code(errc::malformed);
  }
  if (attrs[0].first == 'e') {
    detail_ = "the server refused the SCRAM proof: " + std::string(attrs[0].second);
    return make_error_code(kafka_errc::sasl_authentication_failed);
  }
  auto sig = attrs[0].first == 'v' ? unbase64(attrs[0].second) : std::nullopt;
  if (!sig) {
    detail_ = "malformed SCRAM server-final message";
    return make_error_code(errc::malformed);
  }
  if (server_signature_.empty() || sig->size() != server_signature_.size() ||
      CRYPTO_memcmp(sig->data(), server_signature_.data(), sig->size()) != 0) {
    // The server does not know the credential: not the broker we meant to talk to.
    detail_ = "the server's SCRAM signature is wrong (the server does not hold this user's credential)";
    return make_error_code(kafka_errc::sasl_authentication_failed);
  }
  return {};
}

}  // namespace tiermirror::net
