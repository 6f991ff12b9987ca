// The background-activity and STCF filters keep 32-bit times relative to a moving base
// (src/ops/time_grid.hpp). These tests hold them to plain int64 models of each convention, written
// from docs/processing.md, on streams made to stress that representation: epoch timestamps,
// forward and backward jumps of more than 2^32 µs, negative times, durations around the 2^30 µs
// switch to int64 cells, times that jump back and forth often enough to switch the grid to int64
// cells mid-stream, events on the sensor border and outside it, and random batch boundaries.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/stcf.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
using Flags = std::vector<std::uint8_t>;
constexpr SensorSize kSensor{7, 5};

// ---- the models: one int64 (or empty) value per pixel, neighbours visited one by one ----

struct Model {
  SensorSize sensor;
  std::vector<std::optional<std::int64_t>> cell;
  Model(SensorSize s, std::optional<std::int64_t> initial) : sensor(s), cell(s.pixels(), initial) {}
  std::optional<std::int64_t>& at(int x, int y) { return cell[static_cast<std::size_t>(y) * sensor.width + x]; }
  bool on_sensor(int x, int y) const { return x >= 0 && y >= 0 && x < int(sensor.width) && y < int(sensor.height); }
  // Calls f(value) for the in-sensor neighbours of (x, y): the 8 around it, or the 4 edge ones.
  template <class F>
  void neighbours(int x, int y, bool edges_only, F f) {
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if ((dx || dy) && (!edges_only || !(dx && dy)) && on_sensor(x + dx, y + dy)) f(at(x + dx, y + dy));
  }
};

Flags model_background_activity(const Events& e, SensorSize s, std::int64_t d, BackgroundActivityConvention c) {
  const bool tonic = c == BackgroundActivityConvention::kTonicDenoise;
  Model m(s, c == BackgroundActivityConvention::kJaer ? std::nullopt : std::optional<std::int64_t>(tonic ? d : 0));
  Flags keep;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const int x = e.x[i], y = e.y[i];
    const std::int64_t t = e.t[i];
    bool pass = false;
    if (!m.on_sensor(x, y)) {
    } else if (c == BackgroundActivityConvention::kDvProcessing) {
      m.neighbours(x, y, false, [&](auto& v) { pass |= __int128{t} - *v < d; });
      m.at(x, y) = t;
    } else if (c == BackgroundActivityConvention::kJaer) {
      pass = !m.at(x, y) || __int128{t} - *m.at(x, y) < d;
      if (x >= 1 && y >= 1 && x + 2 <= int(s.width) && y + 2 <= int(s.height))
        m.neighbours(x, y, false, [&](auto& v) { v = t; });
    } else {
      m.at(x, y) = t + d;
      m.neighbours(x, y, true, [&](auto& v) { pass |= *v > t; });
    }
    keep.push_back(pass);
  }
  return keep;
}

Flags model_stcf(const Events& e, SensorSize s, const StcfOptions& o) {
  Model m(s, std::nullopt);
  Flags keep;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const int x = e.x[i], y = e.y[i];
    const std::int64_t t = e.t[i];
    bool pass = false;
    if (m.on_sensor(x, y)) {
      if (!m.at(x, y)) {
        pass = o.let_first_through;
      } else {
        int count = o.include_self && __int128{t} - *m.at(x, y) < o.correlation_time_us;
        m.neighbours(x, y, false, [&](auto& v) { count += v && __int128{t} - *v < o.correlation_time_us; });
        pass = count >= o.min_correlated;
      }
      m.at(x, y) = t;
    }
    keep.push_back(pass);
  }
  return keep;
}

// ---- the streams ----

// Bursts of clustered events (steps 0..max_step µs, pixels anywhere on the sensor, a few just
// outside it), separated by jumps: to epoch time, forward and back by more than 2^32 µs, below
// zero. Within a burst, times are sorted; across bursts they need not be.
Events jumpy_stream(std::uint32_t seed, std::int64_t max_step) {
  constexpr std::int64_t kGiant = std::int64_t{1} << 32;
  const std::vector<std::int64_t> starts = {0,           1'700'000'000'000'000, 1'700'000'000'000'000 + kGiant + 7,
                                            1'700'000'000'000'000 - 3,           -5 * kGiant,
                                            900,         kGiant - 100,           3 * kGiant,
                                            2 * kGiant + 1, (std::int64_t{1} << 31) - 50};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> step(0, max_step);
  std::uniform_int_distribution<int> col(0, int(kSensor.width)), row(0, int(kSensor.height));  // one past the edge too
  Events e;
  for (std::int64_t start : starts) {
    std::int64_t t = start;
    for (int i = 0; i < 400; ++i) {
      t += step(rng);
      e.add(t, static_cast<std::uint16_t>(col(rng)), static_cast<std::uint16_t>(row(rng)));
    }
  }
  return e;
}

