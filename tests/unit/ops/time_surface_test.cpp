#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "evlib/ops/time_surface.hpp"
#include "ops/exp_double.hpp"
#include "ops_test_support.hpp"

namespace evlib::ops {
namespace {

using testing::Events;

TEST(LastTimestampMap, keeps_each_pixels_last_time_and_scales_like_dv_processing) {
  // Checked against dv_processing.TimeSurface 2.0.4 generateFrame().
  const SensorSize sensor{5, 4};
  Events e;
  e.add(1000, 1, 1, 1);
  e.add(1500, 2, 1, 0);
  e.add(2500, 1, 1, 0);
  e.add(3000, 4, 3, 1);
  e.add(3100, 0, 0, 1);
  LastTimestampMap map(sensor);
  map.add(e.view());
  EXPECT_EQ(map.map()[1 * 5 + 1], 2500);
  std::vector<std::uint8_t> frame(20);
  map.to_u8_scaled(frame);
  const std::vector<std::uint8_t> expected{255, 0, 0, 0, 0, 0, 205, 123, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 246};
  EXPECT_EQ(frame, expected);
}

TEST(LastTimestampMap, scaling_truncates_products_just_below_an_integer_and_a_flat_map_is_black) {
  LastTimestampMap map({3, 2});
  Events e;
  e.add(100, 1, 0);
  map.add(e.view());
  std::vector<std::uint8_t> frame(6);
  map.to_u8_scaled(frame);
  EXPECT_EQ(frame[1], 254);  // 100 * (255 / 100.0) is just below 255
  LastTimestampMap flat({3, 2});
  flat.to_u8_scaled(frame);
  EXPECT_EQ(frame, std::vector<std::uint8_t>(6, 0));
}

TEST(LastTimestampMap, scaling_converts_times_exactly_on_both_sides_of_2_to_the_52) {
  // Below a range of 2^52 µs the frame converts t - min to double by a mantissa trick; above, by
  // a cast: both must give (t - min) * (255 / range) truncated, from the exact double.
  for (const std::int64_t range : {std::int64_t{1} << 20, (std::int64_t{1} << 52) - 1, std::int64_t{1} << 52,
                                   (std::int64_t{1} << 53) + 12345}) {
    const SensorSize sensor{64, 16};
    std::mt19937_64 rng(static_cast<std::uint64_t>(range));
    Events e;
    e.add(1000, 0, 0);
    e.add(1000 + range, 1, 0);
    for (std::uint16_t i = 2; i < sensor.pixels(); ++i)
      e.add(1000 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(range)), i % 64, i / 64);
    LastTimestampMap map(sensor);
    map.add(e.view());
    std::vector<std::uint8_t> frame(sensor.pixels());
    map.to_u8_scaled(frame);
    const double alpha = 255.0 / static_cast<double>(range);
    for (std::size_t i = 0; i < frame.size(); ++i) {
      const double scaled = static_cast<double>(map.map()[i] - 1000) * alpha;
      ASSERT_EQ(frame[i], static_cast<std::uint8_t>(std::clamp(scaled, 0.0, 255.0))) << "range " << range << " cell " << i;
    }
  }
}

// Times of the kinds a stream can carry: microseconds since 1970, jumps past 2^32 µs forwards
// and back, negative times, hours apart; a plain int64 map is the model.
std::int64_t time_of_kind(int kind, std::size_t i, std::mt19937_64& rng) {
  const auto jitter = static_cast<std::int64_t>(rng() % 5000);
  switch (kind) {
    case 0: return 1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 3 + jitter;  // epoch-scale, increasing
    case 1: return static_cast<std::int64_t>(i / 50) * ((std::int64_t{1} << 32) + 7) + jitter;  // jumps > 2^32 µs
    case 2: return -(std::int64_t{1} << 40) + static_cast<std::int64_t>(i) * 11 - jitter;  // negative
    case 3: return (rng() % 2 ? std::int64_t{1} << 45 : -(std::int64_t{1} << 45)) + jitter;  // back and forth
    default: return static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 34)) - (std::int64_t{1} << 33);  // unsorted
  }
}

