#include "evlib/render/accumulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "evlib/error.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/render/time_decay.hpp"

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
                                   {Mode::kTimeSurface, "time-surface"},
                                   {Mode::kTimeDecay, "time-decay"}};

// The level of the window modes' background: their colour maps have it as neutral, so that a
// level of 255 is the ON colour, 0 the OFF colour.
constexpr std::uint8_t kNeutralLevel = 128;

std::uint8_t graded_level(bool on, double fraction) {
  return on ? static_cast<std::uint8_t>(kNeutralLevel + std::lround(127.0 * fraction))
            : static_cast<std::uint8_t>(kNeutralLevel - std::lround(128.0 * fraction));
}

void colorize(std::span<const std::uint8_t> levels, const ColorMap& map, std::span<std::uint8_t> rgb) {
  std::uint8_t* out = rgb.data();
  for (const std::uint8_t level : levels) {
    const Rgb c = map[level];
    out[0] = c.r, out[1] = c.g, out[2] = c.b;
    out += 3;
  }
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
}

void DvAccumulator::decay_pixel(std::size_t i, std::int64_t t) {
  const float last = potential_[i];
  const float neutral = options_.neutral_potential;
  const std::int64_t elapsed = t - decay_time_[i];
  if (options_.linear) {
    // dv: static_cast<float>(static_cast<double>(time - lastDecayTime) * decayParam_)
    const float step = static_cast<float>(static_cast<double>(elapsed) * options_.decay_param);
    potential_[i] = last >= neutral ? std::max(last - step, neutral) : std::min(last + step, neutral);
  } else {
    // dv: (last - neutral) * expf(-(float)(time - lastDecayTime) / (float)decayParam_) + neutral
    potential_[i] =
        (last - neutral) * std::exp(-static_cast<float>(elapsed) / static_cast<float>(options_.decay_param)) + neutral;
  }
  decay_time_[i] = t;
}

void DvAccumulator::accumulate(EventView events) {
  if (events.empty()) return;
  ops::detail::require_columns(events, kColumnT | kColumnX | kColumnY | kColumnP, "accumulator");
  const auto t = events.t();
  const auto x = events.x();
  const auto y = events.y();
  const auto p = events.p();
  const float contribution = options_.contribution;
  for (std::size_t k = 0; k < events.size(); ++k) {
    if (!sensor_.contains(x[k], y[k])) continue;
    const std::size_t i = std::size_t{y[k]} * sensor_.width + x[k];
    decay_pixel(i, t[k]);
    const float c = (options_.ignore_polarity || p[k] != 0) ? contribution : -contribution;
    potential_[i] = std::min(std::max(potential_[i] + c, options_.min_potential), options_.max_potential);
  }
  highest_time_ = t.back();  // dv: packet.getHighestTime() of a time-ordered store
}

std::uint8_t DvAccumulator::to_level(float v) const noexcept {
  // OpenCV's convertTo(CV_8U, alpha, beta) on float: alpha and beta as float, v * alpha + beta
  // (fused in its SIMD loop), cvRound (to nearest, ties to even) and saturation.
  const double range = static_cast<double>(options_.max_potential) - options_.min_potential;
  const auto alpha = static_cast<float>(255.0 / range);
  const auto beta = static_cast<float>(-options_.min_potential * (255.0 / range));
  const long r = std::lrintf(std::fmaf(v, alpha, beta));
  return static_cast<std::uint8_t>(std::clamp(r, 0L, 255L));
}

std::uint8_t DvAccumulator::neutral_level() const noexcept { return to_level(options_.neutral_potential); }

void DvAccumulator::generate_frame(std::span<std::uint8_t> gray) {
  if (gray.size() != potential_.size()) throw std::invalid_argument("accumulator: the frame size is wrong");
  if (options_.synchronous_decay) {
    for (std::size_t i = 0; i < potential_.size(); ++i) decay_pixel(i, highest_time_);
  }
  for (std::size_t i = 0; i < potential_.size(); ++i) gray[i] = to_level(potential_[i]);
}

// ---- FrameAccumulator ------------------------------------------------------------------------

struct FrameAccumulator::State {
  ops::SensorSize sensor;
  ModeOptions options;
  ColorMap colors{};
  std::vector<std::uint8_t> levels;            // one per pixel, what colorize() maps
  std::vector<std::uint16_t> counts;           // kCounts: OFF plane then ON plane
  std::vector<std::uint8_t> count_levels;      // kCounts: level of each net count
  std::vector<std::int64_t> last_time_and_p;   // kTimeSurface: t * 2 + p, kNever when none
  std::unique_ptr<DvAccumulator> accumulator;  // the decay modes
  std::unique_ptr<TimeDecayFrame> time_decay;  // kTimeDecay (decay.decay_param: its decay time)

  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
};

