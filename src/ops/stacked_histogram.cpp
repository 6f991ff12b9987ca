#include "evlib/ops/stacked_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "pixel_cells.hpp"

namespace evlib::ops {

IndexRange rvt_time_window(std::span<const std::int64_t> t, std::int64_t t_end_us, std::int64_t duration_us) {
  const auto begin = std::ranges::lower_bound(t, t_end_us - duration_us);
  const auto end = std::ranges::upper_bound(t, t_end_us);
  const auto b = static_cast<std::size_t>(begin - t.begin());
  return {b, std::max(b, static_cast<std::size_t>(end - t.begin()))};
}

IndexRange rvt_count_window(std::span<const std::int64_t> t, std::int64_t t_end_us, std::size_t count) {
  const auto end = static_cast<std::size_t>(std::ranges::upper_bound(t, t_end_us) - t.begin());
  return {end > count ? end - count : 0, end};
}

StackedHistogramAccumulator::StackedHistogramAccumulator(SensorSize sensor, StackedHistogramOptions options)
    : sensor_(sensor), options_(options) {
  detail::require_sensor(sensor, "stacked histogram");
  if (options.bins == 0) throw std::invalid_argument("stacked histogram: bins must be positive");
  if (options.count_cutoff > 255) throw std::invalid_argument("stacked histogram: the count cutoff must be 0..255");
  out_width_ = options.downsample_by_2 ? sensor.width / 2 : sensor.width;
  out_height_ = options.downsample_by_2 ? sensor.height / 2 : sensor.height;
}

void StackedHistogramAccumulator::set_times(std::int64_t t_first, std::int64_t t_last) {
  t_first_ = t_first;
  // torch true-divides the int64 tensors in float32: both operands rounded to float first.
  span_ = static_cast<float>(std::max<std::int64_t>(t_last - t_first, 1));
  find_bin_starts();
}

void StackedHistogramAccumulator::start(std::int64_t t_first, std::int64_t t_last) {
  set_times(t_first, t_last);
  // The counts are allocated by the first window (assign keeps the capacity for the next ones).
  if (options_.fastmode) counts8_.assign(size(), 0);
  else counts16_.assign(size(), 0);
}

namespace {

// RVT: floor(float32(float32(t - t0) / float32(span)) * float32(bins)), clamped to bins - 1.
inline int time_bin(std::int64_t dt, float span, float bins, int last_bin) {
  const float normalised = static_cast<float>(dt) / span;
  const int bin = static_cast<int>(std::floor(normalised * bins));
  return std::min(bin, last_bin);
}

}  // namespace

// time_bin() never decreases as dt grows (each rounding step is monotonic), so the first dt of
// every bin can be found by bisection once per window; the event loop then compares integers
// instead of dividing, with the exact float32 result.
void StackedHistogramAccumulator::find_bin_starts() {
  const auto bins = static_cast<int>(options_.bins);
  const auto fbins = static_cast<float>(bins);
  bin_starts_.assign(options_.bins + 1, std::numeric_limits<std::int64_t>::max());
  bin_starts_[0] = 0;
  const auto span = static_cast<std::int64_t>(span_);
  for (int b = 1; b < bins; ++b) {
    std::int64_t lo = bin_starts_[static_cast<std::size_t>(b) - 1];
    std::int64_t hi = span;  // float32(span) / span_ is 1: the last bin
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (time_bin(mid, span_, fbins, bins - 1) >= b) hi = mid;
      else lo = mid + 1;
    }
    bin_starts_[static_cast<std::size_t>(b)] = lo;
  }
}

