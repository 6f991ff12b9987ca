#pragma once
// Event times kept per pixel as 32-bit offsets from a base (half the memory of int64 times, so
// half the bytes a frame of a large sensor reads), for as long as every time fits; cell 0 stands
// for time 0, the maps' initial time. The last-timestamp map and the rendering's time-decay mode
// use them, and turn to int64 cells for good at the first time that does not fit.
#include <cstdint>
#include <optional>

namespace evlib::ops::detail {

// Narrow cells hold t - base in 1 .. 2^32 - 1 (0: no event, time 0). The base leaves 2^24 µs
// (16.8 s) below the first time for events out of order, and ~71 minutes above it.
inline constexpr std::uint64_t kNarrowBelowFirst = std::uint64_t{1} << 24;
inline constexpr std::uint64_t kNarrowCells = 0xFFFFFFFFu;  // values 1 .. kNarrowCells

// The base for narrow cells whose first event is at `first`, or none when the window (base,
// base + 2^32) would pass an int64 limit (int64 cells from the start): times inside it then grow
// with their cells.
inline std::optional<std::int64_t> narrow_base(std::int64_t first) noexcept {
  std::int64_t base = 0, top = 0;
  if (__builtin_sub_overflow(first, static_cast<std::int64_t>(kNarrowBelowFirst), &base) ||
      __builtin_add_overflow(base, static_cast<std::int64_t>(kNarrowCells), &top))
    return std::nullopt;
  return base;
}

// The narrow cell of time t (t - base, as unsigned), which fits when it is in 1 .. kNarrowCells.
inline bool fits_narrow(std::uint64_t since_base) noexcept { return since_base - 1 < kNarrowCells; }

// The time of a narrow cell.
inline std::int64_t narrow_time(std::uint32_t cell, std::int64_t base) noexcept { return cell == 0 ? 0 : base + cell; }

}  // namespace evlib::ops::detail
