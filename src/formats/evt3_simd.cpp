// EVT 3.0 words 32 at a time with AVX-512 (F, BW, VL, VBMI2), for runs of the common word types.
//
// The scalar loop spends most of its time on mispredicted branches: which of ADDR_Y, ADDR_X,
// TIME_LOW, VECT_BASE_X or a vector word comes next follows the scene. Here the 32 words of a
// block are classified at once; for every word the row, time and vector base in effect are found
// with prefix scans over lane indices (the last ADDR_Y / TIME_LOW / VECT_BASE_X at or before
// it), and the vector base advance with a prefix sum of spans. Then each word that yields events
// gets its place in the output from a prefix sum of event counts and is written there: vector
// words as 16 shared t/y/p slots and their columns compressed to the set bits, ADDR_X
// words with four stores; no branch on the word type at all. A block with any other word type, a row or column outside the sensor or
// a vector without a base is left to the scalar loop, which handles and counts those exactly.
#include "formats/evt3.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <bit>
#include <cstring>

namespace evlib::detail {

namespace {

#define EVLIB_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2,popcnt")))

// Lanes 1..32 (a word's index plus one, so that 0 can mean "none").
EVLIB_AVX512 inline __m512i lane_numbers() {
  alignas(64) static const std::uint16_t k[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  return _mm512_load_si512(k);
}

// Lane i takes lane i - k (lanes below k take 0).
EVLIB_AVX512 inline __m512i shift_up(__m512i v, int k) {
  const __m512i from = _mm512_sub_epi16(lane_numbers(), _mm512_set1_epi16(static_cast<short>(k + 1)));
  return _mm512_maskz_permutexvar_epi16(~__mmask32{0} << k, from, v);
}

// Running maximum from lane 0 up (unsigned 16-bit).
EVLIB_AVX512 inline __m512i running_max(__m512i v) {
  for (int k = 1; k < 32; k *= 2) v = _mm512_max_epu16(v, shift_up(v, k));
  return v;
}

// Running sum from lane 0 up (inclusive, 16-bit).
EVLIB_AVX512 inline __m512i running_sum(__m512i v) {
  for (int k = 1; k < 32; k *= 2) v = _mm512_add_epi16(v, shift_up(v, k));
  return v;
}

// Set bits of each 16-bit lane (AVX-512 BW only: nibble lookups, then bytes summed in pairs).
EVLIB_AVX512 inline __m512i popcount16(__m512i v) {
  alignas(64) static const std::uint8_t kBits[64] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  // per 128-bit lane
                                                      0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                                      0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                                      0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
  const __m512i lut = _mm512_load_si512(kBits);
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i per_byte = _mm512_add_epi8(_mm512_shuffle_epi8(lut, _mm512_and_si512(v, nibble)),
                                           _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble)));
  return _mm512_add_epi16(_mm512_and_si512(per_byte, _mm512_set1_epi16(0xFF)), _mm512_srli_epi16(per_byte, 8));
}

// The value of v at lane index - 1 for each lane (index 0 gives 0).
EVLIB_AVX512 inline __m512i at_index(__m512i index, __m512i v) {
  const __mmask32 some = _mm512_test_epi16_mask(index, index);
  return _mm512_maskz_permutexvar_epi16(some, _mm512_sub_epi16(index, _mm512_set1_epi16(1)), v);
}

// Times of words 8k..8k+7: the base plus their TIME_LOW, or the time before the block.
EVLIB_AVX512 inline void store_times(const std::uint16_t* time_low, int k, __mmask32 tl_here, std::int64_t t_before,
                                     std::int64_t time_base, std::int64_t* times) {
  const __m512i low = _mm512_maskz_cvtepu16_epi64(0xFF, _mm_load_si128(reinterpret_cast<const __m128i*>(time_low + 8 * k)));
  const __m512i t = _mm512_mask_add_epi64(_mm512_set1_epi64(t_before), static_cast<__mmask8>(tl_here >> (8 * k)), low,
                                          _mm512_set1_epi64(time_base));
  _mm512_store_si512(times + 8 * k, t);
}

// One block; the columns as restrict pointers, so that stores through them do not force the
// compiler to reload anything.
[[gnu::always_inline]] EVLIB_AVX512 inline bool block32(const std::uint8_t* bytes, Evt3BlockState& st,
                                                      std::int64_t* __restrict out_t, std::uint16_t* __restrict out_x,
                                                      std::uint16_t* __restrict out_y, std::uint8_t* __restrict out_p,
                                                      std::size_t& n_io, std::uint32_t width, std::uint32_t height) {
  if (st.base_x > 0xF000) return false;  // the block's spans (at most 384) must not wrap 16 bits
  const __m512i w = _mm512_loadu_si512(bytes);
  const __m512i type = _mm512_srli_epi16(w, 12);
  const __mmask32 is_y = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x0));
  const __mmask32 is_x = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x2));
  const __mmask32 is_base = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x3));
  const __mmask32 is_v12 = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x4));
  const __mmask32 is_v8 = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x5));
  const __mmask32 is_tl = _mm512_cmpeq_epi16_mask(type, _mm512_set1_epi16(0x6));
  if ((is_y | is_x | is_base | is_v12 | is_v8 | is_tl) != ~__mmask32{0}) return false;

  const __m512i lanes = lane_numbers();
  const __m512i low11 = _mm512_and_si512(w, _mm512_set1_epi16(0x7FF));
  // The last ADDR_Y, TIME_LOW and VECT_BASE_X at or before each word (lane + 1; 0: before the block).
  const __m512i last_y = running_max(_mm512_maskz_mov_epi16(is_y, lanes));
  const __m512i last_tl = running_max(_mm512_maskz_mov_epi16(is_tl, lanes));
  const __m512i last_base = running_max(_mm512_maskz_mov_epi16(is_base, lanes));
  const __mmask32 y_here = _mm512_test_epi16_mask(last_y, last_y);
  const __mmask32 base_here = _mm512_test_epi16_mask(last_base, last_base);

  // Row in effect, and whether it is inside the sensor.
  const __m512i y = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.y)), y_here, at_index(last_y, low11));
  const __mmask32 row_ok = (_mm512_cmplt_epu16_mask(y, _mm512_set1_epi16(static_cast<short>(height))) & y_here) |
                           (st.row_ok ? ~y_here : __mmask32{0});
  // Vector base in effect: the last base plus the spans of the vector words since then.
  const __m512i span = _mm512_mask_mov_epi16(_mm512_maskz_mov_epi16(is_v12, _mm512_set1_epi16(12)), is_v8,
                                             _mm512_set1_epi16(8));
  const __m512i spans_to = running_sum(span);  // inclusive
  const __m512i spans_before = _mm512_sub_epi16(spans_to, span);
  const __m512i base_word = at_index(last_base, w);
  const __m512i base_start = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.base_x)), base_here,
                                                   _mm512_and_si512(base_word, _mm512_set1_epi16(0x7FF)));
  const __m512i base_x = _mm512_sub_epi16(_mm512_add_epi16(base_start, spans_before), at_index(last_base, spans_to));
  const __m512i base_p = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.base_p)), base_here,
                                               _mm512_and_si512(_mm512_srli_epi16(base_word, 11), _mm512_set1_epi16(1)));
  const __mmask32 have_base = st.have_base ? ~__mmask32{0} : base_here;

  // Every event must be kept as the scalar loop would keep it; otherwise the scalar loop decides.
  const __m512i w_max = _mm512_set1_epi16(static_cast<short>(width));
  const __mmask32 is_vector = is_v12 | is_v8;
  const __mmask32 x_ok = _mm512_cmplt_epu16_mask(low11, w_max) & row_ok;
  const __mmask32 vector_ok = _mm512_cmple_epu16_mask(_mm512_add_epi16(base_x, span), w_max) &
                              _mm512_cmplt_epu16_mask(base_x, w_max) & row_ok & have_base;
  if ((is_x & ~x_ok) != 0 || (is_vector & ~vector_ok) != 0) return false;

  // Per word: its events' bits (an ADDR_X is a vector of one), how many, and where they go.
  const __m512i vector_bits = _mm512_and_si512(w, _mm512_mask_mov_epi16(_mm512_set1_epi16(0xFF), is_v12, _mm512_set1_epi16(0xFFF)));
  const __m512i word_bits = _mm512_mask_mov_epi16(_mm512_maskz_mov_epi16(is_vector, vector_bits), is_x, _mm512_set1_epi16(1));
  const __m512i count = popcount16(word_bits);
  const __m512i count_to = running_sum(count);
  alignas(64) std::uint16_t first_x[32], bits[32], polarity[32], rows[32], start[32];
  alignas(64) std::int64_t times[32];
  _mm512_store_si512(first_x, _mm512_mask_mov_epi16(base_x, is_x, low11));
  _mm512_store_si512(bits, word_bits);
  _mm512_store_si512(polarity, _mm512_mask_mov_epi16(base_p, is_x, _mm512_and_si512(_mm512_srli_epi16(w, 11), _mm512_set1_epi16(1))));
  _mm512_store_si512(rows, y);
  _mm512_store_si512(start, _mm512_sub_epi16(count_to, count));
  const __m512i time_low = at_index(last_tl, _mm512_and_si512(w, _mm512_set1_epi16(0xFFF)));
  const __mmask32 tl_here = _mm512_test_epi16_mask(last_tl, last_tl);
  alignas(64) std::uint16_t low_times[32];
  _mm512_store_si512(low_times, time_low);
  for (int k = 0; k < 4; ++k) store_times(low_times, k, tl_here, st.t, st.time_base, times);

  // Vector words first, in order: each writes 12 slots from its start, and the slots past its
  // events belong to later words, which write them afterwards. Then the ADDR_X words, one slot
  // each. No branch on the word type, and no store depends on the one before.
  const std::size_t n = n_io;
  const __m256i bit_index = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (std::uint32_t m = is_vector; m != 0; m &= m - 1) {
    const unsigned lane = static_cast<unsigned>(std::countr_zero(m));
    const std::size_t at = n + start[lane];
    // 16 slots of each column (the block's room allows it); x: base + bit index, compressed
    // down to the set bits.
    const __m512i t = _mm512_set1_epi64(times[lane]);
    _mm512_storeu_si512(out_t + at, t);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_t + at + 8), _mm256_set1_epi64x(times[lane]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_y + at), _mm256_set1_epi16(static_cast<short>(rows[lane])));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out_p + at), _mm_set1_epi8(static_cast<char>(polarity[lane])));
    const __m256i columns = _mm256_add_epi16(_mm256_set1_epi16(static_cast<short>(first_x[lane])), bit_index);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_x + at),
                        _mm256_maskz_compress_epi16(static_cast<__mmask16>(bits[lane]), columns));
  }
  for (std::uint32_t m = is_x; m != 0; m &= m - 1) {
    const unsigned lane = static_cast<unsigned>(std::countr_zero(m));
    const std::size_t at = n + start[lane];
    out_t[at] = times[lane];
    out_x[at] = first_x[lane];
    out_y[at] = rows[lane];
    out_p[at] = static_cast<std::uint8_t>(polarity[lane]);
  }
  alignas(64) std::uint16_t total[32];
  _mm512_store_si512(total, count_to);
  n_io = n + total[31];

  // The state after the block: that of its last word.
  alignas(64) std::uint16_t last_base_x[32], last_base_p[32];
  _mm512_store_si512(last_base_x, _mm512_add_epi16(base_x, span));
  _mm512_store_si512(last_base_p, base_p);
  if (tl_here >> 31) st.t = times[31];
  if (y_here >> 31) {
    st.y = rows[31];
    st.row_ok = (row_ok >> 31) & 1;
  }
  st.base_x = last_base_x[31];
  if (base_here >> 31) {
    st.base_p = last_base_p[31];
    st.have_base = true;
  }
  return true;
}

}  // namespace

EVLIB_AVX512 std::size_t evt3_blocks_avx512(const std::uint8_t* bytes, std::size_t words, Evt3BlockState& state,
                                            Evt3Columns& out, std::size_t capacity, std::uint32_t width,
                                            std::uint32_t height) {
  Evt3BlockState st = state;
  std::size_t n = out.n, done = 0;
  while (words - done >= kEvt3BlockWords && capacity - n >= kEvt3BlockRoom &&
         block32(bytes + 2 * done, st, out.t, out.x, out.y, out.p, n, width, height)) {
    done += kEvt3BlockWords;
  }
  state = st;
  out.n = n;
  return done;
}

bool evt3_avx512_available() {
  static const bool available = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi2");
  return available;
}

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t evt3_blocks_avx512(const std::uint8_t*, std::size_t, Evt3BlockState&, Evt3Columns&, std::size_t, std::uint32_t,
                               std::uint32_t) {
  return 0;
}
bool evt3_avx512_available() { return false; }
}  // namespace evlib::detail

#endif
