#include "evlib/ops/time_surface.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "exp_double.hpp"
#include "min_max.hpp"
#include "narrow_times.hpp"
#include "pixel_cells.hpp"

namespace evlib::ops {
namespace {
constexpr std::uint64_t kTwoTo52 = std::uint64_t{1} << 52;
}  // namespace

namespace {

// (t - min) * alpha, clamped to [0, 255] and truncated, as dv-processing's generateFrame(): t
// converted exactly by placing t - min (below 2^52) in the mantissa of 2^52 and subtracting 2^52
// (AVX2 has no int64 -> double conversion; the same doubles as a cast).
inline std::uint8_t scaled_u8(std::int64_t t, std::int64_t min, double alpha) {
  const auto since_min = static_cast<std::uint64_t>(t - min);
  const double exact = std::bit_cast<double>(since_min | std::bit_cast<std::uint64_t>(0x1p52)) - 0x1p52;
  return static_cast<std::uint8_t>(std::clamp(exact * alpha, 0.0, 255.0));
}

// Over narrow cells (time base + cell, or 0 for a cell 0): the least cell less one (a cell 0
// wraps to the greatest value, so this is the least non-zero cell less one, or 0xFFFFFFFF when
// every cell is 0), the greatest cell, and whether some cell is 0.
struct NarrowExtremes {
  std::uint32_t least_nonzero_less_one = 0xFFFFFFFFu;
  std::uint32_t greatest = 0;
  bool any_zero = false;

  void add(std::uint32_t least, std::uint32_t least_less_one, std::uint32_t most) noexcept {
    any_zero = any_zero || least == 0;
    least_nonzero_less_one = std::min(least_nonzero_less_one, least_less_one);
    greatest = std::max(greatest, most);
  }
  void add(std::uint32_t cell) noexcept { add(cell, cell - 1, cell); }
  // The least and greatest time (base + cell never overflows: see LastTimestampMap::add).
  std::pair<std::int64_t, std::int64_t> times(std::int64_t base) const noexcept {
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    if (any_zero) lo = hi = 0;
    if (greatest != 0) {
      lo = std::min(lo, base + std::int64_t{least_nonzero_less_one} + 1);
      hi = std::max(hi, base + std::int64_t{greatest});
    }
    return {lo, hi};
  }
};

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// (t - min) * alpha clamped and truncated for four values of t - min (below 2^52), with the same
// IEEE operations as scaled_u8 (no FMA; the products are never NaN, so vminpd/vmaxpd clamp as
// std::clamp does, and vcvttpd2dq truncates as the cast does).
inline __m128i scaled_four_avx2(__m256i since_min, __m256d factor) {
  const __m256i exponent = _mm256_set1_epi64x(0x4330000000000000LL);  // the bits of 2^52
  const __m256d exact = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(since_min, exponent)), _mm256_set1_pd(0x1p52));
  const __m256d clamped = _mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(exact, factor), _mm256_setzero_pd()), _mm256_set1_pd(255.0));
  return _mm256_cvttpd_epi32(clamped);
}

// scaled_u8 of the first n / 16 * 16 values of (t - min) that since_min(i) gives four at a time;
// returns how many it did.
template <class SinceMin>
std::size_t scaled_u8_avx2(std::size_t n, double alpha, std::uint8_t* out, SinceMin since_min) {
  const __m256d factor = _mm256_set1_pd(alpha);
  const std::size_t end = n / 16 * 16;
  for (std::size_t i = 0; i < end; i += 16) {
    __m128i q[4];
    for (std::size_t k = 0; k < 4; ++k) q[k] = scaled_four_avx2(since_min(i + 4 * k), factor);
    const __m128i bytes = _mm_packus_epi16(_mm_packus_epi32(q[0], q[1]), _mm_packus_epi32(q[2], q[3]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), bytes);
  }
  return end;
}

std::size_t scaled_u8_wide_avx2(const std::int64_t* map, std::size_t n, std::int64_t min, double alpha, std::uint8_t* out) {
  const __m256i origin = _mm256_set1_epi64x(min);
  return scaled_u8_avx2(n, alpha, out, [map, origin](std::size_t i) {
    return _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(map + i)), origin);
  });
}

