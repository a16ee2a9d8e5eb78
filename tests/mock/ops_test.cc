// `tiermirror run` as a process with its HTTP endpoints on, against mock clusters in this
// process: /readyz, /metrics moving while data flows, /status with running, paused and
// waiting partitions, and SIGHUP reloads (a new topic starts, a dropped one retires, an
// invalid file is rejected while mirroring goes on).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "mock_support.h"
#include "support/batch_builder.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/pipeline/group_offsets.h"
#include "tiermirror/pipeline/route.h"

extern char** environ;

namespace tiermirror::test {
namespace {

using namespace std::chrono_literals;

struct HttpResult {
  int status = 0;
  std::string body;
};

HttpResult http_get(uint16_t port, const std::string& path) {
  HttpResult r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (out.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::stoi(out.substr(9, 3));
  auto body = out.find("\r\n\r\n");
  if (body != std::string::npos) r.body = out.substr(body + 4);
  return r;
}

/// The value of the sample whose line starts with `series` ("name{labels}"), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

class Process {
 public:
  Process(const std::string& config, const std::filesystem::path& stderr_path)
      : pid_(spawn_tiermirror({"run", "--config", config}, stderr_path.string())) {}
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  /// SIGTERM and the exit status (-1 if it did not exit within 20 s).
  int terminate() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(100ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

TEST(MockOps, MetricsStatusReadinessAndLiveReload) {
  app::MockCluster src("dc-a", 1), dst("aggregate", 1);
  for (const char* t : {"orders", "broken", "waiting", "clicks"}) src.create_topic(t, std::string(t) == "orders" ? 2 : 1, 1);
  for (const char* t : {"orders", "broken", "clicks"}) dst.create_topic(t, std::string(t) == "orders" ? 2 : 1, 1);
  app::TrafficOptions traffic;
  traffic.records = 300;
  app::produce_traffic(src.bootstrap(), "orders", traffic);
  traffic.records = 100;
  app::produce_traffic(src.bootstrap(), "waiting", traffic);
  traffic.records = 200;
  app::produce_traffic(src.bootstrap(), "clicks", traffic);
  plant_batch(src.bootstrap(), {"broken", 0}, BatchBuilder().add_n(5).build());
  plant_batch(src.bootstrap(), {"broken", 0}, BatchBuilder().add_n(5).corrupt_crc().build());

  auto dir = std::filesystem::temp_directory_path() / ("tm-ops-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto config = (dir / "route.yaml").string();
  uint16_t port = static_cast<uint16_t>(free_port());
  auto write_config = [&](const std::string& topics) {
    std::ofstream(config) << "route: {name: ops}\n"
                          << "source: {name: dc-a, bootstrap_servers: " << yaml_list(src.bootstrap()) << "}\n"
                          << "target: {name: aggregate, bootstrap_servers: " << yaml_list(dst.bootstrap()) << "}\n"
                          << "topics:\n  include: " << topics << "\n"
                          << "commit_interval: 1s\n"
                          // The mock target never checks a CRC: tiermirror checks at fetch.
                          << "crc_check: fetch\n"
                          << "partition_sync: {enabled: false, interval: 1s}\n"
                          << "audit: {enabled: false}\n"
                          << "metrics: {listen: \"127.0.0.1:" << port << "\"}\n";
  };
  write_config("[orders, broken, waiting]");
  auto log = dir / "stderr";
  Process proc(config, log);
  ASSERT_GT(proc.pid(), 0);

  ASSERT_TRUE(wait_until([&] { return http_get(port, "/readyz").status == 200; }, 20s)) << read_file(log);
  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(http_get(port, "/nope").status, 404);

  // Settled: orders mirrored, broken paused at its corrupt batch, waiting without a target.
  const std::string orders_records = "tiermirror_mirrored_records_total{route=\"ops\",topic=\"orders\"}";
  const std::string waiting_lag = "tiermirror_lag_records{route=\"ops\",topic=\"waiting\",partition=\"0\"}";
  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        text = http_get(port, "/metrics").body;
        return sample(text, orders_records) == 300 && sample(text, waiting_lag) > 0 &&
               sample(text, "tiermirror_paused_partitions{route=\"ops\",reason=\"corrupt_source_batch\"}") == 1;
      },
      20s))
      << text << read_file(log);
  EXPECT_EQ(sample(text, "tiermirror_partitions{route=\"ops\",topic=\"broken\",partition=\"0\",state=\"paused\"}"), 1);
  EXPECT_EQ(
      sample(text, "tiermirror_partitions{route=\"ops\",topic=\"waiting\",partition=\"0\",state=\"waiting_target\"}"),
      1);
  EXPECT_EQ(sample(text, "tiermirror_ready{route=\"ops\"}"), 1);
  EXPECT_GT(sample(text, "tiermirror_buffer_budget_bytes{route=\"ops\"}"), 0);
  EXPECT_GE(sample(text, "tiermirror_receive_buffer_bytes{route=\"ops\",state=\"idle\"}"), 0);
  EXPECT_GT(sample(text, "tiermirror_replication_latency_seconds_count{route=\"ops\"}"), 0);

  auto status = nlohmann::json::parse(http_get(port, "/status").body);
  EXPECT_EQ(status["route"], "ops");
  EXPECT_EQ(status["state"], "running");
  EXPECT_EQ(status["source"]["name"], "dc-a");
  std::map<std::string, nlohmann::json> topics;
  for (const auto& t : status["topics"]) topics[t["topic"]] = t["partitions"];
  ASSERT_EQ(topics.size(), 3u) << status.dump(2);
  EXPECT_EQ(topics["orders"][0]["state"], "running");
  EXPECT_EQ(topics["broken"][0]["state"], "paused");
  EXPECT_NE(topics["broken"][0]["reason"].get<std::string>().find("corrupt source batch at offset 5"),
            std::string::npos);
  EXPECT_EQ(topics["waiting"][0]["state"], "waiting_target");
  EXPECT_GT(topics["waiting"][0]["lag_records"].get<int64_t>(), 0);
  auto page = http_get(port, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("corrupt source batch"), std::string::npos);

  // Data flows: more records, and the waiting topic's target appears; the counters move
  // and its lag drops to zero.
  traffic.records = 200;
  app::produce_traffic(src.bootstrap(), "orders", traffic);
  dst.create_topic("waiting", 1, 1);
  ASSERT_TRUE(wait_until(
      [&] {
        text = http_get(port, "/metrics").body;
        return sample(text, orders_records) == 500 && sample(text, waiting_lag) == 0 &&
               sample(text, "tiermirror_mirrored_records_total{route=\"ops\",topic=\"waiting\"}") == 100;
      },
      20s))
      << text << read_file(log);

  // SIGHUP: clicks joins, waiting leaves.
  write_config("[orders, broken, clicks]");
  ::kill(proc.pid(), SIGHUP);
  net::IoThread io;
  ClusterClient source(io, src.bootstrap()), target(io, dst.bootstrap());
  source.refresh();
  target.refresh();
  auto clicks_src = app::read_partition(source.cluster, {"clicks", 0});
  ASSERT_GT(clicks_src.high_watermark, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        target.refresh();
        return app::read_partition(target.cluster, {"clicks", 0}).high_watermark == clicks_src.high_watermark;
      },
      20s))
      << read_file(log);
  auto clicks_dst = app::read_partition(target.cluster, {"clicks", 0});
  auto proof = app::prove_identity(clicks_dst.batches, {clicks_src.batches});
  EXPECT_TRUE(proof.ok) << proof.detail;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = nlohmann::json::parse(http_get(port, "/status").body);
        std::set<std::string> names;
        for (const auto& t : s["topics"]) names.insert(t["topic"]);
        return names == std::set<std::string>{"orders", "broken", "clicks"};
      },
      10s))
      << http_get(port, "/status").body;
  EXPECT_NE(read_file(log).find("config reloaded"), std::string::npos);

  // SIGHUP with a broken file: rejected, mirroring goes on with the running config.
  std::ofstream(config) << "route: {name: ops}\ntopics: {include: [\n";
  ::kill(proc.pid(), SIGHUP);
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("config reload rejected") != std::string::npos; }, 10s));
  app::produce_traffic(src.bootstrap(), "orders", traffic);
  ASSERT_TRUE(wait_until(
      [&] {
        text = http_get(port, "/metrics").body;
        return sample(text, orders_records) == 700;
      },
      20s))
      << text << read_file(log);
  EXPECT_EQ(sample(text, "tiermirror_config_reloads_total{result=\"rejected\",route=\"ops\"}"), 1);
  EXPECT_EQ(sample(text, "tiermirror_config_reloads_total{result=\"applied\",route=\"ops\"}"), 1);
  EXPECT_EQ(http_get(port, "/readyz").status, 200);

  EXPECT_EQ(proc.terminate(), 0) << read_file(log);
  std::filesystem::remove_all(dir);
}

