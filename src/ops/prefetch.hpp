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
[[gnu::always_inline]] inline void prefetch_pixel(const std::int64_t* map, SensorSize s, std::uint16_t x, std::uint16_t y) {
  const std::size_t cx = std::min<std::size_t>(x, s.width - 1), cy = std::min<std::size_t>(y, s.height - 1);
  __builtin_prefetch(map + cy * s.width + cx, 1);
}

// The 3x3 neighbourhood of (x, y) in a map with a one-cell border (stride = width + 2 or more):
// both ends of each of its three rows, which may straddle cache lines. (x, y) may lie outside
// the sensor: a prefetch never faults, and such an event is skipped anyway; the address is
// computed as an integer so that no pointer leaves the map. Always inlined: GCC 12 finds a
// function of prefetches alone free of side effects and deletes its calls before inlining them
// (the filters' loops had lost every prefetch that way).
template <class Cell>
[[gnu::always_inline]] inline void prefetch_neighbourhood(const Cell* map, std::size_t stride, std::uint16_t x,
                                                          std::uint16_t y) {
  const std::uintptr_t row = stride * sizeof(Cell);
  const std::uintptr_t c = reinterpret_cast<std::uintptr_t>(map) + ((std::size_t{y} + 1) * stride + x) * sizeof(Cell);
  for (const std::uintptr_t at : {c - row, c - row + 2 * sizeof(Cell), c, c + 2 * sizeof(Cell), c + row,
                                  c + row + 2 * sizeof(Cell)})
    __builtin_prefetch(reinterpret_cast<const void*>(at), 1);
}

// Calls visit(i) for each event i of [begin, end), having prefetched the neighbourhood of event
// i + kPrefetchAhead in a map with a one-cell border (no per-event test for the last events).
template <class Cell, class Visit>
[[gnu::always_inline]] inline void for_each_prefetching_neighbourhood(const Cell* map, std::size_t stride,
                                                                      const std::uint16_t* x, const std::uint16_t* y,
                                                                      std::size_t begin, std::size_t end, Visit&& visit) {
  std::size_t i = begin;
  for (; i + kPrefetchAhead < end; ++i) {
    prefetch_neighbourhood(map, stride, x[i + kPrefetchAhead], y[i + kPrefetchAhead]);
    visit(i);
  }
  for (; i < end; ++i) visit(i);
}

}  // namespace evlib::ops::detail