// The plain int64 model of the map: events [begin, end) of e written over it in order (those off
// the sensor, or with p > 1 when split, skipped).
void add_to_model(const Events& e, std::size_t begin, std::size_t end, SensorSize sensor, bool split,
                  std::vector<std::int64_t>& model) {
  for (std::size_t i = begin; i < end; ++i) {
    if (e.x[i] >= sensor.width || e.y[i] >= sensor.height || (split && e.p[i] > 1)) continue;
    model[(split ? e.p[i] : 0u) * sensor.pixels() + std::size_t{e.y[i]} * sensor.width + e.x[i]] = e.t[i];
  }
}

// b - a for b >= a, exact also past 2^63 (int64 subtraction would overflow there).
std::uint64_t difference(std::int64_t b, std::int64_t a) { return static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a); }

// dv-processing's frame of the model, by the plain formula (its differences taken exactly: dv's
// int64 subtraction overflows when the times span more than 2^63).
std::vector<std::uint8_t> model_frame(const std::vector<std::int64_t>& model) {
  std::vector<std::uint8_t> expected(model.size(), 0);
  const auto [lo, hi] = std::ranges::minmax(model);
  for (std::size_t c = 0; hi != lo && c < model.size(); ++c)
    expected[c] = static_cast<std::uint8_t>(
        std::clamp(static_cast<double>(difference(model[c], lo)) * (255.0 / static_cast<double>(difference(hi, lo))), 0.0, 255.0));
  return expected;
}

TEST(LastTimestampMap, equals_a_plain_int64_map_for_any_times_and_batch_boundaries) {
  const SensorSize sensor{37, 23};
  for (const bool split : {false, true}) {
    for (int kind = 0; kind < 5; ++kind) {
      std::mt19937_64 rng(static_cast<std::uint64_t>(kind * 2 + split));
      Events e;
      for (std::size_t i = 0; i < 4000; ++i)  // some events off the sensor, some with p 2
        e.add(time_of_kind(kind, i, rng), static_cast<std::uint16_t>(rng() % 40), static_cast<std::uint16_t>(rng() % 25),
              static_cast<std::uint8_t>(rng() % 5 == 0 ? 2 : rng() % 2));
      std::vector<std::int64_t> model((split ? 2 : 1) * sensor.pixels(), 0);
      LastTimestampMap map(sensor, split);
      std::size_t done = 0;
      while (done < e.t.size()) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % 700, e.t.size() - done);
        map.add(e.view().slice(done, done + n));
        add_to_model(e, done, done + n, sensor, split, model);
        done += n;
        ASSERT_TRUE(std::ranges::equal(map.map(), model)) << "split " << split << " kind " << kind << " at " << done;
        std::vector<std::uint8_t> frame(model.size());
        map.to_u8_scaled(frame);
        ASSERT_EQ(frame, model_frame(model)) << "split " << split << " kind " << kind << " at " << done;
      }
      map.reset();
      EXPECT_TRUE(std::ranges::all_of(map.map(), [](std::int64_t t) { return t == 0; }));
    }
  }
}

