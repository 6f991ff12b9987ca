#pragma once
// Event predicates: a time window, a region of interest and a polarity. Readers push them into
// their decode loops (an event that fails is never written to a column); apply() is the same
// predicate over a batch, the reference that pushed-down filtering must equal.
#include <cstdint>
#include <limits>

#include "evlib/event_batch.hpp"

namespace evlib {

struct EventFilter {
  std::int64_t t0 = std::numeric_limits<std::int64_t>::min();  // time window [t0, t1), µs
  std::int64_t t1 = std::numeric_limits<std::int64_t>::max();
  std::uint32_t x0 = 0, x1 = 0x10000;  // region of interest [x0, x1) x [y0, y1)
  std::uint32_t y0 = 0, y1 = 0x10000;
  std::uint8_t polarities = 3;          // bit 0: keep OFF (p = 0), bit 1: keep ON (p = 1)

  bool active() const noexcept {
    return t0 != std::numeric_limits<std::int64_t>::min() || t1 != std::numeric_limits<std::int64_t>::max() ||
           x0 != 0 || x1 < 0x10000 || y0 != 0 || y1 < 0x10000 || polarities != 3;
  }
  bool has_time_window() const noexcept {
    return t0 != std::numeric_limits<std::int64_t>::min() || t1 != std::numeric_limits<std::int64_t>::max();
  }
  bool accepts(std::int64_t t, std::uint32_t x, std::uint32_t y, std::uint32_t p) const noexcept {
    return t >= t0 && t < t1 && x >= x0 && x < x1 && y >= y0 && y < y1 && ((polarities >> (p & 1)) & 1);
  }
  // Keeps the events of batch that pass, in order (in place; a batch that shares its columns
  // gets a copy of its own first); returns how many remain.
  std::size_t apply(EventBatch& batch) const;
  bool operator==(const EventFilter&) const = default;
};

}  // namespace evlib
