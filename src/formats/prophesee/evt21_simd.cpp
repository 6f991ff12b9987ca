// EVT 2.1 CD words with their validity masks expanded by compress stores (AVX-512) or by a
// table of set-bit positions a byte at a time (AVX2).
//
// The scalar loop writes a CD word's events one set bit at a time, a loop whose trip count
// follows the scene. Here a word's columns are written whole: x as the word's 32 columns
// compressed to its set bits, y, p and t as broadcasts, in as many vector stores as its events
// need (the slots past them belong to the next word, which overwrites them). The loop stops at
// the first word it does not decode exactly as the scalar loop would (another word type, an
// event outside the sensor, a TIME_HIGH below the one before it), which the scalar loop takes.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "formats/prophesee/block_decoders.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "formats/prophesee/avx512_gcc12.hpp"

namespace evlib::detail {

namespace {

#define EVLIB_EVT21_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,avx512cd,bmi,bmi2,popcnt")))
#define EVLIB_EVT21_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

// One word's header and mask halves (docs/formats.md 3.1).
struct Word {
  std::uint32_t header, mask;
};
inline Word load_word(const std::uint8_t* b, bool legacy) {
  std::uint32_t first, second;
  std::memcpy(&first, b, 4);
  std::memcpy(&second, b + 4, 4);
  return legacy ? Word{first, second} : Word{second, first};
}

// What a word does, decided as the scalar loop would: kEvents (a CD word all of whose events are
// inside the sensor), kTime (a TIME_HIGH not below th, which it replaces) or kStop.
enum class Step { kEvents, kTime, kStop };
inline Step classify(const Word& w, std::uint32_t& th, std::uint32_t width, std::uint32_t height) {
  const std::uint32_t type = w.header >> 28;
  if (type <= 1) {
    const std::uint32_t x_base = (w.header >> 11) & 0x7FF, y = w.header & 0x7FF;
    const bool inside = y < height && (w.mask == 0 || x_base + 31 - static_cast<std::uint32_t>(std::countl_zero(w.mask)) < width);
    return inside ? Step::kEvents : Step::kStop;
  }
  if (type == 0x8 && (w.header & 0x0FFFFFFF) >= th) {
    th = w.header & 0x0FFFFFFF;
    return Step::kTime;
  }
  return Step::kStop;
}

// Eight words' events expanded at once, by event rather than by word. Each pair of words'
// masks is one 64-bit mask over the positions 0-255 of the eight words' 256 bits (position =
// 32 * word + bit); compressing those positions by it lists the pair's events in order, and
// permutes by each position's word pick that word's t, x base, y and p. When the eight words
// hold at most 64 events (the common case) the four pairs' lists are joined by expands into
// one and written with one set of stores; else each pair is written on its own. Either way at
// most 64 events are written at once, and at most 64 slots past their first, so eight words
// need kEvt21BlockRoom slots.
struct EightWords {
  __m512i t;                    // 64-bit times, one per word
  __m512i x_base_and_y;         // 16-bit lanes: x bases in 0-7, ys in 8-15
  __m512i p;                    // bytes 0-7: the words' polarities
  std::uint64_t pair_masks[4];  // words 2k and 2k+1: their masks (0 for words without events)
};

struct Columns {
  std::int64_t* __restrict t;
  std::uint16_t* __restrict x;
  std::uint16_t* __restrict y;
  std::uint8_t* __restrict p;
};

// The positions of pair `pair`'s events, packed to the front.
EVLIB_EVT21_AVX512 inline __m512i pair_positions(const EightWords& w, unsigned pair) {
  const __m512i all_positions = _mm512_add_epi8(
      _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
                      38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14,
                      13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi8(static_cast<char>(64 * pair)));
  return _mm512_maskz_compress_epi8(w.pair_masks[pair], all_positions);
}

// The events at `positions` (count of them, at most 64) written from slot n.
EVLIB_EVT21_AVX512 inline void write_events(const EightWords& w, __m512i positions, std::size_t count, const Columns& c,
                                      std::size_t n) {
  const __m512i word_of = _mm512_and_si512(_mm512_srli_epi16(positions, 5), _mm512_set1_epi8(7));
  _mm512_storeu_si512(c.p + n, _mm512_permutexvar_epi8(word_of, w.p));
  for (std::size_t k = 0;;) {
    const __m512i at = _mm512_cvtepu8_epi16(k == 0 ? _mm512_castsi512_si256(positions) : _mm512_extracti64x4_epi64(positions, 1));
    const __m512i word16 = _mm512_srli_epi16(at, 5);
    const __m512i bit = _mm512_and_si512(at, _mm512_set1_epi16(31));
    _mm512_storeu_si512(c.x + n + k, _mm512_add_epi16(_mm512_permutexvar_epi16(word16, w.x_base_and_y), bit));
    _mm512_storeu_si512(c.y + n + k, _mm512_permutexvar_epi16(_mm512_or_si512(word16, _mm512_set1_epi16(8)), w.x_base_and_y));
    k += 32;
    if (k >= count) break;
  }
  // Times, eight at a time: the first sixteen unconditionally (most steps have that many).
  const __m128i first = _mm512_castsi512_si128(word_of);
  _mm512_storeu_si512(c.t + n, _mm512_permutexvar_epi64(_mm512_cvtepu8_epi64(first), w.t));
  _mm512_storeu_si512(c.t + n + 8, _mm512_permutexvar_epi64(_mm512_cvtepu8_epi64(_mm_srli_si128(first, 8)), w.t));
  if (count > 16) [[unlikely]] {
    alignas(64) std::uint8_t words[64];
    _mm512_store_si512(words, word_of);
    for (std::size_t k = 16; k < count; k += 8) {
      const __m128i idx = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(words + k));
      _mm512_storeu_si512(c.t + n + k, _mm512_permutexvar_epi64(_mm512_cvtepu8_epi64(idx), w.t));
    }
  }
}

EVLIB_EVT21_AVX512 inline std::size_t expand_eight(const EightWords& w, const Columns& c, std::size_t n) {
  std::size_t counts[4], total = 0;
  for (unsigned pair = 0; pair < 4; ++pair) total += counts[pair] = static_cast<std::size_t>(std::popcount(w.pair_masks[pair]));
  if (total > 64) [[unlikely]] {
    for (unsigned pair = 0; pair < 4; ++pair) {
      write_events(w, pair_positions(w, pair), counts[pair], c, n);
      n += counts[pair];
    }
    return n;
  }
  // Each further pair's list into the lanes after the ones before it.
  __m512i positions = pair_positions(w, 0);
  std::size_t filled = counts[0];
  for (unsigned pair = 1; pair < 4; ++pair) {
    const std::uint64_t lanes = _bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(filled + counts[pair])) &
                                ~_bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(filled));
    positions = _mm512_mask_expand_epi8(positions, lanes, pair_positions(w, pair));
    filled += counts[pair];
  }
  write_events(w, positions, total, c, n);
  return n + total;
}

