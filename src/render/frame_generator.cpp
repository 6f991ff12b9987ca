#include "evlib/render/frame_generator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "evlib/error.hpp"
#include "evlib/int128.hpp"
#include "evlib/ops/common.hpp"
#include "evlib/render/overlay.hpp"

namespace evlib::render {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Index of the first event at or after t (time assumed non-decreasing).
std::size_t first_at_or_after(std::span<const std::int64_t> t, std::int64_t when) {
  return static_cast<std::size_t>(std::ranges::lower_bound(t, when) - t.begin());
}

// The sensor, refused when rendering its frames would pass the machine's memory: the RGB frame
// (3 bytes a pixel), the accumulator's state (up to 8 for the decay modes' cells), the levels and
// the frames an encoder holds, at least 16 bytes a pixel. A sensor size inferred from one stray
// event at x = y = 65535 (65536 x 65536: 69 GB) otherwise ran into the system's OOM killer.
ops::SensorSize within_memory(ops::SensorSize sensor) {
  constexpr double kBytesPerPixel = 16;
  const double bytes = kBytesPerPixel * static_cast<double>(sensor.width) * static_cast<double>(sensor.height);
  const double memory = ops::detail::physical_memory_bytes();
  if (bytes > memory) {
    char what[240];
    std::snprintf(what, sizeof what,
                  "render: a %ux%u frame needs about %.3g GB to render, more than this machine's %.3g GB: give a smaller "
                  "sensor size (--width/--height, width=/height=)",
                  sensor.width, sensor.height, bytes / 1e9, memory / 1e9);
    throw InvalidArgument(what);
  }
  return sensor;
}

}  // namespace

std::uint64_t FrameSchedule::frames_before(std::int64_t end) const {
  if (end <= origin) return 0;
  // Slices start at origin + round(k * period): the count of k with that < end, found from the
  // estimate and corrected for the rounding.
  // slice_start in 128 bits: near the int64 limit the next slice's start passes it.
  const auto start = [this](std::uint64_t j) { return int128{origin} + static_cast<int128>(std::round(double(j) * period)); };
  auto k = static_cast<std::uint64_t>(std::max(0.0, std::floor((double(end) - double(origin)) / period)));
  while (k > 0 && start(k - 1) >= end) --k;
  while (start(k) < end) ++k;
  return k;
}

double frame_period_us(const RenderOptions& options) {
  if (!(options.fps > 0) || !std::isfinite(options.fps)) throw InvalidArgument("render: --fps must be a positive number");
  if (!(options.speed > 0) || !std::isfinite(options.speed)) throw InvalidArgument("render: --speed must be a positive number");
  if (options.accumulate_us < 1) throw InvalidArgument("render: the accumulation time must be at least 1 us");
  if (options.from_us && options.to_us && *options.from_us >= *options.to_us)
    throw InvalidArgument("render: --from must be before --to");
  const double period = 1e6 * options.speed / options.fps;
  if (!(period >= 1.0) || period > 1e15)
    throw InvalidArgument("render: one frame would cover " + std::to_string(period) +
                          " us of events (speed * 1e6 / fps must be between 1 us and 1e15 us)");
  return period;
}

std::int64_t frame_origin(const RenderOptions& options, std::int64_t t_first) {
  if (options.from_us) return *options.from_us;
  const auto whole = std::max<std::int64_t>(1, std::llround(frame_period_us(options)));
  return floor_div(t_first, whole) * whole;
}

FrameGenerator::FrameGenerator(BatchSource source, ops::SensorSize sensor, RenderOptions options)
    : source_(std::move(source)),
      options_(std::move(options)),
      accumulator_(within_memory(sensor), options_.mode),
      rgb_(3 * sensor.pixels()) {
  schedule_.period = frame_period_us(options_);
  if (options_.to_us) stop_ = *options_.to_us;
  frame_.width = sensor.width;
  frame_.height = sensor.height;
  refuse_end_past_bound();
}

