#include <gtest/gtest.h>

#include <bit>
#include <vector>

#include "evlib/ops/stcf.hpp"
#include "ops/time_grid.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
using Flags = std::vector<std::uint8_t>;
constexpr SensorSize kSensor{8, 6};

Flags run(const Events& e, StcfOptions o) {
  StcfFilter f(kSensor, o);
  return testing::keep_flags(f, e.view());
}

Events burst() {
  Events e;
  e.add(100, 3, 3);   // first at its pixel
  e.add(200, 4, 3);   // first at its pixel
  e.add(300, 3, 3);   // one recent neighbour (4, 3); its own 100 counts only with include_self
  e.add(400, 2, 3);   // first at its pixel
  e.add(500, 3, 3);   // two recent neighbours
  e.add(5000, 3, 3);  // all stale
  return e;
}

TEST(Stcf, passes_an_event_with_k_recent_neighbours_and_lets_first_events_through) {
  EXPECT_EQ(run(burst(), {.correlation_time_us = 1000, .min_correlated = 2}), (Flags{1, 1, 0, 1, 1, 0}));
}

TEST(Stcf, include_self_counts_the_pixels_own_last_event) {
  EXPECT_EQ(run(burst(), {.correlation_time_us = 1000, .min_correlated = 2, .include_self = true}),
            (Flags{1, 1, 1, 1, 1, 0}));
}

TEST(Stcf, without_let_first_through_a_pixels_first_event_is_dropped) {
  EXPECT_EQ(run(burst(), {.correlation_time_us = 1000, .min_correlated = 2, .let_first_through = false}),
            (Flags{0, 0, 0, 0, 1, 0}));
}

TEST(Stcf, correlation_is_strictly_younger_than_the_correlation_time) {
  Events e;
  e.add(0, 3, 3);
  e.add(0, 4, 4);
  e.add(1000, 3, 3);  // (4, 4) is exactly 1000 old
  e.add(1999, 3, 3);  // (3, 3)'s own event is not a neighbour; (4, 4) is 1999 old
  EXPECT_EQ(run(e, {.correlation_time_us = 1000, .min_correlated = 1}), (Flags{1, 1, 0, 0}));
  e.t[2] = 999;
  EXPECT_EQ(run(e, {.correlation_time_us = 1000, .min_correlated = 1}), (Flags{1, 1, 1, 0}));
}

// jAER's loop ends at its column width - 2 and row height - 2 (its NnbRange), and its y counts
// from the bottom: the last column and the first row (y = 0 here) are nobody's neighbours, and an
// event there does not see its own column (row).
TEST(Stcf, jaer_border_leaves_the_last_column_and_the_first_row_out_of_every_neighbourhood) {
  Events e;  // on 8 x 6: column 7 and row 0 are jAER's last
  e.add(0, 7, 2);   // first events at their pixels
  e.add(10, 6, 0);
  e.add(20, 6, 2);
  e.add(30, 7, 1);
  e.add(40, 7, 1);  // neighbours (7, 2), (6, 0), (6, 2) fired; jAER's loop sees (6, 2) and (6, 1) only
  e.add(50, 6, 2);  // (7, 2), (7, 1) fired; jAER's loop sees columns 5-6 only
  e.add(60, 6, 1);  // first
  e.add(70, 6, 1);  // (6, 2), (6, 0), (7, 2), (7, 1) fired; jAER's loop sees (6, 2) alone of them
  const StcfOptions sensor{.correlation_time_us = 1000, .min_correlated = 2};
  StcfOptions jaer = sensor;
  jaer.jaer_border = true;
  EXPECT_EQ(run(e, sensor), (Flags{1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(run(e, jaer), (Flags{1, 1, 1, 1, 0, 0, 1, 0}));
  jaer.min_correlated = 1;
  EXPECT_EQ(run(e, jaer), (Flags{1, 1, 1, 1, 1, 0, 1, 1}));
}

TEST(Stcf, polarities_must_match_counts_neighbours_whose_last_event_had_the_events_polarity) {
  Events e;
  e.add(0, 2, 2, 1);
  e.add(10, 4, 2, 0);
  e.add(20, 3, 3, 1);  // first
  e.add(30, 3, 3, 1);  // recent neighbours: (2, 2) ON, (4, 2) OFF
  e.add(40, 4, 2, 1);  // (4, 2) turns ON; of its neighbours only (3, 3) fired
  e.add(50, 3, 3, 0);  // OFF: (2, 2), (4, 2) and its own last are ON
  e.add(60, 3, 3, 1);  // ON: (2, 2), (4, 2) ON, its own last OFF
  StcfOptions o{.correlation_time_us = 1000, .min_correlated = 2};
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 1, 0, 1, 1}));
  o.polarities_must_match = true;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 0, 0, 1}));
  o.include_self = true, o.min_correlated = 3;  // its own last event counts only with its polarity
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 0, 0, 0}));
  StcfFilter f(kSensor, o);
  Flags keep(e.size());
  EXPECT_THROW(f.apply(EventView(e.t.data(), e.x.data(), e.y.data(), nullptr, e.size()), keep), std::invalid_argument);
}

