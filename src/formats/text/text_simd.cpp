// Text data lines 64 bytes at a time (see text_simd.hpp for the form taken).
//
// The scalar parser walks every line byte by byte through its fields; most of its instructions go
// to finding where each digit run ends and what follows it. Here one vector pass over 64 bytes
// (about three lines) gives bit masks (other bytes, separators, dots, '\n'); the shape checks
// common to every line are a few mask operations for the whole block. The lines then take the
// block's separators, dots and line ends in order, lowest bit first, so a line's field bounds are
// a few bit scans with no shifts by its start. With AVX2 the 16 bytes at the time and the 16 at x
// go into one register, a byte shuffle picked from a table by the run lengths puts the digits in
// place, and the time (integer and kept fraction digits as one number), x and y are converted
// together; SSE2 has no byte shuffle and converts the runs by SWAR. The time unit is a template
// argument, so its fixed-point constants fold into the loop.
#include "formats/text/text_simd.hpp"

#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "formats/prophesee/block_decoders.hpp"  // cpu_block_isa()

#define EVLIB_TEXT_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

namespace evlib::detail {

namespace {

// Bit i describes byte i of the 64 at a line's start.
struct BlockMasks {
  std::uint64_t other;  // neither a digit, nor a separator, nor '.', nor '\n' (so '\r' is one)
  std::uint64_t sep;    // a separator of this layout
  std::uint64_t dot;    // '.'
  std::uint64_t nl;     // '\n'
};

template <bool Comma>
struct Sse2Masks {
  static constexpr bool kPopcnt = false;  // not in the x86-64 baseline
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
    const __m128i nl = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
    const __m128i known = _mm_or_si128(_mm_or_si128(digit, sep), _mm_or_si128(dot, nl));
    const auto bits = [shift](__m128i x) [[gnu::always_inline]] {
      return static_cast<std::uint64_t>(_mm_movemask_epi8(x)) << shift;
    };
    m.other |= bits(known) ^ (std::uint64_t{0xFFFF} << shift);
    m.sep |= bits(sep);
    m.dot |= bits(dot);
    m.nl |= bits(nl);
  }
  [[gnu::always_inline]] BlockMasks at(const char* p) const {
    BlockMasks m{};
    for (unsigned i = 0; i < 4; ++i) add(p + 16 * i, 16 * i, m);
    return m;
  }
  // The '\r' bytes, asked for only when the block holds other bytes.
  [[gnu::always_inline]] static std::uint64_t cr(const char* p) {
    std::uint64_t bits = 0;
    for (unsigned i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      bits |= static_cast<std::uint64_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')))) << (16 * i);
    }
    return bits;
  }
};

// Vector constants built once per call and hidden from the optimizer, so that they stay in
// registers across lines and blocks (GCC rebuilt them in every block otherwise).
template <class V>
[[gnu::always_inline]] EVLIB_TEXT_AVX2 inline void keep_in_register(V& v) {
  asm("" : "+x"(v));
}
template <class... V>
[[gnu::always_inline]] EVLIB_TEXT_AVX2 inline void keep_in_registers(V&... v) {
  (keep_in_register(v), ...);
}

template <bool Comma>
class Avx2Masks {
 public:
  static constexpr bool kPopcnt = true;
  EVLIB_TEXT_AVX2 Avx2Masks()
      : zero_(_mm256_set1_epi8('0')), nine_(_mm256_set1_epi8(9)), sep_a_(_mm256_set1_epi8(Comma ? ',' : ' ')),
        sep_b_(_mm256_set1_epi8(Comma ? ',' : '\t')), dot_(_mm256_set1_epi8('.')), nl_(_mm256_set1_epi8('\n')) {
    keep_in_registers(zero_, nine_, sep_a_, sep_b_, dot_, nl_);
  }

