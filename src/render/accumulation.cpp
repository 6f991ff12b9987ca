#include "evlib/render/accumulation.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "evlib/error.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/render/time_decay.hpp"
#include "ops/float_order.hpp"
#include "ops/min_max.hpp"
#include "render/colorize_avx512.hpp"
#include "render/prefetched_pixels.hpp"
#include "render/rgb_pixels.hpp"

namespace evlib::render {

namespace {

struct ModeName {
  Mode mode;
  std::string_view name;
};
constexpr ModeName kModeNames[] = {{Mode::kLastEvent, "last"},
                                   {Mode::kCounts, "counts"},
                                   {Mode::kExponentialDecay, "exp-decay"},
                                   {Mode::kLinearDecay, "linear-decay"},
                                   {Mode::kTimeSurface, "time-surface"},
                                   {Mode::kTimeDecay, "time-decay"}};

// The level of the window modes' background: their colour maps have it as neutral, so that a
// level of 255 is the ON colour, 0 the OFF colour.
constexpr std::uint8_t kNeutralLevel = 128;
// kTimeSurface: the packed time of a pixel without events in the window.
constexpr std::int64_t kNeverTime = std::numeric_limits<std::int64_t>::min();

std::uint8_t graded_level(bool on, double fraction) {
  return on ? static_cast<std::uint8_t>(kNeutralLevel + std::lround(127.0 * fraction))
            : static_cast<std::uint8_t>(kNeutralLevel - std::lround(128.0 * fraction));
}


}  // namespace

Mode mode_by_name(std::string_view name) {
  std::string names;
  for (const ModeName& m : kModeNames) {
    if (m.name == name) return m.mode;
    names += (names.empty() ? "" : ", ") + std::string(m.name);
  }
  throw InvalidArgument("unknown rendering mode '" + std::string(name) + "' (modes: " + names + ")");
}

std::string_view mode_name(Mode mode) {
  for (const ModeName& m : kModeNames)
    if (m.mode == mode) return m.name;
  return "?";
}

// ---- DvAccumulator ---------------------------------------------------------------------------

namespace {


// Elapsed times below this (262 ms) are decayed with a looked-up factor: a frame's events are at
// most a frame period (33 333 µs at 30 fps) after their pixel's last decay when the decay is
// synchronous; at 1 fps, 20 M events/s of uniform noise left 18.5 % of the elapsed times past
// 65 ms (taking a mispredicted branch and expf), 0.15 % past 262 ms. 1 MiB of floats, filled in
// under a millisecond.
constexpr std::size_t kExpFactors = std::size_t{1} << 18;
// OpenCV's convertTo(CV_8U, alpha, beta) on float: v * alpha + beta (fused in its SIMD loop),
// cvRound (to nearest, ties to even) and saturation. rintf rounds as lrintf does (the current
// mode, to nearest even) and, clamped before the conversion, vectorizes.
inline std::uint8_t converted_level(float v, float alpha, float beta) {
  return static_cast<std::uint8_t>(std::clamp(std::rint(std::fma(v, alpha, beta)), 0.0f, 255.0f));
}

}  // namespace

DvAccumulator::DvAccumulator(ops::SensorSize sensor, DvAccumulatorOptions options)
    : sensor_(sensor), options_(options), cells_(sensor.pixels(), Cell{options.neutral_potential, 0}) {
  ops::detail::require_sensor(sensor, "accumulator");
  if (!(options.max_potential > options.min_potential))
    throw InvalidArgument("accumulator: the maximum potential must exceed the minimum");
  if (!(options.decay_param > 0) || !std::isfinite(options.decay_param))
    throw InvalidArgument("accumulator: the decay parameter must be a positive number");
  exp_factor_.resize(kExpFactors);
  if (!options.linear) {
    const auto decay = static_cast<float>(options.decay_param);
    for (std::size_t e = 0; e < kExpFactors; ++e) exp_factor_[e] = std::exp(-static_cast<float>(e) / decay);
  } else {
    // The linear decay's step by elapsed time, Decay's expression: in the event loop a load in
    // place of a conversion to double, a product and a conversion back (on a 64x64 sensor,
    // state in cache, 430 -> 530 M events/s), while the elapsed times stay short (see there).
    for (std::size_t e = 0; e < kExpFactors; ++e)
      exp_factor_[e] = static_cast<float>(static_cast<double>(static_cast<std::int64_t>(e)) * options.decay_param);
  }
  // OpenCV's convertTo(CV_8U, alpha, beta) on float takes alpha and beta as float.
  const double range = static_cast<double>(options.max_potential) - options.min_potential;
  alpha_ = static_cast<float>(255.0 / range);
  beta_ = static_cast<float>(-options.min_potential * (255.0 / range));
}

std::vector<float> DvAccumulator::potentials() const {
  std::vector<float> out(cells_.size());
  for (std::size_t i = 0; i < cells_.size(); ++i) out[i] = cells_[i].potential;
  return out;
}

std::int64_t DvAccumulator::special_time(std::size_t pixel, std::uint32_t code) const {
  return code == kNeverTouched ? 0 : far_times_.at(pixel);
}

bool DvAccumulator::representable(std::int64_t low, std::int64_t high) const noexcept {
  return low >= time_base_ && static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(time_base_) < kTimeSpan;
}

void DvAccumulator::rebase(std::int64_t low) {
  // The new base lies half a span below `low`, so that the cells touched in the half span before
  // it (about 36 minutes of event time; with synchronous decay, every cell at the last frame)
  // keep relative times: a base at `low` itself would send every earlier cell to far_times_.
  constexpr std::int64_t kKeep = kTimeSpan / 2;
  const std::int64_t base = low >= std::numeric_limits<std::int64_t>::min() + kKeep ? low - kKeep
                                                                                    : std::numeric_limits<std::int64_t>::min();
  std::unordered_map<std::size_t, std::int64_t> far;
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    const std::uint32_t code = cells_[i].time;
    if (code == kNeverTouched) continue;
    const std::int64_t time = code == kFarTime ? far_times_.at(i) : time_base_ + code;
    if (time >= base && static_cast<std::uint64_t>(time) - static_cast<std::uint64_t>(base) < kTimeSpan) {
      cells_[i].time = static_cast<std::uint32_t>(time - base);
    } else if (time == 0) {
      cells_[i].time = kNeverTouched;  // dv's initial time, out of range: not one map entry per pixel
    } else {
      cells_[i].time = kFarTime;
      far.emplace(i, time);
    }
  }
  far_times_.swap(far);
  time_base_ = base;
}

namespace {

using Cell = DvAccumulator::Cell;

// One pixel's decay, with its parameters held in locals of the loops that call it (members
// would be reloaded after every store to a float potential, which may alias them).
struct Decay {
  float neutral;
  double param;
  const float* exp_factors;  // kExpFactors of them

