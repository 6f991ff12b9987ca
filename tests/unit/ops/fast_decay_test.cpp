#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "evlib/ops/fast_decay.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;

std::vector<std::uint8_t> keep_of(FastDecayFilter& f, const Events& e) {
  std::vector<std::uint8_t> keep(e.size());
  f.apply(e.view(), keep);
  return keep;
}

TEST(FastDecay, activity_grows_by_one_per_event_in_a_cell_and_halves_every_half_life) {
  FastDecayFilter f({8, 8}, {.half_life_us = 1000, .subdivision = 4, .threshold = 2.5f});
  Events e;
  e.add(0, 0, 0);     // activity 1
  e.add(0, 3, 3);     // same 4x4 cell: 2
  e.add(0, 1, 2);     // 3 > 2.5: kept
  e.add(0, 4, 0);     // another cell: 1
  e.add(1000, 2, 2);  // 3 * 0.5 + 1 = 2.5, not above
  e.add(1000, 9, 0);  // outside the sensor: dropped, no state
  e.add(1000, 2, 1);  // 3.5: kept
  EXPECT_EQ(keep_of(f, e), (std::vector<std::uint8_t>{0, 0, 1, 0, 0, 0, 1}));
}

TEST(FastDecay, batch_splits_and_reset_change_nothing) {
  const SensorSize sensor{20, 15};
  const Events e = testing::random_events(4000, sensor, 5, 30);
  FastDecayFilter whole(sensor, {.half_life_us = 2000, .subdivision = 3, .threshold = 2.0f});
  const auto expected = keep_of(whole, e);
  FastDecayFilter stream(sensor, {.half_life_us = 2000, .subdivision = 3, .threshold = 2.0f});
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    stream.reset();
    std::vector<std::uint8_t> got(e.size());
    const auto cuts = testing::random_cuts(e.size(), seed);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
      stream.apply(e.view().slice(cuts[i], cuts[i + 1]), std::span(got).subspan(cuts[i], cuts[i + 1] - cuts[i]));
    EXPECT_EQ(got, expected);
  }
}

}  // namespace
}  // namespace evlib::ops
