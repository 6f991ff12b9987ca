#pragma once
// The per-pixel times the neighbourhood filters (background activity, STCF) read around each
// event. On a large sensor and random pixels every 3x3 read is a cache miss, and the number of
// cache lines touched is what these filters cost: cells are therefore 32-bit times relative to a
// base (half the memory of int64 times: 3.7 MB instead of 7.4 at 1280x720), on a grid with a
// one-cell border so neighbour reads need no bounds test.
//
// The results stay exactly those of int64 times, for any timestamps. A filter only asks "does
// this cell hold a time above this threshold?" and stores times (t, or t + an offset). The grid
// covers a window of 2^32 times around its base; before a piece of the events runs, the grid
// checks that every threshold and stored time of the piece falls inside the window, and
// otherwise moves the base (rebase). Times that leave the window on a rebase become one of two
// markers, kBelow (a time under every threshold the window allows: compares false) or kAbove
// (over every one: compares true), and keep their exact value in a 64-bit side array, so a
// later rebase restores them. A piece whose times span more than the window is run in halves.
// Streams that would rebase often (times jumping back and forth by ~hours) and durations of
// 2^30 µs or more switch the grid to int64 cells until reset() (the wide mode), so rebases cost
// at most a few cells per event processed.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "evlib/ops/common.hpp"

namespace evlib::ops::detail {

// Bits of GridView::recent(): bit 4 * row + column, rows and columns 0..2 from the top left of
// the 3x3 neighbourhood (column 3 of each row is never set).
inline constexpr unsigned kEightAround = 0x757;  // the 8 neighbours, not the pixel itself
inline constexpr unsigned kCentre = 0x020;

// The number of cells set in a mask of GridView::recent(): the three row counts (each at most 3,
// in its own nibble) added, then the nibbles summed by one multiplication.
constexpr int cells_set_by_rows(unsigned bits) noexcept {
  const unsigned per_row = (bits & 0x111u) + ((bits >> 1) & 0x111u) + ((bits >> 2) & 0x111u);
  return static_cast<int>((per_row * 0x111u) >> 8 & 0xFu);
}

// The popcnt instruction where the ISA has it; baseline x86-64 (what the Python wheel targets)
// has not, and std::popcount there is a call to libgcc's __popcountdi2 per event. kPopcnt: the
// caller is an AVX2 kernel (src/core/avx2_dispatch.hpp, compiled for POPCNT) into which this is
// inlined.
template <bool kPopcnt = false>
[[gnu::always_inline]] inline int cells_set(unsigned bits) noexcept {
#if defined(__POPCNT__)
  return std::popcount(bits);
#else
  if constexpr (kPopcnt) return __builtin_popcount(bits);
  else return cells_set_by_rows(bits);
#endif
}

// What the kernel loop sees of the grid: pixel (x, y) at cells[(y + 1) * stride + x + 1]; each
// row has two border cells on the right (stride = width + 3) so that a row of the neighbourhood
// loads as four cells.
template <class Cell>
struct GridView {
  static constexpr Cell kNone = std::numeric_limits<Cell>::min();  // never held a time; below every threshold

  Cell* cells;
  std::size_t stride;
  std::int64_t base;

  Cell* at(std::uint16_t x, std::uint16_t y) const noexcept { return cells + (std::size_t{y} + 1) * stride + x + 1; }
  // A time (threshold or stored value) as a cell value; the grid has checked it fits.
  Cell relative(std::int64_t t) const noexcept { return static_cast<Cell>(t - base); }

  // Which cells of the 3x3 neighbourhood around c hold a time above threshold (bits as above).
  unsigned recent(const Cell* c, Cell threshold) const noexcept {
#if defined(__SSE2__)
    if constexpr (sizeof(Cell) == 4) {
      // Three rows of four cells, compared at once; the masks packed to bytes, one bit each.
      const __m128i above = _mm_set1_epi32(threshold);
      const Cell* first = c - stride - 1;
      const __m128i top = _mm_cmpgt_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(first)), above);
      const __m128i middle = _mm_cmpgt_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(first + stride)), above);
      const __m128i bottom = _mm_cmpgt_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(first + 2 * stride)), above);
      const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(top, middle), _mm_packs_epi32(bottom, bottom));
      return static_cast<unsigned>(_mm_movemask_epi8(bytes)) & 0x777u;
    }
