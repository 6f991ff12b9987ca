// HDF5 reading (whole file and streamed, uncompressed and gzip) and the ECF codec, on a
// synthetic scene. Files are written once per process into the temp directory and removed at exit.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/ecf.hpp"

namespace {

constexpr std::size_t kEvents = 4'000'000;
constexpr std::size_t kEcfBlock = 16384;  // Metavision's chunk size

const evlib::EventBatch& scene() {
  static const evlib::EventBatch batch = [] {
    evlib::EventBatch b = evlib::EventBatch::with_capacity(kEvents);
    evlib::TriggerBatch triggers;
    evlib::SceneGenerator({}).generate(b, triggers, kEvents);
    return b;
  }();
  return batch;
}

struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const auto& p : paths) std::filesystem::remove(p);
  }
};

// The scene written by evlib's HDF5 writer with `compression`, once per process.
const std::string& hdf5_file(const std::string& compression) {
  static TempFiles files;
  static std::map<std::string, std::string> cache;
  auto it = cache.find(compression);
  if (it != cache.end()) return it->second;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("evlib-bench-" + std::to_string(::getpid()) + "-" + compression + ".h5")).string();
  evlib::WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.overwrite = true;
  wo.compression = compression;
  evlib::Writer w = evlib::Writer::create(path, wo);
  w.write(scene());
  w.close();
  files.paths.push_back(path);
  return cache.emplace(compression, path).first->second;
}

void read_whole(benchmark::State& state, const std::string& compression) {
  const std::string& path = hdf5_file(compression);
  for (auto _ : state) {
    const evlib::Recording rec = evlib::read(path);
    if (rec.events.size() != kEvents) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(rec.events.t().data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * std::filesystem::file_size(path)));
}

void read_streamed(benchmark::State& state, const std::string& compression) {
  const std::string& path = hdf5_file(compression);
  evlib::ReadOptions options;
  options.chunk_events = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    evlib::Reader reader = evlib::Reader::open(path, options);
    std::size_t n = 0;
    while (auto chunk = reader.next()) n += chunk->events.size();
    if (n != kEvents) state.SkipWithError("wrong event count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

void BM_Hdf5ReadWhole_Uncompressed(benchmark::State& state) { read_whole(state, ""); }
void BM_Hdf5ReadWhole_Gzip1(benchmark::State& state) { read_whole(state, "gzip=1"); }
void BM_Hdf5Stream_Uncompressed(benchmark::State& state) { read_streamed(state, ""); }
void BM_Hdf5Stream_Gzip1(benchmark::State& state) { read_streamed(state, "gzip=1"); }

void BM_Hdf5Write_Uncompressed(benchmark::State& state) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("evlib-bench-write-" + std::to_string(::getpid()) + ".h5")).string();
  for (auto _ : state) {
    evlib::WriteOptions wo;
    wo.overwrite = true;
    evlib::Writer w = evlib::Writer::create(path, wo);
    w.write(scene());
    w.close();
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

// The scene cut into Metavision-sized ECF blocks in one mode.
struct EcfBlocks {
  std::vector<std::vector<std::uint8_t>> blocks;
  std::size_t bytes = 0;
};

const EcfBlocks& ecf_blocks(evlib::detail::ecf::Mode mode) {
  static std::map<int, EcfBlocks> cache;
  auto it = cache.find(static_cast<int>(mode));
  if (it != cache.end()) return it->second;
  const evlib::EventBatch& s = scene();
  EcfBlocks out;
  for (std::size_t begin = 0; begin < s.size(); begin += kEcfBlock) {
    const std::size_t n = std::min(kEcfBlock, s.size() - begin);
    std::vector<std::uint8_t> block;
    // ECF holds 11-bit coordinates; the 1280x720 scene fits.
    evlib::detail::ecf::encode({s.t().subspan(begin, n), s.x().subspan(begin, n), s.y().subspan(begin, n),
                                s.p().subspan(begin, n)},
                               block, mode);
    out.bytes += block.size();
    out.blocks.push_back(std::move(block));
  }
  return cache.emplace(static_cast<int>(mode), std::move(out)).first->second;
}

void ecf_decode(benchmark::State& state, evlib::detail::ecf::Mode mode) {
  const EcfBlocks& e = ecf_blocks(mode);
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(kEvents);
  for (auto _ : state) {
    std::size_t n = 0;
    for (const auto& block : e.blocks) {
      const auto r = evlib::detail::ecf::decode(
          block, {batch.t_data() + n, batch.x_data() + n, batch.y_data() + n, batch.p_data() + n}, kEvents - n);
      if (!r.ok()) state.SkipWithError(r.error);
      n += r.events;
    }
    if (n != kEvents) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * e.bytes));
  state.counters["bytes_per_event"] = static_cast<double>(e.bytes) / kEvents;
}

void BM_EcfDecode_Automatic(benchmark::State& state) { ecf_decode(state, evlib::detail::ecf::Mode::automatic); }
void BM_EcfDecode_Yxp(benchmark::State& state) { ecf_decode(state, evlib::detail::ecf::Mode::yxp_packed); }
void BM_EcfDecode_Xp(benchmark::State& state) { ecf_decode(state, evlib::detail::ecf::Mode::xp_packed); }
void BM_EcfDecode_MaskedX(benchmark::State& state) { ecf_decode(state, evlib::detail::ecf::Mode::masked_x); }

void BM_EcfEncode_Automatic(benchmark::State& state) {
  const evlib::EventBatch& s = scene();
  std::vector<std::uint8_t> block;
  for (auto _ : state) {
    for (std::size_t begin = 0; begin < s.size(); begin += kEcfBlock) {
      const std::size_t n = std::min(kEcfBlock, s.size() - begin);
      block.clear();
      evlib::detail::ecf::encode({s.t().subspan(begin, n), s.x().subspan(begin, n), s.y().subspan(begin, n),
                                  s.p().subspan(begin, n)},
                                 block);
      benchmark::DoNotOptimize(block.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

}  // namespace

BENCHMARK(BM_Hdf5ReadWhole_Uncompressed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Hdf5ReadWhole_Gzip1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Hdf5Stream_Uncompressed)->Arg(1 << 16)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Hdf5Stream_Gzip1)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Hdf5Write_Uncompressed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EcfDecode_Automatic)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcfDecode_Yxp)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcfDecode_Xp)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcfDecode_MaskedX)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcfEncode_Automatic)->Unit(benchmark::kMillisecond);
