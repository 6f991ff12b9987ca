// FrameAccumulator's frames against a pixel-by-pixel reference written from the rules of
// docs/rendering.md "Modes": the fast paths (colour tables stored eight pixels at a time, state
// reset as it is read, looked-up exp factors, eight-pixel synchronous decay, prefetching) must
// give exactly these pixels, also on sizes that are not a multiple of the vector width or of a
// block, over several frames (the decay modes' state carried across), with events outside the
// sensor.
#include "evlib/render/accumulation.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include "ops/float_order.hpp"
#include "unit/render/render_test_support.hpp"

namespace evlib::render {
namespace {

using testing::Events;

// dv-processing's decay of a potential `last` over `elapsed` µs, by its rule (std::exp).
float reference_decay(float last, std::int64_t elapsed, const DvAccumulatorOptions& d, bool linear) {
  const float neutral = d.neutral_potential;
  if (linear) {
    const auto step = static_cast<float>(static_cast<double>(elapsed) * d.decay_param);
    return last >= neutral ? std::max(last - step, neutral) : std::min(last + step, neutral);
  }
  const float product = (last - neutral) * std::exp(-static_cast<float>(elapsed) / static_cast<float>(d.decay_param));
  return ops::detail::rounded(product) + neutral;  // no fused multiply-add, as dv-processing
}

// The levels of one frame by the documented rules, kept across frames for the decay modes.
class ReferenceLevels {
 public:
  ReferenceLevels(ops::SensorSize sensor, const ModeOptions& options)
      : sensor_(sensor), options_(options), potential_(sensor.pixels(), options.decay.neutral_potential),
        decay_time_(sensor.pixels(), 0) {}

  std::vector<std::uint8_t> frame(EventView events, std::int64_t window_start, std::int64_t window_end) {
    const std::size_t pixels = sensor_.pixels();
    std::vector<std::uint8_t> levels(pixels, 128);
    const DvAccumulatorOptions& d = options_.decay;
    const bool linear = options_.mode == Mode::kLinearDecay;
    const auto decay = [&](std::size_t i, std::int64_t t) {
      potential_[i] = reference_decay(potential_[i], t - decay_time_[i], d, linear);
      decay_time_[i] = t;
    };
    std::vector<int> net(pixels, 0);
    std::vector<std::int64_t> last_t(pixels, std::numeric_limits<std::int64_t>::min());
    std::vector<bool> last_on(pixels, false);
    for (std::size_t k = 0; k < events.size(); ++k) {
      const auto x = events.x()[k], y = events.y()[k];
      if (!sensor_.contains(x, y)) continue;
      const std::size_t i = std::size_t{y} * sensor_.width + x;
      const bool on = events.p()[k] != 0;
      levels[i] = on ? 255 : 0;
      net[i] += on ? 1 : -1;
      last_t[i] = events.t()[k];
      last_on[i] = on;
      if (is_decay(options_.mode)) {
        decay(i, events.t()[k]);
        const float c = on || d.ignore_polarity ? d.contribution : -d.contribution;
        potential_[i] = std::min(std::max(potential_[i] + c, d.min_potential), d.max_potential);
      }
    }
    if (!events.empty()) highest_time_ = events.t().back();
    const double saturation = options_.count_saturation;
    const std::int64_t window = std::max<std::int64_t>(window_end - window_start, 1);
    const double range = double{d.max_potential} - d.min_potential;
    const auto alpha = static_cast<float>(255.0 / range), beta = static_cast<float>(-d.min_potential * (255.0 / range));
    for (std::size_t i = 0; i < pixels; ++i) {
      switch (options_.mode) {
        case Mode::kLastEvent: break;
        case Mode::kCounts: {
          const double f = std::min(std::abs(net[i]) / saturation, 1.0);
          levels[i] = net[i] == 0 ? 128 : net[i] > 0 ? 128 + std::lround(127 * f) : 128 - std::lround(128 * f);
          break;
        }
        case Mode::kTimeSurface: {
          if (last_t[i] == std::numeric_limits<std::int64_t>::min()) break;
          // f = left / window with left = window - age; round(127 f) half up, in integers.
          const std::int64_t left = std::clamp<std::int64_t>(window - ((window_end - 1) - last_t[i]), 0, window);
          levels[i] = last_on[i] ? 128 + (254 * left + window) / (2 * window) : 128 - (256 * left + window) / (2 * window);
          break;
        }
        case Mode::kTimeDecay:  // tested in time_decay_test.cpp
          break;
        case Mode::kExponentialDecay:
        case Mode::kLinearDecay:
          if (d.synchronous_decay) decay(i, highest_time_);
          levels[i] = static_cast<std::uint8_t>(std::clamp(std::lrintf(std::fmaf(potential_[i], alpha, beta)), 0L, 255L));
          break;
      }
    }
    return levels;
  }

