#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "evlib/ops/voxel_grid.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{4, 3};

std::size_t at(unsigned bin, std::size_t x, std::size_t y) { return (bin * 3 + y) * 4 + x; }

Events three() {
  Events e;
  e.add(0, 0, 0, 1);
  e.add(25, 1, 0, 0);
  e.add(100, 2, 0, 1);
  return e;
}

TEST(VoxelGrid, e2vid_spreads_over_bins_minus_one_and_keeps_the_last_event_on_the_last_bin) {
  const auto v = voxel_grid<float>(three().view(), {.sensor = kSensor, .bins = 3});
  EXPECT_EQ(v[at(0, 0, 0)], 1.0f);
  // 25 / 100 * 2 = 0.5: half into bins 0 and 1, negative (OFF).
  EXPECT_EQ(v[at(0, 1, 0)], -0.5f);
  EXPECT_EQ(v[at(1, 1, 0)], -0.5f);
  EXPECT_EQ(v[at(2, 2, 0)], 1.0f);
}

// Times 2^64 apart: the positions come from the exact differences (lowest, 0, highest are at 0,
// 1/2 and 1 of the span), not from int64 subtractions that wrap (which put NaN and 10^16 in the
// grid, through the sorted fast path taken for a wrapped span).
TEST(VoxelGrid, times_at_both_int64_limits_are_placed_by_their_exact_differences) {
  Events e;
  e.add(std::numeric_limits<std::int64_t>::min(), 0, 0, 1);
  e.add(0, 1, 0, 0);
  e.add(std::numeric_limits<std::int64_t>::max(), 2, 0, 1);
  const auto e2vid = voxel_grid<float>(e.view(), {.sensor = kSensor, .bins = 3});
  std::vector<float> expected(e2vid.size(), 0.0f);
  expected[at(0, 0, 0)] = 1.0f;
  expected[at(1, 1, 0)] = -1.0f;  // 2 * 2^63 / (2^64 - 1) is 1 in float64
  expected[at(2, 2, 0)] = 1.0f;
  EXPECT_EQ(e2vid, expected);
  const auto tonic = voxel_grid<double>(e.view(), {.sensor = kSensor, .bins = 2, .convention = VoxelConvention::kTonic});
  std::vector<double> expected_tonic(tonic.size(), 0.0);
  expected_tonic[at(0, 0, 0)] = 1.0;
  expected_tonic[at(1, 1, 0)] = -1.0;  // at 1 of 2 bins; the last event falls off the grid
  EXPECT_EQ(tonic, expected_tonic);
}

TEST(VoxelGrid, tonic_scales_by_bins_and_loses_the_last_event) {
  const auto v = voxel_grid<double>(three().view(), {.sensor = kSensor, .bins = 4, .convention = VoxelConvention::kTonic});
  EXPECT_EQ(v[at(0, 0, 0)], 1.0);
  EXPECT_EQ(v[at(1, 1, 0)], -1.0);  // 25 / 100 * 4 = 1 exactly
  double last = 0;
  for (unsigned b = 0; b < 4; ++b) last += std::abs(v[at(b, 2, 0)]);
  EXPECT_EQ(last, 0.0);
}

TEST(VoxelGrid, tonic_boolean_polarity_counts_every_event_positive) {
  const auto v = voxel_grid<double>(three().view(), {.sensor = kSensor, .bins = 4, .convention = VoxelConvention::kTonic,
                                                     .polarity = VoxelPolarity::kAllOn});
  EXPECT_EQ(v[at(1, 1, 0)], 1.0);
}

TEST(VoxelGrid, e2vid_accumulates_in_float32_left_weights_before_right_weights) {
  // Repeated events at one pixel: the float32 sum must follow numpy's add.at order exactly.
  Events e;
  for (int i = 0; i <= 1000; ++i) e.add(i * 7, 1, 1, static_cast<std::uint8_t>(i % 3 != 0));
  const auto v = voxel_grid<float>(e.view(), {.sensor = kSensor, .bins = 5});
  std::vector<float> expected(5, 0.0f);
  const double span = 7000.0;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i <= 1000; ++i) {
      const double ts = 4.0 * static_cast<double>(i * 7) / span;
      const auto bin = static_cast<int>(ts);
      const double frac = ts - bin;
      const double pol = (i % 3 != 0) ? 1.0 : -1.0;
      const int target = pass == 0 ? bin : bin + 1;
      if (target >= 5) continue;
      const double w = pass == 0 ? pol * (1.0 - frac) : pol * frac;
      expected[static_cast<std::size_t>(target)] = static_cast<float>(static_cast<double>(expected[target]) + w);
    }
  for (unsigned b = 0; b < 5; ++b) EXPECT_EQ(v[at(b, 1, 1)], expected[b]) << "bin " << b;
}