// The headers and masks of eight words, as 32-bit lanes.
struct EightHalves {
  __m256i header, mask;
};
EVLIB_EVT21_AVX512 inline EightHalves load_eight(const std::uint8_t* bytes, bool legacy) {
  const __m512i v = _mm512_loadu_si512(bytes);
  const __m256i low = _mm512_cvtepi64_epi32(v), high = _mm512_cvtepi64_epi32(_mm512_srli_epi64(v, 32));
  return legacy ? EightHalves{low, high} : EightHalves{high, low};
}

// The parts of EightWords that do not depend on time: masks of the CD words in `cd`, x bases,
// ys and polarities.
EVLIB_EVT21_AVX512 inline void set_coordinates(EightWords& w, const EightHalves& h, __mmask8 cd) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w.pair_masks), _mm256_maskz_mov_epi32(cd, h.mask));
  const __m128i x_base = _mm256_cvtepi32_epi16(_mm256_and_si256(_mm256_srli_epi32(h.header, 11), _mm256_set1_epi32(0x7FF)));
  const __m128i y = _mm256_cvtepi32_epi16(_mm256_and_si256(h.header, _mm256_set1_epi32(0x7FF)));
  w.x_base_and_y = _mm512_castsi256_si512(_mm256_set_m128i(y, x_base));
  w.p = _mm512_castsi128_si512(_mm256_cvtepi32_epi8(_mm256_srli_epi32(h.header, 28)));
}

// The bit number of column x in each word starting at x_base, clamped to 0-32. (A lambda would
// not inherit its enclosing function's target attribute, and the baseline build has no AVX2.)
EVLIB_EVT21_AVX512 inline __m256i x_bit_numbers(int x, __m256i x_base) {
  return _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(_mm256_set1_epi32(x), x_base), _mm256_setzero_si256()),
                          _mm256_set1_epi32(32));
}

