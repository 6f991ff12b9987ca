#pragma once
// dv-processing's fast-decay noise filter (noise::FastDecayNoiseFilter): the sensor is divided
// into cells of subdivision x subdivision pixels, each holding a float32 activity that halves
// every half_life µs and grows by 1 per event; an event is kept when its cell's activity, after
// adding it, exceeds the threshold (docs/processing.md "Fast decay").
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

struct FastDecayOptions {
  std::int64_t half_life_us = 10000;  // dv-processing's defaults
  unsigned subdivision = 4;
  float threshold = 6.0f;
};

class FastDecayFilter {
 public:
  FastDecayFilter(SensorSize sensor, FastDecayOptions options = {});

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events are
  // processed in the given order; events outside the sensor are dropped and change no state.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  void reset();

 private:
  SensorSize sensor_;
  FastDecayOptions options_;
  std::size_t grid_width_;
  std::vector<float> activity_;
  std::vector<std::int64_t> last_;  // time of the cell's last event, 0 before any (dv-processing)
};

}  // namespace evlib::ops