TEST(VoxelGrid, one_event_and_one_instant_go_to_the_first_bin) {
  Events e;
  e.add(42, 3, 2, 1);
  e.add(42, 3, 2, 1);
  for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic}) {
    const auto v = voxel_grid<double>(e.view(), {.sensor = kSensor, .bins = 2, .convention = c});
    EXPECT_EQ(v[at(0, 3, 2)], 2.0);
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), 2.0);
  }
}

TEST(VoxelGrid, normalisation_uses_non_zero_voxels_only_and_keeps_zeros) {
  Events e;
  e.add(0, 0, 0, 1);
  e.add(0, 0, 0, 1);
  e.add(0, 1, 0, 0);
  e.add(10, 2, 2, 1);
  const auto v = voxel_grid<float>(e.view(), {.sensor = kSensor, .bins = 2, .normalize = true});
  // Non-zero voxels 2, -1, 1: mean 2/3, std sqrt(2 - 4/9).
  const double mean = 2.0 / 3.0, sd = std::sqrt(6.0 / 3.0 - mean * mean);
  EXPECT_NEAR(v[at(0, 0, 0)], (2.0 - mean) / sd, 1e-6);
  EXPECT_NEAR(v[at(0, 1, 0)], (-1.0 - mean) / sd, 1e-6);
  EXPECT_EQ(v[at(0, 3, 1)], 0.0f);
  EXPECT_EQ(v[at(1, 0, 0)], 0.0f);
}

TEST(VoxelGrid, empty_input_and_events_outside_the_sensor_add_nothing) {
  EXPECT_EQ(voxel_grid<float>(EventView{}, {.sensor = kSensor, .bins = 2}), std::vector<float>(24, 0.0f));
  Events e;
  e.add(0, 4, 0, 1);
  e.add(5, 0, 3, 1);
  EXPECT_EQ(voxel_grid<float>(e.view(), {.sensor = kSensor, .bins = 2}), std::vector<float>(24, 0.0f));
}


// The reference's two passes, written out: every left weight in event order, then every right
// weight, each addition rounded to T.
template <class T>
std::vector<T> two_pass_reference(const Events& e, SensorSize sensor, unsigned bins, VoxelConvention c, bool all_on) {
  std::vector<T> out(bins * sensor.pixels(), T{});
  const auto t = e.view().t();
  const double span = t.back() == t.front() ? 1.0 : static_cast<double>(t.back() - t.front());
  const double scale = c == VoxelConvention::kE2vid ? bins - 1.0 : static_cast<double>(bins);
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < e.size(); ++i) {
      const auto v = e.view();
      if (!sensor.contains(v.x()[i], v.y()[i])) continue;
      const double ts = scale * static_cast<double>(t[i] - t.front()) / span;
      const auto bin = static_cast<std::int64_t>(ts);
      const double frac = ts - static_cast<double>(bin);
      const double pol = (all_on || v.p()[i] != 0) ? 1.0 : -1.0;
      const std::int64_t target = pass == 0 ? bin : bin + 1;
      if (target < 0 || target >= static_cast<std::int64_t>(bins)) continue;
      T& voxel = out[static_cast<std::size_t>(target) * sensor.pixels() + v.y()[i] * sensor.width + v.x()[i]];
      voxel = static_cast<T>(static_cast<double>(voxel) + (pass == 0 ? pol * (1.0 - frac) : pol * frac));
    }
  return out;
}

