#include <gtest/gtest.h>

#include <vector>

#include "evlib/ops/refractory.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{8, 6};

std::vector<std::uint8_t> run(const Events& e, std::int64_t period, RefractoryConvention c) {
  RefractoryFilter f(kSensor, period, c);
  return testing::keep_flags(f, e.view());
}

Events same_pixel(std::initializer_list<std::int64_t> times) {
  Events e;
  for (auto t : times) e.add(t, 3, 2);
  return e;
}

TEST(Refractory, tonic_keeps_only_gaps_strictly_longer_than_the_period_counting_dropped_events) {
  // tonic's documented example: [1, 500, 1200, 2300] with 1000 -> [1, 2300]; 1200 is dropped
  // because 500 (itself dropped) reset the pixel.
  EXPECT_EQ(run(same_pixel({1, 500, 1200, 2300}), 1000, RefractoryConvention::kTonic),
            (std::vector<std::uint8_t>{1, 0, 0, 1}));
}

TEST(Refractory, tonic_drops_a_first_event_at_time_zero_and_keeps_one_just_after) {
  EXPECT_EQ(run(same_pixel({0}), 1000, RefractoryConvention::kTonic), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(run(same_pixel({1}), 1000, RefractoryConvention::kTonic), (std::vector<std::uint8_t>{1}));
}

TEST(Refractory, dv_processing_keeps_a_gap_equal_to_the_period) {
  EXPECT_EQ(run(same_pixel({300, 550, 799, 1049}), 250, RefractoryConvention::kDvProcessing),
            (std::vector<std::uint8_t>{1, 1, 0, 1}));
}

TEST(Refractory, dv_processing_drops_a_first_event_earlier_than_the_period) {
  EXPECT_EQ(run(same_pixel({249}), 250, RefractoryConvention::kDvProcessing), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(run(same_pixel({250}), 250, RefractoryConvention::kDvProcessing), (std::vector<std::uint8_t>{1}));
}

TEST(Refractory, first_kept_keeps_every_pixels_first_event_even_at_time_zero) {
  EXPECT_EQ(run(same_pixel({0, 1000, 2001}), 1000, RefractoryConvention::kFirstKept),
            (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST(Refractory, pixels_and_polarities_share_no_state_across_pixels_but_share_it_across_polarities) {
  Events e;
  e.add(5000, 1, 1, 1);
  e.add(5001, 2, 1, 1);  // other pixel: kept
  e.add(5002, 1, 1, 0);  // same pixel, other polarity: dropped
  EXPECT_EQ(run(e, 100, RefractoryConvention::kTonic), (std::vector<std::uint8_t>{1, 1, 0}));
}

TEST(Refractory, events_outside_the_sensor_are_dropped_and_leave_no_state) {
  Events e;
  e.add(5000, 8, 0);
  e.add(5000, 0, 6);
  e.add(5001, 0, 0);
  EXPECT_EQ(run(e, 100, RefractoryConvention::kFirstKept), (std::vector<std::uint8_t>{0, 0, 1}));
}

TEST(Refractory, empty_input_keeps_nothing_and_a_wrong_mask_size_is_refused) {
  RefractoryFilter f(kSensor, 10, RefractoryConvention::kTonic);
  EXPECT_EQ(f.apply(EventView{}, {}), 0u);
  const Events e = same_pixel({1, 2});
  std::vector<std::uint8_t> keep(1);
  EXPECT_THROW(f.apply(e.view(), keep), std::invalid_argument);
}

TEST(Refractory, unsorted_time_is_processed_in_the_given_order) {
  // An earlier time after a later one is a negative gap: never longer than the period.
  EXPECT_EQ(run(same_pixel({5000, 3000, 9000}), 1000, RefractoryConvention::kTonic),
            (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST(Refractory, random_batch_splits_give_the_same_flags_in_every_convention) {
  const Events e = testing::random_events(20000, kSensor, 7);
  for (auto c : {RefractoryConvention::kTonic, RefractoryConvention::kDvProcessing, RefractoryConvention::kFirstKept}) {
    RefractoryFilter whole(kSensor, 400, c);
    const auto expected = testing::keep_flags(whole, e.view());
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
      RefractoryFilter split(kSensor, 400, c);
      EXPECT_EQ(testing::keep_flags_in_batches(split, e.view(), seed), expected);
    }
  }
}

TEST(Refractory, reset_forgets_the_past) {
  RefractoryFilter f(kSensor, 1000, RefractoryConvention::kFirstKept);
  const Events e = same_pixel({10});
  EXPECT_EQ(testing::keep_flags(f, e.view())[0], 1);
  EXPECT_EQ(testing::keep_flags(f, e.view())[0], 0);
  f.reset();
  EXPECT_EQ(testing::keep_flags(f, e.view())[0], 1);
}

}  // namespace
}  // namespace evlib::ops
