// Text data lines 32 bytes at a time (see text_simd.hpp for the form taken).
//
// The scalar parser walks every line byte by byte through its fields; most of its instructions go
// to finding where each digit run ends and what follows it. Here one vector pass over the 32 bytes
// at a line's start gives four bit masks (digits-or-separator-or-dot, separators, dots, newlines),
// and the line's shape is checked on the masks alone: the newline's position is the line's length,
// the three separator bits are the field bounds, one test rejects everything unusual. What is left
// per field is one 8-byte load and a SWAR conversion of a digit run already known to be digits.
#include "formats/text/text_simd.hpp"

#include <bit>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "formats/prophesee/block_decoders.hpp"  // cpu_block_isa()

#define EVLIB_TEXT_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

namespace evlib::detail {

namespace {

// Bit i describes byte i of the 32 at a line's start.
struct LineMasks {
  std::uint32_t other;  // neither a digit, nor a separator, nor '.'
  std::uint32_t sep;    // a separator of this layout
  std::uint32_t dot;    // '.'
  std::uint32_t nl;     // '\n'
};

template <bool Comma>
[[gnu::always_inline]] inline __m128i separators(__m128i v) {
  if constexpr (Comma) {
    return _mm_cmpeq_epi8(v, _mm_set1_epi8(','));
  } else {
    return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
  }
}

template <bool Comma>
struct Sse2Masks {
  [[gnu::always_inline]] static LineMasks half(const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);  // unsigned d <= 9
    const __m128i sep = separators<Comma>(v);
    const __m128i dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    const __m128i known = _mm_or_si128(_mm_or_si128(digit, sep), dot);
    return {~static_cast<std::uint32_t>(_mm_movemask_epi8(known)) & 0xFFFFu,
            static_cast<std::uint32_t>(_mm_movemask_epi8(sep)), static_cast<std::uint32_t>(_mm_movemask_epi8(dot)),
            static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))))};
  }
  [[gnu::always_inline]] static LineMasks at(const char* p) {
    const LineMasks lo = half(p), hi = half(p + 16);
    return {lo.other | hi.other << 16, lo.sep | hi.sep << 16, lo.dot | hi.dot << 16, lo.nl | hi.nl << 16};
  }
};

template <bool Comma>
struct Avx2Masks {
  [[gnu::always_inline]] EVLIB_TEXT_AVX2 static LineMasks at(const char* p) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
    const __m256i digit = _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d);
    __m256i sep;
    if constexpr (Comma) {
      sep = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(','));
    } else {
      sep = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')), _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')));
    }
    const __m256i dot = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('.'));
    const __m256i known = _mm256_or_si256(_mm256_or_si256(digit, sep), dot);
    return {~static_cast<std::uint32_t>(_mm256_movemask_epi8(known)), static_cast<std::uint32_t>(_mm256_movemask_epi8(sep)),
            static_cast<std::uint32_t>(_mm256_movemask_epi8(dot)),
            static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'))))};
  }
};

// The n (1..8) digits at p as the top n bytes of a word, zeros below: the form in which eight
// digits are converted at once (bytes are ASCII digits; their low nibbles are the values).
[[gnu::always_inline]] inline std::uint64_t top_digits(const char* p, unsigned n) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w << (8 * (8 - n));
}