  EVLIB_TEXT_AVX2 BlockMasks at(const char* p) const {
    BlockMasks m{};
    add(p, 0, m);
    add(p + 32, 32, m);
    return m;
  }
  // The '\r' bytes, asked for only when the block holds other bytes.
  EVLIB_TEXT_AVX2 static std::uint64_t cr(const char* p) {
    const auto bits = [](const char* a) EVLIB_TEXT_AVX2 {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
      return static_cast<std::uint64_t>(
          static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\r')))));
    };
    return bits(p) | bits(p + 32) << 32;
  }

 private:
  EVLIB_TEXT_AVX2 void add(const char* p, unsigned shift, BlockMasks& m) const {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i d = _mm256_sub_epi8(v, zero_);
    const __m256i digit = _mm256_cmpeq_epi8(_mm256_min_epu8(d, nine_), d);  // unsigned d <= 9
    const __m256i sep = Comma ? _mm256_cmpeq_epi8(v, sep_a_)
                              : _mm256_or_si256(_mm256_cmpeq_epi8(v, sep_a_), _mm256_cmpeq_epi8(v, sep_b_));
    const __m256i dot = _mm256_cmpeq_epi8(v, dot_);
    const __m256i nl = _mm256_cmpeq_epi8(v, nl_);
    const __m256i known = _mm256_or_si256(_mm256_or_si256(digit, sep), _mm256_or_si256(dot, nl));
    const auto bits = [shift](__m256i x) EVLIB_TEXT_AVX2 {
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(x))) << shift;
    };
    m.other |= bits(known) ^ (std::uint64_t{0xFFFFFFFF} << shift);
    m.sep |= bits(sep);
    m.dot |= bits(dot);
    m.nl |= bits(nl);
  }

  __m256i zero_, nine_, sep_a_, sep_b_, dot_, nl_;
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

// Constants of the time conversion, fixed per file.
struct TimeScale {
  bool ns;                 // exponent < 0: the integer part alone, divided and rounded
  unsigned keep;           // fraction digits that are whole µs (0 for ns)
  unsigned int_limit;      // most integer digits taken, so that the time's digits (integer ones and
                           // `keep` fraction ones) and its bytes (with the '.') fit 16
  std::uint64_t divisor;   // ns per µs (ns only)

  constexpr explicit TimeScale(int e)
      : ns(e < 0), keep(e > 0 ? static_cast<unsigned>(e) : 0), int_limit(e > 0 ? 15 - static_cast<unsigned>(e) : 16),
        divisor(kTextPow10[e < 0 ? -e : 0]) {}
};

// Where a line's digit runs are. The time's value is its integer digits followed by its first
// fraction digits (those in `frac_bytes`: the '.' and up to `keep` digits, 0 without a '.'),
// padded with zeros to `keep` of them: whole * 10^keep + fraction, the scalar parser's fixed
// point. y starts one separator after x.
struct LineDigits {
  const char* time;
  unsigned int_digits, frac_bytes;
  const char* xy;
  unsigned x_digits, y_digits;  // 1..7
};

// Where a line's values go: the time's digit value (see LineDigits), x and y.
struct LineOut {
  std::int64_t* t;
  std::uint16_t *x, *y;
};

// The three runs converted by SWAR, one 8-digit word at a time (SSE2 has no byte shuffle) ...
class SwarValues {
 public:
  SwarValues(std::uint32_t width, std::uint32_t height) : width_(width), height_(height) {}

