#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "evlib/ops/augment.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

TEST(Augment, counter_draws_depend_only_on_seed_stream_and_index) {
  EXPECT_EQ(counter_bits(1, RandomStream::kDropEvent, 5), counter_bits(1, RandomStream::kDropEvent, 5));
  EXPECT_NE(counter_bits(1, RandomStream::kDropEvent, 5), counter_bits(2, RandomStream::kDropEvent, 5));
  EXPECT_NE(counter_bits(1, RandomStream::kDropEvent, 5), counter_bits(1, RandomStream::kTimeJitter, 5));
  EXPECT_NE(counter_bits(1, RandomStream::kDropEvent, 5), counter_bits(1, RandomStream::kDropEvent, 6));
}

TEST(Augment, counter_uniforms_are_uniform_in_the_unit_interval) {
  constexpr int kDraws = 100000;
  std::vector<int> deciles(10);
  double sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = counter_uniform(9, RandomStream::kParameters, static_cast<std::uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ++deciles[static_cast<std::size_t>(u * 10)];
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.005);
  for (int count : deciles) EXPECT_NEAR(count, kDraws / 10, 500);
}

TEST(Augment, drop_events_is_the_same_over_batches_with_their_first_index) {
  std::vector<std::uint8_t> whole(1000), batched(1000);
  drop_events(0.3, 4, 0, whole);
  drop_events(0.3, 4, 0, std::span(batched).first(123));
  drop_events(0.3, 4, 123, std::span(batched).subspan(123));
  EXPECT_EQ(whole, batched);
  EXPECT_THROW(drop_events(1.5, 4, 0, whole), std::invalid_argument);
}

TEST(Augment, time_jitter_with_zero_deviation_is_the_identity_and_truncates_otherwise) {
  const std::vector<std::int64_t> t{0, 5, 1'000'000'000'000};
  std::vector<std::int64_t> out(t.size());
  time_jitter(t, 0, 1, 0, out);
  EXPECT_EQ(out, t);
  // |shift| < 1 (at this deviation, except with negligible probability): the float sum truncates
  // toward zero as tonic's cast does, so t stays or becomes t - 1 (never t + 1).
  time_jitter(t, 1e-3, 1, 0, out);
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_LE(out[i], t[i]);
    EXPECT_GE(out[i], t[i] - 1);
  }
}

TEST(Augment, spatial_jitter_moves_coordinates_and_rejects_a_non_covariance) {
  testing::Events e;
  for (int i = 0; i < 4000; ++i) e.add(i, 50, 50);
  std::vector<std::int32_t> x(e.size()), y(e.size());
  spatial_jitter(e.view(), {4, 4, 0}, 3, 0, x, y);
  double sum_dx = 0;
  for (std::size_t i = 0; i < e.size(); ++i) sum_dx += x[i] - e.x[i];
  // Truncation of a positive sum is a floor: tonic's -0.5 pixel bias.
  EXPECT_NEAR(sum_dx / static_cast<double>(e.size()), -0.5, 0.12);
  EXPECT_THROW(spatial_jitter(e.view(), {1, 1, 1.5}, 3, 0, x, y), std::invalid_argument);
}

TEST(Augment, uniform_noise_stays_on_the_sensor_and_in_the_time_range) {
  const NoiseEvents noise = uniform_noise(50000, {7, 3}, 100, 200, 8, 0);
  ASSERT_EQ(noise.t.size(), 50000u);
  std::size_t on = 0;
  for (std::size_t k = 0; k < noise.t.size(); ++k) {
    ASSERT_LT(noise.x[k], 7);
    ASSERT_LT(noise.y[k], 3);
    ASSERT_GE(noise.t[k], 100);
    ASSERT_LT(noise.t[k], 200);
    on += noise.p[k];
  }
  EXPECT_NEAR(static_cast<double>(on) / 50000, 0.5, 0.01);
  EXPECT_EQ(uniform_noise(3, {7, 3}, 100, 100, 8, 0).t, (std::vector<std::int64_t>{100, 100, 100}));
}

// A range wider than int64 (min to max of int64): the times spread over it, none at the wrapped
// span's garbage (all at the lowest time, before).
TEST(Augment, uniform_noise_over_the_whole_int64_range_spreads_over_it) {
  constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const NoiseEvents noise = uniform_noise(10000, {7, 3}, lowest, highest, 9, 0);
  std::size_t negative = 0;
  for (const std::int64_t t : noise.t) {
    ASSERT_LT(t, highest);
    negative += t < 0;
  }
  EXPECT_NEAR(static_cast<double>(negative) / 10000, 0.5, 0.03);
}

// tonic adds the jitter in float64 and casts back, which for a time at the int64 limit leaves the
// range (numpy gives INT64_MIN): refused, where the old cast was undefined.
TEST(Augment, time_jitter_refuses_times_it_would_move_past_int64) {
  const std::vector<std::int64_t> t = {0, std::numeric_limits<std::int64_t>::max() - 5};
  std::vector<std::int64_t> out(t.size());
  EXPECT_THROW(time_jitter(t, 1.0, 1, 0, out), std::overflow_error);
  const std::vector<std::int64_t> low = {std::numeric_limits<std::int64_t>::min() + 5000};
  std::vector<std::int64_t> low_out(1);
  time_jitter(low, 1.0, 1, 0, low_out);
  EXPECT_NEAR(static_cast<double>(low_out[0] - low[0]), 0.0, 2048.0 + 8.0);  // float64 steps of 2048 here
}

}  // namespace
}  // namespace evlib::ops