namespace {

// Both count types wrap as torch's uint8 / int16 do.
template <class Count>
inline void count_one(Count& c) {
  using U = std::make_unsigned_t<Count>;
  c = static_cast<Count>(static_cast<U>(static_cast<U>(c) + 1u));
}

// One event at a time, each event's bin looked up: the blocks whose events span several bins
// (or come before t_first, or are unsorted) and tensors too large for 32-bit cells. enter(bin)
// before the first add() of each bin (and of bin 0, the one assumed at first).
template <bool kDownsample, class Add, class Enter>
void count_events_one_by_one(EventView part, SensorSize sensor, std::size_t out_w, std::size_t out_h, unsigned bins,
                             std::int64_t t_first, const std::int64_t* bin_starts, Add add, Enter enter) {
  const std::int64_t* t = part.t().data();
  const std::uint16_t* x = part.x().data();
  const std::uint16_t* y = part.y().data();
  const std::uint8_t* p = part.p().data();
  const std::size_t plane = out_w * out_h;
  // The bin of the previous event and its time range: sorted events rarely leave it.
  std::size_t bin = 0;
  std::int64_t bin_lo = bin_starts[0];
  std::int64_t bin_hi = bin_starts[1];
  enter(bin);
  for (std::size_t i = 0, n = part.size(); i < n; ++i) {
    std::size_t cx = x[i];
    std::size_t cy = y[i];
    bool inside = (cx < sensor.width) & (cy < sensor.height) & (p[i] <= 1) & (t[i] >= t_first);
    if constexpr (kDownsample) {
      // RVT's nearest-exact x0.5 keeps source rows and columns 2i+1.
      inside &= (cx & 1) & (cy & 1);
      cx >>= 1;
      cy >>= 1;
      inside &= (cx < out_w) & (cy < out_h);
    }
    if (!inside) [[unlikely]]
      continue;
    const std::int64_t dt = t[i] - t_first;
    if (dt < bin_lo || dt >= bin_hi) [[unlikely]] {
      bin = static_cast<std::size_t>(std::upper_bound(bin_starts, bin_starts + bins, dt) - bin_starts) - 1;
      bin_lo = bin_starts[bin];
      bin_hi = bin_starts[bin + 1];
      enter(bin);
    }
    add((std::size_t{p[i]} * bins + bin) * plane + cy * out_w + cx);
  }
}

// The earliest and latest of n >= 1 times: a block's, to find its bin.
inline std::pair<std::int64_t, std::int64_t> time_range_scalar(const std::int64_t* t, std::size_t n) {
  std::int64_t lo = t[0], hi = t[0];
  for (std::size_t i = 1; i < n; ++i) {
    lo = std::min(lo, t[i]);
    hi = std::max(hi, t[i]);
  }
  return {lo, hi};
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// time_range_scalar four times at a time (baseline x86-64 has no 64-bit vector compare, and its
// scalar loop cost as much as the block's cells).
std::pair<std::int64_t, std::int64_t> time_range_avx2(const std::int64_t* t, std::size_t n) {
  __m256i lo = _mm256_set1_epi64x(t[0]), hi = lo;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + i));
    lo = _mm256_blendv_epi8(lo, v, _mm256_cmpgt_epi64(lo, v));
    hi = _mm256_blendv_epi8(hi, v, _mm256_cmpgt_epi64(v, hi));
  }
  alignas(32) std::int64_t lows[4], highs[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lows), lo);
  _mm256_store_si256(reinterpret_cast<__m256i*>(highs), hi);
  std::int64_t low = std::min(std::min(lows[0], lows[1]), std::min(lows[2], lows[3]));
  std::int64_t high = std::max(std::max(highs[0], highs[1]), std::max(highs[2], highs[3]));
  for (; i < n; ++i) {
    low = std::min(low, t[i]);
    high = std::max(high, t[i]);
  }
  return {low, high};
}
EVLIB_AVX2_END
#endif

inline std::pair<std::int64_t, std::int64_t> time_range(const std::int64_t* t, std::size_t n, bool avx2) {
#ifdef EVLIB_AVX2
  if (avx2) return time_range_avx2(t, n);
#else
  (void)avx2;
#endif
  return time_range_scalar(t, n);
}