  template <bool kLinear>
  float operator()(float last, std::int64_t elapsed) const {
    if constexpr (kLinear) {
      // dv: static_cast<float>(static_cast<double>(time - lastDecayTime) * decayParam_)
      const float step = static_cast<float>(static_cast<double>(elapsed) * param);
      // Both sides computed, one selected: whether a potential lies above the neutral one does
      // not follow a pattern a branch predictor could learn.
      const float down = std::max(last - step, neutral), up = std::min(last + step, neutral);
      return last >= neutral ? down : up;
    } else {
      // dv: (last - neutral) * expf(-(float)(time - lastDecayTime) / (float)decayParam_) + neutral,
      // the product rounded before the sum as in dv's build (no fused multiply-add).
      const float factor = static_cast<std::uint64_t>(elapsed) < kExpFactors
                               ? exp_factors[static_cast<std::size_t>(elapsed)]
                               : std::exp(-static_cast<float>(elapsed) / static_cast<float>(param));
      return ops::detail::rounded((last - neutral) * factor) + neutral;
    }
  }

  // Every cell of [begin, end) decayed to `now` (dv's synchronous decay), `now` relative to the
  // cells' base; special times (decay_time(i, code)) go one by one. Eight at a time where the
  // vector arithmetic is the scalar one: std::max(a, b) is _mm256_max_ps(b, a) (the same operand
  // on ties), the elapsed times below 2^31 converted to double exactly.
  template <bool kLinear, typename SpecialTime>
  void decay_all(Cell* cells, std::size_t begin, std::size_t end, std::int64_t base, std::uint32_t now,
                 bool untouched_runs, const SpecialTime& special_time) const;
};

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// Decay::decay_all's AVX2 loop: cells from i, eight at a time while eight remain before end;
// returns where it stopped: end's last partial eight, or eight cells one of which has a special
// time or an elapsed time out of the vector path's range (the caller decays them one by one).
template <bool kLinear>
std::size_t decay_cells_avx2(const Decay& decay, Cell* cells, std::size_t i, std::size_t end, std::uint32_t now,
                             bool untouched_runs) {
  const __m256i now8 = _mm256_set1_epi32(static_cast<int>(now));
  // Elapsed times below this take the vector path (unsigned): the exp table's, or 2^31.
  const __m256i below = _mm256_set1_epi32(static_cast<int>(kLinear ? 0x7FFFFFFFu : std::uint32_t{kExpFactors - 1}));
  const __m256 neutral8 = _mm256_set1_ps(decay.neutral);
  // Cells i..i+3 in a, i+4..i+7 in b (potential, time pairs); split into eight potentials and
  // eight times in the order i, i+1, i+4, i+5 | i+2, i+3, i+6, i+7, joined back the same way.
  const auto times_of = [](const Cell* eight) {
    const auto* floats = reinterpret_cast<const float*>(eight);
    return _mm256_castps_si256(_mm256_shuffle_ps(_mm256_loadu_ps(floats), _mm256_loadu_ps(floats + 8), _MM_SHUFFLE(3, 1, 3, 1)));
  };
  // Eight cells decayed; false (nothing written) when one is out of the vector path's range.
  // `shared`: every one of them has the time of cell i, whose factor `shared_factor` is.
  const auto decay8 = [&](std::size_t at, bool shared, __m256 shared_factor) {
    auto* cells_a = reinterpret_cast<float*>(cells + at);
    auto* cells_b = reinterpret_cast<float*>(cells + at + 4);
    const __m256 a = _mm256_loadu_ps(cells_a), b = _mm256_loadu_ps(cells_b);
    const __m256 last = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256i time = _mm256_castps_si256(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m256i elapsed = _mm256_sub_epi32(now8, time);
    // time <= now (the codes are above any now) and elapsed <= below, both unsigned.
    const __m256i in_range = _mm256_and_si256(_mm256_cmpeq_epi32(_mm256_max_epu32(time, now8), now8),
                                              _mm256_cmpeq_epi32(_mm256_min_epu32(elapsed, below), elapsed));
    if (_mm256_movemask_epi8(in_range) != -1) [[unlikely]]
      return false;
    __m256 v;
    if constexpr (kLinear) {
      const __m256d param4 = _mm256_set1_pd(decay.param);
      const __m128 step_low = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(elapsed)), param4));
      const __m128 step_high = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(elapsed, 1)), param4));
      const __m256 step = _mm256_set_m128(step_high, step_low);
      const __m256 down = _mm256_max_ps(neutral8, _mm256_sub_ps(last, step));
      const __m256 up = _mm256_min_ps(neutral8, _mm256_add_ps(last, step));
      v = _mm256_blendv_ps(up, down, _mm256_cmp_ps(last, neutral8, _CMP_GE_OQ));
      (void)shared, (void)shared_factor, (void)untouched_runs;
    } else {
      const __m256 factor = shared ? shared_factor : _mm256_i32gather_ps(decay.exp_factors, elapsed, 4);
      __m256 product = _mm256_mul_ps(_mm256_sub_ps(last, neutral8), factor);
      asm("" : "+x"(product));  // rounded before the sum, as ops::detail::rounded
      v = _mm256_add_ps(product, neutral8);
    }
    const __m256 now_f = _mm256_castsi256_ps(now8);
    _mm256_storeu_ps(cells_a, _mm256_unpacklo_ps(v, now_f));
    _mm256_storeu_ps(cells_b, _mm256_unpackhi_ps(v, now_f));
    return true;
  };
  if constexpr (!kLinear) {
    // Cells untouched since the last frame share one time (that frame's): their factor is one
    // load, where a gather costs as much per cell as the rest of this loop. Decided per 64 cells
    // (a run of untouched pixels, or not), so that the branch follows the scene's regions; tried
    // only when the frame's events were few (`untouched_runs`): with one event per 32 pixels or
    // more, few runs of 64 are untouched and the check costs more than it saves.
    constexpr std::size_t kGroup = 64;
    for (; untouched_runs && i + kGroup <= end; i += kGroup) {
      const __m256i first = _mm256_set1_epi32(static_cast<int>(cells[i].time));
      __m256i same = _mm256_cmpeq_epi32(times_of(cells + i), first);
      for (std::size_t k = 8; k < kGroup; k += 8) same = _mm256_and_si256(same, _mm256_cmpeq_epi32(times_of(cells + i + k), first));
      const std::uint32_t elapsed = now - cells[i].time;
      const bool shared = _mm256_movemask_epi8(same) == -1 && elapsed < kExpFactors;
      const __m256 factor = _mm256_set1_ps(shared ? decay.exp_factors[elapsed] : 0.0f);
      for (std::size_t k = 0; k < kGroup; k += 8)
        if (!decay8(i + k, shared, factor)) [[unlikely]]
          return i + k;
    }
  }
  for (; i + 8 <= end; i += 8)
    if (!decay8(i, false, __m256{})) [[unlikely]]
      return i;
  return i;
}
EVLIB_AVX2_END
#endif

