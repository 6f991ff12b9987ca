#pragma once
// The text a frame may carry in its top-left corner (--overlay): the frame time and the event
// rate of its window, drawn with a built-in 5x7 pixel font (docs/rendering.md "Overlay").
#include <cstdint>
#include <span>
#include <string>

#include "evlib/render/palette.hpp"

namespace evlib::render {

// "12.345678 s  2.31 Mev/s": t in seconds with µs, the rate with k/M/G prefixes.
std::string overlay_text(std::int64_t t_us, double events_per_second);

// Draws text (digits, '.', '/', ' ', and the letters of overlay_text) at (x, y) on an RGB frame,
// each font pixel a scale x scale square of `ink` on a box of `paper` one font pixel wider all
// round; clipped to the frame. Returns the box's width in pixels.
std::uint32_t draw_text(std::span<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height, const std::string& text,
                        std::uint32_t x, std::uint32_t y, std::uint32_t scale, Rgb ink, Rgb paper);

// The overlay of a frame: overlay_text at the top left, in the palette's ON colour on its
// background, at a scale of one font pixel per 240 rows (at least 1).
void draw_overlay(std::span<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height, std::int64_t t_us,
                  double events_per_second, const Palette& palette);

}  // namespace evlib::render