// The same over narrow cells, whose time is base + cell, or 0 for a cell 0: t - min is
// (base - min) + cell, or -min (modular: the result, below 2^52, is exact).
std::size_t scaled_u8_narrow_avx2(const std::uint32_t* cells, std::size_t n, std::int64_t base, std::int64_t min,
                                  double alpha, std::uint8_t* out) {
  const __m256i base_since_min = _mm256_set1_epi64x(static_cast<std::int64_t>(static_cast<std::uint64_t>(base) - static_cast<std::uint64_t>(min)));
  const __m256i zero_since_min = _mm256_set1_epi64x(static_cast<std::int64_t>(std::uint64_t{0} - static_cast<std::uint64_t>(min)));
  return scaled_u8_avx2(n, alpha, out, [=](std::size_t i) {
    const __m256i cell = _mm256_cvtepu32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(cells + i)));
    const __m256i none = _mm256_cmpeq_epi64(cell, _mm256_setzero_si256());
    return _mm256_blendv_epi8(_mm256_add_epi64(cell, base_since_min), zero_since_min, none);
  });
}

// NarrowExtremes of cells[0, n / 8 * 8), eight cells at a time (vpminud, vpmaxud); returns how
// many it did.
std::size_t narrow_extremes_avx2(const std::uint32_t* cells, std::size_t n, NarrowExtremes& e) {
  const __m256i one = _mm256_set1_epi32(1);
  __m256i least = _mm256_set1_epi32(-1), least_less_one = least, greatest = _mm256_setzero_si256();
  const std::size_t end = n / 8 * 8;
  for (std::size_t i = 0; i < end; i += 8) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells + i));
    least = _mm256_min_epu32(least, c);
    least_less_one = _mm256_min_epu32(least_less_one, _mm256_sub_epi32(c, one));
    greatest = _mm256_max_epu32(greatest, c);
  }
  alignas(32) std::uint32_t lo[8], lo1[8], hi[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lo), least);
  _mm256_store_si256(reinterpret_cast<__m256i*>(lo1), least_less_one);
  _mm256_store_si256(reinterpret_cast<__m256i*>(hi), greatest);
  for (std::size_t k = 0; k < 8; ++k) e.add(lo[k], lo1[k], hi[k]);
  return end;
}
EVLIB_AVX2_END
#endif

}  // namespace

namespace {

// The memory of the last destroyed map, for the next map of its size (a map per slice or per
// file then starts without page faults, which cost more than adding a million events).
constinit SpareColumnMemory spare_map_memory;

using detail::fits_narrow;
using detail::narrow_time;

}  // namespace

LastTimestampMap::LastTimestampMap(SensorSize sensor, bool split_polarity)
    : sensor_(sensor), split_(split_polarity), size_((split_polarity ? 2u : 1u) * sensor.pixels()) {
  detail::require_sensor(sensor, "last-timestamp map");
  bool reused = false;
  memory_ = spare_map_memory.take(size_ * sizeof(std::int64_t), &reused);
  if (reused || !memory_.mapped()) reset();  // a fresh mapping reads as zeros already
}

LastTimestampMap::~LastTimestampMap() {
  if (memory_.data() == nullptr) return;  // moved from
  spare_map_memory.keep(std::move(memory_));
}

LastTimestampMap::LastTimestampMap(const LastTimestampMap& other)
    : sensor_(other.sensor_),
      split_(other.split_),
      size_(other.size_),
      wide_(other.wide_),
      based_(other.based_),
      base_(other.base_),
      memory_(spare_map_memory.take(size_ * sizeof(std::int64_t))) {
  const std::size_t bytes = size_ * (wide_ ? sizeof(std::int64_t) : sizeof(std::uint32_t));
  if (bytes != 0) std::memcpy(memory_.data(), other.memory_.data(), bytes);
}

LastTimestampMap::LastTimestampMap(LastTimestampMap&& other) noexcept
    : sensor_(other.sensor_),
      split_(other.split_),
      size_(std::exchange(other.size_, 0)),
      wide_(other.wide_),
      based_(other.based_),
      base_(other.base_),
      memory_(std::move(other.memory_)) {}

