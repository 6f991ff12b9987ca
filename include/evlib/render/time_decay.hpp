#pragma once
// OpenEB's TimeDecayFrameGenerationAlgorithm (OpenEB 5.1, sdk/modules/core), from its definition
// (docs/rendering.md "time-decay"): the mode `time-decay`. Each pixel keeps the time of its last
// ON and of its last OFF event; a frame, generated at the last event time t, shows per pixel
// f = +-fast_exp_decay((t - t_last) / tau), t_last the later of the two times, the sign that
// polarity's (ties count as OFF), through a 257-colour map interpolated in CIE Lab from the OFF
// colour (f = -1) through the background (f = 0) to the ON colour (f = +1). The state persists
// from frame to frame: a pixel fades out instead of disappearing at the end of a window.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/ops/common.hpp"
#include "evlib/render/palette.hpp"

namespace evlib::render {

// OpenEB's Math::fast_exp_decay with its table of N = 32 entries (init_exp_decay_lut(32)):
// exp(-v) approximated linearly between the points v_i = -log((N - i) / N), where it is
// (N - i) / N; 1 at v <= 0, 0 past the last point (v > log N, 3.47 for N = 32). In float, in
// OpenEB's operation order.
class FastExpDecay {
 public:
  explicit FastExpDecay(std::size_t entries = 32);
  float operator()(float v) const noexcept;
  // The smallest v at which the value is 0 (the last table point, log N).
  float zero_from() const noexcept { return lut_.back(); }

 private:
  std::vector<float> lut_;
};

// OpenEB's 257-entry colour map (detail::init_colormap), RGB: entry i < 128 is the OFF colour
// blended towards the background by i / 127, entry 128 the background, entry i > 128 the
// background blended towards the ON colour by (i - 129) / 127, each blend made between the
// colours' CIE L*a*b* values (sRGB, D65 white, as OpenCV's COLOR_RGB2Lab / COLOR_Lab2RGB on
// float pixels) and rounded to 8 bits. The Prophesee palettes use OpenEB's own float colours
// (colors_impl.h), the others their 8-bit colours / 255.
using TimeDecayColors = std::array<Rgb, 257>;
TimeDecayColors time_decay_colors(const Palette& palette);

class TimeDecayFrame {
 public:
  // decay_us: the exponential decay time (OpenEB's exponential_decay_time_us), > 0.
  TimeDecayFrame(ops::SensorSize sensor, std::int64_t decay_us, const Palette& palette);

  // OpenEB's process_events: each event stores its time for its pixel and polarity; the last
  // event's time becomes the time frames are generated at. Events outside the sensor are skipped.
  void add(EventView events);
  // OpenEB's generate, as RGB (width * height * 3 bytes). The gray palette gives OpenEB's
  // grayscale output, level saturate(0.5 (1 + f) 255) as a gray colour.
  void render(std::span<std::uint8_t> rgb) const;
  std::int64_t last_time() const noexcept { return last_t_; }

 private:
  // What a pixel shows for an age dt and the sign of f: an index into colors_, or the gray level.
  std::uint16_t shade(std::int64_t dt, bool on) const noexcept;

  ops::SensorSize sensor_;
  std::int64_t decay_us_;
  bool gray_;
  TimeDecayColors colors_{};
  FastExpDecay decay_;
  // The colour of each shade as R | G << 8 | B << 16 (gray: the level in all three).
  std::vector<std::uint32_t> shade_colors_;
  // The colour of shade() of every age below age_colors_.size() / 2, ON and OFF interleaved: the
  // same computation, tabulated (ages from about 3.47 decay times on all show the background), so
  // that a frame costs one table look-up per pixel. Decay times past 300 000 µs tabulate the
  // first 2^20 ages. Then, at index 2 * ages, the colour of an age past the table when those are
  // all faded (faded_past_table_).
  std::vector<std::uint32_t> age_colors_;
  bool faded_past_table_ = false;
  // The time of pixel i's last OFF (2i) and ON (2i + 1) event; OpenEB starts them at 0. Narrow
  // cells (half the memory a frame reads) hold base_ + cell, cell 0 meaning time 0, while every
  // time fits; the first that does not turns them into wide (int64) cells for good.
  std::int64_t time_at(std::size_t cell) const noexcept;
  std::size_t add_narrow(EventView events);  // the index of the first event that did not fit
  void add_wide(EventView events);
  void widen();

  std::vector<std::uint32_t> narrow_;
  std::vector<std::int64_t> wide_;  // empty while narrow
  bool based_ = false;              // base_ chosen (at the first event)
  std::int64_t base_ = 0;
  std::int64_t last_t_ = 0;
};

}  // namespace evlib::render
