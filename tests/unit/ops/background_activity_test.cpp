#include <gtest/gtest.h>

#include <vector>

#include "evlib/ops/background_activity.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
using Flags = std::vector<std::uint8_t>;
constexpr SensorSize kSensor{8, 6};

Flags run(const Events& e, std::int64_t duration, BackgroundActivityConvention c, SensorSize sensor = kSensor) {
  BackgroundActivityFilter f(sensor, duration, c);
  return testing::keep_flags(f, e.view());
}

TEST(BackgroundActivity, dv_processing_needs_a_recent_event_among_the_eight_neighbours) {
  // Checked against dv_processing.noise.BackgroundActivityNoiseFilter 2.0.4 with 2000 us.
  Events e;
  e.add(10, 3, 3);    // before the duration: the zero-initialised neighbours are recent enough
  e.add(5000, 3, 3);  // its own earlier event does not count
  e.add(5500, 4, 3);  // (3, 3) fired 500 us before
  e.add(9000, 0, 0);  // corner: three neighbours, none recent
  e.add(9100, 1, 1);  // diagonal neighbour (0, 0)
  e.add(9200, 1, 1);
  EXPECT_EQ(run(e, 2000, BackgroundActivityConvention::kDvProcessing), (Flags{1, 0, 1, 0, 1, 1}));
}

TEST(BackgroundActivity, dv_processing_support_is_strictly_younger_than_the_duration) {
  Events e;
  e.add(10000, 2, 2);
  e.add(11999, 3, 2);
  e.add(14000, 4, 2);  // (3, 2) is exactly 2001 old; then one exactly 2000 old
  e.add(16000, 3, 2);
  EXPECT_EQ(run(e, 2000, BackgroundActivityConvention::kDvProcessing), (Flags{0, 1, 0, 0}));
}

TEST(BackgroundActivity, jaer_lets_a_pixels_first_event_through_and_writes_only_around_interior_pixels) {
  Events e;
  e.add(1000, 3, 3);  // first at its pixel: passes; writes the 8 cells around (3, 3)
  e.add(1500, 4, 3);  // its cell holds 1000
  e.add(1600, 3, 3);  // its cell holds 1500 (written by the event at (4, 3))
  e.add(5000, 3, 3);  // stale
  e.add(5000, 0, 0);  // first at its pixel; a corner writes nothing
  e.add(5100, 1, 1);  // (0, 0) wrote nothing: still a first event
  e.add(5200, 0, 0);  // (1, 1) is interior and wrote 5100 here
  e.add(9000, 0, 0);
  EXPECT_EQ(run(e, 1000, BackgroundActivityConvention::kJaer), (Flags{1, 1, 1, 0, 1, 1, 1, 0}));
}

TEST(BackgroundActivity, tonic_denoise_uses_four_neighbours_and_lets_early_events_through) {
  Events e;
  e.add(10, 3, 3);    // neighbours start at the filter time, 1000 > 10
  e.add(5000, 3, 3);
  e.add(5500, 4, 3);  // (3, 3) holds 6000 > 5500
  e.add(5600, 5, 4);  // (4, 3) is diagonal: not a neighbour here
  e.add(6999, 3, 3);  // (4, 3) holds 6500, not > 6999
  EXPECT_EQ(run(e, 1000, BackgroundActivityConvention::kTonicDenoise), (Flags{1, 0, 1, 0, 0}));
}

TEST(BackgroundActivity, a_one_pixel_sensor_has_no_neighbours_to_support_anything) {
  Events e;
  e.add(0, 0, 0);
  e.add(1, 0, 0);
  EXPECT_EQ(run(e, 1000, BackgroundActivityConvention::kDvProcessing, {1, 1}), (Flags{0, 0}));
  EXPECT_EQ(run(e, 1000, BackgroundActivityConvention::kTonicDenoise, {1, 1}), (Flags{0, 0}));
  // jAER judges by the pixel's own cell: the first passes, and a corner writes nothing.
  EXPECT_EQ(run(e, 1000, BackgroundActivityConvention::kJaer, {1, 1}), (Flags{1, 1}));
}

TEST(BackgroundActivity, events_outside_the_sensor_are_dropped_and_support_nothing) {
  Events e;
  e.add(5000, 8, 3);
  e.add(5001, 7, 3);  // the event beside it at x = 8 left no trace
  EXPECT_EQ(run(e, 2000, BackgroundActivityConvention::kDvProcessing), (Flags{0, 0}));
  EXPECT_EQ(run(e, 2000, BackgroundActivityConvention::kJaer), (Flags{0, 1}));
}

TEST(BackgroundActivity, empty_input_keeps_nothing) {
  BackgroundActivityFilter f(kSensor, 10, BackgroundActivityConvention::kJaer);
  EXPECT_EQ(f.apply(EventView{}, {}), 0u);
}

TEST(BackgroundActivity, random_batch_splits_give_the_same_flags_in_every_convention) {
  const Events e = testing::random_events(30000, kSensor, 11, 20);
  for (auto c : {BackgroundActivityConvention::kDvProcessing, BackgroundActivityConvention::kJaer,
                 BackgroundActivityConvention::kTonicDenoise}) {
    BackgroundActivityFilter whole(kSensor, 300, c);
    const auto expected = testing::keep_flags(whole, e.view());
    const auto kept = std::count(expected.begin(), expected.end(), 1);
    EXPECT_GT(kept, 0);
    EXPECT_LT(kept, static_cast<long>(e.size()));
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
      BackgroundActivityFilter split(kSensor, 300, c);
      EXPECT_EQ(testing::keep_flags_in_batches(split, e.view(), seed), expected);
    }
  }
}

}  // namespace
}  // namespace evlib::ops