// Sorted events fill one time bin after the other: nearly every block of detail::kCellBlock
// events lies in one bin, found from the block's earliest and latest times. Such a block is
// counted in two passes (src/ops/pixel_cells.hpp); the others event by event. add(cell) counts
// one event; enter(bin) comes before the first add() of each bin.
template <bool kDownsample, class Add, class Enter>
void count_window(EventView part, SensorSize sensor, std::size_t out_w, std::size_t out_h, unsigned bins,
                  std::int64_t t_first, const std::int64_t* bin_starts, Add add, Enter enter) {
  const std::size_t plane = out_w * out_h;
  if (2 * bins * plane >= detail::kNoCell) {
    count_events_one_by_one<kDownsample>(part, sensor, out_w, out_h, bins, t_first, bin_starts, add, enter);
    return;
  }
  const std::int64_t* t = part.t().data();
  detail::CellLayout layout{sensor, static_cast<std::uint32_t>(out_w), static_cast<std::uint32_t>(out_h), 0,
                            static_cast<std::uint32_t>(bins * plane)};
  const bool avx2 = detail::avx2_kernels_run();
  alignas(64) std::uint32_t cells[detail::kCellBlock];
  for (std::size_t begin = 0, n = part.size(); begin < n; begin += detail::kCellBlock) {
    const std::size_t m = std::min(detail::kCellBlock, n - begin);
    const auto [lo, hi] = time_range(t + begin, m, avx2);
    const std::int64_t dt_lo = lo - t_first, dt_hi = hi - t_first;
    std::size_t bin = 0;
    if (dt_lo >= 0) bin = static_cast<std::size_t>(std::upper_bound(bin_starts, bin_starts + bins, dt_lo) - bin_starts) - 1;
    if (dt_lo < 0 || dt_hi >= bin_starts[bin + 1]) [[unlikely]] {
      count_events_one_by_one<kDownsample>(part.slice(begin, begin + m), sensor, out_w, out_h, bins, t_first,
                                           bin_starts, add, enter);
      continue;
    }
    enter(bin);
    layout.base = static_cast<std::uint32_t>(bin * plane);
    detail::pixel_cells<true, kDownsample>(part.x().data() + begin, part.y().data() + begin, part.p().data() + begin, m,
                                           layout, cells, avx2);
    for (std::size_t i = 0; i < m; ++i)
      if (cells[i] != detail::kNoCell) [[likely]]
        add(std::size_t{cells[i]});
  }
}

}  // namespace

void StackedHistogramAccumulator::add(EventView part) {
  if (part.empty()) return;
  detail::require_columns(part, kAllColumns, "stacked histogram");
  const auto none = [](std::size_t) {};
  if (options_.fastmode) count(part, [c = counts8_.data()](std::size_t cell) { count_one(c[cell]); }, none);
  else count(part, [c = counts16_.data()](std::size_t cell) { count_one(c[cell]); }, none);
}

template <class Add, class Enter>
void StackedHistogramAccumulator::count(EventView part, Add add, Enter enter) const {
  const std::int64_t* starts = bin_starts_.data();
  if (options_.downsample_by_2)
    count_window<true>(part, sensor_, out_width_, out_height_, options_.bins, t_first_, starts, add, enter);
  else
    count_window<false>(part, sensor_, out_width_, out_height_, options_.bins, t_first_, starts, add, enter);
}

void StackedHistogramAccumulator::finish(std::span<std::uint8_t> out) const {
  if (out.size() != size())
    throw std::invalid_argument("stacked histogram: the output holds " + std::to_string(out.size()) + " bytes, not " +
                                std::to_string(size()));
  const auto cutoff = static_cast<int>(options_.count_cutoff);
  if (counts8_.empty() && counts16_.empty()) {  // no start(): an empty window
    std::ranges::fill(out, 0);
  } else if (options_.fastmode) {
    // Plain loops in the counts' own type vectorise (32 cells per AVX2 min).
    const auto cut = static_cast<std::uint8_t>(cutoff);
    const std::uint8_t* c = counts8_.data();
    std::uint8_t* o = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) o[i] = std::min(c[i], cut);
  } else {
    const auto cut = static_cast<std::int16_t>(cutoff);
    const std::int16_t* c = counts16_.data();
    std::uint8_t* o = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i)
      o[i] = static_cast<std::uint8_t>(std::clamp(c[i], std::int16_t{0}, cut));
  }
}

