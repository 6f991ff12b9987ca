#pragma once
// Fast-decay noise filter (dv-processing's dv::noise::FastDecayNoiseFilter): the sensor is cut
// into square cells of `subdivision` pixels; each cell holds a float counter that decays with
// the given half-life and grows by one per event; an event is kept when its cell's counter,
// after adding it, exceeds the threshold (docs/processing.md "Fast-decay noise filter").
// Streaming: the counters carry across apply() calls, so batch boundaries do not matter.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

namespace detail {
class GapDecayTable;  // fast_decay.cpp: the decay factor of each short gap for one half-life
}

struct FastDecayOptions {
  SensorSize sensor;
  std::int64_t half_life_us = 10'000;  // dv-processing's defaults
  std::uint32_t subdivision = 4;
  float noise_threshold = 6.f;
};

class FastDecayFilter {
 public:
  explicit FastDecayFilter(const FastDecayOptions& options);

  // Writes 1 (kept) or 0 (dropped) per event into keep and returns the number kept. Events are
  // processed in the given order; events outside the sensor are dropped and change no state.
  std::size_t apply(EventView events, std::span<std::uint8_t> keep);
  // Back to the state before the first event (counters 0, last times 0, as dv-processing).
  void reset();

  const FastDecayOptions& options() const noexcept { return options_; }

 private:
  FastDecayOptions options_;
  std::size_t cell_columns_;  // width / subdivision + 1, as dv-processing sizes its grid
  float half_life_;           // dv-processing keeps the half-life as float microseconds
  // A cell's state, its counter and the time of its last event, in one place: an event reads
  // and writes one cache line instead of two (on random pixels, each is a miss).
  struct Cell {
    std::int64_t last = 0;
    float counter = 0.f;
  };
  std::vector<Cell> cells_;
  // Lookups computed once: the cell column of each x and the cell row offset of each y (no
  // division per event).
  std::vector<std::uint32_t> column_of_x_;
  std::vector<std::uint32_t> row_offset_of_y_;
  // The decay factor of each short gap (the same exp2f values the formula gives; longer gaps
  // call exp2f), filled as gaps are first needed and shared by the process's filters of the same
  // half-life, so that a new filter does not compute again what an earlier one did.
  std::shared_ptr<detail::GapDecayTable> gap_decay_;

  void rare_event(EventView events, std::size_t i, std::uint8_t& keep);
  void apply_decay(Cell& cell, std::int64_t t, float decay, std::uint8_t& keep) const;
};

}  // namespace evlib::ops