TEST(LastTimestampMap, maps_past_a_megabyte_equal_a_plain_int64_map_and_its_frame) {
  // 641 x 409 cells (1 MB narrow, 2.1 MB int64; twice that split); the frame's 262169 or 524338
  // cells are no multiple of the vector loops' 8 or 16 nor of its blocks (their tails are scalar).
  const SensorSize sensor{641, 409};
  for (const bool split : {false, true}) {
    std::mt19937_64 rng(split ? 7 : 8);
    Events e;
    for (std::size_t i = 0; i < 300'000; ++i)  // some events off the sensor (x 65535 too), some with p 2
      e.add(time_of_kind(static_cast<int>(i / 60'000), i, rng),
            static_cast<std::uint16_t>(rng() % 97 == 0 ? 65535 : rng() % 645), static_cast<std::uint16_t>(rng() % 411),
            static_cast<std::uint8_t>(rng() % 5 == 0 ? 2 : rng() % 2));
    std::vector<std::int64_t> model((split ? 2 : 1) * sensor.pixels(), 0);
    LastTimestampMap map(sensor, split);
    std::size_t done = 0;
    while (done < e.t.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 90'000, e.t.size() - done);
      map.add(e.view().slice(done, done + n));
      add_to_model(e, done, done + n, sensor, split, model);
      done += n;
      ASSERT_TRUE(std::ranges::equal(map.map(), model)) << "split " << split << " at " << done;
      std::vector<std::uint8_t> frame(model.size());
      map.to_u8_scaled(frame);
      ASSERT_EQ(frame, model_frame(model)) << "split " << split << " at " << done;
    }
  }
}

TEST(LastTimestampMap, times_leaving_the_32_bit_window_mid_batch_keep_each_cells_last_time) {
  // Cells are 32-bit times after base = (first time) - 2^24 while every time lies in
  // (base, base + 2^32). Events on the window's edges stay narrow; the first time outside turns
  // the cells to int64 mid-batch, and the events after it (stored before the switch) must still
  // leave each cell its last time. Near the int64 limits the window would pass them: int64 cells.
  const std::int64_t t0 = 5'000'000'000, base = t0 - (std::int64_t{1} << 24), top = base + 0xFFFFFFFFll;
  const std::int64_t kMin = std::numeric_limits<std::int64_t>::min(), kMax = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::vector<std::int64_t>> streams{
      {t0, base + 1, top, 0, t0 + 7, t0 + 8},              // narrow throughout (time 0 included)
      {t0, base + 1, top, top + 1, t0 + 7, base, t0 + 9},  // past the top mid-batch, then below the base
      {t0, t0 - 1, base, t0 + 3},                          // below the base
      {kMax - 3, kMin + 2, kMax, kMin, kMax - 3},          // no window below the top: int64 at once
      {kMin + 5, kMin, kMax, kMin + 6},                    // no base below the first time: int64 at once
      {kMax - (std::int64_t{1} << 33), kMax - (std::int64_t{1} << 33) + 5},  // narrow just below the top
  };
  const SensorSize sensor{3, 2};
  for (const bool one_at_a_time : {false, true}) {
    for (std::size_t s = 0; s < streams.size(); ++s) {
      Events e;
      for (std::size_t i = 0; i < streams[s].size(); ++i)  // cell i % 5: the sixth and seventh revisit cells
        e.add(streams[s][i], static_cast<std::uint16_t>(i % 5 % 3), static_cast<std::uint16_t>(i % 5 / 3));
      std::vector<std::int64_t> model(sensor.pixels(), 0);
      add_to_model(e, 0, e.t.size(), sensor, false, model);
      LastTimestampMap map(sensor);
      if (one_at_a_time) {
        for (std::size_t i = 0; i < e.t.size(); ++i) map.add(e.view().slice(i, i + 1));
      } else {
        map.add(e.view());
      }
      EXPECT_EQ(map.map(), model) << "stream " << s << " one at a time " << one_at_a_time;
      std::vector<std::uint8_t> frame(model.size());
      map.to_u8_scaled(frame);
      EXPECT_EQ(frame, model_frame(model)) << "stream " << s << " one at a time " << one_at_a_time;
      LastTimestampMap copy(map);
      map.reset();
      EXPECT_EQ(map.map(), std::vector<std::int64_t>(model.size(), 0));
      EXPECT_EQ(copy.map(), model) << "stream " << s;
      map.add(e.view().slice(0, 1));  // narrow again after reset(), with a new base
      EXPECT_EQ(map.map()[0], streams[s][0]) << "stream " << s;
    }
  }
}

TEST(LastTimestampMap, a_map_made_after_one_of_its_size_is_destroyed_starts_at_zero) {
  // The new map reuses the destroyed one's memory (and a copy or a move has its own).
  const SensorSize sensor{640, 480};
  Events e;
  for (std::uint16_t i = 0; i < 400; ++i) e.add(1000 + i, i, i % 480, 1);
  for (const bool split : {false, true}) {
    const auto* before = [&] {
      LastTimestampMap used(sensor, split);
      used.add(e.view());
      return used.memory();
    }();
    LastTimestampMap fresh(sensor, split);
    const std::size_t at = (split ? sensor.pixels() : 0) + 1 * 640 + 1;  // (p 1,) x 1, y 1
    EXPECT_EQ(fresh.memory(), before);
    EXPECT_TRUE(std::ranges::all_of(fresh.map(), [](std::int64_t t) { return t == 0; })) << "split " << split;
    fresh.add(e.view());
    LastTimestampMap copy(fresh);
    fresh.reset();
    EXPECT_EQ(copy.map()[at], 1001) << "split " << split;
    EXPECT_EQ(fresh.map()[at], 0);
    LastTimestampMap moved(std::move(copy));
    EXPECT_EQ(moved.map()[at], 1001);
    EXPECT_TRUE(copy.map().empty());  // NOLINT(bugprone-use-after-move): moved from, left empty
    copy = moved;
    EXPECT_TRUE(std::ranges::equal(copy.map(), moved.map()));
    EXPECT_NE(copy.memory(), moved.memory());
  }
}

TEST(LastTimestampMap, maps_made_and_dropped_on_two_threads_at_once_each_start_at_zero_with_their_own_memory) {
  // The spare block passes between threads through one atomic pointer: no map may start with
  // another's times, share its memory, or lose a block to a race (ASan would see a double free).
  const auto churn = [](SensorSize sensor, std::int64_t stamp) {
    Events e;
    for (std::uint16_t i = 0; i < 64; ++i) e.add(stamp + i, i, i % sensor.height, 1);
    bool clean = true;
    for (int round = 0; round < 200; ++round) {
      const bool split = round % 2 == 0;
      LastTimestampMap map(sensor, split);
      clean = clean && std::ranges::all_of(map.map(), [](std::int64_t t) { return t == 0; });
      map.add(e.view());
      clean = clean && map.map()[(split ? sensor.pixels() : 0) + 1 * sensor.width + 1] == stamp + 1;  // (p 1,) x 1, y 1
    }
    return clean;
  };
  bool other_clean = false;
  std::thread other([&] { other_clean = churn({640, 480}, 5000); });
  const bool this_clean = churn({640, 480}, 9000) && churn({320, 240}, 7000);
  other.join();
  EXPECT_TRUE(this_clean);
  EXPECT_TRUE(other_clean);
}

TEST(LastTimestampMap, split_polarity_keeps_two_maps_and_ignores_events_outside) {
  LastTimestampMap map({2, 2}, true);
  Events e;
  e.add(10, 1, 1, 0);
  e.add(20, 1, 1, 1);
  e.add(30, 2, 1, 1);
  map.add(e.view());
  const std::vector<std::int64_t> times = map.map();
  EXPECT_EQ(times[3], 10);
  EXPECT_EQ(times[4 + 3], 20);
  EXPECT_EQ(std::count(times.begin(), times.end(), 30), 0);
}

HotsOptions hots(bool incomplete = false) {
  return {.sensor = {3, 1}, .dt_us = 100, .tau_us = 50.0, .polarities = 1, .include_incomplete = incomplete};
}

Events hots_events() {
  Events e;
  e.add(0, 0, 0);
  e.add(30, 1, 0);
  e.add(120, 0, 0);
  return e;
}

TEST(HotsTimeSurface, decays_from_each_windows_end_and_unseen_pixels_are_zero) {
  const auto s = hots_time_surfaces(hots_events().view(), hots());
  ASSERT_EQ(s.size(), 3u);  // one window: the event at 120 starts an incomplete one
  EXPECT_EQ(s[0], std::exp(-(100.0 - 0.0) / 50.0));
  EXPECT_EQ(s[1], std::exp(-(100.0 - 30.0) / 50.0));
  EXPECT_EQ(s[2], 0.0);
}

TEST(HotsTimeSurface, include_incomplete_adds_the_window_of_the_last_events_with_memory_kept) {
  const auto s = hots_time_surfaces(hots_events().view(), hots(true));
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[3], std::exp(-(200.0 - 120.0) / 50.0));
  EXPECT_EQ(s[4], std::exp(-(200.0 - 30.0) / 50.0));
}

TEST(HotsTimeSurface, one_event_gives_one_surface_and_a_last_event_on_a_window_start_is_lost) {
  Events one;
  one.add(7, 2, 0);
  const auto s = hots_time_surfaces(one.view(), hots(true));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2], std::exp(-100.0 / 50.0));
  Events edge;
  edge.add(0, 0, 0);
  edge.add(200, 1, 0);
  EXPECT_EQ(hots_time_surfaces(edge.view(), hots(true)).size(), 2u * 3);  // tonic: [0,100), [100,200)
}

