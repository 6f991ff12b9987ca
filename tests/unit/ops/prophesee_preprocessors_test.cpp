#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "evlib/ops/prophesee_preprocessors.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{3, 2};

TEST(PropheseeHisto, adds_the_increment_per_polarity_and_saturates_at_the_clip_value) {
  Events e;
  for (int i = 0; i < 7; ++i) e.add(i, 2, 1, 1);
  e.add(7, 0, 0, 0);
  std::vector<float> chw(12), hwc(12);
  prophesee_histo(e.view(), kSensor, {5.f, 1.f}, HistoLayout::kCHW, chw);
  prophesee_histo(e.view(), kSensor, {5.f, 1.f}, HistoLayout::kHWC, hwc);
  EXPECT_EQ(chw[6 + 1 * 3 + 2], 1.f);  // ON plane, (y 1, x 2): 7 x 0.2 clipped at 1
  EXPECT_EQ(chw[0], 0.2f);
  EXPECT_EQ(hwc[2 * (1 * 3 + 2) + 1], 1.f);
  EXPECT_EQ(hwc[0], 0.2f);
}

TEST(PropheseeDiff, clamps_after_every_event_so_order_matters) {
  Events on_first, off_first;
  for (int i = 0; i < 3; ++i) on_first.add(i, 1, 1, 1);
  on_first.add(3, 1, 1, 0);
  off_first.add(0, 1, 1, 0);
  for (int i = 1; i < 4; ++i) off_first.add(i, 1, 1, 1);
  std::vector<float> a(6), b(6);
  prophesee_diff(on_first.view(), kSensor, {2.f, 1.f}, a);   // 0.5, 1, 1 (clipped), 0.5
  prophesee_diff(off_first.view(), kSensor, {2.f, 1.f}, b);  // -0.5, 0, 0.5, 1
  EXPECT_EQ(a[4], 0.5f);
  EXPECT_EQ(b[4], 1.f);
}

TEST(PropheseeEventCube, splits_an_event_between_the_two_nearest_bins) {
  Events e;
  e.add(100 + 50, 0, 0, 1);  // ti* = 50 * 4 / 400 - 0.5 = 0: all in bin 0
  e.add(100 + 75, 1, 0, 0);  // ti* = 0.25: 0.75 in bin 0, 0.25 in bin 1
  e.add(100 + 10, 2, 0, 1);  // ti* = -0.4: 0.4 to bin -1 (dropped), 0.6 to bin 0
  std::vector<float> cube(4 * 2 * 6);
  prophesee_event_cube(e.view(), kSensor, {100, 400, 4, true}, {1.f, 10.f}, cube);
  const auto at = [&](int bin, int p, int x) { return cube[(bin * 2 + p) * 6 + x]; };
  EXPECT_EQ(at(0, 1, 0), 1.f);
  EXPECT_EQ(at(1, 1, 0), 0.f);
  EXPECT_FLOAT_EQ(at(0, 0, 1), 0.75f);
  EXPECT_FLOAT_EQ(at(1, 0, 1), 0.25f);
  EXPECT_FLOAT_EQ(at(0, 1, 2), 0.6f);
}

TEST(PropheseeEventCube, unsplit_weighs_off_events_negatively_and_rejects_bad_options) {
  Events e;
  e.add(0, 0, 0, 0);
  std::vector<float> cube(2 * 6);
  prophesee_event_cube(e.view(), kSensor, {0, 100, 2, false}, {1.f, 1.f}, cube);
  EXPECT_EQ(cube[0], -0.5f);  // ti* = -0.5: half to bin 0, the other half to bin -1 (dropped)
  EXPECT_THROW(prophesee_event_cube(e.view(), kSensor, {0, 0, 2, false}, {1.f, 1.f}, cube), std::invalid_argument);
  EXPECT_THROW(prophesee_event_cube(e.view(), kSensor, {0, 100, 2, false}, {1.f, 0.f}, cube), std::invalid_argument);
  EXPECT_THROW(prophesee_event_cube(e.view(), kSensor, {0, 100, 3, false}, {1.f, 1.f}, cube), std::invalid_argument);
}

// The kernels are built with FMA available (-march=x86-64-v3): a reference with every product
// forced through memory (so rounded on its own) must give the same floats.
TEST(PropheseeEventCube, products_are_rounded_before_they_are_added) {
  const SensorSize sensor{16, 12};
  const Events e = testing::random_events(5000, sensor, 21, 3);
  const std::int64_t start = e.t.front(), delta_t = e.t.back() - start + 1;
  std::vector<float> cube(7 * 2 * sensor.pixels());
  prophesee_event_cube(e.view(), sensor, {start, delta_t, 7, true}, {3.f, 2.f, 1.5f, 0.75f}, cube);
  std::vector<float> expected(cube.size());
  volatile float normalisation = 1.f / 3.f * 1.5f;
  normalisation = normalisation * 0.75f;
  volatile float per_us = 7.f / static_cast<float>(delta_t);
  for (std::size_t i = 0; i < e.size(); ++i) {
    volatile float scaled = static_cast<float>(e.t[i] - start) * per_us;
    const float ti_star = scaled - 0.5f;
    const int lbin = static_cast<int>(std::floor(ti_star));
    const float left = std::max(0.f, 1.f - std::abs(static_cast<float>(lbin) - ti_star));
    const float right = 1.f - left;
    const std::size_t pixel = std::size_t{e.y[i]} * sensor.width + e.x[i];
    for (const auto& [bin, weight] : {std::pair{lbin, left}, std::pair{lbin + 1, right}}) {
      if (bin < 0 || bin >= 7) continue;
      volatile float value = weight * normalisation;
      float& v = expected[(static_cast<std::size_t>(bin) * 2 + e.p[i]) * sensor.pixels() + pixel];
      v = std::max(-2.f, std::min(2.f, v + value));
    }
  }
  EXPECT_EQ(cube, expected);
}

}  // namespace
}  // namespace evlib::ops
