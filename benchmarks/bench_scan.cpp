// Scan predicates and re-batching, events/s and bytes/s:
//  - EventFilter::apply over an in-memory batch (time, ROI, polarity, all three);
//  - the same predicates pushed into the decode loops (in memory, EVT3 / EVT2 / DAT), to compare
//    with BM_*Decode in bench_decoders.cpp;
//  - Scan::collect with predicates on a file (pushdown end to end) against read-then-apply;
//  - a time window served by the time index;
//  - re-batching a whole file with Scan::batches(ByCount) / batches(ByTime) at several sizes,
//    against the decoder's own chunks.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "evlib/filter.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "formats/prophesee/dat.hpp"
#include "formats/prophesee/evt2.hpp"
#include "formats/prophesee/evt3.hpp"

namespace {

using evlib::EventBatch;
namespace bench = evlib::bench;

constexpr std::size_t kEvents = 4'000'000;

const EventBatch& source() {
  static const EventBatch batch = bench::scene(kEvents);
  return batch;
}

void copy_into(EventBatch& dst, const EventBatch& src) {
  std::memcpy(dst.t_data(), src.t().data(), src.size() * sizeof(std::int64_t));
  std::memcpy(dst.x_data(), src.x().data(), src.size() * sizeof(std::uint16_t));
  std::memcpy(dst.y_data(), src.y().data(), src.size() * sizeof(std::uint16_t));
  std::memcpy(dst.p_data(), src.p().data(), src.size());
  dst.set_size(src.size());
}

enum Predicate { kTime, kRoi, kPolarity, kAll };

// Each predicate keeps a part of the scene: the middle half of its time span, the centred quarter
// of the sensor, the ON events.
evlib::EventFilter make_filter(Predicate which) {
  const EventBatch& src = source();
  const std::int64_t t_first = src.t().front(), t_last = src.t().back();
  evlib::EventFilter f;
  if (which == kTime || which == kAll) {
    f.t0 = t_first + (t_last - t_first) / 4;
    f.t1 = t_last - (t_last - t_first) / 4;
  }
  if (which == kRoi || which == kAll) {
    f.x0 = 320;
    f.x1 = 960;
    f.y0 = 180;
    f.y1 = 540;
  }
  if (which == kPolarity || which == kAll) f.polarities = 2;
  return f;
}

void BM_FilterApply(benchmark::State& state) {
  const evlib::EventFilter f = make_filter(static_cast<Predicate>(state.range(0)));
  const EventBatch& src = source();
  EventBatch batch = EventBatch::with_capacity(src.size());
  std::size_t kept = 0;
  for (auto _ : state) {
    state.PauseTiming();
    copy_into(batch, src);  // apply() compacts in place
    state.ResumeTiming();
    kept = f.apply(batch);
    benchmark::DoNotOptimize(batch.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * src.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * src.size() * 13));
  state.counters["kept_fraction"] = static_cast<double>(kept) / static_cast<double>(src.size());
}
BENCHMARK(BM_FilterApply)->ArgName("time0_roi1_pol2_all3")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

// ---- pushed into the decode loops (in memory) --------------------------------------------------

const std::vector<std::uint8_t>& payload(const std::string& format) {
  static std::vector<std::uint8_t> evt3, evt2, dat;
  std::vector<std::uint8_t>& p = format == "evt3" ? evt3 : format == "evt2" ? evt2 : dat;
  if (p.empty()) p = bench::payload_of(bench::write_file("scan-input." + format, format, source()));
  return p;
}

template <class Decoder, class Config>
void decode_filtered(benchmark::State& state, const std::string& format, Config config) {
  config.filter = make_filter(static_cast<Predicate>(state.range(0)));
  const std::vector<std::uint8_t>& bytes = payload(format);
  EventBatch out = EventBatch::with_capacity(kEvents + 64);
  evlib::TriggerBatch triggers;
  std::size_t kept = 0;
  for (auto _ : state) {
    Decoder decoder(config);
    auto sink = evlib::detail::ColumnSink::over(out);
    sink.n = 0;
    triggers.clear();
    decoder.feed(bytes.data(), bytes.size(), sink, triggers);
    decoder.finish();
    kept = sink.n;
    benchmark::DoNotOptimize(out.t_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.counters["kept_fraction"] = static_cast<double>(kept) / static_cast<double>(kEvents);
}

evlib::detail::WordDecoderConfig gen4() {
  evlib::detail::WordDecoderConfig c;
  c.width = bench::kWidth;
  c.height = bench::kHeight;
  return c;
}

void BM_Evt3DecodeFiltered(benchmark::State& state) {
  decode_filtered<evlib::detail::Evt3Decoder>(state, "evt3", gen4());
}
void BM_Evt2DecodeFiltered(benchmark::State& state) {
  decode_filtered<evlib::detail::Evt2Decoder>(state, "evt2", gen4());
}
void BM_DatDecodeFiltered(benchmark::State& state) {
  evlib::detail::DatConfig c;
  c.width = bench::kWidth;
  c.height = bench::kHeight;
  decode_filtered<evlib::detail::DatDecoder>(state, "dat", c);
}
BENCHMARK(BM_Evt3DecodeFiltered)->ArgName("time0_roi1_pol2_all3")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Evt2DecodeFiltered)->ArgName("time0_roi1_pol2_all3")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DatDecodeFiltered)->ArgName("time0_roi1_pol2_all3")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

// ---- scans over a file (page cache warm) -------------------------------------------------------

const std::string& evt3_file() {
  static const std::string path = [] {
    std::string p = bench::write_file("scan.evt3", "evt3", source());
    bench::warm(p);
    return p;
  }();
  return path;
}

// ROI + polarity pushed into the decoder by Scan::collect, no index (one sequential pass).
void BM_ScanCollectPushdown(benchmark::State& state) {
  const std::string& path = evt3_file();
  std::size_t kept = 0;
  for (auto _ : state) {
    kept = evlib::Scan(path).roi(320, 180, 960, 540).polarity(1).threads(1).index(evlib::IndexPolicy::kOff).collect().size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
  state.counters["kept_fraction"] = static_cast<double>(kept) / static_cast<double>(kEvents);
}
BENCHMARK(BM_ScanCollectPushdown)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same result the slow way: the whole file into memory, then EventFilter::apply.
void BM_ReadThenApply(benchmark::State& state) {
  const std::string& path = evt3_file();
  const evlib::EventFilter f = make_filter(kRoi);
  evlib::EventFilter both = f;
  both.polarities = 2;
  std::size_t kept = 0;
  for (auto _ : state) {
    evlib::Recording rec = evlib::read(path);
    kept = both.apply(rec.events);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * evlib::read_metadata(path).file_size));
  state.counters["kept_fraction"] = static_cast<double>(kept) / static_cast<double>(kEvents);
}
// Real time: evlib::read clears fresh pages on a helper thread.
BENCHMARK(BM_ReadThenApply)->Unit(benchmark::kMillisecond)->UseRealTime();

// A time window of 1/range(0) of the recording, in its middle, served by the time index (built
// and cached in the scratch directory before timing). Items are the events in the window: the
// rate shows how close a window query gets to the cost of the window itself. The index has one
// segment per scan chunk, and a window decodes at least the segments it overlaps: the chunk is
// fixed at 64 Ki events here (the default follows available memory, up to 2 Mi events, which
// would be half of this 4 M-event file).
void BM_ScanTimeWindowIndexed(benchmark::State& state) {
  const std::string& path = evt3_file();
  const EventBatch& src = source();
  const std::int64_t span = src.t().back() - src.t().front();
  const std::int64_t t0 = src.t().front() + span / 2, t1 = t0 + span / state.range(0);
  evlib::ReadOptions o;
  o.chunk_events = 1 << 16;
  {
    auto chunks = evlib::Scan(path, o).index_dir(bench::scratch_dir()).chunks();
    while (chunks.next()) {
    }
  }
  std::size_t got = 0;
  for (auto _ : state) {
    got = evlib::Scan(path, o).index_dir(bench::scratch_dir()).time(t0, t1).threads(1).collect().size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * got));
  state.counters["window_events"] = static_cast<double>(got);
}
BENCHMARK(BM_ScanTimeWindowIndexed)->ArgName("fraction_1_over")->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ---- re-batching --------------------------------------------------------------------------------