TEST(VoxelGrid, sorted_and_unsorted_streams_match_the_two_pass_reference_bit_for_bit) {
  // Small sensors, so that voxels collect many additions and float32 rounding depends on order;
  // some events outside the sensor; sorted streams take the one-pass kernel, shuffled ones not.
  std::mt19937_64 rng(5);
  for (int round = 0; round < 60; ++round) {
    const SensorSize sensor{static_cast<std::uint32_t>(1 + rng() % 6), static_cast<std::uint32_t>(1 + rng() % 5)};
    const unsigned bins = 1 + static_cast<unsigned>(rng() % 9);
    Events e;
    std::int64_t t = static_cast<std::int64_t>(rng() % 1000) - 500;
    const std::size_t n = 1 + rng() % 3000;
    const std::int64_t step = static_cast<std::int64_t>(rng() % 50);
    for (std::size_t i = 0; i < n; ++i) {
      t += step == 0 ? 0 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(step));
      e.add(t, static_cast<std::uint16_t>(rng() % (sensor.width + 1)), static_cast<std::uint16_t>(rng() % (sensor.height + 1)),
            static_cast<std::uint8_t>(rng() % 2));
    }
    if (round % 4 == 3) std::shuffle(e.t.begin(), e.t.end(), rng);
    for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic}) {
      for (bool all_on : {false, true}) {
        const VoxelGridOptions o{.sensor = sensor, .bins = bins, .convention = c,
                                 .polarity = all_on ? VoxelPolarity::kAllOn : VoxelPolarity::kSigned};
        ASSERT_EQ(voxel_grid<float>(e.view(), o), two_pass_reference<float>(e, sensor, bins, c, all_on)) << "round " << round;
        ASSERT_EQ(voxel_grid<double>(e.view(), o), two_pass_reference<double>(e, sensor, bins, c, all_on)) << "round " << round;
      }
    }
  }
}

// The one-pass kernel works in blocks of 256 events and adds a block without looking for
// off-sensor events when it has none: long stretches on the sensor with a lone off-sensor event
// here and there (so that blocks with none and blocks with one at any place follow each other).
TEST(VoxelGrid, blocks_with_and_without_off_sensor_events_match_the_two_pass_reference) {
  std::mt19937_64 rng(17);
  const SensorSize sensor{5, 3};
  for (int round = 0; round < 8; ++round) {
    Events e;
    std::int64_t t = 0;
    const std::size_t n = 2000 + rng() % 3000;
    for (std::size_t i = 0; i < n; ++i) {
      t += static_cast<std::int64_t>(rng() % 4);
      e.add(t, static_cast<std::uint16_t>(rng() % sensor.width), static_cast<std::uint16_t>(rng() % sensor.height),
            static_cast<std::uint8_t>(rng() % 2));
    }
    for (int k = 0; k < round; ++k) {  // round 0: all on the sensor
      const std::size_t i = rng() % n;
      (k % 2 == 0 ? e.x[i] : e.y[i]) = k % 4 == 0 ? 65535 : static_cast<std::uint16_t>(sensor.width);
    }
    for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic}) {
      const VoxelGridOptions o{.sensor = sensor, .bins = 4, .convention = c};
      ASSERT_EQ(voxel_grid<float>(e.view(), o), two_pass_reference<float>(e, sensor, 4, c, false)) << "round " << round;
      ASSERT_EQ(voxel_grid<double>(e.view(), o), two_pass_reference<double>(e, sensor, 4, c, false)) << "round " << round;
    }
  }
}

// Only non-decreasing times may take the one-pass kernel (its bin ranges come from a binary
// search): one event out of place anywhere (where the sortedness check, per block of 256 events
// as the kernel adds them, compares four pairs at a time, across the ends of blocks and in the
// scalar tail) must be seen, and the kernel's partial sums thrown away.
TEST(VoxelGrid, one_event_out_of_time_order_anywhere_is_seen_as_unsorted) {
  std::mt19937_64 rng(23);
  const SensorSize sensor{3, 2};
  Events sorted;
  for (std::int64_t i = 0; i < 3003; ++i)
    sorted.add(i * 3, static_cast<std::uint16_t>(rng() % sensor.width), static_cast<std::uint16_t>(rng() % sensor.height),
               static_cast<std::uint8_t>(rng() % 2));
  const std::size_t n = sorted.size();
  for (const std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4}, std::size_t{5},
                               std::size_t{255}, std::size_t{256}, std::size_t{257}, std::size_t{511}, std::size_t{512},
                               std::size_t{600}, std::size_t{601}, std::size_t{1200}, std::size_t{1201},
                               std::size_t{1022}, std::size_t{1023}, std::size_t{1024}, std::size_t{1027}, std::size_t{2047},
                               n - 6, n - 5, n - 4, n - 3, n - 2}) {
    for (const bool late : {true, false}) {
      Events e = sorted;
      // A time of the last bin before events of earlier bins, or one of the first bin after them.
      e.t[at] = late ? e.t[n - 2] : e.t[1];
      if (std::ranges::is_sorted(e.t)) continue;
      for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic}) {
        const VoxelGridOptions o{.sensor = sensor, .bins = 5, .convention = c};
        ASSERT_EQ(voxel_grid<double>(e.view(), o), two_pass_reference<double>(e, sensor, 5, c, false))
            << "at " << at << (late ? " late" : " early");
      }
    }
  }
}

