#pragma once
// Decimation (tonic's Decimation(n)): each pixel counts its events and keeps every n-th one
// (the n-th, 2n-th, ...), both polarities together (docs/processing.md "Decimation").
// Streaming: the per-pixel counts carry across apply() calls, so batch boundaries do not matter.
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

class DecimationFilter {
 public:
  DecimationFilter(SensorSize sensor, std::uint32_t n);

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events
  // outside the sensor are dropped and counted nowhere.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  void reset();

  SensorSize sensor() const noexcept { return sensor_; }
  std::uint32_t n() const noexcept { return n_; }

 private:
  SensorSize sensor_;
  std::uint32_t n_;
  std::vector<std::uint32_t> counts_;  // events seen since the pixel's last kept one
};

}  // namespace evlib::ops
