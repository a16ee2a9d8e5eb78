// Micro benchmarks of the identity data path (and the repack path it avoids).
// Inputs: the librdkafka fixtures in tests/fixtures/record_batches/<codec>-plain.bin and
// larger batches produced into an in-process librdkafka mock cluster and read back raw.
// Every benchmark reports bytes/s through SetBytesProcessed. See perf/README.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tiermirror/app/mock_cluster.h"
#include "tiermirror/app/readback.h"
#include "tiermirror/net/cluster.h"
#include "tiermirror/net/connection.h"
#include "tiermirror/net/io_thread.h"
#include "tiermirror/pipeline/repack.h"
#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/frame.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/record_batch.h"
#include "tiermirror/protocol/record_set.h"

using namespace tiermirror;

namespace {

const char* const kCodecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};

SharedBuffer read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return SharedBuffer(std::move(b));
}

/// A fixture record set (small batches as librdkafka writes them in the tests).
SharedBuffer fixture(const std::string& codec) {
  static std::map<std::string, SharedBuffer> cache;
  auto it = cache.find(codec);
  if (it != cache.end()) return it->second;
  auto buf = read_file(std::string(TIERMIRROR_FIXTURES_DIR) + "/" + codec + "-plain.bin");
  cache[codec] = buf;
  return buf;
}

/// Large batches (~5000 records of 200-500 bytes) per codec: produced into a mock cluster by a
/// librdkafka producer, read back raw. Built once per process.
struct LargeBatches {
  std::map<std::string, std::vector<protocol::RecordBatchView>> by_codec;
  std::map<std::string, SharedBuffer> record_set;  // all batches of one codec back to back
};

const LargeBatches& large() {
  static std::unique_ptr<LargeBatches> lb;
  if (lb) return *lb;
  lb = std::make_unique<LargeBatches>();
  app::MockCluster cluster("bench", 1);
  net::IoThread io;
  auto reader = net::Cluster::create(io.io(), net::parse_endpoints(cluster.bootstrap()),
                                     net::ClusterOptions::named("bench"));
  for (const char* codec : kCodecs) {
    std::string topic = std::string("large-") + codec;
    cluster.create_topic(topic, 1);
    app::TrafficOptions t;
    t.codec = codec;
    t.records = 20000;
    t.batch_records = 5000;
    app::produce_traffic(cluster.bootstrap(), topic, t);
    auto dump = app::read_partition(reader, {topic, 0});
    if (dump.ec || dump.batches.empty()) throw std::runtime_error("readback failed for " + topic);
    Bytes all;
    for (auto& b : dump.batches) all.insert(all.end(), b.span().begin(), b.span().end());
    // Keep copies that do not depend on the reader's buffers after the cluster is gone.
    SharedBuffer joined(std::move(all));
    lb->record_set[codec] = joined;
    auto split = protocol::split_record_set(BufferSlice(joined), SourceOffset(0));
    lb->by_codec[codec] = std::move(split.batches);
  }
  reader->close();
  return *lb;
}

// ---------------------------------------------------------------- CRC-32C

