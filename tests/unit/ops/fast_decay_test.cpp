#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "evlib/ops/fast_decay.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{10, 7};

std::vector<std::uint8_t> run(const Events& e, std::int64_t half_life, float threshold, std::uint32_t sub = 4) {
  FastDecayFilter f({kSensor, half_life, sub, threshold});
  return testing::keep_flags(f, e.view());
}

TEST(FastDecay, counts_events_of_a_cell_and_keeps_those_past_the_threshold) {
  Events e;
  e.add(0, 0, 0);
  e.add(0, 3, 3);  // same 4x4 cell
  e.add(0, 1, 2);
  e.add(1000, 2, 1);  // one half-life later: 3 * 0.5 + 1 = 2.5, not above 2.5
  EXPECT_EQ(run(e, 1000, 2.5f), (std::vector<std::uint8_t>{0, 0, 1, 0}));
}

TEST(FastDecay, cells_are_subdivision_squares_and_the_grid_has_an_extra_row_and_column) {
  Events e;
  e.add(0, 3, 3);
  e.add(0, 4, 3);  // next cell
  e.add(0, 9, 6);  // cell (2, 1): width / 4 + 1 = 3 columns
  e.add(0, 8, 4);
  EXPECT_EQ(run(e, 1000, 1.5f), (std::vector<std::uint8_t>{0, 0, 0, 1}));
}

TEST(FastDecay, counters_start_at_zero_and_last_times_at_zero) {
  // The first event of a cell decays a zero counter: 0 * d + 1 = 1 whatever its time.
  Events e;
  e.add(123456, 5, 5);
  EXPECT_EQ(run(e, 1000, 0.5f), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(run(e, 1000, 1.0f), (std::vector<std::uint8_t>{0}));
}

TEST(FastDecay, events_outside_the_sensor_are_dropped_and_leave_no_state) {
  Events e;
  e.add(0, 10, 0);
  e.add(0, 0, 7);
  e.add(0, 0, 0);
  EXPECT_EQ(run(e, 1000, 0.5f), (std::vector<std::uint8_t>{0, 0, 1}));
  EXPECT_EQ(run(e, 1000, 1.5f), (std::vector<std::uint8_t>{0, 0, 0}));
}

TEST(FastDecay, any_batch_split_gives_the_same_flags) {
  const SensorSize sensor{64, 48};
  const Events e = testing::random_events(20000, sensor, 7, 20);
  for (std::uint32_t seed = 0; seed < 5; ++seed) {
    FastDecayFilter whole({sensor, 2000, 4, 3.f}), batched({sensor, 2000, 4, 3.f});
    EXPECT_EQ(testing::keep_flags(whole, e.view()), testing::keep_flags_in_batches(batched, e.view(), seed));
  }
}

TEST(FastDecay, reset_returns_to_the_initial_state) {
  const Events e = testing::random_events(500, {16, 16}, 3);
  FastDecayFilter f({{16, 16}, 500, 2, 2.f});
  const auto first = testing::keep_flags(f, e.view());
  f.reset();
  EXPECT_EQ(testing::keep_flags(f, e.view()), first);
}

TEST(FastDecay, rejects_a_non_positive_half_life_or_subdivision) {
  EXPECT_THROW(FastDecayFilter({kSensor, 0, 4, 6.f}), std::invalid_argument);
  EXPECT_THROW(FastDecayFilter({kSensor, 1000, 0, 6.f}), std::invalid_argument);
}

}  // namespace
}  // namespace evlib::ops