TEST(HotsTimeSurface, random_batch_splits_give_the_same_surfaces) {
  const SensorSize sensor{6, 5};
  const Events e = testing::random_events(5000, sensor, 8, 9);
  const HotsOptions o{.sensor = sensor, .dt_us = 1000, .tau_us = 300.0, .include_incomplete = true};
  const auto whole = hots_time_surfaces(e.view(), o);
  ASSERT_GT(whole.size(), 10 * 60u);
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    HotsTimeSurfaces stream(o);
    std::vector<double> pieces;
    const auto cuts = testing::random_cuts(e.size(), seed);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) stream.add(e.view().slice(cuts[i], cuts[i + 1]), pieces);
    stream.finish(pieces);
    EXPECT_EQ(pieces, whole);
  }
}

TEST(HotsTimeSurface, every_value_is_the_direct_exp_of_its_age_also_past_the_table_of_ages) {
  // A small sensor with a burst, a gap longer than the table of ages (2^15 us), and another
  // burst: values from the table and computed ones must both be the kernel's exp of
  // -(end - last) / tau exactly (detail::exp_double, within 1 ULP of std::exp: its own test).
  const SensorSize sensor{7, 4};
  Events e = testing::random_events(3000, sensor, 3, 40);
  const std::int64_t gap = e.t.back() + (std::int64_t{3} << 20);
  const Events later = testing::random_events(3000, sensor, 4, 40);
  for (std::size_t i = 0; i < later.size(); ++i) e.add(gap + later.t[i], later.x[i], later.y[i], later.p[i]);
  const HotsOptions o{.sensor = sensor, .dt_us = 2000, .tau_us = 7000.0, .include_incomplete = true};
  const auto surfaces = hots_time_surfaces(e.view(), o);
  // The same by the definition: after window k, exp(-(end_k - last time of the cell) / tau).
  const std::size_t cells = 2 * sensor.pixels();
  std::vector<double> last(cells, -INFINITY);
  std::size_t event = 0;
  for (std::size_t k = 0; k * cells < surfaces.size(); ++k) {
    const std::int64_t end = e.t.front() + static_cast<std::int64_t>(k + 1) * o.dt_us;
    for (; event < e.size() && e.t[event] < end; ++event)
      last[e.p[event] * sensor.pixels() + e.y[event] * sensor.width + e.x[event]] = static_cast<double>(e.t[event]);
    for (std::size_t c = 0; c < cells; ++c)
      ASSERT_EQ(surfaces[k * cells + c], ops::detail::exp_double(-(static_cast<double>(end) - last[c]) / o.tau_us))
          << "window " << k;
  }
}

