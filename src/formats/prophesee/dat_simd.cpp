// DAT CD records 16 at a time (AVX-512) or 8 at a time (AVX2).
//
// A record is a 32-bit time and a 32-bit word of x, y and polarity: the block splits the two
// halves with permutes, the times widened to 64 bits plus the wraps counted so far, the word cut
// into three columns. The one piece of state is the previous record's time, for the wrap test
// (docs/formats.md 5.2); each lane compares with the lane before it, lane 0 with the time carried
// from the previous block. A block with a wrap or an event outside the sensor is left to the
// scalar loop, which counts those.
#include <algorithm>
#include <bit>
#include <cstring>

#include "formats/prophesee/block_decoders.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "formats/prophesee/block_simd.hpp"

namespace evlib::detail {

namespace {

using namespace block_simd;

// kFiltered: only the events the pushed-down filter accepts are written, compressed to the front.
template <bool kFiltered>
EVLIB_BLOCK_AVX512 inline bool block16(const std::uint8_t* bytes, std::uint32_t& last_t32, std::int64_t loops,
                                       BlockColumns& out, std::uint32_t width, std::uint32_t height,
                                       const PushedFilter& filter) {
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
  const __m512i t_low = _mm512_add_epi64(_mm512_and_si512(a, low32), base);
  const __m512i t_high = _mm512_add_epi64(_mm512_and_si512(b, low32), base);
  // Polarity is the 4-bit field, normalised to 0 / 1 as the scalar loop does.
  const __mmask16 on = _mm512_test_epi32_mask(word, _mm512_set1_epi32(static_cast<int>(0xF0000000u)));
  if constexpr (!kFiltered) {
    _mm512_storeu_si512(out.t + n, t_low);
    _mm512_storeu_si512(out.t + n + 8, t_high);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.x + n), _mm512_cvtepi32_epi16(x));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.y + n), _mm512_cvtepi32_epi16(y));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out.p + n), _mm_maskz_mov_epi8(on, _mm_set1_epi8(1)));
    out.n = n + 16;
  } else {
    const __mmask16 p_ok = static_cast<__mmask16>(((filter.keep_p & 2) ? on : 0) | ((filter.keep_p & 1) ? ~on : 0));
    const __m512i t_lo = _mm512_set1_epi64(filter.t_lo), t_span = _mm512_set1_epi64(static_cast<long long>(filter.t_span));
    const __mmask16 keep =
        _mm512_cmplt_epu32_mask(_mm512_sub_epi32(x, _mm512_set1_epi32(static_cast<int>(filter.x_lo))),
                                _mm512_set1_epi32(static_cast<int>(filter.x_span))) &
        _mm512_cmplt_epu32_mask(_mm512_sub_epi32(y, _mm512_set1_epi32(static_cast<int>(filter.y_lo))),
                                _mm512_set1_epi32(static_cast<int>(filter.y_span))) &
        p_ok &
        static_cast<__mmask16>(_mm512_cmplt_epu64_mask(_mm512_sub_epi64(t_low, t_lo), t_span) |
                               (_mm512_cmplt_epu64_mask(_mm512_sub_epi64(t_high, t_lo), t_span) << 8));
    const auto low_keep = static_cast<__mmask8>(keep), high_keep = static_cast<__mmask8>(keep >> 8);
    const std::size_t low_count = static_cast<std::size_t>(std::popcount(static_cast<unsigned>(low_keep)));
    _mm512_storeu_si512(out.t + n, _mm512_maskz_compress_epi64(low_keep, t_low));
    _mm512_storeu_si512(out.t + n + low_count, _mm512_maskz_compress_epi64(high_keep, t_high));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.x + n), _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(keep, x)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.y + n), _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(keep, y)));
    const __m512i p = _mm512_maskz_mov_epi32(on, _mm512_set1_epi32(1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out.p + n), _mm512_cvtepi32_epi8(_mm512_maskz_compress_epi32(keep, p)));
    out.n = n + static_cast<std::size_t>(std::popcount(static_cast<unsigned>(keep)));
  }
  last_t32 = static_cast<std::uint32_t>(_mm_extract_epi32(_mm512_extracti32x4_epi32(t32, 3), 3));
  return true;
}

// The even (kPick 0x88: times) or odd (0xDD: words) dwords of the records in a and b, in
// record order (the shuffle interleaves 64-bit pairs of a and b; the permute puts them back).
template <int kPick>
EVLIB_BLOCK_AVX2 inline __m256i dwords_of_records(__m256i a, __m256i b) {
  const __m256 mixed = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), kPick);
  return _mm256_permute4x64_epi64(_mm256_castps_si256(mixed), 0xD8);
}

