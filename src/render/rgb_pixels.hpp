#pragma once
// Storing pixels' colours (R | G << 8 | B << 16 each, from 32-bit colour tables) as RGB bytes,
// eight at a time with AVX2: shared by the rendering modes' colour passes.
//
// The AVX2 loops follow src/core/avx2_dispatch.hpp: inline in an x86-64-v3 build, kernels named
// *avx2* chosen at run time in a baseline x86-64 build (the Python wheel).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/avx2_dispatch.hpp"

namespace evlib::render::detail {

#ifdef EVLIB_AVX2
using evlib::detail::avx2_kernels_run;

EVLIB_AVX2_BEGIN
// Eight pixels' colours (R | G << 8 | B << 16 each) as 24 RGB bytes at out; writes 4 bytes more,
// which the caller's next pixels overwrite (out + 28 must lie within the frame). Always inline:
// an out-of-line copy would be an AVX2 function outside the kernels.
[[gnu::always_inline]] inline void store_rgb8(__m256i colors, std::uint8_t* out) {
  const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  const __m256i packed = _mm256_shuffle_epi8(colors, pack);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 12), _mm256_extracti128_si256(packed, 1));
}
EVLIB_AVX2_END
#endif

// Pixels [begin, end) of a frame of `pixels` that can be written eight at a time by
// store_rgb8 (the last ones go one by one: store_rgb8 writes past its 24 bytes).
inline std::size_t vector_end(std::size_t begin, std::size_t end, std::size_t pixels) {
  const std::size_t limit = std::min(end, pixels >= 10 ? pixels - 2 : 0);
  return limit > begin ? begin + (limit - begin) / 8 * 8 : begin;
}

inline void store_rgb(std::uint32_t c, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(c), out[1] = static_cast<std::uint8_t>(c >> 8), out[2] = static_cast<std::uint8_t>(c >> 16);
}

}  // namespace evlib::render::detail
