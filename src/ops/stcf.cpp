#include "evlib/ops/stcf.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/avx2_dispatch.hpp"
#include "prefetch.hpp"
#include "time_grid.hpp"

namespace evlib::ops {

namespace {
constexpr std::uint8_t kNoPolarity = 2;  // a pixel (or border cell) without an event: matches none
}  // namespace

StcfFilter::StcfFilter(SensorSize sensor, StcfOptions options) : sensor_(sensor), options_(options) {
  detail::require_sensor(sensor, "STCF filter");
  if (options.correlation_time_us < 0) throw std::invalid_argument("STCF filter: the correlation time must not be negative");
  if (options.min_correlated < 1 || options.min_correlated > 9)
    throw std::invalid_argument("STCF filter: min_correlated must be 1..9");
  if (options.shot_noise_time_us && *options.shot_noise_time_us < 0)
    throw std::invalid_argument("STCF filter: the shot-noise time must not be negative");
  // A neighbour correlates when it holds a time above t - correlation time; pixels start with none.
  // The shot-noise test compares the pixel's own time with t - shot-noise time: the grid's window
  // holds both thresholds.
  const std::int64_t lowest_offset = std::min(-options.correlation_time_us, -options.shot_noise_time_us.value_or(0));
  grid_ = std::make_unique<detail::TimeGrid>(sensor, std::nullopt, lowest_offset, 0);
  if (options.polarities_must_match || options.shot_noise_time_us) {
    polarity_stride_ = std::size_t{sensor.width} + 3;
    polarity_.assign(polarity_stride_ * (std::size_t{sensor.height} + 2), kNoPolarity);
  }
}

StcfFilter::~StcfFilter() = default;
StcfFilter::StcfFilter(StcfFilter&&) noexcept = default;
StcfFilter& StcfFilter::operator=(StcfFilter&&) noexcept = default;

void StcfFilter::reset() {
  grid_->reset();
  std::ranges::fill(polarity_, kNoPolarity);
}

namespace {

// The neighbours of (x, y) that jAER's loop leaves out (StcfOptions::jaer_border), as bits of
// GridView::recent(). jAER's loop ends at its column width - 2 and its row height - 2; its x is
// evlib's, its y counts from the bottom (height - 1 - y here). So: the right column from
// x = width - 2 on and the centre column at width - 1; the top row at y = 1 and the centre row at
// y = 0.
inline unsigned jaer_left_out(std::uint16_t x, std::uint16_t y, SensorSize sensor) {
  const std::uint32_t w = sensor.width;
  return (x + 2u >= w ? 0x444u : 0u) | (x + 1u >= w ? 0x222u : 0u) | (y <= 1 ? 0x007u : 0u) | (y == 0 ? 0x070u : 0u);
}

// The pixels' last polarities and the events' (null without polarities_must_match and shot noise),
// and what the options do with them.
struct Polarities {
  std::uint8_t* grid;
  std::size_t stride;
  const std::uint8_t* p;
  unsigned any_polarity;     // 0x777 without polarities_must_match (every neighbour's polarity counts), else 0
  bool shot_noise;           // shot_noise_time_us given
  std::int64_t shot_noise_time;