// The value tonic gives cell c after window k of events e: exp(-(end_k - last time) / tau), +0
// where no event came yet (the definition, computed directly with the kernel's exp).
std::vector<double> hots_by_definition(const Events& e, const HotsOptions& o, std::size_t surfaces) {
  const std::size_t cells = o.polarities * o.sensor.pixels();
  std::vector<double> last(cells, -INFINITY), out;
  std::size_t event = 0;
  for (std::size_t k = 0; k < surfaces; ++k) {
    const std::int64_t end = e.t.front() + static_cast<std::int64_t>(k + 1) * o.dt_us;
    for (; event < e.size() && e.t[event] < end; ++event)
      last[(o.polarities == 2 ? e.p[event] : 0u) * o.sensor.pixels() + e.y[event] * o.sensor.width + e.x[event]] =
          static_cast<double>(e.t[event]);
    for (std::size_t c = 0; c < cells; ++c)
      out.push_back(ops::detail::exp_double(-(static_cast<double>(end) - last[c]) / o.tau_us));
  }
  return out;
}

TEST(HotsTimeSurface, a_large_surface_written_by_streaming_stores_is_exact_and_never_fired_cells_are_plus_zero) {
  // 2 x 300 x 250 cells (past the size written with streaming stores, and not a multiple of the
  // cells computed per block); few events, so most cells never fire and a few ages repeat.
  const SensorSize sensor{300, 250};
  const Events e = testing::random_events(4000, sensor, 11, 300);
  const HotsOptions o{.sensor = sensor, .dt_us = 50'000, .tau_us = 40'000.0, .include_incomplete = true};
  const auto surfaces = hots_time_surfaces(e.view(), o);
  const std::size_t cells = 2 * sensor.pixels();
  ASSERT_EQ(surfaces.size() % cells, 0u);
  ASSERT_GE(surfaces.size() / cells, 10u);
  const auto expected = hots_by_definition(e, o, surfaces.size() / cells);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < surfaces.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(surfaces[i]), std::bit_cast<std::uint64_t>(expected[i])) << "value " << i;
    zeros += surfaces[i] == 0.0 ? 1 : 0;
  }
  EXPECT_GT(zeros, surfaces.size() / 2);  // never-fired cells: +0, the sign checked bit for bit above
}

