#pragma once
// The counting representations (event frame, stacked histogram) run in two passes over blocks of
// events: first the tensor cell of every event of the block, branch-free, which the compiler
// vectorises (8 events per AVX2 instruction); then the increments, one load-add-store each.
// Counting in one pass mixes the bounds checks, the index arithmetic and the scattered
// read-modify-write in one dependent chain per event; split, each pass runs at its own limit.
// Results do not change: every event adds 1 to the same cell, in the same order.
//
// The first pass has an AVX2 kernel (src/core/avx2_dispatch.hpp): the baseline x86-64 build (the
// Python wheel) would otherwise get SSE2's four lanes and no 32-bit multiply, and spend as long
// on the cells as on the counting. Callers ask avx2_kernels_run() once per batch and pass it on.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "core/avx2_dispatch.hpp"
#include "evlib/ops/common.hpp"

namespace evlib::ops::detail {

using evlib::detail::avx2_kernels_run;

// Events per block: the cells of a block (1 KiB) stay in L1 between the two passes.
inline constexpr std::size_t kCellBlock = 256;
// The cell of an event that is not counted. Tensors of kNoCell cells or more take the one-pass
// path instead.
inline constexpr std::uint32_t kNoCell = std::numeric_limits<std::uint32_t>::max();

struct CellLayout {
  SensorSize sensor;             // events outside it are not counted
  std::uint32_t out_width;       // the tensor's row length (sensor.width, or half of it)
  std::uint32_t out_height;
  std::uint32_t base;            // the offset of the block's first channel
  std::uint32_t channel_stride;  // cells between the polarity channels (unused when merged)
};

// Events [begin, n) of pixel_cells, one at a time.
template <bool kSplitPolarity, bool kDownsampleBy2>
inline void pixel_cells_scalar(const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p, std::size_t begin,
                               std::size_t n, const CellLayout& layout, std::uint32_t* cells) {
  const std::uint32_t width = layout.sensor.width, height = layout.sensor.height;
  for (std::size_t i = begin; i < n; ++i) {
    std::uint32_t cx = x[i], cy = y[i];
    bool inside = (cx < width) & (cy < height);
    std::uint32_t channel = 0;
    if constexpr (kSplitPolarity) {
      channel = p[i];
      inside &= channel <= 1;
    }
    if constexpr (kDownsampleBy2) {
      inside &= ((cx & cy & 1u) != 0);
      cx >>= 1;
      cy >>= 1;
      inside &= (cx < layout.out_width) & (cy < layout.out_height);
    }
    // Unsigned arithmetic wraps for the events not counted; their cell is replaced anyway.
    const std::uint32_t cell = layout.base + channel * layout.channel_stride + cy * layout.out_width + cx;
    cells[i] = inside ? cell : kNoCell;
  }
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// pixel_cells for the first n / 8 * 8 events, eight at a time, with the scalar loop's unsigned
// 32-bit arithmetic (vpmulld keeps the low 32 bits of each product, as the scalar product
// wraps); returns how many events it did. Coordinates are below 2^16, so signed compares with
// bounds capped at 2^16 say what the scalar loop's unsigned ones say.
template <bool kSplitPolarity, bool kDownsampleBy2>
inline std::size_t pixel_cells_avx2(const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p, std::size_t n,
                                     const CellLayout& layout, std::uint32_t* cells) {
  const auto bound = [](std::uint32_t v) { return static_cast<int>(std::min<std::uint32_t>(v, 1u << 16)); };
  const __m256i width = _mm256_set1_epi32(bound(layout.sensor.width)), height = _mm256_set1_epi32(bound(layout.sensor.height));
  const __m256i out_width = _mm256_set1_epi32(bound(layout.out_width));
  const __m256i out_height = _mm256_set1_epi32(bound(layout.out_height));
  const __m256i row = _mm256_set1_epi32(static_cast<int>(layout.out_width));
  const __m256i base = _mm256_set1_epi32(static_cast<int>(layout.base));
  const __m256i stride = _mm256_set1_epi32(static_cast<int>(layout.channel_stride));
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
  const std::size_t end = n / 8 * 8;
  for (std::size_t i = 0; i < end; i += 8) {
    __m256i cx = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    __m256i cy = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y + i)));
    __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi32(width, cx), _mm256_cmpgt_epi32(height, cy));
    __m256i cell = base;
    if constexpr (kSplitPolarity) {
      const __m256i channel = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + i)));
      inside = _mm256_and_si256(inside, _mm256_cmpgt_epi32(two, channel));
      cell = _mm256_add_epi32(cell, _mm256_mullo_epi32(channel, stride));
    }
    if constexpr (kDownsampleBy2) {
      const __m256i odd = _mm256_and_si256(_mm256_and_si256(cx, cy), one);
      inside = _mm256_and_si256(inside, _mm256_cmpeq_epi32(odd, one));
      cx = _mm256_srli_epi32(cx, 1);
      cy = _mm256_srli_epi32(cy, 1);
      inside = _mm256_and_si256(inside, _mm256_and_si256(_mm256_cmpgt_epi32(out_width, cx), _mm256_cmpgt_epi32(out_height, cy)));
    }
    cell = _mm256_add_epi32(cell, _mm256_add_epi32(_mm256_mullo_epi32(cy, row), cx));
    // kNoCell is all ones: cell | ~inside.
    const __m256i counted = _mm256_or_si256(cell, _mm256_xor_si256(inside, _mm256_set1_epi32(-1)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(cells + i), counted);
  }
  return end;
}
EVLIB_AVX2_END
#endif

