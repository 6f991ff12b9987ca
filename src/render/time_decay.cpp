#include "evlib/render/time_decay.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>

#include "evlib/error.hpp"
#include "ops/narrow_times.hpp"
#include "render/prefetched_pixels.hpp"
#include "render/rgb_pixels.hpp"

namespace evlib::render {

// ---- FastExpDecay ----------------------------------------------------------------------------

FastExpDecay::FastExpDecay(std::size_t entries) : lut_(entries) {
  for (std::size_t i = 0; i < entries; ++i)
    lut_[i] = -std::log(static_cast<float>(entries - i) / static_cast<float>(entries));
}

float FastExpDecay::operator()(float v) const noexcept {
  if (v <= 0.f) return 1.f;
  const auto next = std::upper_bound(lut_.begin(), lut_.end(), v);
  if (next == lut_.end()) return 0.f;
  const auto n = static_cast<float>(lut_.size());
  const auto k = static_cast<std::size_t>(next - lut_.begin());
  // OpenEB's operations, in its order and in float.
  const float d0v = *(next - 1) - v;
  const float d01 = *(next - 1) - *next;
  const float intercept = static_cast<float>(lut_.size() + 1 - k) / n;
  const float slope = -1 / (d01 * n);
  return intercept + slope * d0v;
}

// ---- the CIE Lab colour map ------------------------------------------------------------------

namespace {

struct Rgbf {
  float r, g, b;
};
struct Lab {
  float l, a, b;
};

// OpenEB's float colours (sdk/core/utils/detail/colors_impl.h) for the palettes evlib names
// after them (evlib's 8-bit colours are these rounded, uchar(c * 255 + 0.5)), with their L*a*b*
// values as OpenEB gets them from OpenCV (cv::cvtColor COLOR_RGB2Lab on CV_32FC3, identical in
// OpenCV 4.10 and 5.0). OpenCV converts float RGB to Lab through a fixed-point trilinear table
// (its "bit-exact" path), up to 0.13 L* away from the formula to_lab() computes; these values make
// the colour maps of these palettes OpenEB's own. Other palettes use to_lab().
struct OpenebColor {
  Rgbf rgb;
  Lab lab;
};
struct OpenebPalette {
  std::string_view palette;
  OpenebColor background, on, off;
};
constexpr OpenebColor kOpenebBlack{{0.1171875f, 0.14453125f, 0.203125f}, {14.6240234375f, 1.609375f, -10.6875f}};
constexpr OpenebColor kOpenebWhite{{1.f, 1.f, 1.f}, {100.f, 0.f, 0.f}};
constexpr OpenebColor kOpenebBlue{{0.25f, 0.4921875f, 0.78515625f}, {51.904296875f, 4.4375f, -44.671875f}};
constexpr OpenebPalette kOpenebPalettes[] = {
    {"prophesee-dark", kOpenebBlack, kOpenebWhite, kOpenebBlue},
    {"prophesee-light", kOpenebWhite, kOpenebBlue, kOpenebBlack},
    {"cool-warm",
     {{0.8509804f, 0.8784314f, 0.9294118f}, {88.87939453125f, 0.125f, -7.109375f}},
     {{1.f, 0.4431373f, 0.4588235f}, {65.167236328125f, 54.5625f, 25.03125f}},
     {{0.3411765f, 0.4823529f, 0.7764706f}, {51.983642578125f, 9.6875f, -43.0625f}}},
};

Rgbf unit(Rgb c) { return {c.r / 255.f, c.g / 255.f, c.b / 255.f}; }

// sRGB with the D65 white, the constants of OpenCV's color_lab.cpp (which OpenEB calls).
constexpr double kWhite[3] = {0.950456, 1.0, 1.088754};
constexpr double kRgbToXyz[3][3] = {
    {0.412453, 0.357580, 0.180423}, {0.212671, 0.715160, 0.072169}, {0.019334, 0.119193, 0.950227}};
constexpr double kXyzToRgb[3][3] = {
    {3.240479, -1.53715, -0.498535}, {-0.969256, 1.875991, 0.041556}, {0.055648, -0.204043, 1.057311}};
constexpr float kLabLinear = 0.008856f;  // below it, L* and f(t) are linear
constexpr float kLabSlope = 7.787f;
constexpr float kLabOffset = 16.0f / 116.0f;

float to_linear(float c) {
  const double x = std::clamp(c, 0.f, 1.f);
  return static_cast<float>(x <= 0.04045 ? x / 12.92 : std::pow((x + 0.055) / 1.055, 2.4));
}

float from_linear(float c) {
  const double x = std::clamp(c, 0.f, 1.f);
  return static_cast<float>(x <= 0.0031308 ? x * 12.92 : 1.055 * std::pow(x, 1.0 / 2.4) - 0.055);
}

Lab to_lab(Rgbf c) {
  const float rgb[3] = {to_linear(c.r), to_linear(c.g), to_linear(c.b)};
  float xyz[3];
  for (int i = 0; i < 3; ++i) {
    float sum = 0.f;
    for (int j = 0; j < 3; ++j) sum += static_cast<float>(kRgbToXyz[i][j] / kWhite[i]) * rgb[j];
    xyz[i] = sum;
  }
  const auto f = [](float t) { return t > kLabLinear ? std::cbrt(t) : kLabSlope * t + kLabOffset; };
  const float fx = f(xyz[0]), fy = f(xyz[1]), fz = f(xyz[2]);
  const float l = xyz[1] > kLabLinear ? 116.f * fy - 16.f : 903.3f * xyz[1];
  return {l, 500.f * (fx - fy), 200.f * (fy - fz)};
}

Rgbf from_lab(Lab c) {
  float y, fy;
  if (c.l <= kLabLinear * 903.3f) {
    y = c.l / 903.3f;
    fy = kLabSlope * y + kLabOffset;
  } else {
    fy = (c.l + 16.f) / 116.f;
    y = fy * fy * fy;
  }
  const auto inverse = [](float t) {
    return t <= kLabSlope * kLabLinear + kLabOffset ? (t - kLabOffset) / kLabSlope : t * t * t;
  };
  const float xyz[3] = {inverse(c.a / 500.f + fy), y, inverse(fy - c.b / 200.f)};
  float rgb[3];
  for (int i = 0; i < 3; ++i) {
    float sum = 0.f;
    for (int j = 0; j < 3; ++j) sum += static_cast<float>(kXyzToRgb[i][j] * kWhite[j]) * xyz[j];
    rgb[i] = from_linear(sum);
  }
  return {rgb[0], rgb[1], rgb[2]};
}

std::uint8_t round_to_byte(float v) {
  // cvRound (nearest, ties to even), then the uchar conversion of cv::Vec3b (values stay in
  // 0..255: from_linear clamps).
  return static_cast<std::uint8_t>(std::lrint(v));
}

Rgb lab_blend(const Lab& a, const Lab& b, double f) {
  const Lab mixed{static_cast<float>(a.l * (1 - f) + b.l * f), static_cast<float>(a.a * (1 - f) + b.a * f),
                  static_cast<float>(a.b * (1 - f) + b.b * f)};
  const Rgbf c = from_lab(mixed);
  return {round_to_byte(255 * c.r), round_to_byte(255 * c.g), round_to_byte(255 * c.b)};
}

}  // namespace

TimeDecayColors time_decay_colors(const Palette& palette) {
  const auto exact = [](Rgb c) {
    const Rgbf rgb = unit(c);
    return OpenebColor{rgb, to_lab(rgb)};
  };
  OpenebColor background = exact(palette.background), on = exact(palette.on), off = exact(palette.off);
  for (const OpenebPalette& p : kOpenebPalettes) {
    if (p.palette == palette.name) background = p.background, on = p.on, off = p.off;
  }
  constexpr std::size_t kMid = 128;
  TimeDecayColors colors{};
  for (std::size_t i = 0; i < colors.size(); ++i) {
    if (i < kMid) {
      colors[i] = lab_blend(off.lab, background.lab, i / static_cast<double>(kMid - 1));
    } else if (i == kMid) {
      const Rgbf c = background.rgb;
      colors[i] = {round_to_byte(255 * c.r), round_to_byte(255 * c.g), round_to_byte(255 * c.b)};
    } else {
      colors[i] = lab_blend(background.lab, on.lab, (i - kMid - 1) / static_cast<double>(kMid - 1));
    }
  }
  return colors;
}

// ---- TimeDecayFrame --------------------------------------------------------------------------

TimeDecayFrame::TimeDecayFrame(ops::SensorSize sensor, std::int64_t decay_us, const Palette& palette)
    : sensor_(sensor), decay_us_(decay_us), gray_(palette.identity_levels), narrow_(2 * sensor.pixels(), 0u) {
  if (decay_us <= 0) throw InvalidArgument("render: the time-decay mode needs a decay time of at least 1 µs");
  if (!gray_) colors_ = time_decay_colors(palette);
  constexpr std::int64_t kMaxAges = std::int64_t{1} << 20;
  const auto tau = static_cast<float>(decay_us_);
  std::int64_t ages = 0;
  while (ages < kMaxAges && static_cast<float>(ages) / tau < decay_.zero_from()) ++ages;
  faded_past_table_ = static_cast<float>(ages) / tau >= decay_.zero_from();
  const std::size_t shade_count = gray_ ? 256 : colors_.size();
  shade_colors_.resize(shade_count);
  for (std::size_t s = 0; s < shade_count; ++s) {
    const Rgb c = gray_ ? Rgb{std::uint8_t(s), std::uint8_t(s), std::uint8_t(s)} : colors_[s];
    shade_colors_[s] = c.r | std::uint32_t{c.g} << 8 | std::uint32_t{c.b} << 16;
  }
  age_colors_.resize(2 * static_cast<std::size_t>(ages) + 1);
  for (std::int64_t dt = 0; dt < ages; ++dt) {
    age_colors_[2 * static_cast<std::size_t>(dt)] = shade_colors_[shade(dt, false)];
    age_colors_[2 * static_cast<std::size_t>(dt) + 1] = shade_colors_[shade(dt, true)];
  }
  age_colors_.back() = shade_colors_[shade(ages, false)];  // f = -0: the background (ON or OFF alike)
}

std::uint16_t TimeDecayFrame::shade(std::int64_t dt, bool on) const noexcept {
  const float f = (on ? 1.f : -1.f) * decay_(static_cast<float>(dt) / static_cast<float>(decay_us_));
  if (gray_) {
    const float level = 0.5f * (1 + f) * 255;  // OpenCV's saturate_cast<uchar>: round, clamp
    return static_cast<std::uint16_t>(std::clamp(std::lrint(level), 0L, 255L));
  }
  return static_cast<std::uint16_t>(std::lrint(0.5f * (1 + f) * static_cast<float>(colors_.size() - 1)));
}

std::int64_t TimeDecayFrame::time_at(std::size_t cell) const noexcept {
  if (!wide_.empty()) return wide_[cell];
  return ops::detail::narrow_time(narrow_[cell], base_);
}

void TimeDecayFrame::add(EventView events) {
  if (events.empty()) return;
  std::size_t first_wide = 0;
  if (wide_.empty()) {
    if (!based_) {
      based_ = true;
      if (const auto base = ops::detail::narrow_base(events.t()[0])) base_ = *base;
      else widen();
    }
    if (wide_.empty()) {
      first_wide = add_narrow(events);
      if (first_wide != events.size()) widen();
    }
  }
  if (!wide_.empty()) add_wide(events.slice(first_wide, events.size()));
  last_t_ = events.t()[events.size() - 1];
}

// Stores every event whose time fits a narrow cell; returns the index of the first that did not
// (events.size() if none). Events after it were stored too: add_wide() runs them again from
// there, in order, so that each cell ends with its last event's time.
std::size_t TimeDecayFrame::add_narrow(EventView events) {
  const std::int64_t* t = events.t().data();
  const std::uint8_t* p = events.p().data();
  std::uint32_t* cells = narrow_.data();
  const auto base = static_cast<std::uint64_t>(base_);
  std::size_t first_outside = events.size();
  detail::for_each_pixel_prefetched(
      events.x().data(), events.y().data(), events.size(), sensor_, [cells](std::size_t i) { return cells + 2 * i; },
      [=, &first_outside](std::size_t k, std::size_t i) {
        const std::uint64_t since_base = static_cast<std::uint64_t>(t[k]) - base;
        if (ops::detail::fits_narrow(since_base)) [[likely]]
          cells[2 * i + (p[k] != 0)] = static_cast<std::uint32_t>(since_base);
        else
          first_outside = std::min(first_outside, k);
      });
  return first_outside;
}

void TimeDecayFrame::add_wide(EventView events) {
  const std::int64_t* t = events.t().data();
  const std::uint8_t* p = events.p().data();
  std::int64_t* last = wide_.data();
  detail::for_each_pixel_prefetched(
      events.x().data(), events.y().data(), events.size(), sensor_, [last](std::size_t i) { return last + 2 * i; },
      [=](std::size_t k, std::size_t i) { last[2 * i + (p[k] != 0)] = t[k]; });
}

void TimeDecayFrame::widen() {
  std::vector<std::int64_t> wide(narrow_.size());
  for (std::size_t i = 0; i < wide.size(); ++i) wide[i] = time_at(i);
  wide_ = std::move(wide);
  narrow_ = {};
}

#ifdef EVLIB_AVX2
EVLIB_AVX2_BEGIN
namespace {

// TimeDecayFrame::render's AVX2 loop: pixels [i, stop) eight at a time (stop - i a multiple of
// 8), ages_of(at, dt_off, dt_on) giving the OFF and ON ages (now - time) of pixels at, at + 2,
// at + 1, at + 3; returns stop, or the first of eight pixels that need shade() (an age past the
// table, not all faded there), which the caller renders one by one.
template <class AgesOf>
std::size_t time_decay_colors_avx2(std::size_t i, std::size_t stop, const std::uint32_t* age_colors,
                                   std::int64_t tabulated, bool faded_past_table, std::uint8_t* rgb, AgesOf ages_of) {
  // Four pixels' colours, in the order i, i+2, i+1, i+3; false when one of them needs shade().
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
  const __m256i table_end = _mm256_set1_epi64x(tabulated), faded_index = _mm256_set1_epi64x(2 * tabulated);
  const auto* colors = reinterpret_cast<const int*>(age_colors);
  const auto four = [&](std::size_t at, __m128i& out) {
    __m256i dt_off, dt_on;
    ages_of(at, dt_off, dt_on);
    const __m256i on = _mm256_cmpgt_epi64(dt_off, dt_on);
    __m256i dt = _mm256_blendv_epi8(dt_off, dt_on, on);  // the smaller
    dt = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, dt), dt);
    const __m256i in_table = _mm256_cmpgt_epi64(table_end, dt);
    if (!faded_past_table && _mm256_movemask_epi8(in_table) != -1) return false;
    const __m256i index = _mm256_blendv_epi8(faded_index, _mm256_add_epi64(_mm256_add_epi64(dt, dt), _mm256_and_si256(on, one)), in_table);
    out = _mm256_i64gather_epi32(colors, index, 4);
    return true;
  };
  for (; i < stop; i += 8) {
    __m128i low, high;
    if (!four(i, low) || !four(i + 4, high)) [[unlikely]]
      return i;
    // i, i+2, i+1, i+3 | i+4, i+6, i+5, i+7 back in order
    const __m256i order = _mm256_setr_epi32(0, 2, 1, 3, 4, 6, 5, 7);
    detail::store_rgb8(_mm256_permutevar8x32_epi32(_mm256_set_m128i(high, low), order), rgb + 3 * i);
  }
  return i;
}

