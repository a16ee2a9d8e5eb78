#include "mock_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tiermirror/app/readback.h"
#include "tiermirror/net/call.h"
#include "tiermirror/protocol/messages/produce.h"

extern char** environ;

namespace tiermirror::test {

std::string yaml_list(const std::string& bootstrap) {
  std::string out = "[";
  size_t start = 0;
  while (start < bootstrap.size()) {
    size_t end = bootstrap.find(',', start);
    if (end == std::string::npos) end = bootstrap.size();
    out += (out.size() > 1 ? ", \"" : "\"") + bootstrap.substr(start, end - start) + "\"";
    start = end + 1;
  }
  return out + "]";
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int status = pclose(f);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::map<TopicPartition, std::vector<ConsumedRecord>> consume_partitions(const std::string& bootstrap,
                                                                         const std::vector<TopicPartition>& tps) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
  };
  set("bootstrap.servers", bootstrap.c_str());
  set("group.id", "tiermirror-test-reader");
  set("enable.auto.commit", "false");
  set("enable.partition.eof", "true");
  set("isolation.level", "read_committed");
  set("fetch.wait.max.ms", "100");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> guard(rk, [](rd_kafka_t* r) {
    rd_kafka_consumer_close(r);
    rd_kafka_destroy(r);
  });
  auto* parts = rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()));
  for (const auto& tp : tps)
    rd_kafka_topic_partition_list_add(parts, tp.topic.c_str(), tp.partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::map<TopicPartition, std::vector<ConsumedRecord>> out;
  std::set<TopicPartition> open(tps.begin(), tps.end());
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60); !open.empty();) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("consume: " + std::to_string(open.size()) + " partitions never reached their end");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> mg(m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      open.erase(TopicPartition{rd_kafka_topic_name(m->rkt), m->partition});
      continue;
    }
    if (m->err) throw std::runtime_error(std::string("consume: ") + rd_kafka_message_errstr(m));
    ConsumedRecord r;
    r.offset = m->offset;
    if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t tstype;
    r.timestamp = rd_kafka_message_timestamp(m, &tstype);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        r.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : std::string());
    }
    out[TopicPartition{rd_kafka_topic_name(m->rkt), m->partition}].push_back(std::move(r));
  }
  return out;
}

std::vector<ConsumedRecord> consume_partition(const std::string& bootstrap, const std::string& topic,
                                              int32_t partition) {
  return consume_partitions(bootstrap, {{topic, partition}})[{topic, partition}];
}

pid_t spawn_tiermirror(const std::vector<std::string>& args, const std::string& stderr_path, bool append) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
                                   0644);
  std::string bin = TIERMIRROR_BINARY;
  std::vector<std::string> all{bin};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::vector<CopyMismatch> count_copies(const std::vector<protocol::RecordBatchView>& source,
                                       const std::vector<protocol::RecordBatchView>& target) {
  std::map<std::string, CopyMismatch> by_key;
  for (const auto& b : source) {
    auto& m = by_key[batch_key(b)];
    m.missing++;
    m.source_offset = b.base_offset();
  }
  for (const auto& b : target) {
    auto& m = by_key[batch_key(b)];
    m.missing--;
    m.target_offsets.push_back(b.base_offset());
  }
  std::vector<CopyMismatch> out;
  for (auto& [k, m] : by_key)
    if (m.missing != 0) out.push_back(std::move(m));
  return out;
}

std::string batch_key(const protocol::RecordBatchView& b) {
  auto r = b.records().span();
  std::string k(reinterpret_cast<const char*>(r.data()), r.size());
  k += "|" + std::to_string(b.records_count()) + "|" + std::to_string(b.base_timestamp()) + "|" +
       std::to_string(b.max_timestamp()) + "|" + std::to_string(static_cast<int>(b.codec()));
  return k;
}

void plant_batch(const std::string& bootstrap, const TopicPartition& tp, const Bytes& batch) {
  net::IoThread io;
  net::ClusterOptions o;
  o.connection.client_id = kSetupClientId;
  auto cluster = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), o);
  using R = std::pair<std::error_code, net::MetadataPtr>;
  auto [mec, md] = net::await<R>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
  if (mec) throw std::runtime_error("plant: metadata: " + mec.message());
  protocol::ProduceRequest req;
  req.topics.push_back({tp.topic, {{tp.partition, {BufferSlice(SharedBuffer(Bytes(batch)))}}}});
  using P = std::pair<std::error_code, protocol::ProduceResponse>;
  auto [ec, resp] = net::await<P>([&](auto done) {
    net::call<protocol::ProduceResponse>(cluster->leader_connection(tp.topic, tp.partition), req, net::Millis(5000),
                                         [done](auto e, auto r, int16_t) { done({e, r}); });
  });
  cluster->close();
  if (ec) throw std::runtime_error("plant: " + ec.message());
  int16_t code = resp.topics.at(0).partitions.at(0).error_code;
  if (code) throw std::runtime_error(std::string("plant: ") + std::string(kafka_error_name(code)));
}