LastTimestampMap& LastTimestampMap::operator=(LastTimestampMap&& other) noexcept {
  if (this != &other) {
    sensor_ = other.sensor_;
    split_ = other.split_;
    size_ = std::exchange(other.size_, 0);
    wide_ = other.wide_;
    based_ = other.based_;
    base_ = other.base_;
    spare_map_memory.keep(std::exchange(memory_, std::move(other.memory_)));  // as a destroyed map's
  }
  return *this;
}

LastTimestampMap& LastTimestampMap::operator=(const LastTimestampMap& other) {
  if (this != &other) *this = LastTimestampMap(other);
  return *this;
}

void LastTimestampMap::reset() {
  if (wide_) std::fill_n(wide_cells(), size_, 0);
  else std::fill_n(narrow_cells(), size_, 0u);
  wide_ = false;
  based_ = false;
}

void LastTimestampMap::add(EventView events) {
  if (events.empty() || size_ == 0) return;
  detail::require_columns(events, kColumnT | kColumnX | kColumnY | (split_ ? kColumnP : 0u), "last-timestamp map");
  std::size_t first_wide = 0;
  if (!wide_) {
    if (!based_) {
      // Times grow with their cells (narrow_base), which the frame's extremes rely on.
      based_ = true;
      if (const auto base = detail::narrow_base(events.t()[0])) base_ = *base;
      else widen();
    }
    if (!wide_) {
      first_wide = add_narrow(events);
      if (first_wide == events.size()) return;
      widen();
    }
  }
  add_wide(events.slice(first_wide, events.size()));
}

// Stores every event whose time fits a narrow cell and returns the index of the first that did
// not (events.size() if none). Events after that one were stored too; add_wide() runs them again
// from there, in order, so each cell ends with its last event's time.
std::size_t LastTimestampMap::add_narrow(EventView events) {
  const std::int64_t* t = events.t().data();
  std::uint32_t* map = narrow_cells();
  const auto base = static_cast<std::uint64_t>(base_);
  std::size_t first_outside = events.size();
  // Plain stores, not prefetched: the core overlaps the misses of stores by itself (prefetching
  // them cost 35 % more time at 640x480 on the 2026-12 benchmark host).
  const auto store = [map, t, base, &first_outside](std::size_t i, std::size_t cell) {
    const std::uint64_t since_base = static_cast<std::uint64_t>(t[i]) - base;
    if (fits_narrow(since_base)) [[likely]]
      map[cell] = static_cast<std::uint32_t>(since_base);
    else
      first_outside = std::min(first_outside, i);
  };
  for_each_cell(events, store);
  return first_outside;
}

void LastTimestampMap::add_wide(EventView events) {
  const std::int64_t* t = events.t().data();
  std::int64_t* map = wide_cells();
  for_each_cell(events, [map, t](std::size_t i, std::size_t cell) { map[cell] = t[i]; });
}

template <class Visit>
void LastTimestampMap::for_each_cell(EventView events, Visit visit) const {
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  if (split_) detail::for_each_pixel_cell<true>(x, y, events.p().data(), events.size(), sensor_, visit);
  else detail::for_each_pixel_cell<false>(x, y, nullptr, events.size(), sensor_, visit);
}

// Narrow cells to int64 times in place, from the last cell down: wide cell i covers narrow
// cells 2i and 2i + 1, both at or after i, so each narrow cell is read before it is overwritten.
void LastTimestampMap::widen() {
  if (!wide_) {
    const std::uint32_t* narrow = narrow_cells();
    std::int64_t* wide = wide_cells();
    for (std::size_t i = size_; i-- > 0;) wide[i] = narrow_time(narrow[i], base_);
  }
  wide_ = true;
}

void LastTimestampMap::require_output_size(std::size_t values) const {
  if (values != size_)
    throw std::invalid_argument("last-timestamp map: the output holds " + std::to_string(values) + " values, not " +
                                std::to_string(size_));
}

std::vector<std::int64_t> LastTimestampMap::map() const {
  std::vector<std::int64_t> out(size_);
  map_into(out);
  return out;
}

void LastTimestampMap::map_into(std::span<std::int64_t> out) const {
  require_output_size(out.size());
  if (wide_) {
    std::copy_n(wide_cells(), size_, out.begin());
    return;
  }
  const std::uint32_t* cells = narrow_cells();
  for (std::size_t i = 0; i < size_; ++i) out[i] = narrow_time(cells[i], base_);
}

