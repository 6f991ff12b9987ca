#include "evlib/render/accumulation.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "evlib/error.hpp"
#include "evlib/ops/event_frame.hpp"

namespace evlib::render {

namespace {

struct ModeName {
  Mode mode;
  std::string_view name;
};
constexpr ModeName kModeNames[] = {{Mode::kLastEvent, "last"},
                                   {Mode::kCounts, "counts"},
                                   {Mode::kExponentialDecay, "exp-decay"},
                                   {Mode::kLinearDecay, "linear-decay"},
                                   {Mode::kTimeSurface, "time-surface"}};

// The level of the window modes' background: their colour maps have it as neutral, so that a
// level of 255 is the ON colour, 0 the OFF colour.
constexpr std::uint8_t kNeutralLevel = 128;

std::uint8_t graded_level(bool on, double fraction) {
  return on ? static_cast<std::uint8_t>(kNeutralLevel + std::lround(127.0 * fraction))
            : static_cast<std::uint8_t>(kNeutralLevel - std::lround(128.0 * fraction));
}


}  // namespace

Mode mode_by_name(std::string_view name) {
  std::string names;
  for (const ModeName& m : kModeNames) {
    if (m.name == name) return m.mode;
    names += (names.empty() ? "" : ", ") + std::string(m.name);
  }
  throw InvalidArgument("unknown rendering mode '" + std::string(name) + "' (modes: " + names + ")");
}

std::string_view mode_name(Mode mode) {
  for (const ModeName& m : kModeNames)
    if (m.mode == mode) return m.name;
  return "?";
}

// ---- DvAccumulator ---------------------------------------------------------------------------

namespace {

// Elapsed times below this are decayed with a looked-up factor: a frame's events are at most a
// frame period (33 333 µs at 30 fps) after their pixel's last decay when the decay is
// synchronous. 256 KiB of floats.
constexpr std::size_t kExpFactors = std::size_t{1} << 16;
// Events ahead whose pixel is prefetched: the pixels of a frame are spread over 11 MiB at
// 1280x720, beyond the core's caches; a few misses in flight instead of one at a time.
constexpr std::size_t kPrefetchAhead = 16;

}  // namespace

DvAccumulator::DvAccumulator(ops::SensorSize sensor, DvAccumulatorOptions options)
    : sensor_(sensor),
      options_(options),
      potential_(sensor.pixels(), options.neutral_potential),
      decay_time_(sensor.pixels(), 0) {
  ops::detail::require_sensor(sensor, "accumulator");
  if (!(options.max_potential > options.min_potential))
    throw InvalidArgument("accumulator: the maximum potential must exceed the minimum");
  if (!(options.decay_param > 0) || !std::isfinite(options.decay_param))
    throw InvalidArgument("accumulator: the decay parameter must be a positive number");
  if (!options.linear) {
    exp_factor_.resize(kExpFactors);
    const auto decay = static_cast<float>(options.decay_param);
    for (std::size_t e = 0; e < kExpFactors; ++e) exp_factor_[e] = std::exp(-static_cast<float>(e) / decay);
  }
  // OpenCV's convertTo(CV_8U, alpha, beta) on float takes alpha and beta as float.
  const double range = static_cast<double>(options.max_potential) - options.min_potential;
  alpha_ = static_cast<float>(255.0 / range);
  beta_ = static_cast<float>(-options.min_potential * (255.0 / range));
}

std::vector<float> DvAccumulator::potentials() const { return potential_; }

template <bool kLinear>
float DvAccumulator::decayed(float last, std::int64_t elapsed) const {
  const float neutral = options_.neutral_potential;
  if constexpr (kLinear) {
    // dv: static_cast<float>(static_cast<double>(time - lastDecayTime) * decayParam_)
    const float step = static_cast<float>(static_cast<double>(elapsed) * options_.decay_param);
    return last >= neutral ? std::max(last - step, neutral) : std::min(last + step, neutral);
  } else {
    // dv: (last - neutral) * expf(-(float)(time - lastDecayTime) / (float)decayParam_) + neutral,
    // fused into one multiply-add as this build always compiled it (x86-64-v3 contracts).
    const float factor = static_cast<std::uint64_t>(elapsed) < kExpFactors
                             ? exp_factor_[static_cast<std::size_t>(elapsed)]
                             : std::exp(-static_cast<float>(elapsed) / static_cast<float>(options_.decay_param));
    return std::fma(last - neutral, factor, neutral);
  }
}

template <bool kLinear>
void DvAccumulator::accumulate_events(EventView events) {
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = events.p().data();
  const std::size_t n = events.size();
  const std::size_t width = sensor_.width;
  float* potential = potential_.data();
  std::int64_t* decay_time = decay_time_.data();
  const float on = options_.contribution;
  const float off = options_.ignore_polarity ? on : -on;
  const float low = options_.min_potential, high = options_.max_potential;
  for (std::size_t k = 0; k < n; ++k) {
    if (const std::size_t a = k + kPrefetchAhead; a < n && sensor_.contains(x[a], y[a])) {
      const std::size_t i = std::size_t{y[a]} * width + x[a];
      __builtin_prefetch(potential + i, 1);
      __builtin_prefetch(decay_time + i, 1);
    }
    if (!sensor_.contains(x[k], y[k])) [[unlikely]]
      continue;
    const std::size_t i = std::size_t{y[k]} * width + x[k];
    // dv: decay the pixel to t, then add the contribution and clamp.
    const float v = decayed<kLinear>(potential[i], t[k] - decay_time[i]);
    decay_time[i] = t[k];
    potential[i] = std::min(std::max(v + (p[k] != 0 ? on : off), low), high);
  }
}

void DvAccumulator::accumulate(EventView events) {
  if (events.empty()) return;
  ops::detail::require_columns(events, kColumnT | kColumnX | kColumnY | kColumnP, "accumulator");
  if (options_.linear) accumulate_events<true>(events);
  else accumulate_events<false>(events);
  highest_time_ = events.t().back();  // dv: packet.getHighestTime() of a time-ordered store
}

std::uint8_t DvAccumulator::to_level(float v) const noexcept {
  // OpenCV's convertTo(CV_8U, alpha, beta) on float: v * alpha + beta (fused in its SIMD loop),
  // cvRound (to nearest, ties to even) and saturation. rintf rounds as lrintf does (the current
  // mode, to nearest even) and, clamped before the conversion, vectorizes.
  return static_cast<std::uint8_t>(std::clamp(std::rint(std::fma(v, alpha_, beta_)), 0.0f, 255.0f));
}

std::uint8_t DvAccumulator::neutral_level() const noexcept { return to_level(options_.neutral_potential); }

void DvAccumulator::generate_levels(std::size_t begin, std::size_t end, std::uint8_t* levels) {
  float* potential = potential_.data();
  if (options_.synchronous_decay) {
    // dv's synchronous decay: every pixel decayed to the highest time seen.
    const std::int64_t now = highest_time_;
    std::int64_t* decay_time = decay_time_.data();
    const auto decay_all = [&]<bool kLinear>() {
      for (std::size_t i = begin; i < end; ++i) {
        potential[i] = decayed<kLinear>(potential[i], now - decay_time[i]);
        decay_time[i] = now;
      }
    };
    if (options_.linear) decay_all.template operator()<true>();
    else decay_all.template operator()<false>();
  }
  for (std::size_t i = begin; i < end; ++i) levels[i - begin] = to_level(potential[i]);
}

void DvAccumulator::generate_frame(std::span<std::uint8_t> gray) {
  if (gray.size() != potential_.size()) throw std::invalid_argument("accumulator: the frame size is wrong");
  generate_levels(0, gray.size(), gray.data());
}

// ---- FrameAccumulator ------------------------------------------------------------------------

struct FrameAccumulator::State {
  // Frames are coloured in blocks of pixels small enough to stay in the first-level cache
  // between the level pass and the colour pass.
  static constexpr std::size_t kBlock = 4096;
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
  // kTimeSurface: levels by the time left in the window, looked up below this window length.
  static constexpr std::int64_t kSurfaceTable = 1 << 16;

