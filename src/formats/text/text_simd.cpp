// Text data lines 64 bytes at a time (see text_simd.hpp for the form taken).
//
// The scalar parser walks every line byte by byte through its fields; most of its instructions go
// to finding where each digit run ends and what follows it. Here one vector pass over 64 bytes
// (about three lines) gives bit masks (other bytes, separators, dots, '\n', '\r'); the shape
// checks common to every line are a few mask operations for the whole block, and per line the
// newline's position is its length and the separator bits are its field bounds. What is left per
// field is one 8-byte load, and the four digit runs of a line (x, y, the time's integer and
// fraction digits) are converted together (AVX2) or by SWAR (SSE2).
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

// Bit i describes byte i of the 64 at a line's start.
struct BlockMasks {
  std::uint64_t other;  // neither a digit, nor a separator, nor '.'
  std::uint64_t sep;    // a separator of this layout
  std::uint64_t dot;    // '.'
  std::uint64_t nl;     // '\n'
  std::uint64_t cr;     // '\r'
};

template <bool Comma>
struct Sse2Masks {
  [[gnu::always_inline]] static void add(const char* p, unsigned shift, BlockMasks& m) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);  // unsigned d <= 9
    __m128i sep;
    if constexpr (Comma) {
      sep = _mm_cmpeq_epi8(v, _mm_set1_epi8(','));
    } else {
      sep = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
    }
    const __m128i dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    const __m128i known = _mm_or_si128(_mm_or_si128(digit, sep), dot);
    const auto bits = [shift](__m128i x) [[gnu::always_inline]] {
      return static_cast<std::uint64_t>(_mm_movemask_epi8(x)) << shift;
    };
    m.other |= bits(known) ^ (std::uint64_t{0xFFFF} << shift);
    m.sep |= bits(sep);
    m.dot |= bits(dot);
    m.nl |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    m.cr |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
  }
  [[gnu::always_inline]] static BlockMasks at(const char* p) {
    BlockMasks m{};
    for (unsigned i = 0; i < 4; ++i) add(p + 16 * i, 16 * i, m);
    return m;
  }
};