// jAER's filterAlternativePolarityShotNoiseEnabled: after the correlation test passed, an event
// whose pixel's last event had the other polarity and came at most the shot-noise time before is
// dropped.
TEST(Stcf, shot_noise_test_drops_passing_events_that_flip_their_pixels_polarity_within_its_time) {
  Events e;
  e.add(0, 2, 3, 1);
  e.add(5, 4, 3, 1);    // neighbours of (3, 3) from here on, recent throughout
  e.add(10, 3, 3, 1);   // first: passes
  e.add(20, 3, 3, 0);   // OFF 10 after ON: correlated, but a flip within 100
  e.add(120, 3, 3, 1);  // ON exactly 100 after OFF: a flip within 100 (at most)
  e.add(221, 3, 3, 0);  // OFF 101 after ON: kept
  e.add(230, 3, 3, 0);  // same polarity 9 after: kept
  e.add(235, 5, 3, 1);  // first at its pixel: passes whatever the time
  StcfOptions o{.correlation_time_us = 1000, .min_correlated = 1};
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 1, 1, 1, 1, 1}));
  o.shot_noise_time_us = 100;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 0, 1, 1, 1}));
  o.shot_noise_time_us = 0;  // the same time only
  e.t[3] = 10;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 1, 1, 1, 1}));
  // An event that failed the correlation test stays dropped; the test comes after it.
  o.min_correlated = 3, o.shot_noise_time_us = 100;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 0, 0, 0, 1}));
  // With matched polarities too: the OFF events have no ON-matching neighbours; the ON event at
  // 120 has two, and its pixel flipped from OFF 110 before.
  o.min_correlated = 2, o.polarities_must_match = true;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 1, 0, 0, 1}));
  o.shot_noise_time_us = 110;
  EXPECT_EQ(run(e, o), (Flags{1, 1, 1, 0, 0, 0, 0, 1}));
  EXPECT_THROW(StcfFilter(kSensor, {.shot_noise_time_us = -1}), std::invalid_argument);
  StcfFilter f(kSensor, {.shot_noise_time_us = 1000});
  Flags keep(e.size());
  EXPECT_THROW(f.apply(EventView(e.t.data(), e.x.data(), e.y.data(), nullptr, e.size()), keep), std::invalid_argument);
}

TEST(Stcf, corner_pixels_count_only_neighbours_on_the_sensor) {
  Events e;
  e.add(10, 0, 0);
  e.add(20, 1, 0);
  e.add(30, 0, 1);
  e.add(40, 1, 1);
  e.add(50, 0, 0);  // three neighbours: passes with k = 3, not with k = 4
  EXPECT_EQ(run(e, {.correlation_time_us = 1000, .min_correlated = 3}).back(), 1);
  EXPECT_EQ(run(e, {.correlation_time_us = 1000, .min_correlated = 4}).back(), 0);
}

TEST(Stcf, events_outside_the_sensor_are_dropped_and_invalid_options_refused) {
  Events e;
  e.add(10, 8, 0);
  EXPECT_EQ(run(e, {}), (Flags{0}));
  EXPECT_THROW(StcfFilter(kSensor, {.min_correlated = 0}), std::invalid_argument);
  EXPECT_THROW(StcfFilter(kSensor, {.min_correlated = 10}), std::invalid_argument);
}

TEST(Stcf, empty_input_keeps_nothing) {
  StcfFilter f(kSensor, {});
  EXPECT_EQ(f.apply(EventView{}, {}), 0u);
}

TEST(Stcf, random_batch_splits_give_the_same_flags) {
  const Events e = testing::random_events(30000, kSensor, 5, 10);
  const StcfOptions o{.correlation_time_us = 200, .min_correlated = 2};
  StcfFilter whole(kSensor, o);
  const auto expected = testing::keep_flags(whole, e.view());
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    StcfFilter split(kSensor, o);
    EXPECT_EQ(testing::keep_flags_in_batches(split, e.view(), seed), expected);
  }
}

TEST(Stcf, neighbour_count_without_popcnt_equals_popcount_for_every_neighbourhood) {
  // Every mask recent() can give (bits 0-2, 4-6, 8-10): the count the baseline x86-64 build uses
  // agrees with std::popcount.
  for (unsigned bits = 0; bits <= 0x777u; ++bits) {
    if (bits & ~0x777u) continue;
    EXPECT_EQ(detail::cells_set_by_rows(bits), std::popcount(bits)) << std::hex << bits;
    EXPECT_EQ(detail::cells_set(bits), std::popcount(bits)) << std::hex << bits;
  }
}

}  // namespace
}  // namespace evlib::ops
