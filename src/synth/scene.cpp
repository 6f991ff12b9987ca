#include "evlib/synth.hpp"

#include <algorithm>
#include <cmath>

#include "evlib/error.hpp"

namespace evlib {

namespace {
// Mean events in a run burst; a non-run burst is one event.
constexpr double kMeanRunEvents = 10.0;
}  // namespace

SceneGenerator::SceneGenerator(const SceneOptions& options)
    : options_(options), state_(options.seed * 0x9E3779B97F4A7C15ull + 0x1234567ull),
      clock_(static_cast<double>(options.t_start)) {
  if (options.width < 32 || options.height < 1 || options.width > 2048 || options.height > 2048) {
    throw InvalidArgument("SceneOptions: width must be in [32, 2048] and height in [1, 2048]");
  }
  if (!(options.event_rate > 0)) throw InvalidArgument("SceneOptions: event_rate must be positive");
  const double events_per_burst = 1.0 + options.run_fraction * (kMeanRunEvents - 1.0);
  burst_interval_ = 1e6 * events_per_burst / options.event_rate;
  next_trigger_ = options.trigger_rate > 0 ? clock_ + 1e6 / options.trigger_rate : INFINITY;
}

std::uint64_t SceneGenerator::next_random() {
  // splitmix64: fast, seedable, good enough for synthetic scenes.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void SceneGenerator::generate(EventBatch& out, TriggerBatch& triggers, std::size_t count) {
  std::size_t n = out.size();
  const std::size_t limit = std::min(out.capacity(), n + count);
  std::int64_t* t = out.t_data();
  std::uint16_t* x = out.x_data();
  std::uint16_t* y = out.y_data();
  std::uint8_t* p = out.p_data();
  const std::uint32_t w = options_.width, h = options_.height;
  while (n < limit) {
    // Exponential gaps between bursts: a Poisson process at the requested rate.
    clock_ += -std::log1p(-uniform()) * burst_interval_;
    const auto now = static_cast<std::int64_t>(clock_);
    while (next_trigger_ <= clock_) {
      triggers.push_back(static_cast<std::int64_t>(next_trigger_), 0, trigger_value_);
      trigger_value_ ^= 1;
      next_trigger_ += 1e6 / options_.trigger_rate;
    }
    const std::uint64_t r = next_random();
    const auto row = static_cast<std::uint16_t>((r & 0xFFFFFFFF) % h);
    const std::uint8_t pol = ((r >> 32) & 0xFF) < 140 ? 1 : 0;
    if (uniform() >= options_.run_fraction) {
      t[n] = now;
      x[n] = static_cast<std::uint16_t>((r >> 40) % w);
      y[n] = row;
      p[n] = pol;
      ++n;
      continue;
    }
    // A run: a stretch of up to 32 columns along one row, about 60 % of its pixels firing.
    const std::uint32_t start = static_cast<std::uint32_t>((r >> 40) % (w - 31));
    const std::uint64_t bits = next_random();
    const std::uint32_t len = 4 + static_cast<std::uint32_t>(bits % 29);
    for (std::uint32_t k = 0; k < len && n < limit; ++k) {
      if (((bits >> (8 + k)) & 0x3) == 0) continue;  // ~75 % fire ...
      if (k > 0 && ((bits >> (40 + (k % 24))) & 0x7) == 0) continue;  // ... minus some holes
      t[n] = now;
      x[n] = static_cast<std::uint16_t>(start + k);
      y[n] = row;
      p[n] = pol;
      ++n;
    }
  }
  out.set_size(n);
}

}  // namespace evlib
