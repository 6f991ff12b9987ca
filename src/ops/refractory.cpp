#include "evlib/ops/refractory.hpp"

#include <limits>
#include <stdexcept>

#include "prefetch.hpp"

namespace evlib::ops {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();

std::int64_t initial_last(RefractoryConvention convention, std::int64_t period) {
  switch (convention) {
    case RefractoryConvention::kTonic: return -period;
    case RefractoryConvention::kDvProcessing: return 0;
    case RefractoryConvention::kFirstKept: return kNever;
  }
  return 0;
}

// One loop per convention: the comparison is decided at compile time, not per event.
template <RefractoryConvention C>
std::size_t run(EventView events, SensorSize sensor, std::int64_t period, std::int64_t* last, std::uint8_t* keep) {
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::size_t n = events.size();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + detail::kPrefetchAhead < n) detail::prefetch_pixel(last, sensor, x[i + detail::kPrefetchAhead], y[i + detail::kPrefetchAhead]);
    if (!sensor.contains(x[i], y[i])) [[unlikely]] {
      keep[i] = 0;
      continue;
    }
    std::int64_t& previous = last[std::size_t{y[i]} * sensor.width + x[i]];
    bool pass;
    if constexpr (C == RefractoryConvention::kDvProcessing) {
      pass = t[i] - previous >= period;
    } else if constexpr (C == RefractoryConvention::kTonic) {
      pass = t[i] - previous > period;
    } else {
      pass = previous == kNever || t[i] - previous > period;
    }
    previous = t[i];
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace

RefractoryFilter::RefractoryFilter(SensorSize sensor, std::int64_t period_us, RefractoryConvention convention)
    : sensor_(sensor), period_(period_us), convention_(convention) {
  detail::require_sensor(sensor, "refractory filter");
  if (period_us < 0) throw std::invalid_argument("refractory filter: the period must not be negative");
  reset();
}

void RefractoryFilter::reset() { last_.assign(sensor_.pixels(), initial_last(convention_, period_)); }

std::size_t RefractoryFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  detail::require_keep_size(events, keep, "refractory filter");
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "refractory filter");
  if (events.empty()) return 0;
  switch (convention_) {
    case RefractoryConvention::kTonic:
      return run<RefractoryConvention::kTonic>(events, sensor_, period_, last_.data(), keep.data());
    case RefractoryConvention::kDvProcessing:
      return run<RefractoryConvention::kDvProcessing>(events, sensor_, period_, last_.data(), keep.data());
    case RefractoryConvention::kFirstKept:
      return run<RefractoryConvention::kFirstKept>(events, sensor_, period_, last_.data(), keep.data());
  }
  return 0;
}

}  // namespace evlib::ops