// time_decay_colors_avx2 over wide cells (time pairs).
std::size_t wide_time_decay_colors_avx2(const std::int64_t* last, std::int64_t now, std::size_t i, std::size_t stop,
                                        const std::uint32_t* age_colors, std::int64_t tabulated, bool faded_past_table,
                                        std::uint8_t* rgb) {
  const __m256i now4 = _mm256_set1_epi64x(now);
  return time_decay_colors_avx2(i, stop, age_colors, tabulated, faded_past_table, rgb,
                                [=](std::size_t at, __m256i& dt_off, __m256i& dt_on) {
                                  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(last + 2 * at));
                                  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(last + 2 * at + 4));
                                  dt_off = _mm256_sub_epi64(now4, _mm256_unpacklo_epi64(a, b));
                                  dt_on = _mm256_sub_epi64(now4, _mm256_unpackhi_epi64(a, b));
                                });
}

// time_decay_colors_avx2 over narrow cells: the age is now - (base + cell), or now - 0 for a
// cell 0; both exact in int64 (the times and now lie within the cells' window, or now is 0
// before any event).
std::size_t narrow_time_decay_colors_avx2(const std::uint32_t* cells, std::int64_t now, std::int64_t base, std::size_t i,
                                          std::size_t stop, const std::uint32_t* age_colors, std::int64_t tabulated,
                                          bool faded_past_table, std::uint8_t* rgb) {
  // (Modular: now and base lie within 2^32 of each other unless no event was kept, and the lanes'
  // subtractions wrap as the scalar path's exact ones would not need to.)
  const __m256i now4 = _mm256_set1_epi64x(now),
                since_base = _mm256_set1_epi64x(static_cast<std::int64_t>(static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(base)));
  const auto age = [=](__m256i cell) {
    return _mm256_blendv_epi8(_mm256_sub_epi64(since_base, cell), now4, _mm256_cmpeq_epi64(cell, _mm256_setzero_si256()));
  };
  return time_decay_colors_avx2(i, stop, age_colors, tabulated, faded_past_table, rgb,
                                [=](std::size_t at, __m256i& dt_off, __m256i& dt_on) {
                                  const __m256i pairs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells + 2 * at));
                                  const __m256i a = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(pairs));
                                  const __m256i b = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(pairs, 1));
                                  dt_off = age(_mm256_unpacklo_epi64(a, b));
                                  dt_on = age(_mm256_unpackhi_epi64(a, b));
                                });
}

}  // namespace
EVLIB_AVX2_END
#endif