// Times that leap between two values 10^13 µs apart every few events: each leap needs a rebase,
// more often than the grid allows, so it switches to int64 cells midway.
Events leaping_stream(std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> col(0, int(kSensor.width) - 1), row(0, int(kSensor.height) - 1);
  Events e;
  std::int64_t t = 0;
  for (int i = 0; i < 3000; ++i) {
    t += 3;
    const std::int64_t leap = (i / 5) % 2 ? 10'000'000'000'000 : 0;
    e.add(t + leap, static_cast<std::uint16_t>(col(rng)), static_cast<std::uint16_t>(row(rng)));
  }
  return e;
}

// Times near both int64 limits (2^35 µs inside them, past every duration below), alternating in
// bursts: differences of nearly 2^64, which int64 arithmetic would wrap.
Events extreme_stream(std::uint32_t seed) {
  constexpr std::int64_t kInside = std::int64_t{1} << 35;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> col(0, int(kSensor.width) - 1), row(0, int(kSensor.height) - 1);
  Events e;
  for (int burst = 0; burst < 8; ++burst) {
    std::int64_t t = burst % 2 ? std::numeric_limits<std::int64_t>::max() - kInside : std::numeric_limits<std::int64_t>::min() + kInside;
    t += burst * 1000;
    for (int i = 0; i < 150; ++i) e.add(t += 7, static_cast<std::uint16_t>(col(rng)), static_cast<std::uint16_t>(row(rng)));
  }
  return e;
}

std::vector<Events> hard_streams() {
  return {jumpy_stream(1, 40), jumpy_stream(2, 400), leaping_stream(3), testing::random_events(5000, kSensor, 4, 30),
          extreme_stream(5)};
}

// Durations: ordinary, zero, just below and at the switch to int64 cells (2^30 µs), and beyond.
const std::vector<std::int64_t> kDurations = {0, 1, 250, 2000, (std::int64_t{1} << 30) - 1, std::int64_t{1} << 30,
                                              std::int64_t{1} << 33};

template <class Filter>
void expect_model(Filter make_filter, const Events& e, const Flags& expected, const std::string& what) {
  auto whole = make_filter();
  EXPECT_EQ(testing::keep_flags(whole, e.view()), expected) << what << ", one batch";
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    auto split = make_filter();
    EXPECT_EQ(testing::keep_flags_in_batches(split, e.view(), seed), expected) << what << ", batches of seed " << seed;
  }
  // reset() returns to the first state, whatever mode the grid had switched to.
  whole.reset();
  EXPECT_EQ(testing::keep_flags(whole, e.view()), expected) << what << ", after reset";
}

TEST(NeighbourhoodFiltersExact, background_activity_matches_the_int64_model_on_jumping_times) {
  int stream = 0;
  for (const Events& e : hard_streams()) {
    ++stream;
    for (std::int64_t d : kDurations) {
      for (auto c : {BackgroundActivityConvention::kDvProcessing, BackgroundActivityConvention::kJaer,
                     BackgroundActivityConvention::kTonicDenoise}) {
        expect_model([&] { return BackgroundActivityFilter(kSensor, d, c); }, e, model_background_activity(e, kSensor, d, c),
                     "stream " + std::to_string(stream) + ", duration " + std::to_string(d) + ", convention " +
                         std::to_string(static_cast<int>(c)));
      }
    }
  }
}

