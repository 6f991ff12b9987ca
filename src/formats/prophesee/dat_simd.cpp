// DAT CD records 16 at a time (AVX-512) or 8 at a time (AVX2).
//
// A record is a 32-bit time and a 32-bit word of x, y and polarity: the block splits the two
// halves with permutes, the times widened to 64 bits plus the wraps counted so far, the word cut
// into three columns. The one piece of state is the previous record's time, for the wrap test
// (docs/formats.md 5.2); each lane compares with the lane before it, lane 0 with the time carried
// from the previous block. A block with a wrap or an event outside the sensor is left to the
// scalar loop, which counts those.
#include <algorithm>
#include <cstring>

#include "formats/prophesee/block_decoders.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace evlib::detail {

namespace {

#define EVLIB_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2,popcnt")))
#define EVLIB_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

EVLIB_AVX512 inline bool block16(const std::uint8_t* bytes, std::uint32_t& last_t32, std::int64_t loops, BlockColumns& out,
                                 std::uint32_t width, std::uint32_t height) {
  const __m512i a = _mm512_loadu_si512(bytes), b = _mm512_loadu_si512(bytes + 64);
  const __m512i t32 = _mm512_permutex2var_epi32(
      a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  const __m512i word = _mm512_permutex2var_epi32(
      a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  const __m512i before = _mm512_alignr_epi32(t32, _mm512_set1_epi32(static_cast<int>(last_t32)), 15);
  const __mmask16 wraps = _mm512_cmplt_epu32_mask(t32, before) &
                          _mm512_cmpgt_epu32_mask(_mm512_sub_epi32(before, t32), _mm512_set1_epi32(INT32_MIN));
  const __m512i x = _mm512_and_si512(word, _mm512_set1_epi32(0x3FFF));
  const __m512i y = _mm512_and_si512(_mm512_srli_epi32(word, 14), _mm512_set1_epi32(0x3FFF));
  const __mmask16 inside = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(static_cast<int>(width))) &
                           _mm512_cmplt_epu32_mask(y, _mm512_set1_epi32(static_cast<int>(height)));
  if (wraps != 0 || inside != 0xFFFF) return false;

  const std::size_t n = out.n;
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFF), base = _mm512_set1_epi64(loops);
  _mm512_storeu_si512(out.t + n, _mm512_add_epi64(_mm512_and_si512(a, low32), base));
  _mm512_storeu_si512(out.t + n + 8, _mm512_add_epi64(_mm512_and_si512(b, low32), base));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.x + n), _mm512_cvtepi32_epi16(x));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.y + n), _mm512_cvtepi32_epi16(y));
  // Polarity is the 4-bit field, normalised to 0 / 1 as the scalar loop does.
  const __mmask16 on = _mm512_test_epi32_mask(word, _mm512_set1_epi32(static_cast<int>(0xF0000000u)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.p + n), _mm_maskz_mov_epi8(on, _mm_set1_epi8(1)));
  out.n = n + 16;
  last_t32 = static_cast<std::uint32_t>(_mm_extract_epi32(_mm512_extracti32x4_epi32(t32, 3), 3));
  return true;
}

// The even (kPick 0x88: times) or odd (0xDD: words) dwords of the records in a and b, in
// record order (the shuffle interleaves 64-bit pairs of a and b; the permute puts them back).
template <int kPick>
EVLIB_AVX2 inline __m256i dwords_of_records(__m256i a, __m256i b) {
  const __m256 mixed = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), kPick);
  return _mm256_permute4x64_epi64(_mm256_castps_si256(mixed), 0xD8);
}

