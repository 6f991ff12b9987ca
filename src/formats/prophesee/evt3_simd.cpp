// EVT 3.0 words 32 at a time with AVX-512 (F, BW, VL, VBMI2, BITALG), for runs of the common
// word types.
//
// The scalar loop spends most of its time on mispredicted branches: which of ADDR_Y, ADDR_X,
// TIME_LOW, VECT_BASE_X or a vector word comes next follows the scene. Here a block of 32 words
// is classified at once, and for every word the state in effect is found with scans over the
// lanes: one byte-wise running maximum gives the last ADDR_Y and VECT_BASE_X at or before it
// (row, vector base, polarity), one running sum gives the events before it and the columns the
// vectors since its base have advanced, and a popcount per lane its TIME_LOW rank. A block with
// any other word type, a row or column outside the sensor, or a vector without a base is left
// to the scalar loop, which handles and counts those exactly.
//
// The events are then written by output slot, 32 at a time: each slot's word is the k-th word
// with events, k the number of words whose first event is at or before the slot (a popcount of
// a bit set of first-event slots), and y, p, t and the ADDR_X columns are looked up by that word
// with one permute each and stored whole (the slots past the block's events belong to the next
// block, which overwrites them). A vector word's columns are its base plus its set bits,
// compressed, one store per vector word. Nothing branches on the word types; the state after
// the block is that of lane 31. Why this shape: per 32 words it does about half the work of
// writing event by event, and the stores, not the arithmetic, are what is left
// (benchmarks: BM_Evt3DecodeCachedChunks).
#include "formats/prophesee/evt3.hpp"
#include "formats/prophesee/block_decoders.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <bit>
#include <cstring>

namespace evlib::detail {

namespace {

#define EVLIB_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,avx512bitalg,bmi,bmi2,popcnt")))

// Lanes 1..32 (a word's index plus one, so that 0 can mean "none").
EVLIB_AVX512 inline __m512i lane_numbers() {
  alignas(64) static const std::uint16_t k[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  return _mm512_load_si512(k);
}

// Lane i takes lane i - k (lanes below k take 0; k is 1, 2, 4, 8 or 16). Whole dwords move with
// valignd, a single word with a funnel shift of each dword and the dword below it: no index
// vector, and a third cheaper than a vpermw.
EVLIB_AVX512 inline __m512i shift_up(__m512i v, int k) {
  const __m512i zero = _mm512_setzero_si512();
  switch (k) {
    case 1: return _mm512_shldi_epi32(v, _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 15), 16);
    case 2: return _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 15);
    case 4: return _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 14);
    case 8: return _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 12);
    default: return _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 8);
  }
}

// Running maximum of each byte from lane 0 up (the two bytes of a 16-bit lane kept apart).
EVLIB_AVX512 inline __m512i running_max_bytes(__m512i v) {
  for (int k = 1; k < 32; k *= 2) v = _mm512_max_epu8(v, shift_up(v, k));
  return v;
}

// Running sum from lane 0 up (inclusive, 16-bit).
EVLIB_AVX512 inline __m512i running_sum(__m512i v) {
  for (int k = 1; k < 32; k *= 2) v = _mm512_add_epi16(v, shift_up(v, k));
  return v;
}

// The value of v at lane index - 1 for each lane (index 0 gives 0).
EVLIB_AVX512 inline __m512i at_index(__m512i index, __m512i v) {
  const __mmask32 some = _mm512_test_epi16_mask(index, index);
  return _mm512_maskz_permutexvar_epi16(some, _mm512_sub_epi16(index, _mm512_set1_epi16(1)), v);
}

// Marks the slots after the first of a vector word's events, [start + 1, start + count), in a
// bit set over the block's slots (count is 1..12: the range touches at most two 64-bit words).
inline void mark_continuations(std::uint64_t* slots, unsigned start, unsigned count) {
  const std::uint64_t run = (std::uint64_t{1} << count) - 2;
  const unsigned word = start >> 6, bit = start & 63;
  slots[word] |= run << bit;
  slots[word + 1] |= (run >> 1) >> (63 - bit);
}

