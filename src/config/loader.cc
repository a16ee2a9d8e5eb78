// YAML → Config. The walk never stops at the first problem: every reader records diagnostics
// in the Ctx and carries on, so one run shows the operator everything that is wrong.
//
// Secrets: values are echoed in messages only for keys that cannot hold a secret. The password
// file is read once to check it is not empty and the value is wiped at once; a value given for
// password_env is echoed only if it looks like a variable name (a password pasted there is not).
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "tiermirror/common/errors.h"
#include "tiermirror/config/config.h"

namespace tiermirror::config {
namespace {

namespace fs = std::filesystem;
using YAML::Node;

// ---------------------------------------------------------------------------------------------
// Locations, fields and the diagnostic sink

struct Loc {
  int line = 0;
  int column = 0;
};

Loc loc_of(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

/// One value of the document: its key path, the node, and where its key (or list dash) is.
struct Field {
  std::string path;
  Node value;
  Loc key_loc;

  /// Where to point at the value: the value itself, or its key when the value is empty (an
  /// implicit null's mark is the position of the next token, often on a later line).
  Loc loc() const {
    if (value.IsDefined() && !value.IsNull()) {
      Loc l = loc_of(value.Mark());
      if (l.line != 0) return l;
    }
    return key_loc;
  }
};

struct Ctx {
  std::vector<Diagnostic> errors;
  fs::path base_dir;

  void error(const std::string& path, Loc l, std::string message) {
    errors.push_back(Diagnostic{path, l.line, l.column, std::move(message)});
  }
  void error(const Field& f, std::string message) { error(f.path, f.loc(), std::move(message)); }
  /// At the key rather than the value (for "this whole section is inconsistent").
  void error_at_key(const Field& f, std::string message) { error(f.path, f.key_loc, std::move(message)); }
};

std::string shorten(std::string_view s, size_t max = 60) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...";
}

std::string quote(std::string_view s) { return "'" + shorten(s) + "'"; }

/// "a list", "a map", "nothing", "'abc'" — what was found where something else was expected.
std::string kind_of(const Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// ---------------------------------------------------------------------------------------------
// "Did you mean": optimal string alignment distance (Levenshtein plus adjacent transposition)

size_t osa_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

/// Lower case, '-' and '.' as '_': "Bootstrap-Servers" ~ "bootstrap_servers".
std::string normalized(std::string_view s) {
  std::string r;
  for (char c : s) {
    if (c == '-' || c == '.') c = '_';
    r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return r;
}
/// Lower case without separators: "bootstrapServers" ~ "bootstrap_servers".
std::string squashed(std::string_view s) {
  std::string r;
  for (char c : s) {
    if (c == '-' || c == '.' || c == '_') continue;
    r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return r;
}

std::optional<std::string> suggest(std::string_view word, const std::vector<std::string_view>& options) {
  size_t best = SIZE_MAX;
  std::string_view best_option;
  for (auto o : options) {
    std::string w = normalized(word), n = normalized(o);
    size_t d = std::min(osa_distance(w, n), osa_distance(squashed(word), squashed(o)));
    // One a prefix of the other ("warning" / "warn", "bootstrap" / "bootstrap_servers").
    if (std::min(w.size(), n.size()) >= 3 && (w.starts_with(n) || n.starts_with(w))) d = std::min<size_t>(d, 1);
    if (d < best) {
      best = d;
      best_option = o;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best <= limit && best_option != word) return std::string(best_option);
  return std::nullopt;
}

std::string list_of(const std::vector<std::string_view>& options) {
  std::string r;
  for (auto o : options) {
    if (!r.empty()) r += ", ";
    r += o;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Maps: unknown keys, duplicates, required keys

class MapView {
 public:
  MapView(Ctx& ctx, Field self, std::vector<std::string_view> allowed)
      : ctx_(ctx), self_(std::move(self)), allowed_(std::move(allowed)) {
    const Node& n = self_.value;
    if (!n.IsDefined() || n.IsNull()) {
      valid_ = true;  // an empty section: every key takes its default
      return;
    }
    if (!n.IsMap()) {
      ctx_.error(self_, "expected a map of keys (" + list_of(allowed_) + "), got " + kind_of(n));
      valid_ = false;
      return;
    }
    valid_ = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      // Copies: the iterator's pair is a temporary proxy.
      const Node k = it->first;
      const Node v = it->second;
      Loc kl = loc_of(k.Mark());
      if (!k.IsScalar()) {
        ctx_.error(self_.path, kl, "keys must be plain names, got " + kind_of(k));
        continue;
      }
      const std::string& key = k.Scalar();
      std::string path = join(self_.path, key);
      if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) {
        ctx_.error(path, kl, unknown_key_message(key));
        continue;
      }
      auto prev = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == key; });
      if (prev != entries_.end()) {
        ctx_.error(path, kl,
                   "duplicate key '" + key + "' (first given at line " + std::to_string(prev->second.key_loc.line) + ")");
        continue;
      }
      entries_.emplace_back(key, Field{path, v, kl});
    }
  }

  /// False when the node was not a map (already reported): skip the section.
  bool valid() const { return valid_; }
  const Field& self() const { return self_; }

  std::optional<Field> get(std::string_view key) const {
    for (const auto& [k, f] : entries_) {
      if (k == key) return f;
    }
    return std::nullopt;
  }

  /// The key's field, or a "missing required key" diagnostic at the line of this map's key.
  std::optional<Field> require(std::string_view key) const {
    auto f = get(key);
    if (!f && valid_) ctx_.error(self_.path, self_.key_loc, "missing required key '" + std::string(key) + "'");
    return f;
  }

 private:
  std::string unknown_key_message(const std::string& key) const {
    std::string msg = "unknown key '" + shorten(key) + "'";
    if (key == "password" || key == "pass" || key == "secret") {
      return msg + ": passwords are never written in the config; use password_file or password_env";
    }
    if (auto s = suggest(key, allowed_)) return msg + " (did you mean '" + *s + "'?)";
    static const std::vector<std::pair<std::string_view, std::string_view>> hints{
        {"whitelist", "topics.include"}, {"blacklist", "topics.exclude"}, {"topic_whitelist", "topics.include"},
        {"group_id", "consumer_group"},  {"group", "consumer_group"},     {"auto_offset_reset", "start_position"},
    };
    for (const auto& [from, to] : hints) {
      if (normalized(key) == from) return msg + " (did you mean '" + std::string(to) + "'?)";
    }
    return msg + "; valid keys here: " + list_of(allowed_);
  }

  Ctx& ctx_;
  Field self_;
  std::vector<std::string_view> allowed_;
  std::vector<std::pair<std::string, Field>> entries_;
  bool valid_ = false;
};

// ---------------------------------------------------------------------------------------------
// Scalars

std::optional<std::string> get_string(Ctx& ctx, const Field& f, bool allow_empty = false) {
  if (!f.value.IsScalar()) {
    ctx.error(f, "expected a string, got " + kind_of(f.value));
    return std::nullopt;
  }
  if (!allow_empty && f.value.Scalar().empty()) {
    ctx.error(f, "must not be empty");
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<bool> get_bool(Ctx& ctx, const Field& f) {
  bool b = false;
  if (f.value.IsScalar() && YAML::convert<bool>::decode(f.value, b)) return b;
  ctx.error(f, "expected a boolean (true or false), got " + kind_of(f.value));
  return std::nullopt;
}

std::optional<int64_t> get_int(Ctx& ctx, const Field& f) {
  if (f.value.IsScalar()) {
    const std::string& s = f.value.Scalar();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
    if (ec == std::errc::result_out_of_range) {
      ctx.error(f, "integer " + quote(s) + " is out of range");
      return std::nullopt;
    }
  }
  ctx.error(f, "expected an integer, got " + kind_of(f.value));
  return std::nullopt;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<uint64_t> get_size(Ctx& ctx, const Field& f) {
  if (!f.value.IsScalar()) {
    ctx.error(f, "expected a size (e.g. 64MiB), got " + kind_of(f.value));
    return std::nullopt;
  }
  const std::string& s = f.value.Scalar();
  if (auto v = parse_size(s)) return v;
  if (!s.empty() && s[0] == '-') {
    ctx.error(f, "invalid size " + quote(s) + ": sizes cannot be negative");
  } else if (is_digits(s)) {
    ctx.error(f, "invalid size " + quote(s) + ": too large");
  } else {
    ctx.error(f, "invalid size " + quote(s) +
                     ": use bytes or a number with a unit: B, KiB, MiB, GiB, TiB (x1024) or KB, MB, GB, TB "
                     "(x1000), e.g. 64MiB");
  }
  return std::nullopt;
}

std::optional<milliseconds> get_duration(Ctx& ctx, const Field& f) {
  if (!f.value.IsScalar()) {
    ctx.error(f, "expected a duration (e.g. 30s), got " + kind_of(f.value));
    return std::nullopt;
  }
  const std::string& s = f.value.Scalar();
  if (auto v = parse_duration(s)) return v;
  if (!s.empty() && s[0] == '-') {
    ctx.error(f, "invalid duration " + quote(s) + ": durations cannot be negative");
  } else if (is_digits(s)) {
    ctx.error(f, "invalid duration " + quote(s) + ": needs a unit, e.g. " + s + "s or " + s + "ms");
  } else {
    ctx.error(f, "invalid duration " + quote(s) + ": use a number with a unit ms, s, m, h or d, largest first, e.g. "
                                                  "500ms, 30s, 10m, 1h30m, 1d");
  }
  return std::nullopt;
}

template <typename E>
std::optional<E> get_enum(Ctx& ctx, const Field& f, std::initializer_list<std::pair<std::string_view, E>> values) {
  std::vector<std::string_view> names;
  for (const auto& [n, v] : values) names.push_back(n);
  if (f.value.IsScalar()) {
    const std::string& s = f.value.Scalar();
    for (const auto& [n, v] : values) {
      if (s == n) return v;
    }
    std::string msg = "unknown value " + quote(s) + "; expected one of: " + list_of(names);
    if (auto sug = suggest(s, names)) msg += " (did you mean '" + *sug + "'?)";
    ctx.error(f, msg);
    return std::nullopt;
  }
  ctx.error(f, "expected one of: " + list_of(names) + "; got " + kind_of(f.value));
  return std::nullopt;
}

std::optional<std::vector<Field>> get_list(Ctx& ctx, const Field& f, std::string_view example) {
  if (!f.value.IsSequence()) {
    std::string msg = "expected a list, got " + kind_of(f.value);
    if (f.value.IsScalar()) msg += " (write [" + f.value.Scalar() + "] or one '- item' per line)";
    else if (!example.empty()) msg += " (e.g. " + std::string(example) + ")";
    ctx.error(f, msg);
    return std::nullopt;
  }
  std::vector<Field> items;
  size_t i = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
    Node item = *it;
    // An empty item's mark is the next token's; point at the list instead.
    Loc l = item.IsNull() ? f.loc() : loc_of(item.Mark());
    items.push_back(Field{f.path + "[" + std::to_string(i) + "]", item, l});
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Files

fs::path resolve(const Ctx& ctx, const std::string& raw) {
  fs::path p(raw);
  if (p.is_relative()) p = ctx.base_dir / p;
  return p.lexically_normal();
}

/// A readable regular file: its absolute path, or nullopt with a diagnostic.
std::optional<std::string> get_readable_file(Ctx& ctx, const Field& f) {
  auto raw = get_string(ctx, f);
  if (!raw) return std::nullopt;
  fs::path p = resolve(ctx, *raw);
  std::string shown = quote(*raw);
  if (fs::path(*raw).is_relative()) shown += " (resolved to '" + p.string() + "')";
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    ctx.error(f, "file " + shown + " cannot be accessed: " + ec.message());
    return std::nullopt;
  }
  if (!fs::exists(st)) {
    ctx.error(f, "file " + shown + " does not exist");
    return std::nullopt;
  }
  if (fs::is_directory(st)) {
    ctx.error(f, shown + " is a directory, not a file");
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    int e = errno != 0 ? errno : EACCES;
    ctx.error(f, "file " + shown + " cannot be read: " + std::strerror(e));
    return std::nullopt;
  }
  return p.string();
}

bool valid_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// ---------------------------------------------------------------------------------------------
// Sections

void load_tls(Ctx& ctx, const Field& f, TlsConfig& out) {
  MapView m(ctx, f, {"ca_file", "cert_file", "key_file", "verify_hostname"});
  if (!m.valid()) return;
  if (auto v = m.get("ca_file")) {
    if (auto p = get_readable_file(ctx, *v)) out.ca_file = *p;
  }
  auto cert = m.get("cert_file");
  auto key = m.get("key_file");
  if (cert) {
    if (auto p = get_readable_file(ctx, *cert)) out.cert_file = *p;
  }
  if (key) {
    if (auto p = get_readable_file(ctx, *key)) out.key_file = *p;
  }
  if (cert && !key) ctx.error_at_key(*cert, "cert_file needs key_file (the client certificate's private key)");
  if (key && !cert) ctx.error_at_key(*key, "key_file needs cert_file (the client certificate)");
  if (auto v = m.get("verify_hostname")) {
    if (auto b = get_bool(ctx, *v)) out.verify_hostname = *b;
  }
}

void load_sasl(Ctx& ctx, const Field& f, SaslConfig& out) {
  MapView m(ctx, f, {"mechanism", "username", "password_file", "password_env"});
  if (!m.valid()) return;
  if (auto v = m.require("mechanism")) {
    if (auto e = get_enum<SaslMechanism>(ctx, *v,
                                         {{"PLAIN", SaslMechanism::plain},
                                          {"SCRAM-SHA-256", SaslMechanism::scram_sha_256},
                                          {"SCRAM-SHA-512", SaslMechanism::scram_sha_512}})) {
      out.mechanism = *e;
    }
  }
  if (auto v = m.require("username")) {
    if (auto s = get_string(ctx, *v)) out.username = *s;
  }
  auto file = m.get("password_file");
  auto env = m.get("password_env");
  if (file && env) {
    ctx.error_at_key(*env, "give exactly one of password_file or password_env, not both");
  } else if (!file && !env && m.self().value.IsDefined()) {
    ctx.error(m.self().path, m.self().key_loc, "missing password: give password_file or password_env");
  }
  if (file) {
    if (auto p = get_readable_file(ctx, *file)) {
      SaslConfig probe;
      probe.password_file = *p;
      auto pw = read_password(probe);
      if (pw.ok()) {
        std::fill(pw->begin(), pw->end(), '\0');
        out.password_file = *p;
      } else if (pw.error() == errc::invalid_argument) {
        ctx.error(*file, "password file '" + *p + "' is empty");
      } else {
        ctx.error(*file, "password file '" + *p + "' cannot be read: " + pw.error().message());
      }
    }
  }
  if (env) {
    if (auto name = get_string(ctx, *env)) {
      if (!valid_env_name(*name)) {
        // Not echoed: someone may have pasted the password itself here.
        ctx.error(*env,
                  "is not an environment variable name (letters, digits and '_', not starting with a digit); "
                  "give the NAME of the variable that holds the password");
      } else if (const char* v = std::getenv(name->c_str()); v == nullptr) {
        ctx.error(*env, "environment variable '" + *name + "' is not set");
      } else if (*v == '\0') {
        ctx.error(*env, "environment variable '" + *name + "' is empty");
      } else {
        out.password_env = *name;
      }
    }
  }
}

void load_security(Ctx& ctx, const Field& f, SecurityConfig& out) {
  MapView m(ctx, f, {"protocol", "tls", "sasl"});
  if (!m.valid()) return;
  bool protocol_ok = true;
  std::string protocol_note = " (protocol is plaintext, the default)";
  auto protocol = m.get("protocol");
  if (protocol) {
    auto e = get_enum<SecurityProtocol>(ctx, *protocol,
                                        {{"plaintext", SecurityProtocol::plaintext},
                                         {"ssl", SecurityProtocol::ssl},
                                         {"sasl_plaintext", SecurityProtocol::sasl_plaintext},
                                         {"sasl_ssl", SecurityProtocol::sasl_ssl}});
    if (e) {
      out.protocol = *e;
      protocol_note = " (protocol is " + std::string(to_string(*e)) + ")";
    } else {
      protocol_ok = false;
    }
  }
  if (auto tls = m.get("tls")) {
    TlsConfig t;
    load_tls(ctx, *tls, t);
    if (protocol_ok && !out.uses_tls()) {
      ctx.error_at_key(*tls, "tls settings require protocol ssl or sasl_ssl" + protocol_note);
    }
    out.tls = t;
  }
  if (auto sasl = m.get("sasl")) {
    SaslConfig s;
    load_sasl(ctx, *sasl, s);
    if (protocol_ok && !out.uses_sasl()) {
      ctx.error_at_key(*sasl, "sasl settings require protocol sasl_plaintext or sasl_ssl" + protocol_note);
    }
    out.sasl = s;
  } else if (protocol_ok && out.uses_sasl()) {
    ctx.error(*protocol, "protocol " + std::string(to_string(out.protocol)) +
                             " needs a 'sasl' section (mechanism, username, password_file or password_env)");
  }
}

/// Where a cluster's name and bootstrap servers were written, for checks across sections.
struct ClusterFields {
  std::optional<Field> name;
  std::vector<Field> servers;  // parallel to ClusterConfig::bootstrap_servers
};

ClusterFields load_cluster(Ctx& ctx, const Field& f, ClusterConfig& out) {
  ClusterFields where;
  MapView m(ctx, f, {"name", "bootstrap_servers", "security"});
  if (!m.valid()) return where;
  if (auto v = m.require("name")) {
    where.name = v;
    if (auto s = get_string(ctx, *v)) out.name = *s;
  }
  if (auto v = m.require("bootstrap_servers")) {
    if (auto items = get_list(ctx, *v, "[kafka-1:9092, kafka-2:9092]")) {
      if (items->empty()) ctx.error(*v, "must list at least one host:port");
      for (const auto& item : *items) {
        auto s = get_string(ctx, item);
        if (!s) continue;
        std::string why;
        if (auto hp = parse_host_port(*s, &why)) {
          out.bootstrap_servers.push_back(*hp);
          where.servers.push_back(item);
        } else {
          ctx.error(item, quote(*s) + " is not host:port: " + why);
        }
      }
    }
  }
  if (auto v = m.get("security")) load_security(ctx, *v, out.security);
  return where;
}

bool has_regex_syntax(std::string_view s) { return s.find_first_of("*+?[](){}|^$\\") != std::string_view::npos; }

/// Why a topic regex was refused, in the operator's terms.
std::string regex_problem(const std::regex_error& e) {
  switch (e.code()) {
    case std::regex_constants::error_complexity:
      return "back-references (\\1) are not supported in topic regexes";
    case std::regex_constants::error_badbrace:
      return "a {n,m} repetition is malformed or counts above 999999 (topic names are at most 249 characters)";
    case std::regex_constants::error_space:
      return "the pattern is too large (it expands to more than 100000 NFA states; repetition counts multiply, "
             "e.g. (a{1000}){1000}); topic names are at most 249 characters";
    default:
      return e.what();
  }
}

struct TopicItem {
  TopicPattern pattern;
  Field field;
};

void load_topic_items(Ctx& ctx, const Field& list, std::vector<TopicItem>& out) {
  auto items = get_list(ctx, list, "[orders, {regex: 'metrics\\..*'}]");
  if (!items) return;
  for (const auto& item : *items) {
    const Node& n = item.value;
    if (n.IsScalar()) {
      const std::string& name = n.Scalar();
      std::string problem = topic_name_problem(name);
      if (!problem.empty()) {
        std::string msg = "topic name " + quote(name) + " can never match: it " + problem;
        if (has_regex_syntax(name)) msg += "; for a pattern write {regex: '" + name + "'}";
        ctx.error(item, msg);
        continue;
      }
      TopicPattern p = TopicPattern::exact(name);
      Loc l = item.loc();
      p.line = l.line;
      p.column = l.column;
      out.push_back(TopicItem{std::move(p), item});
    } else if (n.IsMap()) {
      MapView m(ctx, item, {"regex"});
      auto rf = m.require("regex");
      if (!rf) continue;
      auto src = get_string(ctx, *rf, /*allow_empty=*/true);
      if (!src) continue;
      if (src->empty()) {
        ctx.error(*rf, "an empty regular expression can never match a topic name");
        continue;
      }
      try {
        TopicPattern p = TopicPattern::regex(*src);
        Loc l = rf->loc();
        p.line = l.line;
        p.column = l.column;
        out.push_back(TopicItem{std::move(p), *rf});
      } catch (const std::regex_error& e) {
        ctx.error(*rf, "invalid regular expression " + quote(*src) + ": " + regex_problem(e));
      }
    } else {
      ctx.error(item, "expected a topic name or {regex: '...'}, got " + kind_of(n));
    }
  }
}

/// Returns where each of out.include was written.
std::vector<Field> load_topics(Ctx& ctx, const Field& f, TopicSelection& out) {
  std::vector<Field> where;
  MapView m(ctx, f, {"include", "exclude"});
  if (!m.valid()) return where;
  std::vector<TopicItem> include, exclude;
  if (auto v = m.require("include")) {
    if (v->value.IsSequence() && v->value.size() == 0) {
      ctx.error(*v, "must list at least one topic name or {regex: ...}");
    }
    load_topic_items(ctx, *v, include);
  }
  if (auto v = m.get("exclude")) load_topic_items(ctx, *v, exclude);

  for (const auto& in : include) {
    for (const auto& ex : exclude) {
      bool dead = in.pattern.is_regex() ? ex.pattern.is_regex() && ex.pattern.text() == in.pattern.text()
                                        : ex.pattern.matches(in.pattern.text());
      if (dead) {
        ctx.error(in.field, (in.pattern.is_regex() ? "regex " : "topic ") + quote(in.pattern.text()) +
                                " can never match: excluded by exclude item at line " +
                                std::to_string(ex.pattern.line) + " (" + ex.pattern.describe() + ")");
        break;
      }
    }
  }
  for (auto& i : include) {
    out.include.push_back(std::move(i.pattern));
    where.push_back(std::move(i.field));
  }
  for (auto& e : exclude) out.exclude.push_back(std::move(e.pattern));
  return where;
}

void load_route(Ctx& ctx, const Field& f, RouteConfig& out) {
  MapView m(ctx, f, {"name"});
  if (!m.valid()) return;
  if (auto v = m.require("name")) {
    if (auto s = get_string(ctx, *v)) {
      bool ok = std::all_of(s->begin(), s->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
      if (ok) {
        out.name = *s;
      } else {
        ctx.error(*v, "route name " + quote(*s) + " may only contain letters, digits, '.', '_' and '-'");
      }
    }
  }
}

// Kafka's topic-level configs (AK 3.x), to catch typos in copy_configs. Names not listed and
// not close to one are allowed: vendors add their own (confluent.*, ...).
const std::vector<std::string_view>& known_topic_configs() {
  static const std::vector<std::string_view> names{
      "cleanup.policy",
      "compression.type",
      "delete.retention.ms",
      "file.delete.delay.ms",
      "flush.messages",
      "flush.ms",
      "follower.replication.throttled.replicas",
      "index.interval.bytes",
      "leader.replication.throttled.replicas",
      "local.retention.bytes",
      "local.retention.ms",
      "max.compaction.lag.ms",
      "max.message.bytes",
      "message.downconversion.enable",
      "message.format.version",
      "message.timestamp.after.max.ms",
      "message.timestamp.before.max.ms",
      "message.timestamp.difference.max.ms",
      "message.timestamp.type",
      "min.cleanable.dirty.ratio",
      "min.compaction.lag.ms",
      "min.insync.replicas",
      "preallocate",
      "remote.storage.enable",
      "retention.bytes",
      "retention.ms",
      "segment.bytes",
      "segment.index.bytes",
      "segment.jitter.ms",
      "segment.ms",
      "unclean.leader.election.enable",
  };
  return names;
}

/// A topic's replication factor for CreateTopics: -1 (the broker's default) or 1..32767.
std::optional<int32_t> get_replication_factor(Ctx& ctx, const Field& f) {
  auto i = get_int(ctx, f);
  if (!i) return std::nullopt;
  if (*i == -1 || (*i >= 1 && *i <= 32767)) return static_cast<int32_t>(*i);
  ctx.error(f, "must be -1 (the broker's default.replication.factor) or between 1 and 32767, got " + std::to_string(*i));
  return std::nullopt;
}

void load_partition_sync(Ctx& ctx, const Field& f, PartitionSyncConfig& out) {
  MapView m(ctx, f,
            {"enabled", "create_missing_topics", "replication_factor", "interval", "copy_configs", "identity_violation"});
  if (!m.valid()) return;
  if (auto v = m.get("enabled")) {
    if (auto b = get_bool(ctx, *v)) out.enabled = *b;
  }
  if (auto v = m.get("create_missing_topics")) {
    if (auto b = get_bool(ctx, *v)) out.create_missing_topics = *b;
  }
  if (auto v = m.get("replication_factor")) {
    if (auto rf = get_replication_factor(ctx, *v)) out.replication_factor = *rf;
  }
  if (auto v = m.get("interval")) {
    if (auto d = get_duration(ctx, *v)) {
      if (d->count() > 0) out.interval = *d;
      else ctx.error(*v, "must be greater than 0");
    }
  }
  if (auto v = m.get("copy_configs")) {
    if (auto items = get_list(ctx, *v, "[cleanup.policy, retention.ms]")) {
      out.copy_configs.clear();
      for (const auto& item : *items) {
        auto s = get_string(ctx, item);
        if (!s) continue;
        const auto& known = known_topic_configs();
        if (std::find(known.begin(), known.end(), *s) == known.end()) {
          if (auto sug = suggest(*s, known)) {
            ctx.error(item, "unknown topic config " + quote(*s) + " (did you mean '" + *sug + "'?)");
            continue;
          }
        }
        if (std::find(out.copy_configs.begin(), out.copy_configs.end(), *s) != out.copy_configs.end()) {
          ctx.error(item, "topic config " + quote(*s) + " is listed twice");
          continue;
        }
        out.copy_configs.push_back(*s);
      }
    }
  }
  if (auto v = m.get("identity_violation")) {
    if (auto e = get_enum<IdentityViolation>(ctx, *v,
                                             {{"warn", IdentityViolation::warn}, {"refuse", IdentityViolation::refuse}})) {
      out.identity_violation = *e;
    }
  }
}

void check_topic_name(Ctx& ctx, const Field& f, const std::string& name) {
  std::string problem = topic_name_problem(name);
  if (!problem.empty()) ctx.error(f, "topic name " + quote(name) + " is not a legal Kafka topic name: it " + problem);
}

void load_audit(Ctx& ctx, const Field& f, AuditConfig& out) {
  MapView m(ctx, f,
            {"enabled", "topic", "cluster", "bucket", "publish_interval", "create_topic", "topic_partitions",
             "topic_replication_factor", "topic_retention"});
  if (!m.valid()) return;
  if (auto v = m.get("enabled")) {
    if (auto b = get_bool(ctx, *v)) out.enabled = *b;
  }
  if (auto v = m.get("topic")) {
    if (auto s = get_string(ctx, *v)) {
      check_topic_name(ctx, *v, *s);
      out.topic = *s;
    }
  }
  if (auto v = m.get("cluster")) {
    if (auto e = get_enum<AuditCluster>(ctx, *v, {{"target", AuditCluster::target}, {"source", AuditCluster::source}})) {
      out.cluster = *e;
    }
  }
  if (auto v = m.get("bucket")) {
    if (auto d = get_duration(ctx, *v)) {
      constexpr int64_t day = 24 * 3600 * 1000;
      if (d->count() < 60'000) {
        ctx.error(*v, "must be at least 1m, got " + format_duration(*d));
      } else if (day % d->count() != 0) {
        ctx.error(*v, "must divide 1 day evenly (e.g. 1m, 5m, 10m, 15m, 30m, 1h), got " + format_duration(*d));
      } else {
        out.bucket = *d;
      }
    }
  }
  if (auto v = m.get("publish_interval")) {
    if (auto d = get_duration(ctx, *v)) {
      if (d->count() > 0) out.publish_interval = *d;
      else ctx.error(*v, "must be greater than 0");
    }
  }
  if (auto v = m.get("create_topic")) {
    if (auto b = get_bool(ctx, *v)) out.create_topic = *b;
  }
  if (auto v = m.get("topic_partitions")) {
    if (auto i = get_int(ctx, *v)) {
      if (*i >= 1 && *i <= 10000) out.topic_partitions = static_cast<int32_t>(*i);
      else ctx.error(*v, "must be between 1 and 10000, got " + std::to_string(*i));
    }
  }
  if (auto v = m.get("topic_replication_factor")) {
    if (auto rf = get_replication_factor(ctx, *v)) out.topic_replication_factor = *rf;
  }
  if (auto v = m.get("topic_retention")) {
    if (auto d = get_duration(ctx, *v)) {
      // Shorter than a day would delete counts before a daily job's gate reads them.
      if (d->count() >= 24 * 3600 * 1000) out.topic_retention = *d;
      else ctx.error(*v, "must be at least 1d (a gate reads the counts of past hours and days), got " +
                             format_duration(*d));
    }
  }
}

void load_limits(Ctx& ctx, const Field& f, LimitsConfig& out) {
  MapView m(ctx, f, {"bytes_per_partition", "total_bytes", "inflight_per_partition", "fetch_max_bytes", "request_timeout"});
  if (!m.valid()) return;
  bool per_partition_ok = true;
  auto positive_size = [&](std::string_view key, uint64_t& dst) {
    auto v = m.get(key);
    if (!v) return true;
    auto s = get_size(ctx, *v);
    if (!s) return false;
    if (*s == 0) {
      ctx.error(*v, "must be greater than 0");
      return false;
    }
    dst = *s;
    return true;
  };
  per_partition_ok = positive_size("bytes_per_partition", out.bytes_per_partition);
  if (positive_size("total_bytes", out.total_bytes) && per_partition_ok &&
      out.total_bytes < out.bytes_per_partition) {
    auto v = m.get("total_bytes");
    Field where = v ? *v : *m.get("bytes_per_partition");
    ctx.error(where, "total_bytes (" + format_size(out.total_bytes) + ") must be at least bytes_per_partition (" +
                         format_size(out.bytes_per_partition) + ")");
  }
  if (positive_size("fetch_max_bytes", out.fetch_max_bytes) && out.fetch_max_bytes > 2147483647ULL) {
    ctx.error(*m.get("fetch_max_bytes"),
              "must be at most 2147483647 bytes (Fetch carries it as a 32-bit integer), got " +
                  format_size(out.fetch_max_bytes));
  }
  if (auto v = m.get("inflight_per_partition")) {
    if (auto i = get_int(ctx, *v)) {
      if (*i >= 1 && *i <= 5) {
        out.inflight_per_partition = static_cast<int32_t>(*i);
      } else {
        ctx.error(*v, "must be between 1 and 5 (an idempotent producer may have at most 5 requests in flight), got " +
                          std::to_string(*i));
      }
    }
  }
  if (auto v = m.get("request_timeout")) {
    if (auto d = get_duration(ctx, *v)) {
      if (d->count() <= 0) ctx.error(*v, "must be greater than 0");
      else if (d->count() > 2147483647) ctx.error(*v, "must be at most 2147483647ms (a 32-bit field in requests)");
      else out.request_timeout = *d;
    }
  }
}

void load_metrics(Ctx& ctx, const Field& f, MetricsConfig& out) {
  MapView m(ctx, f, {"listen", "per_partition_labels"});
  if (!m.valid()) return;
  if (auto v = m.get("listen")) {
    if (auto s = get_string(ctx, *v, /*allow_empty=*/true)) {
      if (s->empty()) {
        out.listen.reset();
      } else {
        std::string why;
        if (auto hp = parse_host_port(*s, &why)) out.listen = *hp;
        else ctx.error(*v, quote(*s) + " is not host:port (or \"\" to disable): " + why);
      }
    }
  }
  if (auto v = m.get("per_partition_labels")) {
    if (auto b = get_bool(ctx, *v)) out.per_partition_labels = *b;
  }
}

void load_logging(Ctx& ctx, const Field& f, LoggingConfig& out) {
  MapView m(ctx, f, {"level", "format"});
  if (!m.valid()) return;
  if (auto v = m.get("level")) {
    if (auto e = get_enum<log::Level>(ctx, *v,
                                      {{"trace", log::Level::trace},
                                       {"debug", log::Level::debug},
                                       {"info", log::Level::info},
                                       {"warn", log::Level::warn},
                                       {"error", log::Level::error}})) {
      out.level = *e;
    }
  }
  if (auto v = m.get("format")) {
    if (auto e = get_enum<log::Format>(ctx, *v, {{"text", log::Format::text}, {"json", log::Format::json}})) {
      out.format = *e;
    }
  }
}

void load_resume(Ctx& ctx, const Field& f, ResumeConfig& out) {
  MapView m(ctx, f, {"on_scan_failure"});
  if (!m.valid()) return;
  if (auto v = m.get("on_scan_failure")) {
    if (auto e = get_enum<ResumeOnScanFailure>(
            ctx, *v, {{"wait", ResumeOnScanFailure::wait}, {"duplicate", ResumeOnScanFailure::duplicate}})) {
      out.on_scan_failure = *e;
    }
  }
}

void load_membership(Ctx& ctx, const Field& f, MembershipConfig& out) {
  MapView m(ctx, f, {"mode", "session_timeout"});
  if (!m.valid()) return;
  if (auto v = m.get("mode")) {
    if (auto e = get_enum<MembershipConfig::Mode>(
            ctx, *v, {{"none", MembershipConfig::Mode::none}, {"group", MembershipConfig::Mode::group}})) {
      out.mode = *e;
    }
  }
  if (auto v = m.get("session_timeout")) {
    if (auto d = get_duration(ctx, *v)) {
      // Below 6s a broker with the default group.min.session.timeout.ms refuses the JoinGroup
      // (INVALID_SESSION_TIMEOUT); above 5m a killed member's partitions wait too long to move.
      if (d->count() >= 6'000 && d->count() <= 300'000) out.session_timeout = *d;
      else ctx.error(*v, "must be between 6s and 300s, got " + format_duration(*d));
    }
  }
}

void load_root(Ctx& ctx, const Field& root, Config& cfg) {
  MapView m(ctx, root,
            {"route", "source", "target", "topics", "start_position", "crc_check", "consumer_group", "commit_interval",
             "partition_sync", "audit", "limits", "resume", "membership", "metrics", "logging"});
  if (!m.valid()) return;
  if (auto v = m.require("route")) load_route(ctx, *v, cfg.route);
  ClusterFields source, target;
  if (auto v = m.require("source")) source = load_cluster(ctx, *v, cfg.source);
  if (auto v = m.require("target")) target = load_cluster(ctx, *v, cfg.target);
  std::vector<Field> include_fields;
  if (auto v = m.require("topics")) include_fields = load_topics(ctx, *v, cfg.topics);
  if (auto v = m.get("start_position")) {
    if (auto e = get_enum<StartPosition>(ctx, *v,
                                         {{"earliest", StartPosition::earliest}, {"latest", StartPosition::latest}})) {
      cfg.start_position = *e;
    }
  }
  if (auto v = m.get("crc_check")) {
    if (auto e = get_enum<CrcCheck>(ctx, *v, {{"target", CrcCheck::target}, {"fetch", CrcCheck::fetch}})) {
      cfg.crc_check = *e;
    }
  }
  if (auto v = m.get("consumer_group")) {
    if (auto s = get_string(ctx, *v)) cfg.consumer_group = *s;
  } else if (!cfg.route.name.empty()) {
    cfg.consumer_group = "tiermirror-" + cfg.route.name;
  }
  if (auto v = m.get("commit_interval")) {
    if (auto d = get_duration(ctx, *v)) {
      if (d->count() > 0) cfg.commit_interval = *d;
      else ctx.error(*v, "must be greater than 0");
    }
  }
  if (auto v = m.get("partition_sync")) load_partition_sync(ctx, *v, cfg.partition_sync);
  if (auto v = m.get("audit")) load_audit(ctx, *v, cfg.audit);
  if (auto v = m.get("limits")) load_limits(ctx, *v, cfg.limits);
  if (auto v = m.get("resume")) load_resume(ctx, *v, cfg.resume);
  if (auto v = m.get("membership")) load_membership(ctx, *v, cfg.membership);
  if (auto v = m.get("metrics")) load_metrics(ctx, *v, cfg.metrics);
  if (auto v = m.get("logging")) load_logging(ctx, *v, cfg.logging);

  // Checks across sections.
  if (!cfg.source.name.empty() && cfg.source.name == cfg.target.name && target.name) {
    ctx.error(*target.name, "the target cluster's name must differ from the source's (" + quote(cfg.source.name) +
                                "): the names label metrics and audit records");
  }
  for (size_t i = 0; i < cfg.target.bootstrap_servers.size(); ++i) {
    const auto& hp = cfg.target.bootstrap_servers[i];
    const auto& src = cfg.source.bootstrap_servers;
    if (std::find(src.begin(), src.end(), hp) != src.end()) {
      ctx.error(target.servers[i], "'" + hp.str() +
                                       "' is also a source bootstrap server: source and target must be different "
                                       "clusters (mirroring a cluster onto itself would loop)");
    }
  }
  if (cfg.audit.enabled && is_legal_topic_name(cfg.audit.topic)) {
    if (const TopicPattern* p = cfg.topics.included_by(cfg.audit.topic);
        p != nullptr && cfg.topics.excluded_by(cfg.audit.topic) == nullptr) {
      ctx.error(include_fields[static_cast<size_t>(p - cfg.topics.include.data())],
                p->describe() + " selects the audit topic '" + cfg.audit.topic +
                    "': mirroring it would mix another route's audit records into this one's; add it to "
                    "topics.exclude");
    }
  }
}

LoadResult finish(Ctx& ctx, Config cfg) {
  std::stable_sort(ctx.errors.begin(), ctx.errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    auto key = [](const Diagnostic& d) { return std::make_tuple(d.line == 0, d.line, d.column); };
    return key(a) < key(b);
  });
  LoadResult r;
  r.errors = std::move(ctx.errors);
  if (r.errors.empty()) r.config = std::move(cfg);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Documents
//
// yaml-cpp 0.7 (Debian 12) never returns from YAML::LoadAll when a document starts with a token
// no node can start with, e.g. a ',' at the top level: the parser reports an empty document
// without consuming the token, again and again, and LoadAll keeps one more null document each
// turn until the process runs out of memory (jbeder/yaml-cpp#1040, fixed upstream by #1319 after 0.8).
// So the documents are walked with the parser directly, stopping as soon as a document starts
// where the previous one started, and only the first document is built, by YAML::Load, which
// parses exactly one.

/// Records where each document starts; ignores everything else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

struct Documents {
  std::optional<Node> first;  // nullopt when the text holds no document
  size_t count = 0;
  Loc second;                 // where the second document starts
};

/// "','", "'\x00'": the character at `pos`, for a message.
std::string char_at(std::string_view text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return "end of input";
  unsigned char c = static_cast<unsigned char>(text[static_cast<size_t>(pos)]);
  if (c < 0x20 || c >= 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return std::string("'") + buf + "'";
  }
  return "'" + std::string(1, static_cast<char>(c)) + "'";
}

/// A '[' or '{' not yet closed, 1-based.
struct OpenFlow {
  char bracket;
  int line;
  int column;
};

/// The flow collections still open at `end` in `text`, outermost first. yaml-cpp reports an
/// unclosed '[' or '{' where it gives up, often lines later; this finds where it was opened.
/// A light scan, not a parser: it skips comments, quoted and block scalars, and outside flow
/// collections takes a bracket only where a value starts ("k: [", "- {"), since in "k: see [1"
/// the bracket belongs to a plain scalar.
std::vector<OpenFlow> open_flows(std::string_view text, size_t end) {
  std::vector<OpenFlow> open;
  end = std::min(end, text.size());
  auto blank = [&](size_t i) {
    return i >= text.size() || text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r';
  };
  auto flow_end = [&](size_t i) { return i < text.size() && (text[i] == ',' || text[i] == ']' || text[i] == '}'); };
  int line = 1;
  size_t line_start = 0;
  bool value_start = true;  // a token here begins a node (not the middle of a plain scalar)
  auto newline = [&](size_t i) {
    ++line;
    line_start = i + 1;
    if (open.empty()) value_start = true;  // in a flow collection a line break is only a space
  };
  auto indent_of = [&](size_t from) {
    size_t j = from;
    while (j < text.size() && text[j] == ' ') ++j;
    return j - from;
  };
  for (size_t i = 0; i < end; ++i) {
    char c = text[i];
    if (c == '\n') {
      newline(i);
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (c == '#' && (i == 0 || blank(i - 1))) {  // a comment, to the end of the line
      while (i + 1 < end && text[i + 1] != '\n') ++i;
      continue;
    }
    if (value_start && (c == '\'' || c == '"')) {  // a quoted scalar, possibly over lines
      for (++i; i < end; ++i) {
        if (text[i] == '\n') newline(i);
        if (c == '"' && text[i] == '\\') {
          if (i + 1 < end && text[i + 1] == '\n') newline(i + 1);
          ++i;
        } else if (text[i] == c) {
          if (c == '\'' && i + 1 < end && text[i + 1] == '\'') ++i;  // '' is a quote inside
          else break;
        }
      }
      value_start = false;
      continue;
    }
    if (open.empty() && value_start && (c == '|' || c == '>')) {  // a block scalar: its lines are text
      size_t parent_indent = indent_of(line_start);
      while (i < end && text[i] != '\n') ++i;
      while (i < end) {  // at the '\n' ending a line: does the next one still belong to the scalar?
        size_t next = i + 1, indent = indent_of(next);
        bool empty = next + indent >= text.size() || text[next + indent] == '\n';
        if (!empty && indent <= parent_indent) break;
        newline(i);
        i = next + indent;
        while (i < end && text[i] != '\n') ++i;
      }
      if (i < end) --i;  // let the loop see the '\n'
      continue;
    }
    if (value_start && (c == '&' || c == '!')) {  // an anchor or tag: the node comes after it
      while (i + 1 < end && !blank(i + 1)) ++i;
      continue;
    }
    if (value_start && (c == '-' || c == '?') && blank(i + 1)) continue;  // "- item", "? key"
    if ((c == '[' || c == '{') && (value_start || !open.empty())) {
      open.push_back({c, line, static_cast<int>(i - line_start) + 1});
      value_start = true;
      continue;
    }
    if (!open.empty() && (c == ']' || c == '}')) {
      open.pop_back();
      value_start = false;
      continue;
    }
    if (!open.empty() && c == ',') {
      value_start = true;
      continue;
    }
    if (c == ':' && (blank(i + 1) || (!open.empty() && flow_end(i + 1)))) {  // "k: v", "{k:}"
      value_start = true;
      continue;
    }
    value_start = false;
  }
  return open;
}

/// yaml-cpp's message for an unclosed or wrongly closed flow collection, with where it was opened.
std::string flow_syntax_error(std::string_view yaml, const YAML::ParserException& e, Loc& where) {
  bool seq = e.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW, map = e.msg == YAML::ErrorMsg::END_OF_MAP_FLOW;
  if ((!seq && !map && e.msg != YAML::ErrorMsg::FLOW_END) || e.mark.pos < 0) return e.msg;
  auto open = open_flows(yaml, static_cast<size_t>(e.mark.pos));
  if (seq || map) {
    char want = seq ? '[' : '{';
    auto it = std::find_if(open.rbegin(), open.rend(), [&](const OpenFlow& o) { return o.bracket == want; });
    if (it == open.rend()) return e.msg;
    std::string noticed = "the parser stopped on line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
    where = {it->line, it->column};
    return "unclosed '" + std::string(1, want) + "' opened on line " + std::to_string(it->line) + " (" + noticed + ")";
  }
  // A ']' closing a '{' or the other way round: name the one it cannot close.
  size_t pos = static_cast<size_t>(e.mark.pos);
  if (open.empty() || pos >= yaml.size()) return e.msg;
  char closer = yaml[pos];
  const OpenFlow& o = open.back();
  if ((closer != ']' && closer != '}') || (closer == ']') == (o.bracket == '[')) return e.msg;
  return e.msg + ": '" + std::string(1, closer) + "' cannot close the '" + std::string(1, o.bracket) +
         "' opened on line " + std::to_string(o.line) + ", column " + std::to_string(o.column);
}

/// Parses `yaml`; syntax errors become diagnostics. Returns nullopt after a syntax error.
std::optional<Documents> parse_documents(Ctx& ctx, std::string_view yaml) {
  Documents docs;
  try {
    std::stringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    DocumentStarts h;
    while (parser.HandleNextDocument(h)) {
      if (h.starts.size() >= 2 && h.starts.back().pos == h.starts[h.starts.size() - 2].pos) {
        const YAML::Mark& m = h.starts.back();
        ctx.error("", loc_of(m), "YAML syntax error: unexpected " + char_at(yaml, m.pos));
        return std::nullopt;
      }
    }
    docs.count = h.starts.size();
    if (docs.count >= 2) docs.second = loc_of(h.starts[1]);
    if (docs.count >= 1) {
      std::stringstream again{std::string(yaml)};
      docs.first = YAML::Load(again);
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp bounds its recursive descent (before the stack runs out) but says "bad file".
    ctx.error("", loc_of(e.mark),
              "YAML syntax error: values nested too deeply (the parser stops at " + std::to_string(e.depth()) +
                  " levels)");
    return std::nullopt;
  } catch (const YAML::ParserException& e) {
    Loc where = loc_of(e.mark);
    std::string message = flow_syntax_error(yaml, e, where);
    ctx.error("", where, "YAML syntax error: " + message);
    return std::nullopt;
  } catch (const std::exception& e) {
    ctx.error("", Loc{}, std::string("cannot parse YAML: ") + e.what());
    return std::nullopt;
  }
  return docs;
}

LoadResult load(std::string_view yaml, const fs::path& base_dir, const std::string& config_file) {
  Ctx ctx;
  ctx.base_dir = base_dir;
  Config cfg;
  cfg.base_dir = base_dir.string();
  cfg.config_file = config_file;

  auto docs = parse_documents(ctx, yaml);
  if (!docs) return finish(ctx, std::move(cfg));
  if (docs->count > 1) {
    ctx.error("", docs->second,
              "expected one YAML document, found " + std::to_string(docs->count) + " (separated by '---')");
  }
  Node first = docs->first.value_or(Node());
  Field root{"", first, Loc{1, 1}};
  if (docs->first && first.IsMap()) {
    Loc l = loc_of(first.Mark());
    if (l.line != 0) root.key_loc = l;
  }
  try {
    load_root(ctx, root, cfg);
  } catch (const std::exception& e) {
    ctx.error("", Loc{}, std::string("internal error while validating: ") + e.what());
  }
  return finish(ctx, std::move(cfg));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public

std::string_view to_string(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::plaintext:
      return "plaintext";
    case SecurityProtocol::ssl:
      return "ssl";
    case SecurityProtocol::sasl_plaintext:
      return "sasl_plaintext";
    case SecurityProtocol::sasl_ssl:
      return "sasl_ssl";
  }
  return "?";
}

std::string_view to_string(SaslMechanism m) {
  switch (m) {
    case SaslMechanism::plain:
      return "PLAIN";
    case SaslMechanism::scram_sha_256:
      return "SCRAM-SHA-256";
    case SaslMechanism::scram_sha_512:
      return "SCRAM-SHA-512";
  }
  return "?";
}

std::string HostPort::str() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(std::string_view s, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<HostPort> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (auto scheme = s.find("://"); scheme != std::string_view::npos) {
    return fail("remove '" + std::string(s.substr(0, scheme + 3)) +
                "'; give host:port only (the protocol is security.protocol)");
  }
  std::string_view host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
    host = s.substr(1, close - 1);
    if (close + 1 >= s.size() || s[close + 1] != ':') return fail("missing ':port' after ']'");
    port = s.substr(close + 2);
    if (host.empty()) return fail("empty host");
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return fail("missing port (e.g. kafka-1:9092)");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("write IPv6 addresses in brackets, e.g. [::1]:9092");
    if (host.empty()) return fail("empty host");
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
        return fail(std::string("host contains '") + c + "'");
      }
    }
  }
  if (port.empty()) return fail("missing port (e.g. kafka-1:9092)");
  if (!is_digits(port) || port.size() > 5) return fail("port must be a number between 1 and 65535");
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return fail("port must be between 1 and 65535");
  return HostPort{std::string(host), static_cast<uint16_t>(p)};
}

std::string ClusterConfig::bootstrap_string() const {
  std::string r;
  for (const auto& hp : bootstrap_servers) {
    if (!r.empty()) r += ",";
    r += hp.str();
  }
  return r;
}

std::string format_diagnostic(std::string_view file, const Diagnostic& d) {
  std::string r(file);
  if (d.line > 0) {
    r += ":" + std::to_string(d.line);
    if (d.column > 0) r += ":" + std::to_string(d.column);
  }
  r += ": ";
  if (!d.path.empty()) r += d.path + ": ";
  r += d.message;
  return r;
}

LoadResult load_file(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) abs = path;
  abs = abs.lexically_normal();
  if (fs::is_directory(abs, ec)) {
    LoadResult r;
    r.errors.push_back(Diagnostic{"", 0, 0, "cannot read config file: it is a directory"});
    return r;
  }
  errno = 0;
  std::ifstream in(abs, std::ios::binary);
  if (!in) {
    int e = errno != 0 ? errno : ENOENT;
    LoadResult r;
    r.errors.push_back(Diagnostic{"", 0, 0, std::string("cannot read config file: ") + std::strerror(e)});
    return r;
  }
  // A config file is a few KiB. Read at most kMaxConfigBytes + 1, so a wrong path (a log file,
  // /dev/zero, a FIFO fed forever) gives a diagnostic instead of exhausting memory.
  std::string text;
  char chunk[64 * 1024];
  while (text.size() <= kMaxConfigBytes && in.read(chunk, sizeof chunk).gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > kMaxConfigBytes) {
    LoadResult r;
    r.errors.push_back(Diagnostic{"", 0, 0,
                                  "cannot read config file: it is larger than " +
                                      std::to_string(kMaxConfigBytes / MiB) + " MiB (is it a config file?)"});
    return r;
  }
  return load(text, abs.parent_path(), abs.string());
}

LoadResult load_string(std::string_view yaml, const std::string& base_dir) {
  std::error_code ec;
  fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
  if (ec) base = base_dir;
  return load(yaml, base.lexically_normal(), "");
}

}  // namespace tiermirror::config