std::pair<std::int64_t, std::int64_t> LastTimestampMap::extremes(bool avx2) const {
  if (wide_) {
    const std::span<const std::int64_t> times(wide_cells(), size_);
    return detail::min_max(times, avx2);
  }
  const std::uint32_t* cells = narrow_cells();
  NarrowExtremes e;
  std::size_t done = 0;
#ifdef EVLIB_AVX2
  if (avx2) done = narrow_extremes_avx2(cells, size_, e);
#endif
  for (std::size_t i = done; i < size_; ++i) e.add(cells[i]);
  return e.times(base_);
}

void LastTimestampMap::to_u8_scaled(std::span<std::uint8_t> out) const {
  require_output_size(out.size());
  if (size_ == 0) return;  // moved from
  const bool avx2 = detail::avx2_kernels_run();
  const auto [min, max] = extremes(avx2);
  if (min == max) {
    std::ranges::fill(out, 0);
    return;
  }
  // The differences as unsigned: exact also where they pass 2^63 (times of both signs), where
  // dv-processing's int64 subtraction would overflow; below that, the same values.
  const auto range = static_cast<std::uint64_t>(max) - static_cast<std::uint64_t>(min);
  const double alpha = 255.0 / static_cast<double>(range);
  const std::uint32_t* narrow = narrow_cells();
  const std::int64_t* wide = wide_cells();
  const auto time_at = [&](std::size_t i) { return wide_ ? wide[i] : narrow_time(narrow[i], base_); };
  std::uint8_t* o = out.data();
  if (range >= kTwoTo52) {
    for (std::size_t i = 0; i < size_; ++i)
      o[i] = static_cast<std::uint8_t>(std::clamp(
          static_cast<double>(static_cast<std::uint64_t>(time_at(i)) - static_cast<std::uint64_t>(min)) * alpha, 0.0, 255.0));
    return;
  }
  std::size_t done = 0;
#ifdef EVLIB_AVX2
  if (avx2)
    done = wide_ ? scaled_u8_wide_avx2(wide, size_, min, alpha, o) : scaled_u8_narrow_avx2(narrow, size_, base_, min, alpha, o);
#endif
  for (std::size_t i = done; i < size_; ++i) o[i] = scaled_u8(time_at(i), min, alpha);
}

