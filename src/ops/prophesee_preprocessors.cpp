#include "evlib/ops/prophesee_preprocessors.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "float_order.hpp"

namespace evlib::ops {
namespace {

void check(EventView events, SensorSize sensor, const PropheseeNormalisation& norm, std::size_t tensor_size,
           std::size_t expected_size, const char* operation) {
  detail::require_sensor(sensor, operation);
  detail::require_columns(events, kColumnT | kColumnX | kColumnY | kColumnP, operation);
  if (norm.max_incr_per_pixel == 0.f) throw std::invalid_argument(std::string(operation) + ": max_incr_per_pixel is 0");
  if (!std::isfinite(norm.max_incr_per_pixel))  // NaN put every touched cell at the clip value
    throw std::invalid_argument(std::string(operation) + ": max_incr_per_pixel must be a finite number");
  if (!(norm.clip > 0.f)) throw std::invalid_argument(std::string(operation) + ": the clip value must be positive");
  if (!(norm.width_scale > 0.f && norm.height_scale > 0.f))
    throw std::invalid_argument(std::string(operation) + ": the width and height scales must be positive");
  if (tensor_size != expected_size)
    throw std::invalid_argument(std::string(operation) + ": the tensor holds " + std::to_string(tensor_size) +
                                " values, " + std::to_string(expected_size) + " expected");
}

// HistoProcessor's and DiffProcessor's increment: (1 / max_incr) * (ws * hs), in that order.
float increment_of(const PropheseeNormalisation& norm) {
  return 1.f / norm.max_incr_per_pixel * (norm.width_scale * norm.height_scale);
}

}  // namespace

void prophesee_histo(EventView events, SensorSize sensor, const PropheseeNormalisation& norm, HistoLayout layout,
                     std::span<float> tensor) {
  check(events, sensor, norm, tensor.size(), 2 * sensor.pixels(), "Prophesee histo");
  const float increment = increment_of(norm);
  const std::size_t width = sensor.width, height = sensor.height;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::uint16_t x = events.x()[i], y = events.y()[i];
    if (!sensor.contains(x, y)) continue;
    const std::size_t p = events.p()[i] != 0;
    const std::size_t at = layout == HistoLayout::kCHW ? width * (height * p + y) + x : 2 * (width * y + x) + p;
    tensor[at] = std::min(norm.clip, tensor[at] + increment);
  }
}

void prophesee_diff(EventView events, SensorSize sensor, const PropheseeNormalisation& norm, std::span<float> tensor) {
  check(events, sensor, norm, tensor.size(), sensor.pixels(), "Prophesee diff");
  const float increment = increment_of(norm);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::uint16_t x = events.x()[i], y = events.y()[i];
    if (!sensor.contains(x, y)) continue;
    float& v = tensor[std::size_t{y} * sensor.width + x];
    const float step = events.p()[i] != 0 ? increment : -increment;  // increment * (2p - 1): exact
    v = std::max(-norm.clip, std::min(norm.clip, v + step));
  }
}

void prophesee_event_cube(EventView events, SensorSize sensor, const EventCubeOptions& cube,
                          const PropheseeNormalisation& norm, std::span<float> tensor) {
  const std::size_t planes = cube.split_polarity ? 2 : 1;
  if (cube.bins == 0) throw std::invalid_argument("Prophesee event cube: bins must be at least 1");
  if (cube.delta_t_us <= 0) throw std::invalid_argument("Prophesee event cube: delta_t must be positive");
  check(events, sensor, norm, tensor.size(), std::size_t{cube.bins} * planes * sensor.pixels(), "Prophesee event cube");
  // EventCubeProcessor's constants: ((1 / max_incr) * ws) * hs, and float(bins) / float(delta_t).
  const float normalisation = 1.f / norm.max_incr_per_pixel * norm.width_scale * norm.height_scale;
  const float bins_per_us = static_cast<float>(cube.bins) / static_cast<float>(cube.delta_t_us);
  const int bins = static_cast<int>(cube.bins);
  const std::size_t plane = sensor.pixels();
  const auto add = [&](int bin, std::size_t p, std::size_t pixel, float value) {
    float& v = tensor[(static_cast<std::size_t>(bin) * planes + p) * plane + pixel];
    v = std::max(-norm.clip, std::min(norm.clip, v + detail::rounded(value)));
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::uint16_t x = events.x()[i], y = events.y()[i];
    const std::int64_t since_start = events.t()[i] - cube.start_us;
    // OpenEB requires t >= start (an earlier event could write before the tensor there).
    if (!sensor.contains(x, y) || since_start < 0) continue;
    const float ti_star = detail::rounded(static_cast<float>(since_start) * bins_per_us) - 0.5f;
    if (!(ti_star < static_cast<float>(bins))) continue;  // both bins past the end (and no int overflow)
    const int left_bin = static_cast<int>(std::floor(ti_star));
    const int right_bin = left_bin + 1;
    float left = std::max(0.f, 1.f - std::abs(static_cast<float>(left_bin) - ti_star));
    float right = 1.f - left;
    const bool on = events.p()[i] != 0;
    if (!cube.split_polarity && !on) {
      left = -left;  // OpenEB multiplies by -1: exact
      right = -right;
    }
    const std::size_t p = cube.split_polarity && on ? 1 : 0;
    const std::size_t pixel = std::size_t{y} * sensor.width + x;
    if (left_bin >= 0 && left_bin < bins) add(left_bin, p, pixel, left * normalisation);
    if (right_bin < bins) add(right_bin, p, pixel, right * normalisation);
  }
}

}  // namespace evlib::ops
