#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/synth.hpp"

namespace evlib {
namespace {

EventBatch generated(const SceneOptions& options, std::size_t count) {
  SceneGenerator gen(options);
  EventBatch out = EventBatch::with_capacity(count);
  TriggerBatch triggers;
  gen.generate(out, triggers, count);
  return out;
}

SceneOptions moving_edges(double background_share, std::uint64_t seed = 1) {
  SceneOptions o;
  o.kind = SceneKind::kMovingEdges;
  o.background_share = background_share;
  o.seed = seed;
  return o;
}

// The share of events with another event of the same window in their 3x3 neighbourhood: high
// for events on lines (rims), low for events spread uniformly.
double share_with_a_neighbour(const EventBatch& events, std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint32_t> count(std::size_t{width} * height, 0);
  for (std::size_t i = 0; i < events.size(); ++i) ++count[std::size_t{events.y()[i]} * width + events.x()[i]];
  std::size_t with = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const int x = events.x()[i], y = events.y()[i];
    std::uint32_t around = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (x + dx >= 0 && y + dy >= 0 && x + dx < static_cast<int>(width) && y + dy < static_cast<int>(height))
          around += count[std::size_t(y + dy) * width + std::size_t(x + dx)];
    with += around > 1 ? 1 : 0;  // itself, and at least one more
  }
  return static_cast<double>(with) / static_cast<double>(events.size());
}

TEST(MovingEdgesScene, the_same_seed_gives_the_same_events_and_another_seed_others) {
  const EventBatch a = generated(moving_edges(0.05, 3), 50'000), b = generated(moving_edges(0.05, 3), 50'000);
  const EventBatch c = generated(moving_edges(0.05, 4), 50'000);
  ASSERT_EQ(a.size(), 50'000u);
  EXPECT_TRUE(std::ranges::equal(a.t(), b.t()) && std::ranges::equal(a.x(), b.x()) && std::ranges::equal(a.y(), b.y()) &&
              std::ranges::equal(a.p(), b.p()));
  EXPECT_FALSE(std::ranges::equal(a.x(), c.x()));
}

TEST(MovingEdgesScene, events_are_in_time_order_on_the_sensor_at_the_requested_rate) {
  SceneOptions o = moving_edges(0.05);
  o.width = 640;
  o.height = 480;
  o.event_rate = 5e6;
  const EventBatch e = generated(o, 500'000);
  ASSERT_EQ(e.size(), 500'000u);
  EXPECT_TRUE(std::ranges::is_sorted(e.t()));
  EXPECT_LT(*std::ranges::max_element(e.x()), 640);
  EXPECT_LT(*std::ranges::max_element(e.y()), 480);
  const double seconds = static_cast<double>(e.t().back() - e.t().front()) * 1e-6;
  EXPECT_NEAR(static_cast<double>(e.size()) / seconds, 5e6, 5e6 * 0.05);  // 0.1 s of events
}

TEST(MovingEdgesScene, rim_events_lie_on_lines_and_background_events_are_spread) {
  // 2 ms of 20 M events/s at 1280x720: the rims' events have neighbours; of uniform ones, with
  // 40 000 * 9 / 921 600 = 0.39 others expected in a 3x3 neighbourhood, 1 - e^-0.39 = 32 % do.
  const EventBatch rims = generated(moving_edges(0.0), 40'000);
  const EventBatch background = generated(moving_edges(1.0), 40'000);
  const EventBatch noise = generated(SceneOptions{}, 40'000);
  EXPECT_GT(share_with_a_neighbour(rims, 1280, 720), 0.9);
  EXPECT_LT(share_with_a_neighbour(background, 1280, 720), 0.4);
  EXPECT_GT(share_with_a_neighbour(rims, 1280, 720), share_with_a_neighbour(noise, 1280, 720));
}

struct Point {
  double x = 0, y = 0;
};

// The mean position of the events [begin, end) of polarity p (any polarity when p > 1).
Point centroid(const EventBatch& e, std::size_t begin, std::size_t end, unsigned p) {
  Point c;
  std::size_t n = 0;
  for (std::size_t i = begin; i < end; ++i) {
    if (p <= 1 && e.p()[i] != p) continue;
    c.x += e.x()[i];
    c.y += e.y()[i];
    ++n;
  }
  return {c.x / static_cast<double>(n), c.y / static_cast<double>(n)};
}

TEST(MovingEdgesScene, a_rims_on_and_off_events_lie_on_its_leading_and_trailing_sides) {
  // One disc, no background, 100 ms: the events' mean position drifts with the disc, and its ON
  // and OFF events lie on opposite half-rims along that motion (which is ON depends on whether
  // the disc is brighter or darker than the background). Random polarities would put both means
  // at the disc's centre.
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    SceneOptions o = moving_edges(0.0, seed);
    o.discs = 1;
    o.event_rate = 1e6;
    const EventBatch e = generated(o, 100'000);
    const std::size_t tenth = e.size() / 10;
    const Point start = centroid(e, 0, tenth, 2), end = centroid(e, e.size() - tenth, e.size(), 2);
    const Point on = centroid(e, 0, e.size(), 1), off = centroid(e, 0, e.size(), 0);
    const double mx = end.x - start.x, my = end.y - start.y, sx = on.x - off.x, sy = on.y - off.y;
    const double drift = std::hypot(mx, my), split = std::hypot(sx, sy);
    ASSERT_GT(drift, 5.0) << "seed " << seed;  // 100-600 pixels/s over 0.1 s
    EXPECT_GT(split, 20.0) << "seed " << seed;  // half-rims of a radius of 29-115 pixels
    EXPECT_GT(std::fabs(mx * sx + my * sy) / (drift * split), 0.9) << "seed " << seed;  // along the motion
  }
}

TEST(MovingEdgesScene, a_background_share_outside_zero_to_one_or_no_disc_is_refused) {
  EXPECT_THROW(SceneGenerator(moving_edges(-0.1)), InvalidArgument);
  EXPECT_THROW(SceneGenerator(moving_edges(1.5)), InvalidArgument);
  SceneOptions none = moving_edges(0.05);
  none.discs = 0;
  EXPECT_THROW(SceneGenerator{none}, InvalidArgument);
}

}  // namespace
}  // namespace evlib
