#pragma once
// Text data lines of the common form, classified 64 bytes at a time (text_simd.cpp): SSE2 on every
// x86-64 CPU, AVX2 where the CPU has it (chosen at run time, as the block decoders of
// formats/prophesee choose theirs). The scalar line parser of text.cpp stays the reference: this
// path takes only lines it reads exactly as that parser would and stops at the first other one
// (a comment, a header, CRLF after a blank, a sign, an exponent, a doubled blank, a value out of
// range or beyond the sensor...), which the scalar parser then reads with all its rules.
//
// The common form, for the column orders t,x,y,p and x,y,p,t: the line starts with a digit, its
// four fields are digit runs separated by exactly one separator byte (a blank or a tab, or a comma
// in comma mode), the time field may hold one '.' between digits, the polarity is one digit, and
// the line ends in "\n" or "\r\n" within the 64 bytes classified at once.
#include <cstddef>
#include <cstdint>

#include "formats/common/decoder_support.hpp"  // ColumnSink

namespace evlib::detail {

// Powers of ten up to 10^19 (the largest that fits 64 bits).
inline constexpr std::uint64_t kTextPow10[20] = {1ull,
                                                 10ull,
                                                 100ull,
                                                 1000ull,
                                                 10000ull,
                                                 100000ull,
                                                 1000000ull,
                                                 10000000ull,
                                                 100000000ull,
                                                 1000000000ull,
                                                 10000000000ull,
                                                 100000000000ull,
                                                 1000000000000ull,
                                                 10000000000000ull,
                                                 100000000000000ull,
                                                 1000000000000000ull,
                                                 10000000000000000ull,
                                                 100000000000000000ull,
                                                 1000000000000000000ull,
                                                 10000000000000000000ull};

// Value of the first n (1..8) digit bytes of x (x = the 8 loaded bytes XOR '0', so digits are
// 0..9; bytes past the n-th are ignored): the n digits are moved to the top bytes, then pairs,
// groups of four and the whole are combined with three multiplies (SWAR).
[[gnu::always_inline]] inline std::uint64_t swar_digits_value(std::uint64_t x, unsigned n) {
  std::uint64_t v = n == 8 ? x : x << (8 * (8 - n));
  v = ((v & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
  v = ((v & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
  return ((v & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

// Which implementation parses data lines. kScalar: the scalar parser alone (the reference).
enum class TextLinePath : std::uint8_t { kScalar = 0, kSse2 = 1, kAvx2 = 2, kBest = 3 };
// The widest path this CPU runs (AVX2 needs AVX2 and BMI2; EVLIB_MAX_BLOCK_ISA=scalar caps it at
// SSE2, the x86-64 baseline); kScalar off x86-64.
TextLinePath best_text_line_path();
// `wanted`, or the best this CPU runs when that is wider (kBest: the best).
TextLinePath usable_text_line_path(TextLinePath wanted);

// What the fast path needs of a file's layout (see text.hpp's TextLayout).
struct TextFastLayout {
  bool xypt = false;      // column order x,y,p,t (Prophesee CSV); else t,x,y,p
  bool comma = false;     // ',' separates fields; else one blank or tab
  int time_exponent = 6;  // µs = value * 10^time_exponent (6, 3, 0 or -3)
  std::uint32_t width = 0x10000, height = 0x10000;  // events must lie inside
};

// Bytes the fast path must have readable from a block's start: it classifies 64 bytes and loads
// 16 bytes at a field start.
inline constexpr std::ptrdiff_t kTextFastReach = 80;

// Parses the lines at p (complete lines up to end) while they have the common form, their events
// lie inside width x height, at least kTextFastReach bytes are left and the sink has room; each
// line is one event written to sink. Returns the first byte not parsed (p when the first line is
// not taken). `path` must be kSse2 or kAvx2 as usable_text_line_path() returns it.
const char* text_fast_lines(TextLinePath path, const char* p, const char* end, const TextFastLayout& layout,
                            ColumnSink& sink);

}  // namespace evlib::detail