template <bool kFiltered>
EVLIB_BLOCK_AVX2 inline bool block8(const std::uint8_t* bytes, std::uint32_t& last_t32, std::int64_t loops,
                                    BlockColumns& out, std::uint32_t width, std::uint32_t height,
                                    const PushedFilter& filter) {
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
  const __m256i base = _mm256_set1_epi64x(loops);
  const __m256i on = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_srli_epi32(word, 28), _mm256_setzero_si256()),
                                         _mm256_set1_epi32(1));
  if constexpr (!kFiltered) {
    const __m256i low32 = _mm256_set1_epi64x(0xFFFFFFFF);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n), _mm256_add_epi64(_mm256_and_si256(a, low32), base));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n + 4), _mm256_add_epi64(_mm256_and_si256(b, low32), base));
    store_xyp(out.x + n, out.y + n, out.p + n, x, y, on);
    out.n = n + 8;
  } else {
    const __m256i t_lo = _mm256_set1_epi64x(filter.t_lo), t_span = _mm256_set1_epi64x(static_cast<long long>(filter.t_span));
    const __m256i t_low = _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(t32)), base);
    const __m256i t_high = _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(t32, 1)), base);
    const __m256i p_kept = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(filter.keep_p)), on),
                                            _mm256_set1_epi32(1));
    __m256i keep = narrow_masks(less_u64(_mm256_sub_epi64(t_low, t_lo), t_span), less_u64(_mm256_sub_epi64(t_high, t_lo), t_span));
    keep = _mm256_and_si256(keep, less_u32(_mm256_sub_epi32(x, _mm256_set1_epi32(static_cast<int>(filter.x_lo))),
                                           _mm256_set1_epi32(static_cast<int>(filter.x_span))));
    keep = _mm256_and_si256(keep, less_u32(_mm256_sub_epi32(y, _mm256_set1_epi32(static_cast<int>(filter.y_lo))),
                                           _mm256_set1_epi32(static_cast<int>(filter.y_span))));
    keep = _mm256_and_si256(keep, _mm256_cmpeq_epi32(p_kept, _mm256_set1_epi32(1)));
    const unsigned kept = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(keep)));
    const __m256i pick = compress_indices(kept);
    const __m256i t_kept = _mm256_permutevar8x32_epi32(t32, pick);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n),
                        _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(t_kept)), base));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n + 4),
                        _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(t_kept, 1)), base));
    store_xyp(out.x + n, out.y + n, out.p + n, _mm256_permutevar8x32_epi32(x, pick), _mm256_permutevar8x32_epi32(y, pick),
              _mm256_permutevar8x32_epi32(on, pick));
    out.n = n + static_cast<std::size_t>(std::popcount(kept));
  }
  last_t32 = static_cast<std::uint32_t>(_mm256_extract_epi32(t32, 7));
  return true;
}

template <bool kFiltered>
EVLIB_BLOCK_AVX512 std::size_t blocks_avx512(const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                                             std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                             std::uint32_t height, const PushedFilter& filter) {
  std::size_t done = 0;
  std::uint32_t last = last_t32;
  BlockColumns cols = out;
  while (records - done >= 16 && capacity - cols.n >= kDatBlockRoom &&
         block16<kFiltered>(bytes + 8 * done, last, loops, cols, width, height, filter)) {
    done += 16;
  }
  last_t32 = last;
  out = cols;
  return done;
}

template <bool kFiltered>
EVLIB_BLOCK_AVX2 std::size_t blocks_avx2(const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                                         std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                                         std::uint32_t height, const PushedFilter& filter) {
  std::size_t done = 0;
  std::uint32_t last = last_t32;
  BlockColumns cols = out;
  while (records - done >= 8 && capacity - cols.n >= kDatBlockRoom &&
         block8<kFiltered>(bytes + 8 * done, last, loops, cols, width, height, filter)) {
    done += 8;
  }
  last_t32 = last;
  out = cols;
  return done;
}

}  // namespace

std::size_t dat_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                       std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                       std::uint32_t height, const PushedFilter* filter) {
  // Bounds above 2^16 admit every 14-bit coordinate, as 2^16 does.
  width = std::min(width, 0x10000u);
  height = std::min(height, 0x10000u);
  static const PushedFilter kUnused(EventFilter{}, width, height);  // read only by the filtered loops
  const PushedFilter& f = filter != nullptr ? *filter : kUnused;
  switch (isa) {
    case BlockIsa::kAvx512:
      return filter != nullptr ? blocks_avx512<true>(bytes, records, last_t32, loops, out, capacity, width, height, f)
                               : blocks_avx512<false>(bytes, records, last_t32, loops, out, capacity, width, height, f);
    case BlockIsa::kAvx2:
      return filter != nullptr ? blocks_avx2<true>(bytes, records, last_t32, loops, out, capacity, width, height, f)
                               : blocks_avx2<false>(bytes, records, last_t32, loops, out, capacity, width, height, f);
    default: return 0;
  }
}

std::size_t dat_block_records(BlockIsa isa) { return isa == BlockIsa::kAvx512 ? 16 : 8; }

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t dat_blocks(BlockIsa, const std::uint8_t*, std::size_t, std::uint32_t&, std::int64_t, BlockColumns&, std::size_t,
                       std::uint32_t, std::uint32_t, const PushedFilter*) {
  return 0;
}
std::size_t dat_block_records(BlockIsa) { return 8; }
}  // namespace evlib::detail

#endif
