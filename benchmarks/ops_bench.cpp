// Processing kernels (include/evlib/ops/), events/s on one core, the input in memory and the
// output tensor allocated once: what the kernels cost apart from decoding and conversions.
// Random pixels are the worst case for the tensor's cache; sensors of 320x240 (tensor in L2)
// and 1280x720 (not) bracket real use.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/refractory.hpp"
#include "evlib/ops/stacked_histogram.hpp"
#include "evlib/ops/stcf.hpp"
#include "evlib/ops/time_surface.hpp"
#include "evlib/ops/voxel_grid.hpp"

namespace {

using namespace evlib::ops;

constexpr std::size_t kEvents = 4'000'000;

struct Stream {
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;
  evlib::EventView view() const { return {t.data(), x.data(), y.data(), p.data(), t.size()}; }
};

// About 20 M events/s of sensor time: 4 M events over 0.2 s.
const Stream& stream(SensorSize sensor) {
  static std::vector<std::pair<std::uint32_t, Stream>> cache;
  for (auto& [w, s] : cache)
    if (w == sensor.width) return s;
  std::mt19937_64 rng(42);
  Stream s;
  std::int64_t t = 0;
  for (std::size_t i = 0; i < kEvents; ++i) {
    t += static_cast<std::int64_t>(rng() % 100 == 0) * 5;
    s.t.push_back(t);
    s.x.push_back(static_cast<std::uint16_t>(rng() % sensor.width));
    s.y.push_back(static_cast<std::uint16_t>(rng() % sensor.height));
    s.p.push_back(static_cast<std::uint8_t>(rng() & 1));
  }
  return cache.emplace_back(sensor.width, std::move(s)).second;
}

// Arg 0: 320x240, 1: 1280x720, 2: 640x480.
SensorSize sensor_of(const benchmark::State& state) {
  constexpr SensorSize kSensors[] = {{320, 240}, {1280, 720}, {640, 480}};
  return kSensors[state.range(0)];
}

void BM_EventFrameInt16(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  const EventFrameOptions o{.sensor = sensor, .overflow = CountOverflow::kWrap};
  std::vector<std::int16_t> frame(2 * sensor.pixels());
  for (auto _ : state) {
    accumulate_frame<std::int16_t>(s.view(), o, frame);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_EventFrameInt16)->Arg(0)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_StackedHistogramRvt(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  StackedHistogramAccumulator acc(sensor, {.bins = 10, .count_cutoff = 10});
  std::vector<std::uint8_t> out(acc.size());
  for (auto _ : state) {
    acc.start(s.t.front(), s.t.back());
    acc.add(s.view());
    acc.finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_StackedHistogramRvt)->Arg(0)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond);

// The one-window function that the Python binding and `evlib frames` call (RVT's fast mode).
void BM_StackedHistogramRvtWindow(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  const StackedHistogramOptions o{.bins = 10, .count_cutoff = 10};
  std::vector<std::uint8_t> out(StackedHistogramAccumulator(sensor, o).size());
  for (auto _ : state) {
    stacked_histogram(s.view(), sensor, o, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_StackedHistogramRvtWindow)->Arg(0)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_VoxelGridE2vid(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  std::vector<float> out(5 * sensor.pixels());
  for (auto _ : state) {
    voxel_grid<float>(s.view(), {.sensor = sensor, .bins = 5}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_VoxelGridE2vid)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_VoxelGridTonic(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  std::vector<double> out(5 * sensor.pixels());
  for (auto _ : state) {
    voxel_grid<double>(s.view(), {.sensor = sensor, .bins = 5, .convention = VoxelConvention::kTonic}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_VoxelGridTonic)->Arg(0)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond);

// The last time per pixel, then its 8-bit frame (dv-processing's TimeSurface and generateFrame).
void BM_LastTimestampMap(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  const auto& s = stream(sensor);
  std::vector<std::uint8_t> frame(sensor.pixels());
  for (auto _ : state) {
    LastTimestampMap map(sensor);
    map.add(s.view());
    map.to_u8_scaled(frame);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}
BENCHMARK(BM_LastTimestampMap)->Arg(0)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond);

// tonic's HOTS surfaces on the events of benchmarks/ops_compare.py: 1 M events over 1 s (time
// steps uniform in 0..2 µs, so almost every event has its own time), dt 50 ms, tau 20 ms: 20
// surfaces of 2 x H x W float64 into a fresh output each time, as Python gets them.
void BM_HotsTimeSurfaces(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  constexpr std::size_t kSurfaceEvents = 1'000'000;
  std::mt19937_64 rng(7);
  Stream s;
  std::int64_t t = 0;
  for (std::size_t i = 0; i < kSurfaceEvents; ++i) {
    t += static_cast<std::int64_t>(rng() % 3);
    s.t.push_back(t);
    s.x.push_back(static_cast<std::uint16_t>(rng() % sensor.width));
    s.y.push_back(static_cast<std::uint16_t>(rng() % sensor.height));
    s.p.push_back(static_cast<std::uint8_t>(rng() & 1));
  }
  const HotsOptions o{.sensor = sensor, .dt_us = 50'000, .tau_us = 20'000.0};
  for (auto _ : state) benchmark::DoNotOptimize(hots_time_surfaces(s.view(), o).data());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSurfaceEvents));
}
BENCHMARK(BM_HotsTimeSurfaces)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond);

template <class Filter>
void run_filter(benchmark::State& state, Filter& filter, const Stream& s) {
  std::vector<std::uint8_t> keep(kEvents);
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.apply(s.view(), keep));
    filter.reset();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
}

void BM_RefractoryTonic(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  RefractoryFilter f(sensor, 1000, RefractoryConvention::kTonic);
  run_filter(state, f, stream(sensor));
}
BENCHMARK(BM_RefractoryTonic)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_BackgroundActivityDv(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  BackgroundActivityFilter f(sensor, 2000, BackgroundActivityConvention::kDvProcessing);
  run_filter(state, f, stream(sensor));
}
BENCHMARK(BM_BackgroundActivityDv)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Stcf(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  StcfFilter f(sensor, {.correlation_time_us = 2000, .min_correlated = 2});
  run_filter(state, f, stream(sensor));
}
BENCHMARK(BM_Stcf)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// jAER's current filter: its neighbourhood and polaritiesMustMatch (a second 3x3 read per event).
void BM_StcfJaer(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  StcfFilter f(sensor, {.correlation_time_us = 2000, .min_correlated = 2, .jaer_border = true, .polarities_must_match = true});
  run_filter(state, f, stream(sensor));
}
BENCHMARK(BM_StcfJaer)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// jAER's alternating-polarity shot-noise test alone (the polarity grid, no polarity match).
void BM_StcfShotNoise(benchmark::State& state) {
  const SensorSize sensor = sensor_of(state);
  StcfFilter f(sensor, {.correlation_time_us = 2000, .min_correlated = 2, .shot_noise_time_us = 1000});
  run_filter(state, f, stream(sensor));
}
BENCHMARK(BM_StcfShotNoise)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