  ops::SensorSize sensor;
  ModeOptions options;
  // The colour of each level as R | G << 8 | B << 16: one 4-byte store per pixel, the fourth
  // byte overwritten by the next pixel.
  std::array<std::uint32_t, 256> colors{};
  std::array<std::uint8_t, kBlock> block_levels{};  // the decay modes' levels of one block
  std::vector<std::uint8_t> levels;            // kLastEvent: one per pixel
  std::vector<std::uint16_t> counts;           // kCounts: OFF plane then ON plane
  std::vector<std::uint8_t> count_levels;      // kCounts: level of each net count
  std::vector<std::int64_t> last_time_and_p;   // kTimeSurface: t * 2 + p, kNever when none
  std::vector<std::uint8_t> surface_on, surface_off;  // kTimeSurface: level by time left
  std::int64_t surface_window = 0;                    // the window they were made for
  std::unique_ptr<DvAccumulator> accumulator;  // the decay modes
  // The window modes' state holds events since the last render(), which resets it as it reads.
  bool dirty = false;
};

FrameAccumulator::FrameAccumulator(ops::SensorSize sensor, ModeOptions options) : state_(std::make_unique<State>()) {
  ops::detail::require_sensor(sensor, "render");
  State& s = *state_;
  s.sensor = sensor;
  s.options = std::move(options);
  std::uint8_t neutral = kNeutralLevel;
  switch (s.options.mode) {
    case Mode::kLastEvent:
      s.levels.assign(sensor.pixels(), kNeutralLevel);
      break;
    case Mode::kCounts: {
      if (s.options.count_saturation == 0) throw InvalidArgument("render: the count saturation must be at least 1");
      s.counts.assign(2 * sensor.pixels(), 0);
      // The level of every net count from -saturation to +saturation.
      const int saturation = static_cast<int>(s.options.count_saturation);
      s.count_levels.resize(2 * std::size_t(saturation) + 1);
      for (int net = -saturation; net <= saturation; ++net)
        s.count_levels[std::size_t(net + saturation)] =
            net == 0 ? kNeutralLevel : graded_level(net > 0, std::abs(net) / double(saturation));
      break;
    }
    case Mode::kTimeSurface:
      s.last_time_and_p.assign(sensor.pixels(), State::kNever);
      break;
    case Mode::kExponentialDecay:
    case Mode::kLinearDecay: {
      DvAccumulatorOptions decay = s.options.decay;
      decay.linear = s.options.mode == Mode::kLinearDecay;
      s.accumulator = std::make_unique<DvAccumulator>(sensor, decay);
      neutral = s.accumulator->neutral_level();
      break;
    }
  }
  const ColorMap map = level_colors(s.options.palette, neutral);
  for (std::size_t level = 0; level < map.size(); ++level)
    s.colors[level] = map[level].r | std::uint32_t{map[level].g} << 8 | std::uint32_t{map[level].b} << 16;
}

FrameAccumulator::~FrameAccumulator() = default;
FrameAccumulator::FrameAccumulator(FrameAccumulator&&) noexcept = default;
FrameAccumulator& FrameAccumulator::operator=(FrameAccumulator&&) noexcept = default;

const ModeOptions& FrameAccumulator::options() const noexcept { return state_->options; }
ops::SensorSize FrameAccumulator::sensor() const noexcept { return state_->sensor; }

void FrameAccumulator::begin_window() {
  State& s = *state_;
  if (!s.dirty) return;
  switch (s.options.mode) {
    case Mode::kLastEvent: std::ranges::fill(s.levels, kNeutralLevel); break;
    case Mode::kCounts: std::ranges::fill(s.counts, 0); break;
    case Mode::kTimeSurface: std::ranges::fill(s.last_time_and_p, State::kNever); break;
    default: break;
  }
  s.dirty = false;
}

namespace {

// Last event wins: ON paints 255, OFF 0, over the neutral background level.
void paint_last(EventView events, ops::SensorSize sensor, std::uint8_t* levels) {
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = events.p().data();
  const std::size_t width = sensor.width;
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]]
      continue;
    levels[std::size_t{y[i]} * width + x[i]] = p[i] != 0 ? 255 : 0;
  }
}

