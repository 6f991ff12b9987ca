#include "evlib/ops/fast_decay.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "float_order.hpp"

namespace evlib::ops {
namespace {

// Gaps below this many µs take their decay from a table (512 KiB of floats, within a core's L2
// here): on uniform random events over 640x480 the typical gap of a 4x4 cell is ~20 ms, and 2^17
// µs covers all but ~0.1 % of them. The table is filled a block of gaps at a time, on the first
// use of a gap of the block: a table costs no exp2f calls until it is used, and a stream of short
// gaps fills only the first blocks. An entry not filled yet holds a NaN (no decay factor is one),
// so the event loop's test of "is this filled?" is on the value it loads anyway.
constexpr std::size_t kTabulatedGaps = 1 << 17;
constexpr std::size_t kGapsPerBlock = 512;

// dv-processing's decay factor: exp2f of the negated float gap over the float half-life.
float decay_of(std::int64_t gap, float half_life) { return std::exp2(-static_cast<float>(gap) / half_life); }

}  // namespace

namespace detail {

// The decay factor of each gap below kTabulatedGaps for one half-life. Several filters (on
// several threads) may use one table: a block is filled by the one filter that claims it, and
// read by the others only once they have seen it marked filled; a filter that meets a block
// being filled by another computes its gap directly instead of waiting.
class GapDecayTable {
 public:
  explicit GapDecayTable(float half_life)
      : half_life_(half_life), decay_(std::make_unique_for_overwrite<float[]>(kTabulatedGaps)) {
    std::fill_n(decay_.get(), kTabulatedGaps, std::numeric_limits<float>::quiet_NaN());
  }

  float half_life() const noexcept { return half_life_; }

  // The decay of each gap below kTabulatedGaps, or NaN while its block is not filled. Each entry
  // is written once, from NaN to its value, by the filter that fills the block; a relaxed atomic
  // load (a plain load on x86) sees one or the other, and either is usable as it stands.
  float* values() const noexcept { return decay_.get(); }

  // The decay of a gap below kTabulatedGaps: fills its block when no filter has claimed it yet;
  // computes the gap alone when another filter is filling the block now.
  float fill(std::size_t gap) noexcept {
    std::atomic<std::uint8_t>& state = block_state_[gap / kGapsPerBlock];
    std::uint8_t seen = kEmpty;
    if (state.compare_exchange_strong(seen, kFilling, std::memory_order_acquire, std::memory_order_acquire)) {
      const std::size_t first = gap / kGapsPerBlock * kGapsPerBlock;
      for (std::size_t g = first; g < first + kGapsPerBlock; ++g)
        std::atomic_ref<float>(decay_[g]).store(decay_of(static_cast<std::int64_t>(g), half_life_),
                                                std::memory_order_relaxed);
      state.store(kFilled, std::memory_order_release);
    }
    return decay_of(static_cast<std::int64_t>(gap), half_life_);
  }

 private:
  static constexpr std::uint8_t kEmpty = 0, kFilling = 1, kFilled = 2;

