#include <gtest/gtest.h>

#include <algorithm>
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

TEST(MovingEdgesScene, every_moving_rim_gives_both_polarities) {
  // A bright disc's leading side is ON and its trailing side OFF, a dark disc's the reverse:
  // both polarities in about equal numbers.
  const EventBatch e = generated(moving_edges(0.0), 200'000);
  const auto on = static_cast<double>(std::ranges::count(e.p(), std::uint8_t{1}));
  EXPECT_NEAR(on / static_cast<double>(e.size()), 0.5, 0.1);
}

TEST(MovingEdgesScene, a_background_share_outside_zero_to_one_is_refused) {
  EXPECT_THROW(SceneGenerator(moving_edges(-0.1)), InvalidArgument);
  EXPECT_THROW(SceneGenerator(moving_edges(1.5)), InvalidArgument);
}

}  // namespace
}  // namespace evlib
