// GIF palettes: exact up to 256 colours, kept across frames, never equal to the first frame's
// after a fresh start, the most frequent colours kept exactly above 256.
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
      ASSERT_EQ(shown(palette, index), f.at(y * f.width + x)) << x << "," << y;
    }
  for (std::size_t y = 0; y < f.height; ++y)  // the padding untouched
    for (std::size_t x = f.width; x < stride; ++x) ASSERT_EQ(indices[y * stride + x], 0xEE);
  for (std::uint32_t entry : palette.entries()) ASSERT_GE(entry >> 24, 0xFEu);  // none transparent to FFmpeg
}

std::vector<std::uint32_t> colors(std::uint32_t first, std::size_t count, std::uint32_t step = 0x010203) {
  std::vector<std::uint32_t> out;
  for (std::size_t k = 0; k < count; ++k) out.push_back((first + std::uint32_t(k) * step) & 0xFFFFFF);
  return out;
}

TEST(GifPalette, frames_of_up_to_256_colours_are_exact_and_keep_their_indices) {
  GifPalette palette;
  const Frame first = frame_of(40, 10, colors(0x102030, 100));
  const auto a = indexed(palette, first, 40);
  expect_exact(palette, first, a, 40);
  // The next frame: 156 new colours first, then the first frame's, 256 in all: the first frame's
  // colours keep their entries, the new ones take the free ones.
  std::vector<std::uint32_t> more = colors(0x804020, 156, 0x000101);
  for (std::uint32_t c : colors(0x102030, 100)) more.push_back(c);
  const Frame second = frame_of(256, 2, more);
  const auto b = indexed(palette, second, 260);
  expect_exact(palette, second, b, 260);
  EXPECT_FALSE(palette.reduced());
  for (std::size_t k = 0; k < 100; ++k) EXPECT_EQ(b[156 + k], a[k]) << k;
  // A frame of 200 other colours: the palette (full) starts again, still exact.
  const Frame third = frame_of(20, 10, colors(0x00FF00, 200, 0x010001));
  const auto c = indexed(palette, third, 20);
  expect_exact(palette, third, c, 20);
  EXPECT_FALSE(palette.reduced());
}

// FFmpeg's encoder crops and makes transparent by index any frame whose palette equals the first
// frame's, against the previous frame's indices: a palette started afresh never equals it.
TEST(GifPalette, a_palette_started_afresh_never_equals_the_first_frames) {
  GifPalette palette;
  const Frame red = frame_of(4, 4, {0xFF0000});
  expect_exact(palette, red, indexed(palette, red, 4), 4);
  const GifPalette::Entries first = palette.entries();
  const Frame other = frame_of(16, 16, colors(0x0000FF, 256, 0x000100));
  expect_exact(palette, other, indexed(palette, other, 16), 16);
  expect_exact(palette, red, indexed(palette, red, 4), 4);  // red alone again, at entry 0
  EXPECT_EQ(palette.entries()[0] & 0xFFFFFF, 0xFF0000u);
  EXPECT_NE(palette.entries(), first);
  // Within the first frame, a fresh start is still the first frame's palette.
  GifPalette reduced_first;
  const Frame many = frame_of(300, 1, colors(0x000000, 300, 0x000101));
  indexed(reduced_first, many, 300);
  EXPECT_TRUE(reduced_first.reduced());
  for (std::uint32_t entry : reduced_first.entries()) EXPECT_EQ(entry >> 24, 0xFFu);
}

TEST(GifPalette, above_256_colours_the_most_frequent_are_exact_and_the_rest_nearest) {
  GifPalette palette;
  // 301 colours: 256 on four pixels each, 45 more on one pixel each, each the blue of a frequent
  // colour plus one.
  std::vector<std::uint32_t> pixels;
  const auto frequent = colors(0x000000, 256, 0x010000);
  for (int r = 0; r < 4; ++r)
    for (std::uint32_t c : frequent) pixels.push_back(c);
  for (std::size_t k = 0; k < 45; ++k) pixels.push_back(frequent[k * 5] + 0x000001);
  const Frame f = frame_of(pixels.size(), 1, pixels);
  const auto indices = indexed(palette, f, pixels.size());
  EXPECT_TRUE(palette.reduced());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    if (i < 4 * 256) EXPECT_EQ(shown(palette, indices[i]), pixels[i]) << i;
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
    used.insert(indices[i]);
    const std::uint32_t got = shown(palette, indices[i]), want = f.at(i);
    for (int shift = 0; shift <= 16; shift += 8) {
      const double d = double(got >> shift & 0xFF) - double(want >> shift & 0xFF);
      squared += d * d;
    }
  }
  const double psnr = 10 * std::log10(255.0 * 255.0 / (squared / (3.0 * 256 * 64)));
  EXPECT_GT(psnr, 33.0);  // 34.9 dB; the 255 most frequent 15-bit bins gave 10 dB
  EXPECT_GT(used.size(), 250u);
  // The entries in use are distinct (FFmpeg's encoder merges equal entries, mapping the later
  // one's pixels to entry 0).
  std::set<std::uint32_t> colors_used;
  for (std::uint8_t index : used) colors_used.insert(palette.entries()[index]);
  EXPECT_EQ(colors_used.size(), used.size());
}

}  // namespace
}  // namespace evlib::render::detail