#endif
    unsigned bits = 0;
    for (int row = 0; row < 3; ++row)
      for (int col = 0; col < 3; ++col)
        bits |= unsigned{c[(row - 1) * static_cast<std::ptrdiff_t>(stride) + col - 1] > threshold} << (4 * row + col);
    return bits;
  }
};

// What a filter's loop reads (the event columns, the sensor) and writes (the keep flags). Loops
// take it by value: the keep writes (uint8_t) may alias anything, so fields read through a
// reference would be reloaded per event.
struct FilterColumns {
  const std::int64_t* t;
  const std::uint16_t* x;
  const std::uint16_t* y;
  std::uint8_t* keep;
  SensorSize sensor;

  FilterColumns(EventView events, std::span<std::uint8_t> flags, SensorSize s)
      : t(events.t().data()), x(events.x().data()), y(events.y().data()), keep(flags.data()), sensor(s) {}
};

// Whether every event of [begin, end) lies on the sensor (one pass the compiler vectorises): the
// usual case, for which the filters run a loop without the per-event test.
inline bool all_on_sensor(const FilterColumns& e, std::size_t begin, std::size_t end) {
  std::uint16_t max_x = 0, max_y = 0;
  for (std::size_t i = begin; i < end; ++i) {
    max_x = std::max(max_x, e.x[i]);
    max_y = std::max(max_y, e.y[i]);
  }
  return e.sensor.contains(max_x, max_y);
}

class TimeGrid {
 public:
  // Per event at time t the filter compares cells with t + threshold_offset and stores
  // t + store_offset. initial: the time every pixel holds before the first event (none: kNone);
  // the border cells hold none.
  TimeGrid(SensorSize sensor, std::optional<std::int64_t> initial, std::int64_t threshold_offset,
           std::int64_t store_offset);

  void reset();

  // Runs kernel(view, begin, end) -> kept over events [0, n) of the time column t, in pieces the
  // grid holds exactly (usually one), with a GridView<std::int32_t> or GridView<std::int64_t>;
  // returns the sum of kept.
  template <class Kernel>
  std::size_t run(const std::int64_t* t, std::size_t n, Kernel&& kernel) {
    return run_piece(t, 0, n, kernel);
  }

  // A filter's apply() over this grid: checks the batch (filter names the filter in errors), then
  // runs loop(columns, view, begin, end) -> kept over it as run() does; returns the number kept.
  template <class Loop>
  std::size_t apply(EventView events, std::span<std::uint8_t> keep, const char* filter, Loop&& loop) {
    require_keep_size(events, keep, filter);
    require_columns(events, kColumnT | kColumnX | kColumnY, filter);
    if (events.empty()) return 0;
    const FilterColumns e(events, keep, sensor_);
    return run(e.t, events.size(), [&](auto view, std::size_t begin, std::size_t end) {
      return loop(e, view, begin, end);
    });
  }

 private:
  static constexpr std::int32_t kNone = GridView<std::int32_t>::kNone;
  static constexpr std::int32_t kBelow = kNone + 1;
  static constexpr std::int32_t kAbove = std::numeric_limits<std::int32_t>::max();
  // Thresholds and stored times relative to the base lie in [kLowest, kHighest]: strictly between
  // the markers, so that kBelow compares below and kAbove above every one of them.
  static constexpr std::int64_t kLowest = std::int64_t{kBelow} + 1;
  static constexpr std::int64_t kHighest = std::int64_t{kAbove} - 1;

  template <class Kernel>
  std::size_t run_piece(const std::int64_t* t, std::size_t begin, std::size_t end, Kernel& kernel) {
    if (begin == end) return 0;
    if (wide_mode_ && !within(t + begin, end - begin, int64_floor(), int64_top())) {
      const auto [lowest, highest] = time_range(t + begin, t + end);
      throw_past_int64(lowest, highest);  // int64 cells: t plus the offsets must fit them too
    }
    if (!wide_mode_ && !within(t + begin, end - begin, window_floor(), window_top())) {
      const auto [lowest, highest] = time_range(t + begin, t + end);
      // In 128 bits: times a span of 2^63 or more apart must not wrap into a window that seems
      // to hold them.
      const int128 lo = int128{lowest} + low_offset_, hi = int128{highest} + high_offset_;
      if (lo < std::numeric_limits<std::int64_t>::min() || hi > std::numeric_limits<std::int64_t>::max())
        throw_past_int64(lowest, highest);
      if (!cover(lo, hi) && !wide_mode_) {
        // The piece spans more than the window (a single event never does).
        const std::size_t middle = begin + (end - begin) / 2;
        return run_piece(t, begin, middle, kernel) + run_piece(t, middle, end, kernel);
      }
    }
    if (wide_mode_) return kernel(GridView<std::int64_t>{wide_.data(), stride_, 0}, begin, end);
    rebase_budget_ = std::min(rebase_budget_ + (end - begin), kSavedRebases * rebase_cost());
    return kernel(GridView<std::int32_t>{narrow_.data(), stride_, base_}, begin, end);
  }

