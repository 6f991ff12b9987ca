#include "evlib/ops/background_activity.hpp"

#include <optional>
#include <stdexcept>

#include "prefetch.hpp"
#include "time_grid.hpp"

namespace evlib::ops {
namespace {

// Per convention, what an event compares the cells with (t + threshold offset: a cell is recent
// when it holds a time above it) and stores (t + store offset), and what the pixels hold first.
struct Rule {
  std::int64_t threshold_offset;
  std::int64_t store_offset;
  std::optional<std::int64_t> initial;
};
Rule rule_of(BackgroundActivityConvention c, std::int64_t duration) {
  switch (c) {
    case BackgroundActivityConvention::kDvProcessing: return {-duration, 0, 0};  // t - last < duration
    case BackgroundActivityConvention::kJaer: return {-duration, 0, std::nullopt};
    case BackgroundActivityConvention::kTonicDenoise: return {0, duration, duration};  // stored t + duration > t
  }
  return {};
}

// The three loops over events [begin, end): each reads and writes one GridView (32- or 64-bit
// cells); the border cells hold no time, so they are never recent. Each is a function of its own
// (not inlined into the grid's piece logic, whose variables would crowd the registers). run_dv's
// kOnSensor: every event of the range lies on the sensor (the usual case), and the loop has no
// per-event test.
template <bool kOnSensor, class Cell>
[[gnu::noinline]] std::size_t run_dv(const detail::FilterColumns e, const std::int64_t duration,
                                    const detail::GridView<Cell> g, std::size_t begin, std::size_t end) {
  std::size_t kept = 0;
  detail::for_each_prefetching_neighbourhood(g.cells, g.stride, e.x, e.y, begin, end, [&](std::size_t i) {
    if (!kOnSensor && !e.sensor.contains(e.x[i], e.y[i])) [[unlikely]] {
      e.keep[i] = 0;
      return;
    }
    Cell* c = g.at(e.x[i], e.y[i]);
    const bool pass = (g.recent(c, g.relative(e.t[i] - duration)) & detail::kEightAround) != 0;
    *c = g.relative(e.t[i]);
    e.keep[i] = pass;
    kept += pass;
  });
  return kept;
}

template <class Cell>
[[gnu::noinline]] std::size_t run_jaer(const detail::FilterColumns e, const std::int64_t duration,
                                       const detail::GridView<Cell> g, std::size_t begin, std::size_t end) {
  std::size_t kept = 0;
  detail::for_each_prefetching_neighbourhood(g.cells, g.stride, e.x, e.y, begin, end, [&](std::size_t i) {
    const std::uint16_t x = e.x[i], y = e.y[i];
    if (!e.sensor.contains(x, y)) [[unlikely]] {
      e.keep[i] = 0;
      return;
    }
    Cell* c = g.at(x, y);
    const bool pass = *c == g.kNone || *c > g.relative(e.t[i] - duration);
    const bool interior = x >= 1 && y >= 1 && x + 2u <= e.sensor.width && y + 2u <= e.sensor.height;
    if (interior) {
      const Cell now = g.relative(e.t[i]);
      Cell* up = c - g.stride;
      Cell* down = c + g.stride;
      up[-1] = up[0] = up[1] = now;
      c[-1] = c[1] = now;
      down[-1] = down[0] = down[1] = now;
    }
    e.keep[i] = pass;
    kept += pass;
  });
  return kept;
}

template <class Cell>
[[gnu::noinline]] std::size_t run_tonic(const detail::FilterColumns e, const std::int64_t duration,
                                        const detail::GridView<Cell> g, std::size_t begin, std::size_t end) {
  std::size_t kept = 0;
  detail::for_each_prefetching_neighbourhood(g.cells, g.stride, e.x, e.y, begin, end, [&](std::size_t i) {
    if (!e.sensor.contains(e.x[i], e.y[i])) [[unlikely]] {
      e.keep[i] = 0;
      return;
    }
    // Four cells, read one by one (on clustered events, a row read as one vector often overlaps
    // the cell the previous event has just written, and waits for that store).
    Cell* c = g.at(e.x[i], e.y[i]);
    *c = g.relative(e.t[i] + duration);
    const Cell now = g.relative(e.t[i]);
    const bool pass = (c[-1] > now) | (c[1] > now) | (c[-g.stride] > now) | (c[g.stride] > now);
    e.keep[i] = pass;
    kept += pass;
  });
  return kept;
}

}  // namespace

BackgroundActivityFilter::BackgroundActivityFilter(SensorSize sensor, std::int64_t duration_us,
                                                   BackgroundActivityConvention convention)
    : sensor_(sensor), duration_(duration_us), convention_(convention) {
  detail::require_sensor(sensor, "background-activity filter");
  if (duration_us < 0) throw std::invalid_argument("background-activity filter: the duration must not be negative");
  const Rule r = rule_of(convention, duration_us);
  grid_ = std::make_unique<detail::TimeGrid>(sensor, r.initial, r.threshold_offset, r.store_offset);
}

BackgroundActivityFilter::~BackgroundActivityFilter() = default;
BackgroundActivityFilter::BackgroundActivityFilter(BackgroundActivityFilter&&) noexcept = default;
BackgroundActivityFilter& BackgroundActivityFilter::operator=(BackgroundActivityFilter&&) noexcept = default;

void BackgroundActivityFilter::reset() { grid_->reset(); }

std::size_t BackgroundActivityFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  const auto loop = [&](const detail::FilterColumns& e, auto view, std::size_t begin, std::size_t end) {
    switch (convention_) {
      case BackgroundActivityConvention::kDvProcessing:
        return detail::all_on_sensor(e, begin, end) ? run_dv<true>(e, duration_, view, begin, end)
                                                    : run_dv<false>(e, duration_, view, begin, end);
      case BackgroundActivityConvention::kJaer: return run_jaer(e, duration_, view, begin, end);
      case BackgroundActivityConvention::kTonicDenoise: return run_tonic(e, duration_, view, begin, end);
    }
    return std::size_t{0};
  };
  return grid_->apply(events, keep, "background-activity filter", loop);
}

}  // namespace evlib::ops