void TimeDecayFrame::render(std::span<std::uint8_t> rgb) const {
  const std::size_t pixels = sensor_.pixels();
  if (rgb.size() != 3 * pixels) throw std::invalid_argument("render: the RGB frame has the wrong size");
  const auto tabulated = static_cast<std::int64_t>(age_colors_.size() / 2);
  const std::uint32_t* age_colors = age_colors_.data();
  const auto one_pixel = [&](std::size_t i) {
    const std::int64_t dt_off = last_t_ - time_at(2 * i), dt_on = last_t_ - time_at(2 * i + 1);
    const std::int64_t dt = std::max<std::int64_t>(std::min(dt_off, dt_on), 0);  // out of order: v <= 0, f = +-1
    const bool on = dt_off > dt_on;
    const std::uint32_t color = dt < tabulated ? age_colors[2 * static_cast<std::size_t>(dt) + on]
                                : faded_past_table_ ? age_colors_.back()
                                                    : shade_colors_[shade(dt, on)];
    detail::store_rgb(color, rgb.data() + 3 * i);
  };
  std::size_t i = 0;
#ifdef EVLIB_AVX2
  // Eight pixels that need shade() stop the kernel; one by one past them, then on.
  const std::size_t stop = detail::vector_end(0, pixels, pixels);
  const auto vector_run = [&](std::size_t from) {
    return wide_.empty() ? narrow_time_decay_colors_avx2(narrow_.data(), last_t_, base_, from, stop, age_colors, tabulated,
                                                         faded_past_table_, rgb.data())
                         : wide_time_decay_colors_avx2(wide_.data(), last_t_, from, stop, age_colors, tabulated,
                                                       faded_past_table_, rgb.data());
  };
  while (detail::avx2_kernels_run() && (i = vector_run(i)) < stop) {
    for (const std::size_t j = i + 8; i < j; ++i) one_pixel(i);
  }
#endif
  for (; i < pixels; ++i) one_pixel(i);
}

}  // namespace evlib::render
