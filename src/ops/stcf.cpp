#include "evlib/ops/stcf.hpp"

#include <stdexcept>

#include "core/avx2_dispatch.hpp"
#include "prefetch.hpp"
#include "time_grid.hpp"

namespace evlib::ops {

StcfFilter::StcfFilter(SensorSize sensor, StcfOptions options) : sensor_(sensor), options_(options) {
  detail::require_sensor(sensor, "STCF filter");
  if (options.correlation_time_us < 0) throw std::invalid_argument("STCF filter: the correlation time must not be negative");
  if (options.min_correlated < 1 || options.min_correlated > 9)
    throw std::invalid_argument("STCF filter: min_correlated must be 1..9");
  // A neighbour correlates when it holds a time above t - correlation time; pixels start with none.
  grid_ = std::make_unique<detail::TimeGrid>(sensor, std::nullopt, -options.correlation_time_us, 0);
}

StcfFilter::~StcfFilter() = default;
StcfFilter::StcfFilter(StcfFilter&&) noexcept = default;
StcfFilter& StcfFilter::operator=(StcfFilter&&) noexcept = default;

void StcfFilter::reset() { grid_->reset(); }

namespace {

// The loop over events [begin, end) (kOnSensor: all of them lie on the sensor, the usual case,
// and the loop has no per-event test). kPopcnt: compiled into an AVX2 kernel, below.
// The neighbours of (x, y) that jAER's loop leaves out (StcfOptions::jaer_border), as bits of
// GridView::recent(): the right column from x = width - 2 on, the centre column at width - 1,
// the same for rows.
inline unsigned jaer_left_out(std::uint16_t x, std::uint16_t y, SensorSize sensor) {
  const std::uint32_t w = sensor.width, h = sensor.height;
  return (x + 2u >= w ? 0x444u : 0u) | (x + 1u >= w ? 0x222u : 0u) | (y + 2u >= h ? 0x700u : 0u) | (y + 1u >= h ? 0x070u : 0u);
}

template <bool kOnSensor, bool kPopcnt, bool kJaerBorder, class Cell>
[[gnu::always_inline]] inline std::size_t stcf_loop(const detail::FilterColumns e, const StcfOptions o,
                                                    const detail::GridView<Cell> g, std::size_t begin, std::size_t end) {
  const unsigned counted = o.include_self ? detail::kEightAround | detail::kCentre : detail::kEightAround;
  const bool first = o.let_first_through;
  std::size_t kept = 0;
  const auto visit = [&](std::size_t i) [[gnu::always_inline]] {
    if (!kOnSensor && !e.sensor.contains(e.x[i], e.y[i])) [[unlikely]] {
      e.keep[i] = 0;
      return;
    }
    Cell* c = g.at(e.x[i], e.y[i]);
    unsigned mask = counted;
    if constexpr (kJaerBorder) mask &= ~jaer_left_out(e.x[i], e.y[i], e.sensor);
    const int count = detail::cells_set<kPopcnt>(g.recent(c, g.relative(e.t[i] - o.correlation_time_us)) & mask);
    // A pixel's first event (its cell holds no time) is decided by let_first_through alone;
    // written as arithmetic so that GCC does not make it a branch that skips the count: first
    // events come at random while a stream covers the sensor, and the branch mispredicts.
    const bool fresh = *c == g.kNone;
    const auto pass = static_cast<std::uint8_t>((fresh & first) | (!fresh & (count >= o.min_correlated)));
    *c = g.relative(e.t[i]);
    e.keep[i] = pass;
    kept += pass;
  };
  detail::for_each_prefetching_neighbourhood(g.cells, g.stride, e.x, e.y, begin, end, visit);
  return kept;
}

// The loop as a function of its own (not inlined into the grid's piece logic, whose variables
// would crowd the registers).
template <bool kOnSensor, class Cell>
[[gnu::noinline]] std::size_t run(const detail::FilterColumns e, const StcfOptions o, const detail::GridView<Cell> g,
                                  std::size_t begin, std::size_t end) {
  return o.jaer_border ? stcf_loop<kOnSensor, false, true>(e, o, g, begin, end)
                       : stcf_loop<kOnSensor, false, false>(e, o, g, begin, end);
}

#ifdef EVLIB_AVX2_DISPATCHED
EVLIB_AVX2_BEGIN
// The baseline build's loop for CPUs with AVX2: popcnt counts the neighbours (baseline x86-64 adds
// the rows' bits in ten instructions), VEX and BMI2 encodings spare moves.
template <bool kOnSensor, class Cell>
[[gnu::noinline]] std::size_t run_avx2(const detail::FilterColumns e, const StcfOptions o,
                                       const detail::GridView<Cell> g, std::size_t begin, std::size_t end) {
  return o.jaer_border ? stcf_loop<kOnSensor, true, true>(e, o, g, begin, end)
                       : stcf_loop<kOnSensor, true, false>(e, o, g, begin, end);
}
EVLIB_AVX2_END
#endif

}  // namespace

std::size_t StcfFilter::apply(EventView events, std::span<std::uint8_t> keep) {
#ifdef EVLIB_AVX2_DISPATCHED
  if (evlib::detail::avx2_kernels_run()) {
    const auto loop = [&](const detail::FilterColumns& e, auto view, std::size_t begin, std::size_t end) {
      return detail::all_on_sensor(e, begin, end) ? run_avx2<true>(e, options_, view, begin, end)
                                                  : run_avx2<false>(e, options_, view, begin, end);
    };
    return grid_->apply(events, keep, "STCF filter", loop);
  }
#endif
  const auto loop = [&](const detail::FilterColumns& e, auto view, std::size_t begin, std::size_t end) {
    return detail::all_on_sensor(e, begin, end) ? run<true>(e, options_, view, begin, end)
                                                : run<false>(e, options_, view, begin, end);
  };
  return grid_->apply(events, keep, "STCF filter", loop);
}

}  // namespace evlib::ops
