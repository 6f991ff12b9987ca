#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "core/avx2_dispatch.hpp"
#include "ops/exp_double.hpp"

namespace evlib::ops {
namespace {

using detail::exp_double;

// Distance in units in the last place between two finite doubles of the same sign.
std::int64_t ulps(double a, double b) {
  return std::llabs(std::bit_cast<std::int64_t>(a) - std::bit_cast<std::int64_t>(b));
}

// Arguments over the whole range the vector path takes and past both its ends (the HOTS surfaces
// use -age / tau <= 0), dense near zero too.
std::vector<double> random_arguments(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> wide(-760.0, 710.0);
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 == 0 ? wide(rng) : std::ldexp(wide(rng), -static_cast<int>(rng() % 40));
  return x;
}

TEST(ExpDouble, is_within_one_ulp_of_the_c_librarys_exp_and_equal_to_it_almost_always) {
  const std::vector<double> x = random_arguments(2'000'000, 1);
  std::size_t different = 0;
  for (const double v : x) {
    const double ours = exp_double(v), libm = std::exp(v);
    ASSERT_LE(ulps(ours, libm), 1) << std::hexfloat << "exp(" << v << "): " << ours << " against " << libm;
    different += ours != libm ? 1 : 0;
  }
  // Both are within ~0.51 ULP of the true value: they can round apart only near a midpoint.
  EXPECT_LT(different, x.size() / 200) << different << " of " << x.size() << " differ";
}

TEST(ExpDouble, is_within_0_51_ulp_of_the_true_value) {
  // The true value from long double expl (64-bit significand: its own error is ~2^-11 of a
  // float64 ULP), the error in units of the result's last place.
  std::vector<double> x = random_arguments(300'000, 3);
  for (int k = -130'000; k <= 130'000; k += 1009) {  // where the table's entry changes: k + 1/2
    const double edge = (k + 0.5) * (std::numbers::ln2 / 128);
    x.insert(x.end(), {std::nextafter(edge, -1e9), edge, std::nextafter(edge, 1e9)});
  }
  double worst = 0;
  for (const double v : x) {
    if (!(std::fabs(v) <= 707.0)) continue;  // std::exp's range
    const double ours = exp_double(v);
    const long double truth = std::exp(static_cast<long double>(v));
    const double ulp = std::nextafter(ours, std::numeric_limits<double>::infinity()) - ours;
    worst = std::max(worst, static_cast<double>(std::fabs(static_cast<long double>(ours) - truth) / ulp));
  }
  EXPECT_LE(worst, 0.51);
  EXPECT_GT(worst, 0.49);  // the last rounding alone gives up to 0.5: the measurement works
}

TEST(ExpDouble, gives_the_exact_values_at_zero_and_the_edges_of_the_float64_range) {
  EXPECT_EQ(exp_double(0.0), 1.0);
  EXPECT_EQ(exp_double(-0.0), 1.0);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(exp_double(-746.0)), 0u);  // +0, as std::exp
  EXPECT_EQ(std::bit_cast<std::uint64_t>(exp_double(-std::numeric_limits<double>::infinity())), 0u);
  EXPECT_EQ(exp_double(-745.0), std::exp(-745.0));  // a subnormal: std::exp's
  EXPECT_EQ(exp_double(-720.0), std::exp(-720.0));
  EXPECT_LE(ulps(exp_double(-707.0), std::exp(-707.0)), 1);
  EXPECT_LE(ulps(exp_double(-1.0), std::exp(-1.0)), 1);
  EXPECT_TRUE(std::isnan(exp_double(std::numeric_limits<double>::quiet_NaN())));
  // Halfway between multiples of ln 2 / 128, where the table's entry changes.
  for (int k = -130000; k <= 130000; k += 997) {
    const double x = (k + 0.5) * (std::numbers::ln2 / 128);
    for (const double v : {std::nextafter(x, -1e9), x, std::nextafter(x, 0.0)}) EXPECT_LE(ulps(exp_double(v), std::exp(v)), 1) << v;
  }
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// exp4_avx2 of in[0..4) into out: compiled for AVX2 in the baseline build too, where the test
// body itself may not use AVX2 types.
void exp4_of(const double* in, double* out) { _mm256_storeu_pd(out, detail::exp4_avx2(_mm256_loadu_pd(in))); }
EVLIB_AVX2_END

TEST(ExpDouble, four_at_a_time_gives_the_same_bits_as_one_at_a_time) {
  if (!evlib::detail::avx2_kernels_run()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<double> x = random_arguments(400'000, 2);
  // Lanes that leave the vector path among lanes that stay on it.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  x.insert(x.end(), {-746.0, -1.0, -720.0, -0.0, std::numeric_limits<double>::quiet_NaN(), -3.5, 0.0, -706.9, kInf,
                     706.9, -kInf, 708.0});
  while (x.size() % 4 != 0) x.push_back(-0.25);
  for (std::size_t i = 0; i < x.size(); i += 4) {
    double four[4];
    exp4_of(x.data() + i, four);
    for (std::size_t lane = 0; lane < 4; ++lane) {
      const double one = exp_double(x[i + lane]);
      if (std::isnan(one)) EXPECT_TRUE(std::isnan(four[lane]));
      else ASSERT_EQ(std::bit_cast<std::uint64_t>(four[lane]), std::bit_cast<std::uint64_t>(one)) << "argument " << x[i + lane];
    }
  }
}
#endif

}  // namespace
}  // namespace evlib::ops
