// Text / CSV events: the line parser on the layouts met in practice (our writer's integer µs
// "t x y p", RPG seconds with 9 decimals, Prophesee "x,y,p,t" CSV), streamed through the Reader
// with reused chunks from a file in the page cache; the writer; and the time-token parser alone.
// Events/s and file bytes/s.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
#include "formats/text/text.hpp"

namespace {

namespace bench = evlib::bench;

constexpr std::size_t kEvents = 2'000'000;

const evlib::EventBatch& events() {
  static const evlib::EventBatch scene = bench::scene(kEvents);
  return scene;
}

// The scene as text in one of three layouts, written once per process.
const std::string& text_file(const std::string& layout) {
  static std::map<std::string, std::string> paths;
  auto it = paths.find(layout);
  if (it != paths.end()) return it->second;
  std::string path;
  if (layout == "us") {
    path = bench::write_file("bench-text-us.txt", "text", events());
  } else {
    path = bench::scratch_dir() + "/bench-text-" + layout + ".txt";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const auto& e = events();
    char line[96];
    if (layout == "csv") out << "x,y,p,t\n";
    for (std::size_t i = 0; i < e.size(); ++i) {
      const long long t = e.t()[i];
      const int n = layout == "seconds"
                        ? std::snprintf(line, sizeof line, "%lld.%06lld000 %u %u %u\n", t / 1000000, t % 1000000,
                                        unsigned{e.x()[i]}, unsigned{e.y()[i]}, unsigned{e.p()[i]})
                        : std::snprintf(line, sizeof line, "%u,%u,%u,%lld\n", unsigned{e.x()[i]}, unsigned{e.y()[i]},
                                        unsigned{e.p()[i]}, t);
      out.write(line, n);
    }
  }
  bench::warm(path);
  return paths.emplace(layout, path).first->second;
}

void stream(benchmark::State& state, const std::string& layout) {
  const std::string& path = text_file(layout);
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

void BM_TextStreamIntegerUs(benchmark::State& state) { stream(state, "us"); }
void BM_TextStreamRpgSeconds(benchmark::State& state) { stream(state, "seconds"); }
void BM_TextStreamProphCsv(benchmark::State& state) { stream(state, "csv"); }

void BM_TextReadWhole(benchmark::State& state) {
  const std::string& path = text_file("us");
  std::size_t got = 0;
  for (auto _ : state) got = evlib::read(path).events.size();
  if (got != kEvents) state.SkipWithError("wrong event count");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

void BM_TextWrite(benchmark::State& state) {
  const std::string path = bench::scratch_dir() + "/bench-text-write.txt";
  for (auto _ : state) {
    evlib::WriteOptions wo;
    wo.overwrite = true;
    evlib::Writer w = evlib::Writer::create(path, wo);
    w.write(events());
    w.close();
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

// The time token alone: decimal seconds (fixed point) and integer µs.
void time_tokens(benchmark::State& state, const char* format, int exponent) {
  std::string buffer;
  char token[64];
  for (std::size_t i = 0; i < 100000; ++i) {
    const long long t = events().t()[i];
    std::snprintf(token, sizeof token, format, t / 1000000, t % 1000000);
    buffer += token;
  }
  std::int64_t sum = 0;
  for (auto _ : state) {
    const char* p = buffer.data();
    const char* end = p + buffer.size();
    while (p < end) {
      std::int64_t us = 0;
      p = evlib::detail::parse_text_time(p, end, exponent, us) + 1;
      sum += us;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 100000));
}

void BM_ParseTimeSeconds(benchmark::State& state) { time_tokens(state, "%lld.%06lld001\n", 6); }
void BM_ParseTimeMicroseconds(benchmark::State& state) { time_tokens(state, "%lld%06lld\n", 0); }

}  // namespace

BENCHMARK(BM_TextStreamIntegerUs)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_TextStreamRpgSeconds)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_TextStreamProphCsv)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_TextReadWhole)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_TextWrite)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_ParseTimeSeconds)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseTimeMicroseconds)->Unit(benchmark::kMicrosecond);
