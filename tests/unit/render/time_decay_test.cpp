// The time-decay mode against OpenEB's definition of TimeDecayFrameGenerationAlgorithm: the
// expectations of OpenEB's own unit test (time_decay_frame_generation_algorithm_gtest.cpp,
// OpenEB 5.1), the fast_exp_decay table worked out by hand, and the mode inside the frame
// generator.
#include "evlib/render/time_decay.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "evlib/error.hpp"
#include "evlib/render/frame_generator.hpp"
#include "unit/render/render_test_support.hpp"

namespace evlib::render {
namespace {

using testing::all_frames;
using testing::Events;
using testing::pixel;

TEST(FastExpDecay, is_one_at_zero_and_zero_past_log_n) {
  const FastExpDecay decay;
  EXPECT_EQ(decay(0.f), 1.f);
  EXPECT_EQ(decay(-1.f), 1.f);
  EXPECT_EQ(decay(std::log(32.f) + 1e-3f), 0.f);
  EXPECT_EQ(decay(10.f), 0.f);
}

TEST(FastExpDecay, is_linear_between_the_table_points) {
  // The table: v_i = -log((32 - i) / 32). Between v_20 and v_21 (around v = 1) the value runs
  // linearly from 12/32 to 11/32: at v = 1, 12/32 - (1 - v_20) / (v_21 - v_20) / 32.
  const FastExpDecay decay;
  const double v20 = -std::log(12.0 / 32), v21 = -std::log(11.0 / 32);
  EXPECT_NEAR(decay(1.f), 12.0 / 32 - (1 - v20) / (v21 - v20) / 32, 1e-6);
  EXPECT_NEAR(decay(1.f), std::exp(-1.0), 2e-3);  // an approximation of exp(-v)
  // At a table point the value is its (32 - i) / 32 (the upper side of the segment).
  EXPECT_NEAR(decay(static_cast<float>(-std::log(16.0 / 32))), 16.0 / 32, 1e-6);
  float previous = 1.f;
  for (float v = 0.f; v < 4.f; v += 0.01f) {
    EXPECT_LE(decay(v), previous) << v;
    previous = decay(v);
  }
}

// OpenEB's events are EventCD{x, y, p, t}.
Events openeb_events(std::initializer_list<std::array<std::int64_t, 4>> list) {
  Events e;
  for (const auto& [x, y, p, t] : list)
    e.add(t, static_cast<std::uint16_t>(x), static_cast<std::uint16_t>(y), static_cast<std::uint8_t>(p));
  return e;
}

TEST(TimeDecayFrame, openeb_nominal_grayscale) {
  const ops::SensorSize sensor{3, 3};
  const Events e = openeb_events({{0, 0, 0, 100},
                                  {1, 0, 0, 101},
                                  {1, 1, 1, 101},
                                  {1, 2, 1, 1000},
                                  {2, 0, 0, 7000},
                                  {2, 1, 1, 9000},
                                  {2, 2, 1, 9500},
                                  {0, 0, 0, 10000},
                                  {0, 1, 1, 10000}});
  TimeDecayFrame frame(sensor, 1000, palette_by_name("gray"));
  frame.add(e.view());
  std::vector<std::uint8_t> rgb(3 * sensor.pixels());
  frame.render(rgb);
  const auto at = [&](unsigned row, unsigned col) { return pixel(rgb, sensor, col, row).r; };
  // OpenEB's expectations, frame.at<uchar>(row, col); the last three are EXPECT_NEAR(.., 1) there
  // and exact here (worked out from the definition: 0.5 (1 - 0.05225) 255 = 120.8, ...).
  EXPECT_EQ(at(0, 0), 0);
  EXPECT_EQ(at(1, 0), 255);
  EXPECT_EQ(at(2, 0), 128);
  EXPECT_EQ(at(0, 1), 128);
  EXPECT_EQ(at(1, 1), 128);
  EXPECT_EQ(at(2, 1), 128);
  EXPECT_EQ(at(0, 2), 121);
  EXPECT_EQ(at(1, 2), 174);
  EXPECT_EQ(at(2, 2), 205);
  const Rgb gray = pixel(rgb, sensor, 2, 2);
  EXPECT_EQ(gray.g, gray.r);
  EXPECT_EQ(gray.b, gray.r);
}

TEST(TimeDecayFrame, openeb_nominal_colored) {
  const ops::SensorSize sensor{3, 1};
  const Events e = openeb_events({{0, 0, 0, 10000}, {1, 0, 0, 4000}, {2, 0, 1, 10000}});
  // (OpenEB's list is not in time order; only the last event's time matters for the frame.)
  const Palette dark = palette_by_name("prophesee-dark");
  TimeDecayFrame frame(sensor, 1000, dark);
  frame.add(e.view());
  std::vector<std::uint8_t> rgb(3 * sensor.pixels());
  frame.render(rgb);
  EXPECT_EQ(pixel(rgb, sensor, 0, 0), dark.off);         // just fired OFF: f = -1
  EXPECT_EQ(pixel(rgb, sensor, 1, 0), dark.background);  // 6 decay times old: faded out
  EXPECT_EQ(pixel(rgb, sensor, 2, 0), dark.on);          // just fired ON: f = +1
}

TEST(TimeDecayColors, run_from_off_through_the_background_to_on) {
  for (const Palette& p : named_palettes()) {
    const TimeDecayColors colors = time_decay_colors(p);
    EXPECT_EQ(colors[0], p.off) << p.name;
    EXPECT_EQ(colors[127], p.background) << p.name;
    EXPECT_EQ(colors[128], p.background) << p.name;
    EXPECT_EQ(colors[129], p.background) << p.name;
    EXPECT_EQ(colors[256], p.on) << p.name;
  }
}

TEST(TimeDecayFrame, long_decay_times_compute_ages_past_the_table) {
  // tau = 1 s: the first 2^20 ages are tabulated, older ones computed; both follow the rule.
  const ops::SensorSize sensor{6, 1};
  const std::int64_t ages[] = {0, 700'000, 1'048'575, 1'048'576, 2'500'000, 3'465'000};
  Events e;
  const std::int64_t now = 4'000'000;
  for (unsigned x = 0; x < 6; ++x) e.add(now - ages[5 - x], static_cast<std::uint16_t>(5 - x), 0, x % 2);
  TimeDecayFrame frame(sensor, 1'000'000, palette_by_name("gray"));
  frame.add(e.view());
  std::vector<std::uint8_t> rgb(3 * sensor.pixels());
  frame.render(rgb);
  const FastExpDecay decay;
  for (unsigned x = 0; x < 6; ++x) {
    const bool on = (5 - x) % 2 != 0;
    const float f = (on ? 1.f : -1.f) * decay(static_cast<float>(ages[x]) / 1e6f);
    EXPECT_EQ(pixel(rgb, sensor, x, 0).r, std::lrint(0.5f * (1 + f) * 255)) << x;
  }
}

// The frame OpenEB's rule gives after the first n events of e (times in 64 bits).
std::vector<Rgb> expected_frame(const Events& e, std::size_t n, ops::SensorSize sensor, std::int64_t decay_us,
                                const Palette& palette) {
  std::vector<std::int64_t> last_off(sensor.pixels(), 0), last_on(sensor.pixels(), 0);
  for (std::size_t k = 0; k < n; ++k)
    if (e.x[k] < sensor.width && e.y[k] < sensor.height)
      (e.p[k] != 0 ? last_on : last_off)[std::size_t{e.y[k]} * sensor.width + e.x[k]] = e.t[k];
  const TimeDecayColors colors = time_decay_colors(palette);
  const FastExpDecay decay;
  const std::int64_t now = n == 0 ? 0 : e.t[n - 1];
  std::vector<Rgb> frame(sensor.pixels());
  for (std::size_t i = 0; i < sensor.pixels(); ++i) {
    const std::int64_t dt_off = now - last_off[i], dt_on = now - last_on[i];
    const bool on = dt_off > dt_on;
    const float f = (on ? 1.f : -1.f) * decay(static_cast<float>(std::max<std::int64_t>(std::min(dt_off, dt_on), 0)) /
                                              static_cast<float>(decay_us));
    if (palette.identity_levels) {
      const auto level = static_cast<std::uint8_t>(std::clamp(std::lrint(0.5f * (1 + f) * 255), 0L, 255L));
      frame[i] = {level, level, level};
    } else {
      frame[i] = colors[static_cast<std::size_t>(std::lrint(0.5f * (1 + f) * 256.f))];
    }
  }
  return frame;
}

void expect_frame(const std::vector<std::uint8_t>& rgb, const std::vector<Rgb>& expected, const std::string& what) {
  for (std::size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ((Rgb{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]}), expected[i]) << what << " pixel " << i;
}

TEST(TimeDecayFrame, every_pixel_follows_the_rule_on_a_sensor_the_vector_path_covers) {
  // 97 x 61 pixels (eight at a time, then a tail), events out of time order and never-touched
  // pixels; a short decay (ages past the table all faded) and a long one (ages past the table
  // computed, the vector path giving way to the scalar one), grey and coloured.
  const ops::SensorSize sensor{97, 61};
  Events e = ops::testing::random_events(4'000, sensor, 5, 900);
  std::swap(e.t[100], e.t[3'000]);
  for (const std::int64_t decay_us : {std::int64_t{2'000}, std::int64_t{1'000'000}}) {
    for (const char* name : {"gray", "prophesee-dark"}) {
      const Palette palette = palette_by_name(name);
      TimeDecayFrame frame(sensor, decay_us, palette);
      frame.add(e.view());
      std::vector<std::uint8_t> rgb(3 * sensor.pixels());
      frame.render(rgb);
      expect_frame(rgb, expected_frame(e, e.size(), sensor, decay_us, palette), name + (" " + std::to_string(decay_us)));
    }
  }
}

TEST(TimeDecayFrame, pixels_follow_the_rule_across_times_too_far_apart_for_32_bit_cells) {
  // The times are kept as 32-bit offsets from a base below the first event while they fit: an
  // event 2^33 µs later (in the middle of a batch, or in the next batch), one 57 s before the
  // first (out of order), times near the int64 limits, negative times, and an event at time 0
  // (the cells' initial time) must all give the frames of 64-bit times.
  const ops::SensorSize sensor{23, 11};
  const Palette palette = palette_by_name("gray");
  struct Jump {
    const char* name;
    std::int64_t first;      // the first event's time
    std::size_t at;          // the event from which times jump
    std::int64_t by;         // the jump
    std::size_t batch;       // events per add()
  };
  const std::int64_t far = std::int64_t{1} << 33;
  const Jump jumps[] = {{"jump mid-batch", 1'000, 600, far, 1'000},
                        {"jump at a batch", 1'000, 500, far, 500},
                        {"out of order", 40'000'000, 700, -57'000'000, 1'000},
                        {"negative times", -5'000'000'000, 400, 5'000'000'000 - 2'000, 300},
                        {"near the int64 top", std::numeric_limits<std::int64_t>::max() - 3'000'000'000, 100, 0, 1'000},
                        {"near the int64 bottom", std::numeric_limits<std::int64_t>::min() + 1'000, 100, 0, 1'000},
                        {"no jump", 77, 0, 0, 250}};
  for (const Jump& j : jumps) {
    Events e = ops::testing::random_events(1'000, {sensor.width + 1, sensor.height}, 8, 5, j.first);
    for (std::size_t k = j.at; k < e.size() && j.by != 0; ++k) e.t[k] += j.by;
    if (j.by < 0) std::swap(e.t[j.at], e.t[e.size() - 1]);  // one event far out of order, then back in order
    for (std::size_t k = j.at + 1; k < e.size() && j.by < 0; ++k) e.t[k] -= j.by;
    e.t[j.at / 2] = 0;  // time 0, OpenEB's initial time, while narrow
    for (const std::int64_t decay_us : {std::int64_t{3'000}, std::int64_t{1'000'000}}) {
      TimeDecayFrame frame(sensor, decay_us, palette);
      std::vector<std::uint8_t> rgb(3 * sensor.pixels());
      frame.render(rgb);  // before any event: every time 0, now 0
      expect_frame(rgb, expected_frame(Events{}, 0, sensor, decay_us, palette), std::string(j.name) + " empty");
      for (std::size_t begin = 0; begin < e.size(); begin += j.batch) {
        const std::size_t end = std::min(e.size(), begin + j.batch);
        frame.add(e.view().slice(begin, end));
        frame.render(rgb);
        expect_frame(rgb, expected_frame(e, end, sensor, decay_us, palette),
                     std::string(j.name) + " tau " + std::to_string(decay_us) + " after " + std::to_string(end));
      }
    }
  }
}

TEST(TimeDecayFrame, refuses_a_decay_time_below_one_microsecond) {
  EXPECT_THROW(TimeDecayFrame({4, 4}, 0, palette_by_name("dark")), InvalidArgument);
}

RenderOptions time_decay_options(std::int64_t decay_us) {
  RenderOptions o;
  o.mode.mode = Mode::kTimeDecay;
  o.mode.decay.decay_param = static_cast<double>(decay_us);
  o.accumulate_us = 10'000;
  o.fps = 100.0;
  return o;
}

TEST(TimeDecayMode, frames_are_the_state_after_each_slice_whatever_the_chunks) {
  const ops::SensorSize sensor{16, 8};
  const Events e = ops::testing::random_events(5'000, sensor, 3, 40);
  const RenderOptions o = time_decay_options(3'000);
  const auto whole = all_frames(e, sensor, o);
  const auto cut = all_frames(e, sensor, o, {0, 1, 777, 778, 2'500, 4'999, e.size()});
  ASSERT_GE(whole.size(), 10u);
  ASSERT_EQ(cut.size(), whole.size());
  for (std::size_t k = 0; k < whole.size(); ++k) EXPECT_EQ(cut[k].rgb, whole[k].rgb) << k;
  // Frame k is OpenEB's generate() after every event before its time.
  for (const std::size_t k : {std::size_t{0}, whole.size() / 2, whole.size() - 1}) {
    std::size_t n = 0;
    while (n < e.size() && e.t[n] < whole[k].t_us) ++n;
    TimeDecayFrame reference(sensor, 3'000, o.mode.palette);
    reference.add(e.view().slice(0, n));
    std::vector<std::uint8_t> rgb(3 * sensor.pixels());
    reference.render(rgb);
    EXPECT_EQ(whole[k].rgb, rgb) << k;
  }
  EXPECT_EQ(mode_by_name("time-decay"), Mode::kTimeDecay);
  EXPECT_EQ(mode_name(Mode::kTimeDecay), "time-decay");
}

}  // namespace
}  // namespace evlib::render
