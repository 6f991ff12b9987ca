#include "evlib/ops/fast_decay.hpp"

#include <cmath>
#include <stdexcept>

#include "float_order.hpp"

namespace evlib::ops {

FastDecayFilter::FastDecayFilter(const FastDecayOptions& options)
    : options_(options),
      cell_columns_(options.subdivision ? options.sensor.width / options.subdivision + 1 : 0),
      half_life_(static_cast<float>(options.half_life_us)) {
  detail::require_sensor(options.sensor, "fast-decay filter");
  if (options.half_life_us <= 0) throw std::invalid_argument("fast-decay filter: the half-life must be positive");
  if (options.subdivision == 0) throw std::invalid_argument("fast-decay filter: the subdivision factor must be positive");
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
  const std::uint32_t sub = options_.subdivision;
  const float threshold = options_.noise_threshold;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::size_t cell = std::size_t{y[i] / sub} * cell_columns_ + x[i] / sub;
    // dv-processing's arithmetic, in its order: exp2f of the negated float gap over the float
    // half-life, then counter * decay + 1 in float.
    const float decay = std::exp2(-static_cast<float>(t[i] - last_[cell]) / half_life_);
    last_[cell] = t[i];
    counters_[cell] = detail::rounded(counters_[cell] * decay) + 1.f;
    const bool pass = counters_[cell] > threshold;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