void StackedHistogramAccumulator::count_pieces_into(std::span<const EventView> pieces, std::span<std::uint8_t> counts,
                                                    bool zero_bins) {
  if (!options_.fastmode || counts.size() != size())
    throw std::invalid_argument("stacked histogram: counting into a caller's buffer needs fast mode and " +
                                std::to_string(size()) + " bytes, not " + std::to_string(counts.size()));
  if (counts.empty()) return;  // a downsampled sensor of width or height 1: no cell at all
  const auto has_events = [](const EventView& piece) { return !piece.empty(); };
  const auto first = std::ranges::find_if(pieces, has_events);
  if (first == pieces.end()) {
    if (zero_bins) std::ranges::fill(counts, 0);
    return;
  }
  const auto last = std::ranges::find_if(pieces.rbegin(), pieces.rend(), has_events);
  for (const EventView& piece : pieces)
    if (!piece.empty()) detail::require_columns(piece, kAllColumns, "stacked histogram");
  set_times(first->t().front(), last->t().back());
  // zero_bins: each bin's two planes (OFF, ON) zeroed just before its first count, not the whole
  // tensor beforehand: sorted events fill the bins one after the other, and a bin's planes (2 x
  // 300 KiB at 640x480) then stay in L2 from their zeroing to their last count. Whatever the
  // order, a bin is zeroed before any count in it. Otherwise every bin counts as zeroed already.
  const std::size_t plane = out_width_ * out_height_, bins = options_.bins;
  std::vector<std::uint8_t> zeroed(bins, zero_bins ? 0 : 1);
  const auto enter = [&zeroed, c = counts.data(), plane, bins](std::size_t bin) {
    if (zeroed[bin] != 0) [[likely]]
      return;
    zeroed[bin] = 1;
    std::memset(c + bin * plane, 0, plane);
    std::memset(c + (bins + bin) * plane, 0, plane);
  };
  for (const EventView& piece : pieces)
    if (!piece.empty()) count(piece, [c = counts.data()](std::size_t cell) { count_one(c[cell]); }, enter);
  for (std::size_t bin = 0; bin < bins; ++bin) enter(bin);  // the bins without events
}

void StackedHistogramAccumulator::count_window_into(EventView window, std::span<std::uint8_t> counts) {
  count_pieces_into(std::span<const EventView>(&window, 1), counts, false);
}

void StackedHistogramAccumulator::histogram_into_zeroed(std::span<const EventView> pieces, std::span<std::uint8_t> out) {
  histogram_into(pieces, out, true);
}

void StackedHistogramAccumulator::histogram_into(std::span<const EventView> pieces, std::span<std::uint8_t> out) {
  histogram_into(pieces, out, false);
}

void StackedHistogramAccumulator::histogram_into(EventView window, std::span<std::uint8_t> out) {
  histogram_into(std::span<const EventView>(&window, 1), out, false);
}

void StackedHistogramAccumulator::histogram_into(std::span<const EventView> pieces, std::span<std::uint8_t> out,
                                                 bool out_is_zeroed) {
  count_pieces_into(pieces, out, !out_is_zeroed);
  // RVT clamps after counting (a count wraps at 256 first). One vectorised pass over the tensor
  // costs less than watching each increment for the cells that pass the cut-off (measured).
  const auto cutoff = static_cast<std::uint8_t>(options_.count_cutoff);
  const bool counted = std::ranges::any_of(pieces, [](const EventView& piece) { return !piece.empty(); });
  if (cutoff == 255 || !counted) return;
  std::uint8_t* c = out.data();
  for (std::size_t i = 0, n = out.size(); i < n; ++i) c[i] = std::min(c[i], cutoff);
}

void StackedHistogramAccumulator::histogram_into_zeroed(EventView window, std::span<std::uint8_t> out) {
  histogram_into_zeroed(std::span<const EventView>(&window, 1), out);
}

void stacked_histogram(EventView window, SensorSize sensor, const StackedHistogramOptions& options,
                       std::span<std::uint8_t> out) {
  StackedHistogramAccumulator acc(sensor, options);
  if (out.size() != acc.size())
    throw std::invalid_argument("stacked histogram: the output holds " + std::to_string(out.size()) + " bytes, not " +
                                std::to_string(acc.size()));
  if (options.fastmode) {
    // RVT's fast mode counts in uint8, which is what out holds: no second buffer.
    acc.histogram_into(window, out);
    return;
  }
  if (!window.empty()) {
    detail::require_columns(window, kAllColumns, "stacked histogram");
    acc.start(window.t().front(), window.t().back());
    acc.add(window);
  } else {
    acc.start(0, 0);
  }
  acc.finish(out);
}

std::vector<std::uint8_t> stacked_histogram(EventView window, SensorSize sensor, const StackedHistogramOptions& options) {
  StackedHistogramAccumulator acc(sensor, options);
  std::vector<std::uint8_t> out(acc.size());  // zeroed once, here
  if (options.fastmode) acc.histogram_into_zeroed(window, out);
  else stacked_histogram(window, sensor, options, out);
  return out;
}

}  // namespace evlib::ops
