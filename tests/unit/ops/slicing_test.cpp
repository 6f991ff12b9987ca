#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <vector>

#include "evlib/ops/slicing.hpp"

namespace evlib::ops {
namespace {

using Windows = std::vector<IndexRange>;
using T = std::vector<std::int64_t>;

TEST(Slicing, tonic_time_windows_drop_the_last_event_on_a_stride_multiple_even_with_incomplete) {
  const T t{0, 150, 299, 300};
  const Windows expected{{0, 1}, {1, 2}, {2, 3}};
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 100}), expected);
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 100, .include_incomplete = true}), expected);
}

TEST(Slicing, clean_time_windows_with_incomplete_cover_the_last_event) {
  const T t{0, 150, 299, 300};
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 100, .include_incomplete = true}, SliceConvention::kClean),
            (Windows{{0, 1}, {1, 2}, {2, 3}, {3, 4}}));
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 100}, SliceConvention::kClean),
            (Windows{{0, 1}, {1, 2}, {2, 3}}));
}

TEST(Slicing, time_windows_overlap_and_honour_start_and_end) {
  const T t{10, 20, 30, 40, 50};
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 20, .overlap_us = 10}),
            (Windows{{0, 2}, {1, 3}, {2, 4}}));
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 20, .start_us = 0, .end_us = 60}),
            (Windows{{0, 1}, {1, 3}, {3, 5}}));
  EXPECT_THROW(slice_events(t, TimeWindowSlicing{.window_us = 20, .overlap_us = 20}), std::invalid_argument);
}

TEST(Slicing, a_window_longer_than_the_recording_gives_one_window) {
  const T t{5, 6};
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 1000}), (Windows{{0, 2}}));
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 1000}, SliceConvention::kClean), Windows{});
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 1000, .include_incomplete = true}, SliceConvention::kClean),
            (Windows{{0, 2}}));
}

TEST(Slicing, event_counts_drop_or_keep_the_remainder) {
  const T t(10, 0);
  EXPECT_EQ(slice_events(t, EventCountSlicing{.count = 4}), (Windows{{0, 4}, {4, 8}}));
  EXPECT_EQ(slice_events(t, EventCountSlicing{.count = 4, .include_incomplete = true}),
            (Windows{{0, 4}, {4, 8}, {8, 10}}));
  EXPECT_EQ(slice_events(t, EventCountSlicing{.count = 4, .overlap = 2}), (Windows{{0, 4}, {2, 6}, {4, 8}, {6, 10}}));
  // Fewer events than the count: tonic shrinks the window to all of them; clean gives none.
  EXPECT_EQ(slice_events(T(3, 0), EventCountSlicing{.count = 4}), (Windows{{0, 3}}));
  EXPECT_EQ(slice_events(T(3, 0), EventCountSlicing{.count = 4}, SliceConvention::kClean), Windows{});
}

TEST(Slicing, tonic_time_bins_floor_the_window_and_lose_a_single_event) {
  // 11 events at 0..100 into 10 bins of 10: the event at 100 is left out.
  T t;
  for (int i = 0; i <= 100; i += 10) t.push_back(i);
  const Windows w = slice_events(t, TimeBinSlicing{.bins = 10});
  ASSERT_EQ(w.size(), 10u);
  EXPECT_EQ(w.back(), (IndexRange{9, 10}));
  // One event: a zero-length window, so an empty frame (tonic issue 313).
  EXPECT_EQ(slice_events(T{7}, TimeBinSlicing{.bins = 1}), (Windows{{0, 0}}));
}

TEST(Slicing, clean_time_bins_partition_first_to_last_inclusive) {
  T t;
  for (int i = 0; i <= 100; i += 10) t.push_back(i);
  const Windows w = slice_events(t, TimeBinSlicing{.bins = 10}, SliceConvention::kClean);
  std::size_t covered = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i > 0) EXPECT_EQ(w[i].begin, w[i - 1].end);
    covered += w[i].size();
  }
  EXPECT_EQ(covered, t.size());
  EXPECT_EQ(slice_events(T{7}, TimeBinSlicing{.bins = 1}, SliceConvention::kClean), (Windows{{0, 1}}));
}

TEST(Slicing, event_bins_drop_the_remainder_in_tonic_and_spread_it_in_clean) {
  const T t(10, 0);
  EXPECT_EQ(slice_events(t, EventBinSlicing{.bins = 3}), (Windows{{0, 3}, {3, 6}, {6, 9}}));
  EXPECT_EQ(slice_events(t, EventBinSlicing{.bins = 3}, SliceConvention::kClean), (Windows{{0, 3}, {3, 6}, {6, 10}}));
  // overlap 0.5 of a 3-event bin: tonic int(3 * 1.5) = 4 events, stride int(4 * 0.5) = 2.
  EXPECT_EQ(slice_events(t, EventBinSlicing{.bins = 3, .overlap = 0.5}), (Windows{{0, 4}, {2, 6}, {4, 8}}));
}