void BM_Crc32c(benchmark::State& state) {
  Bytes data(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  for (auto _ : state) benchmark::DoNotOptimize(protocol::crc32c(ByteSpan(data)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_Crc32cSoftware(benchmark::State& state) {
  Bytes data(static_cast<size_t>(state.range(0)), 0x5a);
  for (auto _ : state) benchmark::DoNotOptimize(protocol::detail::crc32c_software(ByteSpan(data)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cSoftware)->Arg(1 << 20);

// ---------------------------------------------------------------- split_record_set

void split_bench(benchmark::State& state, const SharedBuffer& buf) {
  size_t batches = 0;
  for (auto _ : state) {
    auto r = protocol::split_record_set(BufferSlice(buf), SourceOffset(0));
    batches = r.batches.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["batches"] = static_cast<double>(batches);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
void BM_SplitFixture(benchmark::State& state, const char* codec) { split_bench(state, fixture(codec)); }
void BM_SplitLarge(benchmark::State& state, const char* codec) { split_bench(state, large().record_set.at(codec)); }
BENCHMARK_CAPTURE(BM_SplitFixture, none, "none");
BENCHMARK_CAPTURE(BM_SplitFixture, zstd, "zstd");
BENCHMARK_CAPTURE(BM_SplitLarge, none, "none");
BENCHMARK_CAPTURE(BM_SplitLarge, zstd, "zstd");

// ---------------------------------------------------------------- rewrite_header (incl. CRC of the payload)

void BM_RewriteHeader(benchmark::State& state, const char* codec) {
  const auto& batches = large().by_codec.at(codec);
  protocol::HeaderRewrite rw{ProducerId(4242), ProducerEpoch(0), 0};
  size_t bytes = 0;
  for (auto& b : batches) bytes += b.size();
  for (auto _ : state) {
    for (auto& b : batches) benchmark::DoNotOptimize(protocol::rewrite_header(b, rw));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK_CAPTURE(BM_RewriteHeader, none, "none");
BENCHMARK_CAPTURE(BM_RewriteHeader, zstd, "zstd");

// ---------------------------------------------------------------- encode_request(ProduceRequest)

void BM_EncodeProduce(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  const auto& batches = large().by_codec.at("zstd");
  protocol::HeaderRewrite rw{ProducerId(4242), ProducerEpoch(0), 0};
  protocol::ProduceRequest req;
  req.acks = -1;
  req.topics.push_back({"bench", {}});
  std::vector<SharedBuffer> headers;
  size_t bytes = 0;
  for (int p = 0; p < partitions; ++p) {
    const auto& b = batches[static_cast<size_t>(p) % batches.size()];
    auto h = protocol::rewrite_header(b, rw);
    headers.emplace_back(Bytes(h.begin(), h.end()));
    req.topics[0].partitions.push_back({p, {BufferSlice(headers.back()), b.records()}});
    bytes += b.size();
  }
  protocol::RequestHeader hdr{protocol::ApiKey::produce, 7, 1, std::string("tiermirror-bench")};
  for (auto _ : state) {
    auto segs = protocol::encode_request(hdr, req);
    benchmark::DoNotOptimize(segs);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["partitions"] = partitions;
}
BENCHMARK(BM_EncodeProduce)->Arg(1)->Arg(64)->Arg(512);

// ---------------------------------------------------------------- repack per codec (the path identity avoids)

void repack_bench(benchmark::State& state, const std::vector<protocol::RecordBatchView>& batches) {
  size_t bytes = 0, records = 0;
  for (auto& b : batches) bytes += b.size(), records += static_cast<size_t>(b.records_count());
  for (auto _ : state) {
    for (auto& b : batches) {
      auto r = pipeline::repack(b, 64u << 20);
      if (!r) {
        state.SkipWithError("repack failed");
        return;
      }
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records));
}
void BM_RepackFixture(benchmark::State& state, const char* codec) {
  static std::map<std::string, std::vector<protocol::RecordBatchView>> views;
  if (!views.count(codec)) views[codec] = protocol::split_record_set(BufferSlice(fixture(codec)), SourceOffset(0)).batches;
  repack_bench(state, views[codec]);
}
void BM_RepackLarge(benchmark::State& state, const char* codec) { repack_bench(state, large().by_codec.at(codec)); }
BENCHMARK_CAPTURE(BM_RepackFixture, none, "none");
BENCHMARK_CAPTURE(BM_RepackFixture, gzip, "gzip");
BENCHMARK_CAPTURE(BM_RepackFixture, snappy, "snappy");
BENCHMARK_CAPTURE(BM_RepackFixture, lz4, "lz4");
BENCHMARK_CAPTURE(BM_RepackFixture, zstd, "zstd");
BENCHMARK_CAPTURE(BM_RepackLarge, none, "none");
BENCHMARK_CAPTURE(BM_RepackLarge, gzip, "gzip");
BENCHMARK_CAPTURE(BM_RepackLarge, snappy, "snappy");
BENCHMARK_CAPTURE(BM_RepackLarge, lz4, "lz4");
BENCHMARK_CAPTURE(BM_RepackLarge, zstd, "zstd");

}  // namespace

BENCHMARK_MAIN();
