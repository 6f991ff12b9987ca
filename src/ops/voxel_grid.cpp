#include "evlib/ops/voxel_grid.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/avx2_dispatch.hpp"
#include "prefetch.hpp"

namespace evlib::ops {
namespace {

// t - t0 as a double: the exact difference rounded once, also when it passes int64 (times 2^63
// apart, where the int64 subtraction of the references wraps).
inline double difference(std::int64_t t, std::int64_t t0) noexcept {
  std::int64_t d;
  if (!__builtin_sub_overflow(t, t0, &d)) [[likely]]
    return static_cast<double>(d);
  const std::uint64_t magnitude = t > t0 ? static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(t0)
                                         : static_cast<std::uint64_t>(t0) - static_cast<std::uint64_t>(t);
  return t > t0 ? static_cast<double>(magnitude) : -static_cast<double>(magnitude);
}

// The position of an event on the time axis, in bins, as each reference computes it in float64.
struct TimeScale {
  std::int64_t t0;
  double scale;  // numerator factor: bins - 1 (E2VID) or bins (tonic)
  double span;

  double at(std::int64_t t) const noexcept { return scale * difference(t, t0) / span; }
};

TimeScale time_scale(EventView window, const VoxelGridOptions& options) {
  const std::int64_t t0 = window.t().front();
  const double span = difference(window.t().back(), t0);
  if (options.convention == VoxelConvention::kE2vid)
    return {t0, static_cast<double>(options.bins) - 1.0, span == 0 ? 1.0 : span};
  // tonic divides by zero here (NaN bins); one instant is put at the start of the grid instead.
  return {t0, static_cast<double>(options.bins), span == 0 ? 1.0 : span};
}

// What both kernels read: the window's columns and the grid's geometry.
struct Grid {
  Grid(EventView window, const VoxelGridOptions& options)
      : t(window.t().data()), x(window.x().data()), y(window.y().data()), p(window.p().data()), n(window.size()),
        s(options.sensor), plane(s.pixels()), bins(static_cast<std::int64_t>(options.bins)),
        all_on(options.polarity == VoxelPolarity::kAllOn) {}
  const std::int64_t* t;
  const std::uint16_t* x;
  const std::uint16_t* y;
  const std::uint8_t* p;
  std::size_t n;
  SensorSize s;
  std::size_t plane;
  std::int64_t bins;
  bool all_on;
};

// One of the two passes (left weights 1 - frac into bin, right weights frac into bin + 1), each
// in event order as numpy's add.at applies them.
template <class T, bool kRight>
void spread(EventView window, const VoxelGridOptions& options, const TimeScale& scale, T* out) {
  const auto [t, x, y, p, n, s, plane, bins, all_on] = Grid(window, options);
  for (std::size_t i = 0; i < n; ++i) {
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

// Time-sorted input, one pass instead of two, same sums. With t non-decreasing, ts and so the
// bin are non-decreasing in event order (products and quotients by positive constants are
// monotone under rounding), so the events of bin k form one range. A voxel of plane k receives
// left weights only from range k and right weights only from range k - 1, and the reference adds
// all its left weights (in event order) before its right weights (in event order). Walking the
// ranges from the last to the first, each in event order, adding its left weights into plane k
// and its right weights into plane k + 1 (whose left weights, from range k + 1, are already in),
// makes exactly the same additions in exactly the same order per voxel, so the result is
// bit-identical. Each event's position is computed once, in blocks whose arithmetic is
// vectorised (the division dominates the two-pass loop; AVX2 kernels, src/core/avx2_dispatch.hpp,
// where the baseline ISA's two lanes would leave it slow); the additions stay scalar.
constexpr std::size_t kBlock = 256;

// t - t0 as a double, exactly, for 0 <= d < 2^52 (the exponent trick vectorises; AVX2 has no
// int64 -> double conversion).
inline double exact_double(std::int64_t d) noexcept {
  return std::bit_cast<double>(static_cast<std::uint64_t>(d) | 0x4330000000000000ULL) - 0x1p52;
}

// The offset of each event's pixel in a plane, kOutside off the sensor.
constexpr std::size_t kOutside = ~std::size_t{0};

// Events [begin, m) of a block: their left (into plane bin) and right (into plane bin + 1)
// weights, with the two-pass loop's arithmetic and order.
inline void block_weights_scalar(const std::int64_t* t, const std::uint8_t* p, std::size_t begin, std::size_t m,
                                 const TimeScale& scale, double bin, bool all_on, double* left, double* right) {
  for (std::size_t j = begin; j < m; ++j) {
    // Modular, as the AVX2 path's lanes: a window found unsorted later may hold a time whose
    // difference passes int64 here (the attempt's weights are then thrown away).
    const auto d = static_cast<std::int64_t>(static_cast<std::uint64_t>(t[j]) - static_cast<std::uint64_t>(scale.t0));
    const double ts = scale.scale * exact_double(d) / scale.span;
    const double frac = ts - bin;
    const double pol = (all_on || p[j] != 0) ? 1.0 : -1.0;
    left[j] = pol * (1.0 - frac);
    right[j] = pol * frac;
  }
}

// Returns whether all these events are on the sensor.
inline bool block_pixels_scalar(const std::uint16_t* x, const std::uint16_t* y, std::size_t begin, std::size_t m,
                                SensorSize s, std::size_t* pixels) {
  bool all_inside = true;
  for (std::size_t j = begin; j < m; ++j) {
    const bool inside = s.contains(x[j], y[j]);
    all_inside &= inside;
    pixels[j] = inside ? std::size_t{y[j]} * s.width + x[j] : kOutside;
  }
  return all_inside;
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// block_weights_scalar four events at a time, the same IEEE operations in the same order (no
// FMA: each product is rounded before it is used); returns how many events it did.
std::size_t block_weights_avx2(const std::int64_t* t, const std::uint8_t* p, std::size_t m, const TimeScale& scale,
                               double bin, bool all_on, double* left, double* right) {
  const __m256i t0 = _mm256_set1_epi64x(scale.t0);
  const __m256i exponent = _mm256_set1_epi64x(0x4330000000000000LL);  // exact_double's trick
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  const __m256d factor = _mm256_set1_pd(scale.scale), span = _mm256_set1_pd(scale.span), k = _mm256_set1_pd(bin);
  const __m256d one = _mm256_set1_pd(1.0), minus_one = _mm256_set1_pd(-1.0);
  const std::size_t end = m / 4 * 4;
  for (std::size_t j = 0; j < end; j += 4) {
    const __m256i d = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + j)), t0);
    const __m256d exact = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(d, exponent)), two52);
    const __m256d ts = _mm256_div_pd(_mm256_mul_pd(factor, exact), span);
    const __m256d frac = _mm256_sub_pd(ts, k);
    __m256d pol = one;
    if (!all_on) {
      std::int32_t bytes;
      std::memcpy(&bytes, p + j, sizeof bytes);
      const __m256i polarity = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bytes));
      const __m256i off = _mm256_cmpeq_epi64(polarity, _mm256_setzero_si256());
      pol = _mm256_blendv_pd(one, minus_one, _mm256_castsi256_pd(off));
    }
    _mm256_store_pd(left + j, _mm256_mul_pd(pol, _mm256_sub_pd(one, frac)));
    _mm256_store_pd(right + j, _mm256_mul_pd(pol, frac));
  }
  return end;
}

