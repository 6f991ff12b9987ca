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

namespace evlib::detail {

namespace {

#define EVLIB_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2,popcnt")))
#define EVLIB_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

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

EVLIB_AVX512 std::size_t blocks_avx512(const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                                       std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                       std::uint32_t height) {
  const __m512i lanes = _mm512_setr_epi32(0x00010000, 0x00030002, 0x00050004, 0x00070006, 0x00090008, 0x000B000A,
                                          0x000D000C, 0x000F000E, 0x00110010, 0x00130012, 0x00150014, 0x00170016,
                                          0x00190018, 0x001B001A, 0x001D001C, 0x001F001E);
  // The columns in restrict locals: stores through them (the uint8_t one may alias anything)
  // then force no reloads of the state.
  std::int64_t* __restrict out_t = out.t;
  std::uint16_t* __restrict out_x = out.x;
  std::uint16_t* __restrict out_y = out.y;
  std::uint8_t* __restrict out_p = out.p;
  std::size_t i = 0, n = out.n;
  std::uint32_t high = th;
  for (; i < words && capacity - n >= kEvt21BlockRoom; ++i) {
    const Word w = load_word(bytes + 8 * i, legacy);
    const Step step = classify(w, high, width, height);
    if (step == Step::kStop) break;
    if (step == Step::kTime || w.mask == 0) continue;
    const std::uint32_t x_base = (w.header >> 11) & 0x7FF;
    const std::size_t count = static_cast<std::size_t>(std::popcount(w.mask));
    const std::int64_t t = epoch + (static_cast<std::int64_t>(high) << 6) + ((w.header >> 22) & 63);
    const __m512i x = _mm512_maskz_compress_epi16(w.mask, _mm512_add_epi16(_mm512_set1_epi16(static_cast<short>(x_base)), lanes));
    const __m512i y = _mm512_set1_epi16(static_cast<short>(w.header & 0x7FF));
    const __m512i p = _mm512_set1_epi8(static_cast<char>(w.header >> 28));
    // Stores as wide as the events need: sparse masks are common, and stores are what costs.
    if (count <= 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out_x + n), _mm512_castsi512_si128(x));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out_y + n), _mm512_castsi512_si128(y));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out_p + n), _mm512_castsi512_si128(p));
    } else {
      _mm512_storeu_si512(out_x + n, x);
      _mm512_storeu_si512(out_y + n, y);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_p + n), _mm512_castsi512_si256(p));
    }
    const __m512i tv = _mm512_set1_epi64(t);
    for (std::size_t k = 0; k < count; k += 8) _mm512_storeu_si512(out_t + n + k, tv);
    n += count;
  }
  th = high;
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

EVLIB_AVX2 std::size_t blocks_avx2(const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                                   std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                   std::uint32_t height) {
  // The columns in restrict locals: stores through them (the uint8_t one may alias anything)
  // then force no reloads of the state.
  std::int64_t* __restrict out_t = out.t;
  std::uint16_t* __restrict out_x = out.x;
  std::uint16_t* __restrict out_y = out.y;
  std::uint8_t* __restrict out_p = out.p;
  std::size_t i = 0, n = out.n;
  std::uint32_t high = th;
  for (; i < words && capacity - n >= kEvt21BlockRoom; ++i) {
    const Word w = load_word(bytes + 8 * i, legacy);
    const Step step = classify(w, high, width, height);
    if (step == Step::kStop) break;
    if (step == Step::kTime || w.mask == 0) continue;
    const std::uint32_t x_base = (w.header >> 11) & 0x7FF;
    const std::size_t count = static_cast<std::size_t>(std::popcount(w.mask));
    const std::int64_t t = epoch + (static_cast<std::int64_t>(high) << 6) + ((w.header >> 22) & 63);
    if (count == 1) {  // the most common word of sparse scenes: plain stores, no vector set-up
      out_t[n] = t;
      out_x[n] = static_cast<std::uint16_t>(x_base + static_cast<std::uint32_t>(std::countr_zero(w.mask)));
      out_y[n] = static_cast<std::uint16_t>(w.header & 0x7FF);
      out_p[n] = static_cast<std::uint8_t>(w.header >> 28);
      ++n;
      continue;
    }
    const __m256i y = _mm256_set1_epi16(static_cast<short>(w.header & 0x7FF));
    for (std::size_t k = 0; k < count; k += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_y + n + k), y);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_p + n), _mm256_set1_epi8(static_cast<char>(w.header >> 28)));
    const __m256i tv = _mm256_set1_epi64x(t);
    for (std::size_t k = 0; k < count; k += 4) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_t + n + k), tv);
    std::size_t at = n;
    const std::uint32_t first_byte = static_cast<std::uint32_t>(std::countr_zero(w.mask)) / 8;  // skip empty bytes
    for (std::uint32_t m = w.mask >> (8 * first_byte), byte = first_byte; m != 0; m >>= 8, ++byte) {
      const std::uint32_t bits = m & 0xFF;
      const __m128i positions = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kBitPositions[bits].data()));
      const __m128i x = _mm_add_epi16(_mm_set1_epi16(static_cast<short>(x_base + 8 * byte)), positions);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out_x + at), x);
      at += static_cast<std::size_t>(std::popcount(bits));
    }
    n += count;
  }
  th = high;
  out.n = n;
  return i;
}

}  // namespace

std::size_t evt21_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                         std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                         std::uint32_t height) {
  switch (isa) {
    case BlockIsa::kAvx512: return blocks_avx512(bytes, words, legacy, th, epoch, out, capacity, width, height);
    case BlockIsa::kAvx2: return blocks_avx2(bytes, words, legacy, th, epoch, out, capacity, width, height);
    default: return 0;
  }
}

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t evt21_blocks(BlockIsa, const std::uint8_t*, std::size_t, bool, std::uint32_t&, std::int64_t, BlockColumns&,
                         std::size_t, std::uint32_t, std::uint32_t) {
  return 0;
}
}  // namespace evlib::detail

#endif
