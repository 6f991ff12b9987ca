#pragma once
// exp(x) in float64 for the HOTS surfaces, one value (exp_double) or four (exp4_avx2) with the
// same operations, so that both give the same bits. Within 0.51 ULP of the true value, as the C
// library's exp (glibc: 0.509 ULP), so the two differ by at most 1 ULP (on about 1 % of inputs)
// and both lie within 1 ULP of numpy's exp.
//
// exp(x) = 2^m * 2^(j/128) * exp(r), k = 128 m + j the integer nearest to x * 128 / ln 2 and
// r = x - k ln2 / 128 (|r| <= ln2 / 256): r is computed exactly up to ~1e-22 (ln2 / 128 split in
// a 32-bit head, so that k times it is exact, and a tail), 2^(j/128) comes from a table of
// double-double values, exp(r) - 1 from its Taylor series to r^6 (the next term is below
// 2^-72). Every rounding before the last one adds at most ~0.006 ULP. Products are kept apart
// from sums (rounded()): a fused multiply-add in one build and not in the other would change bits.
// Arguments below -745.14 give +0 (as std::exp); others outside [-707, 707] (results near or
// past the float64 range) and NaN are handed to std::exp.
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/avx2_dispatch.hpp"
#include "float_order.hpp"

namespace evlib::ops::detail {

struct ExpDoubleTable {
  std::array<double, 128> head{};  // 2^(j/128) rounded to float64
  std::array<double, 128> tail{};  // 2^(j/128) - head[j], rounded
};

// Built on first use from long double exp2 (64-bit significand here: the head and tail then hold
// 2^(j/128) to ~2^-63 relative). Where long double is no wider than double every tail would be 0
// and the error near 1 ULP.
static_assert(std::numeric_limits<long double>::digits >= 64, "exp_double's table needs an extended long double");
inline const ExpDoubleTable& exp_double_table() {
  static const ExpDoubleTable table = [] {
    ExpDoubleTable t;
    for (int j = 0; j < 128; ++j) {
      const long double v = std::exp2(static_cast<long double>(j) / 128.0L);
      t.head[j] = static_cast<double>(v);
      t.tail[j] = static_cast<double>(v - static_cast<long double>(t.head[j]));
    }
    return t;
  }();
  return table;
}

namespace exp_double_constants {
inline constexpr double kInvLn2N = 0x1.71547652b82fep+7;      // 128 / ln 2
inline constexpr double kLn2NHead = 0x1.62e42fee00000p-8;     // ln 2 / 128, its first 32 bits
inline constexpr double kLn2NTail = 0x1.a39ef35793c76p-40;    // the rest, rounded
inline constexpr double kShift = 0x1.8p52;                    // adding it rounds to an integer
inline constexpr double kLimit = 707.0;                       // |x| beyond: std::exp or 0
// Below this, exp(x) < 2^-1075 e^-0.006 (-1075 ln 2 = -745.1332...): the nearest float64 is +0.
inline constexpr double kZeroBelow = -745.14;
inline constexpr double kC2 = 0.5, kC3 = 0x1.5555555555555p-3, kC4 = 0x1.5555555555555p-5,
                        kC5 = 0x1.1111111111111p-7, kC6 = 0x1.6c16c16c16c17p-10;  // 1 / n!
}  // namespace exp_double_constants

inline double exp_double(double x) {
  using namespace exp_double_constants;
  if (!(std::fabs(x) <= kLimit)) [[unlikely]]
    return x < kZeroBelow ? 0.0 : std::exp(x);
  const ExpDoubleTable& table = exp_double_table();
  const double shifted = rounded(rounded(x * kInvLn2N) + kShift);
  const double kd = shifted - kShift;
  const auto k = static_cast<std::int64_t>(kd);
  const double r1 = x - rounded(kd * kLn2NHead);  // exact
  const double p = rounded(kd * kLn2NTail);
  const double r = r1 - p;
  const double back = r - r1;  // r_lo: what r = r1 - p lost (two-sum)
  const double r_lo = (r1 - (r - back)) + (-p - back);
  double poly = rounded(r * kC6) + kC5;
  poly = rounded(r * poly) + kC4;
  poly = rounded(r * poly) + kC3;
  poly = rounded(r * poly) + kC2;
  poly = rounded(rounded(r * r) * poly);  // exp(r) - 1 - r
  const double u = r_lo + poly;
  const auto j = static_cast<std::size_t>(k & 127);
  const double head = table.head[j], tail = table.tail[j];
  const double a = rounded(head * r);
  const double b = rounded(head * u) + (tail + rounded(tail * r));
  const double y = head + (a + b);
  // times 2^(k >> 7), exact: y lies in [0.99, 2.01) and the exponent stays normal within kLimit
  return std::bit_cast<double>(std::bit_cast<std::uint64_t>(y) + (static_cast<std::uint64_t>(k >> 7) << 52));
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// exp_double of four values, the same operations lane by lane.
inline __m256d exp4_avx2(__m256d x) {
  using namespace exp_double_constants;
  const ExpDoubleTable& table = exp_double_table();
  const __m256d limit = _mm256_set1_pd(kLimit);
  const __m256d abs_x = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
  const int outside = _mm256_movemask_pd(_mm256_cmp_pd(abs_x, limit, _CMP_NLE_UQ));  // or NaN
  const __m256d shift = _mm256_set1_pd(kShift);
  const __m256d shifted = rounded(_mm256_add_pd(rounded(_mm256_mul_pd(x, _mm256_set1_pd(kInvLn2N))), shift));
  const __m256d kd = _mm256_sub_pd(shifted, shift);
  // k's low bits: the shifted value's low mantissa bits (two's complement below 2^51 in magnitude)
  const __m256i k = _mm256_sub_epi64(_mm256_castpd_si256(shifted), _mm256_castpd_si256(shift));
  const __m256d r1 = _mm256_sub_pd(x, rounded(_mm256_mul_pd(kd, _mm256_set1_pd(kLn2NHead))));
  const __m256d p = rounded(_mm256_mul_pd(kd, _mm256_set1_pd(kLn2NTail)));
  const __m256d r = _mm256_sub_pd(r1, p);
  const __m256d back = _mm256_sub_pd(r, r1);
  const __m256d r_lo = _mm256_add_pd(_mm256_sub_pd(r1, _mm256_sub_pd(r, back)),
                                     _mm256_sub_pd(_mm256_xor_pd(p, _mm256_set1_pd(-0.0)), back));
  __m256d poly = _mm256_add_pd(rounded(_mm256_mul_pd(r, _mm256_set1_pd(kC6))), _mm256_set1_pd(kC5));
  poly = _mm256_add_pd(rounded(_mm256_mul_pd(r, poly)), _mm256_set1_pd(kC4));
  poly = _mm256_add_pd(rounded(_mm256_mul_pd(r, poly)), _mm256_set1_pd(kC3));
  poly = _mm256_add_pd(rounded(_mm256_mul_pd(r, poly)), _mm256_set1_pd(kC2));
  poly = rounded(_mm256_mul_pd(rounded(_mm256_mul_pd(r, r)), poly));
  const __m256d u = _mm256_add_pd(r_lo, poly);
  const __m256i j = _mm256_and_si256(k, _mm256_set1_epi64x(127));
  // The masked gathers with every lane set: the plain ones start from an undefined register,
  // which GCC 12 warns of.
  const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  const __m256d head = _mm256_mask_i64gather_pd(_mm256_setzero_pd(), table.head.data(), j, all, 8);
  const __m256d tail = _mm256_mask_i64gather_pd(_mm256_setzero_pd(), table.tail.data(), j, all, 8);
  const __m256d a = rounded(_mm256_mul_pd(head, r));
  const __m256d b = _mm256_add_pd(rounded(_mm256_mul_pd(head, u)), _mm256_add_pd(tail, rounded(_mm256_mul_pd(tail, r))));
  const __m256d y = _mm256_add_pd(head, _mm256_add_pd(a, b));
  // k >> 7 (arithmetic) << 52: k's bits shifted left by 45 with the low 52 cleared
  const __m256i scale = _mm256_andnot_si256(_mm256_set1_epi64x((std::int64_t{1} << 52) - 1), _mm256_slli_epi64(k, 45));
  __m256d result = _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(y), scale));
  if (outside != 0) [[unlikely]] {
    alignas(32) double lanes[4], args[4];
    _mm256_store_pd(lanes, result);
    _mm256_store_pd(args, x);
    for (int lane = 0; lane < 4; ++lane)
      if (outside & (1 << lane)) lanes[lane] = args[lane] < kZeroBelow ? 0.0 : std::exp(args[lane]);
    result = _mm256_load_pd(lanes);
  }
  return result;
}
EVLIB_AVX2_END
#endif

}  // namespace evlib::ops::detail