void FrameGenerator::refuse_end_past_bound() const {
  if (!stop_ || !options_.events_end_bound_us) return;
  const std::int64_t bound = *options_.events_end_bound_us;
  // Two frames more than refuse_empty_tail allows: the first frame after the last event starts
  // up to a period and a µs (frame starts are rounded to whole µs) after it, a period being at
  // least a µs, and the last event lies at or before the bound. Refused whether or not an event
  // lies in the range rendered (the old check needs one): frames of nothing past the recording.
  const double frames = (static_cast<double>(*stop_) - static_cast<double>(bound)) / schedule_.period;
  if (frames > static_cast<double>(kMaxEmptyLeadingFrames) + 2.0)
    refuse_end(frames, "after the recording's end (no event after %lld us, by its time index)", bound);
}

void FrameGenerator::refuse_end(double frames, const char* after, std::int64_t t) const {
  char what[200];
  std::snprintf(what, sizeof what, "%.3g frames ", frames);
  const std::size_t used = std::strlen(what);
  std::snprintf(what + used, sizeof what - used, after, static_cast<long long>(t));
  throw InvalidArgument("render: the end at " + std::to_string(*stop_) + " us lies " + what +
                        "; give an end nearer the events");
}

void FrameGenerator::refuse_empty_lead(std::int64_t first_end) const {
  // A --from far before the events (0 on a recording with Unix times) would make billions of
  // background frames before the first event: refused, before any frame is given out.
  const double empty = (static_cast<double>(first_t_) - static_cast<double>(first_end)) / schedule_.period;
  if (empty > static_cast<double>(kMaxEmptyLeadingFrames)) {
    char what[160];
    std::snprintf(what, sizeof what, "%.3g empty frames before the first event at %lld us", empty,
                  static_cast<long long>(first_t_));
    throw InvalidArgument(std::string("render: the start (--from / t_start) lies ") + what +
                          "; give a start nearer the events");
  }
}

void FrameGenerator::refuse_empty_tail(std::uint64_t k) const {
  // The mirror of refuse_empty_lead: an end far past the events (--at 1e9s on a 10 s recording)
  // would render billions of frames without events, one after the other, before the last one.
  // Counted in floating point from frame k's start: an end near 2^63 has frame starts past int64.
  const double frames = (static_cast<double>(*stop_) - static_cast<double>(schedule_.slice_start(k))) / schedule_.period;
  if (frames > static_cast<double>(kMaxEmptyLeadingFrames))
    refuse_end(frames, "without events after the last event at %lld us", last_t_);
}

std::size_t FrameGenerator::held_events() const noexcept {
  std::size_t n = 0;
  for (const EventBatch& b : held_) n += b.size();
  return n;
}

bool FrameGenerator::pull() {
  while (true) {
    std::optional<EventBatch> batch = source_();
    if (!batch) {
      exhausted_ = true;
      if (!stop_ && any_event_) {
        // Only the stream's ends are compared (a full check would cost a pass over every time):
        // a last event before the first would end the frames before they start, with "no
        // events to render" for a file full of them.
        if (last_t_ < first_t_) {
          throw InvalidArgument("render: the events are not in time order: the last (t = " + std::to_string(last_t_) +
                                " us) comes before the first (t = " + std::to_string(first_t_) + " us); sort them by time");
        }
        stop_ = last_t_ + 1;
      }
      return false;
    }
    if (batch->empty()) continue;
    if (!batch->view().has_t()) throw InvalidArgument("render: the events have no t column");
    // Events before --from or from --to on are not shown (a Scan has filtered them already;
    // batches given directly may hold them).
    EventBatch kept = *batch;
    const auto t = kept.t();
    const std::size_t begin = options_.from_us ? first_at_or_after(t, *options_.from_us) : 0;
    const std::size_t end = options_.to_us ? first_at_or_after(t, *options_.to_us) : t.size();
    if (begin >= end) {
      if (options_.to_us && end < t.size() && t.back() >= *options_.to_us) {
        // Past the end: nothing later can be shown.
        exhausted_ = true;
        return false;
      }
      continue;
    }
    kept = kept.slice(begin, end);
    if (!any_event_) {
      any_event_ = true;
      first_t_ = kept.t().front();
      if (!origin_known_) {
        schedule_.origin = frame_origin(options_, kept.t().front());
        origin_known_ = true;
      }
    }
    last_t_ = kept.t().back();
    held_.push_back(std::move(kept));
    max_held_ = std::max(max_held_, held_events());
    return true;
  }
}

