// EVT 2.0 words 16 at a time (AVX-512) or 8 at a time (AVX2), for runs of CD and TIME_HIGH words.
//
// The scalar loop writes one event per word and keeps the TIME_HIGH in a register; what costs
// is its branch on the word type and the per-event stores. Here a block is classified at once and
// the TIME_HIGH in effect at every word is a running maximum over the lanes, seeded with the one
// before the block. That is exact only while TIME_HIGH values do not go down: a block where one
// does (a wrap of the 34-bit clock, a backwards step, both counted by the scalar loop) is left to
// the scalar loop, as is a block with any other word type or a CD event outside the sensor. The
// CD lanes are then compressed to the front and every column is stored whole (the slots past the
// block's events belong to the next block, which overwrites them).
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "formats/prophesee/block_decoders.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "formats/prophesee/block_simd.hpp"

namespace evlib::detail {

namespace {

using namespace block_simd;

// Time = epoch + high * 64 + lsb, in 64 bits, for lanes 8 * kHalf .. 8 * kHalf + 7.
template <int kHalf>
EVLIB_BLOCK_AVX512 inline __m512i times512(__m512i high, __m512i lsb, __m512i epoch) {
  const __m512i h = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(high, kHalf));
  const __m512i l = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(lsb, kHalf));
  return _mm512_add_epi64(_mm512_add_epi64(_mm512_slli_epi64(h, 6), l), epoch);
}

