#pragma once
// What the rendering tests share: a batch source over an event list cut at given places, and
// every frame of a generator collected.
#include <cstdint>
#include <optional>
#include <vector>

#include "evlib/render/frame_generator.hpp"
#include "unit/ops/ops_test_support.hpp"

namespace evlib::render::testing {

using ops::testing::Events;

struct CollectedFrame {
  std::int64_t t_us = 0, window_start_us = 0;
  std::uint64_t events = 0;
  std::vector<std::uint8_t> rgb;
};

// A source giving events [cuts[i], cuts[i + 1]) as batch i (cuts include 0 and size).
inline BatchSource source_of(const Events& events, std::vector<std::size_t> cuts) {
  auto batch = std::make_shared<EventBatch>(EventBatch::copy_of(events.view()));
  auto next = std::make_shared<std::size_t>(0);
  return [batch, cuts, next]() -> std::optional<EventBatch> {
    if (*next + 1 >= cuts.size()) return std::nullopt;
    const std::size_t i = (*next)++;
    return batch->slice(cuts[i], cuts[i + 1]);
  };
}

inline std::vector<CollectedFrame> all_frames(const Events& events, ops::SensorSize sensor, const RenderOptions& options,
                                              std::vector<std::size_t> cuts = {}) {
  if (cuts.empty()) cuts = {0, events.size()};
  FrameGenerator generator(source_of(events, cuts), sensor, options);
  std::vector<CollectedFrame> frames;
  while (const Frame* f = generator.next())
    frames.push_back({f->t_us, f->window_start_us, f->events, {f->rgb.begin(), f->rgb.end()}});
  return frames;
}

inline Rgb pixel(const std::vector<std::uint8_t>& rgb, ops::SensorSize sensor, unsigned x, unsigned y) {
  const std::size_t i = 3 * (std::size_t{y} * sensor.width + x);
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

}  // namespace evlib::render::testing