 private:
  ops::SensorSize sensor_;
  ModeOptions options_;
  std::vector<float> potential_;
  std::vector<std::int64_t> decay_time_;
  std::int64_t highest_time_ = 0;
};

struct Case {
  const char* name;
  Mode mode;
  bool synchronous_decay;
  const char* palette;
};

class AccumulationReference : public ::testing::TestWithParam<Case> {};

TEST_P(AccumulationReference, frames_equal_the_pixel_by_pixel_rules) {
  const Case c = GetParam();
  // 97 x 61 = 5917 pixels: a whole block of 4096, a partial one, a tail not a multiple of eight;
  // 9 and 8 pixels: too few for the vector paths.
  for (const ops::SensorSize sensor : {ops::SensorSize{97, 61}, ops::SensorSize{3, 3}, ops::SensorSize{8, 1}}) {
    ModeOptions options;
    options.mode = c.mode;
    options.palette = palette_by_name(c.palette);
    options.count_saturation = 3;
    options.decay.synchronous_decay = c.synchronous_decay;
    options.decay.decay_param = c.mode == Mode::kLinearDecay ? 1.0 / 40'000 : 20'000;
    options.decay.neutral_potential = 0.25f;
    FrameAccumulator accumulator(sensor, options);
    ReferenceLevels reference(sensor, options);
    // Events also outside the sensor, from before time 0 (negative times and elapsed times take
    // the scalar paths); a pause of 400 ms (elapsed times beyond the exp table's 262 ms).
    Events e = ops::testing::random_events(30'000, {sensor.width + 2, sensor.height + 1}, 11, 6, -20'000);
    Events later = ops::testing::random_events(10'000, {sensor.width + 2, sensor.height + 1}, 12, 6, e.t.back() + 400'000);
    for (std::size_t k = 0; k < later.size(); ++k) e.add(later.t[k], later.x[k], later.y[k], later.p[k]);
    const ColorMap colors = level_colors(options.palette, is_decay(c.mode) ? DvAccumulator(sensor, options.decay).neutral_level() : 128);
    std::vector<std::uint8_t> rgb(3 * sensor.pixels());
    const std::size_t frames = 12;
    for (std::size_t f = 0; f < frames; ++f) {
      const std::size_t begin = e.size() * f / frames, end = e.size() * (f + 1) / frames;
      const EventView window = e.view().slice(begin, end);
      const std::int64_t window_start = e.t[begin], window_end = e.t[end - 1] + 1 + std::int64_t(f);
      accumulator.begin_window();
      accumulator.add(window.slice(0, window.size() / 3));  // in two pieces
      accumulator.add(window.slice(window.size() / 3, window.size()));
      accumulator.render(window_start, window_end, rgb);
      const std::vector<std::uint8_t> levels = reference.frame(window, window_start, window_end);
      for (std::size_t i = 0; i < sensor.pixels(); ++i) {
        const Rgb expected = colors[levels[i]];
        ASSERT_EQ((Rgb{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]}), expected)
            << mode_name(c.mode) << " " << sensor.width << "x" << sensor.height << " frame " << f << " pixel " << i;
      }
    }
  }
}

TEST(FrameAccumulator, counts_follow_the_rule_at_every_saturation_and_sensor_size) {
  // Saturations up to 7 colour by byte shuffles, larger ones by gathers; at 1280x720 the counts
  // are beyond the caches and counted with prefetches. Half the events fall in a 6x5 corner, so
  // that net counts reach hundreds there; others lie outside the sensor.
  for (const ops::SensorSize sensor : {ops::SensorSize{97, 61}, ops::SensorSize{1280, 720}}) {
    const Events spread = ops::testing::random_events(40'000, {sensor.width + 2, sensor.height + 1}, 31, 3);
    const Events corner = ops::testing::random_events(40'000, {6, 5}, 32, 3);
    Events e;
    for (std::size_t k = 0; k < corner.size(); ++k) {
      e.add(spread.t[k], spread.x[k], spread.y[k], spread.p[k]);
      e.add(spread.t[k], corner.x[k], corner.y[k], k % 5 == 0 ? 0 : 1);  // mostly ON
    }
    for (const unsigned saturation : {1u, 7u, 8u, 300u}) {
      ModeOptions options;
      options.mode = Mode::kCounts;
      options.palette = palette_by_name("cool-warm");
      options.count_saturation = saturation;
      FrameAccumulator accumulator(sensor, options);
      ReferenceLevels reference(sensor, options);
      const ColorMap colors = level_colors(options.palette, 128);
      std::vector<std::uint8_t> rgb(3 * sensor.pixels());
      for (const auto& [begin, end] : {std::pair<std::size_t, std::size_t>{0, 40'000}, {40'000, 80'000}}) {
        accumulator.begin_window();
        accumulator.add(e.view().slice(begin, end));
        accumulator.render(e.t[begin], e.t[end - 1] + 1, rgb);
        const std::vector<std::uint8_t> levels = reference.frame(e.view().slice(begin, end), e.t[begin], e.t[end - 1] + 1);
        for (std::size_t i = 0; i < sensor.pixels(); ++i)
          ASSERT_EQ((Rgb{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]}), colors[levels[i]])
              << sensor.width << "x" << sensor.height << " saturation " << saturation << " events from " << begin
              << " pixel " << i;
      }
    }
  }
}

TEST(FrameAccumulator, sparse_frames_decay_runs_of_untouched_pixels_by_the_rule) {
  // Frames with fewer events than one per 32 pixels decay runs of 64 cells untouched since the
  // last frame with one shared factor: here a dense first frame, then frames of a few events in
  // a corner (most runs untouched, a few not, some cut by the corner), one without events, and
  // a run of untouched cells whose shared elapsed time lies past the exp table (a 400 ms gap).
  const ops::SensorSize sensor{320, 37};
  for (const bool synchronous : {true, false}) {
    ModeOptions options;
    options.mode = Mode::kExponentialDecay;
    options.palette = palette_by_name("cool-warm");
    options.decay.synchronous_decay = synchronous;
    options.decay.decay_param = 30'000;
    FrameAccumulator accumulator(sensor, options);
    ReferenceLevels reference(sensor, options);
    const ColorMap colors = level_colors(options.palette, DvAccumulator(sensor, options.decay).neutral_level());
    std::vector<std::uint8_t> rgb(3 * sensor.pixels());
    const Events dense = ops::testing::random_events(20'000, sensor, 41, 2, 1'000);
    const Events corner = ops::testing::random_events(400, {70, 9}, 42, 300, dense.t.back() + 1);
    std::vector<std::pair<EventView, std::int64_t>> frames{{dense.view(), dense.t.back() + 1}};
    for (std::size_t f = 0; f < 4; ++f)
      frames.emplace_back(corner.view().slice(100 * f, 100 * (f + 1)), corner.t[100 * f + 99] + 1);
    frames.emplace_back(EventView{}, corner.t.back() + 5'000);  // no events
    Events one;  // one event 400 ms on: the untouched cells' shared elapsed time is past the table
    one.add(corner.t.back() + 400'000, 3, 2, 1);
    frames.emplace_back(one.view(), corner.t.back() + 400'001);
    for (std::size_t f = 0; f < frames.size(); ++f) {
      const auto& [events, end] = frames[f];
      accumulator.begin_window();
      if (!events.empty()) accumulator.add(events);
      accumulator.render(end - 1'000, end, rgb);
      const std::vector<std::uint8_t> levels = reference.frame(events, end - 1'000, end);
      for (std::size_t i = 0; i < sensor.pixels(); ++i)
        ASSERT_EQ((Rgb{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]}), colors[levels[i]])
            << (synchronous ? "synchronous" : "asynchronous") << " frame " << f << " pixel " << i;
    }
  }
}

TEST(DvAccumulator, potentials_are_exact_over_times_too_far_apart_for_one_time_base) {
  // The cells hold times relative to a base, 32 bits: events 3 h and 7 h apart, before time 0,
  // out of order, and pixels left untouched for hours (their times kept aside) must decay as
  // dv-processing's 64-bit times do.
  const ops::SensorSize sensor{13, 7};
  Events e;
  const std::int64_t starts[] = {-5'000, 10'800'000'000, 10'800'001'000, 36'000'000'000, 25'000};
  std::uint32_t seed = 21;
  for (const std::int64_t start : starts) {
    const Events part = ops::testing::random_events(300, sensor, seed++, 9, start);
    for (std::size_t k = 0; k < part.size(); ++k) e.add(part.t[k], part.x[k], part.y[k], part.p[k]);
  }
  std::swap(e.t[10], e.t[700]);  // hours out of order within a piece
  for (const bool linear : {false, true}) {
    for (const bool synchronous : {false, true}) {
      DvAccumulatorOptions options;
      options.linear = linear;
      options.synchronous_decay = synchronous;
      options.decay_param = linear ? 1e-12 : 5e9;  // decays still visible after hours
      options.neutral_potential = 0.5f;
      options.min_potential = -1.0f;
      DvAccumulator accumulator(sensor, options);
      std::vector<float> potential(sensor.pixels(), options.neutral_potential);
      std::vector<std::int64_t> decay_time(sensor.pixels(), 0);
      const auto decay = [&](std::size_t i, std::int64_t t) {
        potential[i] = reference_decay(potential[i], t - decay_time[i], options, linear);
        decay_time[i] = t;
      };
      std::vector<std::uint8_t> gray(sensor.pixels());
      // One piece per part, the out-of-order pair in the first two.
      for (std::size_t begin = 0; begin < e.size(); begin += 300) {
        const std::size_t end = std::min(e.size(), begin + (begin == 0 ? 600 : 300));
        accumulator.accumulate(e.view().slice(begin, end));
        for (std::size_t k = begin; k < end; ++k) {
          const std::size_t i = std::size_t{e.y[k]} * sensor.width + e.x[k];
          decay(i, e.t[k]);
          potential[i] = std::min(std::max(potential[i] + (e.p[k] != 0 ? options.contribution : -options.contribution),
                                           options.min_potential),
                                  options.max_potential);
        }
        if (begin == 0) begin += 300;
        accumulator.generate_frame(gray);
        if (synchronous)
          for (std::size_t i = 0; i < sensor.pixels(); ++i) decay(i, e.t[end - 1]);
        const std::vector<float> got = accumulator.potentials();
        for (std::size_t i = 0; i < sensor.pixels(); ++i)
          ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(potential[i]))
              << (linear ? "linear" : "exp") << (synchronous ? " sync" : "") << " events " << end << " pixel " << i;
      }
    }
  }
}

TEST(DvAccumulator, levels_round_ties_to_even_on_every_pixel_of_a_row_not_a_multiple_of_eight) {
  // Potentials 0, 0.5, ..., 4 mapped one to one (alpha 1, beta 0): every other one a tie, which
  // convertTo's cvRound takes to the even level, in the AVX2 kernel's eight pixels as in the
  // scalar loop's rest (37 x 3 pixels).
  const ops::SensorSize sensor{37, 3};
  DvAccumulatorOptions options;
  options.linear = true;
  options.decay_param = 1e-12;  // no visible decay
  options.contribution = 0.5f;
  options.max_potential = 255.0f;
  Events e;
  std::int64_t t = 0;
  for (std::size_t i = 0; i < sensor.pixels(); ++i)
    for (std::size_t k = 0; k < i % 9; ++k)
      e.add(t++, static_cast<std::uint16_t>(i % sensor.width), static_cast<std::uint16_t>(i / sensor.width), 1);
  DvAccumulator accumulator(sensor, options);
  accumulator.accumulate(e.view());
  std::vector<std::uint8_t> gray(sensor.pixels());
  accumulator.generate_frame(gray);
  const std::uint8_t even_level[9] = {0, 0, 1, 2, 2, 2, 3, 4, 4};
  const std::vector<float> potential = accumulator.potentials();
  for (std::size_t i = 0; i < sensor.pixels(); ++i) {
    ASSERT_EQ(potential[i], 0.5f * static_cast<float>(i % 9)) << "pixel " << i;
    ASSERT_EQ(gray[i], even_level[i % 9]) << "pixel " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, AccumulationReference,
                         ::testing::Values(Case{"last", Mode::kLastEvent, false, "prophesee-dark"},
                                           Case{"counts", Mode::kCounts, false, "cool-warm"},
                                           Case{"time_surface", Mode::kTimeSurface, false, "dv"},
                                           Case{"exp_decay_sync", Mode::kExponentialDecay, true, "gray"},
                                           Case{"exp_decay", Mode::kExponentialDecay, false, "prophesee-light"},
                                           Case{"linear_decay_sync", Mode::kLinearDecay, true, "gray"},
                                           Case{"linear_decay", Mode::kLinearDecay, false, "dv"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace evlib::render