// Eight words the way the scalar loop would take them, if it would take them all: CD words
// whose events are inside the sensor and TIME_HIGH words not below the one in effect before
// them. th is updated then; false (and nothing changed) otherwise.
// The pushed-down filter on eight words (their events all inside the sensor): the scalar loop
// keeps an event when its word's y, p and t pass and its x does, so each mask keeps the bits
// whose x is in [x_lo, x_lo + x_span), and none when the word fails.
EVLIB_EVT21_AVX512 inline void keep_accepted(EightWords& w, __m256i x_base, __m256i y, __m256i type, const PushedFilter& f) {
  const __mmask8 y_in = _mm256_cmplt_epu32_mask(_mm256_sub_epi32(y, _mm256_set1_epi32(static_cast<int>(f.y_lo))),
                                                _mm256_set1_epi32(static_cast<int>(f.y_span)));
  const __mmask8 p_in =
      _mm256_test_epi32_mask(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(f.keep_p)), type), _mm256_set1_epi32(1));
  const __mmask8 t_in = _mm512_cmplt_epu64_mask(_mm512_sub_epi64(w.t, _mm512_set1_epi64(f.t_lo)),
                                                _mm512_set1_epi64(static_cast<long long>(f.t_span)));
  // The x range as bit numbers of each word, clamped to 0-32 (x_lo < 2^16 whenever x_span > 0).
  const int x_lo = f.x_span == 0 ? 0 : static_cast<int>(f.x_lo), x_hi = f.x_span == 0 ? 0 : static_cast<int>(f.x_lo + f.x_span);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i below_hi = _mm256_sub_epi32(_mm256_sllv_epi32(one, x_bit_numbers(x_hi, x_base)), one);  // shifts by 32 give 0
  const __m256i below_lo = _mm256_sub_epi32(_mm256_sllv_epi32(one, x_bit_numbers(x_lo, x_base)), one);
  const __m256i masks = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.pair_masks));
  const __m256i kept = _mm256_maskz_and_epi32(y_in & p_in & t_in, masks, _mm256_andnot_si256(below_lo, below_hi));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(w.pair_masks), kept);
}

EVLIB_EVT21_AVX512 inline bool eight_words(const EightHalves& h, std::uint32_t& th, std::int64_t epoch, std::uint32_t width,
                                     std::uint32_t height, const PushedFilter* filter, EightWords& w) {
  const __m256i type = _mm256_srli_epi32(h.header, 28);
  const __mmask8 cd = _mm256_cmple_epu32_mask(type, _mm256_set1_epi32(1));
  const __mmask8 time_high = _mm256_cmpeq_epi32_mask(type, _mm256_set1_epi32(8));
  if (static_cast<__mmask8>(cd | time_high) != 0xFF) return false;
  const __m256i y = _mm256_and_si256(h.header, _mm256_set1_epi32(0x7FF));
  const __m256i x_base = _mm256_and_si256(_mm256_srli_epi32(h.header, 11), _mm256_set1_epi32(0x7FF));
  const __m256i x_last = _mm256_sub_epi32(_mm256_add_epi32(x_base, _mm256_set1_epi32(31)), _mm256_lzcnt_epi32(h.mask));
  const __mmask8 with_events = _mm256_test_epi32_mask(h.mask, h.mask);
  if (_mm256_mask_cmpge_epu32_mask(cd, y, _mm256_set1_epi32(static_cast<int>(height))) != 0) return false;
  if (_mm256_mask_cmpge_epu32_mask(cd & with_events, x_last, _mm256_set1_epi32(static_cast<int>(width))) != 0) return false;
  // The TIME_HIGH in effect at each word: the running maximum of th and the TIME_HIGHs so far,
  // which each TIME_HIGH must equal (none below one before it).
  const __m256i value = _mm256_and_si256(h.header, _mm256_set1_epi32(0x0FFFFFFF));
  __m256i in_effect = _mm256_max_epu32(_mm256_maskz_mov_epi32(time_high, value), _mm256_set1_epi32(static_cast<int>(th)));
  in_effect = _mm256_max_epu32(in_effect, _mm256_maskz_permutexvar_epi32(0xFE, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6), in_effect));
  in_effect = _mm256_max_epu32(in_effect, _mm256_maskz_permutexvar_epi32(0xFC, _mm256_setr_epi32(0, 0, 0, 1, 2, 3, 4, 5), in_effect));
  in_effect = _mm256_max_epu32(in_effect, _mm256_maskz_permutexvar_epi32(0xF0, _mm256_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3), in_effect));
  if (_mm256_mask_cmpneq_epu32_mask(time_high, value, in_effect) != 0) return false;
  th = static_cast<std::uint32_t>(_mm_extract_epi32(_mm256_extracti128_si256(in_effect, 1), 3));
  const __m512i lsb = _mm512_cvtepu32_epi64(_mm256_and_si256(_mm256_srli_epi32(h.header, 22), _mm256_set1_epi32(63)));
  w.t = _mm512_add_epi64(_mm512_add_epi64(_mm512_set1_epi64(epoch), _mm512_slli_epi64(_mm512_cvtepu32_epi64(in_effect), 6)), lsb);
  set_coordinates(w, h, cd);
  if (filter != nullptr) keep_accepted(w, x_base, y, type, *filter);
  return true;
}