void FrameGenerator::drop_before(std::int64_t t) {
  while (!held_.empty() && held_.front().t().back() < t) held_.pop_front();
}

const Frame* FrameGenerator::next() {
  if (!origin_known_) {
    if (options_.from_us) {
      schedule_.origin = *options_.from_us;
      origin_known_ = true;
    } else {
      while (!any_event_ && !exhausted_) pull();
      if (!any_event_) return nullptr;  // no events and no --from: no frames
    }
  }
  const std::uint64_t k = next_index_;
  const std::int64_t start = schedule_.slice_start(k);
  const std::int64_t end = schedule_.slice_end(k);
  const bool decay = is_decay(options_.mode.mode);
  std::int64_t window_start = decay ? start : end - options_.accumulate_us;
  if (options_.from_us) window_start = std::max(window_start, *options_.from_us);
  // What the next frame's window still needs; anything wholly before it is dropped once added.
  const std::int64_t next_needs = decay ? end : schedule_.slice_end(k + 1) - options_.accumulate_us;

  // Chunks are added to the frame as they arrive and dropped as soon as no later window needs
  // them, so that a long time between frames (low --fps, a decay mode's whole period) holds
  // chunks for the next window only, not every event of the gap.
  accumulator_.begin_window();
  std::uint64_t added = 0;
  std::size_t added_chunks = 0;  // held_[0, added_chunks) are in this frame already
  const auto add_chunk = [&](const EventBatch& b) {
    const auto t = b.t();
    if (t.back() < window_start || t.front() >= end) return;
    const std::size_t lo = first_at_or_after(t, window_start);
    const std::size_t hi = first_at_or_after(t, end);
    if (lo >= hi) return;
    accumulator_.add(b.view().slice(lo, hi));
    added += hi - lo;
  };
  const auto add_chunks_before_end = [&] {
    for (; added_chunks < held_.size() && held_[added_chunks].t().back() < end; ++added_chunks)
      add_chunk(held_[added_chunks]);
    for (; added_chunks > 0 && held_.front().t().back() < next_needs; --added_chunks) held_.pop_front();
  };
  // Everything before `end` must be seen: pull until an event at or after it, or the end.
  add_chunks_before_end();
  while (!exhausted_ && (held_.empty() || held_.back().t().back() < end)) {
    pull();
    add_chunks_before_end();
  }
  if (k == 0 && any_event_) refuse_empty_lead(end);
  if (exhausted_ && any_event_ && stop_ && !tail_checked_ && start > last_t_) {
    refuse_empty_tail(k);
    tail_checked_ = true;
  }
  // Ending here leaves the accumulator and held_ changed: harmless, as every later call ends too.
  if (exhausted_ && (!stop_ || start >= *stop_)) return nullptr;
  if (stop_ && start >= *stop_) return nullptr;
  for (std::size_t i = added_chunks; i < held_.size(); ++i) add_chunk(held_[i]);
  accumulator_.render(window_start, end, rgb_);
  if (options_.overlay)
    draw_overlay(rgb_, frame_.width, frame_.height, end,
                 double(added) * 1e6 / double(std::max<std::int64_t>(end - window_start, 1)), options_.mode.palette);
  frame_.index = k;
  frame_.t_us = end;
  frame_.window_start_us = window_start;
  frame_.events = added;
  frame_.rgb = rgb_;
  ++next_index_;
  drop_before(next_needs);
  return &frame_;
}

}  // namespace evlib::render
