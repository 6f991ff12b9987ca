#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/slicing.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;
constexpr SensorSize kSensor{5, 3};

std::size_t at(unsigned p, std::uint16_t x, std::uint16_t y) { return (p * kSensor.height + y) * kSensor.width + x; }

TEST(EventFrame, counts_land_at_polarity_row_column) {
  Events e;
  e.add(0, 4, 2, 1);
  e.add(1, 4, 2, 1);
  e.add(2, 0, 1, 0);
  const std::vector<IndexRange> one{{0, 3}};
  const auto f = event_frames<std::int16_t>(e.view(), one, {.sensor = kSensor});
  ASSERT_EQ(f.size(), 2u * 3 * 5);
  EXPECT_EQ(f[at(1, 4, 2)], 2);
  EXPECT_EQ(f[at(0, 0, 1)], 1);
  EXPECT_EQ(std::accumulate(f.begin(), f.end(), 0), 3);
}

TEST(EventFrame, one_polarity_merges_both_into_one_channel) {
  Events e;
  e.add(0, 1, 1, 1);
  e.add(1, 1, 1, 0);
  const std::vector<IndexRange> one{{0, 2}};
  const auto f = event_frames<std::uint8_t>(e.view(), one, {.sensor = kSensor, .polarities = 1});
  ASSERT_EQ(f.size(), 15u);
  EXPECT_EQ(f[1 * 5 + 1], 2);
}

TEST(EventFrame, int16_wraps_like_tonic_when_asked_and_saturates_by_default) {
  Events e;
  for (int i = 0; i < 40000; ++i) e.add(i, 2, 2, 1);
  const std::vector<IndexRange> one{{0, e.size()}};
  const auto wrapped = event_frames<std::int16_t>(e.view(), one, {.sensor = kSensor, .overflow = CountOverflow::kWrap});
  EXPECT_EQ(wrapped[at(1, 2, 2)], -25536);
  const auto saturated = event_frames<std::int16_t>(e.view(), one, {.sensor = kSensor});
  EXPECT_EQ(saturated[at(1, 2, 2)], 32767);
  const auto bytes = event_frames<std::uint8_t>(e.view(), one, {.sensor = kSensor});
  EXPECT_EQ(bytes[at(1, 2, 2)], 255);
  const auto floats = event_frames<float>(e.view(), one, {.sensor = kSensor});
  EXPECT_EQ(floats[at(1, 2, 2)], 40000.0f);
}

TEST(EventFrame, events_outside_the_sensor_or_with_a_polarity_past_one_are_not_counted) {
  Events e;
  e.add(0, 5, 0, 1);
  e.add(1, 0, 3, 1);
  e.add(2, 0, 0, 2);
  e.add(3, 0, 0, 1);
  const std::vector<IndexRange> one{{0, 4}};
  const auto f = event_frames<std::int32_t>(e.view(), one, {.sensor = kSensor});
  EXPECT_EQ(std::accumulate(f.begin(), f.end(), 0), 1);
}

TEST(EventFrame, windows_from_slicing_give_one_frame_each_and_empty_input_one_zero_frame) {
  Events e;
  for (std::int64_t t : {0, 150, 299, 300}) e.add(t, 1, 1, 1);
  const auto windows = slice_events(e.t, TimeWindowSlicing{.window_us = 100});
  const auto f = event_frames<std::int16_t>(e.view(), windows, {.sensor = kSensor});
  ASSERT_EQ(f.size(), 3u * 30);
  EXPECT_EQ(std::accumulate(f.begin(), f.end(), 0), 3);  // tonic drops the event at 300
  const auto none = event_frames<std::int16_t>(EventView{}, slice_events({}, TimeWindowSlicing{.window_us = 100}),
                                               {.sensor = kSensor});
  EXPECT_EQ(none, std::vector<std::int16_t>(30, 0));
}

TEST(EventFrame, a_window_accumulated_in_random_pieces_equals_the_whole) {
  const Events e = testing::random_events(20000, kSensor, 21);
  const EventFrameOptions o{.sensor = kSensor, .overflow = CountOverflow::kWrap};
  std::vector<std::uint8_t> whole(30, 0);
  accumulate_frame<std::uint8_t>(e.view(), o, whole);
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    std::vector<std::uint8_t> pieces(30, 0);
    const auto cuts = testing::random_cuts(e.size(), seed);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
      accumulate_frame<std::uint8_t>(e.view().slice(cuts[i], cuts[i + 1]), o, pieces);
    EXPECT_EQ(pieces, whole);
  }
}