EVLIB_AVX2 inline bool block8(const std::uint8_t* bytes, std::uint32_t& last_t32, std::int64_t loops, BlockColumns& out,
                              std::uint32_t width, std::uint32_t height) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 32));
  const __m256i t32 = dwords_of_records<0x88>(a, b), word = dwords_of_records<0xDD>(a, b);
  const __m256i before = _mm256_blend_epi32(
      _mm256_permutevar8x32_epi32(t32, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6)), _mm256_set1_epi32(static_cast<int>(last_t32)), 0x01);
  // Unsigned compares as signed ones of the values with the top bit flipped.
  const __m256i flip = _mm256_set1_epi32(INT32_MIN);
  const __m256i wraps = _mm256_and_si256(
      _mm256_cmpgt_epi32(_mm256_xor_si256(before, flip), _mm256_xor_si256(t32, flip)),
      _mm256_cmpgt_epi32(_mm256_xor_si256(_mm256_sub_epi32(before, t32), flip), _mm256_setzero_si256()));
  // x and y are below 2^14 and the bounds at most 2^16: signed compares are exact.
  const __m256i x = _mm256_and_si256(word, _mm256_set1_epi32(0x3FFF));
  const __m256i y = _mm256_and_si256(_mm256_srli_epi32(word, 14), _mm256_set1_epi32(0x3FFF));
  const __m256i bad = _mm256_or_si256(wraps, _mm256_or_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(static_cast<int>(width) - 1)),
                                                             _mm256_cmpgt_epi32(y, _mm256_set1_epi32(static_cast<int>(height) - 1))));
  if (!_mm256_testz_si256(bad, bad)) return false;

  const std::size_t n = out.n;
  const __m256i low32 = _mm256_set1_epi64x(0xFFFFFFFF), base = _mm256_set1_epi64x(loops);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n), _mm256_add_epi64(_mm256_and_si256(a, low32), base));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n + 4), _mm256_add_epi64(_mm256_and_si256(b, low32), base));
  const __m256i xy = _mm256_permute4x64_epi64(_mm256_packus_epi32(x, y), 0xD8);  // [x0..7 | y0..7]
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.x + n), _mm256_castsi256_si128(xy));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.y + n), _mm256_extracti128_si256(xy, 1));
  const __m256i on = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_srli_epi32(word, 28), _mm256_setzero_si256()),
                                         _mm256_set1_epi32(1));
  const __m256i p = _mm256_shuffle_epi8(on, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                             0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const std::uint64_t p8 = static_cast<std::uint32_t>(_mm256_extract_epi32(p, 0)) |
                           (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_extract_epi32(p, 4))) << 32);
  std::memcpy(out.p + n, &p8, 8);
  out.n = n + 8;
  last_t32 = static_cast<std::uint32_t>(_mm256_extract_epi32(t32, 7));
  return true;
}

EVLIB_AVX512 std::size_t blocks_avx512(const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                                       std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                       std::uint32_t height) {
  std::size_t done = 0;
  std::uint32_t last = last_t32;
  BlockColumns cols = out;
  while (records - done >= 16 && capacity - cols.n >= kDatBlockRoom &&
         block16(bytes + 8 * done, last, loops, cols, width, height)) {
    done += 16;
  }
  last_t32 = last;
  out = cols;
  return done;
}

EVLIB_AVX2 std::size_t blocks_avx2(const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32, std::int64_t loops,
                                   BlockColumns& out, std::size_t capacity, std::uint32_t width, std::uint32_t height) {
  std::size_t done = 0;
  std::uint32_t last = last_t32;
  BlockColumns cols = out;
  while (records - done >= 8 && capacity - cols.n >= kDatBlockRoom &&
         block8(bytes + 8 * done, last, loops, cols, width, height)) {
    done += 8;
  }
  last_t32 = last;
  out = cols;
  return done;
}

}  // namespace

std::size_t dat_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                       std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                       std::uint32_t height) {
  // Bounds above 2^16 admit every 14-bit coordinate, as 2^16 does.
  width = std::min(width, 0x10000u);
  height = std::min(height, 0x10000u);
  switch (isa) {
    case BlockIsa::kAvx512: return blocks_avx512(bytes, records, last_t32, loops, out, capacity, width, height);
    case BlockIsa::kAvx2: return blocks_avx2(bytes, records, last_t32, loops, out, capacity, width, height);
    default: return 0;
  }
}

std::size_t dat_block_records(BlockIsa isa) { return isa == BlockIsa::kAvx512 ? 16 : 8; }

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t dat_blocks(BlockIsa, const std::uint8_t*, std::size_t, std::uint32_t&, std::int64_t, BlockColumns&, std::size_t,
                       std::uint32_t, std::uint32_t) {
  return 0;
}
std::size_t dat_block_records(BlockIsa) { return 8; }
}  // namespace evlib::detail

#endif
