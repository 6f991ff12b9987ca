#pragma once
// A seeded synthetic event stream for tests and benchmarks. Events come in time order, mostly
// isolated pixels with some horizontal runs (which EVT3 stores as vectors), at a density close to
// real Gen4 recordings (about 2.3 bytes/event in EVT3). Same options and seed, same events.
#include <cstddef>
#include <cstdint>

#include "evlib/event_batch.hpp"

namespace evlib {

struct SceneOptions {
  std::uint32_t width = 1280;
  std::uint32_t height = 720;
  std::uint64_t seed = 1;
  double event_rate = 20e6;      // mean events per second of sensor time
  std::int64_t t_start = 0;      // µs of the first event
  double trigger_rate = 0;       // trigger edges per second (alternating rising/falling), 0 = none
  double run_fraction = 0.1;     // fraction of bursts that are horizontal runs (vectors)
};

class SceneGenerator {
 public:
  explicit SceneGenerator(const SceneOptions& options);
  // Appends events until out is full or `count` events were appended; triggers that fall in the
  // generated time span go to triggers.
  void generate(EventBatch& out, TriggerBatch& triggers, std::size_t count);
  std::int64_t current_time() const noexcept { return static_cast<std::int64_t>(clock_); }

 private:
  std::uint64_t next_random();
  double uniform() { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }

  SceneOptions options_;
  std::uint64_t state_;
  double clock_;             // sensor time in µs, fractional
  double burst_interval_;    // mean µs between bursts
  double next_trigger_;
  std::uint8_t trigger_value_ = 1;
};

}  // namespace evlib
