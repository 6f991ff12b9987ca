#pragma once
// A seeded synthetic event stream for tests and benchmarks, in time order; same options and seed,
// same events. Two scenes:
// - kNoise (the default): pixels spread uniformly over the sensor, mostly isolated, some in
//   horizontal runs (which EVT3 stores as vectors), at a density close to real Gen4 recordings
//   (about 2.3 bytes/event in EVT3). As frames it is noise: the worst case for a video encoder.
// - kMovingEdges: what an event camera sees of discs (a dozen by default) gliding over a still background and
//   bouncing off the sensor's borders: events on the discs' rims, more where a rim moves across
//   itself (none where it slides along itself), ON on the leading side of a bright disc and OFF
//   on its trailing side (reversed for a dark one), and a share of background activity. As frames: moving rings on a dark background sprinkled with isolated
//   events, blurred by the window over which events accumulate.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "evlib/event_batch.hpp"

namespace evlib {

enum class SceneKind { kNoise, kMovingEdges };

struct SceneOptions {
  std::uint32_t width = 1280;
  std::uint32_t height = 720;
  std::uint64_t seed = 1;
  double event_rate = 20e6;      // mean events per second of sensor time
  std::int64_t t_start = 0;      // µs of the first event
  double trigger_rate = 0;       // trigger edges per second (alternating rising/falling), 0 = none
  double run_fraction = 0.1;     // fraction of bursts that are horizontal runs (vectors), kNoise
  SceneKind kind = SceneKind::kNoise;
  // kMovingEdges: the share of events that are background activity (uniform pixels and
  // polarities): 0.05 of 20 M events/s at 1280x720 is about 1 event per pixel per second.
  double background_share = 0.05;
  unsigned discs = 12;  // kMovingEdges: how many discs, 1 to 1000
};

class SceneGenerator {
 public:
  explicit SceneGenerator(const SceneOptions& options);
  // Appends events until out is full or `count` events were appended; triggers that fall in the
  // generated time span go to triggers.
  void generate(EventBatch& out, TriggerBatch& triggers, std::size_t count);
  std::int64_t current_time() const noexcept { return static_cast<std::int64_t>(clock_); }

 private:
  // A disc of kMovingEdges: its centre at time t (µs) is start + velocity * t, folded back into
  // [radius, size - radius] on each axis (it bounces off the borders).
  struct Disc {
    double x0, y0;    // centre at time 0, pixels
    double vx, vy;    // pixels per µs
    double radius;
    bool bright;      // brighter than the background: ON events on its leading side
  };
  // The columns being appended to.
  struct Columns {
    std::int64_t* t;
    std::uint16_t* x;
    std::uint16_t* y;
    std::uint8_t* p;
  };
  // One burst at `now` from row n on, returning the new row count: a run or a single event
  // (kNoise, at most up to limit), or one event or none (kMovingEdges).
  std::size_t append_noise_burst(const Columns& c, std::size_t n, std::size_t limit, std::int64_t now);
  std::size_t append_edge_event(const Columns& c, std::size_t n, std::int64_t now);
  void emit_triggers(TriggerBatch& triggers);
  std::uint64_t next_random();
  double uniform() { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }

  SceneOptions options_;
  std::uint64_t state_;
  double clock_;             // sensor time in µs, fractional
  double burst_interval_;    // mean µs between bursts
  double next_trigger_;
  std::uint8_t trigger_value_ = 1;
  std::vector<Disc> discs_;             // kMovingEdges
  std::vector<double> disc_weight_;     // cumulative: radius times speed (events per µs, relative)
  std::array<float, 4096> cosine_{};    // cos(2 pi k / 4096), for points on the rims
};

}  // namespace evlib
