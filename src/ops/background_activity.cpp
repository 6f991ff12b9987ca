#include "evlib/ops/background_activity.hpp"

#include <limits>
#include <stdexcept>

#include "prefetch.hpp"

namespace evlib::ops {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
// For dv-processing, a border cell must fail t - cell < duration for every t: the most negative
// time does (t - kFarPast overflows for no realistic t: both are far from the int64 limits).
constexpr std::int64_t kFarPast = std::numeric_limits<std::int64_t>::min() / 4;
// For tonic, a border cell must fail cell > t.
constexpr std::int64_t kNotAfter = std::numeric_limits<std::int64_t>::min();

struct Grid {
  std::size_t stride;  // width + 2
  std::size_t at(std::uint16_t x, std::uint16_t y) const noexcept { return (std::size_t{y} + 1) * stride + x + 1; }
};

std::size_t run_dv(EventView ev, SensorSize s, std::int64_t duration, std::int64_t* map, std::uint8_t* keep) {
  const Grid g{std::size_t{s.width} + 2};
  const std::int64_t* t = ev.t().data();
  const std::uint16_t* x = ev.x().data();
  const std::uint16_t* y = ev.y().data();
  std::size_t kept = 0;
  for (std::size_t i = 0, n = ev.size(); i < n; ++i) {
    if (i + detail::kPrefetchAhead < n)
      detail::prefetch_neighbourhood(map, s, x[i + detail::kPrefetchAhead], y[i + detail::kPrefetchAhead]);
    if (!s.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::int64_t ti = t[i];
    const std::size_t c = g.at(x[i], y[i]);
    const std::int64_t* up = map + c - g.stride;
    const std::int64_t* down = map + c + g.stride;
    const bool pass = (ti - up[-1] < duration) | (ti - up[0] < duration) | (ti - up[1] < duration) |
                      (ti - map[c - 1] < duration) | (ti - map[c + 1] < duration) |
                      (ti - down[-1] < duration) | (ti - down[0] < duration) | (ti - down[1] < duration);
    map[c] = ti;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

std::size_t run_jaer(EventView ev, SensorSize s, std::int64_t duration, std::int64_t* map, std::uint8_t* keep) {
  const Grid g{std::size_t{s.width} + 2};
  const std::int64_t* t = ev.t().data();
  const std::uint16_t* x = ev.x().data();
  const std::uint16_t* y = ev.y().data();
  std::size_t kept = 0;
  for (std::size_t i = 0, n = ev.size(); i < n; ++i) {
    if (i + detail::kPrefetchAhead < n)
      detail::prefetch_neighbourhood(map, s, x[i + detail::kPrefetchAhead], y[i + detail::kPrefetchAhead]);
    if (!s.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::int64_t ti = t[i];
    const std::size_t c = g.at(x[i], y[i]);
    const std::int64_t own = map[c];
    const bool pass = own == kNever || ti - own < duration;
    const bool interior = x[i] >= 1 && y[i] >= 1 && x[i] + 2u <= s.width && y[i] + 2u <= s.height;
    if (interior) {
      std::int64_t* up = map + c - g.stride;
      std::int64_t* down = map + c + g.stride;
      up[-1] = up[0] = up[1] = ti;
      map[c - 1] = map[c + 1] = ti;
      down[-1] = down[0] = down[1] = ti;
    }
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

std::size_t run_tonic(EventView ev, SensorSize s, std::int64_t duration, std::int64_t* map, std::uint8_t* keep) {
  const Grid g{std::size_t{s.width} + 2};
  const std::int64_t* t = ev.t().data();
  const std::uint16_t* x = ev.x().data();
  const std::uint16_t* y = ev.y().data();
  std::size_t kept = 0;
  for (std::size_t i = 0, n = ev.size(); i < n; ++i) {
    if (i + detail::kPrefetchAhead < n)
      detail::prefetch_neighbourhood(map, s, x[i + detail::kPrefetchAhead], y[i + detail::kPrefetchAhead]);
    if (!s.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    const std::int64_t ti = t[i];
    const std::size_t c = g.at(x[i], y[i]);
    map[c] = ti + duration;
    const bool pass = (map[c - 1] > ti) | (map[c + 1] > ti) | (map[c - g.stride] > ti) | (map[c + g.stride] > ti);
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace

BackgroundActivityFilter::BackgroundActivityFilter(SensorSize sensor, std::int64_t duration_us,
                                                   BackgroundActivityConvention convention)
    : sensor_(sensor), duration_(duration_us), convention_(convention) {
  detail::require_sensor(sensor, "background-activity filter");
  if (duration_us < 0) throw std::invalid_argument("background-activity filter: the duration must not be negative");
  reset();
}

void BackgroundActivityFilter::reset() {
  const std::size_t stride = std::size_t{sensor_.width} + 2;
  std::int64_t inside = 0;
  std::int64_t border = 0;
  switch (convention_) {
    case BackgroundActivityConvention::kDvProcessing: inside = 0, border = kFarPast; break;
    case BackgroundActivityConvention::kJaer: inside = kNever, border = kNever; break;
    case BackgroundActivityConvention::kTonicDenoise: inside = duration_, border = kNotAfter; break;
  }
  map_.assign(stride * (std::size_t{sensor_.height} + 2), border);
  for (std::size_t row = 1; row <= sensor_.height; ++row)
    for (std::size_t col = 1; col <= sensor_.width; ++col) map_[row * stride + col] = inside;
}

std::size_t BackgroundActivityFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "background-activity filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "background-activity filter");
  if (events.empty()) return 0;
  switch (convention_) {
    case BackgroundActivityConvention::kDvProcessing: return run_dv(events, sensor_, duration_, map_.data(), keep.data());
    case BackgroundActivityConvention::kJaer: return run_jaer(events, sensor_, duration_, map_.data(), keep.data());
    case BackgroundActivityConvention::kTonicDenoise:
      return run_tonic(events, sensor_, duration_, map_.data(), keep.data());
  }
  return 0;
}

}  // namespace evlib::ops