EVLIB_EVT21_AVX512 std::size_t blocks_avx512(const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                                       std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                       std::uint32_t height, const PushedFilter* filter) {
  // The columns in restrict locals: stores through them (the uint8_t one may alias anything)
  // then force no reloads of the state.
  std::int64_t* __restrict out_t = out.t;
  std::uint16_t* __restrict out_x = out.x;
  std::uint16_t* __restrict out_y = out.y;
  std::uint8_t* __restrict out_p = out.p;
  std::size_t i = 0, n = out.n;
  std::uint32_t high = th;
  for (;;) {
    EightWords w;
    if (words - i >= 8 && capacity - n >= kEvt21BlockRoom &&
        eight_words(load_eight(bytes + 8 * i, legacy), high, epoch, width, height, filter, w)) {
      n = expand_eight(w, Columns{out_t, out_x, out_y, out_p}, n);
      i += 8;
      continue;
    }
    // A block with something unusual, or the last words: one word as the scalar loop would
    // take it, at most (the scalar loop takes what this does not; all of them when filtered).
    if (i == words || capacity - n < kEvt21WordRoom || filter != nullptr) break;
    const Word word = load_word(bytes + 8 * i, legacy);
    const Step step = classify(word, high, width, height);
    if (step == Step::kStop) break;
    ++i;
    if (step == Step::kTime || word.mask == 0) continue;
    const std::uint32_t x_base = (word.header >> 11) & 0x7FF;
    const std::int64_t t = epoch + (static_cast<std::int64_t>(high) << 6) + ((word.header >> 22) & 63);
    const __m512i lanes = _mm512_setr_epi32(0x00010000, 0x00030002, 0x00050004, 0x00070006, 0x00090008, 0x000B000A,
                                            0x000D000C, 0x000F000E, 0x00110010, 0x00130012, 0x00150014, 0x00170016,
                                            0x00190018, 0x001B001A, 0x001D001C, 0x001F001E);
    _mm512_storeu_si512(out_x + n, _mm512_maskz_compress_epi16(word.mask, _mm512_add_epi16(_mm512_set1_epi16(static_cast<short>(x_base)), lanes)));
    _mm512_storeu_si512(out_y + n, _mm512_set1_epi16(static_cast<short>(word.header & 0x7FF)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_p + n), _mm256_set1_epi8(static_cast<char>(word.header >> 28)));
    const std::size_t count = static_cast<std::size_t>(std::popcount(word.mask));
    for (std::size_t k = 0; k < count; k += 8) _mm512_storeu_si512(out_t + n + k, _mm512_set1_epi64(t));
    n += count;
  }
  th = high;
  out.n = n;
  return i;
}

// The stateless expansion of the ceiling (see block_decoders.hpp).
EVLIB_EVT21_AVX512 std::size_t expand_avx512(const std::uint8_t* bytes, std::size_t words, bool legacy, BlockColumns& out) {
  std::size_t i = 0, n = out.n;
  for (; i + 8 <= words; i += 8) {
    const EightHalves h = load_eight(bytes + 8 * i, legacy);
    const __mmask8 cd = _mm256_cmple_epu32_mask(_mm256_srli_epi32(h.header, 28), _mm256_set1_epi32(1));
    EightWords w;
    w.t = _mm512_cvtepu32_epi64(_mm256_and_si256(_mm256_srli_epi32(h.header, 22), _mm256_set1_epi32(63)));
    set_coordinates(w, h, cd);
    n = expand_eight(w, Columns{out.t, out.x, out.y, out.p}, n);
  }
  out.n = n;
  return i;
}