// A grid written over old contents (a reused buffer) zeroes each plane just before its first
// addition: it must equal the grid added into zeros, bit for bit, for streams whose events skip
// bins, end on tonic's lost last bin, are unsorted (the two-pass path), hold one instant, or none.
TEST(VoxelGrid, a_grid_over_old_contents_equals_one_into_zeros) {
  std::mt19937_64 rng(31);
  const auto check = [](const Events& e, const VoxelGridOptions& o, const char* what) {
    const auto expected = voxel_grid<double>(e.view(), o);  // into a fresh, zeroed vector
    std::vector<double> reused(expected.size(), 12345.5);
    voxel_grid<double>(e.view(), o, std::span<double>(reused));
    EXPECT_EQ(reused, expected) << what;
    const auto expected32 = voxel_grid<float>(e.view(), o);
    std::vector<float> reused32(expected32.size(), -7.25f);
    voxel_grid<float>(e.view(), o, std::span<float>(reused32));
    EXPECT_EQ(reused32, expected32) << what << " (float32)";
  };
  Events gaps;  // tonic: bins 0 and 4 of 5, the last event beyond the grid; E2VID: bins 0, 3 and 4
  for (std::int64_t t : {0, 1, 2, 90, 99, 100}) gaps.add(t, static_cast<std::uint16_t>(t % 4), 2, t % 2 == 0 ? 1 : 0);
  for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic}) {
    check(gaps, {.sensor = kSensor, .bins = 5, .convention = c}, "bins skipped");
    Events e;
    std::int64_t t = 0;
    for (int i = 0; i < 3000; ++i) {
      t += static_cast<std::int64_t>(rng() % 3);
      e.add(t, static_cast<std::uint16_t>(rng() % 5), static_cast<std::uint16_t>(rng() % 4), static_cast<std::uint8_t>(rng() % 2));
    }
    check(e, {.sensor = kSensor, .bins = 6, .convention = c}, "sorted, some off the sensor");
    std::shuffle(e.t.begin(), e.t.end(), rng);
    check(e, {.sensor = kSensor, .bins = 6, .convention = c}, "unsorted");
    Events instant;
    instant.add(7, 1, 1, 1);
    instant.add(7, 2, 1, 0);
    check(instant, {.sensor = kSensor, .bins = 3, .convention = c}, "one instant");
    check(Events{}, {.sensor = kSensor, .bins = 3, .convention = c}, "no events");
  }
  // Unsorted, found after planes were zeroed and added to: a descent among the first range's
  // events (reached last, walking down) and one late in the last range's; and times that end below
  // their start (no one-pass attempt).
  Events sorted;
  for (std::int64_t i = 0; i < 3000; ++i)
    sorted.add(i, static_cast<std::uint16_t>(rng() % 4), static_cast<std::uint16_t>(rng() % 3), static_cast<std::uint8_t>(rng() % 2));
  for (const std::size_t at : {std::size_t{5}, std::size_t{2990}}) {
    Events descent = sorted;
    descent.t[at] = descent.t[at - 1] - 1;
    for (auto c : {VoxelConvention::kE2vid, VoxelConvention::kTonic})
      check(descent, {.sensor = kSensor, .bins = 4, .convention = c}, "one descent");
  }
  Events backwards = sorted;
  std::reverse(backwards.t.begin(), backwards.t.end());
  check(backwards, {.sensor = kSensor, .bins = 4, .convention = VoxelConvention::kTonic}, "times ending below the start");
  check(sorted, {.sensor = kSensor, .bins = 4, .normalize = true}, "normalised");
  check(sorted, {.sensor = kSensor, .bins = 1}, "E2VID, one bin");
}

}  // namespace
}  // namespace evlib::ops