template <bool Comma>
struct Avx2Masks {
  EVLIB_TEXT_AVX2 static void add(const char* p, unsigned shift, BlockMasks& m) {
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
    const auto bits = [shift](__m256i x) EVLIB_TEXT_AVX2 {
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(x))) << shift;
    };
    m.other |= bits(known) ^ (std::uint64_t{0xFFFFFFFF} << shift);
    m.sep |= bits(sep);
    m.dot |= bits(dot);
    m.nl |= bits(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')));
    m.cr |= bits(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\r')));
  }
  EVLIB_TEXT_AVX2 static BlockMasks at(const char* p) {
    BlockMasks m{};
    add(p, 0, m);
    add(p + 32, 32, m);
    return m;
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
  EVLIB_TEXT_AVX2 static void of(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
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

// Bits [begin, end) of a 64-bit mask (end <= 63; a missing separator counts as bit 64, so a line
// that is not taken may ask for more, hence the saturation).
[[gnu::always_inline]] inline std::uint64_t bit_range(unsigned begin, unsigned end) {
  const auto below = [](unsigned k) { return k >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << k) - 1; };
  return below(end) & ~below(begin);
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

// The loop over blocks of 64 bytes and the lines they hold, for one column order and separator;
// Masks classifies the bytes, Values converts the digit runs.
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
    const BlockMasks m = Masks::at(p);
    // The shape checks that do not depend on the column order, for the whole block at once: a
    // '\r' is only allowed just before '\n'; no other byte than digits, separators and '.'; no two
    // marks (separators, dots, line ends) side by side and none first (so no field or line is
    // empty, no line starts or ends with a blank, the '.' is between digits).
    const std::uint64_t crlf = m.cr & (m.nl >> 1);
    const std::uint64_t ends = m.nl | crlf;
    const std::uint64_t marks = m.sep | m.dot | ends;
    const std::uint64_t bad = (m.other & ~ends) | (marks & ((marks << 1) | 1) & ~(crlf << 1));
    // The lines to take: those whose '\n' comes before the first bad byte.
    std::uint64_t nls = m.nl & (bad == 0 ? ~std::uint64_t{0} : (bad & (0 - bad)) - 1);
    if (nls == 0) break;
    unsigned s = 0;  // the current line's start in the block
    do {
      const unsigned e = static_cast<unsigned>(std::countr_zero(nls));  // its '\n'
      const unsigned n = e - s - static_cast<unsigned>((crlf >> (e - 1)) & 1);  // bytes before "\n" or "\r\n"
      const char* const q = p + s;
      const std::uint64_t body = (std::uint64_t{1} << n) - 1;
      const std::uint64_t seps = (m.sep >> s) & body, dots = (m.dot >> s) & body;
      const unsigned s1 = static_cast<unsigned>(std::countr_zero(seps));
      const std::uint64_t r1 = seps & (seps - 1);
      const unsigned s2 = static_cast<unsigned>(std::countr_zero(r1));
      const std::uint64_t r2 = r1 & (r1 - 1);
      const unsigned s3 = static_cast<unsigned>(std::countr_zero(r2));
      const unsigned tb = Xypt ? s3 + 1 : 0, te = Xypt ? n : s1;
      // Exactly three separators; at most one '.', inside the time field; a one-digit polarity.
      // (Three bits: a third one and none after it; POPCNT is not in the SSE2 baseline.)
      const bool usual = r2 != 0 && (r2 & (r2 - 1)) == 0 && (dots & (dots - 1)) == 0 && (dots & ~bit_range(tb, te)) == 0 &&
                         (Xypt ? s3 - s2 : n - s3) == 2;
      const unsigned xb = Xypt ? 0 : s1 + 1, xe = Xypt ? s1 : s2;
      const unsigned yb = Xypt ? s1 + 1 : s2 + 1, ye = Xypt ? s2 : s3;
      // x and y of more than 5 digits: not below 65536, or leading zeros (the scalar parser decides).
      if (!usual || xe - xb > 5 || ye - yb > 5) goto stop;
      // The time: integer digits [tb, int_end), fraction digits after the '.' up to te.
      const unsigned int_end = dots != 0 ? static_cast<unsigned>(std::countr_zero(dots)) : te;
      const unsigned int_digits = int_end - tb;
      if (int_digits > 16) goto stop;
      const unsigned low_digits = int_digits < 8 ? int_digits : 8;  // the last (up to) 8 integer digits
      const unsigned frac_digits = dots != 0 ? te - int_end - 1 : 0;
      const unsigned take = frac_digits < ts.keep + 1 ? frac_digits : ts.keep + 1;  // kept, and the rounding one
      std::uint64_t v[4];
      Values::of(top_digits(q + xb, xe - xb), top_digits(q + yb, ye - yb), top_digits(q + int_end - low_digits, low_digits),
                 take != 0 ? top_digits(q + int_end + 1, take) : 0, v);
      if (v[0] >= width || v[1] >= height) goto stop;  // the scalar loop counts it
      std::uint64_t whole = v[2];
      if (int_digits > 8) [[unlikely]] {
        whole += word_value(top_digits(q + tb, int_digits - 8)) * kTextPow10[8];
      }
      std::uint64_t us;
      if (ts.exponent < 0) {
        // ns: the integer part decides the rounding on its own (as in the scalar parser).
        us = whole / ts.scale + (whole % ts.scale >= ts.scale / 2 ? 1 : 0);
      } else {
        if (whole >= ts.whole_limit) goto stop;  // the scalar parser reports it
        // The fraction digits that are whole µs, and the next one rounds (ties away from zero).
        const std::uint64_t frac = take == ts.keep + 1 ? v[3] / 10 + (v[3] % 10 >= 5 ? 1 : 0)
                                                       : v[3] * kTextPow10[ts.keep - take];
        us = whole * ts.scale + frac;
      }
      out_t[n_out] = static_cast<std::int64_t>(us);
      out_x[n_out] = static_cast<std::uint16_t>(v[0]);
      out_y[n_out] = static_cast<std::uint16_t>(v[1]);
      out_p[n_out] = q[Xypt ? s2 + 1 : s3 + 1] != '0' ? 1 : 0;
      ++n_out;
      s = e + 1;
      nls &= nls - 1;
    } while (nls != 0 && n_out < cap);
    p += s;
    continue;
  stop:
    p += s;
    break;
  }
  sink.n = n_out;
  return p;
}

template <bool Comma, bool Xypt>
const char* sse2_lines(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
  return fast_lines<Sse2Masks<Comma>, ScalarValues, Xypt>(p, end, layout, sink);
}

// flatten: the AVX2 pieces above carry the target attribute without always_inline (a build for
// the baseline ISA cannot force them into the generic fast_lines); here every call is inlined.
template <bool Comma, bool Xypt>
__attribute__((flatten)) EVLIB_TEXT_AVX2 const char* avx2_lines(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
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
