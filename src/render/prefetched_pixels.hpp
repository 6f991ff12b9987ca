#pragma once
// The per-event loop of the modes whose pixel state lies beyond the core's own caches (7-15 MB
// at 1280x720): each event's pixel is prefetched kPrefetchAhead events before it is visited, so
// that many misses are in flight instead of one at a time.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "evlib/ops/common.hpp"
#include "ops/pixel_cells.hpp"

namespace evlib::render::detail {

// 16 ahead gave 65, 48 about 100, 96-160 about 140 M events/s (exp-decay, 1280x720).
inline constexpr std::size_t kPrefetchAhead = 128;

// visit(k, pixel) for every event k of [0, n) on the sensor, in order (pixel = y * width + x),
// after __builtin_prefetch(state_of(pixel), 1) for the event kPrefetchAhead later. The pixels of
// a block of events and of the kPrefetchAhead after it are computed first (branch-free and
// vectorised, ops/pixel_cells.hpp; kNoCell off the sensor), so that the loop prefetches without
// bounds checks of its own.
template <class StateOf, class Visit>
inline void for_each_pixel_prefetched(const std::uint16_t* x, const std::uint16_t* y, std::size_t n,
                                      ops::SensorSize sensor, StateOf&& state_of, Visit&& visit) {
  if (sensor.pixels() >= ops::detail::kNoCell) {  // pixel indices past 32 bits
    for (std::size_t k = 0; k < n; ++k) {
      if (const std::size_t a = k + kPrefetchAhead; a < n && sensor.contains(x[a], y[a]))
        __builtin_prefetch(state_of(std::size_t{y[a]} * sensor.width + x[a]), 1);
      if (sensor.contains(x[k], y[k])) [[likely]]
        visit(k, std::size_t{y[k]} * sensor.width + x[k]);
    }
    return;
  }
  constexpr std::size_t kBlock = 1024;
  alignas(64) std::uint32_t pixel[kBlock + kPrefetchAhead];
  const ops::detail::CellLayout layout{sensor, sensor.width, sensor.height, 0, 0};
  const bool avx2 = ops::detail::avx2_kernels_run();
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    const std::size_t m = std::min(kBlock, n - begin), known = std::min(kBlock + kPrefetchAhead, n - begin);
    ops::detail::pixel_cells<false, false>(x + begin, y + begin, nullptr, known, layout, pixel, avx2);
    std::fill(pixel + known, pixel + m + kPrefetchAhead, 0u);  // past the events: a harmless prefetch
    for (std::size_t j = 0; j < m; ++j) {
      // A prefetch never faults: kNoCell's address, off the state, is only a wasted hint.
      __builtin_prefetch(state_of(pixel[j + kPrefetchAhead]), 1);
      if (pixel[j] != ops::detail::kNoCell) [[likely]]
        visit(begin + j, std::size_t{pixel[j]});
    }
  }
}

}  // namespace evlib::render::detail