// Value of a word of top_digits(): pairs, groups of four, then the whole (SWAR).
[[gnu::always_inline]] inline std::uint64_t word_value(std::uint64_t w) {
  std::uint64_t v = ((w & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
  v = ((v & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
  return ((v & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

// Four words of top_digits() converted: SWAR one by one (SSE2 has no byte multiply-add) ...
struct ScalarValues {
  [[gnu::always_inline]] static void of(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
                                        std::uint64_t (&v)[4]) {
    v[0] = word_value(w0), v[1] = word_value(w1), v[2] = word_value(w2), v[3] = word_value(w3);
  }
};

// ... or all four at once in one AVX2 register: digit pairs (maddubs), groups of four (madd),
// then high group * 10^4 + low group in each 64-bit lane. Built and read lane by lane: a vector
// load of four scalar stores would wait for them (no store forwarding).
struct Avx2Values {
  [[gnu::always_inline]] EVLIB_TEXT_AVX2 static void of(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
                                                        std::uint64_t w3, std::uint64_t (&v)[4]) {
    const __m256i words = _mm256_set_epi64x(static_cast<long long>(w3), static_cast<long long>(w2),
                                            static_cast<long long>(w1), static_cast<long long>(w0));
    __m256i d = _mm256_and_si256(words, _mm256_set1_epi8(0x0F));
    d = _mm256_maddubs_epi16(d, _mm256_set1_epi16(0x010A));   // byte pairs (a, b): 10a + b
    d = _mm256_madd_epi16(d, _mm256_set1_epi32(0x00010064));  // word pairs (a, b): 100a + b
    d = _mm256_add_epi64(_mm256_mul_epu32(d, _mm256_set1_epi64x(10000)), _mm256_srli_epi64(d, 32));
    const __m128i lo = _mm256_castsi256_si128(d), hi = _mm256_extracti128_si256(d, 1);
    v[0] = static_cast<std::uint64_t>(_mm_cvtsi128_si64(lo));
    v[1] = static_cast<std::uint64_t>(_mm_extract_epi64(lo, 1));
    v[2] = static_cast<std::uint64_t>(_mm_cvtsi128_si64(hi));
    v[3] = static_cast<std::uint64_t>(_mm_extract_epi64(hi, 1));
  }
};

// Bits [begin, end) of a 32-bit mask; begin and end may reach 33 on a line that is not taken (a
// missing separator counts as bit 32), hence the 64-bit shifts.
[[gnu::always_inline]] inline std::uint32_t bit_range(unsigned begin, unsigned end) {
  return static_cast<std::uint32_t>(((std::uint64_t{1} << end) - 1) & ~((std::uint64_t{1} << begin) - 1));
}

// Constants of the time conversion, fixed per file.
struct TimeScale {
  int exponent;
  unsigned keep;           // fraction digits that are whole µs (exponent >= 0)
  std::uint64_t scale;     // 10^exponent (exponent >= 0) or 10^-exponent (ns)
  std::uint64_t whole_limit;  // the scalar parser rejects an integer part at or above this

  explicit TimeScale(int e)
      : exponent(e), keep(e > 0 ? static_cast<unsigned>(e) : 0), scale(kTextPow10[e >= 0 ? e : -e]),
        whole_limit(e >= 0 ? static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale
                           : ~std::uint64_t{0}) {}
};

// The loop over lines, for one column order and separator; Masks classifies the 32 bytes, Values
// converts the digit runs.
template <class Masks, class Values, bool Xypt>
[[gnu::always_inline]] inline const char* fast_lines(const char* p, const char* end, const TextFastLayout& layout,
                                                     ColumnSink& sink) {
  const TimeScale ts(layout.time_exponent);
  const std::uint32_t width = layout.width, height = layout.height;
  // The columns in locals: stores through the sink's pointers could otherwise alias the sink.
  std::int64_t* const out_t = sink.t;
  std::uint16_t* const out_x = sink.x;
  std::uint16_t* const out_y = sink.y;
  std::uint8_t* const out_p = sink.p;
  std::size_t n_out = sink.n;
  const std::size_t cap = sink.cap;
  while (end - p >= kTextFastReach && n_out < cap) {
    const LineMasks m = Masks::at(p);
    if (m.nl == 0) break;  // longer than 31 bytes
    const unsigned length = static_cast<unsigned>(std::countr_zero(m.nl));
    // "\r\n" ends a line too (p[0] is '\n' itself when the line is empty).
    const unsigned n = length - (p[length - (length != 0)] == '\r' ? 1u : 0u);
    const std::uint32_t body = (1u << n) - 1;
    const std::uint32_t seps = m.sep & body, dots = m.dot & body;
    const std::uint32_t marks = seps | dots;  // the non-digits of an accepted line
    // Field bounds: field k is [start k, end k) with starts after the separators.
    const unsigned s1 = static_cast<unsigned>(std::countr_zero(seps));
    const std::uint32_t r1 = seps & (seps - 1);
    const unsigned s2 = static_cast<unsigned>(std::countr_zero(r1));
    const std::uint32_t r2 = r1 & (r1 - 1);
    const unsigned s3 = static_cast<unsigned>(std::countr_zero(r2));
    const unsigned tb = Xypt ? s3 + 1 : 0, te = Xypt ? n : s1;
    // Taken: only digits, separators and dots before the line end; exactly three separators; no
    // two marks side by side and none first or last (so no field is empty and the time's '.' is
    // between digits); at most one '.', inside the time field; a one-digit polarity.
    const std::uint32_t top = body ^ (body >> 1);  // the last byte's bit (0 for an empty line)
    const bool usual = (m.other & body) == 0 && std::popcount(seps) == 3 &&
                       (marks & ((marks << 1) | 1u | top)) == 0 && (dots & (dots - 1)) == 0 &&
                       (dots & ~bit_range(tb, te)) == 0 && (Xypt ? s3 - s2 : n - s3) == 2;
    if (!usual) break;
    const unsigned xb = Xypt ? 0 : s1 + 1, xe = Xypt ? s1 : s2;
    const unsigned yb = Xypt ? s1 + 1 : s2 + 1, ye = Xypt ? s2 : s3;
    const unsigned pb = Xypt ? s2 + 1 : s3 + 1;
    // x and y of more than 5 digits: not below 65536, or leading zeros (the scalar parser decides).
    if (xe - xb > 5 || ye - yb > 5) break;
    // The time: integer digits [tb, int_end), fraction digits after the '.' up to te.
    const unsigned int_end = dots != 0 ? static_cast<unsigned>(std::countr_zero(dots)) : te;
    const unsigned int_digits = int_end - tb;
    if (int_digits > 16) break;
    const unsigned low_digits = int_digits < 8 ? int_digits : 8;  // the last (up to) 8 integer digits
    const unsigned frac_digits = dots != 0 ? te - int_end - 1 : 0;
    const unsigned take = frac_digits < ts.keep + 1 ? frac_digits : ts.keep + 1;  // kept, and the rounding one
    std::uint64_t v[4];
    Values::of(top_digits(p + xb, xe - xb), top_digits(p + yb, ye - yb), top_digits(p + int_end - low_digits, low_digits),
               take != 0 ? top_digits(p + int_end + 1, take) : 0, v);
    if (v[0] >= width || v[1] >= height) break;  // the scalar loop counts it
    std::uint64_t whole = v[2];
    if (int_digits > 8) [[unlikely]] {
      whole += word_value(top_digits(p + tb, int_digits - 8)) * kTextPow10[8];
    }
    std::uint64_t us;
    if (ts.exponent < 0) {
      // ns: the integer part decides the rounding on its own (as in the scalar parser).
      us = whole / ts.scale + (whole % ts.scale >= ts.scale / 2 ? 1 : 0);
    } else {
      if (whole >= ts.whole_limit) break;  // the scalar parser reports it
      // The fraction digits that are whole µs, and the next one rounds (ties away from zero).
      const std::uint64_t frac = take == ts.keep + 1 ? v[3] / 10 + (v[3] % 10 >= 5 ? 1 : 0)
                                                     : v[3] * kTextPow10[ts.keep - take];
      us = whole * ts.scale + frac;
    }
    out_t[n_out] = static_cast<std::int64_t>(us);
    out_x[n_out] = static_cast<std::uint16_t>(v[0]);
    out_y[n_out] = static_cast<std::uint16_t>(v[1]);
    out_p[n_out] = p[pb] != '0' ? 1 : 0;
    ++n_out;
    p += length + 1;
  }
  sink.n = n_out;
  return p;
}

template <bool Comma, bool Xypt>
const char* sse2_lines(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
  return fast_lines<Sse2Masks<Comma>, ScalarValues, Xypt>(p, end, layout, sink);
}

template <bool Comma, bool Xypt>
EVLIB_TEXT_AVX2 const char* avx2_lines(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
  return fast_lines<Avx2Masks<Comma>, Avx2Values, Xypt>(p, end, layout, sink);
}

}  // namespace

TextLinePath best_text_line_path() {
  return cpu_block_isa() >= BlockIsa::kAvx2 ? TextLinePath::kAvx2 : TextLinePath::kSse2;
}

TextLinePath usable_text_line_path(TextLinePath wanted) {
  const TextLinePath best = best_text_line_path();
  return wanted == TextLinePath::kBest || wanted > best ? best : wanted;
}

const char* text_fast_lines(TextLinePath path, const char* p, const char* end, const TextFastLayout& layout,
                            ColumnSink& sink) {
  const unsigned variant = (layout.comma ? 2u : 0u) | (layout.xypt ? 1u : 0u);
  if (path == TextLinePath::kAvx2) {
    switch (variant) {
      case 0: return avx2_lines<false, false>(p, end, layout, sink);
      case 1: return avx2_lines<false, true>(p, end, layout, sink);
      case 2: return avx2_lines<true, false>(p, end, layout, sink);
      default: return avx2_lines<true, true>(p, end, layout, sink);
    }
  }
  if (path == TextLinePath::kSse2) {
    switch (variant) {
      case 0: return sse2_lines<false, false>(p, end, layout, sink);
      case 1: return sse2_lines<false, true>(p, end, layout, sink);
      case 2: return sse2_lines<true, false>(p, end, layout, sink);
      default: return sse2_lines<true, true>(p, end, layout, sink);
    }
  }
  return p;
}

}  // namespace evlib::detail

#else

namespace evlib::detail {
TextLinePath best_text_line_path() { return TextLinePath::kScalar; }
TextLinePath usable_text_line_path(TextLinePath) { return TextLinePath::kScalar; }
const char* text_fast_lines(TextLinePath, const char* p, const char*, const TextFastLayout&, ColumnSink&) { return p; }
}  // namespace evlib::detail

#endif