void record_last(EventView events, ops::SensorSize sensor, std::int64_t* last) {
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = events.p().data();
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]]
      continue;
    last[std::size_t{y[i]} * sensor.width + x[i]] =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(t[i]) << 1) | (p[i] != 0);
  }
}

// The RGB of pixels [begin, end) from their levels; the last pixel of a frame is written
// without the fourth byte.
void colorize(const std::uint8_t* levels, std::size_t begin, std::size_t end, std::size_t pixels,
              const std::array<std::uint32_t, 256>& colors, std::uint8_t* rgb) {
  std::uint8_t* out = rgb + 3 * begin;
  const std::size_t full = std::min(end, pixels - 1);
  for (std::size_t i = begin; i < full; ++i, out += 3) std::memcpy(out, &colors[levels[i - begin]], 4);
  if (end == pixels) {
    const std::uint32_t c = colors[levels[pixels - 1 - begin]];
    out[0] = static_cast<std::uint8_t>(c), out[1] = static_cast<std::uint8_t>(c >> 8), out[2] = static_cast<std::uint8_t>(c >> 16);
  }
}

// The time surface's level of a pixel whose last event is `packed` (t * 2 + p).
std::uint8_t surface_level(std::int64_t packed, std::int64_t window, std::int64_t last_us) {
  // In integers: round(127 f) = (254 (window - age) + window) / (2 window), the same for 128.
  const std::int64_t left = std::clamp<std::int64_t>(window - (last_us - (packed >> 1)), 0, window);
  return (packed & 1) != 0 ? static_cast<std::uint8_t>(kNeutralLevel + (254 * left + window) / (2 * window))
                           : static_cast<std::uint8_t>(kNeutralLevel - (256 * left + window) / (2 * window));
}

}  // namespace

