#pragma once
// The colours a rendered frame uses (docs/rendering.md "Palettes"): a background, a colour for ON
// events and one for OFF events, in RGB order, and the 256-entry colour maps the graded modes
// (counts, decay, time surface) look their 8-bit levels up in.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace evlib::render {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

struct Palette {
  std::string name;  // "prophesee-dark", ..., or "custom"
  Rgb background, on, off;
  // The gray palette shows a graded mode's 8-bit level as it is (r = g = b = level), so that a
  // dv-processing Accumulator frame comes out unchanged.
  bool identity_levels = false;
  friend bool operator==(const Palette&, const Palette&) = default;
};

// The named palettes: prophesee-dark (OpenEB's default), prophesee-light, dv (dv-processing's
// EventVisualizer defaults), cool-warm (OpenEB's CoolWarm), gray (OpenEB's Gray).
const std::vector<Palette>& named_palettes();
// A named palette (aliases: dark, light, coolwarm, grey), else InvalidArgument listing the names.
Palette palette_by_name(std::string_view name);
// "bg,on,off" with each colour as RRGGBB or #RRGGBB hex; InvalidArgument on anything else.
Palette palette_from_colors(std::string_view text);

// Level -> colour for the graded modes. Level `neutral` is the background; levels above it go
// linearly to the ON colour at 255, levels below it to the OFF colour at 0 (rounded to nearest).
// With identity_levels every level is its own gray.
using ColorMap = std::array<Rgb, 256>;
ColorMap level_colors(const Palette& palette, std::uint8_t neutral);

// a + (b - a) * f rounded to nearest, f in [0, 1].
Rgb blend(Rgb a, Rgb b, double f);

}  // namespace evlib::render
