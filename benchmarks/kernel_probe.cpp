// evlib_kernel_probe: runs one kernel once on a fixed, seeded input, with only the kernel inside
// Callgrind's instrumentation bracket, for scripts/perf-regress.sh.
//
//   evlib_kernel_probe --list
//   valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no evlib_kernel_probe evt3_decode
//
// Why instruction counts: this machine is shared and noisy (timings vary by 1.5-2.5x between
// runs) and has no hardware counters, but the instructions a kernel executes on a fixed input
// are nearly exact and repeatable, so a 10 % change is visible and attributable to the code.
//
// Everything outside the kernel (generating the scene, encoding the input, touching the output
// pages, checking the result) runs uninstrumented. Each kernel checks its output against the
// source events afterwards and exits with status 1 when it is wrong: a fast wrong kernel must
// not pass. Prints one JSON line: kernel, events (the normaliser), input bytes, build type.
#include <valgrind/callgrind.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "evlib/digest.hpp"
#include "evlib/filter.hpp"
#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/fast_decay.hpp"
#include "evlib/ops/refractory.hpp"
#include "evlib/ops/stacked_histogram.hpp"
#include "evlib/ops/stcf.hpp"
#include "evlib/ops/voxel_grid.hpp"
#include "evlib/reader.hpp"
#include "evlib/render/accumulation.hpp"
#include "evlib/scan.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/dat.hpp"
#include "formats/prophesee/evt2.hpp"
#include "formats/prophesee/evt21.hpp"
#include "formats/prophesee/evt3.hpp"

#ifndef EVLIB_PROBE_BUILD_TYPE
#define EVLIB_PROBE_BUILD_TYPE "unknown"
#endif

namespace {

using evlib::EventBatch;
using evlib::TriggerBatch;
namespace bench = evlib::bench;

// Brackets the measured region. --instr-atstart=no keeps everything else uninstrumented (and
// fast); --collect-atstart=no plus the toggle makes sure only this region is counted even if a
// caller forgets the instrumentation flag.
struct Measured {
  Measured() {
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_TOGGLE_COLLECT;
  }
  ~Measured() {
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_STOP_INSTRUMENTATION;
  }
  Measured(const Measured&) = delete;
  Measured& operator=(const Measured&) = delete;
};

struct Result {
  std::size_t events = 0;       // events the kernel processed: Ir is divided by this
  std::size_t input_bytes = 0;  // encoded bytes read or written, for context
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "evlib_kernel_probe: wrong result: %s\n", what.c_str());
  std::exit(1);
}

// A copy that owns its storage (EventBatch copies share columns).
EventBatch deep_copy(const EventBatch& src) {
  EventBatch out = EventBatch::with_capacity(src.size());
  std::memcpy(out.t_data(), src.t().data(), src.size() * sizeof(std::int64_t));
  std::memcpy(out.x_data(), src.x().data(), src.size() * sizeof(std::uint16_t));
  std::memcpy(out.y_data(), src.y().data(), src.size() * sizeof(std::uint16_t));
  std::memcpy(out.p_data(), src.p().data(), src.size());
  out.set_size(src.size());
  return out;
}

bool same_events(const EventBatch& a, const EventBatch& b) {
  return a.size() == b.size() && std::memcmp(a.t().data(), b.t().data(), a.size() * 8) == 0 &&
         std::memcmp(a.x().data(), b.x().data(), a.size() * 2) == 0 &&
         std::memcmp(a.y().data(), b.y().data(), a.size() * 2) == 0 &&
         std::memcmp(a.p().data(), b.p().data(), a.size()) == 0;
}

// An output batch with every page already touched, so that first-touch page faults (kernel
// time Callgrind cannot see anyway, but also allocator paths it can) stay out of the bracket.
EventBatch touched_batch(std::size_t capacity) {
  EventBatch out = EventBatch::with_capacity(capacity);
  std::memset(out.t_data(), 0, capacity * sizeof(std::int64_t));
  std::memset(out.x_data(), 0, capacity * sizeof(std::uint16_t));
  std::memset(out.y_data(), 0, capacity * sizeof(std::uint16_t));
  std::memset(out.p_data(), 0, capacity);
  return out;
}