constexpr std::size_t kScanChunk = 1 << 18;  // fixed, so that the default (memory-dependent) cannot vary

evlib::Scan rebatch_scan() {
  evlib::ReadOptions o;
  o.chunk_events = kScanChunk;
  return evlib::Scan(evt3_file(), o).index(evlib::IndexPolicy::kOff);
}

template <class Stream>
std::size_t drain(Stream&& stream) {
  std::size_t n = 0;
  while (auto b = stream.next()) n += b->events.size();
  return n;
}

void report_pass(benchmark::State& state, std::size_t got) {
  if (got != kEvents) state.SkipWithError("lost events");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kEvents * 13));
}

// The reference: the decoder's chunks as they come (no concatenation).
void BM_RebatchChunks(benchmark::State& state) {
  evt3_file();  // written before the clock starts
  std::size_t got = 0;
  for (auto _ : state) got = drain(rebatch_scan().chunks());
  report_pass(state, got);
}
BENCHMARK(BM_RebatchChunks)->Unit(benchmark::kMillisecond);

void BM_RebatchByCount(benchmark::State& state) {
  evt3_file();
  std::size_t got = 0;
  for (auto _ : state) got = drain(rebatch_scan().batches(evlib::ByCount{static_cast<std::size_t>(state.range(0))}));
  report_pass(state, got);
}
BENCHMARK(BM_RebatchByCount)->ArgName("events")->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

void BM_RebatchByTime(benchmark::State& state) {
  evt3_file();
  std::size_t got = 0;
  evlib::ByTime by{};
  by.width_us = state.range(0);
  for (auto _ : state) got = drain(rebatch_scan().batches(by));
  report_pass(state, got);
}
// The scene runs at 20 M events/s: 100 µs windows hold ~2 000 events, 50 ms windows ~1 M.
BENCHMARK(BM_RebatchByTime)->ArgName("width_us")->Arg(100)->Arg(1'000)->Arg(10'000)->Arg(50'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
