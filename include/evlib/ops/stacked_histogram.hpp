#pragma once
// RVT's stacked histogram (uzh-rpg/RVT StackedHistogram and its window extraction): per window,
// event counts in (polarity, time bin, y, x), time binned in float32 exactly as RVT's torch code
// does, counts cut off, optionally wrapped at 256 first as RVT's fast mode does, optionally
// downsampled by 2 as RVT picks rows and columns (docs/processing.md "Stacked histogram").
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

struct StackedHistogramOptions {
  unsigned bins = 10;
  unsigned count_cutoff = 255;  // 0..255; RVT's configurations use 10
  bool fastmode = true;         // RVT's default: uint8 counts that wrap at 256 before the cutoff
  bool downsample_by_2 = false; // keep rows and columns 2i+1: (height / 2, width / 2)
};

// RVT's window ending at t_end_us: events with t in [t_end_us - duration_us, t_end_us], both
// ends included (t non-decreasing).
IndexRange rvt_time_window(std::span<const std::int64_t> t, std::int64_t t_end_us, std::int64_t duration_us);
// RVT's count window: the last `count` events with t <= t_end_us (fewer if there are fewer).
IndexRange rvt_count_window(std::span<const std::int64_t> t, std::int64_t t_end_us, std::size_t count);

// One window's histogram, built from any number of pieces of the window: start() with the
// window's first and last event times (RVT bins relative to them), add() the pieces in order,
// finish() into 2 * bins * out_height * out_width bytes, channel = p * bins + bin.
class StackedHistogramAccumulator {
 public:
  StackedHistogramAccumulator(SensorSize sensor, StackedHistogramOptions options);

  void start(std::int64_t t_first, std::int64_t t_last);
  // Events outside the sensor, with p > 1, or before t_first are not counted.
  void add(EventView part);
  void finish(std::span<std::uint8_t> out) const;
  // Fast mode only: one whole window's uint8 counts (wrapping at 256) added into `counts`
  // (size() bytes, not zeroed here), without the cutoff and without the accumulator's buffer.
  void count_window_into(EventView window, std::span<std::uint8_t> counts);
  // Fast mode only: one whole window's histogram, cut off, into `out` (size() bytes, zeroed by
  // the caller), without the accumulator's buffer.
  void histogram_into_zeroed(EventView window, std::span<std::uint8_t> out);
  // The same for a window given in pieces (in event order; empty pieces allowed), so that a
  // window spread over several chunks needs no copy into one: its times are those of the first
  // event of the first non-empty piece and the last event of the last one.
  void histogram_into_zeroed(std::span<const EventView> pieces, std::span<std::uint8_t> out);
  // The same into `out` whatever it holds: each bin's planes are zeroed just before its first
  // count (cheaper than zeroing the whole tensor first, whose first bins would leave the cache).
  void histogram_into(EventView window, std::span<std::uint8_t> out);
  void histogram_into(std::span<const EventView> pieces, std::span<std::uint8_t> out);

  std::size_t out_width() const noexcept { return out_width_; }
  std::size_t out_height() const noexcept { return out_height_; }
  std::size_t size() const noexcept { return 2u * options_.bins * out_width_ * out_height_; }

 private:
  void set_times(std::int64_t t_first, std::int64_t t_last);
  // zero_bins: counts not zeroed yet; each bin's planes are zeroed before its first count.
  void count_pieces_into(std::span<const EventView> pieces, std::span<std::uint8_t> counts, bool zero_bins);
  void histogram_into(std::span<const EventView> pieces, std::span<std::uint8_t> out, bool out_is_zeroed);
  void find_bin_starts();
  // Calls add(cell) for each event of part counted in the current window, and enter(bin)
  // before the first add() of each bin.
  template <class Add, class Enter>
  void count(EventView part, Add add, Enter enter) const;

  SensorSize sensor_;
  StackedHistogramOptions options_;
  std::size_t out_width_;
  std::size_t out_height_;
  std::int64_t t_first_ = 0;
  float span_ = 1.0f;
  std::vector<std::int64_t> bin_starts_;  // first t - t_first of each bin, then int64 max
  std::vector<std::uint8_t> counts8_;    // fast mode
  std::vector<std::int16_t> counts16_;   // otherwise
};

// The histogram of one whole window (its first and last events give the time bins).
void stacked_histogram(EventView window, SensorSize sensor, const StackedHistogramOptions& options,
                       std::span<std::uint8_t> out);
std::vector<std::uint8_t> stacked_histogram(EventView window, SensorSize sensor, const StackedHistogramOptions& options);

}  // namespace evlib::ops
