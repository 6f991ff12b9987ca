#include <gtest/gtest.h>

#include <vector>

#include "evlib/ops/decimation.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{8, 6};

TEST(Decimation, keeps_the_nth_event_of_each_pixel_as_tonic) {
  // tonic's example: n = 3 on times 0..6 at one pixel keeps t = 2 and 5.
  Events e;
  for (std::int64_t t = 0; t <= 6; ++t) e.add(t, 1, 1, static_cast<std::uint8_t>(t % 2));
  DecimationFilter f(kSensor, 3);
  EXPECT_EQ(testing::keep_flags(f, e.view()), (std::vector<std::uint8_t>{0, 0, 1, 0, 0, 1, 0}));
}

TEST(Decimation, pixels_count_apart) {
  Events e;
  e.add(0, 1, 1);
  e.add(1, 2, 1);
  e.add(2, 1, 1);
  e.add(3, 2, 1);
  DecimationFilter f(kSensor, 2);
  EXPECT_EQ(testing::keep_flags(f, e.view()), (std::vector<std::uint8_t>{0, 0, 1, 1}));
}

TEST(Decimation, n_one_keeps_everything_inside_the_sensor) {
  Events e;
  e.add(0, 1, 1);
  e.add(1, 8, 1);
  DecimationFilter f(kSensor, 1);
  EXPECT_EQ(testing::keep_flags(f, e.view()), (std::vector<std::uint8_t>{1, 0}));
}

TEST(Decimation, any_batch_split_gives_the_same_flags) {
  const Events e = testing::random_events(5000, kSensor, 11);
  for (std::uint32_t seed = 0; seed < 5; ++seed) {
    DecimationFilter whole(kSensor, 4), batched(kSensor, 4);
    EXPECT_EQ(testing::keep_flags(whole, e.view()), testing::keep_flags_in_batches(batched, e.view(), seed));
  }
}

TEST(Decimation, rejects_n_zero) { EXPECT_THROW(DecimationFilter(kSensor, 0), std::invalid_argument); }

}  // namespace
}  // namespace evlib::ops
