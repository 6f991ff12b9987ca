#include "evlib/render/palette.hpp"

#include <gtest/gtest.h>

#include "evlib/error.hpp"

namespace evlib::render {
namespace {

TEST(Palette, named_palettes_have_openeb_and_dv_processing_colours) {
  const Palette dark = palette_by_name("prophesee-dark");
  EXPECT_EQ(dark.background, (Rgb{30, 37, 52}));
  EXPECT_EQ(dark.on, (Rgb{255, 255, 255}));
  EXPECT_EQ(dark.off, (Rgb{64, 126, 200}));
  EXPECT_EQ(palette_by_name("light").on, (Rgb{64, 126, 200}));
  const Palette dv = palette_by_name("dv");  // EventVisualizer: BGR (183, 93, 0) and 43 gray
  EXPECT_EQ(dv.background, (Rgb{255, 255, 255}));
  EXPECT_EQ(dv.on, (Rgb{0, 93, 183}));
  EXPECT_EQ(dv.off, (Rgb{43, 43, 43}));
  EXPECT_EQ(palette_by_name("coolwarm").on, (Rgb{255, 113, 117}));
  EXPECT_EQ(palette_by_name("grey").background, (Rgb{128, 128, 128}));
  EXPECT_THROW(palette_by_name("rainbow"), InvalidArgument);
}

TEST(Palette, custom_colours_are_three_hex_triples) {
  const Palette p = palette_from_colors("#000000,ffffff,3060Ff");
  EXPECT_EQ(p.background, (Rgb{0, 0, 0}));
  EXPECT_EQ(p.on, (Rgb{255, 255, 255}));
  EXPECT_EQ(p.off, (Rgb{0x30, 0x60, 0xff}));
  for (const char* bad : {"", "000000", "000000,ffffff", "000000,ffffff,3060ff,000000", "00000g,ffffff,000000",
                          "0000,ffffff,000000"})
    EXPECT_THROW(palette_from_colors(bad), InvalidArgument) << bad;
}

TEST(Palette, level_colours_go_from_off_through_background_to_on) {
  const Palette p = palette_by_name("prophesee-dark");
  const ColorMap map = level_colors(p, 128);
  EXPECT_EQ(map[0], p.off);
  EXPECT_EQ(map[128], p.background);
  EXPECT_EQ(map[255], p.on);
  EXPECT_EQ(map[64], blend(p.background, p.off, 0.5));
  // Gray shows levels as they are, whatever the neutral level.
  const ColorMap gray = level_colors(palette_by_name("gray"), 0);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(gray[v].r, v);
  EXPECT_EQ(level_colors(p, 0)[0], p.background);
}

}  // namespace
}  // namespace evlib::render
