#pragma once
// The per-event loop of the modes whose pixel state lies beyond the core's own caches (7-15 MB
// at 1280x720): each event's pixel is prefetched well before it is visited, so that many misses
// are in flight instead of one at a time.
#include <cstddef>
#include <cstdint>

#include "evlib/ops/common.hpp"
#include "ops/pixel_cells.hpp"

namespace evlib::render::detail {

// visit(k, pixel) for every event k of [0, n) on the sensor, in order (pixel = y * width + x),
// after __builtin_prefetch(state_of(pixel), 1) for the event ops::detail::kCellPrefetchAhead
// later (ops/pixel_cells.hpp; state_of may be given an index off the state, see there).
template <class StateOf, class Visit>
inline void for_each_pixel_prefetched(const std::uint16_t* x, const std::uint16_t* y, std::size_t n,
                                      ops::SensorSize sensor, StateOf&& state_of, Visit&& visit) {
  ops::detail::for_each_pixel_cell_prefetched<false>(x, y, nullptr, n, sensor, state_of, visit);
}

}  // namespace evlib::render::detail