namespace {

// Grows out by `more` values. A large fresh block is asked for transparent huge pages before it
// is first written: 4 KiB first-touch faults cost more than computing the surfaces (as for event
// columns, src/core/column_memory.cpp). Only the 2 MiB-aligned pages inside the block are
// advised; the advice changes no content.
void grow_surfaces(std::vector<double>& out, std::size_t more) {
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const std::size_t before = out.capacity();
  out.reserve(out.size() + more);
  if (out.capacity() != before) {
    const auto begin = (reinterpret_cast<std::uintptr_t>(out.data() + out.size()) + kHugePage - 1) & ~(kHugePage - 1);
    const auto end = reinterpret_cast<std::uintptr_t>(out.data() + out.capacity()) & ~(kHugePage - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
  out.resize(out.size() + more);
}

// Cells per block of emit(): a block's values (4 KiB) and its list of cells to compute stay in L1.
constexpr std::size_t kSurfaceBlock = 512;
// Surfaces from this size on are written with streaming stores: they bypass the caches, which
// would otherwise fill with output and evict the table of ages and the memory being read.
constexpr std::size_t kStreamedSurface = std::size_t{1} << 17;  // values (1 MiB)

// Copies n values to dst; streamed: through non-temporal stores (dst is then not in the cache).
void write_block(double* dst, const double* src, std::size_t n, bool streamed) {
#if defined(__SSE2__)
  if (streamed) {
    std::size_t i = 0;
    if (reinterpret_cast<std::uintptr_t>(dst) % 16 != 0) {
      dst[0] = src[0];
      i = 1;
    }
    for (; i + 2 <= n; i += 2) _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
    if (i < n) dst[i] = src[i];
    return;
  }
#endif
  (void)streamed;
  std::copy_n(src, n, dst);
}

// emit()'s first pass over one block of cells, one cell at a time from cell j on: each cell's
// value from the table (its age capped at the table's size, plus one for a never-fired cell),
// and the list of cells whose value is NaN (not computed yet). Returns the new list length.
inline std::size_t surface_values_scalar(const double* mem, std::size_t j, std::size_t m, double end, double table_ages,
                                         const double* decay, double* values, std::uint32_t* unknown,
                                         std::size_t pending) {
  for (; j < m; ++j) {
    const double age = end - mem[j];  // > 0: memory holds times before the window's end, or -inf
    // Written as a minimum, a signed conversion and an added flag, not as conditions: the
    // compiler would make those branches.
    const auto capped = static_cast<std::int64_t>(std::min(age, table_ages));
    const std::size_t never_fired = age == std::numeric_limits<double>::infinity() ? 1 : 0;
    const double v = decay[static_cast<std::size_t>(capped) + never_fired];
    values[j] = v;
    unknown[pending] = static_cast<std::uint32_t>(j);
    pending += std::isnan(v) ? 1 : 0;
  }
  return pending;
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// surface_values_scalar four cells at a time, the same values: the age's truncation by
// vcvttpd2dq (ages below the cap, 2^15, fit 32 bits; vminpd picks the cap for +inf as std::min
// does), the table read by vgatherdpd, and the NaN cells appended branch-free (a table of the
// listed lanes for each 4-bit mask; unknown has room for 3 more entries than cells).
std::size_t surface_values_avx2(const double* mem, std::size_t m, double end, double table_ages, const double* decay,
                                double* values, std::uint32_t* unknown) {
  static constexpr std::array<std::array<std::uint32_t, 4>, 16> kLanes = [] {
    std::array<std::array<std::uint32_t, 4>, 16> lanes{};
    for (std::uint32_t mask = 0; mask < 16; ++mask)
      for (std::uint32_t lane = 0, k = 0; lane < 4; ++lane)
        if (mask & (1u << lane)) lanes[mask][k++] = lane;
    return lanes;
  }();
  const __m256d end4 = _mm256_set1_pd(end), cap = _mm256_set1_pd(table_ages);
  const __m256d infinity = _mm256_set1_pd(std::numeric_limits<double>::infinity());
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m256d all_lanes = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  std::size_t pending = 0, j = 0;
  for (; j + 4 <= m; j += 4) {
    const __m256d age = _mm256_sub_pd(end4, _mm256_loadu_pd(mem + j));
    const __m128i capped = _mm256_cvttpd_epi32(_mm256_min_pd(age, cap));
    const __m256i never = _mm256_castpd_si256(_mm256_cmp_pd(age, infinity, _CMP_EQ_OQ));  // all ones: -1
    const __m128i slot = _mm_sub_epi32(capped, _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(never, low_halves)));
    // The masked form with every lane set: the plain one starts from an undefined register, which
    // GCC 12 warns of.
    const __m256d v = _mm256_mask_i32gather_pd(_mm256_setzero_pd(), decay, slot, all_lanes, 8);
    _mm256_store_pd(values + j, v);
    const auto mask = static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(v, v, _CMP_UNORD_Q)));
    const __m128i lanes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLanes[mask].data()));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(unknown + pending), _mm_add_epi32(lanes, _mm_set1_epi32(static_cast<int>(j))));
    pending += static_cast<std::size_t>(__builtin_popcount(mask));
  }
  return surface_values_scalar(mem, j, m, end, table_ages, decay, values, unknown, pending);
}
EVLIB_AVX2_END
#endif

