#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "evlib/ops/stacked_histogram.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{6, 4};

std::size_t at(unsigned channel, std::size_t x, std::size_t y, std::size_t w = 6, std::size_t h = 4) {
  return (channel * h + y) * w + x;
}

TEST(StackedHistogram, bins_relative_to_the_first_and_last_event_with_channel_polarity_times_bins_plus_bin) {
  Events e;
  e.add(1000, 0, 0, 0);  // bin 0
  e.add(1050, 1, 0, 1);  // 0.5 * 4 = bin 2
  e.add(1100, 2, 0, 1);  // the last event: 4, clamped to bin 3
  const auto h = stacked_histogram(e.view(), kSensor, {.bins = 4});
  ASSERT_EQ(h.size(), 2u * 4 * 24);
  EXPECT_EQ(h[at(0, 0, 0)], 1);
  EXPECT_EQ(h[at(4 + 2, 1, 0)], 1);
  EXPECT_EQ(h[at(4 + 3, 2, 0)], 1);
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), 0), 3);
}

TEST(StackedHistogram, bins_in_float32_where_exact_arithmetic_would_differ) {
  // Span 1 864 139 us, 10 bins: the first span where float32 and exact binning part ways.
  const std::int64_t span = 1'864'139;
  const int bins = 10;
  std::int64_t witness = -1;
  for (std::int64_t d = 0; d <= span && witness < 0; ++d) {
    const auto exact = static_cast<int>((d * bins) / span);
    const auto f32 = static_cast<int>(std::floor((static_cast<float>(d) / static_cast<float>(span)) * float(bins)));
    if (exact != f32) witness = d;
  }
  ASSERT_GE(witness, 0);
  Events e;
  e.add(0, 0, 0, 1);
  e.add(witness, 1, 0, 1);
  e.add(span, 2, 0, 1);
  const auto h = stacked_histogram(e.view(), kSensor, {.bins = 10});
  const int f32_bin = static_cast<int>(std::floor((static_cast<float>(witness) / static_cast<float>(span)) * 10.0f));
  EXPECT_EQ(h[at(10 + static_cast<unsigned>(f32_bin), 1, 0)], 1);
}

TEST(StackedHistogram, fast_mode_wraps_at_256_before_the_cutoff) {
  Events e;
  for (int i = 0; i < 300; ++i) e.add(5, 3, 3, 1);
  EXPECT_EQ(stacked_histogram(e.view(), kSensor, {.bins = 1})[at(1, 3, 3)], 44);
  EXPECT_EQ(stacked_histogram(e.view(), kSensor, {.bins = 1, .count_cutoff = 10})[at(1, 3, 3)], 10);
  EXPECT_EQ(stacked_histogram(e.view(), kSensor, {.bins = 1, .count_cutoff = 255, .fastmode = false})[at(1, 3, 3)], 255);
  e.t.resize(260), e.x.resize(260), e.y.resize(260), e.p.resize(260);
  EXPECT_EQ(stacked_histogram(e.view(), kSensor, {.bins = 1, .count_cutoff = 10})[at(1, 3, 3)], 4);
}

TEST(StackedHistogram, downsample_keeps_odd_rows_and_columns_only) {
  Events e;
  e.add(0, 1, 1, 0);  // -> (0, 0)
  e.add(1, 2, 1, 0);  // even column: gone
  e.add(2, 5, 3, 0);  // -> (2, 1)
  e.add(3, 3, 0, 0);  // even row: gone
  const auto h = stacked_histogram(e.view(), kSensor, {.bins = 1, .downsample_by_2 = true});
  ASSERT_EQ(h.size(), 2u * 3 * 2);
  EXPECT_EQ(h[at(0, 0, 0, 3, 2)], 1);
  EXPECT_EQ(h[at(0, 2, 1, 3, 2)], 1);
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), 0), 2);
}

TEST(StackedHistogram, rvt_windows_include_both_ends) {
  const std::vector<std::int64_t> t{0, 50, 100, 100, 150, 200};
  EXPECT_EQ(rvt_time_window(t, 150, 50), (IndexRange{2, 5}));
  EXPECT_EQ(rvt_time_window(t, 100, 50), (IndexRange{1, 4}));  // 100 is in both windows
  EXPECT_EQ(rvt_time_window(t, -10, 5), (IndexRange{0, 0}));
  EXPECT_EQ(rvt_count_window(t, 100, 2), (IndexRange{2, 4}));
  EXPECT_EQ(rvt_count_window(t, 100, 10), (IndexRange{0, 4}));
}

