// Every format evlib can both write and read, through the public API on a file in the page cache:
// evlib::read (whole file into columns) and Reader streaming (1 Mi-event chunks). Formats come
// from evlib::writable_formats() at start-up, so a new format is measured once it is registered.
// Also the EVT 2.1 decode kernel in memory (evlib writes no EVT 2.1; bench_support encodes it).
// Events/s and file bytes/s.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/evt21.hpp"

namespace {

namespace bench = evlib::bench;

constexpr std::size_t kEvents = 2'000'000;

// The scene written as `format` once per process (empty when this build cannot write it).
const std::string& file(const std::string& format) {
  static std::map<std::string, std::string> paths;
  auto it = paths.find(format);
  if (it == paths.end()) {
    std::string path;
    try {
      path = bench::write_file("read-input." + format, format, bench::scene(kEvents));
      bench::warm(path);
    } catch (const std::exception&) {
      path.clear();
    }
    it = paths.emplace(format, path).first;
  }
  return it->second;
}

void read_whole(benchmark::State& state, const std::string& format) {
  const std::string& path = file(format);
  if (path.empty()) {
    state.SkipWithError(("cannot write " + format).c_str());
    return;
  }
  std::size_t got = 0;
  for (auto _ : state) got = evlib::read(path).events.size();
  if (got != kEvents) state.SkipWithError("wrong event count");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
}

void read_streaming(benchmark::State& state, const std::string& format) {
  const std::string& path = file(format);
  if (path.empty()) {
    state.SkipWithError(("cannot write " + format).c_str());
    return;
  }
  std::size_t got = 0;
  for (auto _ : state) {
    evlib::Reader reader = evlib::Reader::open(path);
    got = 0;
    while (auto chunk = reader.next()) got += chunk->events.size();
  }
  if (got != kEvents) state.SkipWithError("wrong event count");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
}

[[maybe_unused]] const bool registered = [] {
  for (const std::string& format : evlib::writable_formats()) {
    // Real time: evlib::read clears fresh pages on a helper thread, whose CPU time the main
    // thread's clock would not see.
    benchmark::RegisterBenchmark(("BM_ReadWholeFile/" + format).c_str(), read_whole, format)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_ReadStreaming/" + format).c_str(), read_streaming, format)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

void BM_Evt21Decode(benchmark::State& state) {
  static const std::vector<std::uint8_t> payload = bench::encode_evt21(bench::scene(kEvents));
  evlib::detail::WordDecoderConfig c;
  c.width = bench::kWidth;
  c.height = bench::kHeight;
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(kEvents + 64);
  evlib::TriggerBatch triggers;
  for (auto _ : state) {
    evlib::detail::Evt21Decoder decoder(c, /*legacy_layout=*/false);
    auto sink = evlib::detail::ColumnSink::over(batch);
    sink.n = 0;
    triggers.clear();
    decoder.feed(payload.data(), payload.size(), sink, triggers);
    decoder.finish();
    if (sink.n != kEvents) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_Evt21Decode)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