namespace evlib::ops {
namespace {

// The formula evaluated directly: exp2f per event, the product forced through memory (rounded
// on its own even with FMA available, as in dv-processing's build). The filter's table of short
// gaps and its FMA guard must not change a flag.
std::vector<std::uint8_t> direct_formula(const testing::Events& e, SensorSize sensor, float half_life,
                                         std::uint32_t sub, float threshold) {
  const std::size_t columns = sensor.width / sub + 1;
  std::vector<float> counters(columns * (sensor.height / sub + 1));
  std::vector<std::int64_t> last(counters.size());
  std::vector<std::uint8_t> keep;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const std::size_t cell = std::size_t{e.y[i] / sub} * columns + e.x[i] / sub;
    const float decay = std::exp2(-static_cast<float>(e.t[i] - last[cell]) / half_life);
    last[cell] = e.t[i];
    volatile float product = counters[cell] * decay;
    counters[cell] = product + 1.f;
    keep.push_back(counters[cell] > threshold);
  }
  return keep;
}

TEST(FastDecay, flags_are_the_direct_formulas_for_short_long_and_negative_gaps) {
  const SensorSize sensor{8, 8};
  testing::Events unsorted = testing::random_events(5000, sensor, 5, 30000);
  std::swap(unsorted.t[10], unsorted.t[4000]);  // negative gaps, which dv-processing also accepts within a store
  for (const testing::Events& e : {testing::random_events(20000, sensor, 17, 700),
                                   testing::random_events(20000, sensor, 18, 40000), unsorted}) {
    FastDecayFilter filter({sensor, 1234, 4, 2.5f});
    EXPECT_EQ(testing::keep_flags(filter, e.view()), direct_formula(e, sensor, 1234.f, 4, 2.5f));
  }
}

// Times up to 2^64 apart (both int64 limits, time 0, out of order) give the formula on the exact
// gap, as a float of the 128-bit difference: no wrap, no undefined overflow.
TEST(FastDecay, gaps_past_int64_decay_by_the_exact_difference) {
  constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::int64_t> times = {lowest, lowest + 3, highest, highest, lowest + 1, 0, 5, highest - 2, 7};
  testing::Events e;
  for (const std::int64_t t : times) e.add(t, 1, 1, 1);
  const float half_life = 1e18f;  // long enough for the decays to differ from 0 and 1
  std::vector<std::uint8_t> expected;
  float counter = 0.f;
  __int128 last = 0;
  for (const std::int64_t t : times) {
    const float decay = std::exp2(-static_cast<float>(__int128{t} - last) / half_life);
    last = t;
    volatile float product = counter * decay;
    counter = product + 1.f;
    expected.push_back(counter > 1.5f);
  }
  ASSERT_NE(std::count(expected.begin(), expected.end(), 1), 0);
  ASSERT_NE(std::count(expected.begin(), expected.end(), 0), 0);
  FastDecayFilter filter({{4, 4}, static_cast<std::int64_t>(half_life), 4, 1.5f});
  std::vector<std::uint8_t> keep(times.size());
  const std::size_t kept = filter.apply(e.view(), keep);
  EXPECT_EQ(keep, expected);
  EXPECT_EQ(kept, static_cast<std::size_t>(std::count(expected.begin(), expected.end(), 1)));
}

}  // namespace
}  // namespace evlib::ops

#include <algorithm>
#include <thread>

namespace evlib::ops {
namespace {

// Filters of one half-life share their table of short gaps, filled as gaps are first met; more
// distinct half-lives than the process keeps tables for get tables of their own. Two threads
// running filters of six half-lives at once, each filter's flags the direct formula's.
TEST(FastDecay, filters_of_many_half_lives_on_two_threads_at_once_each_give_the_direct_formulas) {
  const SensorSize sensor{32, 24};
  const testing::Events e = testing::random_events(30000, sensor, 23, 100);  // cell gaps ~3 ms
  const std::int64_t half_lives[] = {1000, 2500, 4000, 777, 1000, 9000, 2500, 31000};
  std::vector<std::vector<std::uint8_t>> expected;
  std::size_t kept = 0;
  for (const std::int64_t h : half_lives) {
    expected.push_back(direct_formula(e, sensor, static_cast<float>(h), 4, 1.5f));
    kept += static_cast<std::size_t>(std::count(expected.back().begin(), expected.back().end(), 1));
  }
  ASSERT_GT(kept, 0u);  // the flags tell the half-lives apart
  ASSERT_LT(kept, e.size() * std::size(half_lives));
  std::vector<std::vector<std::uint8_t>> got[2];
  const auto run_all = [&](int thread) {
    for (const std::int64_t h : half_lives) {
      FastDecayFilter filter({sensor, h, 4, 1.5f});
      got[thread].push_back(testing::keep_flags(filter, e.view()));
    }
  };
  std::thread other(run_all, 1);
  run_all(0);
  other.join();
  for (int thread = 0; thread < 2; ++thread) {
    ASSERT_EQ(got[thread].size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
      EXPECT_EQ(got[thread][i], expected[i]) << "thread " << thread << ", half-life " << half_lives[i];
  }
}

}  // namespace
}  // namespace evlib::ops