  // Writes the line's values; false when x or y lies beyond the sensor (the scalar loop counts it).
  [[gnu::always_inline]] bool put(const LineDigits& l, const TimeScale& ts, const LineOut& out) const {
    std::uint64_t whole;
    if (l.int_digits <= 8) [[likely]] {
      whole = word_value(top_digits(l.time, l.int_digits));
    } else {
      whole = word_value(top_digits(l.time, l.int_digits - 8)) * kTextPow10[8] +
              word_value(top_digits(l.time + l.int_digits - 8, 8));
    }
    const unsigned frac_digits = l.frac_bytes == 0 ? 0 : l.frac_bytes - 1;
    const std::uint64_t frac = frac_digits == 0 ? 0 : word_value(top_digits(l.time + l.int_digits + 1, frac_digits));
    const auto x = static_cast<std::uint32_t>(word_value(top_digits(l.xy, l.x_digits)));
    const auto y = static_cast<std::uint32_t>(word_value(top_digits(l.xy + l.x_digits + 1, l.y_digits)));
    *out.t = static_cast<std::int64_t>(whole * kTextPow10[ts.keep] + frac * kTextPow10[ts.keep - frac_digits]);
    *out.x = static_cast<std::uint16_t>(x);
    *out.y = static_cast<std::uint16_t>(y);
    return x < width_ && y < height_;
  }

 private:
  std::uint32_t width_, height_;
};

// ... or all at once in one AVX2 register: the 16 bytes at the time and the 16 at x, each put in
// its digit order by a byte shuffle chosen by the run lengths (digits right-aligned, zeros
// elsewhere), then converted together. The shuffles are tables, built at compile time.
struct DigitShuffles {
  // [keep / 3][integer digits][fraction bytes]: the time's digits as one 16-digit number.
  std::uint8_t time[3][17][8][16];
  // [x digits][y digits]: x as the 8-digit number of bytes 0..7, y as that of bytes 8..15.
  std::uint8_t xy[8][8][16];
};

constexpr std::uint8_t kZeroByte = 0x80;  // a shuffle index that yields 0

constexpr DigitShuffles make_digit_shuffles() {
  DigitShuffles s{};
  for (unsigned row = 0; row < 3; ++row) {
    const unsigned keep = 3 * row;
    for (unsigned ints = 0; ints <= 16; ++ints) {
      for (unsigned frac_bytes = 0; frac_bytes < 8; ++frac_bytes) {
        const unsigned frac = frac_bytes == 0 ? 0 : frac_bytes - 1;
        const unsigned digits = ints + keep;  // the value's digits, ending at byte 15
        for (unsigned j = 0; j < 16; ++j) {
          const int g = static_cast<int>(j + digits) - 16;  // which of them byte j holds
          std::uint8_t from = kZeroByte;
          if (g >= 0 && static_cast<unsigned>(g) < ints) from = static_cast<std::uint8_t>(g);
          if (g >= 0 && static_cast<unsigned>(g) >= ints && static_cast<unsigned>(g) < ints + frac) {
            from = static_cast<std::uint8_t>(g + 1);  // past the '.'
          }
          s.time[row][ints][frac_bytes][j] = digits <= 16 && frac <= keep ? from : kZeroByte;
        }
      }
    }
  }
  for (unsigned xd = 0; xd < 8; ++xd) {
    for (unsigned yd = 0; yd < 8; ++yd) {
      for (unsigned j = 0; j < 8; ++j) {
        s.xy[xd][yd][j] = j + xd >= 8 ? static_cast<std::uint8_t>(j + xd - 8) : kZeroByte;
        s.xy[xd][yd][8 + j] = j + yd >= 8 ? static_cast<std::uint8_t>(xd + 1 + j + yd - 8) : kZeroByte;
      }
    }
  }
  return s;
}

alignas(64) constexpr DigitShuffles kDigitShuffles = make_digit_shuffles();

class Avx2Values {
 public:
  // The sensor's size, at most 65536: x and y compare as signed 32-bit values.
  EVLIB_TEXT_AVX2 Avx2Values(std::uint32_t width, std::uint32_t height)
      : low_nibble_(_mm256_set1_epi8(0x0F)), tens_(_mm256_set1_epi16(0x010A)), hundreds_(_mm256_set1_epi32(0x00010064)),
        ten_thousands_(_mm256_set1_epi32(0x00012710)),
        size_(_mm256_setr_epi32(0, 0, 0, 0, static_cast<int>(width), static_cast<int>(height), 0, 0)),
        hundred_millions_(_mm_set1_epi64x(100000000)) {
    keep_in_registers(low_nibble_, tens_, hundreds_, ten_thousands_, size_);
    keep_in_register(hundred_millions_);
  }