// block_pixels_scalar four events at a time (y * width fits 64 bits: vpmuludq's 32 x 32 bits);
// returns how many events it did, and in all_inside whether those were all on the sensor.
std::size_t block_pixels_avx2(const std::uint16_t* x, const std::uint16_t* y, std::size_t m, SensorSize s,
                              std::size_t* pixels, bool& all_inside) {
  const __m256i width = _mm256_set1_epi64x(s.width), height = _mm256_set1_epi64x(s.height);
  const __m256i all = _mm256_set1_epi64x(-1);
  __m256i outside_any = _mm256_setzero_si256();
  const std::size_t end = m / 4 * 4;
  for (std::size_t j = 0; j < end; j += 4) {
    const __m256i cx = _mm256_cvtepu16_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + j)));
    const __m256i cy = _mm256_cvtepu16_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(y + j)));
    const __m256i outside =
        _mm256_xor_si256(_mm256_and_si256(_mm256_cmpgt_epi64(width, cx), _mm256_cmpgt_epi64(height, cy)), all);
    outside_any = _mm256_or_si256(outside_any, outside);
    const __m256i pixel = _mm256_add_epi64(_mm256_mul_epu32(cy, width), cx);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pixels + j), _mm256_or_si256(pixel, outside));
  }
  all_inside = _mm256_testz_si256(outside_any, outside_any) != 0;
  return end;
}

