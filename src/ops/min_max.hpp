#pragma once
// The least and greatest of int64 values (times), in one pass that keeps several running pairs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "core/avx2_dispatch.hpp"

namespace evlib::ops::detail {

// The least and greatest value (values not empty). Four running pairs: std::minmax_element keeps
// one, whose compare-and-move chain costs two cycles per value; independent pairs overlap (and
// vectorise where the ISA compares 64-bit integers).
inline std::pair<std::int64_t, std::int64_t> min_max_scalar(std::span<const std::int64_t> values) {
  std::int64_t lo[4], hi[4];
  std::ranges::fill(lo, values[0]);
  std::ranges::fill(hi, values[0]);
  std::size_t i = 0;
  for (; i + 4 <= values.size(); i += 4) {
    for (std::size_t k = 0; k < 4; ++k) {
      lo[k] = std::min(lo[k], values[i + k]);
      hi[k] = std::max(hi[k], values[i + k]);
    }
  }
  for (; i < values.size(); ++i) {
    lo[0] = std::min(lo[0], values[i]);
    hi[0] = std::max(hi[0], values[i]);
  }
  return {std::min({lo[0], lo[1], lo[2], lo[3]}), std::max({hi[0], hi[1], hi[2], hi[3]})};
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// min_max_scalar with four 64-bit lanes (vpcmpgtq: the baseline build's SSE2 has no 64-bit compare, and
// compares one value at a time), two running pairs per lane.
inline std::pair<std::int64_t, std::int64_t> min_max_avx2(std::span<const std::int64_t> values) {
  const std::int64_t* v = values.data();
  const std::size_t n = values.size(), end = n / 8 * 8;
  __m256i lo0 = _mm256_set1_epi64x(v[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
  for (std::size_t i = 0; i < end; i += 8) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i + 4));
    lo0 = _mm256_blendv_epi8(lo0, a, _mm256_cmpgt_epi64(lo0, a));
    lo1 = _mm256_blendv_epi8(lo1, b, _mm256_cmpgt_epi64(lo1, b));
    hi0 = _mm256_blendv_epi8(hi0, a, _mm256_cmpgt_epi64(a, hi0));
    hi1 = _mm256_blendv_epi8(hi1, b, _mm256_cmpgt_epi64(b, hi1));
  }
  alignas(32) std::int64_t lo[8], hi[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lo), lo0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(lo + 4), lo1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(hi), hi0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(hi + 4), hi1);
  std::int64_t min = *std::min_element(lo, lo + 8), max = *std::max_element(hi, hi + 8);
  for (std::size_t i = end; i < n; ++i) {
    min = std::min(min, v[i]);
    max = std::max(max, v[i]);
  }
  return {min, max};
}

EVLIB_AVX2_END
#endif

// min_max_scalar, or min_max_avx2 when avx2 (avx2_kernels_run()).
inline std::pair<std::int64_t, std::int64_t> min_max(std::span<const std::int64_t> values, bool avx2) {
#ifdef EVLIB_AVX2
  if (avx2) return min_max_avx2(values);
#endif
  (void)avx2;
  return min_max_scalar(values);
}

}  // namespace evlib::ops::detail