TEST(HotsTimeSurface, a_callers_buffer_sized_by_the_counts_gets_the_same_surfaces_as_a_vector) {
  const SensorSize sensor{9, 7};
  const Events e = testing::random_events(6000, sensor, 5, 30);
  for (const bool incomplete : {false, true}) {
    const HotsOptions o{.sensor = sensor, .dt_us = 1500, .tau_us = 900.0, .include_incomplete = incomplete};
    const auto whole = hots_time_surfaces(e.view(), o);
    HotsTimeSurfaces stream(o);
    std::vector<double> pieces;
    const auto cuts = testing::random_cuts(e.size(), 4);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const EventView batch = e.view().slice(cuts[i], cuts[i + 1]);
      const std::size_t count = stream.surfaces_completed_by(batch);
      std::vector<double> buffer(count * stream.surface_size(), -1.0);
      EXPECT_EQ(stream.add_into(batch, buffer), count);
      pieces.insert(pieces.end(), buffer.begin(), buffer.end());
    }
    std::vector<double> last(stream.surfaces_at_finish() * stream.surface_size());
    EXPECT_EQ(stream.finish_into(last), last.size() / stream.surface_size());
    pieces.insert(pieces.end(), last.begin(), last.end());
    EXPECT_EQ(pieces, whole) << "include_incomplete " << incomplete;
  }
}

