#pragma once
// Slicing a stream into windows (index ranges) by time, by event count, into N time bins or
// into N event bins, with overlap and incomplete-window rules, in tonic's convention or in a
// clean one (docs/processing.md "Slicing"). The rules need the whole input (its first and last
// time, its event count), so slicing runs over one view of all the events to slice.
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

enum class SliceConvention {
  kTonic,  // tonic.slicers, bit for bit (including the last event it drops)
  kClean,  // every event of [first, last] in a window when incomplete windows are included
};

struct TimeWindowSlicing {
  std::int64_t window_us = 0;
  std::int64_t overlap_us = 0;
  bool include_incomplete = false;
  std::optional<std::int64_t> start_us;  // default: the first event's time
  std::optional<std::int64_t> end_us;    // default: the last event's time (inclusive in kClean)
};

struct EventCountSlicing {
  std::size_t count = 0;
  std::size_t overlap = 0;
  bool include_incomplete = false;
};

struct TimeBinSlicing {
  std::size_t bins = 0;
  double overlap = 0.0;  // fraction of a bin, [0, 1)
};

struct EventBinSlicing {
  std::size_t bins = 0;
  double overlap = 0.0;  // fraction of a bin, [0, 1)
};

using Slicing = std::variant<TimeWindowSlicing, EventCountSlicing, TimeBinSlicing, EventBinSlicing>;

// The windows of `t` (non-decreasing for the time-based slicings: std::invalid_argument
// otherwise) under `slicing`. Windows may overlap, be empty, and (kTonic) leave events out.
std::vector<IndexRange> slice_events(std::span<const std::int64_t> t, const Slicing& slicing,
                                     SliceConvention convention = SliceConvention::kTonic);

}  // namespace evlib::ops
