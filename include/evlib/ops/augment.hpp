#pragma once
// Seeded augmentations' per-event kernels (docs/processing.md "Augmentations"): random drop,
// spatial and time jitter, uniform noise. Every random number comes from a counter-based
// generator: the draw for (seed, stream, index) is a pure function of those three, where index
// is the event's position in the whole stream, so the result does not depend on how the stream
// is cut into batches (pass each batch's first index).
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

// Independent sequences of draws, one per use, so that no two uses share a number.
enum class RandomStream : std::uint64_t {
  kDropEvent = 1,
  kSpatialJitter = 2,
  kTimeJitter = 3,
  kNoiseX = 4,
  kNoiseY = 5,
  kNoiseP = 6,
  kNoiseT = 7,
  kParameters = 8,  // per-input parameters (crop origin, flip decision, ...), indexed by the caller
};

// 64 random bits: SplitMix64's finaliser applied to a key mixed from the seed, stream and index.
std::uint64_t counter_bits(std::uint64_t seed, RandomStream stream, std::uint64_t index) noexcept;
// Uniform in [0, 1), 53 bits.
double counter_uniform(std::uint64_t seed, RandomStream stream, std::uint64_t index) noexcept;

// keep[i] = 0 with probability `probability`, independently per event (index first_index + i).
std::size_t drop_events(double probability, std::uint64_t seed, std::uint64_t first_index, std::span<std::uint8_t> keep);

struct SpatialJitterOptions {
  double var_x = 1;  // tonic's parameter names: the covariance [[var_x, sigma_xy], [sigma_xy, var_y]]
  double var_y = 1;
  double sigma_xy = 0;
};

// x' = trunc(x + dx), y' = trunc(y + dy) with (dx, dy) ~ N(0, covariance) (tonic's float sum cast
// back to an integer). The results may leave the sensor (negative, or past the edge).
void spatial_jitter(EventView events, const SpatialJitterOptions& options, std::uint64_t seed,
                    std::uint64_t first_index, std::span<std::int32_t> x_out, std::span<std::int32_t> y_out);

// t' = trunc(t + std * z), z ~ N(0, 1), in float64 as tonic computes it.
void time_jitter(std::span<const std::int64_t> t, double std_us, std::uint64_t seed, std::uint64_t first_index,
                 std::span<std::int64_t> t_out);

// `count` noise events (indices first_index...): x, y uniform on the sensor, p uniform on {0, 1},
// t = trunc(t_low + (t_high - t_low) * u) in [t_low, t_high), in generation order (not sorted).
struct NoiseEvents {
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;
};
NoiseEvents uniform_noise(std::size_t count, SensorSize sensor, std::int64_t t_low, std::int64_t t_high,
                          std::uint64_t seed, std::uint64_t first_index);

}  // namespace evlib::ops