TEST(StackedHistogram, empty_window_one_event_and_events_outside_are_handled) {
  EXPECT_EQ(stacked_histogram(EventView{}, kSensor, {.bins = 2}), std::vector<std::uint8_t>(96, 0));
  Events e;
  e.add(7, 0, 0, 1);
  EXPECT_EQ(stacked_histogram(e.view(), kSensor, {.bins = 2})[at(2, 0, 0)], 1);
  e.add(8, 6, 0, 1);
  e.add(9, 0, 0, 2);
  const auto h = stacked_histogram(e.view(), kSensor, {.bins = 2});
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), 0), 1);
}

TEST(StackedHistogram, every_event_lands_in_rvts_float32_bin_on_long_and_short_spans) {
  // Long steps make multi-second windows, where float32 binning matters; bins above the span
  // leave some bins unreachable.
  for (std::int64_t max_step : {3, 900, 4000}) {
    for (unsigned bins : {1u, 7u, 10u, 20u}) {
      const Events e = testing::random_events(3000, kSensor, static_cast<std::uint32_t>(bins + max_step), max_step);
      const auto h = stacked_histogram(e.view(), kSensor, {.bins = bins, .count_cutoff = 255});
      std::vector<int> expected(h.size(), 0);
      const float span = static_cast<float>(std::max<std::int64_t>(e.t.back() - e.t.front(), 1));
      for (std::size_t i = 0; i < e.size(); ++i) {
        const float normalised = static_cast<float>(e.t[i] - e.t.front()) / span;
        const int bin = std::min(static_cast<int>(std::floor(normalised * static_cast<float>(bins))), int(bins) - 1);
        ++expected[at(e.p[i] * bins + static_cast<unsigned>(bin), e.x[i], e.y[i])];
      }
      for (std::size_t k = 0; k < h.size(); ++k)
        ASSERT_EQ(h[k], static_cast<std::uint8_t>(expected[k] % 256)) << "bins " << bins << " step " << max_step;
    }
  }
}

// RVT's bin of one event: float32(dt) / float32(span), times float32(bins), floored, clamped.
int rvt_bin(std::int64_t dt, std::int64_t span, unsigned bins) {
  const float normalised = static_cast<float>(dt) / static_cast<float>(std::max<std::int64_t>(span, 1));
  return std::min(static_cast<int>(std::floor(normalised * static_cast<float>(bins))), static_cast<int>(bins) - 1);
}

// Every dt within `reach` of each exact bin boundary k * span / bins (float32 rounding moves the
// boundary by up to span * 2^-23 around it), in order, plus both ends of the window; the pixels
// cycle, so that blocks of one bin and blocks across a boundary are both counted.
TEST(StackedHistogram, events_around_every_bin_boundary_land_in_rvts_float32_bin) {
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> spans{1, 2, 3, 9, 10, 11, 255, 1000, 1'864'139, (1 << 24) - 1, 1 << 24, (1 << 24) + 1,
                                  50'000'000, 2'147'483'647, 68'719'476'735};
  for (int i = 0; i < 12; ++i) spans.push_back(static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 36)) + 1);
  const std::int64_t t0 = 1'700'000'000'000'000;  // microseconds since 1970: dt, not t, is binned
  for (const std::int64_t span : spans) {
    for (const unsigned bins : {1u, 3u, 10u, 16u}) {
      const std::int64_t reach = std::max<std::int64_t>(600, span >> 21);
      std::vector<std::int64_t> dts{0};
      for (unsigned k = 1; k < bins; ++k) {
        const std::int64_t boundary = (static_cast<std::int64_t>(k) * span + bins - 1) / bins;
        for (std::int64_t d = std::max<std::int64_t>(dts.back() + 1, boundary - reach); d <= std::min(span, boundary + reach); ++d)
          dts.push_back(d);
      }
      if (dts.back() != span) dts.push_back(span);
      Events e;
      for (std::size_t i = 0; i < dts.size(); ++i)
        e.add(t0 + dts[i], static_cast<std::uint16_t>(i % 6), static_cast<std::uint16_t>((i / 6) % 4),
              static_cast<std::uint8_t>((i / 24) % 2));
      const auto h = stacked_histogram(e.view(), kSensor, {.bins = bins});
      std::vector<int> expected(h.size(), 0);
      for (std::size_t i = 0; i < e.size(); ++i)
        ++expected[at(e.p[i] * bins + static_cast<unsigned>(rvt_bin(dts[i], span, bins)), e.x[i], e.y[i])];
      for (std::size_t k = 0; k < h.size(); ++k)
        ASSERT_EQ(h[k], static_cast<std::uint8_t>(expected[k] % 256)) << "span " << span << " bins " << bins;
    }
  }
}