TEST(HotsTimeSurface, a_buffer_too_small_or_a_time_going_back_is_refused_before_anything_changes) {
  HotsTimeSurfaces stream(hots());
  Events e;
  e.add(10, 0, 0);
  e.add(250, 1, 0);
  e.add(240, 2, 0);  // back in time: refused as a whole
  std::vector<double> out;
  EXPECT_THROW(stream.add(e.view(), out), std::invalid_argument);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(stream.surfaces_at_finish(), 0u);  // nothing was taken in
  std::vector<double> small(stream.surface_size());  // the first two events complete two windows
  EXPECT_THROW(stream.add_into(e.view().slice(0, 2), small), std::invalid_argument);
  EXPECT_EQ(stream.add(e.view().slice(0, 2), out), 2u);
  EXPECT_EQ(out, hots_by_definition(e, hots(), 2));
}

TEST(HotsTimeSurface, empty_input_gives_no_surface_and_an_empty_map_stays_zero) {
  EXPECT_TRUE(hots_time_surfaces(EventView{}, hots()).empty());
  LastTimestampMap map({2, 2});
  map.add(EventView{});
  EXPECT_EQ(map.map(), std::vector<std::int64_t>(4, 0));
}

TEST(HotsTimeSurface, windows_ending_past_the_int64_limits_are_never_reached) {
  // A window's end start + (k + 1) dt may pass INT64_MAX: no time reaches it (before, the end
  // wrapped to a negative time and every later event "completed" windows past the buffer).
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max(), kMin = std::numeric_limits<std::int64_t>::min();
  struct Case {
    std::int64_t first, last, dt;
    bool incomplete;
    std::size_t completed, surfaces;
  };
  // Ends M - 7, M - 4, M - 1 (reached), M + 2 (not: the event on M - 1 starts a window and is lost,
  // as tonic loses it); an end past M at once; ends -1, M - 1, then past M.
  for (const Case& c : {Case{kMax - 10, kMax - 1, 3, false, 3, 3}, Case{kMax - 10, kMax - 1, 3, true, 3, 3},
                        Case{kMax - 10, kMax - 1, std::int64_t{1} << 62, true, 0, 1}, Case{kMin, kMax, kMax, false, 2, 2},
                        Case{kMin, kMax, kMax, true, 2, 3}}) {
    Events e;
    e.add(c.first, 0, 0);
    e.add(c.last, 0, 0);
    HotsTimeSurfaces surfaces({.sensor = {1, 1}, .dt_us = c.dt, .tau_us = 5.0, .polarities = 1, .include_incomplete = c.incomplete});
    const std::string what = std::to_string(c.first) + " dt " + std::to_string(c.dt) + (c.incomplete ? " incomplete" : "");
    EXPECT_EQ(surfaces.surfaces_completed_by(e.view()), c.completed) << what;
    std::vector<double> out;
    surfaces.add(e.view(), out);
    surfaces.finish(out);
    EXPECT_EQ(out.size(), c.surfaces) << what;
  }
  // Windows of 1 µs over the whole int64 range: more surfaces than memory holds, refused.
  Events all;
  all.add(kMin, 0, 0);
  all.add(kMax, 0, 0);
  HotsTimeSurfaces surfaces({.sensor = {1, 1}, .dt_us = 1, .tau_us = 5.0, .polarities = 1});
  std::vector<double> out;
  EXPECT_THROW(surfaces.add(all.view(), out), std::length_error);
  EXPECT_TRUE(out.empty());
}

TEST(HotsTimeSurface, decreasing_time_is_refused_across_batches) {
  HotsTimeSurfaces stream(hots());
  std::vector<double> out;
  Events a, b;
  a.add(50, 0, 0);
  b.add(40, 0, 0);
  stream.add(a.view(), out);
  EXPECT_THROW(stream.add(b.view(), out), std::invalid_argument);
}

}  // namespace
}  // namespace evlib::ops