ClusterClient::ClusterClient(net::IoThread& io, const std::string& bootstrap, std::string name) {
  net::ClusterOptions o;
  o.name = std::move(name);
  o.connection.backoff_initial = net::Millis(20);
  o.connection.backoff_max = net::Millis(200);
  o.metadata_timeout = net::Millis(3000);
  cluster = net::Cluster::create(io.io(), net::parse_endpoints(bootstrap), o);
}

ClusterClient::~ClusterClient() { cluster->close(); }

net::MetadataPtr ClusterClient::refresh() {
  using R = std::pair<std::error_code, net::MetadataPtr>;
  auto [ec, md] = net::await<R>([&](auto done) { cluster->refresh(std::nullopt, [done](auto e, auto m) { done({e, m}); }); });
  if (ec) throw std::runtime_error("metadata: " + ec.message());
  return md;
}

CopyTotals expect_exact_copies(const std::shared_ptr<net::Cluster>& source, const std::shared_ptr<net::Cluster>& target,
                               const std::string& topic, int partitions, const std::string& where) {
  CopyTotals out;
  for (int p = 0; p < partitions; ++p) {
    auto s = app::read_partition(source, {topic, p});
    auto t = app::read_partition(target, {topic, p});
    if (s.ec || t.ec) {
      ADD_FAILURE() << topic << "-" << p << ": cannot read " << (s.ec ? "the source: " + s.ec.message()
                                                                      : "the target: " + t.ec.message());
      continue;
    }
    for (const auto& m : count_copies(s.batches, t.batches)) {
      (m.missing > 0 ? out.lost : out.duplicates) += static_cast<size_t>(m.missing > 0 ? m.missing : -m.missing);
      ADD_FAILURE() << topic << "-" << p << ": source batch at offset " << m.source_offset << " is in the target "
                    << m.target_offsets.size() << " times " << where;
    }
    auto proof = app::prove_identity(t.batches, {s.batches});
    EXPECT_TRUE(proof.ok) << topic << "-" << p << ": " << proof.detail << " " << where;
    out.batches += s.batches.size();
  }
  return out;
}

void expect_audit_exact(const std::string& topic, const std::string& audit_topic, const std::string& audit_bootstrap,
                        const std::string& source_bootstrap, const std::string& target_bootstrap,
                        const std::string& bucket) {
  using nlohmann::json;
  const std::string bin = TIERMIRROR_BINARY;
  auto scan = [&](const std::string& bootstrap) {
    std::map<std::string, uint64_t> by_bucket;
    auto r = run_command(bin + " audit scan --format json --bucket " + bucket + " --topic " + topic + " --bootstrap " +
                         bootstrap + " 2>/dev/null");
    auto j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("buckets")) {
      ADD_FAILURE() << "audit scan: " << r.out;
      return by_bucket;
    }
    for (const auto& b : j["buckets"]) by_bucket[b["bucket_start"].get<std::string>()] = b["records"].get<uint64_t>();
    return by_bucket;
  };
  auto r = run_command(bin + " audit report --format json --audit-topic " + audit_topic + " --topic " + topic +
                       " --bootstrap " + audit_bootstrap + " 2>/dev/null");
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("buckets")) {
    ADD_FAILURE() << "audit report: " << r.out;
    return;
  }
  std::map<std::string, uint64_t> source, target;
  for (const auto& b : j["buckets"]) {
    source[b["bucket_start"].get<std::string>()] = b["source_records"].get<uint64_t>();
    target[b["bucket_start"].get<std::string>()] = b["target_records"].get<uint64_t>();
  }
  EXPECT_FALSE(source.empty()) << "the audit holds nothing for " << topic;
  EXPECT_EQ(source, scan(source_bootstrap)) << "the audit's source tier vs a recount of the source";
  EXPECT_EQ(target, scan(target_bootstrap)) << "the audit's target tier vs a recount of the target";
}

}  // namespace tiermirror::test
