#pragma once
// Pieces the EVT 2.0 and DAT block decoders share (x86-64 only; included by *_simd.cpp under
// their architecture guard): target attributes, and the AVX2 stand-ins for what AVX-512 has
// (compress, unsigned compares).
#include <immintrin.h>

#include "formats/prophesee/avx512_gcc12.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#define EVLIB_BLOCK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2,popcnt")))
#define EVLIB_BLOCK_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

namespace evlib::detail::block_simd {

// For each 8-bit set of lanes, the lanes' indices packed to the front, three bits each (AVX2
// has no compress: a permute by these indices does its work).
inline constexpr auto kCompressIndices = [] {
  std::array<std::uint32_t, 256> table{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned packed = 0, k = 0;
    for (unsigned lane = 0; lane < 8; ++lane) {
      if ((m >> lane) & 1) packed |= lane << (3 * k++);
    }
    table[m] = packed;
  }
  return table;
}();

// The lanes of `m` compressed to the front: the permute indices.
EVLIB_BLOCK_AVX2 inline __m256i compress_indices(unsigned m) {
  const __m256i shifts = _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21);
  return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(kCompressIndices[m])), shifts),
                          _mm256_set1_epi32(7));
}

// a < b for unsigned 32-bit or 64-bit lanes: signed compares of the values with the top bit
// flipped (AVX2 has no unsigned compare).
EVLIB_BLOCK_AVX2 inline __m256i less_u32(__m256i a, __m256i b) {
  const __m256i flip = _mm256_set1_epi32(INT32_MIN);
  return _mm256_cmpgt_epi32(_mm256_xor_si256(b, flip), _mm256_xor_si256(a, flip));
}
EVLIB_BLOCK_AVX2 inline __m256i less_u64(__m256i a, __m256i b) {
  const __m256i flip = _mm256_set1_epi64x(INT64_MIN);
  return _mm256_cmpgt_epi64(_mm256_xor_si256(b, flip), _mm256_xor_si256(a, flip));
}

// Masks of four 64-bit lanes each (low, high) as eight 32-bit lanes, in order.
EVLIB_BLOCK_AVX2 inline __m256i narrow_masks(__m256i low, __m256i high) {
  const __m256i pack = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  return _mm256_blend_epi32(_mm256_permutevar8x32_epi32(low, pack), _mm256_permutevar8x32_epi32(high, pack), 0xF0);
}

// Eight events' x, y (below 2^16) and p (below 2^8) columns from 32-bit lanes.
EVLIB_BLOCK_AVX2 inline void store_xyp(std::uint16_t* x, std::uint16_t* y, std::uint8_t* p, __m256i xs, __m256i ys,
                                       __m256i ps) {
  // [x0..3 y0..3 | x4..7 y4..7] -> [x0..7 | y0..7]
  const __m256i xy = _mm256_permute4x64_epi64(_mm256_packus_epi32(xs, ys), 0xD8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(x), _mm256_castsi256_si128(xy));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_extracti128_si256(xy, 1));
  const __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(ps), _mm256_extracti128_si256(ps, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(p16, p16));
}

}  // namespace evlib::detail::block_simd
