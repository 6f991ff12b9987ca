#pragma once
// Spatio-temporal correlation filter (Guo & Delbruck, as jAER's SpatioTemporalCorrelationFilter):
// keeps an event when at least k pixels of its 3x3 neighbourhood fired within the correlation
// time (docs/processing.md "STCF"). Streaming: the timestamp map carries across apply() calls.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

namespace detail {
class TimeGrid;
}

struct StcfOptions {
  std::int64_t correlation_time_us = 30000;
  int min_correlated = 5;            // k, 1..9
  bool include_self = false;         // count the pixel's own last event (older jAER versions did)
  bool let_first_through = true;     // a pixel's first event passes (jAER's default)
  // jAER's neighbourhood: its loop ends at its column width - 2 and row height - 2, so its last
  // column and row never count as neighbours and an event on them does not see its own column
  // (row). jAER's y counts from the bottom (evlib's y = height - 1 - jAER's, as evlib reads its
  // files): here the last column and the first row (y = 0). Off (default): the 3x3 neighbourhood
  // clipped to the sensor.
  bool jaer_border = false;
  // jAER's polaritiesMustMatch (on by default in its current version): a neighbour counts only
  // when its last event had this event's polarity (p != 0 is ON). Needs the p column.
  bool polarities_must_match = false;
  // jAER's filterAlternativePolarityShotNoiseEnabled with its shotNoiseCorrelationTimeS (off by
  // default, 1 ms when on): an event that passed the correlation test is still dropped when its
  // pixel's last event had the other polarity and came at most this long before (t - last <=
  // shot_noise_time_us; a pixel's first event is never). Needs the p column.
  std::optional<std::int64_t> shot_noise_time_us;
};

class StcfFilter {
 public:
  StcfFilter(SensorSize sensor, StcfOptions options);
  ~StcfFilter();
  StcfFilter(StcfFilter&&) noexcept;
  StcfFilter& operator=(StcfFilter&&) noexcept;

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events are
  // processed in the given order; events outside the sensor are dropped and change no state.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  void reset();

  SensorSize sensor() const noexcept { return sensor_; }
  const StcfOptions& options() const noexcept { return options_; }

 private:
  SensorSize sensor_;
  StcfOptions options_;
  // The last time of each pixel, 32-bit relative times on a grid with a one-pixel border that
  // never correlates (src/ops/time_grid.hpp).
  std::unique_ptr<detail::TimeGrid> grid_;
  // polarities_must_match or shot_noise_time_us: each pixel's last polarity (0 OFF, 1 ON; kNoPolarity none) on the
  // grid's layout, one-cell border included, so that a row of the neighbourhood loads as 4 bytes.
  std::vector<std::uint8_t> polarity_;
  std::size_t polarity_stride_ = 0;
};

}  // namespace evlib::ops
