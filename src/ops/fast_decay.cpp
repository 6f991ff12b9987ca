#include "evlib/ops/fast_decay.hpp"

#include <cmath>
#include <stdexcept>

namespace evlib::ops {

FastDecayFilter::FastDecayFilter(SensorSize sensor, FastDecayOptions options) : sensor_(sensor), options_(options) {
  detail::require_sensor(sensor, "fast-decay filter");
  if (options.half_life_us <= 0) throw std::invalid_argument("fast-decay filter: the half-life must be positive");
  if (options.subdivision == 0) throw std::invalid_argument("fast-decay filter: the subdivision must be positive");
  grid_width_ = sensor.width / options.subdivision + 1;
  reset();
}

void FastDecayFilter::reset() {
  const std::size_t cells = grid_width_ * (sensor_.height / options_.subdivision + 1);
  activity_.assign(cells, 0.0f);
  last_.assign(cells, 0);
}

namespace {

// activity * decay + 1 with two float32 roundings, as dv-processing's build computes it: a fused
// multiply-add (which -march=x86-64-v3 allows GCC to form) would round once and can move an
// activity across the threshold.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
float decayed_plus_one(float activity, float decay) {
  const float product = activity * decay;
  return product + 1.0f;
}

}  // namespace

std::size_t FastDecayFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "fast-decay filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "fast-decay filter");
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const auto half_life = static_cast<float>(options_.half_life_us);
  const unsigned sub = options_.subdivision;
  std::size_t kept = 0;
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (!sensor_.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::size_t cell = std::size_t{y[i] / sub} * grid_width_ + x[i] / sub;
    // dv-processing: exp2f(-float(t - last) / halfLife), in float32.
    const float decay = std::exp2(-static_cast<float>(t[i] - last_[cell]) / half_life);
    activity_[cell] = decayed_plus_one(activity_[cell], decay);
    last_[cell] = t[i];
    const bool pass = activity_[cell] > options_.threshold;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