void FrameAccumulator::add(EventView events) {
  if (events.empty()) return;
  State& s = *state_;
  switch (s.options.mode) {
    case Mode::kLastEvent:
      ops::detail::require_columns(events, kColumnX | kColumnY | kColumnP, "render");
      paint_last(events, s.sensor, s.levels.data());
      break;
    case Mode::kCounts:
      ops::accumulate_frame<std::uint16_t>(events, {.sensor = s.sensor, .polarities = 2}, std::span(s.counts));
      break;
    case Mode::kTimeSurface:
      ops::detail::require_columns(events, kAllColumns, "render");
      record_last(events, s.sensor, s.last_time_and_p.data());
      break;
    case Mode::kExponentialDecay:
    case Mode::kLinearDecay:
      s.accumulator->accumulate(events);
      break;
  }
  s.dirty = true;
}

void FrameAccumulator::render(std::int64_t window_start, std::int64_t window_end, std::span<std::uint8_t> rgb) {
  State& s = *state_;
  const std::size_t pixels = s.sensor.pixels();
  if (rgb.size() != 3 * pixels) throw std::invalid_argument("render: the RGB frame has the wrong size");
  const std::int64_t window = std::max<std::int64_t>(window_end - window_start, 1);
  if (s.options.mode == Mode::kTimeSurface && window < State::kSurfaceTable && window != s.surface_window) {
    s.surface_on.resize(std::size_t(window) + 1);
    s.surface_off.resize(std::size_t(window) + 1);
    for (std::int64_t left = 0; left <= window; ++left) {
      // A pixel with `left` µs of the window left after its event (last_us - age = ...).
      s.surface_on[std::size_t(left)] = surface_level(((window_end - 1 - window + left) << 1) | 1, window, window_end - 1);
      s.surface_off[std::size_t(left)] = surface_level((window_end - 1 - window + left) << 1, window, window_end - 1);
    }
    s.surface_window = window;
  }
  std::uint8_t* levels = s.block_levels.data();
  // Each block: its levels (the window modes resetting their state as they read it), then colours.
  for (std::size_t begin = 0; begin < pixels; begin += State::kBlock) {
    const std::size_t end = std::min(pixels, begin + State::kBlock);
    switch (s.options.mode) {
      case Mode::kLastEvent:
        std::memcpy(levels, s.levels.data() + begin, end - begin);
        std::fill(s.levels.begin() + std::ptrdiff_t(begin), s.levels.begin() + std::ptrdiff_t(end), kNeutralLevel);
        break;
      case Mode::kCounts: {
        const int saturation = static_cast<int>(s.options.count_saturation);
        std::uint16_t* off = s.counts.data();
        std::uint16_t* on = off + pixels;
        const std::uint8_t* lut = s.count_levels.data() + saturation;
        for (std::size_t i = begin; i < end; ++i) {
          levels[i - begin] = lut[std::clamp(int{on[i]} - int{off[i]}, -saturation, saturation)];
          on[i] = off[i] = 0;
        }
        break;
      }
      case Mode::kTimeSurface: {
        std::int64_t* last = s.last_time_and_p.data();
        const std::int64_t last_us = window_end - 1;
        for (std::size_t i = begin; i < end; ++i) {
          const std::int64_t packed = last[i];
          last[i] = State::kNever;
          if (packed == State::kNever) {
            levels[i - begin] = kNeutralLevel;
          } else if (window < State::kSurfaceTable) {
            const std::int64_t left = std::clamp<std::int64_t>(window - (last_us - (packed >> 1)), 0, window);
            levels[i - begin] = ((packed & 1) != 0 ? s.surface_on : s.surface_off)[std::size_t(left)];
          } else {
            levels[i - begin] = surface_level(packed, window, last_us);
          }
        }
        break;
      }
      case Mode::kExponentialDecay:
      case Mode::kLinearDecay:
        s.accumulator->generate_levels(begin, end, levels);
        break;
    }
    colorize(levels, begin, end, pixels, s.colors, rgb.data());
  }
  if (!is_decay(s.options.mode)) s.dirty = false;
}

}  // namespace evlib::render
