// AEDAT kernels and readers: AEDAT 4.0 files written by our writer (LZ4, Zstd, none) streamed
// through Reader::next() with reused chunks, one LZ4 packet decompressed, the AEDAT 2.0 and 3.1
// record decoders on in-memory streams, and the AEDAT 4.0 writer. Events/s and bytes/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/inivation/aedat2.hpp"
#include "formats/inivation/aedat3.hpp"
#include "formats/inivation/aedat4.hpp"

namespace {

constexpr std::size_t kEvents = 4'000'000;

struct Scene {
  evlib::EventBatch events;
  evlib::TriggerBatch triggers;
};

const Scene& scene() {
  static const Scene s = [] {
    Scene out;
    evlib::SceneGenerator gen({});
    out.events = evlib::EventBatch::with_capacity(kEvents);
    gen.generate(out.events, out.triggers, kEvents);
    return out;
  }();
  return s;
}

// Temporary files removed at exit.
struct TempFiles {
  std::map<std::string, std::string> paths;
  ~TempFiles() {
    for (const auto& [k, p] : paths) std::filesystem::remove(p);
  }
};

std::string write_aedat4(const std::string& compression) {
  static TempFiles files;
  auto it = files.paths.find(compression);
  if (it != files.paths.end()) return it->second;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("evlib-bench-" + std::to_string(::getpid()) + "-" + compression + ".aedat4")).string();
  evlib::WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.overwrite = true;
  wo.compression = compression;
  evlib::Writer w = evlib::Writer::create(path, wo);
  w.write(scene().events, scene().triggers);
  w.close();
  return files.paths.emplace(compression, path).first->second;
}

void read_aedat4(benchmark::State& state, const std::string& compression) {
  const std::string path = write_aedat4(compression);
  const auto bytes = std::filesystem::file_size(path);
  evlib::ReadOptions o;
  for (auto _ : state) {
    evlib::Reader r = evlib::Reader::open(path, o);
    std::size_t n = 0;
    while (auto c = r.next()) n += c->events.size();
    if (n != kEvents) state.SkipWithError("wrong event count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void BM_Aedat4StreamLz4(benchmark::State& state) { read_aedat4(state, "lz4"); }
void BM_Aedat4StreamZstd(benchmark::State& state) { read_aedat4(state, "zstd"); }
void BM_Aedat4StreamNone(benchmark::State& state) { read_aedat4(state, "none"); }

// One packet's LZ4 frame: the decompression share of the AEDAT 4.0 decode.
void BM_Aedat4Lz4Packet(benchmark::State& state) {
  const std::string path = write_aedat4("lz4");
  const auto table = evlib::detail::read_aedat4_packet_table(path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(std::filesystem::file_size(path)));
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr || std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) state.SkipWithError("read failed");
    if (f != nullptr) std::fclose(f);
  }
  const auto& e = table.at(table.size() / 2);
  const std::span<const std::uint8_t> payload(bytes.data() + e.byte_offset, static_cast<std::size_t>(e.size));
  evlib::detail::Aedat4Decompressor d(evlib::detail::Aedat4Compression::kLz4);
  std::size_t out_bytes = 0;
  for (auto _ : state) {
    std::span<const std::uint8_t> out;
    if (d.decompress(payload, out) != nullptr) state.SkipWithError("decompression failed");
    out_bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * e.elements));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out_bytes));
}

void BM_Aedat4WriteLz4(benchmark::State& state) {
  const std::string path = (std::filesystem::temp_directory_path() / ("evlib-bench-w-" + std::to_string(::getpid()) + ".aedat4")).string();
  evlib::WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.overwrite = true;
  for (auto _ : state) {
    evlib::Writer w = evlib::Writer::create(path, wo);
    w.write(scene().events, scene().triggers);
    w.close();
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

// AEDAT 2.0 DAVIS346 records (big-endian address, timestamp) from the scene, decoded in memory.
void BM_Aedat2Decode(benchmark::State& state) {
  const Scene& s = scene();
  std::vector<std::uint8_t> records;
  records.reserve(kEvents * 8);
  for (std::size_t i = 0; i < kEvents; ++i) {
    const std::uint32_t x = s.events.x()[i] % 346, y = s.events.y()[i] % 260;
    const std::uint32_t a = (259 - y) << 22 | (345 - x) << 12 | std::uint32_t{s.events.p()[i]} << 11;
    const auto t = static_cast<std::uint32_t>(s.events.t()[i]);
    for (std::uint32_t v : {a, t}) {
      for (int k = 3; k >= 0; --k) records.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
    }
  }
  evlib::detail::Aedat2Config c;
  c.layout = evlib::detail::AedatLayout::kDavis;
  c.width = 346;
  c.height = 260;
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(kEvents + 64);
  evlib::TriggerBatch triggers;
  for (auto _ : state) {
    evlib::detail::Aedat2Decoder<8> d(c);
    auto sink = evlib::detail::ColumnSink::over(batch);
    d.feed(records.data(), records.size(), sink, triggers);
    d.finish();
    if (sink.n != kEvents) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * records.size()));
}

// AEDAT 3.1 polarity packets of 4096 events (the scene folded into 1280x720 fits 15-bit fields).
void BM_Aedat3Decode(benchmark::State& state) {
  const Scene& s = scene();
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kPacket = 4096;
  for (std::size_t first = 0; first < kEvents; first += kPacket) {
    const std::size_t n = std::min(kPacket, kEvents - first);
    const std::int32_t head[6] = {8, 4, 0, static_cast<std::int32_t>(n), static_cast<std::int32_t>(n), static_cast<std::int32_t>(n)};
    const std::uint8_t type_source[4] = {1, 0, 1, 0};
    bytes.insert(bytes.end(), type_source, type_source + 4);
    const auto* h = reinterpret_cast<const std::uint8_t*>(head);
    bytes.insert(bytes.end(), h, h + 24);
    for (std::size_t i = first; i < first + n; ++i) {
      const std::uint32_t data = std::uint32_t{s.events.x()[i]} << 17 | std::uint32_t{s.events.y()[i]} << 2 |
                                 std::uint32_t{s.events.p()[i]} << 1 | 1;
      const auto t = static_cast<std::uint32_t>(s.events.t()[i] & 0x7FFFFFFF);
      const std::uint32_t w[2] = {data, t};
      const auto* b = reinterpret_cast<const std::uint8_t*>(w);
      bytes.insert(bytes.end(), b, b + 8);
    }
  }
  evlib::detail::Aedat3Config c;
  c.width = 1280;
  c.height = 720;
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(kEvents + 64);
  evlib::TriggerBatch triggers;
  for (auto _ : state) {
    evlib::detail::Aedat3Decoder d(c);
    auto sink = evlib::detail::ColumnSink::over(batch);
    d.feed(bytes.data(), bytes.size(), sink, triggers);
    d.finish();
    if (sink.n != kEvents) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

}  // namespace

BENCHMARK(BM_Aedat4StreamLz4)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Aedat4StreamZstd)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Aedat4StreamNone)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Aedat4Lz4Packet)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Aedat4WriteLz4)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Aedat2Decode)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Aedat3Decode)->Unit(benchmark::kMillisecond)->MinTime(1.0);
