#pragma once
// Prophesee's event preprocessors as OpenEB's C++ SDK defines them (Metavision::HistoProcessor,
// DiffProcessor, EventCubeProcessor in sdk/core/preprocessors/), in their float32 arithmetic and
// event order (docs/processing.md "Prophesee preprocessors"). Each adds the events into a
// caller-provided float tensor without zeroing it, so feeding a window's events batch after
// batch into the same tensor gives what one call over the whole window gives.
#include <cstdint>
#include <span>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

struct PropheseeNormalisation {
  float max_incr_per_pixel = 5.f;  // an event adds width_scale * height_scale / max_incr_per_pixel
  float clip = 1.f;                // values are clamped to [-clip, clip] after every addition
  float width_scale = 1.f;         // scales of an earlier downscaling of the events, if any
  float height_scale = 1.f;
};

enum class HistoLayout { kCHW, kHWC };

// HistoProcessor: (2, H, W) in CHW (channel = polarity) or (H, W, 2) in HWC;
// v = min(clip, v + increment) per event.
void prophesee_histo(EventView events, SensorSize sensor, const PropheseeNormalisation& norm, HistoLayout layout,
                     std::span<float> tensor);

// DiffProcessor: (1, H, W); v = clamp(v ± increment, -clip, clip) per event (ON +, OFF -), so the
// result depends on the order of the events.
void prophesee_diff(EventView events, SensorSize sensor, const PropheseeNormalisation& norm, std::span<float> tensor);

struct EventCubeOptions {
  std::int64_t start_us = 0;  // the window's start time (OpenEB's cur_frame_start_ts)
  std::int64_t delta_t_us = 0;
  std::uint32_t bins = 0;     // micro time bins
  bool split_polarity = true;
};

// EventCubeProcessor: (bins * P, H, W) with P = 2 (split, channel bin * 2 + p) or 1 (signed).
// Each event spreads a linear weight over the two bins around ti* = (t - start) * (bins / delta_t)
// - 0.5; contributions outside [0, bins) are dropped.
void prophesee_event_cube(EventView events, SensorSize sensor, const EventCubeOptions& cube,
                          const PropheseeNormalisation& norm, std::span<float> tensor);

}  // namespace evlib::ops