template <bool kLinear, typename SpecialTime>
void Decay::decay_all(Cell* cells, std::size_t begin, std::size_t end, std::int64_t base, std::uint32_t now,
                      bool untouched_runs, const SpecialTime& special_time) const {
  const auto one_cell = [&](std::size_t j) {
    const std::uint32_t code = cells[j].time;
    const std::int64_t elapsed = code < DvAccumulator::kFarTime ? std::int64_t{now} - code : base + now - special_time(j, code);
    cells[j].potential = operator()<kLinear>(cells[j].potential, elapsed);
    cells[j].time = now;
  };
  std::size_t i = begin;
#ifdef EVLIB_AVX2
  while (detail::avx2_kernels_run() && (i = decay_cells_avx2<kLinear>(*this, cells, i, end, now, untouched_runs)) + 8 <= end)
    for (const std::size_t j = i + 8; i < j; ++i) one_cell(i);
#endif
  for (; i < end; ++i) one_cell(i);
}

#ifdef EVLIB_AVX2
// The levels' kernel needs FMA as well (converted_level's fused product and sum): compiled for
// it in the baseline build (only this function: elsewhere a product is never contracted into a
// sum), run only on CPUs that have it.
#ifdef EVLIB_AVX2_DISPATCHED
#pragma GCC push_options
#pragma GCC target("avx2,bmi2,popcnt,fma")
#endif
// converted_level of the potentials of cells [i, end), eight at a time while eight remain, into
// levels[i - begin]; returns where it stopped. The same operations as the scalar loop: the fused
// product and sum, rounded in the current mode (rint), clamped, then converted exactly.
std::size_t converted_levels_avx2(const Cell* cells, std::size_t begin, std::size_t end, float alpha, float beta,
                                  std::uint8_t* levels) {
  const __m256 alpha8 = _mm256_set1_ps(alpha), beta8 = _mm256_set1_ps(beta);
  const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
  std::size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    // Potentials of cells i, i+1, i+4, i+5 | i+2, i+3, i+6, i+7, put in order by 64-bit pairs.
    const __m256 a = _mm256_loadu_ps(reinterpret_cast<const float*>(cells + i));
    const __m256 b = _mm256_loadu_ps(reinterpret_cast<const float*>(cells + i + 4));
    const __m256 v = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
    const __m256 rounded = _mm256_round_ps(_mm256_fmadd_ps(v, alpha8, beta8), _MM_FROUND_CUR_DIRECTION);
    // std::clamp(r, 0, 255): r < 0 ? 0 : (255 < r ? 255 : r).
    const __m256i level = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(rounded, zero), top));
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(level), _mm256_extracti128_si256(level, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(levels + (i - begin)), _mm_packus_epi16(words, words));
  }
  return i;
}
#ifdef EVLIB_AVX2_DISPATCHED
#pragma GCC pop_options
#endif

// Whether converted_levels_avx2 runs: the AVX2 kernels do and the CPU has FMA (every x86-64-v3
// one does; the baseline build asks).
bool fma_levels_run() {
#ifdef EVLIB_AVX2_DISPATCHED
  static const bool fma = __builtin_cpu_supports("fma");
  return fma && detail::avx2_kernels_run();
#else
  return detail::avx2_kernels_run();
#endif
}
#endif

// Events handled with one time base: their time range found first.
constexpr std::size_t kTimePiece = std::size_t{1} << 16;

}  // namespace

namespace {

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// relative_times for the first m / 8 * 8 times; ORs each d and d + 2 into `out`.
std::size_t relative_times_avx2(const std::int64_t* t, std::size_t m, std::int64_t base, std::uint32_t* now_of,
                                std::uint64_t& out) {
  const __m256i base4 = _mm256_set1_epi64x(base), two = _mm256_set1_epi64x(2);
  __m256i any = _mm256_setzero_si256();
  const std::size_t end = m / 8 * 8;
  for (std::size_t j = 0; j < end; j += 8) {
    const __m256i d0 = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + j)), base4);
    const __m256i d1 = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + j + 4)), base4);
    any = _mm256_or_si256(any, _mm256_or_si256(_mm256_or_si256(d0, _mm256_add_epi64(d0, two)),
                                               _mm256_or_si256(d1, _mm256_add_epi64(d1, two))));
    // The low halves: d0[0], d0[1], d1[0], d1[1] | d0[2], d0[3], d1[2], d1[3], put in order.
    const __m256 low = _mm256_shuffle_ps(_mm256_castsi256_ps(d0), _mm256_castsi256_ps(d1), _MM_SHUFFLE(2, 0, 2, 0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(now_of + j),
                        _mm256_permute4x64_epi64(_mm256_castps_si256(low), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), any);
  out |= lanes[0] | lanes[1] | lanes[2] | lanes[3];
  return end;
}
EVLIB_AVX2_END
#endif

// Events per block of DvAccumulator::accumulate_events: their cells, relative times and
// contributions (16 KiB with the prefetch look-ahead) stay in the first-level cache.
constexpr std::size_t kEventBlock = 1024;
constexpr std::size_t kAhead = ops::detail::kCellPrefetchAhead;

// now_of[j] = t[j] - base for j in [0, m); whether every one of them lies in [0, kTimeSpan).
// d = t - base (wrapping, 64-bit) lies below kTimeSpan (2^32 - 2) when neither d nor d + 2 has a
// bit above 31 (d + 2 wraps only for t just below base, whose d has them). A t below base whose
// d wraps around to below 2^32 needs base - t > 2^64 - 2^32, which base below 2^62 (the
// caller's condition) rules out. The accumulator used to find each 64 Ki events' time range
// first (ops::detail::min_max, 2.1 instructions an event); alone, dropping that pass was slower
// (it had also brought the times into the cache, where the block loop now prefetches them).
bool relative_times(const std::int64_t* t, std::size_t m, std::int64_t base, std::uint32_t* now_of, bool avx2) {
  std::size_t j = 0;
  std::uint64_t out = 0;
#ifdef EVLIB_AVX2
  if (avx2) j = relative_times_avx2(t, m, base, now_of, out);
#else
  (void)avx2;
#endif
  for (; j < m; ++j) {
    const std::uint64_t d = static_cast<std::uint64_t>(t[j]) - static_cast<std::uint64_t>(base);
    out |= d | (d + 2);
    now_of[j] = static_cast<std::uint32_t>(d);
  }
  return (out >> 32) == 0;
}

}  // namespace

