#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

#include "evlib/ops/hot_pixels.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
using Flags = std::vector<std::uint8_t>;
constexpr SensorSize kSensor{4, 2};

std::size_t at(std::uint16_t x, std::uint16_t y) { return std::size_t{y} * kSensor.width + x; }

TEST(HotPixels, rate_rule_flags_counts_strictly_above_rate_times_duration) {
  // 1 s of recording at 3 Hz allows 3 events: 4 is hot, 3 is not.
  Events e;
  e.add(0, 0, 0);
  for (int i = 0; i < 3; ++i) e.add(100 + i, 1, 0);
  for (int i = 0; i < 4; ++i) e.add(200 + i, 2, 1);
  e.add(1'000'000, 0, 0);
  PixelCounter counter(kSensor);
  counter.add(e.view());
  const Flags hot = hot_pixels_by_rate(counter, 3.0);
  EXPECT_EQ(hot[at(2, 1)], 1);
  EXPECT_EQ(hot[at(1, 0)], 0);
  EXPECT_EQ(hot[at(0, 0)], 0);
  EXPECT_EQ(std::count(hot.begin(), hot.end(), 1), 1);
}

TEST(HotPixels, rate_rule_on_one_event_flags_the_pixel_as_tonic_does) {
  // A zero duration allows 0 events: the single event's pixel is "hot".
  Events e;
  e.add(5, 3, 1);
  PixelCounter counter(kSensor);
  counter.add(e.view());
  EXPECT_EQ(hot_pixels_by_rate(counter, 1000.0)[at(3, 1)], 1);
}

TEST(HotPixels, percentile_rule_takes_the_nearest_rank_among_active_pixels) {
  // Active counts 1, 2, 3, 10: the 50th percentile is rank round(1.5) = 2 -> count 3.
  Events e;
  std::int64_t t = 0;
  auto fire = [&](std::uint16_t x, std::uint16_t y, int n) {
    for (int i = 0; i < n; ++i) e.add(t++, x, y);
  };
  fire(0, 0, 1);
  fire(1, 0, 2);
  fire(2, 0, 3);
  fire(3, 1, 10);
  PixelCounter counter(kSensor);
  counter.add(e.view());
  Flags hot = hot_pixels_by_percentile(counter, 50.0);
  EXPECT_EQ(hot[at(3, 1)], 1);
  EXPECT_EQ(std::count(hot.begin(), hot.end(), 1), 1);
  // 100th percentile: nothing is above the maximum.
  hot = hot_pixels_by_percentile(counter, 100.0);
  EXPECT_EQ(std::count(hot.begin(), hot.end(), 1), 0);
  // 0th percentile: everything above the minimum.
  hot = hot_pixels_by_percentile(counter, 0.0);
  EXPECT_EQ(std::count(hot.begin(), hot.end(), 1), 3);
  EXPECT_THROW(hot_pixels_by_percentile(counter, 101.0), std::invalid_argument);
}

// The threshold as the rule defines it: nth_element over the non-zero counts.
std::uint64_t sorted_threshold(std::span<const std::uint64_t> counts, double percentile) {
  std::vector<std::uint64_t> active;
  for (std::uint64_t c : counts)
    if (c > 0) active.push_back(c);
  std::ranges::sort(active);
  return active[static_cast<std::size_t>(std::round(percentile / 100.0 * static_cast<double>(active.size() - 1)))];
}

Flags above(std::span<const std::uint64_t> counts, std::uint64_t threshold) {
  Flags hot;
  for (std::uint64_t c : counts) hot.push_back(c > threshold);
  return hot;
}

TEST(HotPixels, percentile_rule_matches_sorting_for_small_and_very_large_counts) {
  // Counts on both sides of the 4095 where the selection stops tallying and sorts the rest.
  constexpr SensorSize sensor{16, 8};
  const std::vector<int> fires = {0, 1, 1, 2, 3, 3, 3, 7, 4094, 4095, 4096, 9000, 5000, 4095, 12, 0, 6000};
  Events e;
  std::int64_t t = 0;
  for (std::size_t pixel = 0; pixel < fires.size(); ++pixel)
    for (int i = 0; i < fires[pixel]; ++i) e.add(t++, static_cast<std::uint16_t>(pixel % 16), static_cast<std::uint16_t>(pixel / 16));
  PixelCounter counter(sensor);
  counter.add(e.view());
  for (double q : {0.0, 10.0, 50.0, 60.0, 66.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0, 99.9, 100.0})
    EXPECT_EQ(hot_pixels_by_percentile(counter, q), above(counter.counts(), sorted_threshold(counter.counts(), q)))
        << "percentile " << q;
}

TEST(HotPixels, percentile_rule_matches_sorting_on_random_events) {
  constexpr SensorSize sensor{32, 24};
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    PixelCounter counter(sensor);
    counter.add(testing::random_events(20'000, sensor, seed).view());
    for (double q : {0.0, 33.3, 50.0, 90.0, 99.0, 99.9, 100.0})
      EXPECT_EQ(hot_pixels_by_percentile(counter, q), above(counter.counts(), sorted_threshold(counter.counts(), q)))
          << "seed " << seed << " percentile " << q;
  }
}

TEST(HotPixels, empty_input_flags_nothing) {
  PixelCounter counter(kSensor);
  counter.add(EventView{});
  const Flags hot = hot_pixels_by_percentile(counter, 99.9);
  EXPECT_EQ(std::count(hot.begin(), hot.end(), 1), 0);
  EXPECT_EQ(counter.events(), 0u);
}

TEST(HotPixels, events_outside_the_sensor_are_not_counted) {
  Events e;
  e.add(0, 4, 0);
  e.add(1, 0, 2);
  e.add(2, 0, 0);
  PixelCounter counter(kSensor);
  counter.add(e.view());
  EXPECT_EQ(counter.counts()[at(0, 0)], 1u);
  EXPECT_EQ(std::accumulate(counter.counts().begin(), counter.counts().end(), std::uint64_t{0}), 1u);
}

TEST(HotPixels, mask_filter_drops_flagged_pixels_and_events_outside_the_sensor) {
  Flags mask(kSensor.pixels(), 0);
  mask[at(1, 1)] = 1;
  PixelMaskFilter f(kSensor, mask);
  Events e;
  e.add(0, 1, 1);
  e.add(1, 1, 0);
  e.add(2, 9, 0);
  Flags keep(3);
  EXPECT_EQ(f.apply(e.view(), keep), 1u);
  EXPECT_EQ(keep, (Flags{0, 1, 0}));
  EXPECT_THROW(PixelMaskFilter(kSensor, Flags(3)), std::invalid_argument);
}

TEST(HotPixels, counting_in_random_batches_gives_the_same_counts_and_times) {
  const Events e = testing::random_events(5000, kSensor, 3);
  PixelCounter whole(kSensor);
  whole.add(e.view());
  PixelCounter split(kSensor);
  const auto cuts = testing::random_cuts(e.size(), 9);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) split.add(e.view().slice(cuts[i], cuts[i + 1]));
  EXPECT_TRUE(std::ranges::equal(whole.counts(), split.counts()));
  EXPECT_EQ(whole.first_t(), split.first_t());
  EXPECT_EQ(whole.last_t(), split.last_t());
}

}  // namespace
}  // namespace evlib::ops