// `before`: the TIME_HIGH in effect before the block in every lane; after it, the one after it. It
// stays in a register from block to block: the only state carried is then one max and one
// broadcast (a scalar round trip would put a dozen cycles between consecutive blocks).
// kFiltered: only the events the pushed-down filter accepts are written (the block still goes
// to the scalar loop when an event is outside the sensor: that one is counted there).
template <bool kFiltered>
EVLIB_BLOCK_AVX512 inline bool block16(const std::uint8_t* bytes, __m512i& before, std::int64_t epoch, BlockColumns& out,
                                 std::uint32_t width, std::uint32_t height, const PushedFilter& filter) {
  const __m512i w = _mm512_loadu_si512(bytes);
  const __m512i type = _mm512_srli_epi32(w, 28);
  const __mmask16 is_cd = _mm512_cmplt_epu32_mask(type, _mm512_set1_epi32(2));
  const __mmask16 is_th = _mm512_cmpeq_epi32_mask(type, _mm512_set1_epi32(8));
  if (static_cast<__mmask16>(is_cd | is_th) != 0xFFFF) return false;

  // TIME_HIGH in effect at each word: the running maximum of the block's values (alignr by
  // 16 - k moves lane i - k to lane i, zeros below), then of that and the one before the block.
  const __m512i zero = _mm512_setzero_si512();
  const __m512i value = _mm512_and_si512(w, _mm512_set1_epi32(0x0FFFFFFF));
  __m512i high = _mm512_maskz_mov_epi32(is_th, value);
  high = _mm512_max_epu32(high, _mm512_alignr_epi32(high, zero, 15));
  high = _mm512_max_epu32(high, _mm512_alignr_epi32(high, zero, 14));
  high = _mm512_max_epu32(high, _mm512_alignr_epi32(high, zero, 12));
  high = _mm512_max_epu32(high, _mm512_alignr_epi32(high, zero, 8));
  high = _mm512_max_epu32(high, before);
  // A TIME_HIGH below any before it is not its own running maximum.
  if (_mm512_mask_cmpneq_epu32_mask(is_th, high, value) != 0) return false;

  const __m512i x = _mm512_and_si512(_mm512_srli_epi32(w, 11), _mm512_set1_epi32(0x7FF));
  const __m512i y = _mm512_and_si512(w, _mm512_set1_epi32(0x7FF));
  const __mmask16 inside = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(static_cast<int>(width))) &
                           _mm512_cmplt_epu32_mask(y, _mm512_set1_epi32(static_cast<int>(height)));
  if ((is_cd & ~inside) != 0) return false;

  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(w, 22), _mm512_set1_epi32(63));
  const __m512i epoch_v = _mm512_set1_epi64(epoch);
  const __m512i t_low = times512<0>(high, lsb, epoch_v), t_high = times512<1>(high, lsb, epoch_v);
  __mmask16 keep = is_cd;
  if constexpr (kFiltered) {
    // The filter's unsigned offset-and-span tests, lane-wise.
    keep &= _mm512_cmplt_epu32_mask(_mm512_sub_epi32(x, _mm512_set1_epi32(static_cast<int>(filter.x_lo))),
                                    _mm512_set1_epi32(static_cast<int>(filter.x_span))) &
            _mm512_cmplt_epu32_mask(_mm512_sub_epi32(y, _mm512_set1_epi32(static_cast<int>(filter.y_lo))),
                                    _mm512_set1_epi32(static_cast<int>(filter.y_span))) &
            _mm512_test_epi32_mask(_mm512_srlv_epi32(_mm512_set1_epi32(static_cast<int>(filter.keep_p)), type),
                                   _mm512_set1_epi32(1));
    const __m512i t_lo = _mm512_set1_epi64(filter.t_lo), t_span = _mm512_set1_epi64(static_cast<long long>(filter.t_span));
    keep &= static_cast<__mmask16>(_mm512_cmplt_epu64_mask(_mm512_sub_epi64(t_low, t_lo), t_span) |
                                   (_mm512_cmplt_epu64_mask(_mm512_sub_epi64(t_high, t_lo), t_span) << 8));
  }
  const std::size_t n = out.n;
  const auto low_keep = static_cast<__mmask8>(keep), high_keep = static_cast<__mmask8>(keep >> 8);
  const std::size_t low_count = static_cast<std::size_t>(std::popcount(static_cast<unsigned>(low_keep)));
  _mm512_storeu_si512(out.t + n, _mm512_maskz_compress_epi64(low_keep, t_low));
  _mm512_storeu_si512(out.t + n + low_count, _mm512_maskz_compress_epi64(high_keep, t_high));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.x + n), _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(keep, x)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.y + n), _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(keep, y)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.p + n), _mm512_cvtepi32_epi8(_mm512_maskz_compress_epi32(keep, type)));
  out.n = n + static_cast<std::size_t>(std::popcount(static_cast<unsigned>(keep)));
  before = _mm512_permutexvar_epi32(_mm512_set1_epi32(15), high);
  return true;
}

template <int kHalf>
EVLIB_BLOCK_AVX2 inline __m256i times256(__m256i high, __m256i lsb, __m256i epoch) {
  const __m256i h = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(high, kHalf));
  const __m256i l = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(lsb, kHalf));
  return _mm256_add_epi64(_mm256_add_epi64(_mm256_slli_epi64(h, 6), l), epoch);
}

