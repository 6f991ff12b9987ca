#include "evlib/ops/decimation.hpp"

#include <stdexcept>

namespace evlib::ops {

DecimationFilter::DecimationFilter(SensorSize sensor, std::uint32_t n) : sensor_(sensor), n_(n) {
  detail::require_sensor(sensor, "decimation");
  if (n == 0) throw std::invalid_argument("decimation: n must be at least 1");
  reset();
}

void DecimationFilter::reset() { counts_.assign(sensor_.pixels(), 0); }

std::size_t DecimationFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "decimation");
  detail::require_columns(events, kColumnX | kColumnY, "decimation");
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!sensor_.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    std::uint32_t& count = counts_[std::size_t{y[i]} * sensor_.width + x[i]];
    const bool pass = ++count >= n_;
    if (pass) count = 0;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
