#pragma once
// What the processing operations (include/evlib/ops/) share: the sensor geometry they index
// into, index ranges of a window, and the keep mask the filters write (docs/processing.md).
#include <cstddef>
#include <cstdint>
#include <span>

#include "evlib/event_batch.hpp"
#include "evlib/int128.hpp"

namespace evlib::ops {

struct SensorSize {
  std::uint32_t width = 0;
  std::uint32_t height = 0;

  std::size_t pixels() const noexcept { return std::size_t{width} * height; }
  bool contains(std::uint16_t x, std::uint16_t y) const noexcept { return x < width && y < height; }
};

// Events [begin, end) of a view: one window of a slicing.
struct IndexRange {
  std::size_t begin = 0;
  std::size_t end = 0;

  std::size_t size() const noexcept { return end - begin; }
  friend bool operator==(const IndexRange&, const IndexRange&) = default;
};

// The events whose keep flag is non-zero, in order, as a new batch (keep.size() == events.size()).
EventBatch select_events(EventView events, std::span<const std::uint8_t> keep);

namespace detail {
// Throws std::invalid_argument naming `operation` unless `events` has the columns in `columns`
// (ColumnBits) and `keep` (when given) holds one flag per event.
void require_columns(EventView events, unsigned columns, const char* operation);
void require_keep_size(EventView events, std::span<std::uint8_t> keep, const char* operation);
void require_sensor(SensorSize sensor, const char* operation);
// The machine's physical memory in bytes (2^62 when the system does not say): outputs sized from
// the events (window counts) larger than this are refused up front with their size, where an
// allocation would take seconds and then fail without saying why.
double physical_memory_bytes() noexcept;
}  // namespace detail

}  // namespace evlib::ops
