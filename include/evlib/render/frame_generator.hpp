#pragma once
// Frames from a stream of event batches, in bounded memory (docs/rendering.md "Frame times"):
// frame k covers the slice [origin + round(k * period), origin + round((k + 1) * period)) of
// event time, where period = 1e6 * speed / fps µs, and shows the events of the window
// [slice end - accumulate, slice end) (the decay modes: every event up to the slice end);
// its time is the slice end (exclusive), as OpenEB's periodic frame generator stamps frames.
// origin is --from, else the first event's time rounded down to a multiple of the period
// (OpenEB's alignment). There is one frame per slice that starts before the end: --to, else the
// last event's time + 1. Events are taken in time order (non-decreasing t, as recordings are);
// only the chunks that overlap the current window are held.
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/render/accumulation.hpp"

namespace evlib::render {

struct RenderOptions {
  ModeOptions mode;
  std::int64_t accumulate_us = 10'000;  // OpenEB viewer's default accumulation time
  double fps = 30.0;                    // frames per second of output
  double speed = 1.0;                   // event time per output time (0.1: ten times slower)
  std::optional<std::int64_t> from_us, to_us;
  bool overlay = false;  // the frame time and the window's event rate, top left (overlay.hpp)
  // A time no event of the source lies after (a file's time index: Scan::time_index()): an end
  // (to_us) more than a million frames (and two) past it is refused at construction, before an
  // event is read, not after rendering (and encoding) every frame; even when no event lies in
  // the range rendered.
  std::optional<std::int64_t> events_end_bound_us;
};

// The slices of a rendering.
struct FrameSchedule {
  std::int64_t origin = 0;
  double period = 0.0;  // µs of event time per frame

  std::int64_t slice_start(std::uint64_t k) const { return origin + static_cast<std::int64_t>(std::llround(k * period)); }
  std::int64_t slice_end(std::uint64_t k) const { return slice_start(k + 1); }
  // Frames of a rendering from origin to `end` (exclusive): the slices that start before it.
  std::uint64_t frames_before(std::int64_t end) const;
};

// The event-time period of a rendering (1e6 * speed / fps µs); InvalidArgument when it is not a
// positive finite number or the options are inconsistent (accumulate < 1, from >= to).
double frame_period_us(const RenderOptions& options);
// origin for a first event at t_first: from_us, else t_first rounded down to a multiple of the
// period rounded to whole µs.
std::int64_t frame_origin(const RenderOptions& options, std::int64_t t_first);

struct Frame {
  std::uint64_t index = 0;
  std::int64_t t_us = 0;             // the slice end (exclusive)
  std::int64_t window_start_us = 0;  // the events shown: [window_start_us, t_us)
  std::uint64_t events = 0;          // events added for this frame
  std::uint32_t width = 0, height = 0;
  std::span<const std::uint8_t> rgb;  // height * width * 3, row-major RGB; valid until next()
};

// Gives the next batch, or nothing at the end.
using BatchSource = std::function<std::optional<EventBatch>()>;

class FrameGenerator {
 public:
  FrameGenerator(BatchSource source, ops::SensorSize sensor, RenderOptions options);

  // The next frame, or nullptr after the last one.
  const Frame* next();
  double period_us() const noexcept { return schedule_.period; }
  // Events held in chunks right now (what bounds the memory besides the frame buffers).
  std::size_t held_events() const noexcept;
  std::size_t max_held_events() const noexcept { return max_held_; }

 private:
  bool pull();  // one more batch into held_; false at the end of the source
  // InvalidArgument when more than kMaxEmptyLeadingFrames frames would come before the first event.
  void refuse_empty_lead(std::int64_t first_end) const;
  // InvalidArgument when more than kMaxEmptyLeadingFrames frames would follow the last event
  // (an end, --to or --at, far past the recording), frame k being the first after it.
  void refuse_empty_tail(std::uint64_t k) const;
  // The same from options_.events_end_bound_us, at construction (frames from the bound to the end).
  void refuse_end_past_bound() const;
  // InvalidArgument "render: the end at ... us lies <frames> frames <after>; ...", `after` a
  // printf format of one %lld, given t.
  [[noreturn]] void refuse_end(double frames, const char* after, std::int64_t t) const;
  static constexpr std::uint64_t kMaxEmptyLeadingFrames = 1'000'000;
  void drop_before(std::int64_t t);

  BatchSource source_;
  RenderOptions options_;
  FrameAccumulator accumulator_;
  FrameSchedule schedule_;
  bool origin_known_ = false;
  bool exhausted_ = false;
  std::optional<std::int64_t> stop_;  // frames are the slices starting before it
  std::int64_t last_t_ = 0;
  std::int64_t first_t_ = 0;  // of the first event shown (any_event_)
  bool any_event_ = false;
  bool tail_checked_ = false;
  std::deque<EventBatch> held_;
  std::size_t max_held_ = 0;
  std::uint64_t next_index_ = 0;
  std::vector<std::uint8_t> rgb_;
  Frame frame_;
};

}  // namespace evlib::render
