#pragma once
// Keeps a float product rounded on its own before it is added to something. Built with FMA
// (-march=x86-64-v3), the compiler may contract `a * b + c` into one fused operation with one
// rounding; the references these kernels reproduce bit for bit (dv-processing, OpenEB) are
// built without, so their products are rounded first.

namespace evlib::ops::detail {

inline float rounded(float value) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(value));  // the value must exist in a register here: no contraction across it
#else
  volatile float stored = value;
  value = stored;
#endif
  return value;
}

}  // namespace evlib::ops::detail