// Times by TIME_LOW rank: entry 0 is the time before the block, entry k that of the block's k-th
// TIME_LOW word (k <= 15), as two halves for a two-register permute.
struct TimeTable {
  __m512i low, high;
};
EVLIB_AVX512 inline TimeTable time_table(__m512i w, __mmask32 is_tl, std::int64_t t_before, std::int64_t time_base) {
  const __m512i tl_low = _mm512_maskz_compress_epi16(is_tl, _mm512_and_si512(w, _mm512_set1_epi16(0xFFF)));
  const __m512i base = _mm512_set1_epi64(time_base);
  const __m512i first8 = _mm512_add_epi64(base, _mm512_maskz_cvtepu16_epi64(0xFF, _mm512_maskz_extracti32x4_epi32(0xF, tl_low, 0)));
  const __m512i next8 = _mm512_add_epi64(base, _mm512_maskz_cvtepu16_epi64(0xFF, _mm512_maskz_extracti32x4_epi32(0xF, tl_low, 1)));
  return {_mm512_maskz_alignr_epi64(0xFF, first8, _mm512_set1_epi64(t_before), 7),
          _mm512_maskz_alignr_epi64(0xFF, next8, first8, 7)};
}

// For each lane j, the set bits of m at or below bit j: its bits in both halves of each lane's
// 32-bit mask (2 << j) - 1, counted at once (no scan across lanes).
EVLIB_AVX512 inline __m512i bits_up_to_lane(std::uint32_t m) {
  alignas(64) static const std::uint16_t kLow[32] = {
      0x1,    0x3,    0x7,    0xF,    0x1F,   0x3F,   0x7F,   0xFF,   0x1FF,  0x3FF,  0x7FF,
      0xFFF,  0x1FFF, 0x3FFF, 0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
      0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
  alignas(64) static const std::uint16_t kHigh[32] = {
      0,     0,     0,     0,     0,     0,      0,      0,      0,      0,      0,
      0,     0,     0,     0,     0,     0x1,    0x3,    0x7,    0xF,    0x1F,   0x3F,
      0x7F,  0xFF,  0x1FF, 0x3FF, 0x7FF, 0xFFF,  0x1FFF, 0x3FFF, 0x7FFF, 0xFFFF};
  const __m512i low = _mm512_and_si512(_mm512_set1_epi16(static_cast<short>(m & 0xFFFF)), _mm512_load_si512(kLow));
  const __m512i high = _mm512_and_si512(_mm512_set1_epi16(static_cast<short>(m >> 16)), _mm512_load_si512(kHigh));
  return _mm512_add_epi16(_mm512_popcnt_epi16(low), _mm512_popcnt_epi16(high));
}

// Lane 31 of a 16-bit vector.
EVLIB_AVX512 inline std::uint32_t last_lane(__m512i v) {
  return static_cast<std::uint32_t>(_mm_extract_epi16(_mm512_maskz_extracti32x4_epi32(0xF, v, 3), 7));
}

// Lanes 8q..8q+7 of a 16-bit vector as the low words of eight qwords (the other words hold
// whatever the permute put there: mask them when the whole qword counts).
EVLIB_AVX512 inline __m512i spread_quarter(__m512i v, int q) {
  const __m512i pick = _mm512_add_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(8 * q));
  return _mm512_permutexvar_epi16(pick, v);
}

// The block's first 64 slots as bits: set where a word's first event goes (1 << its start).
EVLIB_AVX512 inline std::uint64_t first_event_slots(__m512i start, __mmask32 producing) {
  const __m512i one = _mm512_set1_epi64(1), low_word = _mm512_set1_epi64(0xFFFF);
  __m512i bits = _mm512_setzero_si512();
  for (int q = 0; q < 4; ++q) {
    const __m512i at = _mm512_and_si512(spread_quarter(start, q), low_word);
    bits = _mm512_or_si512(bits, _mm512_maskz_sllv_epi64(static_cast<__mmask8>(producing >> (8 * q)), one, at));
  }
  const __m256i half = _mm256_or_si256(_mm512_maskz_extracti64x4_epi64(0xF, bits, 0), _mm512_maskz_extracti64x4_epi64(0xF, bits, 1));
  const __m128i quarter = _mm_or_si128(_mm256_extracti128_si256(half, 0), _mm256_extracti128_si256(half, 1));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_or_si128(quarter, _mm_unpackhi_epi64(quarter, quarter))));
}

