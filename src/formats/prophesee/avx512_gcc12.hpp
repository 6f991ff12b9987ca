#pragma once
// GCC 12's AVX-512 intrinsics (_mm512_srli_epi32, _mm512_alignr_epi32 ...) start from
// _mm512_undefined_epi32(), a self-initialised variable that -Wmaybe-uninitialized reports where
// they are inlined (GCC bug 105593, fixed in 13). Included by the AVX-512 block decoders only,
// after <immintrin.h>: the warning is off for the rest of their translation unit.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