  const float half_life_;
  std::unique_ptr<float[]> decay_;
  std::array<std::atomic<std::uint8_t>, kTabulatedGaps / kGapsPerBlock> block_state_{};
};

}  // namespace detail

namespace {

// The tables of the first few half-lives a process uses (a program uses one or two), kept for
// its life so that a new filter finds the gaps an earlier one filled (on 1 M random events at
// 640x480, a fresh table's exp2f calls were a third of a new filter's time). A slot is set once,
// by compare-exchange, and never cleared: no lock to hold across fork(), at most 2 MiB. Other
// half-lives get a table of their filter's own.
constexpr std::size_t kKeptTables = 4;
std::array<std::atomic<detail::GapDecayTable*>, kKeptTables> kept_tables{};

std::shared_ptr<detail::GapDecayTable> gap_decay_table(float half_life) {
  for (std::atomic<detail::GapDecayTable*>& slot : kept_tables) {
    detail::GapDecayTable* table = slot.load(std::memory_order_acquire);
    if (table == nullptr) {
      auto fresh = std::make_unique<detail::GapDecayTable>(half_life);
      // On failure `table` is the table another thread put there first, and `fresh` goes.
      if (slot.compare_exchange_strong(table, fresh.get(), std::memory_order_acq_rel, std::memory_order_acquire))
        table = fresh.release();  // the slot owns it from now on
    }
    if (table->half_life() == half_life) return {table, [](detail::GapDecayTable*) {}};  // kept, not freed
  }
  return std::make_shared<detail::GapDecayTable>(half_life);
}

// What the common events' loop reads, in locals: the keep flags (uint8_t) may alias anything, so
// members read through `this` would be reloaded per event.
template <class Cell>
struct DecayLoop {
  const std::int64_t* t;
  const std::uint16_t* x;
  const std::uint16_t* y;
  std::uint8_t* keep;
  Cell* cells;
  const std::uint32_t* row_offset_of_y;
  const std::uint32_t* column_of_x;
  float* decay;  // the table's values (GapDecayTable::values)
  std::uint32_t width, height;
  float threshold;
};

// The events from `i` on, up to the first whose decay is not in the table yet (a gap of 2^17 µs
// or more, or a block not filled): returns that event's index, or n. A function of its own, with
// no call in it, so that every pointer stays in a register (with the rare cases' calls in the
// same loop, GCC spilled four of them and reloaded them per event: 42 instructions an event).
// dv-processing's arithmetic, in its order: exp2f of the negated float gap over the float
// half-life, then counter * decay + 1 in float.
template <class Cell>
[[gnu::noinline]] std::size_t tabulated_run(const DecayLoop<Cell>& loop, std::size_t i, std::size_t n) {
  const std::int64_t* t = loop.t;
  const std::uint16_t* x = loop.x;
  const std::uint16_t* y = loop.y;
  std::uint8_t* keep = loop.keep;
  Cell* cells = loop.cells;
  const std::uint32_t* row_offset_of_y = loop.row_offset_of_y;
  const std::uint32_t* column_of_x = loop.column_of_x;
  float* decay_of_gap = loop.decay;
  const std::uint32_t width = loop.width, height = loop.height;
  const float threshold = loop.threshold;
  for (; i < n; ++i) {
    if (x[i] >= width || y[i] >= height) [[unlikely]] {
      keep[i] = 0;  // off the sensor: dropped, no state changed
      continue;
    }
    Cell& cell = cells[std::size_t{row_offset_of_y[y[i]]} + column_of_x[x[i]]];
    // A negative gap (an event before its cell's last one) is a huge one here; times 2^63 apart
    // overflow: both go to rare_event.
    std::int64_t gap;
    if (__builtin_sub_overflow(t[i], cell.last, &gap) || static_cast<std::uint64_t>(gap) >= kTabulatedGaps)
        [[unlikely]]
      return i;
    const float decay = std::atomic_ref<float>(decay_of_gap[gap]).load(std::memory_order_relaxed);
    if (decay != decay) [[unlikely]] return i;  // NaN: the block is not filled yet
    cell.last = t[i];
    cell.counter = detail::rounded(cell.counter * decay) + 1.f;
    keep[i] = cell.counter > threshold;
  }
  return n;
}

}  // namespace

FastDecayFilter::FastDecayFilter(const FastDecayOptions& options)
    : options_(options),
      cell_columns_(options.subdivision ? options.sensor.width / options.subdivision + 1 : 0),
      half_life_(static_cast<float>(options.half_life_us)) {
  detail::require_sensor(options.sensor, "fast-decay filter");
  if (options.half_life_us <= 0) throw std::invalid_argument("fast-decay filter: the half-life must be positive");
  if (options.subdivision == 0) throw std::invalid_argument("fast-decay filter: the subdivision factor must be positive");
  const std::uint32_t sub = options.subdivision;
  column_of_x_.resize(options.sensor.width);
  for (std::uint32_t x = 0; x < options.sensor.width; ++x) column_of_x_[x] = x / sub;
  row_offset_of_y_.resize(options.sensor.height);
  for (std::uint32_t y = 0; y < options.sensor.height; ++y)
    row_offset_of_y_[y] = static_cast<std::uint32_t>(y / sub * cell_columns_);
  gap_decay_ = gap_decay_table(half_life_);
  reset();
}

void FastDecayFilter::reset() {
  const std::size_t cells = cell_columns_ * (options_.sensor.height / options_.subdivision + 1);
  cells_.assign(cells, Cell{});
}

std::size_t FastDecayFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "fast-decay filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "fast-decay filter");
  const DecayLoop<Cell> loop{events.t().data(),    events.x().data(),     events.y().data(),
                             keep.data(),           cells_.data(),         row_offset_of_y_.data(),
                             column_of_x_.data(),   gap_decay_->values(),      options_.sensor.width,
                             options_.sensor.height, options_.noise_threshold};
  const std::size_t n = events.size();
  for (std::size_t i = 0; (i = tabulated_run(loop, i, n)) < n; ++i) rare_event(events, i, keep[i]);
  return static_cast<std::size_t>(std::count(keep.begin(), keep.end(), std::uint8_t{1}));
}

// An event of the sensor whose gap is not in the table yet (2^17 µs or more, or a block not
// filled): the same arithmetic, with exp2f called or the block filled.
void FastDecayFilter::rare_event(EventView events, std::size_t i, std::uint8_t& keep) {
  const std::int64_t t = events.t()[i];
  Cell& cell = cells_[std::size_t{row_offset_of_y_[events.y()[i]]} + column_of_x_[events.x()[i]]];
  std::int64_t gap;
  if (!__builtin_sub_overflow(t, cell.last, &gap) && static_cast<std::uint64_t>(gap) < kTabulatedGaps) {
    apply_decay(cell, t, gap_decay_->fill(static_cast<std::size_t>(gap)), keep);
    return;
  }
  // The exact gap rounded once to float, also past int64 (times 2^63 apart): its magnitude is
  // the modular difference, its sign the order of the times.
  const std::uint64_t modular = static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(cell.last);
  const float float_gap = t >= cell.last ? static_cast<float>(modular) : -static_cast<float>(0 - modular);
  apply_decay(cell, t, std::exp2(-float_gap / half_life_), keep);
}

void FastDecayFilter::apply_decay(Cell& cell, std::int64_t t, float decay, std::uint8_t& keep) const {
  cell.last = t;
  cell.counter = detail::rounded(cell.counter * decay) + 1.f;
  keep = cell.counter > options_.noise_threshold;
}

}  // namespace evlib::ops