FrameAccumulator::FrameAccumulator(ops::SensorSize sensor, ModeOptions options) : state_(std::make_unique<State>()) {
  ops::detail::require_sensor(sensor, "render");
  State& s = *state_;
  s.sensor = sensor;
  s.options = std::move(options);
  s.levels.assign(sensor.pixels(), kNeutralLevel);
  std::uint8_t neutral = kNeutralLevel;
  switch (s.options.mode) {
    case Mode::kCounts:
      if (s.options.count_saturation == 0) throw InvalidArgument("render: the count saturation must be at least 1");
      s.counts.assign(2 * sensor.pixels(), 0);
      break;
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
    case Mode::kLastEvent:
      break;
    case Mode::kTimeDecay:
      s.time_decay = std::make_unique<TimeDecayFrame>(sensor, std::llround(s.options.decay.decay_param), s.options.palette);
      break;
  }
  s.colors = level_colors(s.options.palette, neutral);
}

FrameAccumulator::~FrameAccumulator() = default;
FrameAccumulator::FrameAccumulator(FrameAccumulator&&) noexcept = default;
FrameAccumulator& FrameAccumulator::operator=(FrameAccumulator&&) noexcept = default;

const ModeOptions& FrameAccumulator::options() const noexcept { return state_->options; }
ops::SensorSize FrameAccumulator::sensor() const noexcept { return state_->sensor; }

void FrameAccumulator::begin_window() {
  State& s = *state_;
  switch (s.options.mode) {
    case Mode::kLastEvent: std::ranges::fill(s.levels, kNeutralLevel); break;
    case Mode::kCounts: std::ranges::fill(s.counts, 0); break;
    case Mode::kTimeSurface: std::ranges::fill(s.last_time_and_p, State::kNever); break;
    default: break;
  }
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
    case Mode::kTimeDecay:
      ops::detail::require_columns(events, kAllColumns, "render");
      s.time_decay->add(events);
      break;
  }
}

void FrameAccumulator::render(std::int64_t window_start, std::int64_t window_end, std::span<std::uint8_t> rgb) {
  State& s = *state_;
  const std::size_t pixels = s.sensor.pixels();
  if (rgb.size() != 3 * pixels) throw std::invalid_argument("render: the RGB frame has the wrong size");
  switch (s.options.mode) {
    case Mode::kLastEvent: break;
    case Mode::kCounts: {
      // The level of every net count from -saturation to +saturation, looked up per pixel.
      const int saturation = static_cast<int>(s.options.count_saturation);
      if (s.count_levels.empty()) {
        s.count_levels.resize(2 * std::size_t(saturation) + 1);
        for (int net = -saturation; net <= saturation; ++net)
          s.count_levels[std::size_t(net + saturation)] =
              net == 0 ? kNeutralLevel : graded_level(net > 0, std::abs(net) / double(saturation));
      }
      const std::uint16_t* off = s.counts.data();
      const std::uint16_t* on = off + pixels;
      const std::uint8_t* lut = s.count_levels.data() + saturation;
      for (std::size_t i = 0; i < pixels; ++i) s.levels[i] = lut[std::clamp(int{on[i]} - int{off[i]}, -saturation, saturation)];
      break;
    }
    case Mode::kTimeSurface: {
      // In integers: round(127 f) = (254 (window - age) + window) / (2 window), the same for 128.
      const std::int64_t window = std::max<std::int64_t>(window_end - window_start, 1);
      for (std::size_t i = 0; i < pixels; ++i) {
        const std::int64_t packed = s.last_time_and_p[i];
        if (packed == State::kNever) {
          s.levels[i] = kNeutralLevel;
          continue;
        }
        const std::int64_t left = std::clamp<std::int64_t>(window - ((window_end - 1) - (packed >> 1)), 0, window);
        s.levels[i] = (packed & 1) != 0
                          ? static_cast<std::uint8_t>(kNeutralLevel + (254 * left + window) / (2 * window))
                          : static_cast<std::uint8_t>(kNeutralLevel - (256 * left + window) / (2 * window));
      }
      break;
    }
    case Mode::kExponentialDecay:
    case Mode::kLinearDecay:
      s.accumulator->generate_frame(s.levels);
      break;
    case Mode::kTimeDecay: return s.time_decay->render(rgb);  // its own Lab colour map
  }
  colorize(s.levels, s.colors, rgb);
}

}  // namespace evlib::render
