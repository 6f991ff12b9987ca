#pragma once
// Background-activity filter: keeps an event when a neighbouring pixel fired recently. Three
// conventions, as the references define them (docs/processing.md "Background activity").
// Streaming: the timestamp map carries across apply() calls, so batch boundaries do not matter.
#include <cstdint>
#include <memory>
#include <span>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

namespace detail {
class TimeGrid;
}

enum class BackgroundActivityConvention {
  // dv-processing BackgroundActivityNoiseFilter: keep if one of the 8 in-sensor neighbours (not
  // the pixel itself) has t - last < duration; last starts at 0; the pixel's own last = t after.
  kDvProcessing,
  // jAER BackgroundActivityFilter (letFirstEventThrough): keep if the pixel's own cell holds a
  // time with t - cell < duration, or holds none yet; then an event on an interior pixel
  // (1 <= x <= W-2, 1 <= y <= H-2) writes t into the cells of its 8 neighbours.
  kJaer,
  // tonic Denoise: the pixel's own value becomes t + duration first (values start at duration),
  // then keep if one of the 4 in-sensor edge neighbours holds a value > t.
  kTonicDenoise,
};

class BackgroundActivityFilter {
 public:
  BackgroundActivityFilter(SensorSize sensor, std::int64_t duration_us, BackgroundActivityConvention convention);
  ~BackgroundActivityFilter();
  BackgroundActivityFilter(BackgroundActivityFilter&&) noexcept;
  BackgroundActivityFilter& operator=(BackgroundActivityFilter&&) noexcept;

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events are
  // processed in the given order; events outside the sensor are dropped and change no state.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  void reset();

  SensorSize sensor() const noexcept { return sensor_; }
  std::int64_t duration_us() const noexcept { return duration_; }
  BackgroundActivityConvention convention() const noexcept { return convention_; }

 private:
  SensorSize sensor_;
  std::int64_t duration_;
  BackgroundActivityConvention convention_;
  // The last time of each pixel (tonic: last time + duration), 32-bit relative times on a grid
  // with a one-pixel border that never lets an event pass (src/ops/time_grid.hpp).
  std::unique_ptr<detail::TimeGrid> grid_;
};

}  // namespace evlib::ops
