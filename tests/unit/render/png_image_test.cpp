#include "evlib/render/png_image.hpp"

#include <gtest/gtest.h>

#include "evlib/error.hpp"
#include "support/test_support.hpp"
#include "unit/render/render_test_support.hpp"

namespace evlib::render {
namespace {

TEST(PngImage, a_rendered_frame_reads_back_pixel_for_pixel) {
  const ops::SensorSize sensor{37, 21};  // odd sizes: no row padding assumed
  const auto events = ops::testing::random_events(3'000, sensor, 3, 5);
  RenderOptions o;
  o.accumulate_us = 20'000;
  o.fps = 50.0;
  o.mode.palette = palette_by_name("cool-warm");
  const auto frames = testing::all_frames(events, sensor, o);
  ASSERT_FALSE(frames.empty());
  const std::string dir = evlib::test::temp_dir();
  for (const auto& f : frames) {
    const std::string path = dir + "/frame.png";
    write_png(path, f.rgb, sensor.width, sensor.height);
    const RgbImage back = read_png(path);
    EXPECT_EQ(back.width, sensor.width);
    EXPECT_EQ(back.height, sensor.height);
    EXPECT_EQ(back.rgb, f.rgb);
  }
}

TEST(PngImage, writes_atomically_and_refuses_to_replace_without_overwrite) {
  const std::string dir = evlib::test::temp_dir();
  const std::string path = dir + "/one.png";
  const std::vector<std::uint8_t> rgb(2 * 2 * 3, 200);
  write_png(path, rgb, 2, 2);
  EXPECT_THROW(write_png(path, rgb, 2, 2, false), IoError);
  EXPECT_EQ(evlib::test::list_dir(dir), std::vector<std::string>{"one.png"});  // no temporary left
  EXPECT_THROW(write_png(dir + "/missing/x.png", rgb, 2, 2), IoError);
  EXPECT_THROW(write_png(path, rgb, 3, 2), InvalidArgument);
}

TEST(PngImage, reading_something_else_names_the_file) {
  const std::string path = evlib::test::write_temp_file("not.png", {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g', '!'});
  try {
    read_png(path);
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not.png"), std::string::npos);
  }
  EXPECT_THROW(read_png(path + ".missing"), IoError);
}

TEST(PngImage, frame_patterns_take_one_integer_conversion) {
  EXPECT_TRUE(is_frame_pattern("out_%05d.png"));
  EXPECT_FALSE(is_frame_pattern("out.png"));
  EXPECT_FALSE(is_frame_pattern("100%%.png"));
  EXPECT_EQ(frame_path("f_%05d.png", 42), "f_00042.png");
  EXPECT_EQ(frame_path("f%d_%%.png", 7), "f7_%.png");
  EXPECT_EQ(frame_path("f_%3d.png", 7), "f_  7.png");
  EXPECT_THROW(frame_path("f_%d_%d.png", 1), InvalidArgument);
  EXPECT_THROW(frame_path("f_%s.png", 1), InvalidArgument);
  EXPECT_THROW(frame_path("f.png", 1), InvalidArgument);
}

}  // namespace
}  // namespace evlib::render