// The filter of the predicate kernels: a centred quarter of the sensor, ON events, the middle
// half of the recording's time span (so each predicate rejects something).
evlib::EventFilter probe_filter(const EventBatch& src) {
  evlib::EventFilter f;
  const std::int64_t t_first = src.t().front(), t_last = src.t().back();
  f.t0 = t_first + (t_last - t_first) / 4;
  f.t1 = t_last - (t_last - t_first) / 4;
  f.x0 = 320;
  f.x1 = 960;
  f.y0 = 180;
  f.y1 = 540;
  f.polarities = 2;
  return f;
}

template <class Decoder, class Config>
Result decode_kernel(const EventBatch& src, const std::vector<std::uint8_t>& payload, Config config,
                     const EventBatch& expected, Decoder (*make)(const Config&)) {
  EventBatch out = touched_batch(src.size() + 64);
  TriggerBatch triggers;
  triggers.t.reserve(1024);
  Decoder decoder = make(config);
  auto sink = evlib::detail::ColumnSink::over(out);
  sink.n = 0;
  {
    Measured m;
    decoder.feed(payload.data(), payload.size(), sink, triggers);
    decoder.finish();
  }
  out.set_size(sink.n);
  if (decoder.stats().corrupt() != 0) fail("decoder reported corrupt input");
  if (!same_events(out, expected)) fail("decoded events differ from the encoded ones");
  return {src.size(), payload.size()};
}

evlib::detail::WordDecoderConfig gen4_config() {
  evlib::detail::WordDecoderConfig c;
  c.width = bench::kWidth;
  c.height = bench::kHeight;
  return c;
}

std::vector<std::uint8_t> encoded_payload(const std::string& format, const EventBatch& src) {
  return bench::payload_of(bench::write_file("probe-input." + format, format, src));
}

template <class Decoder>
Decoder make_word_decoder(const evlib::detail::WordDecoderConfig& c) {
  return Decoder(c);
}
evlib::detail::Evt21Decoder make_evt21(const evlib::detail::WordDecoderConfig& c) {
  return evlib::detail::Evt21Decoder(c, /*legacy_layout=*/false);
}
evlib::detail::DatDecoder make_dat(const evlib::detail::DatConfig& c) { return evlib::detail::DatDecoder(c); }

Result evt3_decode(std::size_t n) {
  const EventBatch src = bench::scene(n);
  return decode_kernel(src, encoded_payload("evt3", src), gen4_config(), src,
                       &make_word_decoder<evlib::detail::Evt3Decoder>);
}
Result evt2_decode(std::size_t n) {
  const EventBatch src = bench::scene(n);
  return decode_kernel(src, encoded_payload("evt2", src), gen4_config(), src,
                       &make_word_decoder<evlib::detail::Evt2Decoder>);
}
Result evt21_decode(std::size_t n) {
  const EventBatch src = bench::scene(n);
  return decode_kernel(src, bench::encode_evt21(src), gen4_config(), src, &make_evt21);
}
Result dat_decode(std::size_t n) {
  const EventBatch src = bench::scene(n);
  evlib::detail::DatConfig c;
  c.width = bench::kWidth;
  c.height = bench::kHeight;
  return decode_kernel(src, encoded_payload("dat", src), c, src, &make_dat);
}
// The pushed-down predicate inside the EVT3 loop (what Scan::roi/polarity/time compile to).
Result evt3_decode_filtered(std::size_t n) {
  const EventBatch src = bench::scene(n);
  evlib::detail::WordDecoderConfig c = gen4_config();
  c.filter = probe_filter(src);
  EventBatch expected = deep_copy(src);
  c.filter.apply(expected);
  return decode_kernel(src, encoded_payload("evt3", src), c, expected,
                       &make_word_decoder<evlib::detail::Evt3Decoder>);
}