  // As SwarValues::put.
  EVLIB_TEXT_AVX2 bool put(const LineDigits& l, const TimeScale& ts, const LineOut& out) const {
    const auto load = [](const void* a) EVLIB_TEXT_AVX2 { return _mm_loadu_si128(static_cast<const __m128i*>(a)); };
    const __m256i bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(load(l.time)), load(l.xy), 1);
    const __m256i order = _mm256_inserti128_si256(
        _mm256_castsi128_si256(load(kDigitShuffles.time[ts.keep / 3][l.int_digits][l.frac_bytes])),
        load(kDigitShuffles.xy[l.x_digits][l.y_digits]), 1);
    __m256i d = _mm256_and_si256(_mm256_shuffle_epi8(bytes, order), low_nibble_);
    d = _mm256_maddubs_epi16(d, tens_);      // byte pairs (a, b): 10a + b
    d = _mm256_madd_epi16(d, hundreds_);     // word pairs: 100a + b (below 10^4)
    d = _mm256_packus_epi32(d, d);           // ... as words again
    d = _mm256_madd_epi16(d, ten_thousands_);  // word pairs: 10^4 a + b
    // Low lane: the time's high and low 8 digits (high * 10^8 + low, stored from the register);
    // high lane: x and y.
    const __m128i halves = _mm256_castsi256_si128(d);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out.t),
                     _mm_add_epi64(_mm_mul_epu32(halves, hundred_millions_), _mm_srli_epi64(halves, 32)));
    const __m128i xy = _mm256_extracti128_si256(d, 1);
    *out.x = static_cast<std::uint16_t>(_mm_extract_epi16(xy, 0));
    *out.y = static_cast<std::uint16_t>(_mm_extract_epi16(xy, 2));
    return (_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(size_, d))) & 0x30) == 0x30;
  }

 private:
  __m256i low_nibble_, tens_, hundreds_, ten_thousands_, size_;
  __m128i hundred_millions_;
};

// The lowest set bit's index (64 for none), which is then cleared.
[[gnu::always_inline]] inline unsigned take_lowest(std::uint64_t& bits) {
  const auto i = static_cast<unsigned>(std::countr_zero(bits));
  bits &= bits - 1;
  return i;
}

// Bits [0, k) (k < 64).
[[gnu::always_inline]] inline std::uint64_t low_bits(unsigned k) { return (std::uint64_t{1} << k) - 1; }

// The lowest n set bits of bits.
inline std::uint64_t lowest_bits(std::uint64_t bits, std::size_t n) {
  std::uint64_t kept = 0;
  for (; n != 0 && bits != 0; --n) {
    kept |= bits & (0 - bits);
    bits &= bits - 1;
  }
  return kept;
}