// cells[i] = base + p[i] * channel_stride + y * out_width + x for the events counted, kNoCell for
// the others. kSplitPolarity: p selects the channel and p > 1 is not counted; otherwise p is not
// read (it may be null). kDownsampleBy2: RVT's nearest-exact x0.5, which keeps source rows and
// columns 2i + 1 only, at (x >> 1, y >> 1). avx2: avx2_kernels_run(), asked once per batch.
template <bool kSplitPolarity, bool kDownsampleBy2>
inline void pixel_cells(const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p, std::size_t n,
                        const CellLayout& layout, std::uint32_t* cells, bool avx2) {
  std::size_t done = 0;
#ifdef EVLIB_AVX2
  if (avx2) done = pixel_cells_avx2<kSplitPolarity, kDownsampleBy2>(x, y, p, n, layout, cells);
#else
  (void)avx2;
#endif
  pixel_cells_scalar<kSplitPolarity, kDownsampleBy2>(x, y, p, done, n, layout, cells);
}

// visit(i, cell) for every event i of [0, n) that lies on the sensor (and, kSplitPolarity, has
// p <= 1), in order, cell = p * pixels + y * width + x (p read as 0 when merged): the per-pixel
// maps and frames of (polarity,) height, width.
template <bool kSplitPolarity, class Visit>
inline void for_each_pixel_cell(const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p, std::size_t n,
                                SensorSize sensor, Visit&& visit) {
  const std::size_t plane = sensor.pixels();
  if ((kSplitPolarity ? 2 : 1) * plane >= kNoCell) {  // cells past 32 bits: one pass, 64-bit cells
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t channel = kSplitPolarity ? p[i] : 0u;
      if (!sensor.contains(x[i], y[i]) || channel > 1) [[unlikely]]
        continue;
      visit(i, channel * plane + std::size_t{y[i]} * sensor.width + x[i]);
    }
    return;
  }
  const CellLayout layout{sensor, sensor.width, sensor.height, 0, static_cast<std::uint32_t>(plane)};
  const bool avx2 = avx2_kernels_run();
  alignas(64) std::uint32_t cells[kCellBlock];
  for (std::size_t begin = 0; begin < n; begin += kCellBlock) {
    const std::size_t m = std::min(kCellBlock, n - begin);
    pixel_cells<kSplitPolarity, false>(x + begin, y + begin, kSplitPolarity ? p + begin : nullptr, m, layout, cells, avx2);
    for (std::size_t i = 0; i < m; ++i)
      if (cells[i] != kNoCell) [[likely]]
        visit(begin + i, std::size_t{cells[i]});
  }
}

// Frames and per-pixel states of at least this many bytes lie beyond a core's own caches (its L2
// holds 0.5-2 MB): loops that read each event's cell (increments, decays) prefetch it
// (for_each_pixel_cell_prefetched) so that many misses are in flight instead of one at a time.
// Below, the prefetches would be wasted work. Loops that only store (the last-timestamp map) do
// not: the core overlaps store misses by itself.
inline constexpr std::size_t kPrefetchedStateBytes = std::size_t{1} << 20;

// How many events ahead a cell is prefetched: 16 ahead gave 65, 48 about 100, 96-160 about
// 140 M events/s (the render's exp-decay at 1280x720).
inline constexpr std::size_t kCellPrefetchAhead = 128;

// for_each_pixel_cell, with __builtin_prefetch(state_of(cell), 1) for the event
// kCellPrefetchAhead later before each visit. The cells of a block of events and of the
// kCellPrefetchAhead after it are computed first, so that the loop prefetches without bounds
// checks of its own: state_of may be given kNoCell (or 0 past the last event), whose address,
// off the state, is only a wasted hint (a prefetch never faults). The functions are taken by
// value: their captures then stay in registers across the visits' stores.
template <bool kSplitPolarity, class StateOf, class Visit>
inline void for_each_pixel_cell_prefetched(const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p,
                                           std::size_t n, SensorSize sensor, StateOf state_of, Visit visit) {
  const std::size_t plane = sensor.pixels();
  if ((kSplitPolarity ? 2 : 1) * plane >= kNoCell) {  // cells past 32 bits: one pass, 64-bit cells
    const auto counted = [&](std::size_t k) { return sensor.contains(x[k], y[k]) && (!kSplitPolarity || p[k] <= 1); };
    const auto cell_of = [&](std::size_t k) {
      return (kSplitPolarity ? p[k] * plane : 0u) + std::size_t{y[k]} * sensor.width + x[k];
    };
    for (std::size_t k = 0; k < n; ++k) {
      if (const std::size_t a = k + kCellPrefetchAhead; a < n && counted(a)) __builtin_prefetch(state_of(cell_of(a)), 1);
      if (counted(k)) [[likely]]
        visit(k, cell_of(k));
    }
    return;
  }
  constexpr std::size_t kBlock = 1024;
  alignas(64) std::uint32_t cells[kBlock + kCellPrefetchAhead];
  const CellLayout layout{sensor, sensor.width, sensor.height, 0, static_cast<std::uint32_t>(plane)};
  const bool avx2 = avx2_kernels_run();
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    const std::size_t m = std::min(kBlock, n - begin), known = std::min(kBlock + kCellPrefetchAhead, n - begin);
    pixel_cells<kSplitPolarity, false>(x + begin, y + begin, kSplitPolarity ? p + begin : nullptr, known, layout, cells, avx2);
    std::fill(cells + known, cells + m + kCellPrefetchAhead, 0u);  // past the events
    for (std::size_t j = 0; j < m; ++j) {
      __builtin_prefetch(state_of(cells[j + kCellPrefetchAhead]), 1);
      if (cells[j] != kNoCell) [[likely]]
        visit(begin + j, std::size_t{cells[j]});
    }
  }
}

}  // namespace evlib::ops::detail