// For each byte, the positions of its set bits packed to the front (eight 16-bit lanes).
constexpr auto kBitPositions = [] {
  std::array<std::array<std::uint16_t, 8>, 256> table{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned k = 0;
    for (unsigned bit = 0; bit < 8; ++bit) {
      if ((m >> bit) & 1) table[m][k++] = static_cast<std::uint16_t>(bit);
    }
  }
  return table;
}();

// One CD word's events written from slot n (kEvt21WordRoom slots at most): t, y and p as
// broadcasts, x from the table a mask byte at a time.
EVLIB_EVT21_AVX2 inline std::size_t emit_word(std::uint32_t header, std::uint32_t mask, std::int64_t t, const Columns& c,
                                        std::size_t n) {
  if (mask == 0) return n;
  const std::uint32_t x_base = (header >> 11) & 0x7FF;
  const std::size_t count = static_cast<std::size_t>(std::popcount(mask));
  if (count == 1) {  // the most common word of sparse scenes: plain stores, no vector set-up
    c.t[n] = t;
    c.x[n] = static_cast<std::uint16_t>(x_base + static_cast<std::uint32_t>(std::countr_zero(mask)));
    c.y[n] = static_cast<std::uint16_t>(header & 0x7FF);
    c.p[n] = static_cast<std::uint8_t>(header >> 28);
    return n + 1;
  }
  const __m256i y = _mm256_set1_epi16(static_cast<short>(header & 0x7FF));
  for (std::size_t k = 0; k < count; k += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.y + n + k), y);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.p + n), _mm256_set1_epi8(static_cast<char>(header >> 28)));
  const __m256i tv = _mm256_set1_epi64x(t);
  for (std::size_t k = 0; k < count; k += 4) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.t + n + k), tv);
  std::size_t at = n;
  const std::uint32_t first_byte = static_cast<std::uint32_t>(std::countr_zero(mask)) / 8;  // skip empty bytes
  for (std::uint32_t m = mask >> (8 * first_byte), byte = first_byte; m != 0; m >>= 8, ++byte) {
    const std::uint32_t bits = m & 0xFF;
    const __m128i positions = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kBitPositions[bits].data()));
    const __m128i x = _mm_add_epi16(_mm_set1_epi16(static_cast<short>(x_base + 8 * byte)), positions);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c.x + at), x);
    at += static_cast<std::size_t>(std::popcount(bits));
  }
  return n + count;
}

// Four consecutive words' header and mask halves, as 32-bit lanes.
struct FourWords {
  __m128i header, mask;
};

// Four words that are all CD words whose 32 columns lie inside the sensor (x base + 32 <= width,
// y < height): the scalar loop would write all their events. False for anything else (a
// TIME_HIGH, another type, a word near the right edge), which the word-at-a-time path takes.
EVLIB_EVT21_AVX2 inline bool four_cd_words(const std::uint8_t* bytes, bool legacy, std::uint32_t width, std::uint32_t height,
                                     FourWords& w) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
  const __m256i split = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
  const __m128i low = _mm256_castsi256_si128(split), high = _mm256_extracti128_si256(split, 1);
  w.header = legacy ? low : high;
  w.mask = legacy ? high : low;
  const __m128i type = _mm_srli_epi32(w.header, 28);
  const __m128i y = _mm_and_si128(w.header, _mm_set1_epi32(0x7FF));
  const __m128i x_base = _mm_and_si128(_mm_srli_epi32(w.header, 11), _mm_set1_epi32(0x7FF));
  // Signed compares: every lane is below 2^12, and width - 32 may be negative (then none fits).
  const __m128i not_cd = _mm_cmpgt_epi32(type, _mm_set1_epi32(1));
  const __m128i y_out = _mm_cmpgt_epi32(y, _mm_set1_epi32(static_cast<int>(height) - 1));
  const __m128i x_out = _mm_cmpgt_epi32(x_base, _mm_set1_epi32(static_cast<int>(width) - 32));
  return _mm_testz_si128(_mm_or_si128(not_cd, _mm_or_si128(y_out, x_out)), _mm_set1_epi32(-1)) != 0;
}

