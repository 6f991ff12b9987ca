#include "evlib/render/palette.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "evlib/error.hpp"

namespace evlib::render {

const std::vector<Palette>& named_palettes() {
  // OpenEB sdk/core/utils/detail/colors_impl.h (uchar(c * 255 + 0.5) of its float colours) and
  // dv-processing visualization/colors.hpp (white, iniBlue BGR (183, 93, 0), darkGrey 43),
  // written here in RGB order.
  static const std::vector<Palette> palettes = {
      {"prophesee-dark", {30, 37, 52}, {255, 255, 255}, {64, 126, 200}, false},
      {"prophesee-light", {255, 255, 255}, {64, 126, 200}, {30, 37, 52}, false},
      {"dv", {255, 255, 255}, {0, 93, 183}, {43, 43, 43}, false},
      {"cool-warm", {217, 224, 237}, {255, 113, 117}, {87, 123, 198}, false},
      {"gray", {128, 128, 128}, {255, 255, 255}, {0, 0, 0}, true},
  };
  return palettes;
}

Palette palette_by_name(std::string_view name) {
  std::string canonical(name);
  if (canonical == "dark") canonical = "prophesee-dark";
  else if (canonical == "light") canonical = "prophesee-light";
  else if (canonical == "coolwarm") canonical = "cool-warm";
  else if (canonical == "grey") canonical = "gray";
  std::string names;
  for (const Palette& p : named_palettes()) {
    if (p.name == canonical) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw InvalidArgument("unknown palette '" + std::string(name) + "' (palettes: " + names + ", or --colors bg,on,off)");
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Rgb parse_hex_color(std::string_view text, std::string_view whole) {
  if (!text.empty() && text.front() == '#') text.remove_prefix(1);
  std::uint8_t v[3] = {};
  bool ok = text.size() == 6;
  for (std::size_t i = 0; ok && i < 3; ++i) {
    const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    v[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  if (!ok)
    throw InvalidArgument("colours '" + std::string(whole) + "': '" + std::string(text) +
                          "' is not a hex colour RRGGBB (expected bg,on,off, e.g. 000000,ffffff,4080c0)");
  return {v[0], v[1], v[2]};
}

}  // namespace

Palette palette_from_colors(std::string_view text) {
  Rgb colors[3];
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t comma = text.find(',', start);
    const bool last = i == 2;
    if (last != (comma == std::string_view::npos))
      throw InvalidArgument("colours '" + std::string(text) + "': expected three hex colours bg,on,off");
    const std::size_t end = last ? text.size() : comma;
    colors[i] = parse_hex_color(text.substr(start, end - start), text);
    start = end + 1;
  }
  return {"custom", colors[0], colors[1], colors[2], false};
}

Rgb blend(Rgb a, Rgb b, double f) {
  const auto mix = [f](std::uint8_t u, std::uint8_t v) {
    return static_cast<std::uint8_t>(std::lround(u + (static_cast<double>(v) - u) * f));
  };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

ColorMap level_colors(const Palette& palette, std::uint8_t neutral) {
  ColorMap map{};
  for (int level = 0; level < 256; ++level) {
    Rgb& c = map[static_cast<std::size_t>(level)];
    if (palette.identity_levels) {
      const auto v = static_cast<std::uint8_t>(level);
      c = {v, v, v};
    } else if (level >= neutral) {
      c = neutral == 255 ? palette.background : blend(palette.background, palette.on, double(level - neutral) / (255 - neutral));
    } else {
      c = blend(palette.background, palette.off, double(neutral - level) / neutral);
    }
  }
  return map;
}

}  // namespace evlib::render
