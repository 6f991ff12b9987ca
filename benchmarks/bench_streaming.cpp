// The streaming path over a file in the page cache: Reader::next() with reused chunk buffers at
// several chunk sizes (EVT3, EVT2, DAT), and Scan::collect on 1 and 2 threads (parallel decode
// over the time index). Events/s and file bytes/s. Peak memory per chunk size is not measured
// here: a process's high-water mark includes this program's inputs and never goes down, so
// `evlib bench FILE --sweep-chunks` and scripts/perf.sh measure it in a fresh process per size.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_support.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace {

namespace bench = evlib::bench;

constexpr std::size_t kEvents = 8'000'000;

const std::string& file(const std::string& format) {
  static std::string evt3, evt2, dat;
  std::string& path = format == "evt3" ? evt3 : format == "evt2" ? evt2 : dat;
  if (path.empty()) {
    path = bench::write_file("stream." + format, format, bench::scene(kEvents));
    bench::warm(path);
  }
  return path;
}

void stream(benchmark::State& state, const std::string& format) {
  const std::string& path = file(format);
  evlib::ReadOptions o;
  o.chunk_events = static_cast<std::size_t>(state.range(0));
  std::size_t got = 0;
  for (auto _ : state) {
    evlib::Reader reader = evlib::Reader::open(path, o);
    got = 0;
    while (auto chunk = reader.next()) got += chunk->events.size();
  }
  if (got != kEvents) state.SkipWithError("lost events");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
}

void BM_StreamEvt3(benchmark::State& state) { stream(state, "evt3"); }
void BM_StreamEvt2(benchmark::State& state) { stream(state, "evt2"); }
void BM_StreamDat(benchmark::State& state) { stream(state, "dat"); }
// 16 Ki to 4 Mi events per chunk: 0.2 MiB to 52 MiB of columns.
BENCHMARK(BM_StreamEvt3)->ArgName("chunk")->RangeMultiplier(4)->Range(1 << 14, 1 << 22)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamEvt2)->ArgName("chunk")->RangeMultiplier(4)->Range(1 << 14, 1 << 22)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamDat)->ArgName("chunk")->RangeMultiplier(4)->Range(1 << 14, 1 << 22)->Unit(benchmark::kMillisecond);

// Whole file through Scan::collect on N threads (the index is built once, before timing).
void BM_CollectThreadsEvt3(benchmark::State& state) {
  const std::string& path = file("evt3");
  {
    auto chunks = evlib::Scan(path).index_dir(bench::scratch_dir()).chunks();
    while (chunks.next()) {
    }
  }
  std::size_t got = 0;
  for (auto _ : state) {
    got = evlib::Scan(path).index_dir(bench::scratch_dir()).threads(static_cast<unsigned>(state.range(0))).collect().size();
  }
  if (got != kEvents) state.SkipWithError("lost events");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
}
BENCHMARK(BM_CollectThreadsEvt3)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