Result encode_kernel(const std::string& format, std::size_t n) {
  const EventBatch src = bench::scene(n);
  const std::string path = bench::scratch_dir() + "/probe-output." + format;
  evlib::WriteOptions wo;
  wo.format = format;
  wo.width = bench::kWidth;
  wo.height = bench::kHeight;
  wo.overwrite = true;
  evlib::Writer w = evlib::Writer::create(path, wo);
  {
    Measured m;
    w.write(src);
  }
  w.close();
  const evlib::Recording back = evlib::read(path);
  if (!same_events(back.events, src)) fail(format + " round trip differs");
  return {n, static_cast<std::size_t>(back.metadata->file_size)};
}
Result evt3_encode(std::size_t n) { return encode_kernel("evt3", n); }
Result evt2_encode(std::size_t n) { return encode_kernel("evt2", n); }
Result dat_encode(std::size_t n) { return encode_kernel("dat", n); }

Result filter_apply(std::size_t n) {
  const EventBatch src = bench::scene(n);
  const evlib::EventFilter f = probe_filter(src);
  EventBatch batch = deep_copy(src);
  std::size_t kept = 0;
  {
    Measured m;
    kept = f.apply(batch);
  }
  std::size_t expected = 0;
  for (std::size_t i = 0; i < src.size(); ++i) expected += f.accepts(src.t()[i], src.x()[i], src.y()[i], src.p()[i]);
  if (kept != expected || kept == 0 || kept == n) fail("EventFilter::apply kept " + std::to_string(kept));
  return {n, 0};
}

Result digest(std::size_t n) {
  const EventBatch src = bench::scene(n);
  std::string hex;
  {
    Measured m;
    hex = evlib::digest(src);
  }
  if (hex.size() != 64) fail("digest is not 64 hex digits");
  return {n, 13 * n};
}

// The public streaming path over a file: Reader chunks (reused buffers), EVT3. The chunk size is
// explicit because the default follows available memory, which would make counts vary.
Result evt3_stream(std::size_t n) {
  const EventBatch src = bench::scene(n);
  const std::string path = bench::write_file("probe-stream.evt3", "evt3", src);
  evlib::ReadOptions o;
  o.chunk_events = 1 << 16;
  evlib::Reader reader = evlib::Reader::open(path, o);
  std::size_t got = 0;
  {
    Measured m;
    while (auto chunk = reader.next()) got += chunk->events.size();
  }
  if (got != n) fail("streamed " + std::to_string(got) + " events");
  return {n, static_cast<std::size_t>(reader.metadata().file_size)};
}

// Text: `t x y p` lines with t in seconds to 6 decimals (the RPG layout, as `python -m
// evlib.compare` writes its text files), streamed through the public Reader in chunks.
Result text_stream(std::size_t n) {
  const EventBatch src = bench::scene(n);
  std::string text = "# t x y p\n";
  char line[64];
  for (std::size_t i = 0; i < n; ++i) {
    const long long t = src.t()[i];
    const int len = std::snprintf(line, sizeof line, "%lld.%06lld %u %u %u\n", t / 1000000, t % 1000000,
                                  unsigned{src.x()[i]}, unsigned{src.y()[i]}, unsigned{src.p()[i]});
    text.append(line, static_cast<std::size_t>(len));
  }
  const std::string path = bench::scratch_dir() + "/probe-stream.txt";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(text.data(), static_cast<std::streamsize>(text.size()));
  evlib::ReadOptions o;
  o.chunk_events = 1 << 16;
  evlib::Reader reader = evlib::Reader::open(path, o);
  EventBatch got = touched_batch(n + 1);
  std::size_t count = 0;
  {
    Measured m;
    while (auto chunk = reader.next()) {
      const EventBatch& c = chunk->events;
      if (count + c.size() > n) fail("more events than lines");
      std::memcpy(got.t_data() + count, c.t().data(), c.size() * sizeof(std::int64_t));
      std::memcpy(got.x_data() + count, c.x().data(), c.size() * sizeof(std::uint16_t));
      std::memcpy(got.y_data() + count, c.y().data(), c.size() * sizeof(std::uint16_t));
      std::memcpy(got.p_data() + count, c.p().data(), c.size());
      count += c.size();
    }
  }
  got.set_size(count);
  if (!same_events(got, src)) fail("text events differ from the written ones");
  return {n, text.size()};
}

