#pragma once
// Time surfaces (docs/processing.md "Time surfaces"):
// - LastTimestampMap: the time of each pixel's last event (dv-processing TimeSurface), and its
//   8-bit rendering as dv-processing's generateFrame() computes it.
// - HotsTimeSurfaces: tonic's ToTimesurface (HOTS): consecutive windows of dt, after each window
//   exp(-(window end - last time) / tau) per (polarity, y, x), 0 where no event came yet.
// Both stream: state carries across add() calls, so batch boundaries do not change the output.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "evlib/column_memory.hpp"
#include "evlib/ops/common.hpp"

namespace evlib::ops {

class LastTimestampMap {
 public:
  // split_polarity: one map per polarity (p, y, x); otherwise one map, polarity ignored.
  LastTimestampMap(SensorSize sensor, bool split_polarity = false);
  // The map's memory is column memory (huge pages); a destroyed map leaves it to the next map
  // of the same size (one block kept per process), which then starts without page faults.
  ~LastTimestampMap();
  LastTimestampMap(const LastTimestampMap& other);
  LastTimestampMap& operator=(const LastTimestampMap& other);
  LastTimestampMap(LastTimestampMap&& other) noexcept;  // other is left empty (no map)
  LastTimestampMap& operator=(LastTimestampMap&& other) noexcept;

  // Events outside the sensor (or with p > 1 when split) change nothing; later events overwrite.
  void add(EventView events);
  void reset();
  // The number of cells: (2 *) width * height; 0 when moved from.
  std::size_t size() const noexcept { return size_; }
  // Row-major (p,) y, x; 0 where no event came (dv-processing's initial value). A copy: the
  // cells are held as 32-bit times relative to a base while the times allow (below).
  std::vector<std::int64_t> map() const;
  void map_into(std::span<std::int64_t> out) const;  // out.size() == size()
  // dv-processing generateFrame(): (t - min) * (255 / (max - min)) truncated, min and max over
  // every entry (never-fired ones count as 0); all zeros when max == min.
  void to_u8_scaled(std::span<std::uint8_t> out) const;
  // The block that holds the cells (for tests of its reuse by the next map).
  const void* memory() const noexcept { return memory_.data(); }

 private:
  // Cells are narrow while every stored time lies in (base_, base_ + 2^32): cell t - base_, 0 for
  // a cell no event came to. Random events touch a cell each, and the map (1.2 MB at 640x480
  // instead of 2.4) is then closer to fitting the core's cache. The first time outside that
  // window turns the cells into int64 times in place (the block is sized for them) until reset().
  std::uint32_t* narrow_cells() const noexcept { return static_cast<std::uint32_t*>(memory_.data()); }
  std::int64_t* wide_cells() const noexcept { return static_cast<std::int64_t*>(memory_.data()); }
  std::size_t add_narrow(EventView events);  // the index of the first event it could not store
  void add_wide(EventView events);
  // visit(i, cell) for each event on the sensor (and p <= 1 when split), in order.
  template <class Visit>
  void for_each_cell(EventView events, Visit visit) const;
  void require_output_size(std::size_t values) const;  // std::invalid_argument unless size()
  void widen();
  std::pair<std::int64_t, std::int64_t> extremes(bool avx2) const;  // the least and greatest time

  SensorSize sensor_;
  bool split_;
  std::size_t size_;  // (2 *) width * height; 0 when moved from
  bool wide_ = false;
  bool based_ = false;  // base_ chosen (at the first event)
  std::int64_t base_ = 0;
  ColumnMemory memory_;  // size_ int64 cells' worth
};

struct HotsOptions {
  SensorSize sensor;
  std::int64_t dt_us = 0;       // window length (tonic's dt)
  double tau_us = 0.0;          // decay constant
  unsigned polarities = 2;
  bool include_incomplete = false;  // tonic's time slicing rule for the last window
};

class HotsTimeSurfaces {
 public:
  explicit HotsTimeSurfaces(HotsOptions options);

  // Feeds events (non-decreasing t, also across calls: std::invalid_argument otherwise, and then
  // nothing changes) and appends to out the surface of every window that these events complete,
  // each polarities * height * width float64 values. Returns the number of surfaces appended.
  std::size_t add(EventView events, std::vector<double>& out);
  // Appends the surfaces tonic would still produce at the end of the input; then reset().
  std::size_t finish(std::vector<double>& out);
  void reset();

  // The same into a caller's buffer (e.g. one never written before, which a vector would first
  // fill with zeros), written from its start: it must hold surfaces_completed_by(events)
  // surfaces for add_into() and surfaces_at_finish() (0 or 1) for finish_into()
  // (std::invalid_argument otherwise, before anything changes).
  std::size_t add_into(EventView events, std::span<double> out);
  std::size_t finish_into(std::span<double> out);
  // How many surfaces add(events) would write (events in time order), and finish() now.
  std::size_t surfaces_completed_by(EventView events) const;
  std::size_t surfaces_at_finish() const noexcept;

  std::size_t surface_size() const noexcept { return memory_.size(); }
  // surfaces * surface_size(); std::length_error when that many doubles exceed the address space.
  std::size_t values_of(std::size_t surfaces) const;

 private:
  void check_order(EventView events) const;
  void emit(double* out);
  // The end of window `window` from `start`: start + (window + 1) dt, exact (128 bits: near the
  // int64 limits the ends pass them, and no time reaches those windows).
  int128 window_end(std::int64_t start, std::int64_t window) const noexcept;

  HotsOptions options_;
  std::vector<double> memory_;  // -inf: never fired (exp gives 0)
  // exp(-age / tau) by whole age in µs below 2^15 (256 KiB: a larger table misses the cache more
  // than exp costs), NaN until computed, then two slots that emit() points the other cells to:
  // NaN (an age past the table: computed) and 0 (a never-fired cell). See emit().
  static constexpr std::size_t kDecayTable = std::size_t{1} << 15;
  static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> decay_;
  bool started_ = false;
  std::int64_t start_ = 0;
  std::int64_t last_t_ = 0;
  std::int64_t window_ = 0;     // index of the open window
  std::size_t emitted_ = 0;
};

// All of tonic's ToTimesurface surfaces for one whole input.
std::vector<double> hots_time_surfaces(EventView events, const HotsOptions& options);

}  // namespace evlib::ops
