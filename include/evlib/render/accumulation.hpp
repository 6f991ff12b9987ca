#pragma once
// How events become the pixels of one frame (docs/rendering.md "Modes"):
// - kLastEvent: each pixel shows the polarity of its last event in the window (OpenEB's frame
//   generators, dv-processing's EventVisualizer), else the background;
// - kCounts: ON minus OFF events of the window, counted by the processing layer's event frame
//   (evlib/ops/event_frame.hpp), graded towards the ON or OFF colour, full at +-saturation;
// - kExponentialDecay / kLinearDecay: dv-processing 2.0.4's Accumulator (DvAccumulator below),
//   a potential per pixel that persists across frames;
// - kTimeSurface: each pixel's last event in the window, graded by its age from full colour
//   (just before the frame time) to the background (one window old).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/ops/common.hpp"
#include "evlib/render/palette.hpp"

namespace evlib::render {

enum class Mode { kLastEvent, kCounts, kExponentialDecay, kLinearDecay, kTimeSurface, kTimeDecay };

// "last", "counts", "exp-decay", "linear-decay", "time-surface", "time-decay" (OpenEB's
// TimeDecayFrameGenerationAlgorithm, time_decay.hpp); InvalidArgument otherwise.
Mode mode_by_name(std::string_view name);
std::string_view mode_name(Mode mode);
// Decay modes keep their state across frames; the others start each window afresh.
constexpr bool is_decay(Mode mode) {
  return mode == Mode::kExponentialDecay || mode == Mode::kLinearDecay || mode == Mode::kTimeDecay;
}

// dv::Accumulator's parameters, with its defaults (decay = EXPONENTIAL).
struct DvAccumulatorOptions {
  bool linear = false;             // LINEAR instead of EXPONENTIAL
  double decay_param = 1.0e6;      // exponential: time constant in µs; linear: potential per µs
  bool synchronous_decay = false;  // decay every pixel to the latest event time at each frame
  float contribution = 0.15f;
  float max_potential = 1.0f;
  float neutral_potential = 0.0f;
  float min_potential = 0.0f;
  bool ignore_polarity = false;
};

// dv-processing 2.0.4's Accumulator (core/frame/accumulator.hpp) for the LINEAR and EXPONENTIAL
// decays, operation for operation in float, so that its potentials are those of dv-processing
// (within 1 ULP where expf is used) and its frames those of generateFrame().
class DvAccumulator {
 public:
  DvAccumulator(ops::SensorSize sensor, DvAccumulatorOptions options);
  // dv's accumulate(EventStore): per event, decay the pixel to t, then add the contribution.
  // Events outside the sensor are skipped (dv would index outside its matrix).
  void accumulate(EventView events);
  // dv's generateFrame(): the optional synchronous decay, then convertTo(CV_8U, alpha, beta).
  void generate_frame(std::span<std::uint8_t> gray);
  // The 8-bit level generate_frame() gives a pixel at the neutral potential.
  std::uint8_t neutral_level() const noexcept;
  // A copy of the potentials, row-major.
  std::vector<float> potentials() const;


 private:
  friend class FrameAccumulator;
  // generate_frame() for the pixels [begin, end), into levels[0, end - begin): FrameAccumulator
  // colours a frame block by block while the block is in cache.
  void generate_levels(std::size_t begin, std::size_t end, std::uint8_t* levels);
  // Returns how many events it added: all, except where the block loop met a block of times
  // outside the current base's span (accumulate() rebases, then goes on).
  template <bool kLinear>
  std::size_t accumulate_events(EventView events);
  std::uint8_t to_level(float v) const noexcept;
  // Makes every time of [low, high] (high - low below kTimeSpan / 2) a relative time of the
  // cells, and the cells' times of the half span before low.
  void rebase(std::int64_t low);
  bool representable(std::int64_t low, std::int64_t high) const noexcept;
  // The decay time of a cell whose time is kNeverTouched or kFarTime.
  std::int64_t special_time(std::size_t pixel, std::uint32_t code) const;

 public:
  // A pixel's potential and the time it was last decayed to, side by side: an event reads and
  // writes one cache line instead of two (the state of 1280x720 pixels, 7.4 MB, is beyond the
  // core's own caches). The time is relative to time_base_, or one of the codes below.
  struct Cell {
    float potential;
    std::uint32_t time;
  };
  static constexpr std::uint32_t kNeverTouched = 0xFFFFFFFF;  // decay time 0 (dv's initial one) out of range
  static constexpr std::uint32_t kFarTime = 0xFFFFFFFE;       // decay time in far_times_
  static constexpr std::uint32_t kTimeSpan = 0xFFFFFFFE;      // relative times: [0, kTimeSpan)

 private:
  ops::SensorSize sensor_;
  DvAccumulatorOptions options_;
  std::vector<Cell> cells_;
  std::int64_t time_base_ = 0;
  // The decay times of pixels not touched for more than about 36 minutes of event time before
  // the latest rebase (or touched after it, out of order): rare, looked up off the hot path.
  std::unordered_map<std::size_t, std::int64_t> far_times_;
  // expf(-float(e) / float(decay)) for the elapsed times e below its size: the value dv computes
  // per event, looked up instead of computed again; for the linear decay, its step
  // float(double(e) * decay) (the event loop's only).
  std::vector<float> exp_factor_;
  float alpha_ = 0.0f, beta_ = 0.0f;  // convertTo's scale and offset
  std::int64_t highest_time_ = 0;
  // Events accumulated since the last frame's levels: few of them (below one per 32 pixels) leave
  // runs of untouched cells, whose synchronous decay shares one factor.
  std::uint64_t events_since_levels_ = 0;
  // The time every cell was last decayed to by the synchronous decay (whole frames), if any: the
  // linear decay's event loop looks its steps up while its events lie within half the table's
  // span after it.
  std::optional<std::int64_t> decayed_to_;
};

struct ModeOptions {
  Mode mode = Mode::kLastEvent;
  Palette palette = palette_by_name("prophesee-dark");
  unsigned count_saturation = 4;  // kCounts: |ON - OFF| at which a pixel has the full colour
  DvAccumulatorOptions decay;     // the decay modes
};

// One frame's pixels from its events: begin_window(), add() any number of pieces (in time
// order), then render() into width * height * 3 RGB bytes.
class FrameAccumulator {
 public:
  FrameAccumulator(ops::SensorSize sensor, ModeOptions options);
  ~FrameAccumulator();
  FrameAccumulator(FrameAccumulator&&) noexcept;
  FrameAccumulator& operator=(FrameAccumulator&&) noexcept;

  // Starts a window (window modes forget the previous one; the decay modes keep their state).
  void begin_window();
  void add(EventView events);
  // window_start / window_end: the frame's window [start, end) in µs (the time surface grades
  // ages by it).
  void render(std::int64_t window_start, std::int64_t window_end, std::span<std::uint8_t> rgb);

  const ModeOptions& options() const noexcept;
  ops::SensorSize sensor() const noexcept;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace evlib::render