// Re-batching: Scan::batches(ByCount) concatenates decoder chunks into fixed-size batches.
Result scan_bycount(std::size_t n) {
  const EventBatch src = bench::scene(n);
  const std::string path = bench::write_file("probe-scan.evt3", "evt3", src);
  evlib::ReadOptions o;
  o.chunk_events = 1 << 16;
  // No cache file, no index bookkeeping in the count.
  const evlib::Scan scan = evlib::Scan(path, o).index(evlib::IndexPolicy::kOff);
  std::size_t got = 0;
  {
    Measured m;
    auto batches = scan.batches(evlib::ByCount{10'000});
    while (auto b = batches.next()) got += b->events.size();
  }
  if (got != n) fail("re-batched " + std::to_string(got) + " events");
  return {n, 0};
}

// ---- processing kernels (include/evlib/ops/) on the decoded scene, output allocated and touched
// before the bracket. Each is checked by an invariant of its result, computed outside it.

const evlib::ops::SensorSize kProbeSensor{bench::kWidth, bench::kHeight};

// Every event lands in exactly one cell of a two-channel int32 frame: the cells sum to n.
Result ops_event_frame(std::size_t n) {
  const EventBatch src = bench::scene(n);
  const evlib::ops::EventFrameOptions o{.sensor = kProbeSensor};
  std::vector<std::int32_t> frame(2 * kProbeSensor.pixels(), 0);
  {
    Measured m;
    evlib::ops::accumulate_frame<std::int32_t>(src.view(), o, frame);
  }
  const auto total = std::accumulate(frame.begin(), frame.end(), std::int64_t{0});
  if (total != static_cast<std::int64_t>(n)) fail("event frame counts " + std::to_string(total) + " events");
  return {n, 0};
}

// RVT's stacked histogram, 10 bins, counts capped at 10: something lands, nothing exceeds the cap.
Result ops_stacked_histogram(std::size_t n) {
  const EventBatch src = bench::scene(n);
  evlib::ops::StackedHistogramAccumulator acc(kProbeSensor, {.bins = 10, .count_cutoff = 10});
  std::vector<std::uint8_t> out(acc.size(), 0);
  {
    Measured m;
    acc.start(src.t().front(), src.t().back());
    acc.add(src.view());
    acc.finish(out);
  }
  std::size_t filled = 0;
  for (const std::uint8_t v : out) {
    if (v > 10) fail("stacked histogram cell above the cut-off");
    filled += v != 0;
  }
  if (filled == 0) fail("stacked histogram is empty");
  return {n, 0};
}

// E2VID's voxel grid, 5 bins: the bilinear weights of one event add up to its polarity (±1), so
// the grid sums to ON - OFF.
Result ops_voxel_grid(std::size_t n) {
  const EventBatch src = bench::scene(n);
  std::vector<float> out(5 * kProbeSensor.pixels(), 0.0f);
  {
    Measured m;
    evlib::ops::voxel_grid<float>(src.view(), {.sensor = kProbeSensor, .bins = 5}, out);
  }
  double total = 0;
  for (const float v : out) total += v;
  std::int64_t on = 0;
  for (std::size_t i = 0; i < n; ++i) on += src.p()[i] != 0;
  const double expected = static_cast<double>(2 * on - static_cast<std::int64_t>(n));
  if (std::abs(total - expected) > 1e-3 * static_cast<double>(n)) fail("voxel grid sums to " + std::to_string(total));
  return {n, 0};
}

// tonic's voxel grid, 5 bins, float64, into a grid that is already zero (as Python's np.zeros):
// the additions alone. The two weights of an event add up to its polarity except for the events
// of the last bin, whose right weights fall off the grid, so the sum is checked against the
// left weights that reach the grid plus the right weights of all bins but the last.
Result ops_voxel_grid_tonic(std::size_t n) {
  const EventBatch src = bench::scene(n);
  const evlib::ops::VoxelGridOptions options{
      .sensor = kProbeSensor, .bins = 5, .convention = evlib::ops::VoxelConvention::kTonic};
  std::vector<double> out(5 * kProbeSensor.pixels(), 0.0);
  {
    Measured m;
    evlib::ops::voxel_grid_into_zeroed<double>(src.view(), options, out);
  }
  const std::int64_t t0 = src.t()[0];
  const double span = static_cast<double>(src.t()[n - 1] - t0);
  double expected = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double ts = 5.0 * static_cast<double>(src.t()[i] - t0) / span;
    const double frac = ts - static_cast<double>(static_cast<std::int64_t>(ts));
    const double pol = src.p()[i] != 0 ? 1.0 : -1.0;
    expected += ts < 5.0 ? pol * (1.0 - frac) : 0.0;
    expected += ts < 4.0 ? pol * frac : 0.0;
  }
  double total = 0;
  for (const double v : out) total += v;
  if (std::abs(total - expected) > 1e-6 * static_cast<double>(n)) fail("tonic voxel grid sums to " + std::to_string(total));
  return {n, 0};
}

// A denoising filter over the scene: the kept count must match a second, uninstrumented run of a
// fresh filter and reject something without rejecting everything.
template <class Filter, class... Args>
Result filter_kernel(const char* what, std::size_t n, Args... args) {
  const EventBatch src = bench::scene(n);
  std::vector<std::uint8_t> keep(n, 0);
  Filter filter(kProbeSensor, args...);
  std::size_t kept = 0;
  {
    Measured m;
    kept = filter.apply(src.view(), keep);
  }
  Filter again(kProbeSensor, args...);
  std::vector<std::uint8_t> keep_again(n, 0);
  if (again.apply(src.view(), keep_again) != kept || keep_again != keep) fail(std::string(what) + " is not repeatable");
  if (kept == 0 || kept == n) fail(std::string(what) + " kept " + std::to_string(kept) + " of " + std::to_string(n));
  return {n, 0};
}
Result ops_refractory(std::size_t n) {
  return filter_kernel<evlib::ops::RefractoryFilter>("refractory filter", n, std::int64_t{1000},
                                                     evlib::ops::RefractoryConvention::kTonic);
}
Result ops_background_activity(std::size_t n) {
  return filter_kernel<evlib::ops::BackgroundActivityFilter>(
      "background activity filter", n, std::int64_t{2000}, evlib::ops::BackgroundActivityConvention::kDvProcessing);
}
Result ops_stcf(std::size_t n) {
  return filter_kernel<evlib::ops::StcfFilter>("STCF", n,
                                               evlib::ops::StcfOptions{.correlation_time_us = 2000, .min_correlated = 2});
}

// dv-processing's defaults (10 ms, 4x4 cells, threshold 6); the filter takes its sensor in its options.
struct FastDecayOnProbeSensor : evlib::ops::FastDecayFilter {
  explicit FastDecayOnProbeSensor(evlib::ops::SensorSize sensor) : FastDecayFilter({.sensor = sensor}) {}
};
Result ops_fast_decay(std::size_t n) { return filter_kernel<FastDecayOnProbeSensor>("fast-decay filter", n); }

// A rendering mode over the scene at 1280x720 (its own sensor: the per-event work reads and
// writes pixel state of that size), the events in 2 frames (the per-frame pass over every pixel would otherwise outweigh the events), each added in two pieces and
// rendered to RGB. The last frame must show something other than the background.
Result render_mode(evlib::render::Mode mode, std::size_t n) {
  const EventBatch src = bench::scene(n);
  const evlib::ops::SensorSize sensor{1280, 720};
  evlib::render::ModeOptions options;
  options.mode = mode;
  options.decay.synchronous_decay = true;  // as `evlib render`
  options.decay.decay_param = mode == evlib::render::Mode::kLinearDecay ? 1e-4 : 10'000;
  evlib::render::FrameAccumulator accumulator(sensor, options);
  std::vector<std::uint8_t> rgb(3 * sensor.pixels(), 0), background(3 * sensor.pixels(), 0);
  constexpr std::size_t kFrames = 2;
  {
    evlib::render::FrameAccumulator empty(sensor, options);
    empty.render(0, 10'000, background);
  }
  {
    Measured m;
    for (std::size_t f = 0; f < kFrames; ++f) {
      const std::size_t begin = n * f / kFrames, end = n * (f + 1) / kFrames, middle = (begin + end) / 2;
      accumulator.begin_window();
      accumulator.add(src.view().slice(begin, middle));
      accumulator.add(src.view().slice(middle, end));
      accumulator.render(src.t()[begin], src.t()[end - 1] + 1, rgb);
    }
  }
  if (rgb == background) fail(std::string(evlib::render::mode_name(mode)) + ": the last frame is all background");
  return {n, 0};
}
Result render_last(std::size_t n) { return render_mode(evlib::render::Mode::kLastEvent, n); }
Result render_counts(std::size_t n) { return render_mode(evlib::render::Mode::kCounts, n); }
Result render_time_surface(std::size_t n) { return render_mode(evlib::render::Mode::kTimeSurface, n); }
Result render_exp_decay(std::size_t n) { return render_mode(evlib::render::Mode::kExponentialDecay, n); }
Result render_linear_decay(std::size_t n) { return render_mode(evlib::render::Mode::kLinearDecay, n); }
Result render_time_decay(std::size_t n) { return render_mode(evlib::render::Mode::kTimeDecay, n); }

const std::map<std::string, std::function<Result(std::size_t)>>& kernels() {
  static const std::map<std::string, std::function<Result(std::size_t)>> k = {
      {"evt3_decode", evt3_decode},   {"evt2_decode", evt2_decode},
      {"evt21_decode", evt21_decode}, {"dat_decode", dat_decode},
      {"evt3_decode_filtered", evt3_decode_filtered},
      {"evt3_encode", evt3_encode},   {"evt2_encode", evt2_encode},
      {"dat_encode", dat_encode},     {"filter_apply", filter_apply},
      {"digest", digest},             {"evt3_stream", evt3_stream},
      {"scan_bycount", scan_bycount},   {"text_stream", text_stream},
      {"ops_event_frame", ops_event_frame},
      {"ops_stacked_histogram", ops_stacked_histogram},
      {"ops_voxel_grid", ops_voxel_grid},
      {"ops_voxel_grid_tonic", ops_voxel_grid_tonic},
      {"ops_refractory", ops_refractory},
      {"ops_background_activity", ops_background_activity},
      {"ops_stcf", ops_stcf},
      {"ops_fast_decay", ops_fast_decay},
      {"render_last", render_last},
      {"render_counts", render_counts},
      {"render_time_surface", render_time_surface},
      {"render_exp_decay", render_exp_decay},
      {"render_linear_decay", render_linear_decay},
      {"render_time_decay", render_time_decay},
  };
  return k;
}

int usage() {
  std::fprintf(stderr, "usage: evlib_kernel_probe --list | KERNEL [--events N]   (default N = 200000)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string name = argv[1];
  if (name == "--list") {
    for (const auto& [k, _] : kernels()) std::printf("%s\n", k.c_str());
    return 0;
  }
  std::size_t n = 200'000;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else {
      return usage();
    }
  }
  const auto it = kernels().find(name);
  if (it == kernels().end() || n < 1000) return usage();
  try {
    const Result r = it->second(n);
    std::printf("{\"kernel\": \"%s\", \"events\": %zu, \"input_bytes\": %zu, \"build_type\": \"%s\", \"under_valgrind\": %s}\n",
                name.c_str(), r.events, r.input_bytes, EVLIB_PROBE_BUILD_TYPE, RUNNING_ON_VALGRIND ? "true" : "false");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "evlib_kernel_probe: %s: %s\n", name.c_str(), e.what());
    return 1;
  }
  return 0;
}