// Whether t[0 .. n) is non-decreasing, four comparisons at a time; n > 0.
bool non_decreasing_avx2(const std::int64_t* t, std::size_t n) {
  constexpr std::size_t kStep = 1024;  // how often a descent is looked for: the loop stays branch-free
  std::size_t i = 0;
  while (i + 4 < n) {
    const std::size_t stop = std::min(n - 4, i + kStep);
    __m256i descents = _mm256_setzero_si256();
    for (; i < stop; i += 4) {
      const __m256i here = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + i));
      const __m256i next = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + i + 1));
      descents = _mm256_or_si256(descents, _mm256_cmpgt_epi64(here, next));
    }
    if (!_mm256_testz_si256(descents, descents)) return false;
  }
  return std::is_sorted(t + i, t + n);
}
EVLIB_AVX2_END
#endif

// avx2: evlib::detail::avx2_kernels_run(), asked once per window.
inline void block_weights(const std::int64_t* t, const std::uint8_t* p, std::size_t m, const TimeScale& scale, double bin,
                          bool all_on, double* left, double* right, bool avx2) {
  std::size_t done = 0;
#ifdef EVLIB_AVX2
  if (avx2) done = block_weights_avx2(t, p, m, scale, bin, all_on, left, right);
#else
  (void)avx2;
#endif
  block_weights_scalar(t, p, done, m, scale, bin, all_on, left, right);
}

// Returns whether all m events are on the sensor.
inline bool block_pixels(const std::uint16_t* x, const std::uint16_t* y, std::size_t m, SensorSize s, std::size_t* pixels,
                         bool avx2) {
  std::size_t done = 0;
  bool all_inside = true;
#ifdef EVLIB_AVX2
  if (avx2) done = block_pixels_avx2(x, y, m, s, pixels, all_inside);
#else
  (void)avx2;
#endif
  return block_pixels_scalar(x, y, done, m, s, pixels) && all_inside;
}

// Whether t[0 .. n) is non-decreasing; n > 0.
inline bool non_decreasing(const std::int64_t* t, std::size_t n, bool avx2) {
#ifdef EVLIB_AVX2
  if (avx2) return non_decreasing_avx2(t, n);
#else
  (void)avx2;
#endif
  return std::is_sorted(t, t + n);
}