// The loop over blocks of 64 bytes and the lines they hold, for one column order and separator;
// Masks classifies the bytes, Values converts the digit runs.
template <class Masks, class Values, bool Xypt, int Exponent>
[[gnu::always_inline]] inline const char* fast_lines(const char* p, const char* end, const TextFastLayout& layout,
                                                     ColumnSink& sink) {
  // The columns in locals: stores through the sink's pointers could otherwise alias the sink.
  std::int64_t* const out_t = sink.t;
  std::uint16_t* const out_x = sink.x;
  std::uint16_t* const out_y = sink.y;
  std::uint8_t* const out_p = sink.p;
  std::size_t n_out = sink.n;
  const std::size_t cap = sink.cap;
  const Masks classify;
  const Values convert(layout.width, layout.height);
  // The lines of a block whose '\n' are the bits of nls; `line_ends` has the first byte of each
  // line end when some are "\r\n" (else the '\n' is). Moves p past the lines taken; false when a
  // line was not.
  const auto block_lines = [&]<bool Crlf>(const BlockMasks& m, std::uint64_t nls, std::uint64_t line_ends) {
    constexpr TimeScale ts(Exponent);
    // The marks are taken in order, line after line (each line takes its three separators, its
    // '.' if any and its end), so a line's fields are bounded by the lowest bits left; positions
    // are from the block's start.
    std::uint64_t seps = m.sep, dots = m.dot;
    unsigned s = 0;  // the current line's start
    do {
      const unsigned e = static_cast<unsigned>(std::countr_zero(nls));  // its '\n'
      const unsigned t = Crlf ? take_lowest(line_ends) : e;            // its end
      // Exactly three separators, and a one-digit polarity (for t,x,y,p the block's check: the
      // third separator is then two bytes before the line end).
      unsigned s1, s2, s3;
      if constexpr (Masks::kPopcnt) {
        const std::uint64_t line_seps = seps & low_bits(t);
        if (std::popcount(line_seps) != 3) break;
        seps ^= line_seps;
        const std::uint64_t rest = line_seps & (line_seps - 1);
        s1 = static_cast<unsigned>(std::countr_zero(line_seps));
        s2 = static_cast<unsigned>(std::countr_zero(rest));
        s3 = Xypt ? static_cast<unsigned>(std::countr_zero(rest & (rest - 1))) : t - 2;
      } else {
        s1 = take_lowest(seps), s2 = take_lowest(seps), s3 = take_lowest(seps);
        // x,y,p,t: a third before the end and no fourth. t,x,y,p: with a fourth, the third lies
        // further back; without a third it lies past the line end.
        if (Xypt ? s3 >= t || (seps & low_bits(t)) != 0 : s3 + 2 != t) break;
      }
      if (Xypt && s3 - s2 != 2) break;
      const unsigned tb = Xypt ? s3 + 1 : s, te = Xypt ? t : s1;  // the time field
      // At most one '.', inside the time field.
      const std::uint64_t line_dots = dots & low_bits(t);
      dots ^= line_dots;
      const std::uint64_t outside = Xypt ? line_dots & low_bits(tb) : line_dots >> te;
      if (((line_dots & (line_dots - 1)) | outside) != 0) break;
      // Without a '.', the time field's end stands for it: no fraction bytes.
      const unsigned dot = static_cast<unsigned>(std::countr_zero(line_dots | std::uint64_t{1} << te));
      const unsigned int_digits = dot - tb, frac_bytes = te - dot;
      const unsigned xb = Xypt ? s : s1 + 1;
      const unsigned x_digits = (Xypt ? s1 : s2) - xb, y_digits = (Xypt ? s2 : s3) - (Xypt ? s1 : s2) - 1;
      // Longer runs: a time beyond the fixed point's reach, or x and y not below 65536 unless
      // led by zeros (the scalar parser decides).
      if (int_digits > ts.int_limit || (x_digits | y_digits) >= 8) break;
      // The values go to the next row even when the line is not taken: the sink has room.
      const unsigned frac_used = frac_bytes < ts.keep + 1 ? frac_bytes : ts.keep + 1;
      std::int64_t* const t_out = out_t + n_out;
      if (!convert.put({p + tb, int_digits, frac_used, p + xb, x_digits, y_digits}, ts, {t_out, out_x + n_out, out_y + n_out})) {
        break;
      }
      if (ts.ns) {
        // The integer part decides the rounding on its own (as in the scalar parser).
        *t_out = (*t_out + static_cast<std::int64_t>(ts.divisor / 2)) / static_cast<std::int64_t>(ts.divisor);
      } else if (frac_bytes > ts.keep + 1) [[unlikely]] {
        // Fraction digits below 1 µs: the first of them rounds (ties away from zero).
        *t_out += p[dot + 1 + ts.keep] >= '5' ? 1 : 0;
      }
      out_p[n_out] = p[Xypt ? s2 + 1 : s3 + 1] != '0' ? 1 : 0;
      ++n_out;
      s = e + 1;
      nls &= nls - 1;
    } while (nls != 0);
    p += s;
    return nls == 0;
  };
  while (end - p >= kTextFastReach && n_out < cap) {
    const BlockMasks m = classify.at(p);
    // The shape checks that do not depend on the column order, for the whole block at once: a
    // '\r' is only allowed just before '\n'; no other byte than digits, separators and '.'; no two
    // marks (separators, dots, line ends) side by side and none first (so no field or line is
    // empty, no line starts or ends with a blank, the '.' is between digits).
    const std::uint64_t crlf = m.other == 0 ? 0 : Masks::cr(p) & (m.nl >> 1);
    const std::uint64_t marks = m.sep | m.dot | m.nl | crlf;
    // For t,x,y,p also: a separator two bytes before each line end (a one-digit polarity).
    const std::uint64_t line_ends = (m.nl & ~(crlf << 1)) | crlf;
    const std::uint64_t bad = (m.other & ~crlf) | (marks & ((marks << 1) | 1) & ~(crlf << 1)) |
                              (Xypt ? 0 : (line_ends >> 2) & ~m.sep);
    // The lines to take: those whose '\n' comes before the first bad byte.
    std::uint64_t nls = m.nl & (bad == 0 ? ~std::uint64_t{0} : (bad & (0 - bad)) - 1);
    // No more lines than the sink has room for (a block holds at most 8), so that the line loop
    // need not check.
    if (cap - n_out < 8) nls = lowest_bits(nls, cap - n_out);
    if (nls == 0) break;
    const bool whole_block = crlf == 0 ? block_lines.template operator()<false>(m, nls, 0)
                                       : block_lines.template operator()<true>(m, nls, line_ends);
    if (!whole_block) break;
  }
  sink.n = n_out;
  return p;
}

