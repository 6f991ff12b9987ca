#pragma once
// Hot pixels: pixels that fire far more than the others, found over the whole input (a first
// pass counts events per pixel) and then dropped by a mask filter in a second pass, or dropped
// with a mask the caller gives (docs/processing.md "Hot pixels").
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

// First pass: events per pixel (either polarity), and the times of the first and last event in
// stream order. Events outside the sensor are not counted.
class PixelCounter {
 public:
  explicit PixelCounter(SensorSize sensor);
  void add(EventView events);

  SensorSize sensor() const noexcept { return sensor_; }
  std::span<const std::uint64_t> counts() const noexcept { return counts_; }  // row-major (y, x)
  std::uint64_t events() const noexcept { return events_; }
  std::int64_t first_t() const noexcept { return first_t_; }
  std::int64_t last_t() const noexcept { return last_t_; }

 private:
  SensorSize sensor_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t events_ = 0;
  std::int64_t first_t_ = 0;
  std::int64_t last_t_ = 0;
};

// tonic's rate rule (identify_hot_pixel): hot if count > rate_hz * (last_t - first_t) * 1e-6,
// evaluated in double as tonic does. Returns a row-major mask, 1 = hot.
std::vector<std::uint8_t> hot_pixels_by_rate(const PixelCounter& counter, double rate_hz);

// evlib's percentile rule (filter_hot_pixels): among pixels with at least one event, the
// threshold is the count at the 'nearest' rank round(q * (n - 1)) of the sorted counts, with
// q = percentile / 100; hot if count > threshold. Returns a row-major mask, 1 = hot.
std::vector<std::uint8_t> hot_pixels_by_percentile(const PixelCounter& counter, double percentile);

// Drops the events of the pixels flagged in a row-major mask (1 = drop), and events outside the
// sensor. Stateless, so batch boundaries do not matter.
class PixelMaskFilter {
 public:
  PixelMaskFilter(SensorSize sensor, std::vector<std::uint8_t> drop_mask);
  std::size_t apply(EventView events, std::span<std::uint8_t> keep) const;

  std::span<const std::uint8_t> drop_mask() const noexcept { return drop_; }

 private:
  SensorSize sensor_;
  std::vector<std::uint8_t> drop_;
};

}  // namespace evlib::ops
