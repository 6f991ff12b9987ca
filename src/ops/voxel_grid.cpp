#include "evlib/ops/voxel_grid.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace evlib::ops {
namespace {

// The position of an event on the time axis, in bins, as each reference computes it in float64.
struct TimeScale {
  std::int64_t t0;
  double scale;  // numerator factor: bins - 1 (E2VID) or bins (tonic)
  double span;

  double at(std::int64_t t) const noexcept { return scale * static_cast<double>(t - t0) / span; }
};

TimeScale time_scale(EventView window, const VoxelGridOptions& options) {
  const std::int64_t t0 = window.t().front();
  const std::int64_t span = window.t().back() - t0;
  if (options.convention == VoxelConvention::kE2vid)
    return {t0, static_cast<double>(options.bins) - 1.0, span == 0 ? 1.0 : static_cast<double>(span)};
  // tonic divides by zero here (NaN bins); one instant is put at the start of the grid instead.
  return {t0, static_cast<double>(options.bins), span == 0 ? 1.0 : static_cast<double>(span)};
}

// One of the two passes (left weights 1 - frac into bin, right weights frac into bin + 1), each
// in event order as numpy's add.at applies them.
template <class T, bool kRight>
void spread(EventView window, const VoxelGridOptions& options, const TimeScale& scale, T* out) {
  const std::int64_t* t = window.t().data();
  const std::uint16_t* x = window.x().data();
  const std::uint16_t* y = window.y().data();
  const std::uint8_t* p = window.p().data();
  const SensorSize s = options.sensor;
  const std::size_t plane = s.pixels();
  const auto bins = static_cast<std::int64_t>(options.bins);
  const bool all_on = options.polarity == VoxelPolarity::kAllOn;
  for (std::size_t i = 0, n = window.size(); i < n; ++i) {
    if (!s.contains(x[i], y[i])) [[unlikely]]
      continue;
    const double ts = scale.at(t[i]);
    const auto bin = static_cast<std::int64_t>(ts);  // truncation, as astype(int)
    const double frac = ts - static_cast<double>(bin);
    const double pol = (all_on || p[i] != 0) ? 1.0 : -1.0;
    const std::int64_t target = kRight ? bin + 1 : bin;
    if (target < 0 || target >= bins) continue;
    const double weight = kRight ? pol * frac : pol * (1.0 - frac);
    T& v = out[static_cast<std::size_t>(target) * plane + std::size_t{y[i]} * s.width + x[i]];
    v = static_cast<T>(static_cast<double>(v) + weight);
  }
}

template <class T>
void normalize_nonzero(std::span<T> out) {
  double sum = 0.0;
  double sum_sq = 0.0;
  std::size_t nonzero = 0;
  for (T v : out) {
    if (v == T(0)) continue;
    sum += v;
    sum_sq += static_cast<double>(v) * v;
    ++nonzero;
  }
  if (nonzero == 0) return;
  const double mean = sum / static_cast<double>(nonzero);
  const double std_dev = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(nonzero) - mean * mean));
  // E2VID would divide by zero here (NaN); a constant grid normalises to zeros instead.
  const T m = static_cast<T>(mean);
  const T sd = static_cast<T>(std_dev);
  for (T& v : out) v = (v == T(0) || sd == T(0)) ? T(0) : static_cast<T>((v - m) / sd);
}

}  // namespace

template <class T>
void voxel_grid(EventView window, const VoxelGridOptions& options, std::span<T> out) {
  detail::require_sensor(options.sensor, "voxel grid");
  if (options.bins == 0) throw std::invalid_argument("voxel grid: bins must be positive");
  const std::size_t size = std::size_t{options.bins} * options.sensor.pixels();
  if (out.size() != size)
    throw std::invalid_argument("voxel grid: the output holds " + std::to_string(out.size()) + " values, not " +
                                std::to_string(size));
  std::ranges::fill(out, T{});
  if (window.empty()) return;
  detail::require_columns(window, kAllColumns, "voxel grid");
  const TimeScale scale = time_scale(window, options);
  spread<T, false>(window, options, scale, out.data());
  spread<T, true>(window, options, scale, out.data());
  if (options.normalize) normalize_nonzero(out);
}

template <class T>
std::vector<T> voxel_grid(EventView window, const VoxelGridOptions& options) {
  std::vector<T> out(std::size_t{options.bins} * options.sensor.pixels());
  voxel_grid<T>(window, options, std::span<T>(out));
  return out;
}

template void voxel_grid<float>(EventView, const VoxelGridOptions&, std::span<float>);
template void voxel_grid<double>(EventView, const VoxelGridOptions&, std::span<double>);
template std::vector<float> voxel_grid<float>(EventView, const VoxelGridOptions&);
template std::vector<double> voxel_grid<double>(EventView, const VoxelGridOptions&);

}  // namespace evlib::ops