template <bool kFiltered>
EVLIB_BLOCK_AVX2 inline bool block8(const std::uint8_t* bytes, __m256i& before, std::int64_t epoch, BlockColumns& out,
                              std::uint32_t width, std::uint32_t height, const PushedFilter& filter) {
  const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
  const __m256i type = _mm256_srli_epi32(w, 28);
  const __m256i is_cd = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), type);
  const __m256i is_th = _mm256_cmpeq_epi32(type, _mm256_set1_epi32(8));
  if (_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(is_cd, is_th))) != 0xFF) return false;

  const __m256i zero = _mm256_setzero_si256();
  const __m256i value = _mm256_and_si256(w, _mm256_set1_epi32(0x0FFFFFFF));
  __m256i high = _mm256_and_si256(value, is_th);
  high = _mm256_max_epu32(high, _mm256_blend_epi32(_mm256_permutevar8x32_epi32(high, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6)), zero, 0x01));
  high = _mm256_max_epu32(high, _mm256_blend_epi32(_mm256_permutevar8x32_epi32(high, _mm256_setr_epi32(0, 0, 0, 1, 2, 3, 4, 5)), zero, 0x03));
  high = _mm256_max_epu32(high, _mm256_blend_epi32(_mm256_permutevar8x32_epi32(high, _mm256_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3)), zero, 0x0F));
  high = _mm256_max_epu32(high, before);
  const __m256i descending = _mm256_andnot_si256(_mm256_cmpeq_epi32(high, value), is_th);
  if (!_mm256_testz_si256(descending, descending)) return false;

  // x and y are below 2^11 and the bounds at most 2^16: signed compares are exact.
  const __m256i x = _mm256_and_si256(_mm256_srli_epi32(w, 11), _mm256_set1_epi32(0x7FF));
  const __m256i y = _mm256_and_si256(w, _mm256_set1_epi32(0x7FF));
  const __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(static_cast<int>(width) - 1)),
                                          _mm256_cmpgt_epi32(y, _mm256_set1_epi32(static_cast<int>(height) - 1)));
  if (!_mm256_testz_si256(outside, is_cd)) return false;

  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(w, 22), _mm256_set1_epi32(63));
  __m256i keep = is_cd;
  if constexpr (kFiltered) {
    keep = _mm256_and_si256(keep, less_u32(_mm256_sub_epi32(x, _mm256_set1_epi32(static_cast<int>(filter.x_lo))),
                                           _mm256_set1_epi32(static_cast<int>(filter.x_span))));
    keep = _mm256_and_si256(keep, less_u32(_mm256_sub_epi32(y, _mm256_set1_epi32(static_cast<int>(filter.y_lo))),
                                           _mm256_set1_epi32(static_cast<int>(filter.y_span))));
    const __m256i p_kept = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(filter.keep_p)), type),
                                            _mm256_set1_epi32(1));
    keep = _mm256_and_si256(keep, _mm256_cmpeq_epi32(p_kept, _mm256_set1_epi32(1)));
    // Times of the eight lanes (before compaction), tested in two halves of four.
    const __m256i t_lo = _mm256_set1_epi64x(filter.t_lo), t_span = _mm256_set1_epi64x(static_cast<long long>(filter.t_span));
    const __m256i in_low = less_u64(_mm256_sub_epi64(times256<0>(high, lsb, _mm256_set1_epi64x(epoch)), t_lo), t_span);
    const __m256i in_high = less_u64(_mm256_sub_epi64(times256<1>(high, lsb, _mm256_set1_epi64x(epoch)), t_lo), t_span);
    keep = _mm256_and_si256(keep, narrow_masks(in_low, in_high));
  }
  const unsigned cd = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(keep)));
  const __m256i pick = compress_indices(cd);
  const __m256i high_c = _mm256_permutevar8x32_epi32(high, pick), lsb_c = _mm256_permutevar8x32_epi32(lsb, pick);
  const __m256i epoch_v = _mm256_set1_epi64x(epoch);
  const std::size_t n = out.n;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n), times256<0>(high_c, lsb_c, epoch_v));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.t + n + 4), times256<1>(high_c, lsb_c, epoch_v));
  store_xyp(out.x + n, out.y + n, out.p + n, _mm256_permutevar8x32_epi32(x, pick), _mm256_permutevar8x32_epi32(y, pick),
            _mm256_permutevar8x32_epi32(type, pick));
  out.n = n + static_cast<std::size_t>(std::popcount(cd));
  before = _mm256_permutevar8x32_epi32(high, _mm256_set1_epi32(7));
  return true;
}