// Route::reconfigure with produces in flight (the target answers slowly): the deselected
// topic's partitions finish what is in flight, commit exactly what the target acknowledged
// and disappear; selecting the topic again resumes there with nothing duplicated or lost.
TEST(MockOps, ReconfigureRetiresPartitionsWithRequestsInFlight) {
  app::MockCluster src("dc-a", 1), dst("aggregate", 1);
  src.create_topic("orders", 3, 1);
  src.create_topic("clicks", 1, 1);
  dst.create_topic("orders", 3, 1);
  dst.create_topic("clicks", 1, 1);
  app::TrafficOptions traffic;
  traffic.records = 3000;
  traffic.batch_records = 50;
  app::produce_traffic(src.bootstrap(), "orders", traffic);
  traffic.records = 300;
  app::produce_traffic(src.bootstrap(), "clicks", traffic);
  rd_kafka_mock_broker_set_rtt(dst.mock(), 1, 150);  // produces stay in flight a while

  net::IoThread io;
  net::ClusterOptions co;
  co.name = "source";
  auto source = net::Cluster::create(io.io(), net::parse_endpoints(src.bootstrap()), co);
  co.name = "target";
  auto target = net::Cluster::create(io.io(), net::parse_endpoints(dst.bootstrap()), co);
  pipeline::RouteOptions o;
  o.name = "retire";
  o.group = "tiermirror-retire";
  o.select_topic = [](const std::string& t) { return t == "orders" || t == "clicks"; };
  o.commit_interval = net::Millis(200);
  o.metadata_interval = net::Millis(500);
  o.request_timeout = net::Millis(5000);
  o.fetch_max_wait = net::Millis(50);
  o.retry_backoff = net::Millis(50);
  o.fetch_max_bytes = 64 << 10;  // many small rounds: the retirement lands mid-stream
  o.bytes_per_partition = 64 << 10;
  auto route = pipeline::Route::create(io.io(), source, target, o);
  route->start([](std::error_code, std::string why) { ADD_FAILURE() << why; });
  auto status = [&] {
    return net::await<std::vector<pipeline::PartitionStatus>>([&](auto done) { route->status(done); });
  };
  auto acked_records = [&](const std::string& topic) {
    uint64_t n = 0;
    for (const auto& s : status())
      if (s.tp.topic == topic) n += s.records;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return acked_records("orders") > 0; }, 20s));

  auto next = o;
  next.select_topic = [](const std::string& t) { return t == "clicks"; };
  route->reconfigure(next);
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& s : status())
          if (s.tp.topic == "orders") return false;
        return true;
      },
      20s));
  rd_kafka_mock_broker_set_rtt(dst.mock(), 1, 0);

  // What the group holds for each retired partition is exactly what the target has (the
  // partitions leave status at once; their commit follows once their produces completed).
  ClusterClient reader_src(io, src.bootstrap(), "reader"), reader_dst(io, dst.bootstrap(), "reader");
  reader_src.refresh();
  reader_dst.refresh();
  auto offsets = pipeline::GroupOffsets::create(reader_src.cluster, "tiermirror-retire", net::Millis(5000));
  using R = std::pair<std::error_code, std::map<TopicPartition, std::optional<SourceOffset>>>;
  auto committed_vs_target = [&](int64_t* mirrored) {
    auto [ec, committed] = net::await<R>([&](auto done) {
      offsets->fetch({{"orders", 0}, {"orders", 1}, {"orders", 2}}, [done](auto e, auto m) { done({e, m}); });
    });
    if (ec) return false;
    *mirrored = 0;
    for (int p = 0; p < 3; ++p) {
      auto t = app::read_partition(reader_dst.cluster, {"orders", p});
      auto c = committed[{"orders", p}];
      if (!c || c->value() != t.high_watermark) return false;
      *mirrored += t.high_watermark;
    }
    return true;
  };
  int64_t mirrored = 0;
  ASSERT_TRUE(wait_until([&] { return committed_vs_target(&mirrored); }, 20s));
  std::this_thread::sleep_for(500ms);  // nothing more goes out for the retired topic
  int64_t again = 0;
  EXPECT_TRUE(committed_vs_target(&again));
  EXPECT_EQ(again, mirrored);
  EXPECT_LT(mirrored, 3000) << "the retirement should land mid-stream";

  // Selected again: resumes at the committed offsets; the target ends identical.
  next.select_topic = [](const std::string& t) { return t == "orders" || t == "clicks"; };
  route->reconfigure(next);
  for (int p = 0; p < 3; ++p) {
    auto s = app::read_partition(reader_src.cluster, {"orders", p});
    ASSERT_TRUE(wait_until(
        [&] { return app::read_partition(reader_dst.cluster, {"orders", p}).high_watermark == s.high_watermark; },
        30s))
        << p;
    auto t = app::read_partition(reader_dst.cluster, {"orders", p});
    auto proof = app::prove_identity(t.batches, {s.batches});
    EXPECT_TRUE(proof.ok) << proof.detail;
  }
  EXPECT_EQ(app::read_partition(reader_dst.cluster, {"clicks", 0}).high_watermark,
            app::read_partition(reader_src.cluster, {"clicks", 0}).high_watermark);
  std::promise<void> stopped;
  route->stop(net::Millis(5000), [&] { stopped.set_value(); });
  stopped.get_future().wait();
  source->close();
  target->close();
}

}  // namespace
}  // namespace tiermirror::test
