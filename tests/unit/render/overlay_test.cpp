#include "evlib/render/overlay.hpp"

#include <gtest/gtest.h>

#include "unit/render/render_test_support.hpp"

namespace evlib::render {
namespace {

TEST(Overlay, text_gives_the_time_in_seconds_and_the_rate_with_a_prefix) {
  EXPECT_EQ(overlay_text(12'345'678, 2'310'000), "12.345678 s  2.31 Mev/s");
  EXPECT_EQ(overlay_text(5, 950), "0.000005 s  950.00 ev/s");
  EXPECT_EQ(overlay_text(-1'500'000, 4.2e9), "-1.500000 s  4.20 Gev/s");
  EXPECT_EQ(overlay_text(0, 12'500), "0.000000 s  12.50 kev/s");
}

TEST(Overlay, draws_the_font_in_a_box_and_nothing_else) {
  constexpr std::uint32_t w = 20, h = 12;
  std::vector<std::uint8_t> rgb(w * h * 3, 7);
  const Rgb ink{255, 0, 0}, paper{0, 0, 255};
  EXPECT_EQ(draw_text(rgb, w, h, "1", 2, 1, 1, ink, paper), 7u);
  const auto at = [&](std::uint32_t x, std::uint32_t y) { return testing::pixel(rgb, {w, h}, x, y); };
  // The box: x 2..8, y 1..9; the glyph of '1' from (3, 2): row 0 is 0x04, its pixel at column 2.
  EXPECT_EQ(at(2, 1), paper);
  EXPECT_EQ(at(5, 2), ink);
  EXPECT_EQ(at(4, 2), paper);
  EXPECT_EQ(at(4, 3), ink);  // row 1, 0x0C: columns 1 and 2
  EXPECT_EQ(at(4, 8), ink);    // row 6, 0x0E: columns 1 to 3, x 4 to 6
  EXPECT_EQ(at(3, 8), paper);
  EXPECT_EQ(at(8, 9), paper);
  EXPECT_EQ(at(9, 1), (Rgb{7, 7, 7}));
  EXPECT_EQ(at(2, 10), (Rgb{7, 7, 7}));
  EXPECT_EQ(at(1, 1), (Rgb{7, 7, 7}));
}

TEST(Overlay, a_frame_with_the_overlay_differs_only_in_the_corner) {
  const ops::SensorSize sensor{320, 240};
  const auto events = ops::testing::random_events(20'000, sensor, 5, 5);
  RenderOptions o;
  o.fps = 100.0;
  const auto plain = testing::all_frames(events, sensor, o);
  o.overlay = true;
  const auto marked = testing::all_frames(events, sensor, o);
  ASSERT_EQ(plain.size(), marked.size());
  ASSERT_FALSE(plain.empty());
  const std::string text = overlay_text(marked[0].t_us, double(marked[0].events) * 100.0);
  const std::uint32_t box_w = std::uint32_t(text.size()) * 6 + 1, box_h = 9;
  std::size_t inside_changed = 0;
  for (std::uint32_t y = 0; y < sensor.height; ++y)
    for (std::uint32_t x = 0; x < sensor.width; ++x) {
      const bool inside = x < box_w && y < box_h;
      const bool same = testing::pixel(plain[0].rgb, sensor, x, y) == testing::pixel(marked[0].rgb, sensor, x, y);
      if (!inside) ASSERT_TRUE(same) << x << "," << y;
      inside_changed += !same;
    }
  EXPECT_GT(inside_changed, 50u);
}

}  // namespace
}  // namespace evlib::render
