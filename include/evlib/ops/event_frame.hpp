#pragma once
// Event frame / histogram: counts per (polarity, y, x) for each window of a slicing, laid out
// (window, polarity, y, x) as tonic's ToFrame does (docs/processing.md "Event frame").
// accumulate_frame() adds one window's events in any number of pieces: a window split across
// batches gives the same frame.
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

enum class CountOverflow {
  kWrap,      // modular, as numpy's int16 in tonic's ToFrame (40000 events -> -25536)
  kSaturate,  // stops at the type's maximum (default)
};

struct EventFrameOptions {
  SensorSize sensor;
  unsigned polarities = 2;  // 2: channel = p; 1: both polarities counted in one channel
  CountOverflow overflow = CountOverflow::kSaturate;
};

// Adds the events into one frame of polarities * height * width counts (not zeroed first).
// Events outside the sensor, and with polarities == 2 events with p > 1, are not counted.
// T: int8/16/32/64, uint8/16/32/64, float, double (floats count exactly up to 2^24 / 2^53).
template <class T>
void accumulate_frame(EventView events, const EventFrameOptions& options, std::span<T> frame);

// One frame per window into out (windows.size() * polarities * height * width values, zeroed here).
template <class T>
void event_frames(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options,
                  std::span<T> out);

// The same into out that the caller already zeroed (e.g. fresh calloc'ed pages), saving a pass.
template <class T>
void event_frames_into_zeroed(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options,
                              std::span<T> out);

// The same into a buffer it returns.
template <class T>
std::vector<T> event_frames(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options);

}  // namespace evlib::ops