  // The least and greatest event time whose threshold and stored time the window holds and int64
  // holds (t + offset within int64: the kernels compute them in int64).
  std::int64_t window_floor() const noexcept {
    return clamped(std::max<int128>(int128{base_} + kLowest, std::numeric_limits<std::int64_t>::min()) - low_offset_);
  }
  std::int64_t window_top() const noexcept {
    return clamped(std::min<int128>(int128{base_} + kHighest, std::numeric_limits<std::int64_t>::max()) - high_offset_);
  }
  // The least and greatest event time whose threshold and stored time int64 holds (wide mode).
  std::int64_t int64_floor() const noexcept { return clamped(int128{std::numeric_limits<std::int64_t>::min()} - low_offset_); }
  std::int64_t int64_top() const noexcept { return clamped(int128{std::numeric_limits<std::int64_t>::max()} - high_offset_); }
  static std::int64_t clamped(int128 v) noexcept {
    return static_cast<std::int64_t>(std::clamp<int128>(v, std::numeric_limits<std::int64_t>::min(),
                                                          std::numeric_limits<std::int64_t>::max()));
  }

  // Whether every time lies in [lo, hi] (the usual case: one pass the compiler vectorises). One
  // unsigned comparison per time (t - lo wraps around below lo): baseline x86-64 has no 64-bit
  // vector comparison, and two signed ones cost twice the instructions there.
  static bool within(const std::int64_t* t, std::size_t n, std::int64_t lo, std::int64_t hi) {
    if (hi < lo) return n == 0;
    const std::uint64_t from = static_cast<std::uint64_t>(lo);
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - from;
    bool outside = false;
    for (std::size_t i = 0; i < n; ++i) outside |= static_cast<std::uint64_t>(t[i]) - from > span;
    return !outside;
  }

  // The smallest and largest time of a non-empty range (a loop the compiler vectorises).
  static std::pair<std::int64_t, std::int64_t> time_range(const std::int64_t* first, const std::int64_t* last) {
    std::int64_t lowest = *first, highest = *first;
    for (const std::int64_t* p = first; p != last; ++p) {
      lowest = std::min(lowest, *p);
      highest = std::max(highest, *p);
    }
    return {lowest, highest};
  }

  // Makes the window hold [lo, hi] (thresholds and stored times), moving the base when needed;
  // false when it cannot, or when it switched to the wide mode instead.
  bool cover(int128 lo, int128 hi);
  // std::invalid_argument: a time's threshold or stored time (t plus the filter's offsets) is
  // past an int64 limit.
  [[noreturn]] void throw_past_int64(std::int64_t lowest, std::int64_t highest) const;
  // A rebase rewrites every cell; it is paid for with events run since (a quarter of a cell each),
  // with up to kSavedRebases in hand.
  static constexpr std::size_t kSavedRebases = 4;
  std::size_t rebase_cost() const noexcept { return narrow_.size() / 4 + 1; }
  void rebase(std::int64_t new_base);
  void widen();

  SensorSize sensor_;
  std::size_t stride_;
  std::optional<std::int64_t> initial_;
  std::int64_t low_offset_;   // min(threshold, store) offsets
  std::int64_t high_offset_;  // max of them
  bool starts_wide_;
  bool wide_mode_ = false;
  std::int64_t base_ = 0;
  std::size_t rebase_budget_ = 0;  // in events
  std::vector<std::int32_t> narrow_;
  // Wide mode: every cell's time. Narrow mode: the exact times of the kBelow and kAbove cells.
  std::vector<std::int64_t> wide_;
};

}  // namespace evlib::ops::detail