// The instantiations, one per column order, separator and time unit (the unit's constants then
// fold into the line loop).
struct Sse2Lines {
  template <bool Comma, bool Xypt, int Exponent>
  static const char* run(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
    return fast_lines<Sse2Masks<Comma>, SwarValues, Xypt, Exponent>(p, end, layout, sink);
  }
};

// flatten: the AVX2 pieces above carry the target attribute without always_inline (a build for
// the baseline ISA cannot force them into the generic fast_lines); here every call is inlined.
struct Avx2Lines {
  template <bool Comma, bool Xypt, int Exponent>
  __attribute__((flatten)) EVLIB_TEXT_AVX2 static const char* run(const char* p, const char* end,
                                                                  const TextFastLayout& layout, ColumnSink& sink) {
    return fast_lines<Avx2Masks<Comma>, Avx2Values, Xypt, Exponent>(p, end, layout, sink);
  }
};

template <class Path, bool Comma, bool Xypt>
const char* lines_in_unit(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
  switch (layout.time_exponent) {
    case 6: return Path::template run<Comma, Xypt, 6>(p, end, layout, sink);
    case 3: return Path::template run<Comma, Xypt, 3>(p, end, layout, sink);
    case 0: return Path::template run<Comma, Xypt, 0>(p, end, layout, sink);
    case -3: return Path::template run<Comma, Xypt, -3>(p, end, layout, sink);
    default: return p;  // no unit of the reader: the scalar parser takes every line
  }
}

template <class Path>
const char* lines_of_layout(const char* p, const char* end, const TextFastLayout& layout, ColumnSink& sink) {
  if (layout.comma) {
    return layout.xypt ? lines_in_unit<Path, true, true>(p, end, layout, sink)
                       : lines_in_unit<Path, true, false>(p, end, layout, sink);
  }
  return layout.xypt ? lines_in_unit<Path, false, true>(p, end, layout, sink)
                     : lines_in_unit<Path, false, false>(p, end, layout, sink);
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
  if (path == TextLinePath::kAvx2) return lines_of_layout<Avx2Lines>(p, end, layout, sink);
  if (path == TextLinePath::kSse2) return lines_of_layout<Sse2Lines>(p, end, layout, sink);
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
