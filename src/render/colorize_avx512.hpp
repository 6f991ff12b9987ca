#pragma once
// Pixels' RGB bytes from their 8-bit levels, 64 pixels at a time with AVX-512 VBMI: the colour
// pass of the modes that draw through a level per pixel (last event, the dv decay modes, the
// time surface past its colour table).
//
// Why: the AVX2 pass gathers eight 32-bit colours at a time, and a gather costs about as much
// per pixel on this hardware whether its table lies in the first-level cache or not (0.36 ms a
// 1280x720 frame here, a third of the per-frame work of a decay mode). A 256-entry byte table
// per channel is four 64-byte registers, looked up 64 pixels at a time by two two-register
// byte permutes and a blend on the level's top bit; two more permutes per 64 output bytes
// interleave R, G and B. Same bytes as the gather, a fifth of the time.
#include <array>
#include <cstddef>
#include <cstdint>

namespace evlib::render::detail {

// The colour table split by channel: R of levels 0..255, then G, then B.
using ChannelColors = std::array<std::uint8_t, 768>;
ChannelColors channel_colors(const std::array<std::uint32_t, 256>& colors);  // R | G << 8 | B << 16 each

// Whether colorize_avx512 runs: the CPU has AVX-512 F, BW and VBMI (the block decoders' check,
// capped by EVLIB_MAX_BLOCK_ISA=avx2 or scalar).
bool avx512_colors_run();

// The RGB bytes of pixels [begin, end), 64 at a time (levels[0] is pixel begin's level): writes
// rgb[3 * begin, 3 * stop) exactly and returns stop, the first pixel left to the caller (fewer
// than 64 before end). Returns begin where avx512_colors_run() is false.
std::size_t colorize_avx512(const std::uint8_t* levels, std::size_t begin, std::size_t end, const ChannelColors& colors,
                            std::uint8_t* rgb);

}  // namespace evlib::render::detail