template <bool kLinear>
std::size_t DvAccumulator::accumulate_events(EventView events) {
  const std::int64_t* t = events.t().data();
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = events.p().data();
  const std::size_t n = events.size();
  Cell* cells = cells_.data();
  const std::int64_t base = time_base_;
  // OFF then ON, indexed by the polarity: a branch on it would be mispredicted half the time.
  const float on = options_.contribution;
  const float contribution[2] = {options_.ignore_polarity ? on : -on, on};
  const float low = options_.min_potential, high = options_.max_potential;
  const Decay decayed{options_.neutral_potential, options_.decay_param, exp_factor_.data()};
  const ops::SensorSize sensor = sensor_;
  // dv: decay the pixel to t, then add the contribution and clamp. Captured by value: the loop
  // keeps them in registers.
  const auto one_event = [=, this](std::size_t k, std::size_t i) {
    Cell& cell = cells[i];
    const std::int64_t now = t[k] - base;  // in [0, kTimeSpan): accumulate() rebased
    const std::uint32_t code = cell.time;
    std::int64_t elapsed = now - code;
    if (code >= kFarTime) [[unlikely]]
      elapsed = t[k] - special_time(i, code);
    const float v = decayed.operator()<kLinear>(cell.potential, elapsed);
    cell.time = static_cast<std::uint32_t>(now);
    cell.potential = std::min(std::max(v + contribution[p[k] != 0], low), high);
  };
  // Cells past 32 bits take the generic loop. (The linear decay took it too while the block loop
  // was 5 % slower for it; with its steps looked up and the next block's columns prefetched, the
  // block loop now runs both.)
  if (sensor.pixels() >= ops::detail::kNoCell) {
    detail::for_each_pixel_prefetched(x, y, n, sensor, [cells](std::size_t i) { return cells + i; }, one_event);
    return n;
  }
  // Per block, first the vectorisable parts (each event's cell, relative time and contribution),
  // then the visits, which then hold few values and no reloads: the common case (a known time,
  // an elapsed time in the table) is one unsigned comparison, since a special code (above any
  // relative time) makes the elapsed time negative.
  alignas(64) std::uint32_t cell_of[kEventBlock + kAhead];
  alignas(64) std::uint32_t now_of[kEventBlock];
  alignas(64) float added[kEventBlock];
  const ops::detail::CellLayout layout{sensor, sensor.width, sensor.height, 0, static_cast<std::uint32_t>(sensor.pixels())};
  const bool avx2 = ops::detail::avx2_kernels_run();
  const float neutral = decayed.neutral, off_added = contribution[0], on_added = contribution[1];
  const float* factors = decayed.exp_factors;
  const bool zero_neutral = !kLinear && std::bit_cast<std::uint32_t>(neutral) == 0 && off_added != 0.0f && on_added != 0.0f;
  for (std::size_t begin = 0; begin < n; begin += kEventBlock) {
    const std::size_t m = std::min(kEventBlock, n - begin), known = std::min(kEventBlock + kAhead, n - begin);
    ops::detail::pixel_cells<false, false>(x + begin, y + begin, nullptr, known, layout, cell_of, avx2);
    std::fill(cell_of + known, cell_of + m + kAhead, 0u);  // past the events: prefetch cell 0
    // A block whose times do not all fit the base is left, with the rest, to accumulate(),
    // which rebases first (the results do not depend on the base).
    if (!relative_times(t + begin, m, base, now_of, avx2)) [[unlikely]]
      return begin;
    for (std::size_t j = 0; j < m; ++j)
      added[j] = p[begin + j] != 0 ? on_added : off_added;  // a blend, where an index would be a gather
    // Visits [from, to); kStream: each also prefetches (into L2) the line `stream` + 64 (j - from).
    // kSteps (linear decay): the step looked up (factors holds the steps); else computed.
    // kZeroNeutral: the neutral potential is +0 (the default) and neither contribution is zero,
    // so that the decay's subtraction and addition of it can go: v - 0 is v, and the sum
    // (x + 0) + c is x + c for c != 0 (x + 0 differs from x only for x = -0, and -0 + c = +0 + c).
    const auto visits = [&]<bool kStream, bool kZeroNeutral, bool kSteps>(std::size_t from, std::size_t to,
                                                                         const char* stream) {
      for (std::size_t j = from; j < to; ++j) {
        __builtin_prefetch(cells + cell_of[j + kAhead], 1);
        if constexpr (kStream) __builtin_prefetch(stream + 64 * (j - from), 0, 2);
        const std::uint32_t i = cell_of[j];
        if (i == ops::detail::kNoCell) [[unlikely]]
          continue;
        Cell& cell = cells[i];
        const std::int64_t elapsed = std::int64_t{now_of[j]} - cell.time;
        // Elapsed times in the table (or, for the linear decay's computed steps, any from 0 on)
        // take the common path; a special code (or an event before its pixel's last) makes the
        // elapsed time negative.
        if (kLinear && !kSteps ? elapsed < 0 : static_cast<std::uint64_t>(elapsed) >= kExpFactors) [[unlikely]] {
          one_event(begin + j, i);
          continue;
        }
        float v;
        if constexpr (kLinear && !kSteps) {
          v = decayed.operator()<true>(cell.potential, elapsed);
        } else if constexpr (kLinear) {
          // Decay::operator()<true> with the step looked up.
          const float last = cell.potential, step = factors[elapsed];
          const float down = std::max(last - step, neutral), up = std::min(last + step, neutral);
          v = last >= neutral ? down : up;
        }
        else if constexpr (kZeroNeutral) v = ops::detail::rounded(cell.potential * factors[elapsed]);
        else v = ops::detail::rounded((cell.potential - neutral) * factors[elapsed]) + neutral;
        cell.time = now_of[j];
        cell.potential = std::min(std::max(v + added[j], low), high);
      }
    };
    const auto all_visits = [&]<bool kZeroNeutral, bool kSteps>() {
      // The next block's columns are read by its first pass, which would wait for them from
      // memory (13 bytes an event, 13 KiB a block): prefetched during these visits instead, one
      // line per visit of the first 208: its times (128 lines), x and y past the kAhead known
      // already (32 each), polarities (16).
      const std::size_t next = begin + kEventBlock;
      if (m == kEventBlock && next + kEventBlock + kAhead <= n) {
        visits.template operator()<true, kZeroNeutral, kSteps>(0, 128, reinterpret_cast<const char*>(t + next));
        visits.template operator()<true, kZeroNeutral, kSteps>(128, 160, reinterpret_cast<const char*>(x + next + kAhead));
        visits.template operator()<true, kZeroNeutral, kSteps>(160, 192, reinterpret_cast<const char*>(y + next + kAhead));
        visits.template operator()<true, kZeroNeutral, kSteps>(192, 208, reinterpret_cast<const char*>(p + next));
        visits.template operator()<false, kZeroNeutral, kSteps>(208, m, nullptr);
      } else {
        visits.template operator()<false, kZeroNeutral, kSteps>(0, m, nullptr);
      }
    };
    if constexpr (kLinear) {
      // The linear decay's steps are looked up while the block's last event lies within half
      // the table's span (131 ms) after the last synchronous decay, which left every cell's time
      // at or after it: then nearly every elapsed time is in the table, and the part of it in
      // use stays in the cache (30 fps: 33 ms, 133 KiB). Otherwise (1 fps, or no synchronous
      // decay) elapsed times spread over the whole 1 MiB table and past it: a looked-up step
      // then missed the cache (1 fps, 1 s windows: about 330 -> 260 M events/s) where the
      // computed one costs a few cycles. Either way the same step.
      const bool steps = decayed_to_ && static_cast<std::uint64_t>(t[begin + m - 1]) - static_cast<std::uint64_t>(*decayed_to_) <
                                            kExpFactors / 2;
      if (steps) all_visits.template operator()<false, true>();
      else all_visits.template operator()<false, false>();
    } else {
      if (zero_neutral) all_visits.template operator()<true, false>();
      else all_visits.template operator()<false, false>();
    }
  }
  return n;
}