TEST(StackedHistogram, unsorted_events_and_events_before_the_first_are_binned_one_by_one) {
  // Blocks whose times are not within one bin take the event-by-event path: shuffled times, and
  // times before the window's first event (not counted), in a window of several blocks.
  Events e = testing::random_events(5000, kSensor, 3, 20);
  std::mt19937_64 rng(11);
  const std::int64_t first = e.t.front(), last = e.t.back();
  std::shuffle(e.t.begin() + 1, e.t.end() - 1, rng);
  for (std::size_t i = 1000; i < 1100; ++i) e.t[i] = first - 1 - static_cast<std::int64_t>(i);
  const auto h = stacked_histogram(e.view(), kSensor, {.bins = 7, .count_cutoff = 255, .fastmode = false});
  std::vector<int> expected(h.size(), 0);
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.t[i] >= first) ++expected[at(e.p[i] * 7 + static_cast<unsigned>(rvt_bin(e.t[i] - first, last - first, 7)), e.x[i], e.y[i])];
  for (std::size_t k = 0; k < h.size(); ++k) ASSERT_EQ(h[k], std::min(expected[k], 255)) << k;
}

TEST(StackedHistogram, a_window_added_in_random_pieces_equals_the_whole) {
  const Events e = testing::random_events(20000, kSensor, 4, 30);
  const StackedHistogramOptions o{.bins = 5, .count_cutoff = 200};
  const auto whole = stacked_histogram(e.view(), kSensor, o);
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    StackedHistogramAccumulator acc(kSensor, o);
    acc.start(e.t.front(), e.t.back());
    const auto cuts = testing::random_cuts(e.size(), seed);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) acc.add(e.view().slice(cuts[i], cuts[i + 1]));
    std::vector<std::uint8_t> pieces(acc.size());
    acc.finish(pieces);
    EXPECT_EQ(pieces, whole);
  }
}

// A histogram written over old contents (a reused buffer) zeroes each bin's planes just before
// its first count: it must equal the histogram counted into zeros, for windows whose events skip
// bins, unsorted ones (counted one by one), events before the first, downsampled, in pieces, and
// an empty window.
TEST(StackedHistogram, a_histogram_over_old_contents_equals_one_into_zeros) {
  std::mt19937_64 rng(29);
  const auto check = [](const Events& e, const StackedHistogramOptions& o, const char* what) {
    const auto expected = stacked_histogram(e.view(), kSensor, o);  // into a fresh, zeroed vector
    std::vector<std::uint8_t> reused(expected.size(), 0xAB);
    stacked_histogram(e.view(), kSensor, o, reused);
    EXPECT_EQ(reused, expected) << what;
    StackedHistogramAccumulator acc(kSensor, o);
    std::vector<std::uint8_t> pieces_out(expected.size(), 0x5C);
    const auto cuts = testing::random_cuts(e.size(), 7);
    std::vector<EventView> pieces;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) pieces.push_back(e.view().slice(cuts[i], cuts[i + 1]));
    pieces.push_back(EventView{});
    acc.histogram_into(pieces, pieces_out);
    EXPECT_EQ(pieces_out, expected) << what << " (pieces)";
  };
  Events gaps;  // bins 0, 3 and 9 of 10 only
  for (std::int64_t t : {0, 1, 2, 350, 351, 999, 1000}) gaps.add(t, static_cast<std::uint16_t>(t % 6), 1, t % 2 == 0 ? 1 : 0);
  check(gaps, {.bins = 10, .count_cutoff = 10}, "bins skipped");
  check(gaps, {.bins = 10, .count_cutoff = 10, .downsample_by_2 = true}, "bins skipped, downsampled");
  Events many = testing::random_events(6000, kSensor, 5, 3);
  check(many, {.bins = 7, .count_cutoff = 4}, "sorted");
  check(many, {.bins = 7, .count_cutoff = 4, .downsample_by_2 = true}, "sorted, downsampled");
  Events odd = many;  // some events off the sensor or with p > 1 (not counted)
  for (std::size_t i = 0; i < odd.size(); i += 37) (i % 2 == 0 ? odd.x[i] : odd.y[i]) = 60000;
  for (std::size_t i = 5; i < odd.size(); i += 41) odd.p[i] = 2;
  check(odd, {.bins = 7, .count_cutoff = 255}, "off the sensor, p > 1");
  std::shuffle(many.t.begin() + 1, many.t.end() - 1, rng);
  for (std::size_t i = 3000; i < 3050; ++i) many.t[i] = many.t.front() - 5;
  check(many, {.bins = 7, .count_cutoff = 255}, "unsorted, some before the first");
  Events one;
  one.add(42, 1, 1, 1);
  check(one, {.bins = 3, .count_cutoff = 10}, "one event");
  std::vector<std::uint8_t> empty_out(2 * 4 * kSensor.pixels(), 0xAB);
  stacked_histogram(EventView{}, kSensor, {.bins = 4, .count_cutoff = 10}, empty_out);
  EXPECT_EQ(empty_out, std::vector<std::uint8_t>(empty_out.size(), 0)) << "empty window";
}

}  // namespace
}  // namespace evlib::ops
