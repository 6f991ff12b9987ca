#include "evlib/ops/hot_pixels.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <vector>

namespace evlib::ops {

PixelCounter::PixelCounter(SensorSize sensor) : sensor_(sensor) {
  detail::require_sensor(sensor, "hot-pixel counter");
  counts_.assign(sensor.pixels(), 0);
}

void PixelCounter::add(EventView events) {
  detail::require_columns(events, kColumnT | kColumnX | kColumnY, "hot-pixel counter");
  if (events.empty()) return;
  if (events_ == 0) first_t_ = events.t().front();
  last_t_ = events.t().back();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  std::uint64_t* counts = counts_.data();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!sensor_.contains(x[i], y[i])) [[unlikely]]
      continue;
    ++counts[std::size_t{y[i]} * sensor_.width + x[i]];
  }
  events_ += events.size();
}

std::vector<std::uint8_t> hot_pixels_by_rate(const PixelCounter& counter, double rate_hz) {
  const double span = static_cast<double>(counter.last_t() - counter.first_t());
  const double max_count = rate_hz * span * 1e-6;
  std::vector<std::uint8_t> hot(counter.counts().size());
  std::ranges::transform(counter.counts(), hot.begin(),
                         [&](std::uint64_t c) -> std::uint8_t { return static_cast<double>(c) > max_count; });
  return hot;
}

namespace {

// Counts below this are tallied in a histogram (32 KiB: in L1); the rare larger ones (hot pixels
// of a long recording) share its last bin and are sorted apart only when the rank falls there.
constexpr std::uint64_t kTalliedCounts = 4096;

// The count at position `rank` of the sorted non-zero counts (rank < their number): the same
// value as nth_element over them, by a histogram of the counts (one pass, no copy of the counts).
std::uint64_t count_at_rank(std::span<const std::uint64_t> counts, std::span<const std::size_t> tally,
                            std::size_t rank) {
  std::size_t below = 0;  // non-zero counts under the current value
  for (std::uint64_t value = 1; value + 1 < kTalliedCounts; ++value) {
    below += tally[value];
    if (below > rank) return value;
  }
  std::vector<std::uint64_t> large;
  for (std::uint64_t c : counts)
    if (c >= kTalliedCounts - 1) large.push_back(c);
  auto nth = large.begin() + static_cast<std::ptrdiff_t>(rank - below);
  std::ranges::nth_element(large, nth);
  return *nth;
}

}  // namespace

std::vector<std::uint8_t> hot_pixels_by_percentile(const PixelCounter& counter, double percentile) {
  if (!(percentile >= 0.0 && percentile <= 100.0))
    throw std::invalid_argument("hot pixels: the percentile must be in [0, 100]");
  const std::span<const std::uint64_t> counts = counter.counts();
  std::vector<std::size_t> tally(kTalliedCounts, 0);  // tally[0]: pixels without events
  for (std::uint64_t c : counts) ++tally[std::min(c, kTalliedCounts - 1)];
  const std::size_t active = counts.size() - tally[0];
  std::vector<std::uint8_t> hot(counts.size(), 0);
  if (active == 0) return hot;
  const double rank = std::round(percentile / 100.0 * static_cast<double>(active - 1));
  const std::uint64_t threshold = count_at_rank(counts, tally, static_cast<std::size_t>(rank));
  std::ranges::transform(counts, hot.begin(), [&](std::uint64_t c) -> std::uint8_t { return c > threshold; });
  return hot;
}

PixelMaskFilter::PixelMaskFilter(SensorSize sensor, std::vector<std::uint8_t> drop_mask)
    : sensor_(sensor), drop_(std::move(drop_mask)) {
  detail::require_sensor(sensor, "pixel mask filter");
  if (drop_.size() != sensor.pixels())
    throw std::invalid_argument("pixel mask filter: the mask must hold width * height flags");
}

std::size_t PixelMaskFilter::apply(EventView events, std::span<std::uint8_t> keep) const {
  detail::require_keep_size(events, keep, "pixel mask filter");
  detail::require_columns(events, kColumnX | kColumnY, "pixel mask filter");
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* drop = drop_.data();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const bool pass = sensor_.contains(x[i], y[i]) && !drop[std::size_t{y[i]} * sensor_.width + x[i]];
    keep[i] = pass;
    kept += pass;
  }
  return kept;
}

}  // namespace evlib::ops
