#include "evlib/render/frame_generator.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "evlib/error.hpp"
#include "unit/render/render_test_support.hpp"

namespace evlib::render {
namespace {

using testing::all_frames;
using testing::Events;
using testing::pixel;

constexpr ops::SensorSize kSensor{8, 4};

RenderOptions options(Mode mode = Mode::kLastEvent, std::int64_t accumulate = 10'000, double fps = 100.0) {
  RenderOptions o;
  o.mode.mode = mode;
  o.accumulate_us = accumulate;
  o.fps = fps;
  return o;
}

TEST(FrameSchedule, slices_start_at_the_first_event_rounded_down_to_the_period) {
  Events e;
  e.add(25'300, 0, 0);
  e.add(61'000, 1, 0);
  const auto frames = all_frames(e, kSensor, options());  // period 10 ms
  // origin 20 000; the last event (61 000) lies in the slice [60 000, 70 000).
  ASSERT_EQ(frames.size(), 5u);
  for (std::size_t k = 0; k < frames.size(); ++k) EXPECT_EQ(frames[k].t_us, 30'000 + 10'000 * std::int64_t(k));
}

TEST(FrameSchedule, fractional_periods_round_each_slice_end_without_drift) {
  RenderOptions o = options(Mode::kLastEvent, 10'000, 30.0);  // 33 333.3 us
  FrameSchedule s{0, frame_period_us(o)};
  EXPECT_EQ(s.slice_end(0), 33'333);
  EXPECT_EQ(s.slice_end(1), 66'667);
  EXPECT_EQ(s.slice_end(2), 100'000);
  EXPECT_EQ(s.slice_end(29), 1'000'000);
  EXPECT_EQ(s.frames_before(1'000'000), 30u);
  EXPECT_EQ(s.frames_before(1'000'001), 31u);
  EXPECT_EQ(s.frames_before(0), 0u);
  o.speed = 0.1;  // ten times slower: a tenth of the event time per frame
  EXPECT_NEAR(frame_period_us(o), 3333.33, 0.01);
}

TEST(FrameSchedule, from_and_to_give_every_slice_even_without_events) {
  RenderOptions o = options();
  o.from_us = 5'000;
  o.to_us = 40'000;
  Events e;
  e.add(12'000, 2, 1);
  const auto frames = all_frames(e, kSensor, o);
  ASSERT_EQ(frames.size(), 4u);  // slices from 5 000, 15 000, 25 000, 35 000
  EXPECT_EQ(frames.front().t_us, 15'000);
  EXPECT_EQ(frames.back().t_us, 45'000);
  EXPECT_EQ(frames[0].events, 1u);
  EXPECT_EQ(frames[1].events, 0u);
  EXPECT_THROW(frame_period_us([] {
                 RenderOptions bad = options();
                 bad.from_us = 10, bad.to_us = 10;
                 return bad;
               }()),
               InvalidArgument);
}

// 65536 x 65536 (a size inferred from one stray event at the largest coordinates) needs ~69 GB:
// refused, with the size, before anything is allocated or pulled (it ran into the OOM killer).
TEST(FrameGenerator, a_frame_too_large_for_the_machines_memory_is_refused_before_anything_is_allocated) {
  bool pulled = false;
  const BatchSource source = [&]() -> std::optional<EventBatch> {
    pulled = true;
    return std::nullopt;
  };
  try {
    FrameGenerator generator(source, ops::SensorSize{65536, 65536}, options());
    ADD_FAILURE() << "not refused";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("a 65536x65536 frame needs about 68.7 GB"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(pulled);
  FrameGenerator fits(source, ops::SensorSize{4096, 4096}, options());  // 268 MB
}

TEST(FrameGenerator, a_start_a_million_frames_before_the_first_event_is_refused_before_any_frame) {
  // --from 0 on a recording with Unix times: 4.8e10 empty frames, which would fill a disk.
  Events e;
  e.add(1'605'537'493'718'345, 1, 1, 1);
  RenderOptions o = options();  // period 10 ms
  o.from_us = 0;
  FrameGenerator generator(testing::source_of(e, {0, e.size()}), kSensor, o);
  EXPECT_THROW(generator.next(), InvalidArgument);
  // A million periods is allowed: the first event's frame is the million-and-first.
  o.from_us = 1'605'537'493'718'345 - 1'000'000LL * 10'000;
  FrameGenerator near(testing::source_of(e, {0, e.size()}), kSensor, o);
  ASSERT_NE(near.next(), nullptr);
}


TEST(FrameGenerator, an_end_a_million_frames_after_the_last_event_is_refused_after_the_events_frames) {
  // --at 1e9s on a recording that ends at 50 ms, in a decay mode (which renders every frame up to
  // the one asked for): 1e11 frames without events, refused when the source ends.
  Events e;
  e.add(25'300, 1, 1, 1);
  e.add(49'000, 2, 1, 1);
  RenderOptions o = options(Mode::kExponentialDecay);  // period 10 ms
  o.to_us = 1'000'000'000'000'000;
  FrameGenerator far(testing::source_of(e, {0, e.size()}), kSensor, o);
  ASSERT_NE(far.next(), nullptr);  // [20 ms, 30 ms)
  ASSERT_NE(far.next(), nullptr);
  ASSERT_NE(far.next(), nullptr);  // [40 ms, 50 ms), the last event's
  try {
    far.next();
    FAIL() << "an end 1e11 frames past the last event rendered a frame";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("after the last event at 49000 us"), std::string::npos) << error.what();
  }
  // An end at the int64 limit, whose next frame start passes it, is refused the same way (the
  // count looped forever there).
  o.to_us = std::numeric_limits<std::int64_t>::max();
  FrameGenerator limit(testing::source_of(e, {0, e.size()}), kSensor, o);
  for (int k = 0; k < 3; ++k) ASSERT_NE(limit.next(), nullptr);
  EXPECT_THROW(limit.next(), InvalidArgument);
  EXPECT_EQ(FrameSchedule({0, 10'000.0}).frames_before(std::numeric_limits<std::int64_t>::max()), 922'337'203'685'478u);
  // A million frames after it are allowed: the end's frame is the million-and-third.
  o.to_us = 50'000 + 1'000'000LL * 10'000;
  FrameGenerator near(testing::source_of(e, {0, e.size()}), kSensor, o);
  for (int k = 0; k < 5; ++k) ASSERT_NE(near.next(), nullptr);
}
TEST(FrameGenerator, an_end_a_million_frames_past_a_known_bound_is_refused_before_an_event_is_read) {
  // With the file's time index at hand (events_end_bound_us: no event after it), the end of the
  // test above is refused when the generator is made, before a frame is rendered or encoded.
  RenderOptions o = options(Mode::kExponentialDecay);  // period 10 ms
  o.to_us = 1'000'000'000'000'000;
  o.events_end_bound_us = 49'000;
  bool pulled = false;
  const BatchSource source = [&]() -> std::optional<EventBatch> {
    pulled = true;
    return std::nullopt;
  };
  try {
    FrameGenerator far(source, kSensor, o);
    FAIL() << "an end 1e11 frames past the bound was taken";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("no event after 49000 us, by its time index"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(pulled);
  // Within a million frames and two of the bound, the end is left to the check after the events
  // (the first frame after the last event starts up to a period and a µs later than it).
  o.to_us = 49'000 + 1'000'002LL * 10'000;
  FrameGenerator near(source, kSensor, o);
  o.to_us = 49'000 + 1'000'002LL * 10'000 + 1;
  EXPECT_THROW(FrameGenerator(source, kSensor, o), InvalidArgument);
  // A period of 1.5 µs: frame starts 0, 2, 3, 5, ... (rounded), so the frame after an event at 0
  // starts at 2 µs; an end a million frames after that start is still taken.
  RenderOptions fine = options();
  fine.fps = 1e6, fine.speed = 1.5;
  fine.to_us = 1'500'002;
  fine.events_end_bound_us = 0;
  FrameGenerator fine_near(source, kSensor, fine);
  EXPECT_FALSE(pulled);
}

TEST(FrameGenerator, no_events_no_frames) {
  Events e;
  EXPECT_TRUE(all_frames(e, kSensor, options()).empty());
}

// A stream whose last event comes before its first made no frame, and the CLI said "no events to
// render"; only the ends are compared (a time going back in the middle is not looked for).
TEST(FrameGenerator, a_stream_ending_before_its_first_event_is_refused_as_out_of_order) {
  Events e;
  e.add(1'000'000, 1, 1, 1);
  e.add(5, 2, 2, 0);
  e.add(7, 3, 3, 1);
  try {
    all_frames(e, kSensor, options());
    FAIL() << "accepted";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("not in time order: the last (t = 7 us) comes before the first (t = 1000000 us)"),
              std::string::npos)
        << error.what();
  }
  Events sorted;
  sorted.add(5, 2, 2, 0);
  sorted.add(7, 3, 3, 1);
  EXPECT_EQ(all_frames(sorted, kSensor, options()).size(), 1u);
}

TEST(FrameGenerator, the_last_event_of_a_pixel_in_the_window_wins) {
  const Palette p = palette_by_name("prophesee-dark");
  Events e;
  e.add(1'000, 1, 1, 1);   // before the window [5 000, 15 000) of the frame at 15 000
  e.add(6'000, 2, 1, 1);
  e.add(7'000, 2, 1, 0);   // OFF after ON: OFF
  e.add(8'000, 3, 1, 0);
  e.add(9'000, 3, 1, 1);   // ON after OFF: ON
  e.add(14'999, 4, 1, 1);  // the last microsecond of the window
  e.add(15'000, 5, 1, 1);  // the next frame's
  RenderOptions o = options();
  o.from_us = 5'000;
  o.accumulate_us = 10'000;
  const auto frames = all_frames(e, kSensor, o);
  ASSERT_EQ(frames.size(), 2u);
  const auto& f = frames[0].rgb;
  EXPECT_EQ(pixel(f, kSensor, 1, 1), p.background);
  EXPECT_EQ(pixel(f, kSensor, 2, 1), p.off);
  EXPECT_EQ(pixel(f, kSensor, 3, 1), p.on);
  EXPECT_EQ(pixel(f, kSensor, 4, 1), p.on);
  EXPECT_EQ(pixel(f, kSensor, 5, 1), p.background);
  EXPECT_EQ(pixel(frames[1].rgb, kSensor, 5, 1), p.on);
  EXPECT_EQ(pixel(frames[1].rgb, kSensor, 4, 1), p.background);
}

TEST(FrameGenerator, a_window_shorter_than_the_period_shows_only_its_end) {
  Events e;
  e.add(0, 1, 1);
  e.add(3'000, 2, 1);
  e.add(9'500, 3, 1);
  const auto frames = all_frames(e, kSensor, options(Mode::kLastEvent, 1'000));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].window_start_us, 9'000);
  EXPECT_EQ(frames[0].events, 1u);
}

TEST(FrameGenerator, overlapping_windows_show_events_in_several_frames) {
  Events e;
  for (std::int64_t t = 0; t < 100'000; t += 100) e.add(t, static_cast<std::uint16_t>(t / 100 % 8), 0);
  // A 30 ms window every 10 ms: each event in three frames (fewer at the start).
  const auto frames = all_frames(e, kSensor, options(Mode::kCounts, 30'000), {0, 17, 400, 401, 999, e.size()});
  ASSERT_EQ(frames.size(), 10u);
  std::uint64_t shown = 0;
  for (const auto& f : frames) shown += f.events;
  EXPECT_EQ(frames[5].events, 300u);
  EXPECT_EQ(shown, 100u + 200u + 300u * 8);
}

class ChunkingInvariance : public ::testing::TestWithParam<Mode> {};

TEST_P(ChunkingInvariance, batch_boundaries_do_not_change_the_frames) {
  const ops::SensorSize sensor{23, 17};
  const Events e = ops::testing::random_events(20'000, sensor, 7, 20);
  RenderOptions o = options(GetParam(), 4'000, 250.0);
  const auto whole = all_frames(e, sensor, o);
  ASSERT_GT(whole.size(), 20u);
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    const auto cut = all_frames(e, sensor, o, ops::testing::random_cuts(e.size(), seed, 40));
    ASSERT_EQ(cut.size(), whole.size());
    for (std::size_t k = 0; k < whole.size(); ++k) {
      EXPECT_EQ(cut[k].t_us, whole[k].t_us);
      EXPECT_EQ(cut[k].rgb, whole[k].rgb) << "frame " << k << " seed " << seed;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ChunkingInvariance,
                         ::testing::Values(Mode::kLastEvent, Mode::kCounts, Mode::kExponentialDecay, Mode::kLinearDecay,
                                           Mode::kTimeSurface, Mode::kTimeDecay),
                         [](const auto& info) {
                           std::string name(mode_name(info.param));
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(FrameGenerator, counts_grade_the_net_count_up_to_the_saturation) {
  const Palette p = palette_by_name("gray");  // levels 128 +- 127 * net / saturation
  Events e;
  for (int i = 0; i < 2; ++i) e.add(100 + i, 1, 0, 1);
  for (int i = 0; i < 9; ++i) e.add(200 + i, 2, 0, 1);
  for (int i = 0; i < 3; ++i) e.add(300 + i, 3, 0, 0);
  e.add(400, 4, 0, 1);
  e.add(401, 4, 0, 0);
  RenderOptions o = options(Mode::kCounts, 10'000);
  o.mode.palette = p;
  o.mode.count_saturation = 4;
  const auto frames = all_frames(e, kSensor, o);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 1, 0).r, 128 + 64);  // round(127 / 2)
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 2, 0).r, 255);       // saturated
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 3, 0).r, 128 - 96);
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 4, 0).r, 128);      // as many ON as OFF
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 0, 0).r, 128);
}

TEST(FrameGenerator, time_surface_fades_with_the_age_of_the_last_event) {
  Events e;
  e.add(0, 1, 0, 1);      // a whole window old at the frame: faded out
  e.add(5'000, 2, 0, 1);  // half a window
  e.add(9'999, 3, 0, 0);  // just before the frame: full OFF
  RenderOptions o = options(Mode::kTimeSurface, 10'000);
  o.mode.palette = palette_by_name("gray");
  const auto frames = all_frames(e, kSensor, o);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 1, 0).r, 128);       // age 9 999 of 10 000: 127e-4 rounds to 0
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 2, 0).r, 128 + 64);  // age 4 999: 127 * 0.5001
  EXPECT_EQ(pixel(frames[0].rgb, kSensor, 3, 0).r, 0);
}

TEST(FrameGenerator, memory_stays_bounded_over_a_long_stream) {
  // 40 M events at 20 M events/s in batches of 1 Mi: only the batches overlapping a window are
  // held, never the stream.
  const ops::SensorSize sensor{1280, 720};
  constexpr std::size_t kBatch = std::size_t{1} << 20;
  constexpr std::size_t kBatches = 40;
  std::size_t made = 0;
  auto source = [&]() -> std::optional<EventBatch> {
    if (made == kBatches) return std::nullopt;
    EventBatch b = EventBatch::with_capacity(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      const std::uint64_t n = made * kBatch + i;
      b.push_back(static_cast<std::int64_t>(n / 20), static_cast<std::uint16_t>(n * 7 % 1280),
                  static_cast<std::uint16_t>(n * 13 % 720), static_cast<std::uint8_t>(n & 1));
    }
    ++made;
    return b;
  };
  FrameGenerator generator(source, sensor, options(Mode::kLastEvent, 10'000, 30.0));
  std::uint64_t frames = 0, shown = 0;
  while (const Frame* f = generator.next()) ++frames, shown += f->events;
  EXPECT_EQ(made, kBatches);
  EXPECT_EQ(frames, 63u);  // 2.097 s of events at 30 frames/s
  EXPECT_LE(generator.max_held_events(), 2 * kBatch);
  EXPECT_GT(shown, 0u);
}

}  // namespace
}  // namespace evlib::render