TEST(NeighbourhoodFiltersExact, stcf_matches_the_int64_model_on_jumping_times) {
  int stream = 0;
  for (const Events& e : hard_streams()) {
    ++stream;
    for (std::int64_t d : kDurations) {
      for (int k : {1, 2, 4}) {
        for (bool self : {false, true}) {
          for (bool first : {false, true}) {
            const StcfOptions o{.correlation_time_us = d, .min_correlated = k, .include_self = self, .let_first_through = first};
            expect_model([&] { return StcfFilter(kSensor, o); }, e, model_stcf(e, kSensor, o),
                         "stream " + std::to_string(stream) + ", correlation time " + std::to_string(d) + ", k " +
                             std::to_string(k) + (self ? ", self" : "") + (first ? ", first through" : ""));
          }
        }
      }
    }
  }
}

TEST(NeighbourhoodFiltersExact, times_whose_thresholds_pass_the_int64_limits_are_refused_before_anything_changes) {
  // dv-processing's convention compares with t - d, tonic's stores t + d: at the limits those
  // leave int64, which the kernels compute in. A clear error, and the filter as it was.
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min(), kMax = std::numeric_limits<std::int64_t>::max();
  // 2000 µs: 32-bit cells; 2^31 µs: int64 cells from the start (the kernels' int64 arithmetic
  // must not wrap either).
  for (const auto& [c, t, d] : {std::tuple{BackgroundActivityConvention::kDvProcessing, kMin + 10, std::int64_t{2000}},
                                std::tuple{BackgroundActivityConvention::kTonicDenoise, kMax - 10, std::int64_t{2000}},
                                std::tuple{BackgroundActivityConvention::kDvProcessing, kMin + 10, std::int64_t{1} << 31},
                                std::tuple{BackgroundActivityConvention::kTonicDenoise, kMax - 10, std::int64_t{1} << 31}}) {
    BackgroundActivityFilter f(kSensor, d, c);
    Events before;
    before.add(0, 3, 3);
    Flags keep(1);
    f.apply(before.view(), keep);
    Events edge;
    edge.add(t, 3, 2);
    Flags edge_keep(1);
    EXPECT_THROW(f.apply(edge.view(), edge_keep), std::invalid_argument) << static_cast<int>(c) << " " << d;
    Events after;
    after.add(1, 3, 2);
    Flags after_keep(1);
    f.apply(after.view(), after_keep);
    Events both;
    both.add(0, 3, 3);
    both.add(1, 3, 2);
    EXPECT_EQ(after_keep[0], model_background_activity(both, kSensor, d, c)[1]) << static_cast<int>(c) << " " << d;
  }
  // A grid that turned to int64 cells midway (times leaping back and forth) checks too.
  StcfFilter stcf(kSensor, StcfOptions{.correlation_time_us = 1000, .min_correlated = 1});
  const Events leaping = leaping_stream(9);
  Flags leaping_keep(leaping.size());
  stcf.apply(leaping.view(), leaping_keep);
  Events edge;
  edge.add(kMin + 10, 3, 2);
  Flags edge_keep(1);
  EXPECT_THROW(stcf.apply(edge.view(), edge_keep), std::invalid_argument);
}

// The cells are read four to a row: a sensor one pixel wide or tall, and events on every border
// pixel of a larger one, touch only the border cells, which never count.
TEST(NeighbourhoodFiltersExact, thin_sensors_and_border_pixels_match_the_model) {
  for (const SensorSize s : {SensorSize{1, 6}, SensorSize{6, 1}, SensorSize{2, 2}, SensorSize{9, 4}}) {
    Events e;
    std::int64_t t = 100;
    for (int round = 0; round < 3; ++round)
      for (std::uint16_t y = 0; y < s.height; ++y)
        for (std::uint16_t x = 0; x < s.width; ++x)
          if (x == 0 || y == 0 || x + 1u == s.width || y + 1u == s.height) e.add(t += 7, x, y);
    for (auto c : {BackgroundActivityConvention::kDvProcessing, BackgroundActivityConvention::kJaer,
                   BackgroundActivityConvention::kTonicDenoise}) {
      BackgroundActivityFilter f(s, 50, c);
      EXPECT_EQ(testing::keep_flags(f, e.view()), model_background_activity(e, s, 50, c))
          << s.width << "x" << s.height << " convention " << static_cast<int>(c);
    }
    const StcfOptions o{.correlation_time_us = 50, .min_correlated = 1};
    StcfFilter f(s, o);
    EXPECT_EQ(testing::keep_flags(f, e.view()), model_stcf(e, s, o)) << s.width << "x" << s.height;
  }
}

}  // namespace
}  // namespace evlib::ops