TEST(Slicing, empty_input_gives_tonics_single_empty_window_or_none) {
  EXPECT_EQ(slice_events(T{}, TimeWindowSlicing{.window_us = 10}), (Windows{{0, 0}}));
  EXPECT_EQ(slice_events(T{}, TimeWindowSlicing{.window_us = 10}, SliceConvention::kClean), Windows{});
  EXPECT_EQ(slice_events(T{}, TimeBinSlicing{.bins = 2}), (Windows{{0, 0}, {0, 0}}));
  EXPECT_EQ(slice_events(T{}, EventCountSlicing{.count = 4}), (Windows{{0, 0}}));
}

TEST(Slicing, clean_windows_and_bins_near_the_int64_limits_are_exact_and_keep_the_last_event) {
  // Spans up to 2^64 and window bounds past INT64_MAX, computed in 128 bits (in int64 they wrapped:
  // windows lost the last event, ended before they began, or ran on until memory gave out).
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t k62 = std::int64_t{1} << 62;
  const auto clean = [](const T& t, const Slicing& s) { return slice_events(t, s, SliceConvention::kClean); };
  EXPECT_EQ(clean({-5, kMax}, TimeWindowSlicing{.window_us = k62, .include_incomplete = true}), (Windows{{0, 1}, {1, 1}, {1, 2}}));
  EXPECT_EQ(clean({kMax - 7, kMax}, TimeWindowSlicing{.window_us = 100, .include_incomplete = true}), (Windows{{0, 2}}));
  EXPECT_EQ(clean({0, k62}, TimeWindowSlicing{.window_us = k62, .include_incomplete = true}), (Windows{{0, 1}, {1, 2}}));
  EXPECT_EQ(clean({-k62, k62}, TimeWindowSlicing{.window_us = k62, .include_incomplete = true}), (Windows{{0, 1}, {1, 1}, {1, 2}}));
  EXPECT_EQ(clean({0, kMax}, TimeBinSlicing{.bins = 3}), (Windows{{0, 1}, {1, 1}, {1, 2}}));
  EXPECT_EQ(clean({-k62, k62}, TimeBinSlicing{.bins = 3}), (Windows{{0, 1}, {1, 1}, {1, 2}}));
  EXPECT_THROW(clean({std::numeric_limits<std::int64_t>::min(), kMax}, TimeWindowSlicing{.window_us = 1, .include_incomplete = true}),
               std::length_error);
  // tonic's count is a float64 there (1.8e19): refused as well, not converted past int64.
  EXPECT_THROW(slice_events(T{std::numeric_limits<std::int64_t>::min(), kMax}, TimeWindowSlicing{.window_us = 1, .include_incomplete = true}),
               std::length_error);
}

// 1 µs windows over 10 days: 8.6e11 windows, whose bounds (twice 16 bytes each) pass any machine's
// memory: refused up front with the count and sizes, where the allocation took seconds and failed
// as a bare std::bad_alloc.
TEST(Slicing, a_window_count_past_the_machines_memory_is_refused_before_any_allocation) {
  const std::vector<std::int64_t> t{0, 864'000'000'000};
  for (const SliceConvention c : {SliceConvention::kClean, SliceConvention::kTonic}) {
    try {
      (void)slice_events(t, TimeWindowSlicing{.window_us = 1, .include_incomplete = true}, c);
      ADD_FAILURE() << "not refused";
    } catch (const std::length_error& e) {
      EXPECT_NE(std::string(e.what()).find("8.64e+11 windows: more than memory can hold"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("this machine has"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(slice_events(t, TimeWindowSlicing{.window_us = 1'000'000'000}, SliceConvention::kClean).size(), 864u);
}

TEST(Slicing, time_based_slicing_refuses_decreasing_time) {
  EXPECT_THROW(slice_events(T{5, 3}, TimeWindowSlicing{.window_us = 10}), std::invalid_argument);
  EXPECT_THROW(slice_events(T{5, 3}, TimeBinSlicing{.bins = 2}), std::invalid_argument);
  EXPECT_NO_THROW(slice_events(T{5, 3}, EventCountSlicing{.count = 1}));
}

}  // namespace
}  // namespace evlib::ops