  std::uint8_t* at(std::uint16_t x, std::uint16_t y) const noexcept { return grid + (std::size_t{y} + 1) * stride + x + 1; }
  // Which cells of the 3x3 neighbourhood of (x, y) last had polarity `on` (bits of
  // GridView::recent()).
  unsigned same(std::uint16_t x, std::uint16_t y, std::uint8_t on) const noexcept {
    const std::uint8_t* first = at(x, y) - stride - 1;
#if defined(__SSE2__)
    // The three rows' four bytes (the grid's rows hold two border cells on the right) side by
    // side, joined in registers (stored and loaded wider, they stalled on store forwarding),
    // compared at once: byte 4 * row + column is bit 4 * row + column.
    const auto row = [&](int r) {
      std::int32_t bytes;
      std::memcpy(&bytes, first + r * stride, 4);
      return _mm_cvtsi32_si128(bytes);
    };
    const __m128i rows = _mm_unpacklo_epi64(_mm_unpacklo_epi32(row(0), row(1)), row(2));
    const __m128i equal = _mm_cmpeq_epi8(rows, _mm_set1_epi8(static_cast<char>(on)));
    return static_cast<unsigned>(_mm_movemask_epi8(equal)) & 0x777u;
#else
    unsigned bits = 0;
    for (int row = 0; row < 3; ++row)
      for (int col = 0; col < 3; ++col) bits |= unsigned{first[row * stride + col] == on} << (4 * row + col);
    return bits;
#endif
  }
};

// The loop over events [begin, end) (kOnSensor: all of them lie on the sensor, the usual case,
// and the loop has no per-event test). kPopcnt: compiled into an AVX2 kernel, below.
// kJaerBorder: StcfOptions::jaer_border; kPolarity: polarities_must_match or shot_noise_time_us
// (the polarity grid).
template <bool kOnSensor, bool kPopcnt, bool kJaerBorder, bool kPolarity, class Cell>
[[gnu::always_inline]] inline std::size_t stcf_loop(const detail::FilterColumns e, const StcfOptions o,
                                                    const detail::GridView<Cell> g, const Polarities pol,
                                                    std::size_t begin, std::size_t end) {
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
    std::uint8_t on = 0;
    bool shot = false;
    if constexpr (kPolarity) {
      on = pol.p[i] != 0;
      std::uint8_t* own = pol.at(e.x[i], e.y[i]);
      mask &= pol.same(e.x[i], e.y[i], on) | pol.any_polarity;
      // jAER's shot-noise test: the pixel's last event had the other polarity and came at most
      // the shot-noise time before (its time at or above t - that time; markers compare as
      // thresholds do).
      shot = pol.shot_noise & (*own != on) & (*c >= g.relative(e.t[i] - pol.shot_noise_time));
    }
    const int count = detail::cells_set<kPopcnt>(g.recent(c, g.relative(e.t[i] - o.correlation_time_us)) & mask);
    // A pixel's first event (its cell holds no time) is decided by let_first_through alone;
    // written as arithmetic so that GCC does not make it a branch that skips the count: first
    // events come at random while a stream covers the sensor, and the branch mispredicts.
    const bool fresh = *c == g.kNone;
    const auto pass = static_cast<std::uint8_t>((fresh & first) | (!fresh & (count >= o.min_correlated) & !shot));
    *c = g.relative(e.t[i]);
    if constexpr (kPolarity) *pol.at(e.x[i], e.y[i]) = on;
    e.keep[i] = pass;
    kept += pass;
  };
  detail::for_each_prefetching_neighbourhood(g.cells, g.stride, e.x, e.y, begin, end, visit);
  return kept;
}

// The loop as a function of its own (not inlined into the grid's piece logic, whose variables
// would crowd the registers).
// The loop for the options' border and polarity rule.
template <bool kOnSensor, bool kPopcnt, class Cell>
[[gnu::always_inline]] inline std::size_t stcf_variant(const detail::FilterColumns e, const StcfOptions o,
                                                       const detail::GridView<Cell> g, const Polarities pol,
                                                       std::size_t begin, std::size_t end) {
  if (pol.p != nullptr)
    return o.jaer_border ? stcf_loop<kOnSensor, kPopcnt, true, true>(e, o, g, pol, begin, end)
                         : stcf_loop<kOnSensor, kPopcnt, false, true>(e, o, g, pol, begin, end);
  return o.jaer_border ? stcf_loop<kOnSensor, kPopcnt, true, false>(e, o, g, pol, begin, end)
                       : stcf_loop<kOnSensor, kPopcnt, false, false>(e, o, g, pol, begin, end);
}

template <bool kOnSensor, class Cell>
[[gnu::noinline]] std::size_t run(const detail::FilterColumns e, const StcfOptions o, const detail::GridView<Cell> g,
                                  const Polarities pol, std::size_t begin, std::size_t end) {
  return stcf_variant<kOnSensor, false>(e, o, g, pol, begin, end);
}

#ifdef EVLIB_AVX2_DISPATCHED
EVLIB_AVX2_BEGIN
// The baseline build's loop for CPUs with AVX2: popcnt counts the neighbours (baseline x86-64 adds
// the rows' bits in ten instructions), VEX and BMI2 encodings spare moves.
template <bool kOnSensor, class Cell>
[[gnu::noinline]] std::size_t run_avx2(const detail::FilterColumns e, const StcfOptions o,
                                       const detail::GridView<Cell> g, const Polarities pol, std::size_t begin,
                                       std::size_t end) {
  return stcf_variant<kOnSensor, true>(e, o, g, pol, begin, end);
}
EVLIB_AVX2_END
#endif

}  // namespace

std::size_t StcfFilter::apply(EventView events, std::span<std::uint8_t> keep) {
  const bool polarities = !polarity_.empty();
  if (polarities && !events.empty() && !events.has_p())
    throw std::invalid_argument(options_.polarities_must_match ? "STCF filter: matching polarities needs the p column"
                                                               : "STCF filter: the shot-noise test needs the p column");
  const Polarities pol{polarity_.data(),
                       polarity_stride_,
                       polarities && !events.empty() ? events.p().data() : nullptr,
                       options_.polarities_must_match ? 0u : 0x777u,
                       options_.shot_noise_time_us.has_value(),
                       options_.shot_noise_time_us.value_or(0)};
#ifdef EVLIB_AVX2_DISPATCHED
  if (evlib::detail::avx2_kernels_run()) {
    const auto loop = [&](const detail::FilterColumns& e, auto view, std::size_t begin, std::size_t end) {
      return detail::all_on_sensor(e, begin, end) ? run_avx2<true>(e, options_, view, pol, begin, end)
                                                  : run_avx2<false>(e, options_, view, pol, begin, end);
    };
    return grid_->apply(events, keep, "STCF filter", loop);
  }
#endif
  const auto loop = [&](const detail::FilterColumns& e, auto view, std::size_t begin, std::size_t end) {
    return detail::all_on_sensor(e, begin, end) ? run<true>(e, options_, view, pol, begin, end)
                                                : run<false>(e, options_, view, pol, begin, end);
  };
  return grid_->apply(events, keep, "STCF filter", loop);
}

}  // namespace evlib::ops
