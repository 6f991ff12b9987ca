#include "evlib/summary.hpp"

#include <algorithm>

namespace evlib {

void Summary::add(EventView batch) {
  const std::size_t n = batch.size();
  if (n == 0) return;
  const auto t = batch.t();
  const auto x = batch.x();
  const auto y = batch.y();
  const auto p = batch.p();
  if (events == 0) t_first = t[0];
  std::int64_t prev = events == 0 ? t[0] : t_last;
  std::int64_t tmin = t_min, tmax = t_max;
  std::uint32_t xmin = x_min, xmax = x_max, ymin = y_min, ymax = y_max;
  std::uint64_t ons = 0, back = 0;
  // Separate simple loops vectorise; one fused loop with six reductions does not.
  for (std::size_t i = 0; i < n; ++i) {
    tmin = std::min(tmin, t[i]);
    tmax = std::max(tmax, t[i]);
    back += t[i] < prev;
    prev = t[i];
  }
  for (std::size_t i = 0; i < n; ++i) {
    xmin = std::min<std::uint32_t>(xmin, x[i]);
    xmax = std::max<std::uint32_t>(xmax, x[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    ymin = std::min<std::uint32_t>(ymin, y[i]);
    ymax = std::max<std::uint32_t>(ymax, y[i]);
  }
  for (std::size_t i = 0; i < n; ++i) ons += p[i];
  t_min = tmin, t_max = tmax, x_min = xmin, x_max = xmax, y_min = ymin, y_max = ymax;
  t_last = t[n - 1];
  backward_steps += back;
  on += ons;
  off += n - ons;
  events += n;
}

double Summary::rate() const {
  const std::int64_t d = duration();
  if (d <= 0) return 0.0;
  return static_cast<double>(events) * 1e6 / static_cast<double>(d);
}

}  // namespace evlib
