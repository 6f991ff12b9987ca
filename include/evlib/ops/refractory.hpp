#pragma once
// Refractory-period filter: drops an event that follows the previous event of its pixel (either
// polarity, kept or not) too closely. Three conventions, as the references define them
// (docs/processing.md "Refractory period"). Streaming: the per-pixel state carries across
// apply() calls, so any split of a stream into batches gives the same keep flags.
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

enum class RefractoryConvention {
  kTonic,         // tonic RefractoryPeriod: keep if t - last > period, last starts at -period
  kDvProcessing,  // dv-processing RefractoryPeriodFilter: keep if t - last >= period, last starts at 0
  kFirstKept,     // evlib filter_noise: a pixel's first event is kept, then t - last > period
};

class RefractoryFilter {
 public:
  RefractoryFilter(SensorSize sensor, std::int64_t period_us, RefractoryConvention convention);

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events are
  // processed in the given order; events outside the sensor are dropped and change no state.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  // Back to the state before the first event.
  void reset();

  SensorSize sensor() const noexcept { return sensor_; }
  std::int64_t period_us() const noexcept { return period_; }
  RefractoryConvention convention() const noexcept { return convention_; }

 private:
  SensorSize sensor_;
  std::int64_t period_;
  RefractoryConvention convention_;
  std::vector<std::int64_t> last_;
};

}  // namespace evlib::ops