// Four CD words' events from slot n (4 * kEvt21WordRoom slots at most). When each word holds
// one event (sparse scenes), all four are written with one store per column: a single set
// bit's number is the exponent of its value as a float.
EVLIB_EVT21_AVX2 inline std::size_t emit_four(const FourWords& w, std::int64_t time_base, const Columns& c, std::size_t n) {
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(w.header, 22), _mm_set1_epi32(63));
  const __m256i t = _mm256_add_epi64(_mm256_set1_epi64x(time_base), _mm256_cvtepu32_epi64(lsb));
  const __m128i one_bit = _mm_andnot_si128(_mm_cmpeq_epi32(w.mask, _mm_setzero_si128()),
                                           _mm_cmpeq_epi32(_mm_and_si128(w.mask, _mm_sub_epi32(w.mask, _mm_set1_epi32(1))),
                                                           _mm_setzero_si128()));
  if (_mm_movemask_ps(_mm_castsi128_ps(one_bit)) == 0xF) {
    const __m128i exponent = _mm_and_si128(_mm_srli_epi32(_mm_castps_si128(_mm_cvtepi32_ps(w.mask)), 23), _mm_set1_epi32(0xFF));
    const __m128i bit = _mm_sub_epi32(exponent, _mm_set1_epi32(127));
    const __m128i x = _mm_add_epi32(_mm_and_si128(_mm_srli_epi32(w.header, 11), _mm_set1_epi32(0x7FF)), bit);
    const __m128i y = _mm_and_si128(w.header, _mm_set1_epi32(0x7FF));
    const __m128i x_y = _mm_packus_epi32(x, y);  // x in 16-bit lanes 0-3, y in 4-7
    _mm_storel_epi64(reinterpret_cast<__m128i*>(c.x + n), x_y);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(c.y + n), _mm_unpackhi_epi64(x_y, x_y));
    const __m128i p16 = _mm_packus_epi32(_mm_srli_epi32(w.header, 28), _mm_setzero_si128());
    const int p = _mm_cvtsi128_si32(_mm_packus_epi16(p16, _mm_setzero_si128()));
    std::memcpy(c.p + n, &p, 4);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.t + n), t);
    return n + 4;
  }
  alignas(16) std::uint32_t headers[4], masks[4];
  alignas(32) std::int64_t times[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(headers), w.header);
  _mm_store_si128(reinterpret_cast<__m128i*>(masks), w.mask);
  _mm256_store_si256(reinterpret_cast<__m256i*>(times), t);
  for (unsigned k = 0; k < 4; ++k) n = emit_word(headers[k], masks[k], times[k], c, n);
  return n;
}

EVLIB_EVT21_AVX2 std::size_t blocks_avx2(const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                                   std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                   std::uint32_t height) {
  // The columns in restrict locals: stores through them (the uint8_t one may alias anything)
  // then force no reloads of the state.
  const Columns c{out.t, out.x, out.y, out.p};
  std::size_t i = 0, n = out.n;
  std::uint32_t high = th;
  for (;;) {
    FourWords four;
    if (words - i >= 4 && capacity - n >= 4 * kEvt21WordRoom + 8 && four_cd_words(bytes + 8 * i, legacy, width, height, four)) {
      n = emit_four(four, epoch + (static_cast<std::int64_t>(high) << 6), c, n);
      i += 4;
      continue;
    }
    // Something unusual among the next four words, or the last words: one word as the scalar
    // loop would take it, at most.
    if (i == words || capacity - n < kEvt21WordRoom) break;
    const Word w = load_word(bytes + 8 * i, legacy);
    const Step step = classify(w, high, width, height);
    if (step == Step::kStop) break;
    ++i;
    if (step == Step::kEvents) n = emit_word(w.header, w.mask, epoch + (static_cast<std::int64_t>(high) << 6) + ((w.header >> 22) & 63), c, n);
  }
  th = high;
  out.n = n;
  return i;
}

}  // namespace

std::size_t evt21_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                         std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                         std::uint32_t height, const PushedFilter* filter) {
  switch (isa) {
    case BlockIsa::kAvx512: return blocks_avx512(bytes, words, legacy, th, epoch, out, capacity, width, height, filter);
    case BlockIsa::kAvx2:
      return filter == nullptr ? blocks_avx2(bytes, words, legacy, th, epoch, out, capacity, width, height) : 0;
    default: return 0;
  }
}

std::size_t evt21_expand_stateless(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, bool legacy,
                                   BlockColumns& out) {
  return isa == BlockIsa::kAvx512 ? expand_avx512(bytes, words, legacy, out) : 0;
}

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t evt21_blocks(BlockIsa, const std::uint8_t*, std::size_t, bool, std::uint32_t&, std::int64_t, BlockColumns&,
                         std::size_t, std::uint32_t, std::uint32_t, const PushedFilter*) {
  return 0;
}
std::size_t evt21_expand_stateless(BlockIsa, const std::uint8_t*, std::size_t, bool, BlockColumns&) { return 0; }
}  // namespace evlib::detail

#endif
