// Every writer evlib has (one benchmark per name in evlib::writable_formats(), so a new format is
// measured as soon as it is registered): Writer::create + write + close of a synthetic scene
// into the scratch directory (tmpfs by default, so the disk and fsync stay out of the numbers).
// Reports events/s and output bytes/s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "bench_support.hpp"
#include "evlib/writer.hpp"

namespace {

constexpr std::size_t kEvents = 1'000'000;

const evlib::EventBatch& events() {
  static const evlib::EventBatch batch = evlib::bench::scene(kEvents);
  return batch;
}

void write_format(benchmark::State& state, const std::string& format) {
  const evlib::EventBatch& batch = events();
  const std::string path = evlib::bench::scratch_dir() + "/writer-out." + format;
  evlib::WriteOptions wo;
  wo.format = format;
  wo.width = evlib::bench::kWidth;
  wo.height = evlib::bench::kHeight;
  wo.overwrite = true;
  std::uintmax_t bytes = 0;
  for (auto _ : state) {
    evlib::Writer w = evlib::Writer::create(path, wo);
    w.write(batch);
    w.close();
    state.PauseTiming();
    bytes = std::filesystem::file_size(path);
    std::filesystem::remove(path);  // a full tmpfs would otherwise end the run
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["bytes_per_event"] = static_cast<double>(bytes) / static_cast<double>(batch.size());
}

// One writer encoding slice after slice into one file: the encoder's steady state, without the
// per-file costs (header, temporary file, rename) that dominate small files.
void write_format_steady(benchmark::State& state, const std::string& format) {
  const std::string path = evlib::bench::scratch_dir() + "/writer-steady." + format;
  evlib::WriteOptions wo;
  wo.format = format;
  wo.width = evlib::bench::kWidth;
  wo.height = evlib::bench::kHeight;
  wo.overwrite = true;
  // Time must not decrease across write() calls, so the iterations write consecutive slices of
  // one long scene (starting a new file when it runs out) rather than one batch over and over.
  static const evlib::EventBatch long_scene = evlib::bench::scene(8 * kEvents);
  const std::size_t slice = 100'000;
  evlib::Writer w = evlib::Writer::create(path, wo);
  std::size_t at = 0, written = 0;
  for (auto _ : state) {
    if (at + slice > long_scene.size()) {
      state.PauseTiming();
      w.close();
      std::filesystem::remove(path);
      w = evlib::Writer::create(path, wo);
      at = 0;
      state.ResumeTiming();
    }
    w.write(long_scene.slice(at, at + slice));
    at += slice;
    written += slice;
  }
  // After the loop the clock has stopped: closing the last file is not timed.
  w.close();
  const auto bytes = std::filesystem::file_size(path);
  std::filesystem::remove(path);
  state.SetItemsProcessed(static_cast<std::int64_t>(written));
  // Bytes/s estimated from the last file's bytes per event (the encoders' output rate).
  state.SetBytesProcessed(static_cast<std::int64_t>(static_cast<double>(written) * static_cast<double>(bytes) /
                                                    static_cast<double>(std::max<std::size_t>(at, 1))));
}

[[maybe_unused]] const bool registered = [] {
  for (const std::string& format : evlib::writable_formats()) {
    benchmark::RegisterBenchmark(("BM_Write/" + format).c_str(), write_format, format)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
    benchmark::RegisterBenchmark(("BM_WriteSteady/" + format).c_str(), write_format_steady, format)
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.5);
  }
  return true;
}();

}  // namespace