// A block's additions, each event's left weight into its voxel of left_plane and right weight
// into right_plane (either null when past the grid); kSkipOutside: look for off-sensor events.
template <class T, bool kSkipOutside>
inline void add_block(const std::size_t* pixels, const double* left, const double* right, std::size_t m, T* left_plane,
                      T* right_plane) {
  const auto add = [&](std::size_t j) {
    const std::size_t pixel = pixels[j];
    if (kSkipOutside && pixel == kOutside) return;
    if (left_plane != nullptr) left_plane[pixel] = static_cast<T>(static_cast<double>(left_plane[pixel]) + left[j]);
    if (right_plane != nullptr) right_plane[pixel] = static_cast<T>(static_cast<double>(right_plane[pixel]) + right[j]);
  };
  // The voxels of the event kPrefetchAhead places later are fetched meanwhile: the planes rarely
  // fit in L2, and a load that misses holds the loop's later events back. The addresses are
  // integers (an off-sensor event's would leave the grid; a prefetch never faults).
  const auto base_left = reinterpret_cast<std::uintptr_t>(left_plane), base_right = reinterpret_cast<std::uintptr_t>(right_plane);
  std::size_t j = 0;
  for (; j + detail::kPrefetchAhead < m; ++j) {
    const std::uintptr_t ahead = pixels[j + detail::kPrefetchAhead] * sizeof(T);
    if (left_plane != nullptr) __builtin_prefetch(reinterpret_cast<const void*>(base_left + ahead), 1);
    if (right_plane != nullptr) __builtin_prefetch(reinterpret_cast<const void*>(base_right + ahead), 1);
    add(j);
  }
  for (; j < m; ++j) add(j);
}

// Returns false, out holding partial sums, when t turns out not to be non-decreasing: the time
// order is checked here, block by block just before the block's additions (the block's times
// then in L1), not in a pass of its own over t beforehand, which cost a tenth of the kernel (t
// is 8 bytes an event, read from memory a second time). The ranges found by the binary search
// cover every event whatever the order, so a sequence whose every adjacent pair is in order
// (checked inside each block and across its first event) is non-decreasing, and its ranges
// right. Requires n > 0 and t.back() >= t.front() (then last_bin >= 0).
//
// zero_planes: out is not zeroed yet; each plane is zeroed just before the first of its
// additions (range k's, walking down), not all of them beforehand: the random additions then
// find the plane's lines just written, in the caches, instead of evicted by the later planes'
// zeroing (a 640x480 float64 plane is 2.4 MB, more than this core's L2).
template <class T>
bool spread_sorted(EventView window, const VoxelGridOptions& options, const TimeScale& scale, T* out, bool zero_planes) {
  const auto [t, x, y, p, n, s, plane, bins, all_on] = Grid(window, options);
  // clang 14 (the fuzz build) cannot capture a structured binding: capture a copy of it.
  const auto bin_of = [&scale, times = t](std::size_t i) { return static_cast<std::int64_t>(scale.at(times[i])); };
  // Range k: the events with bin k, k = 0 .. bin of the last event (bins at most, tonic's last).
  const std::int64_t last_bin = bin_of(n - 1);
  std::vector<std::size_t> starts(static_cast<std::size_t>(last_bin) + 2, n);
  starts[0] = 0;
  for (std::int64_t k = 1; k <= last_bin; ++k) {
    std::size_t lo = starts[static_cast<std::size_t>(k) - 1], hi = n;
    while (lo < hi) {  // first event with bin >= k
      const std::size_t mid = lo + (hi - lo) / 2;
      if (bin_of(mid) >= k) hi = mid; else lo = mid + 1;
    }
    starts[static_cast<std::size_t>(k)] = lo;
  }
  // Per block: the weights, then the voxels' offsets, then the additions. The offsets apart (a
  // branch-free pass) leave the addition loop nothing but its loads and stores, which then
  // overlap more of their cache misses (the planes rarely fit in L2).
  alignas(64) double left[kBlock], right[kBlock];
  std::size_t pixels[kBlock];
  const bool avx2 = evlib::detail::avx2_kernels_run();
  if (zero_planes) {  // the planes after the last range's left one: its right plane, and untouched ones
    const auto untouched = static_cast<std::size_t>(std::min(last_bin + 1, bins));
    std::fill(out + untouched * plane, out + static_cast<std::size_t>(bins) * plane, T{});
  }
  for (std::int64_t k = last_bin; k >= 0; --k) {
    const bool has_left = k < bins, has_right = k + 1 < bins;
    T* left_plane = out + static_cast<std::size_t>(k) * plane;
    T* right_plane = left_plane + plane;
    if (zero_planes && has_left) std::fill(left_plane, left_plane + plane, T{});
    const double bin = static_cast<double>(k);
    for (std::size_t b = starts[static_cast<std::size_t>(k)], e = starts[static_cast<std::size_t>(k) + 1]; b < e; b += kBlock) {
      const std::size_t m = std::min(kBlock, e - b);
      if ((b != 0 && t[b - 1] > t[b]) || !non_decreasing(t + b, m, avx2)) return false;
      if (!has_left && !has_right) continue;  // past the grid (tonic's events at the last time): checked only
      block_weights(t + b, p + b, m, scale, bin, all_on, left, right, avx2);
      // Off-sensor events are rare: a block without any adds without looking for them.
      if (block_pixels(x + b, y + b, m, s, pixels, avx2))
        add_block<T, false>(pixels, left, right, m, has_left ? left_plane : nullptr, has_right ? right_plane : nullptr);
      else
        add_block<T, true>(pixels, left, right, m, has_left ? left_plane : nullptr, has_right ? right_plane : nullptr);
    }
  }
  return true;
}