void DvAccumulator::accumulate(EventView events) {
  if (events.empty()) return;
  ops::detail::require_columns(events, kColumnT | kColumnX | kColumnY | kColumnP, "accumulator");
  const std::int64_t* t = events.t().data();
  const bool avx2 = ops::detail::avx2_kernels_run();
  // The block loop checks the times against the base as it makes them relative
  // (relative_times: while the base lies below 2^62) and stops before the first block of events
  // that does not fit it; the rest go through the pieces below, rebased first.
  const bool checked = sensor_.pixels() < ops::detail::kNoCell;
  for (std::size_t begin = 0; begin < events.size();) {
    if (checked && time_base_ < (std::int64_t{1} << 62)) {
      const EventView rest = events.slice(begin, events.size());
      begin += options_.linear ? accumulate_events<true>(rest) : accumulate_events<false>(rest);
      if (begin == events.size()) break;
    }
    // Up to kTimePiece events, fewer when their times lie too far apart for one base (one
    // event always fits).
    std::size_t count = std::min(kTimePiece, events.size() - begin);
    auto [low, high] = ops::detail::min_max({t + begin, count}, avx2);
    while (static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low) >= kTimeSpan / 2)
      std::tie(low, high) = ops::detail::min_max({t + begin, count /= 2}, avx2);
    if (!representable(low, high)) rebase(low);
    // All of them fit the base now (the block loop returns how many did).
    begin += options_.linear ? accumulate_events<true>(events.slice(begin, begin + count))
                             : accumulate_events<false>(events.slice(begin, begin + count));
  }
  highest_time_ = events.t().back();  // dv: packet.getHighestTime() of a time-ordered store
  events_since_levels_ += events.size();
}

std::uint8_t DvAccumulator::to_level(float v) const noexcept { return converted_level(v, alpha_, beta_); }

std::uint8_t DvAccumulator::neutral_level() const noexcept { return to_level(options_.neutral_potential); }

void DvAccumulator::generate_levels(std::size_t begin, std::size_t end, std::uint8_t* levels) {
  Cell* cells = cells_.data();
  if (options_.synchronous_decay) {
    // dv's synchronous decay: every pixel decayed to the highest time seen.
    if (!representable(highest_time_, highest_time_)) rebase(highest_time_);
    const auto now = static_cast<std::uint32_t>(highest_time_ - time_base_);
    const Decay decay{options_.neutral_potential, options_.decay_param, exp_factor_.data()};
    const auto special = [this](std::size_t i, std::uint32_t code) { return special_time(i, code); };
    const bool untouched_runs = events_since_levels_ < cells_.size() / 32;
    if (options_.linear) decay.decay_all<true>(cells, begin, end, time_base_, now, untouched_runs, special);
    else decay.decay_all<false>(cells, begin, end, time_base_, now, untouched_runs, special);
  }
  if (end == cells_.size()) {
    events_since_levels_ = 0;
    if (options_.synchronous_decay) decayed_to_ = highest_time_;
  }
  const float alpha = alpha_, beta = beta_;
  std::size_t i = begin;
#ifdef EVLIB_AVX2
  if (fma_levels_run()) i = converted_levels_avx2(cells, begin, end, alpha, beta, levels);
#endif
  for (; i < end; ++i) levels[i - begin] = converted_level(cells[i].potential, alpha, beta);
}

void DvAccumulator::generate_frame(std::span<std::uint8_t> gray) {
  if (gray.size() != cells_.size()) throw std::invalid_argument("accumulator: the frame size is wrong");
  generate_levels(0, gray.size(), gray.data());
}

// ---- FrameAccumulator ------------------------------------------------------------------------

struct FrameAccumulator::State {
  // Frames are coloured in blocks of pixels small enough to stay in the first-level cache
  // between the level pass and the colour pass.
  static constexpr std::size_t kBlock = 4096;
  static constexpr std::int64_t kNever = kNeverTime;
  // kTimeSurface: levels by the time left in the window, looked up below this window length.
  static constexpr std::int64_t kSurfaceTable = 1 << 16;

  ops::SensorSize sensor;
  ModeOptions options;
  // The colour of each level as R | G << 8 | B << 16: one 4-byte store per pixel, the fourth
  // byte overwritten by the next pixel.
  std::array<std::uint32_t, 256> colors{};
  detail::ChannelColors channels{};  // the same by channel, for the AVX-512 colour pass
  std::vector<std::uint32_t> count_colors;     // kCounts: colour of each net count, -saturation first
  std::array<std::uint8_t, kBlock> block_levels{};  // the decay modes' levels of one block
  std::vector<std::uint8_t> levels;            // kLastEvent: one per pixel
  std::vector<std::uint16_t> counts;           // kCounts: OFF plane then ON plane
  std::vector<std::int64_t> last_time_and_p;   // kTimeSurface: t * 2 + p, kNever when none
  // kTimeSurface: colours by the time left in the window, OFF then ON (window + 1 each), then the
  // background; for the window length they were made for.
  std::vector<std::uint32_t> surface_colors;
  std::int64_t surface_window = 0;
  std::unique_ptr<DvAccumulator> accumulator;  // the decay modes
  std::unique_ptr<TimeDecayFrame> time_decay;  // kTimeDecay (decay.decay_param: its decay time)
  // The window modes' state holds events since the last render(), which resets it as it reads.
  bool dirty = false;
};