// Eight slots' times: their TIME_LOW ranks (16-bit, slots 8 * group ..) looked up in the table.
EVLIB_AVX512 inline __m512i slot_times(__m512i ranks, int group, const TimeTable& table) {
  // The permute reads only the low four bits of each qword.
  return _mm512_permutex2var_epi64(table.low, spread_quarter(ranks, group), table.high);
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
  if (std::popcount(is_tl) > 15) return false;  // the time table holds 15

  const __m512i lanes = lane_numbers();
  const __m512i one = _mm512_set1_epi16(1);
  const __m512i low11 = _mm512_and_si512(w, _mm512_set1_epi16(0x7FF));
  const __mmask32 is_vector = is_v12 | is_v8;
  // Per word: its events (an ADDR_X is one), and the columns its vector spans (12 or 8).
  const __m512i vector_bits =
      _mm512_and_si512(w, _mm512_mask_mov_epi16(_mm512_set1_epi16(0xFF), is_v12, _mm512_set1_epi16(0xFFF)));
  const __m512i count = _mm512_mask_mov_epi16(_mm512_popcnt_epi16(_mm512_maskz_mov_epi16(is_vector, vector_bits)), is_x, one);
  const __m512i span = _mm512_mask_mov_epi16(_mm512_maskz_mov_epi16(is_v12, _mm512_set1_epi16(12)), is_v8,
                                             _mm512_set1_epi16(8));
  // Two running sums in one scan: events in the low 9 bits (at most 384 in a block), spans / 4
  // in the high 7 (at most 96), so neither carries into the other.
  const __m512i sums = running_sum(_mm512_or_si512(count, _mm512_slli_epi16(_mm512_srli_epi16(span, 2), 9)));
  const __m512i count_to = _mm512_and_si512(sums, _mm512_set1_epi16(0x1FF));
  const __m512i spans_to = _mm512_slli_epi16(_mm512_srli_epi16(sums, 9), 2);  // inclusive
  // The last ADDR_Y and VECT_BASE_X at or before each word (lane + 1; 0: before the block), in
  // one scan: ADDR_Y in the low byte of each lane, VECT_BASE_X in the high byte.
  const __m512i last_y_base = running_max_bytes(
      _mm512_or_si512(_mm512_maskz_mov_epi16(is_y, lanes), _mm512_maskz_mov_epi16(is_base, _mm512_slli_epi16(lanes, 8))));
  const __m512i last_y = _mm512_and_si512(last_y_base, _mm512_set1_epi16(0xFF));
  const __m512i last_base = _mm512_srli_epi16(last_y_base, 8);
  const __mmask32 y_here = _mm512_test_epi16_mask(last_y, last_y);
  const __mmask32 base_here = _mm512_test_epi16_mask(last_base, last_base);

  // Row in effect, and whether it is inside the sensor.
  const __m512i y = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.y)), y_here, at_index(last_y, low11));
  const __mmask32 row_ok = (_mm512_cmplt_epu16_mask(y, _mm512_set1_epi16(static_cast<short>(height))) & y_here) |
                           (st.row_ok ? ~y_here : __mmask32{0});
  // Vector base in effect: the last base plus the spans of the vector words since then.
  const __m512i spans_before = _mm512_sub_epi16(spans_to, span);
  const __m512i base_word = at_index(last_base, w);
  const __m512i base_start = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.base_x)), base_here,
                                                   _mm512_and_si512(base_word, _mm512_set1_epi16(0x7FF)));
  const __m512i base_x = _mm512_sub_epi16(_mm512_add_epi16(base_start, spans_before), at_index(last_base, spans_to));
  const __m512i base_p = _mm512_mask_mov_epi16(_mm512_set1_epi16(static_cast<short>(st.base_p)), base_here,
                                               _mm512_and_si512(_mm512_srli_epi16(base_word, 11), one));
  const __mmask32 have_base = st.have_base ? ~__mmask32{0} : base_here;

  // Every event must be kept as the scalar loop would keep it; otherwise the scalar loop decides.
  const __m512i w_max = _mm512_set1_epi16(static_cast<short>(width));
  const __mmask32 x_ok = _mm512_cmplt_epu16_mask(low11, w_max) & row_ok;
  const __mmask32 vector_ok = _mm512_cmple_epu16_mask(_mm512_add_epi16(base_x, span), w_max) &
                              _mm512_cmplt_epu16_mask(base_x, w_max) & row_ok & have_base;
  if ((is_x & ~x_ok) != 0 || (is_vector & ~vector_ok) != 0) return false;

  // Per word: whether it has events, the slot of the first in the block, its polarity.
  const __mmask32 producing = _mm512_test_epi16_mask(count, count);
  const __m512i start_v = _mm512_sub_epi16(count_to, count);
  const __m512i polarity = _mm512_mask_mov_epi16(base_p, is_x, _mm512_and_si512(_mm512_srli_epi16(w, 11), one));
  alignas(64) std::uint16_t start[32], first_x[32], bits[32];
  _mm512_store_si512(start, start_v);
  const std::size_t total = last_lane(count_to);
  const std::size_t n = n_io;

  // The slots where a word's first event goes: at once from the starts for up to 64 events, else
  // as the complement of the vector words' other slots, marked one vector at a time.
  const bool short_block = total <= 64;
  const std::uint64_t first_slots = short_block ? first_event_slots(start_v, producing) : 0;

  // Vector words, in order: x compressed to the set bits, in 16 slots (those past its events
  // belong to later words, which write them afterwards).
  alignas(8) std::uint64_t continuation[kEvt3BlockRoom / 64 + 2] = {};
  if (const std::uint32_t vectors = is_vector & producing; vectors != 0) {
    _mm512_store_si512(first_x, base_x);
    _mm512_store_si512(bits, vector_bits);
    const __m256i bit_index = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (std::uint32_t m = vectors; m != 0; m &= m - 1) {
      const unsigned lane = static_cast<unsigned>(std::countr_zero(m));
      const __m256i columns = _mm256_add_epi16(_mm256_set1_epi16(static_cast<short>(first_x[lane])), bit_index);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_x + n + start[lane]),
                          _mm256_maskz_compress_epi16(static_cast<__mmask16>(bits[lane]), columns));
      if (!short_block) mark_continuations(continuation, start[lane], static_cast<unsigned>(std::popcount(bits[lane])));
    }
  }

  // Every slot, 32 at a time: the word it comes from, then each column looked up by that word.
  // ADDR_X columns go only to their own slots; the vector words have written theirs.
  const __m512i x_flag = _mm512_maskz_mov_epi16(is_x, one);
  const __m512i time_rank = bits_up_to_lane(is_tl);
  const TimeTable times = time_table(w, is_tl, st.t, st.time_base);
  // A slot's word is the k-th word with events, k the number of words that began at or before it.
  const __m512i producing_words = _mm512_maskz_compress_epi16(producing, _mm512_sub_epi16(lanes, one));
  std::uint32_t began_before = 0;  // words that began before the window
  for (std::size_t first = 0; first < total; first += 32) {
    const std::size_t left = total - first;
    const __mmask32 valid = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
    const __mmask32 starts = short_block ? static_cast<__mmask32>(first_slots >> first)
                                         : static_cast<__mmask32>(~(continuation[first / 64] >> (first % 64))) & valid;
    const __m512i rank = _mm512_add_epi16(bits_up_to_lane(starts), _mm512_set1_epi16(static_cast<short>(began_before - 1)));
    const __m512i word = _mm512_permutexvar_epi16(rank, producing_words);  // vpermw reads the low five bits
    began_before += static_cast<std::uint32_t>(std::popcount(starts));

    const std::size_t at = n + first;
    _mm512_storeu_si512(out_y + at, _mm512_permutexvar_epi16(word, y));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_p + at),
                        _mm512_maskz_cvtepi16_epi8(~__mmask32{0}, _mm512_permutexvar_epi16(word, polarity)));
    const __mmask32 x_slots = _mm512_test_epi16_mask(_mm512_permutexvar_epi16(word, x_flag), one) & valid;
    _mm512_mask_storeu_epi16(out_x + at, x_slots, _mm512_permutexvar_epi16(word, low11));
    const __m512i ranks = _mm512_permutexvar_epi16(word, time_rank);
    // Whole stores (masked ones were measured slower into columns larger than the cache): the
    // first window all four groups, whose unused slots later blocks overwrite; a later window,
    // which holds a few slots, only the groups it fills.
    const int groups = first == 0 ? 4 : static_cast<int>(std::min<std::size_t>(4, (left + 7) / 8));
    for (int group = 0; group < groups; ++group) _mm512_storeu_si512(out_t + at + 8 * group, slot_times(ranks, group, times));
  }
  n_io = n + total;

  // The state after the block: that of its last word (every lane holds the state in effect at
  // its word, the state before the block where the block has not changed it yet). No branches:
  // whether the last word is an ADDR_Y or a VECT_BASE_X follows the scene.
  st.y = last_lane(y);
  st.row_ok = (row_ok >> 31) & 1;
  st.base_x = last_lane(_mm512_add_epi16(base_x, span));
  st.base_p = last_lane(base_p);
  st.have_base = (have_base >> 31) & 1;
  const unsigned last_tl = 31 - static_cast<unsigned>(std::countl_zero(is_tl | 1));  // lane 0 when none
  const std::int64_t t_last =
      st.time_base + (bytes[2 * last_tl] | (static_cast<std::int64_t>(bytes[2 * last_tl + 1] & 0x0F) << 8));
  st.t = is_tl != 0 ? t_last : st.t;
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
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi2") &&
                                __builtin_cpu_supports("avx512bitalg") && block_isa_limit_from_env() == BlockIsa::kAvx512;
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
