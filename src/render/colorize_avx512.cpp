#include "render/colorize_avx512.hpp"

#include "formats/prophesee/block_decoders.hpp"  // cpu_block_isa()

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "formats/prophesee/avx512_gcc12.hpp"
#define EVLIB_AVX512_COLORS 1
#endif

namespace evlib::render::detail {

ChannelColors channel_colors(const std::array<std::uint32_t, 256>& colors) {
  ChannelColors out{};
  for (std::size_t level = 0; level < 256; ++level) {
    out[level] = static_cast<std::uint8_t>(colors[level]);
    out[256 + level] = static_cast<std::uint8_t>(colors[level] >> 8);
    out[512 + level] = static_cast<std::uint8_t>(colors[level] >> 16);
  }
  return out;
}

#ifdef EVLIB_AVX512_COLORS

namespace {

#define EVLIB_AVX512_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

// The byte permutes that interleave 64 pixels' R, G and B planes into 192 RGB bytes, 64 at a
// time: output byte j of part o is channel (64 o + j) % 3 of pixel (64 o + j) / 3. The first
// permute takes R (indices 0..63) or G (64..127) by that pixel; the second keeps its result
// (index j) or takes B (64 + pixel).
struct Interleave {
  std::uint8_t red_green[3][64];
  std::uint8_t blue[3][64];
};

constexpr Interleave interleave_indices() {
  Interleave k{};
  for (int o = 0; o < 3; ++o) {
    for (int j = 0; j < 64; ++j) {
      const int byte = 64 * o + j, pixel = byte / 3, channel = byte % 3;
      k.red_green[o][j] = static_cast<std::uint8_t>(channel == 1 ? 64 + pixel : pixel);
      k.blue[o][j] = static_cast<std::uint8_t>(channel == 2 ? 64 + pixel : j);
    }
  }
  return k;
}

alignas(64) constexpr Interleave kInterleave = interleave_indices();

// One channel of 64 pixels: the low seven bits of each level pick a byte of the table's half
// given by its top bit.
EVLIB_AVX512_VBMI inline __m512i channel_avx512(__m512i levels, __mmask64 upper, const __m512i* table) {
  return _mm512_mask_blend_epi8(upper, _mm512_permutex2var_epi8(table[0], levels, table[1]),
                                _mm512_permutex2var_epi8(table[2], levels, table[3]));
}

EVLIB_AVX512_VBMI std::size_t colorize_avx512_vbmi(const std::uint8_t* levels, std::size_t begin, std::size_t end,
                                            const ChannelColors& colors, std::uint8_t* rgb) {
  __m512i red[4], green[4], blue[4];
  for (int q = 0; q < 4; ++q) {
    red[q] = _mm512_loadu_si512(colors.data() + 64 * q);
    green[q] = _mm512_loadu_si512(colors.data() + 256 + 64 * q);
    blue[q] = _mm512_loadu_si512(colors.data() + 512 + 64 * q);
  }
  __m512i red_green[3], with_blue[3];
  for (int o = 0; o < 3; ++o) {
    red_green[o] = _mm512_load_si512(kInterleave.red_green[o]);
    with_blue[o] = _mm512_load_si512(kInterleave.blue[o]);
  }
  std::size_t i = begin;
  for (; i + 64 <= end; i += 64) {
    const __m512i level = _mm512_loadu_si512(levels + (i - begin));
    const __mmask64 upper = _mm512_movepi8_mask(level);
    const __m512i r = channel_avx512(level, upper, red), g = channel_avx512(level, upper, green), b = channel_avx512(level, upper, blue);
    std::uint8_t* out = rgb + 3 * i;
    for (int o = 0; o < 3; ++o)
      _mm512_storeu_si512(out + 64 * o, _mm512_permutex2var_epi8(_mm512_permutex2var_epi8(r, red_green[o], g), with_blue[o], b));
  }
  return i;
}

}  // namespace

bool avx512_colors_run() {
  // cpu_block_isa() gives kAvx512 only with F, BW, VL, CD, VBMI and VBMI2 (a superset).
  static const bool run = evlib::detail::cpu_block_isa() == evlib::detail::BlockIsa::kAvx512;
  return run;
}

std::size_t colorize_avx512(const std::uint8_t* levels, std::size_t begin, std::size_t end, const ChannelColors& colors,
                            std::uint8_t* rgb) {
  return avx512_colors_run() ? colorize_avx512_vbmi(levels, begin, end, colors, rgb) : begin;
}

#else

bool avx512_colors_run() { return false; }
std::size_t colorize_avx512(const std::uint8_t*, std::size_t begin, std::size_t, const ChannelColors&, std::uint8_t*) {
  return begin;
}

#endif

}  // namespace evlib::render::detail
