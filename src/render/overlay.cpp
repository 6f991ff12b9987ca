#include "evlib/render/overlay.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

namespace evlib::render {

namespace {

constexpr std::uint32_t kGlyphWidth = 5, kGlyphHeight = 7, kAdvance = 6;

struct Glyph {
  char c;
  std::array<std::uint8_t, kGlyphHeight> rows;  // 5 bits a row, the leftmost pixel the highest
};

constexpr Glyph kFont[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}}, {'v', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}}, {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
};

const Glyph* glyph_of(char c) {
  for (const Glyph& g : kFont)
    if (g.c == c) return &g;
  return nullptr;  // a space, or a character the font lacks: left blank
}

void fill(std::span<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height, std::uint32_t x0, std::uint32_t y0,
          std::uint32_t w, std::uint32_t h, Rgb c) {
  for (std::uint32_t y = y0; y < std::min(height, y0 + h); ++y)
    for (std::uint32_t x = x0; x < std::min(width, x0 + w); ++x) {
      std::uint8_t* p = rgb.data() + 3 * (std::size_t{y} * width + x);
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
}

}  // namespace

std::string overlay_text(std::int64_t t_us, double events_per_second) {
  const char* sign = t_us < 0 ? "-" : "";
  const std::uint64_t magnitude = t_us < 0 ? 0 - static_cast<std::uint64_t>(t_us) : static_cast<std::uint64_t>(t_us);
  char text[96];
  const char* prefix = "";
  double rate = events_per_second;
  if (rate >= 1e9) rate /= 1e9, prefix = "G";
  else if (rate >= 1e6) rate /= 1e6, prefix = "M";
  else if (rate >= 1e3) rate /= 1e3, prefix = "k";
  std::snprintf(text, sizeof text, "%s%llu.%06llu s  %.2f %sev/s", sign,
                static_cast<unsigned long long>(magnitude / 1'000'000),
                static_cast<unsigned long long>(magnitude % 1'000'000), rate, prefix);
  return text;
}

std::uint32_t draw_text(std::span<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height, const std::string& text,
                        std::uint32_t x, std::uint32_t y, std::uint32_t scale, Rgb ink, Rgb paper) {
  scale = std::max<std::uint32_t>(scale, 1);
  const auto chars = static_cast<std::uint32_t>(text.size());
  const std::uint32_t box_width = (chars * kAdvance + 1) * scale;
  fill(rgb, width, height, x, y, box_width, (kGlyphHeight + 2) * scale, paper);
  for (std::uint32_t i = 0; i < chars; ++i) {
    const Glyph* g = glyph_of(text[i]);
    if (g == nullptr) continue;
    const std::uint32_t left = x + (1 + i * kAdvance) * scale;
    for (std::uint32_t row = 0; row < kGlyphHeight; ++row)
      for (std::uint32_t col = 0; col < kGlyphWidth; ++col)
        if ((g->rows[row] >> (kGlyphWidth - 1 - col)) & 1u)
          fill(rgb, width, height, left + col * scale, y + (1 + row) * scale, scale, scale, ink);
  }
  return box_width;
}

void draw_overlay(std::span<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height, std::int64_t t_us,
                  double events_per_second, const Palette& palette) {
  draw_text(rgb, width, height, overlay_text(t_us, events_per_second), 0, 0, std::max<std::uint32_t>(1, height / 240),
            palette.on, palette.background);
}

}  // namespace evlib::render
