// Decode kernels on in-memory synthetic streams (no file I/O): events/s and input bytes/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/dat.hpp"
#include "formats/prophesee/evt2.hpp"
#include "formats/prophesee/evt21.hpp"
#include "formats/prophesee/evt3.hpp"

namespace {

constexpr std::size_t kEvents = 4'000'000;

struct Encoded {
  std::vector<std::uint8_t> payload;  // the event stream without its header
  std::size_t events = 0;
};

// A synthetic scene written in `format`, payload only, cached per format.
const Encoded& encoded(const std::string& format) {
  static std::map<std::string, Encoded> cache;
  auto it = cache.find(format);
  if (it != cache.end()) return it->second;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("evlib-bench-" + std::to_string(::getpid()) + "." + format)).string();
  {
    evlib::WriteOptions wo;
    wo.format = format;
    wo.width = 1280;
    wo.height = 720;
    wo.overwrite = true;
    evlib::Writer w = evlib::Writer::create(path, wo);
    evlib::SceneGenerator gen({});
    evlib::EventBatch batch = evlib::EventBatch::with_capacity(kEvents);
    evlib::TriggerBatch triggers;
    gen.generate(batch, triggers, kEvents);
    w.write(batch, triggers);
    w.close();
  }
  const auto meta = evlib::read_metadata(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  Encoded e;
  e.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(meta.data_offset), bytes.end());
  e.events = kEvents;
  return cache.emplace(format, std::move(e)).first->second;
}

template <class Decoder, class Config>
void decode_into_reused_batch(benchmark::State& state, const std::string& format, Config config) {
  const Encoded& e = encoded(format);
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(e.events + 64);
  evlib::TriggerBatch triggers;
  for (auto _ : state) {
    Decoder decoder(config);
    auto sink = evlib::detail::ColumnSink::over(batch);
    sink.n = 0;
    triggers.clear();
    decoder.feed(e.payload.data(), e.payload.size(), sink, triggers);
    decoder.finish();
    if (sink.n != e.events) state.SkipWithError("wrong event count");
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * e.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * e.payload.size()));
}

// The same decode into a reused batch of 64 Ki events (832 KiB of columns, as a streaming
// chunk that stays in the core's cache): the decoder's own speed, not the memory bus's.
template <class Decoder, class Config>
void decode_into_cached_chunks(benchmark::State& state, const std::string& format, Config config) {
  const Encoded& e = encoded(format);
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(std::size_t{1} << 16);
  evlib::TriggerBatch triggers;
  for (auto _ : state) {
    Decoder decoder(config);
    std::size_t events = 0;
    for (std::size_t used = 0; used < e.payload.size();) {
      auto sink = evlib::detail::ColumnSink::over(batch);
      sink.n = 0;
      triggers.clear();
      used += decoder.feed(e.payload.data() + used, e.payload.size() - used, sink, triggers);
      events += sink.n;
      benchmark::DoNotOptimize(batch.t_data());
    }
    decoder.finish();
    if (events != e.events) state.SkipWithError("wrong event count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * e.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * e.payload.size()));
}

evlib::detail::WordDecoderConfig gen4() {
  evlib::detail::WordDecoderConfig c;
  c.width = 1280;
  c.height = 720;
  return c;
}

void BM_Evt3Decode(benchmark::State& state) { decode_into_reused_batch<evlib::detail::Evt3Decoder>(state, "evt3", gen4()); }
void BM_Evt3DecodeCachedChunks(benchmark::State& state) {
  decode_into_cached_chunks<evlib::detail::Evt3Decoder>(state, "evt3", gen4());
}
void BM_Evt2Decode(benchmark::State& state) { decode_into_reused_batch<evlib::detail::Evt2Decoder>(state, "evt2", gen4()); }
void BM_DatDecode(benchmark::State& state) {
  evlib::detail::DatConfig c;
  c.width = 1280;
  c.height = 720;
  decode_into_reused_batch<evlib::detail::DatDecoder>(state, "dat", c);
}

}  // namespace

BENCHMARK(BM_Evt3Decode)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Evt3DecodeCachedChunks)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Evt2Decode)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_DatDecode)->Unit(benchmark::kMillisecond)->MinTime(1.0);
