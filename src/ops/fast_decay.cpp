#include "evlib/ops/fast_decay.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "float_order.hpp"

namespace evlib::ops {
namespace {

// Gaps below this many µs take their decay from a table (512 KiB of floats, within a core's L2
// here): on uniform random events over 640x480 the typical gap of a 4x4 cell is ~20 ms, and 2^17
// µs covers all but ~0.1 % of them. The table is filled on first use of each gap, so building a
// filter costs no exp2f calls and a stream pays one per distinct gap.
constexpr std::size_t kTabulatedGaps = 1 << 17;
constexpr float kNotYet = std::numeric_limits<float>::quiet_NaN();  // exp2f never gives NaN here

// dv-processing's decay factor: exp2f of the negated float gap over the float half-life.
float decay_of(std::int64_t gap, float half_life) { return std::exp2(-static_cast<float>(gap) / half_life); }

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
  decay_of_gap_.assign(kTabulatedGaps, kNotYet);
  reset();
}

void FastDecayFilter::reset() {
  const std::size_t cells = cell_columns_ * (options_.sensor.height / options_.subdivision + 1);
  counters_.assign(cells, 0.f);
  last_.assign(cells, 0);
}

std::size_t FastDecayFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "fast-decay filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "fast-decay filter");
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const SensorSize sensor = options_.sensor;
  const float threshold = options_.noise_threshold;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::size_t cell = std::size_t{row_offset_of_y_[y[i]]} + column_of_x_[x[i]];
    // dv-processing's arithmetic, in its order: exp2f of the negated float gap over the float
    // half-life, then counter * decay + 1 in float.
    const std::int64_t gap = t[i] - last_[cell];
    float decay;
    if (static_cast<std::uint64_t>(gap) < kTabulatedGaps) {
      float& known = decay_of_gap_[static_cast<std::size_t>(gap)];
      if (std::isnan(known)) [[unlikely]] known = decay_of(gap, half_life_);
      decay = known;
    } else {
      decay = decay_of(gap, half_life_);
    }
    last_[cell] = t[i];
    counters_[cell] = detail::rounded(counters_[cell] * decay) + 1.f;
    const bool pass = counters_[cell] > threshold;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
