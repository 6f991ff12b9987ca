#pragma once
// Keeps a product rounded on its own before it is added to something. Built with FMA
// (-march=x86-64-v3), the compiler may contract `a * b + c` into one fused operation with one
// rounding; the references these kernels reproduce bit for bit (dv-processing, OpenEB) are
// built without, so their products are rounded first, and evlib's own exp (exp_double.hpp) must
// give the same bits in the baseline wheel (no FMA) and the x86-64-v3 build.
#include "core/avx2_dispatch.hpp"

namespace evlib::ops::detail {

template <class Real>
inline Real rounded_scalar(Real value) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(value));  // the value must exist in a register here: no contraction across it
#else
  volatile Real stored = value;
  value = stored;
#endif
  return value;
}

inline float rounded(float value) noexcept { return rounded_scalar(value); }
inline double rounded(double value) noexcept { return rounded_scalar(value); }

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
inline __m256d rounded(__m256d value) noexcept {
  asm("" : "+x"(value));
  return value;
}
EVLIB_AVX2_END
#endif

}  // namespace evlib::ops::detail