FrameAccumulator::FrameAccumulator(ops::SensorSize sensor, ModeOptions options) : state_(std::make_unique<State>()) {
  ops::detail::require_sensor(sensor, "render");
  State& s = *state_;
  s.sensor = sensor;
  s.options = std::move(options);
  std::uint8_t neutral = kNeutralLevel;
  switch (s.options.mode) {
    case Mode::kLastEvent:
      s.levels.assign(sensor.pixels(), kNeutralLevel);
      break;
    case Mode::kCounts: {
      if (s.options.count_saturation == 0) throw InvalidArgument("render: the count saturation must be at least 1");
      s.counts.assign(2 * sensor.pixels(), 0);
      break;  // count_colors: below, from the colour of each level
    }
    case Mode::kTimeSurface:
      s.last_time_and_p.assign(sensor.pixels(), State::kNever);
      break;
    case Mode::kExponentialDecay:
    case Mode::kLinearDecay: {
      DvAccumulatorOptions decay = s.options.decay;
      decay.linear = s.options.mode == Mode::kLinearDecay;
      s.accumulator = std::make_unique<DvAccumulator>(sensor, decay);
      neutral = s.accumulator->neutral_level();
      break;
    }
    case Mode::kTimeDecay:
      s.time_decay = std::make_unique<TimeDecayFrame>(sensor, std::llround(s.options.decay.decay_param), s.options.palette);
      break;
  }
  const ColorMap map = level_colors(s.options.palette, neutral);
  for (std::size_t level = 0; level < map.size(); ++level)
    s.colors[level] = map[level].r | std::uint32_t{map[level].g} << 8 | std::uint32_t{map[level].b} << 16;
  s.channels = detail::channel_colors(s.colors);
  if (s.options.mode == Mode::kCounts) {
    // The colour of every net count from -saturation to +saturation.
    const int saturation = static_cast<int>(s.options.count_saturation);
    s.count_colors.resize(2 * std::size_t(saturation) + 1);
    for (int net = -saturation; net <= saturation; ++net)
      s.count_colors[std::size_t(net + saturation)] =
          s.colors[net == 0 ? kNeutralLevel : graded_level(net > 0, std::abs(net) / double(saturation))];
  }
}

FrameAccumulator::~FrameAccumulator() = default;
FrameAccumulator::FrameAccumulator(FrameAccumulator&&) noexcept = default;
FrameAccumulator& FrameAccumulator::operator=(FrameAccumulator&&) noexcept = default;

const ModeOptions& FrameAccumulator::options() const noexcept { return state_->options; }
ops::SensorSize FrameAccumulator::sensor() const noexcept { return state_->sensor; }

void FrameAccumulator::begin_window() {
  State& s = *state_;
  if (!s.dirty) return;
  switch (s.options.mode) {
    case Mode::kLastEvent: std::ranges::fill(s.levels, kNeutralLevel); break;
    case Mode::kCounts: std::ranges::fill(s.counts, 0); break;
    case Mode::kTimeSurface: std::ranges::fill(s.last_time_and_p, State::kNever); break;
    default: break;
  }
  s.dirty = false;
}

namespace {

// Last event wins: ON paints 255, OFF 0, over the neutral background level.
void paint_last(EventView events, ops::SensorSize sensor, std::uint8_t* levels) {
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = events.p().data();
  const std::size_t width = sensor.width;
  for (std::size_t i = 0, n = events.size(); i < n; ++i) {
    if (!sensor.contains(x[i], y[i])) [[unlikely]]
      continue;
    levels[std::size_t{y[i]} * width + x[i]] = p[i] != 0 ? 255 : 0;
  }
}

void record_last(EventView events, ops::SensorSize sensor, std::int64_t* last) {
  const std::int64_t* t = events.t().data();
  const std::uint8_t* p = events.p().data();
  detail::for_each_pixel_prefetched(
      events.x().data(), events.y().data(), events.size(), sensor, [last](std::size_t i) { return last + i; },
      [=](std::size_t k, std::size_t i) {
        last[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(t[k]) << 1) | (p[k] != 0);
      });
}

using ColorTable = std::array<std::uint32_t, 256>;
using detail::store_rgb;
using detail::vector_end;
#ifdef EVLIB_AVX2
using detail::store_rgb8;
#endif

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
// The AVX2 loops of the colour passes below: pixels from begin, eight at a time, up to
// vector_end; each returns the first pixel it left to the scalar loop.

std::size_t colorize_avx2(const std::uint8_t* levels, std::size_t begin, std::size_t end, std::size_t pixels,
                          const ColorTable& colors, std::uint8_t* rgb) {
  std::size_t i = begin;
  const auto* table = reinterpret_cast<const int*>(colors.data());
  for (const std::size_t stop = vector_end(begin, end, pixels); i < stop; i += 8) {
    const __m256i index = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(levels + (i - begin))));
    store_rgb8(_mm256_i32gather_epi32(table, index, 4), rgb + 3 * i);
  }
  return i;
}

std::size_t colorize_counts_avx2(std::uint16_t* off, std::uint16_t* on, std::size_t begin, std::size_t end,
                                 std::size_t pixels, int saturation, const std::uint32_t* colors, std::uint8_t* rgb) {
  std::size_t i = begin;
  const auto* table = reinterpret_cast<const int*>(colors);
  const __m256i low = _mm256_set1_epi32(-saturation), high = _mm256_set1_epi32(saturation);
  for (const std::size_t stop = vector_end(begin, end, pixels); i < stop; i += 8) {
    auto* on8 = reinterpret_cast<__m128i*>(on + i);
    auto* off8 = reinterpret_cast<__m128i*>(off + i);
    const __m256i net = _mm256_sub_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(on8)), _mm256_cvtepu16_epi32(_mm_loadu_si128(off8)));
    const __m256i index = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(net, low), high), high);
    store_rgb8(_mm256_i32gather_epi32(table, index, 4), rgb + 3 * i);
    _mm_storeu_si128(on8, _mm_setzero_si128());
    _mm_storeu_si128(off8, _mm_setzero_si128());
  }
  return i;
}

// colorize_counts for at most kShuffledSaturation: with 2 * saturation + 1 colours or fewer, the
// table fits in a byte shuffle (one per colour channel, 32 pixels each) instead of a gather of
// eight pixels (a quarter of the time at 1280x720). The clamped net count in 16 bits without
// overflow: with a -0 b the difference floored at 0, min(on -0 off, s) - min(off -0 on, s).
constexpr int kShuffledSaturation = 7;

// The 16 colour indices (net count + saturation) of pixels i..i+15, their counts reset to 0.
[[gnu::always_inline]] inline __m256i count_indices16(std::uint16_t* off, std::uint16_t* on, std::size_t i,
                                                      __m256i saturation) {
  auto* on16 = reinterpret_cast<__m256i*>(on + i);
  auto* off16 = reinterpret_cast<__m256i*>(off + i);
  const __m256i a = _mm256_loadu_si256(on16), b = _mm256_loadu_si256(off16);
  const __m256i more_on = _mm256_min_epu16(_mm256_subs_epu16(a, b), saturation);
  const __m256i more_off = _mm256_min_epu16(_mm256_subs_epu16(b, a), saturation);
  _mm256_storeu_si256(on16, _mm256_setzero_si256());
  _mm256_storeu_si256(off16, _mm256_setzero_si256());
  return _mm256_sub_epi16(_mm256_add_epi16(more_on, saturation), more_off);
}

