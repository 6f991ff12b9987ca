#pragma once
// The per-pixel filters (refractory, background activity, STCF) read and write the state of a
// pixel that, on a large sensor and a busy scene, is rarely in cache: one event costs a memory
// latency. Their loops prefetch the state of the event kPrefetchAhead places later, so that
// several misses are in flight at once. Prefetches are hints: results do not change.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "evlib/ops/common.hpp"

namespace evlib::ops::detail {

inline constexpr std::size_t kPrefetchAhead = 16;

// The cell of (x, y) in a per-pixel map of width * height values (no border); (x, y) may lie
// outside the sensor (it is clamped: the event is skipped anyway).
inline void prefetch_pixel(const std::int64_t* map, SensorSize s, std::uint16_t x, std::uint16_t y) {
  const std::size_t cx = std::min<std::size_t>(x, s.width - 1), cy = std::min<std::size_t>(y, s.height - 1);
  __builtin_prefetch(map + cy * s.width + cx, 1);
}

// The 3x3 neighbourhood of (x, y) in a map with a one-cell border (stride = width + 2): both ends
// of each of its three rows, which may straddle cache lines.
inline void prefetch_neighbourhood(const std::int64_t* map, SensorSize s, std::uint16_t x, std::uint16_t y) {
  const std::size_t stride = std::size_t{s.width} + 2;
  const std::size_t cx = std::min<std::size_t>(x, s.width - 1) + 1, cy = std::min<std::size_t>(y, s.height - 1) + 1;
  const std::int64_t* c = map + cy * stride + cx;
  __builtin_prefetch(c - stride - 1, 1);
  __builtin_prefetch(c - stride + 1, 1);
  __builtin_prefetch(c - 1, 1);
  __builtin_prefetch(c + 1, 1);
  __builtin_prefetch(c + stride - 1, 1);
  __builtin_prefetch(c + stride + 1, 1);
}

}  // namespace evlib::ops::detail
