#pragma once
// AVX2 kernels of the rendering and processing loops, in both builds from one source.
//
// In an x86-64-v3 build (__AVX2__) the kernels are compiled as they are, inline, and always run.
// In a baseline x86-64 build (the Python wheel, EVLIB_ARCH="") with GCC they are compiled for
// AVX2, BMI2 and POPCNT (not FMA: no product is contracted into a sum, so float results stay
// those of the scalar loops) between EVLIB_AVX2_BEGIN and EVLIB_AVX2_END, as functions named
// *avx2* that run when avx2_kernels_run() says the CPU has AVX2 (capped by
// EVLIB_MAX_BLOCK_ISA=scalar, as the block decoders are), so that scripts/wheel.sh's check of
// AVX registers holds. GCC never inlines them into baseline callers (the targets differ): the
// kernels stay functions of their own there, called once per block of events. Elsewhere (clang's
// fuzz build, other CPUs) EVLIB_AVX2 is undefined and only the scalar loops exist.

#if defined(__AVX2__)
#define EVLIB_AVX2 1
#define EVLIB_AVX2_BEGIN
#define EVLIB_AVX2_END
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EVLIB_AVX2 1
#define EVLIB_AVX2_DISPATCHED 1
#define EVLIB_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,bmi2,popcnt\")")
#define EVLIB_AVX2_END _Pragma("GCC pop_options")
#endif

#ifdef EVLIB_AVX2
#include <immintrin.h>
#endif
#ifdef EVLIB_AVX2_DISPATCHED
#include "formats/prophesee/block_decoders.hpp"  // cpu_block_isa()
#endif

namespace evlib::detail {

// Whether the AVX2 kernels run: always in an AVX2 build, else when the CPU has AVX2 (and BMI2,
// POPCNT: the block decoders' check, which EVLIB_MAX_BLOCK_ISA=scalar caps). Callers ask once
// per batch and pass the answer down.
inline bool avx2_kernels_run() {
#if defined(EVLIB_AVX2_DISPATCHED)
  return cpu_block_isa() >= BlockIsa::kAvx2;
#elif defined(EVLIB_AVX2)
  return true;
#else
  return false;
#endif
}

}  // namespace evlib::detail
