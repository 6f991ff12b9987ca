#include "evlib/ops/fast_decay.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "float_order.hpp"

namespace evlib::ops {
namespace {

// Gaps below this many µs take their decay from a table (512 KiB of floats, within a core's L2
// here): on uniform random events over 640x480 the typical gap of a 4x4 cell is ~20 ms, and 2^17
// µs covers all but ~0.1 % of them. The table is filled a block of gaps at a time, on the first
// use of a gap of the block: a table costs no exp2f calls until it is used, a stream of short
// gaps fills only the first blocks, and the per-event test of "is this filled?" is on a block (it
// mispredicts once per block; a test per gap mispredicted on every new gap, ~85 000 times on
// 1 M random events).
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
      : half_life_(half_life), decay_(std::make_unique_for_overwrite<float[]>(kTabulatedGaps)) {}

  float half_life() const noexcept { return half_life_; }
  const float* values() const noexcept { return decay_.get(); }

  // Whether the block of `gap` may be read by this thread: filled now by this call, or earlier
  // by any filter. Once true, the block's values never change, so a filter remembers the block
  // as ready and reads it from then on without an atomic operation.
  bool make_ready(std::size_t gap) noexcept {
    std::atomic<std::uint8_t>& state = block_state_[gap / kGapsPerBlock];
    std::uint8_t seen = kEmpty;
    if (state.compare_exchange_strong(seen, kFilling, std::memory_order_acquire, std::memory_order_acquire)) {
      const std::size_t first = gap / kGapsPerBlock * kGapsPerBlock;
      for (std::size_t g = first; g < first + kGapsPerBlock; ++g)
        decay_[g] = decay_of(static_cast<std::int64_t>(g), half_life_);
      state.store(kFilled, std::memory_order_release);
      return true;
    }
    return seen == kFilled;  // false: another filter is filling it now
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

// A gap of a block this filter has not seen filled yet (out of line: once per block per filter).
[[gnu::noinline]] float decay_of_unready_gap(detail::GapDecayTable& table, std::uint8_t& ready, std::size_t gap) {
  ready = table.make_ready(gap);
  return ready ? table.values()[gap] : decay_of(static_cast<std::int64_t>(gap), table.half_life());
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
  block_ready_.assign(kTabulatedGaps / kGapsPerBlock, 0);
  reset();
}

void FastDecayFilter::reset() {
  const std::size_t cells = cell_columns_ * (options_.sensor.height / options_.subdivision + 1);
  cells_.assign(cells, Cell{});
}

std::size_t FastDecayFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "fast-decay filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "fast-decay filter");
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const SensorSize sensor = options_.sensor;
  const float threshold = options_.noise_threshold;
  const float half_life = half_life_;
  // Everything the loop reads through a pointer, in locals: the keep flags (uint8_t) may alias
  // anything, so members would be reloaded per event.
  detail::GapDecayTable& table = *gap_decay_;
  const float* decay_values = table.values();
  std::uint8_t* block_ready = block_ready_.data();
  Cell* cells = cells_.data();
  const std::uint32_t* row_offset_of_y = row_offset_of_y_.data();
  const std::uint32_t* column_of_x = column_of_x_.data();
  std::size_t kept = 0;
  const std::size_t n = events.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    Cell& cell = cells[std::size_t{row_offset_of_y[y[i]]} + column_of_x[x[i]]];
    // dv-processing's arithmetic, in its order: exp2f of the negated float gap over the float
    // half-life, then counter * decay + 1 in float.
    const std::int64_t gap = t[i] - cell.last;
    float decay;
    if (static_cast<std::uint64_t>(gap) < kTabulatedGaps) {
      const auto g = static_cast<std::size_t>(gap);
      if (block_ready[g / kGapsPerBlock]) [[likely]]
        decay = decay_values[g];
      else
        decay = decay_of_unready_gap(table, block_ready[g / kGapsPerBlock], g);
    } else {
      decay = decay_of(gap, half_life);
    }
    cell.last = t[i];
    cell.counter = detail::rounded(cell.counter * decay) + 1.f;
    const bool pass = cell.counter > threshold;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
