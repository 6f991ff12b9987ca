// GIF palettes: exact below 256 colours, kept across frames, the most frequent colours kept
// exactly above, entry 255 transparent and never used.
#include "render/gif_palette.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace evlib::render::detail {
namespace {

struct Frame {
  std::size_t width, height;
  std::vector<std::uint8_t> rgb;
  void set(std::size_t i, std::uint32_t color) {
    rgb[3 * i] = static_cast<std::uint8_t>(color >> 16);
    rgb[3 * i + 1] = static_cast<std::uint8_t>(color >> 8);
    rgb[3 * i + 2] = static_cast<std::uint8_t>(color);
  }
  std::uint32_t at(std::size_t i) const {
    return std::uint32_t{rgb[3 * i]} << 16 | std::uint32_t{rgb[3 * i + 1]} << 8 | rgb[3 * i + 2];
  }
};

Frame frame_of(std::size_t width, std::size_t height, const std::vector<std::uint32_t>& colors_by_pixel) {
  Frame f{width, height, std::vector<std::uint8_t>(width * height * 3)};
  for (std::size_t i = 0; i < width * height; ++i) f.set(i, colors_by_pixel[i % colors_by_pixel.size()]);
  return f;
}

// Indices into rows padded to `stride`, as FFmpeg's frames are.
std::vector<std::uint8_t> indexed(GifPalette& palette, const Frame& f, std::size_t stride) {
  std::vector<std::uint8_t> indices(stride * f.height, 0xEE);
  palette.index(f.rgb.data(), f.width, f.height, indices.data(), static_cast<std::ptrdiff_t>(stride));
  return indices;
}

std::uint32_t shown(const GifPalette& palette, std::uint8_t index) { return palette.entries()[index] & 0xFFFFFF; }

void expect_exact(const GifPalette& palette, const Frame& f, const std::vector<std::uint8_t>& indices, std::size_t stride) {
  for (std::size_t y = 0; y < f.height; ++y)
    for (std::size_t x = 0; x < f.width; ++x) {
      const std::uint8_t index = indices[y * stride + x];
      ASSERT_NE(index, GifPalette::kTransparent);
      ASSERT_EQ(shown(palette, index), f.at(y * f.width + x)) << x << "," << y;
      ASSERT_EQ(palette.entries()[index] >> 24, 0xFFu);  // opaque
    }
  for (std::size_t y = 0; y < f.height; ++y)  // the padding untouched
    for (std::size_t x = f.width; x < stride; ++x) ASSERT_EQ(indices[y * stride + x], 0xEE);
}

std::vector<std::uint32_t> colors(std::uint32_t first, std::size_t count, std::uint32_t step = 0x010203) {
  std::vector<std::uint32_t> out;
  for (std::size_t k = 0; k < count; ++k) out.push_back((first + std::uint32_t(k) * step) & 0xFFFFFF);
  return out;
}

TEST(GifPalette, entry_255_is_transparent_from_the_first_frame) {
  GifPalette palette;
  EXPECT_EQ(palette.entries()[GifPalette::kTransparent] >> 24, 0u);
  const Frame f = frame_of(7, 5, {0x000000, 0xFFFFFF});
  const auto indices = indexed(palette, f, 8);
  expect_exact(palette, f, indices, 8);
  EXPECT_EQ(palette.entries()[GifPalette::kTransparent] >> 24, 0u);
}

TEST(GifPalette, frames_of_up_to_255_colours_are_exact_and_keep_their_indices) {
  GifPalette palette;
  const Frame first = frame_of(40, 10, colors(0x102030, 100));
  const auto a = indexed(palette, first, 40);
  expect_exact(palette, first, a, 40);
  // The next frame: the same colours and 155 new ones, 255 in all.
  std::vector<std::uint32_t> more = colors(0x102030, 100);
  for (std::uint32_t c : colors(0x804020, 155, 0x000101)) more.push_back(c);
  const Frame second = frame_of(51, 5, more);
  const auto b = indexed(palette, second, 64);
  expect_exact(palette, second, b, 64);
  EXPECT_FALSE(palette.reduced());
  for (std::size_t i = 0; i < 40; ++i)  // the first frame's colours kept their entries
    EXPECT_EQ(b[i], a[i]);
  // A frame of 200 other colours: the palette (full) starts again, still exact.
  const Frame third = frame_of(20, 10, colors(0x00FF00, 200, 0x010001));
  const auto c = indexed(palette, third, 20);
  expect_exact(palette, third, c, 20);
  EXPECT_FALSE(palette.reduced());
}

TEST(GifPalette, above_255_colours_the_most_frequent_are_exact_and_the_rest_nearest) {
  GifPalette palette;
  // 300 colours: 0..254 on four pixels each, 45 more on one pixel each, each the red of a
  // frequent colour plus one.
  std::vector<std::uint32_t> pixels;
  const auto frequent = colors(0x000000, 255, 0x010000);
  for (int r = 0; r < 4; ++r)
    for (std::uint32_t c : frequent) pixels.push_back(c);
  for (std::size_t k = 0; k < 45; ++k) pixels.push_back(frequent[k * 5] + 0x000001);
  const Frame f = frame_of(pixels.size(), 1, pixels);
  const auto indices = indexed(palette, f, pixels.size());
  EXPECT_TRUE(palette.reduced());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    ASSERT_NE(indices[i], GifPalette::kTransparent);
    if (i < 4 * 255) EXPECT_EQ(shown(palette, indices[i]), pixels[i]) << i;
    else EXPECT_EQ(shown(palette, indices[i]), pixels[i] - 1) << i;  // the nearest: one blue step off
  }
  // The next frame of few colours is exact again.
  const Frame few = frame_of(3, 3, {0x123456, 0x654321});
  expect_exact(palette, few, indexed(palette, few, 3), 3);
  EXPECT_FALSE(palette.reduced());
}

TEST(GifPalette, a_frame_of_thousands_of_colours_is_reduced_by_a_median_cut) {
  GifPalette palette;
  // A smooth 256 x 64 gradient: 16384 colours, every one as frequent as the next.
  Frame f{256, 64, std::vector<std::uint8_t>(256 * 64 * 3)};
  for (std::size_t y = 0; y < 64; ++y)
    for (std::size_t x = 0; x < 256; ++x) f.set(y * 256 + x, std::uint32_t(x) << 16 | std::uint32_t(y * 4) << 8 | std::uint32_t(255 - x));
  const auto indices = indexed(palette, f, 256);
  EXPECT_TRUE(palette.reduced());
  double squared = 0;
  std::set<std::uint8_t> used;
  for (std::size_t i = 0; i < 256 * 64; ++i) {
    ASSERT_NE(indices[i], GifPalette::kTransparent);
    used.insert(indices[i]);
    const std::uint32_t got = shown(palette, indices[i]), want = f.at(i);
    for (int shift = 0; shift <= 16; shift += 8) {
      const double d = double(got >> shift & 0xFF) - double(want >> shift & 0xFF);
      squared += d * d;
    }
  }
  const double psnr = 10 * std::log10(255.0 * 255.0 / (squared / (3.0 * 256 * 64)));
  EXPECT_GT(psnr, 33.0);  // 34.9 dB; the 255 most frequent 15-bit bins gave 10 dB
  EXPECT_EQ(used.size(), GifPalette::kColors);
}

}  // namespace
}  // namespace evlib::render::detail
