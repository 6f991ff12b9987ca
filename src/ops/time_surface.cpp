#include "evlib/ops/time_surface.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "pixel_cells.hpp"

namespace evlib::ops {
namespace {
constexpr std::uint64_t kTwoTo52 = std::uint64_t{1} << 52;
}  // namespace

LastTimestampMap::LastTimestampMap(SensorSize sensor, bool split_polarity) : sensor_(sensor), split_(split_polarity) {
  detail::require_sensor(sensor, "last-timestamp map");
  reset();
}

void LastTimestampMap::reset() { map_.assign((split_ ? 2u : 1u) * sensor_.pixels(), 0); }

void LastTimestampMap::add(EventView events) {
  if (events.empty()) return;
  detail::require_columns(events, kColumnT | kColumnX | kColumnY | (split_ ? kColumnP : 0u), "last-timestamp map");
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = split_ ? events.p().data() : nullptr;
  std::int64_t* map = map_.data();
  const auto store = [map, t](std::size_t i, std::size_t cell) { map[cell] = t[i]; };
  if (split_) detail::for_each_pixel_cell<true>(x, y, p, events.size(), sensor_, store);
  else detail::for_each_pixel_cell<false>(x, y, nullptr, events.size(), sensor_, store);
}

void LastTimestampMap::to_u8_scaled(std::span<std::uint8_t> out) const {
  if (out.size() != map_.size())
    throw std::invalid_argument("last-timestamp map: the output holds " + std::to_string(out.size()) + " values, not " +
                                std::to_string(map_.size()));
  const auto [lo, hi] = std::ranges::minmax_element(map_);
  if (*lo == *hi) {
    std::ranges::fill(out, 0);
    return;
  }
  const std::int64_t min = *lo;
  const double alpha = 255.0 / static_cast<double>(*hi - min);
  const auto scaled = [alpha](double since_min) {
    return static_cast<std::uint8_t>(std::clamp(since_min * alpha, 0.0, 255.0));
  };
  const auto range = static_cast<std::uint64_t>(*hi) - static_cast<std::uint64_t>(min);
  if (range >= kTwoTo52) {
    std::ranges::transform(map_, out.begin(), [&](std::int64_t t) { return scaled(static_cast<double>(t - min)); });
    return;
  }
  // AVX2 has no int64 -> double conversion; below 2^52 one is exact by placing the integer in
  // the mantissa of 2^52 and subtracting 2^52, which vectorises (the same doubles as a cast).
  const std::int64_t* map = map_.data();
  std::uint8_t* o = out.data();
  for (std::size_t i = 0, n = map_.size(); i < n; ++i) {
    const auto since_min = static_cast<std::uint64_t>(map[i] - min);
    o[i] = scaled(std::bit_cast<double>(since_min | std::bit_cast<std::uint64_t>(0x1p52)) - 0x1p52);
  }
}

namespace {

// Room for `more` values at the end of out. A large fresh block is asked for transparent huge
// pages before it is first written: 4 KiB first-touch faults cost more than computing the
// surfaces (as for event columns, src/core/column_memory.cpp). Only the 2 MiB-aligned pages
// inside the block are advised; the advice changes no content.
void reserve_surfaces(std::vector<double>& out, std::size_t more) {
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const std::size_t before = out.capacity();
  out.reserve(out.size() + more);
  if (out.capacity() == before) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(out.data() + out.size()) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(out.data() + out.capacity()) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace

HotsTimeSurfaces::HotsTimeSurfaces(HotsOptions options) : options_(options) {
  detail::require_sensor(options.sensor, "HOTS time surface");
  if (options.dt_us <= 0) throw std::invalid_argument("HOTS time surface: dt must be positive");
  if (!(options.tau_us > 0.0)) throw std::invalid_argument("HOTS time surface: tau must be positive");
  if (options.polarities != 1 && options.polarities != 2)
    throw std::invalid_argument("HOTS time surface: polarities must be 1 or 2");
  reset();
}

void HotsTimeSurfaces::reset() {
  memory_.assign(options_.polarities * options_.sensor.pixels(), -std::numeric_limits<double>::infinity());
  started_ = false;
  window_ = 0;
  emitted_ = 0;
}

void HotsTimeSurfaces::emit(std::vector<double>& out) {
  // tonic: exp(-((i + 1) * dt + start - memory) / tau), the subtraction in float64.
  const auto end = static_cast<double>((window_ + 1) * options_.dt_us + start_);
  const double tau = options_.tau_us;
  const std::size_t at = out.size();
  out.resize(at + memory_.size());
  // The value depends on end - m alone (both whole numbers of µs below 2^53: the difference is
  // exact), so each age's exp is computed once and reused: the same expression on the same
  // double gives the same bits, and a window of a busy stream holds far fewer distinct ages
  // than cells. Ages past the table, and never-fired cells (-inf: exp gives 0), are computed.
  if (decay_.empty()) decay_.assign(std::min<std::size_t>(kDecayTable, 4 * memory_.size() + 1024), kUnknown);
  const auto table_size = static_cast<double>(decay_.size());
  double* decay = decay_.data();
  std::ranges::transform(memory_, out.begin() + static_cast<std::ptrdiff_t>(at), [&](double m) {
    const double age = end - m;
    if (age >= 0.0 && age < table_size) {
      double& v = decay[static_cast<std::size_t>(age)];
      if (std::isnan(v)) v = std::exp(-age / tau);
      return v;
    }
    return std::exp(-(end - m) / tau);
  });
  ++window_;
  ++emitted_;
}

std::size_t HotsTimeSurfaces::add(EventView events, std::vector<double>& out) {
  if (events.empty()) return 0;
  detail::require_columns(events, kColumnT | kColumnX | kColumnY | (options_.polarities == 2 ? kColumnP : 0u),
                          "HOTS time surface");
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = options_.polarities == 2 ? events.p().data() : nullptr;
  const std::size_t plane = options_.sensor.pixels();
  const std::size_t before = emitted_;
  if (!started_) {
    started_ = true;
    start_ = t[0];
    last_t_ = t[0];
  }
  std::int64_t window_end = start_ + (window_ + 1) * options_.dt_us;
  if (const std::int64_t last = t[events.size() - 1]; last >= window_end) {  // sorted: the surfaces to come
    const auto windows = static_cast<std::size_t>((last - window_end) / options_.dt_us) + 1;
    reserve_surfaces(out, windows * memory_.size());
  }
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (t[i] < last_t_)
      throw std::invalid_argument("HOTS time surface: time decreases at event " + std::to_string(i) + " of a batch");
    last_t_ = t[i];
    // An event at or past the open window's end proves that window complete (its end <= the
    // last time), so tonic keeps it.
    while (t[i] >= window_end) {
      emit(out);
      window_end += options_.dt_us;
    }
    const unsigned channel = p ? p[i] : 0u;
    if (!options_.sensor.contains(x[i], y[i]) || channel >= options_.polarities) [[unlikely]]
      continue;
    memory_[channel * plane + std::size_t{y[i]} * options_.sensor.width + x[i]] = static_cast<double>(t[i]);
  }
  return emitted_ - before;
}

std::size_t HotsTimeSurfaces::finish(std::vector<double>& out) {
  const std::size_t before = emitted_;
  if (started_) {
    // tonic keeps the open window with include_incomplete when it starts before the last event,
    // and always produces at least one window.
    const std::int64_t open_start = start_ + window_ * options_.dt_us;
    if ((options_.include_incomplete && open_start < last_t_) || emitted_ == 0) emit(out);
  }
  const std::size_t count = emitted_ - before;
  reset();
  return count;
}

std::vector<double> hots_time_surfaces(EventView events, const HotsOptions& options) {
  HotsTimeSurfaces surfaces(options);
  std::vector<double> out;
  surfaces.add(events, out);
  surfaces.finish(out);
  return out;
}

}  // namespace evlib::ops
