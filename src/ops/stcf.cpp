#include "evlib/ops/stcf.hpp"

#include <limits>
#include <stdexcept>

#include "prefetch.hpp"

namespace evlib::ops {
namespace {
// A pixel that never fired: far enough in the past that t - kNever overflows for no realistic t
// and never correlates.
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min() / 4;
}  // namespace

StcfFilter::StcfFilter(SensorSize sensor, StcfOptions options) : sensor_(sensor), options_(options) {
  detail::require_sensor(sensor, "STCF filter");
  if (options.correlation_time_us < 0) throw std::invalid_argument("STCF filter: the correlation time must not be negative");
  if (options.min_correlated < 1 || options.min_correlated > 9)
    throw std::invalid_argument("STCF filter: min_correlated must be 1..9");
  reset();
}

void StcfFilter::reset() { map_.assign((std::size_t{sensor_.width} + 2) * (std::size_t{sensor_.height} + 2), kNever); }

std::size_t StcfFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "STCF filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "STCF filter");
  if (events.empty()) return 0;
  const std::size_t stride = std::size_t{sensor_.width} + 2;
  const std::int64_t dt = options_.correlation_time_us;
  const int k = options_.min_correlated;
  const int self = options_.include_self ? 1 : 0;
  const std::uint8_t first = options_.let_first_through ? 1 : 0;
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  std::int64_t* map = map_.data();
  std::size_t kept = 0;
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (i + detail::kPrefetchAhead < n)
      detail::prefetch_neighbourhood(map, sensor_, x[i + detail::kPrefetchAhead], y[i + detail::kPrefetchAhead]);
    if (!sensor_.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::int64_t ti = t[i];
    std::int64_t* c = map + (std::size_t{y[i]} + 1) * stride + x[i] + 1;
    if (*c == kNever) {
      *c = ti;
      keep[i] = first;
      kept += first;
      continue;
    }
    const std::int64_t* up = c - stride;
    const std::int64_t* down = c + stride;
    const int count = (ti - up[-1] < dt) + (ti - up[0] < dt) + (ti - up[1] < dt) + (ti - c[-1] < dt) +
                      (ti - c[1] < dt) + (ti - down[-1] < dt) + (ti - down[0] < dt) + (ti - down[1] < dt) +
                      self * (ti - c[0] < dt);
    const bool pass = count >= k;
    *c = ti;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
