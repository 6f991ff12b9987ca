#include "evlib/ops/augment.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace evlib::ops {
namespace {

constexpr std::uint64_t splitmix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Two independent standard normals (Box-Muller) from the uniforms at 2·index and 2·index + 1.
struct NormalPair {
  double first, second;
};
NormalPair normal_pair(std::uint64_t seed, RandomStream stream, std::uint64_t index) noexcept {
  const double u1 = counter_uniform(seed, stream, 2 * index);
  const double u2 = counter_uniform(seed, stream, 2 * index + 1);
  const double radius = std::sqrt(-2.0 * std::log1p(-u1));  // 1 - u1 is in (0, 1]: finite
  const double angle = 2.0 * std::numbers::pi * u2;
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

std::int32_t truncated(double value) {
  if (!(value > -2147483649.0 && value < 2147483648.0))
    throw std::overflow_error("spatial jitter: a jittered coordinate does not fit in 32 bits");
  return static_cast<std::int32_t>(value);
}

// A jittered time truncated to int64 (the cast of a double outside the range is undefined: in
// numpy, as in tonic, it gives INT64_MIN).
std::int64_t truncated_time(double value) {
  if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0))
    throw std::overflow_error("time jitter: a jittered time does not fit in int64");
  return static_cast<std::int64_t>(value);
}

}  // namespace

std::uint64_t counter_bits(std::uint64_t seed, RandomStream stream, std::uint64_t index) noexcept {
  // Each input goes through the finaliser before it is combined, so nearby seeds, streams and
  // indices give unrelated keys.
  const std::uint64_t key = splitmix64(splitmix64(seed) ^ (static_cast<std::uint64_t>(stream) << 56)) + index;
  return splitmix64(splitmix64(key));
}

double counter_uniform(std::uint64_t seed, RandomStream stream, std::uint64_t index) noexcept {
  return static_cast<double>(counter_bits(seed, stream, index) >> 11) * 0x1.0p-53;
}

std::size_t drop_events(double probability, std::uint64_t seed, std::uint64_t first_index, std::span<std::uint8_t> keep) {
  if (!(probability >= 0 && probability <= 1)) throw std::invalid_argument("drop events: the probability must be in [0, 1]");
  std::size_t kept = 0;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const bool pass = counter_uniform(seed, RandomStream::kDropEvent, first_index + i) >= probability;
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

void spatial_jitter(EventView events, const SpatialJitterOptions& options, std::uint64_t seed,
                    std::uint64_t first_index, std::span<std::int32_t> x_out, std::span<std::int32_t> y_out) {
  if (x_out.size() != events.size() || y_out.size() != events.size())
    throw std::invalid_argument("spatial jitter: the output columns differ in length from the events");
  detail::require_columns(events, kColumnX | kColumnY, "spatial jitter");
  const auto [var_x, var_y, sigma_xy] = options;
  if (!(var_x >= 0 && var_y >= 0 && sigma_xy * sigma_xy <= var_x * var_y))
    throw std::invalid_argument("spatial jitter: [[var_x, sigma_xy], [sigma_xy, var_y]] is not a covariance matrix");
  // Cholesky factor of the covariance: (dx, dy) = (a·z1, b·z1 + c·z2).
  const double a = std::sqrt(var_x);
  const double b = a > 0 ? sigma_xy / a : 0;
  const double c = std::sqrt(std::max(0.0, var_y - b * b));
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto [z1, z2] = normal_pair(seed, RandomStream::kSpatialJitter, first_index + i);
    x_out[i] = truncated(events.x()[i] + a * z1);
    y_out[i] = truncated(events.y()[i] + (b * z1 + c * z2));
  }
}

void time_jitter(std::span<const std::int64_t> t, double std_us, std::uint64_t seed, std::uint64_t first_index,
                 std::span<std::int64_t> t_out) {
  if (t_out.size() != t.size()) throw std::invalid_argument("time jitter: the output differs in length from the input");
  if (!(std_us >= 0)) throw std::invalid_argument("time jitter: the standard deviation must not be negative");
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double z = normal_pair(seed, RandomStream::kTimeJitter, first_index + i).first;
    t_out[i] = truncated_time(static_cast<double>(t[i]) + std_us * z);
  }
}

NoiseEvents uniform_noise(std::size_t count, SensorSize sensor, std::int64_t t_low, std::int64_t t_high,
                          std::uint64_t seed, std::uint64_t first_index) {
  detail::require_sensor(sensor, "uniform noise");
  if (t_high < t_low) throw std::invalid_argument("uniform noise: the time range is reversed");
  NoiseEvents noise;
  noise.t.resize(count);
  noise.x.resize(count);
  noise.y.resize(count);
  noise.p.resize(count);
  // The span in unsigned arithmetic: t_high - t_low may pass int64 (times 2^63 apart).
  const std::uint64_t span_us = static_cast<std::uint64_t>(t_high) - static_cast<std::uint64_t>(t_low);
  const double span = static_cast<double>(span_us);
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint64_t index = first_index + k;
    // u < 1, so u·W < W; the min() guards the one rounding that could reach W.
    const auto pick = [&](RandomStream stream, std::uint32_t size) {
      return std::min<std::uint32_t>(static_cast<std::uint32_t>(counter_uniform(seed, stream, index) * size), size - 1);
    };
    noise.x[k] = static_cast<std::uint16_t>(pick(RandomStream::kNoiseX, sensor.width));
    noise.y[k] = static_cast<std::uint16_t>(pick(RandomStream::kNoiseY, sensor.height));
    noise.p[k] = static_cast<std::uint8_t>(pick(RandomStream::kNoiseP, 2));
    // u < 1, so u·span < 2^64; rounding may reach the span itself (or past it, where the span
    // was rounded up to a double): the offset is clamped to the last time before t_high.
    const double offset = span * counter_uniform(seed, RandomStream::kNoiseT, index);
    const std::uint64_t last_offset = span_us == 0 ? 0 : span_us - 1;
    const std::uint64_t step = offset < span ? static_cast<std::uint64_t>(offset) : last_offset;
    noise.t[k] = static_cast<std::int64_t>(static_cast<std::uint64_t>(t_low) + std::min(step, last_offset));
  }
  return noise;
}

}  // namespace evlib::ops