template <bool kFiltered>
EVLIB_BLOCK_AVX512 std::size_t blocks_avx512(const std::uint8_t* bytes, std::size_t words, std::uint32_t& th, std::int64_t epoch,
                                       BlockColumns& out, std::size_t capacity, std::uint32_t width, std::uint32_t height,
                                       const PushedFilter& filter) {
  std::size_t done = 0;
  __m512i high = _mm512_set1_epi32(static_cast<int>(th));
  BlockColumns cols = out;
  while (words - done >= 16 && capacity - cols.n >= kEvt2BlockRoom &&
         block16<kFiltered>(bytes + 4 * done, high, epoch, cols, width, height, filter)) {
    done += 16;
  }
  th = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(high)));
  out = cols;
  return done;
}

template <bool kFiltered>
EVLIB_BLOCK_AVX2 std::size_t blocks_avx2(const std::uint8_t* bytes, std::size_t words, std::uint32_t& th, std::int64_t epoch,
                                   BlockColumns& out, std::size_t capacity, std::uint32_t width, std::uint32_t height,
                                   const PushedFilter& filter) {
  std::size_t done = 0;
  __m256i high = _mm256_set1_epi32(static_cast<int>(th));
  BlockColumns cols = out;
  while (words - done >= 8 && capacity - cols.n >= kEvt2BlockRoom && block8<kFiltered>(bytes + 4 * done, high, epoch, cols, width, height, filter)) {
    done += 8;
  }
  th = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(high)));
  out = cols;
  return done;
}

}  // namespace

std::size_t evt2_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, std::uint32_t& th, std::int64_t epoch,
                        BlockColumns& out, std::size_t capacity, std::uint32_t width, std::uint32_t height,
                        const PushedFilter* filter) {
  // Bounds above 2^16 admit every 11-bit coordinate, as 2^16 does (and keep AVX2's signed compares exact).
  width = std::min(width, 0x10000u);
  height = std::min(height, 0x10000u);
  static const PushedFilter kUnused(EventFilter{}, width, height);  // read only by the filtered loops
  const PushedFilter& f = filter != nullptr ? *filter : kUnused;
  switch (isa) {
    case BlockIsa::kAvx512:
      return filter != nullptr ? blocks_avx512<true>(bytes, words, th, epoch, out, capacity, width, height, f)
                               : blocks_avx512<false>(bytes, words, th, epoch, out, capacity, width, height, f);
    case BlockIsa::kAvx2:
      return filter != nullptr ? blocks_avx2<true>(bytes, words, th, epoch, out, capacity, width, height, f)
                               : blocks_avx2<false>(bytes, words, th, epoch, out, capacity, width, height, f);
    default: return 0;
  }
}

std::size_t evt2_block_words(BlockIsa isa) { return isa == BlockIsa::kAvx512 ? 16 : 8; }

BlockIsa block_isa_limit_from_env() {
  const char* v = std::getenv("EVLIB_MAX_BLOCK_ISA");
  if (v == nullptr) return BlockIsa::kAvx512;
  const std::string_view value(v);
  if (value == "scalar") return BlockIsa::kScalar;
  if (value == "avx2") return BlockIsa::kAvx2;
  return BlockIsa::kAvx512;
}

BlockIsa cpu_block_isa() {
  static const BlockIsa isa = [] {
    BlockIsa cpu = BlockIsa::kScalar;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vbmi2") &&
        __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
      cpu = BlockIsa::kAvx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
      cpu = BlockIsa::kAvx2;
    }
    const BlockIsa limit = block_isa_limit_from_env();
    return limit < cpu ? limit : cpu;
  }();
  return isa;
}

}  // namespace evlib::detail

#else

namespace evlib::detail {
std::size_t evt2_blocks(BlockIsa, const std::uint8_t*, std::size_t, std::uint32_t&, std::int64_t, BlockColumns&, std::size_t,
                        std::uint32_t, std::uint32_t, const PushedFilter*) {
  return 0;
}
std::size_t evt2_block_words(BlockIsa) { return 8; }
BlockIsa cpu_block_isa() { return BlockIsa::kScalar; }
BlockIsa block_isa_limit_from_env() { return BlockIsa::kScalar; }
}  // namespace evlib::detail

#endif