std::size_t colorize_few_counts_avx2(std::uint16_t* off, std::uint16_t* on, std::size_t begin, std::size_t end,
                                     std::size_t pixels, int saturation, const std::uint32_t* colors, std::uint8_t* rgb) {
  alignas(16) std::uint8_t channel[3][16] = {};
  for (int k = 0; k <= 2 * saturation; ++k)
    for (int c = 0; c < 3; ++c) channel[c][k] = static_cast<std::uint8_t>(colors[k] >> (8 * c));
  const auto table = [&](int c) { return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(channel[c]))); };
  const __m256i red = table(0), green = table(1), blue = table(2);
  const __m256i saturation16 = _mm256_set1_epi16(static_cast<std::int16_t>(saturation)), zero = _mm256_setzero_si256();
  const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  std::size_t i = begin;
  for (const std::size_t stop = vector_end(begin, end, pixels); i + 32 <= stop; i += 32) {
    // Bytes within lanes: pixels 0-7, 16-23 | 8-15, 24-31; the permute puts them in order.
    const __m256i index = _mm256_permute4x64_epi64(
        _mm256_packus_epi16(count_indices16(off, on, i, saturation16), count_indices16(off, on, i + 16, saturation16)),
        _MM_SHUFFLE(3, 1, 2, 0));
    const __m256i r = _mm256_shuffle_epi8(red, index), g = _mm256_shuffle_epi8(green, index);
    const __m256i b = _mm256_shuffle_epi8(blue, index);
    // R | G << 8 | B << 16 of pixels 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31.
    const __m256i rg_low = _mm256_unpacklo_epi8(r, g), rg_high = _mm256_unpackhi_epi8(r, g);
    const __m256i b_low = _mm256_unpacklo_epi8(b, zero), b_high = _mm256_unpackhi_epi8(b, zero);
    const __m256i quads[4] = {_mm256_shuffle_epi8(_mm256_unpacklo_epi16(rg_low, b_low), pack),
                              _mm256_shuffle_epi8(_mm256_unpackhi_epi16(rg_low, b_low), pack),
                              _mm256_shuffle_epi8(_mm256_unpacklo_epi16(rg_high, b_high), pack),
                              _mm256_shuffle_epi8(_mm256_unpackhi_epi16(rg_high, b_high), pack)};
    // In pixel order, each 16-byte store's last 4 bytes overwritten by the next one's.
    std::uint8_t* out = rgb + 3 * i;
    for (int q = 0; q < 4; ++q) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 12 * q), _mm256_castsi256_si128(quads[q]));
    for (int q = 0; q < 4; ++q) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48 + 12 * q), _mm256_extracti128_si256(quads[q], 1));
  }
  return i;
}

// Stops at the first eight pixels with a time below 0 (the shift would not halve them): the
// caller's scalar loop takes them and the rest.
std::size_t colorize_surface_avx2(std::int64_t* last, std::size_t begin, std::size_t end, std::size_t pixels,
                                  std::int64_t window, std::int64_t last_us, const std::uint32_t* colors, std::uint8_t* rgb) {
  const std::int64_t background = 2 * (window + 1);
  std::size_t i = begin;
  const __m256i never = _mm256_set1_epi64x(kNeverTime), zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
  const __m256i origin = _mm256_set1_epi64x(last_us - window);  // time left = t - origin
  const __m256i window4 = _mm256_set1_epi64x(window), on_plane = _mm256_set1_epi64x(window + 1);
  const __m256i background4 = _mm256_set1_epi64x(background);
  const auto index_of = [&](__m256i packed) {
    __m256i left = _mm256_sub_epi64(_mm256_srli_epi64(packed, 1), origin);
    left = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, left), left);
    left = _mm256_blendv_epi8(left, window4, _mm256_cmpgt_epi64(left, window4));
    const __m256i index = _mm256_add_epi64(left, _mm256_and_si256(on_plane, _mm256_cmpeq_epi64(_mm256_and_si256(packed, one), one)));
    return _mm256_blendv_epi8(index, background4, _mm256_cmpeq_epi64(packed, never));
  };
  const auto before_zero = [&](__m256i packed) {
    return _mm256_andnot_si256(_mm256_cmpeq_epi64(packed, never), _mm256_cmpgt_epi64(zero, packed));
  };
  const auto* table = reinterpret_cast<const int*>(colors);
  for (const std::size_t stop = vector_end(begin, end, pixels); i < stop; i += 8) {
    auto* low = reinterpret_cast<__m256i*>(last + i);
    auto* high = reinterpret_cast<__m256i*>(last + i + 4);
    const __m256i a = _mm256_loadu_si256(low), b = _mm256_loadu_si256(high);
    if (!_mm256_testz_si256(_mm256_or_si256(before_zero(a), before_zero(b)), _mm256_or_si256(before_zero(a), before_zero(b)))) [[unlikely]]
      return i;
    const __m128i ca = _mm256_i64gather_epi32(table, index_of(a), 4);
    const __m128i cb = _mm256_i64gather_epi32(table, index_of(b), 4);
    store_rgb8(_mm256_set_m128i(cb, ca), rgb + 3 * i);
    _mm256_storeu_si256(low, never);
    _mm256_storeu_si256(high, never);
  }
  return i;
}
EVLIB_AVX2_END
#endif

// The RGB of pixels [begin, end) of a frame of `pixels` from their levels (levels[0] is the
// level of pixel begin).
void colorize(const std::uint8_t* levels, std::size_t begin, std::size_t end, std::size_t pixels,
              const ColorTable& colors, const detail::ChannelColors& channels, std::uint8_t* rgb) {
  std::size_t i = detail::colorize_avx512(levels, begin, end, channels, rgb);
#ifdef EVLIB_AVX2
  if (detail::avx2_kernels_run()) i = colorize_avx2(levels + (i - begin), i, end, pixels, colors, rgb);
#endif
  for (; i < end; ++i) store_rgb(colors[levels[i - begin]], rgb + 3 * i);
}