// emit()'s second pass: the values of the listed cells [k, pending), tonic's
// exp(-(end - memory) / tau), each also kept in the table when its age is in it.
inline void computed_values_scalar(const double* mem, const std::uint32_t* unknown, std::size_t k, std::size_t pending,
                                   double end, double tau, double table_ages, double* decay, double* values) {
  for (; k < pending; ++k) {
    const std::uint32_t j = unknown[k];
    const double age = end - mem[j];
    const double v = detail::exp_double(-age / tau);
    if (age < table_ages) decay[static_cast<std::size_t>(age)] = v;
    values[j] = v;
  }
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// computed_values_scalar four listed cells at a time (the same operations: exp4_avx2 is
// exp_double lane by lane); returns where it stopped, the last partial four left to the caller.
std::size_t computed_values_avx2(const double* mem, const std::uint32_t* unknown, std::size_t pending, double end,
                                 double tau, double table_ages, double* decay, double* values) {
  const __m256d end4 = _mm256_set1_pd(end), tau4 = _mm256_set1_pd(tau), sign = _mm256_set1_pd(-0.0);
  const __m256d all_lanes = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  std::size_t k = 0;
  for (; k + 4 <= pending; k += 4) {
    const __m128i cells = _mm_loadu_si128(reinterpret_cast<const __m128i*>(unknown + k));
    const __m256d memory = _mm256_mask_i32gather_pd(_mm256_setzero_pd(), mem, cells, all_lanes, 8);
    const __m256d age = _mm256_sub_pd(end4, memory);
    const __m256d v = detail::exp4_avx2(_mm256_div_pd(_mm256_xor_pd(age, sign), tau4));
    alignas(32) double ages[4], lanes[4];
    _mm256_store_pd(ages, age);
    _mm256_store_pd(lanes, v);
    for (std::size_t lane = 0; lane < 4; ++lane) {
      if (ages[lane] < table_ages) decay[static_cast<std::size_t>(ages[lane])] = lanes[lane];
      values[unknown[k + lane]] = lanes[lane];
    }
  }
  return k;
}
EVLIB_AVX2_END
#endif

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

void HotsTimeSurfaces::emit(double* out) {
  // tonic: exp(-((i + 1) * dt + start - memory) / tau), the subtraction in float64.
  const auto end = static_cast<double>(window_end(start_, window_));
  const double tau = options_.tau_us;
  // The value depends on end - m alone (both whole numbers of µs below 2^53: the difference is
  // exact), so each age's exp is computed once and reused: the same expression on the same
  // double gives the same bits, and a window of a busy stream holds far fewer distinct ages
  // than cells. Ages past the table are computed; never-fired cells (-inf: exp gives +0) read 0.
  if (decay_.empty()) {
    decay_.assign(std::min<std::size_t>(kDecayTable, 4 * memory_.size() + 1024) + 2, kUnknown);
    decay_.back() = 0.0;
  }
  const std::size_t table = decay_.size() - 2;  // decay_[table]: NaN, decay_[table + 1]: 0
  const auto table_ages = static_cast<double>(table);
  double* decay = decay_.data();
  const double* memory = memory_.data();
  const bool streamed = memory_.size() >= kStreamedSurface;
  // Per block, branch-free: each cell's slot (its age, or one of the two last slots) and the
  // value there, listing the cells whose value is NaN (not yet computed); then the exp of those.
  // Which cells need an exp is random in a busy stream: a branch per cell would mispredict.
  alignas(64) double values[kSurfaceBlock];
  std::uint32_t unknown[kSurfaceBlock + 3];
  const bool avx2 = detail::avx2_kernels_run();
  for (std::size_t begin = 0, n = memory_.size(); begin < n; begin += kSurfaceBlock) {
    const std::size_t m = std::min(kSurfaceBlock, n - begin);
    const double* mem = memory + begin;
    std::size_t pending = 0;
#ifdef EVLIB_AVX2
    if (avx2) pending = surface_values_avx2(mem, m, end, table_ages, decay, values, unknown);
    else pending = surface_values_scalar(mem, 0, m, end, table_ages, decay, values, unknown, 0);
#else
    (void)avx2;
    pending = surface_values_scalar(mem, 0, m, end, table_ages, decay, values, unknown, 0);
#endif
    std::size_t k = 0;
#ifdef EVLIB_AVX2
    if (avx2) k = computed_values_avx2(mem, unknown, pending, end, tau, table_ages, decay, values);
#endif
    computed_values_scalar(mem, unknown, k, pending, end, tau, table_ages, decay, values);
    write_block(out + begin, values, m, streamed);
  }
#if defined(__SSE2__)
  if (streamed) _mm_sfence();  // the streamed values are visible to whoever reads out next
#endif
  ++window_;
  ++emitted_;
}

std::size_t HotsTimeSurfaces::values_of(std::size_t surfaces) const {
  std::size_t values = 0;
  if (__builtin_mul_overflow(surfaces, memory_.size(), &values) ||
      static_cast<double>(values) * sizeof(double) > detail::physical_memory_bytes())
    throw std::length_error("HOTS time surface: " + std::to_string(surfaces) + " surfaces of " + std::to_string(memory_.size()) +
                            " values: more than memory can hold (the events span that many windows of dt)");
  return values;
}

int128 HotsTimeSurfaces::window_end(std::int64_t start, std::int64_t window) const noexcept {
  return static_cast<int128>(start) + static_cast<int128>(window + 1) * options_.dt_us;
}

void HotsTimeSurfaces::check_order(EventView events) const {
  const auto t = events.t();
  if (started_ && t[0] < last_t_)
    throw std::invalid_argument("HOTS time surface: time decreases at event 0 of a batch");
  if (const auto at = std::ranges::is_sorted_until(t); at != t.end())
    throw std::invalid_argument("HOTS time surface: time decreases at event " + std::to_string(at - t.begin()) +
                                " of a batch");
}

std::size_t HotsTimeSurfaces::surfaces_completed_by(EventView events) const {
  if (events.empty()) return 0;
  const std::int64_t start = started_ ? start_ : events.t()[0];
  const int128 end = window_end(start, window_);
  const std::int64_t last = events.t()[events.size() - 1];
  return last < end ? 0 : static_cast<std::size_t>((last - end) / options_.dt_us) + 1;
}

std::size_t HotsTimeSurfaces::surfaces_at_finish() const noexcept {
  // tonic keeps the open window with include_incomplete when it starts before the last event,
  // and always produces at least one window.
  if (!started_) return 0;
  const int128 open_start = window_end(start_, window_ - 1);
  return (options_.include_incomplete && open_start < last_t_) || emitted_ == 0 ? 1 : 0;
}

std::size_t HotsTimeSurfaces::add(EventView events, std::vector<double>& out) {
  if (events.empty()) return 0;
  check_order(events);
  const std::size_t at = out.size();
  grow_surfaces(out, values_of(surfaces_completed_by(events)));
  return add_into(events, std::span<double>(out).subspan(at));
}

std::size_t HotsTimeSurfaces::finish(std::vector<double>& out) {
  const std::size_t at = out.size();
  out.resize(at + surfaces_at_finish() * memory_.size());
  return finish_into(std::span<double>(out).subspan(at));
}

std::size_t HotsTimeSurfaces::add_into(EventView events, std::span<double> out) {
  if (events.empty()) return 0;
  detail::require_columns(events, kColumnT | kColumnX | kColumnY | (options_.polarities == 2 ? kColumnP : 0u),
                          "HOTS time surface");
  check_order(events);
  const std::size_t count = surfaces_completed_by(events);
  if (out.size() < values_of(count))
    throw std::invalid_argument("HOTS time surface: the output holds " + std::to_string(out.size()) +
                                " values, not " + std::to_string(values_of(count)));
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = options_.polarities == 2 ? events.p().data() : nullptr;
  const std::size_t plane = options_.sensor.pixels();
  if (!started_) {
    started_ = true;
    start_ = t[0];
  }
  int128 end = window_end(start_, window_);
  double* next = out.data();
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    // An event at or past the open window's end proves that window complete (its end <= the
    // last time), so tonic keeps it.
    while (t[i] >= end) {
      emit(next);
      next += memory_.size();
      end += options_.dt_us;
    }
    const unsigned channel = p ? p[i] : 0u;
    if (!options_.sensor.contains(x[i], y[i]) || channel >= options_.polarities) [[unlikely]]
      continue;
    memory_[channel * plane + std::size_t{y[i]} * options_.sensor.width + x[i]] = static_cast<double>(t[i]);
  }
  last_t_ = t[events.size() - 1];
  return count;
}

std::size_t HotsTimeSurfaces::finish_into(std::span<double> out) {
  const std::size_t count = surfaces_at_finish();
  if (out.size() < values_of(count))
    throw std::invalid_argument("HOTS time surface: the output holds " + std::to_string(out.size()) +
                                " values, not " + std::to_string(values_of(count)));
  if (count != 0) emit(out.data());
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