TEST(EventFrame, frames_beyond_the_caches_count_as_one_event_at_a_time) {
  // At 1280x720 the frames of 16-bit and wider counts take the prefetching loop: the same counts
  // as a plain loop, with events outside the sensor, polarities past one, a pixel counted past
  // the type's range, and a number of events that is no multiple of the loop's blocks.
  const SensorSize sensor{1280, 720};
  Events e = testing::random_events(5'077, {sensor.width + 3, sensor.height + 2}, 41, 3);
  for (std::size_t k = 0; k < e.size(); k += 97) e.p[k] = 2;
  for (int i = 0; i < 70'000; ++i) e.add(e.t.back() + 1, 1279, 719, 1);
  for (int i = 0; i < 3; ++i) e.add(e.t.back() + 1, 0, 0, 0);
  for (const unsigned polarities : {1u, 2u}) {
    for (const CountOverflow overflow : {CountOverflow::kWrap, CountOverflow::kSaturate}) {
      std::vector<std::int64_t> plain(polarities * sensor.pixels(), 0);
      for (std::size_t k = 0; k < e.size(); ++k) {
        if (!sensor.contains(e.x[k], e.y[k]) || (polarities == 2 && e.p[k] > 1)) continue;
        ++plain[(polarities == 2 ? e.p[k] : 0u) * sensor.pixels() + std::size_t{e.y[k]} * sensor.width + e.x[k]];
      }
      const auto expect = [&](const auto& frame, std::int64_t max) {
        ASSERT_EQ(frame.size(), plain.size());
        for (std::size_t i = 0; i < plain.size(); ++i) {
          const std::int64_t want = overflow == CountOverflow::kWrap ? plain[i] % (max + 1) : std::min(plain[i], max);
          ASSERT_EQ(static_cast<std::int64_t>(frame[i]), want) << polarities << " polarities, cell " << i;
        }
      };
      const EventFrameOptions o{.sensor = sensor, .polarities = polarities, .overflow = overflow};
      std::vector<std::uint16_t> u16(plain.size(), 0);
      accumulate_frame<std::uint16_t>(e.view(), o, u16);
      expect(u16, 65535);
      std::vector<std::uint32_t> u32(plain.size(), 0);
      accumulate_frame<std::uint32_t>(e.view(), o, u32);
      expect(u32, std::int64_t{1} << 40);
    }
  }
}

TEST(EventFrame, wrong_sizes_and_windows_are_refused) {
  Events e;
  e.add(0, 0, 0);
  std::vector<std::int16_t> small(10);
  const std::vector<IndexRange> one{{0, 1}};
  EXPECT_THROW(event_frames<std::int16_t>(e.view(), one, {.sensor = kSensor}, std::span(small)), std::invalid_argument);
  const std::vector<IndexRange> past{{0, 2}};
  EXPECT_THROW(event_frames<std::int16_t>(e.view(), past, {.sensor = kSensor}), std::invalid_argument);
  EXPECT_THROW(event_frames<std::int16_t>(e.view(), one, {.sensor = kSensor, .polarities = 3}), std::invalid_argument);
}

TEST(EventFrame, into_a_zeroed_buffer_adds_without_zeroing_and_checks_the_size) {
  Events e;
  for (int i = 0; i < 40; ++i) e.add(i, static_cast<std::uint16_t>(i % 6), static_cast<std::uint16_t>(i % 4), i % 3);
  const std::vector<IndexRange> two{{0, 25}, {10, 40}};
  const EventFrameOptions options{.sensor = kSensor};
  const auto expected = event_frames<std::int32_t>(e.view(), two, options);
  std::vector<std::int32_t> zeroed(expected.size(), 0);
  event_frames_into_zeroed<std::int32_t>(e.view(), two, options, std::span(zeroed));
  EXPECT_EQ(zeroed, expected);
  // The caller's zeros are trusted: what the buffer held is added to, not cleared.
  std::vector<std::int32_t> ones(expected.size(), 1);
  event_frames_into_zeroed<std::int32_t>(e.view(), two, options, std::span(ones));
  for (std::size_t i = 0; i < ones.size(); ++i) EXPECT_EQ(ones[i], expected[i] + 1) << i;
  std::vector<std::int32_t> small(10);
  EXPECT_THROW(event_frames_into_zeroed<std::int32_t>(e.view(), two, options, std::span(small)), std::invalid_argument);
}

}  // namespace
}  // namespace evlib::ops