// Whether spread_sorted may be tried: the span non-negative and exactly representable (whether
// t is non-decreasing, it finds out as it goes).
bool sorted_fast_path_may_apply(EventView window) {
  const auto t = window.t();
  return t.back() >= t.front() &&
         static_cast<std::uint64_t>(t.back()) - static_cast<std::uint64_t>(t.front()) < (std::uint64_t{1} << 52);
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

template <class T>
void spread_window(EventView window, const VoxelGridOptions& options, std::span<T> out, bool out_is_zeroed) {
  detail::require_sensor(options.sensor, "voxel grid");
  if (options.bins == 0) throw std::invalid_argument("voxel grid: bins must be positive");
  const std::size_t size = std::size_t{options.bins} * options.sensor.pixels();
  if (out.size() != size)
    throw std::invalid_argument("voxel grid: the output holds " + std::to_string(out.size()) + " values, not " +
                                std::to_string(size));
  if (window.empty()) {
    if (!out_is_zeroed) std::ranges::fill(out, T{});
    return;
  }
  detail::require_columns(window, kAllColumns, "voxel grid");
  const TimeScale scale = time_scale(window, options);
  bool done = false;
  if (sorted_fast_path_may_apply(window)) {
    done = spread_sorted<T>(window, options, scale, out.data(), !out_is_zeroed);
    if (!done) std::ranges::fill(out, T{});  // unsorted after all: its partial sums go
  } else if (!out_is_zeroed) {
    std::ranges::fill(out, T{});
  }
  if (!done) {
    spread<T, false>(window, options, scale, out.data());
    spread<T, true>(window, options, scale, out.data());
  }
  if (options.normalize) normalize_nonzero(out);
}

}  // namespace

template <class T>
void voxel_grid(EventView window, const VoxelGridOptions& options, std::span<T> out) {
  spread_window(window, options, out, false);
}

template <class T>
void voxel_grid_into_zeroed(EventView window, const VoxelGridOptions& options, std::span<T> out) {
  spread_window(window, options, out, true);
}

template <class T>
std::vector<T> voxel_grid(EventView window, const VoxelGridOptions& options) {
  std::vector<T> out(std::size_t{options.bins} * options.sensor.pixels());
  voxel_grid_into_zeroed<T>(window, options, std::span<T>(out));  // a fresh vector is already zero
  return out;
}

template void voxel_grid<float>(EventView, const VoxelGridOptions&, std::span<float>);
template void voxel_grid<double>(EventView, const VoxelGridOptions&, std::span<double>);
template void voxel_grid_into_zeroed<float>(EventView, const VoxelGridOptions&, std::span<float>);
template void voxel_grid_into_zeroed<double>(EventView, const VoxelGridOptions&, std::span<double>);
template std::vector<float> voxel_grid<float>(EventView, const VoxelGridOptions&);
template std::vector<double> voxel_grid<double>(EventView, const VoxelGridOptions&);

}  // namespace evlib::ops
