#include "time_grid.hpp"

#include <stdexcept>
#include <string>

namespace evlib::ops::detail {
namespace {

// Offsets further apart than this (a duration of 2^30 µs, about 18 minutes) use int64 cells.
constexpr std::int64_t kNarrowSpan = std::int64_t{1} << 30;
// On a rebase, the lowest time of the piece lands this far above the window's floor: events
// running forward have 3 * 2^30 µs (53 minutes) before the next rebase, and times stepping back
// up to 2^30 µs need none.
constexpr std::int64_t kRoomBelow = std::int64_t{1} << 30;

}  // namespace

TimeGrid::TimeGrid(SensorSize sensor, std::optional<std::int64_t> initial, std::int64_t threshold_offset,
                   std::int64_t store_offset)
    : sensor_(sensor),
      stride_(std::size_t{sensor.width} + 3),
      initial_(initial),
      low_offset_(std::min(threshold_offset, store_offset)),
      high_offset_(std::max(threshold_offset, store_offset)),
      starts_wide_(high_offset_ - low_offset_ >= kNarrowSpan) {
  reset();
}

void TimeGrid::reset() {
  const std::size_t cells = stride_ * (std::size_t{sensor_.height} + 2);
  wide_mode_ = starts_wide_;
  base_ = 0;
  // Fill a grid: the border holds no time, the pixels the initial one (which fits a narrow
  // cell: it is 0 or a duration below kNarrowSpan).
  auto fill = [&](auto& grid, auto none, auto inside) {
    grid.assign(cells, none);
    if (!initial_) return;
    for (std::size_t row = 1; row <= sensor_.height; ++row)
      std::fill_n(grid.begin() + static_cast<std::ptrdiff_t>(row * stride_ + 1), sensor_.width, inside);
  };
  if (wide_mode_) {
    narrow_ = {};
    fill(wide_, GridView<std::int64_t>::kNone, initial_.value_or(0));
  } else {
    wide_ = {};
    fill(narrow_, kNone, static_cast<std::int32_t>(initial_.value_or(0)));
    rebase_budget_ = kSavedRebases * rebase_cost();
  }
}

bool TimeGrid::cover(int128 lo, int128 hi) {
  if (lo - base_ >= kLowest && hi - base_ <= kHighest) return true;
  if (hi - lo > kHighest - kLowest) return false;
  if (rebase_budget_ < rebase_cost()) {
    widen();
    return false;
  }
  rebase_budget_ -= rebase_cost();
  // The largest of: lo at kRoomBelow above the floor, and hi at the top (then lo is still in);
  // at most lo's own floor (lo near the int64 top), at least the least int64 (lo near the bottom).
  const int128 base = std::clamp<int128>(std::max(lo - kLowest - kRoomBelow, hi - kHighest),
                                             std::numeric_limits<std::int64_t>::min(),
                                             std::min<int128>(lo - kLowest, std::numeric_limits<std::int64_t>::max()));
  if (lo - base < kLowest || hi - base > kHighest) return false;  // not within int64: run in halves
  rebase(static_cast<std::int64_t>(base));
  return true;
}

void TimeGrid::throw_past_int64(std::int64_t lowest, std::int64_t highest) const {
  throw std::invalid_argument("neighbourhood filter: event times from " + std::to_string(lowest) + " to " +
                              std::to_string(highest) + " us with thresholds and stored times " +
                              std::to_string(low_offset_) + " to " + std::to_string(high_offset_) +
                              " us from them pass the int64 limits");
}

void TimeGrid::rebase(std::int64_t new_base) {
  for (std::size_t i = 0; i < narrow_.size(); ++i) {
    const std::int32_t cell = narrow_[i];
    if (cell == kNone) continue;
    const std::int64_t time = cell == kBelow || cell == kAbove ? wide_[i] : base_ + cell;
    const int128 relative = int128{time} - new_base;  // times and bases may lie 2^63 or more apart
    if (relative >= kLowest && relative <= kHighest) {
      narrow_[i] = static_cast<std::int32_t>(relative);
      continue;
    }
    if (wide_.empty()) wide_.resize(narrow_.size());
    wide_[i] = time;
    narrow_[i] = relative < kLowest ? kBelow : kAbove;
  }
  base_ = new_base;
}

void TimeGrid::widen() {
  wide_.resize(narrow_.size());
  for (std::size_t i = 0; i < narrow_.size(); ++i) {
    const std::int32_t cell = narrow_[i];
    if (cell == kNone) wide_[i] = GridView<std::int64_t>::kNone;
    else if (cell != kBelow && cell != kAbove) wide_[i] = base_ + cell;
  }
  narrow_ = {};
  wide_mode_ = true;
}

}  // namespace evlib::ops::detail