// kCounts: the colours of pixels [begin, end) from their net counts (colors[net + saturation]),
// the counts reset to 0 as they are read.
void colorize_counts(std::uint16_t* off, std::uint16_t* on, std::size_t begin, std::size_t end, std::size_t pixels,
                     int saturation, const std::uint32_t* colors, std::uint8_t* rgb) {
  std::size_t i = begin;
#ifdef EVLIB_AVX2
  if (detail::avx2_kernels_run()) {
    if (saturation <= kShuffledSaturation) i = colorize_few_counts_avx2(off, on, begin, end, pixels, saturation, colors, rgb);
    i = colorize_counts_avx2(off, on, i, end, pixels, saturation, colors, rgb);
  }
#endif
  for (; i < end; ++i) {
    store_rgb(colors[std::clamp(int{on[i]} - int{off[i]}, -saturation, saturation) + saturation], rgb + 3 * i);
    on[i] = off[i] = 0;
  }
}

// kTimeSurface, a window below kSurfaceTable: the colours of pixels [begin, end) of a frame of
// `pixels` from their last events (`packed`, t * 2 + p, kNeverTime when none) by State's
// surface_colors, the map reset to kNeverTime as it is read.
void colorize_surface(std::int64_t* last, std::size_t begin, std::size_t end, std::size_t pixels, std::int64_t window,
                      std::int64_t last_us, const std::uint32_t* colors, std::uint8_t* rgb) {
  const std::int64_t background = 2 * (window + 1);
  const auto one_pixel = [&](std::size_t i) {
    const std::int64_t packed = last[i];
    last[i] = kNeverTime;
    std::int64_t index = background;
    if (packed != kNeverTime)
      index = std::clamp<std::int64_t>(window - (last_us - (packed >> 1)), 0, window) + ((packed & 1) != 0 ? window + 1 : 0);
    store_rgb(colors[index], rgb + 3 * i);
  };
  std::size_t i = begin;
#ifdef EVLIB_AVX2
  // Eight pixels with a time below 0 stop the kernel; one by one past them, then on.
  while (detail::avx2_kernels_run() && (i = colorize_surface_avx2(last, i, end, pixels, window, last_us, colors, rgb)) < vector_end(begin, end, pixels)) {
    for (const std::size_t j = i + 8; i < j; ++i) one_pixel(i);
  }
#endif
  for (; i < end; ++i) one_pixel(i);
}

// The time surface's level of a pixel whose last event is `packed` (t * 2 + p).
std::uint8_t surface_level(std::int64_t packed, std::int64_t window, std::int64_t last_us) {
  // In integers: round(127 f) = (254 (window - age) + window) / (2 window), the same for 128.
  const std::int64_t left = std::clamp<std::int64_t>(window - (last_us - (packed >> 1)), 0, window);
  return (packed & 1) != 0 ? static_cast<std::uint8_t>(kNeutralLevel + (254 * left + window) / (2 * window))
                           : static_cast<std::uint8_t>(kNeutralLevel - (256 * left + window) / (2 * window));
}

}  // namespace

void FrameAccumulator::add(EventView events) {
  if (events.empty()) return;
  State& s = *state_;
  switch (s.options.mode) {
    case Mode::kLastEvent:
      ops::detail::require_columns(events, kColumnX | kColumnY | kColumnP, "render");
      paint_last(events, s.sensor, s.levels.data());
      break;
    case Mode::kCounts:
      // The processing layer's event frame (OFF plane, ON plane), which prefetches the counts'
      // cells at this size.
      ops::accumulate_frame<std::uint16_t>(events, {.sensor = s.sensor, .polarities = 2}, s.counts);
      break;
    case Mode::kTimeSurface:
      ops::detail::require_columns(events, kAllColumns, "render");
      record_last(events, s.sensor, s.last_time_and_p.data());
      break;
    case Mode::kExponentialDecay:
    case Mode::kLinearDecay:
      s.accumulator->accumulate(events);
      break;
    case Mode::kTimeDecay:
      ops::detail::require_columns(events, kAllColumns, "render");
      s.time_decay->add(events);
      break;
  }
  s.dirty = true;
}

void FrameAccumulator::render(std::int64_t window_start, std::int64_t window_end, std::span<std::uint8_t> rgb) {
  State& s = *state_;
  const std::size_t pixels = s.sensor.pixels();
  if (rgb.size() != 3 * pixels) throw std::invalid_argument("render: the RGB frame has the wrong size");
  if (s.options.mode == Mode::kTimeDecay) return s.time_decay->render(rgb);  // its own Lab colour map
  const std::int64_t window = std::max<std::int64_t>(window_end - window_start, 1);
  const std::int64_t last_us = window_end - 1;
  if (s.options.mode == Mode::kTimeSurface && window < State::kSurfaceTable && window != s.surface_window) {
    s.surface_colors.resize(2 * std::size_t(window + 1) + 1);
    for (std::int64_t left = 0; left <= window; ++left) {
      // A pixel whose last event left `left` µs of the window after it.
      const std::int64_t t = last_us - window + left;
      s.surface_colors[std::size_t(left)] = s.colors[surface_level(t << 1, window, last_us)];
      s.surface_colors[std::size_t(window + 1 + left)] = s.colors[surface_level((t << 1) | 1, window, last_us)];
    }
    s.surface_colors.back() = s.colors[kNeutralLevel];
    s.surface_window = window;
  }
  std::uint8_t* levels = s.block_levels.data();
  // Each block: its levels (the window modes resetting their state as they read it), then colours.
  for (std::size_t begin = 0; begin < pixels; begin += State::kBlock) {
    const std::size_t end = std::min(pixels, begin + State::kBlock);
    switch (s.options.mode) {
      case Mode::kLastEvent:
        std::memcpy(levels, s.levels.data() + begin, end - begin);
        std::fill(s.levels.begin() + std::ptrdiff_t(begin), s.levels.begin() + std::ptrdiff_t(end), kNeutralLevel);
        break;
      case Mode::kCounts:
        colorize_counts(s.counts.data(), s.counts.data() + pixels, begin, end, pixels,
                        static_cast<int>(s.options.count_saturation), s.count_colors.data(), rgb.data());
        continue;  // coloured already
      case Mode::kTimeSurface: {
        std::int64_t* last = s.last_time_and_p.data();
        if (window < State::kSurfaceTable) {
          colorize_surface(last, begin, end, pixels, window, last_us, s.surface_colors.data(), rgb.data());
          continue;  // coloured already
        }
        for (std::size_t i = begin; i < end; ++i) {
          levels[i - begin] = last[i] == State::kNever ? kNeutralLevel : surface_level(last[i], window, last_us);
          last[i] = State::kNever;
        }
        break;
      }
      case Mode::kExponentialDecay:
      case Mode::kLinearDecay:
        s.accumulator->generate_levels(begin, end, levels);
        break;
      case Mode::kTimeDecay:
        break;  // rendered above
    }
    colorize(levels, begin, end, pixels, s.colors, s.channels, rgb.data());
  }
  if (!is_decay(s.options.mode)) s.dirty = false;
}

}  // namespace evlib::render
