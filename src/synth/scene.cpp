#include "evlib/synth.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "evlib/error.hpp"

namespace evlib {

namespace {
// Mean events in a run burst; a non-run burst is one event.
constexpr double kMeanRunEvents = 10.0;

// kMovingEdges: the discs' sizes (fractions of the sensor's smaller side) and speeds (pixels per
// second), and how far (pixels) an event may lie off its rim.
constexpr double kMinRadius = 0.04, kMaxRadius = 0.16;
constexpr double kMinSpeed = 100.0, kMaxSpeed = 600.0;
constexpr double kRimJitter = 0.75;
constexpr double kTwoPi = 6.283185307179586;

// p folded back into [low, high] as a point bouncing between them, and the sign of its motion
// there (+1 while p moves the way it did at the start).
std::pair<double, double> bounced(double p, double low, double high) {
  const double span = high - low;
  if (!(span > 0)) return {low, 1.0};
  double u = std::fmod(p - low, 2 * span);
  if (u < 0) u += 2 * span;
  return u <= span ? std::pair{low + u, 1.0} : std::pair{low + 2 * span - u, -1.0};
}
}  // namespace

SceneGenerator::SceneGenerator(const SceneOptions& options)
    : options_(options), state_(options.seed * 0x9E3779B97F4A7C15ull + 0x1234567ull),
      clock_(static_cast<double>(options.t_start)) {
  if (options.width < 32 || options.height < 1 || options.width > 65536 || options.height > 65536) {
    throw InvalidArgument("SceneOptions: width must be in [32, 65536] and height in [1, 65536]");
  }
  if (!(options.event_rate > 0)) throw InvalidArgument("SceneOptions: event_rate must be positive");
  if (!(options.background_share >= 0 && options.background_share <= 1))
    throw InvalidArgument("SceneOptions: background_share must be in [0, 1]");
  if (options.discs < 1 || options.discs > 1000) throw InvalidArgument("SceneOptions: discs must be in [1, 1000]");
  const double events_per_burst =
      options.kind == SceneKind::kNoise ? 1.0 + options.run_fraction * (kMeanRunEvents - 1.0) : 1.0;
  burst_interval_ = 1e6 * events_per_burst / options.event_rate;
  next_trigger_ = options.trigger_rate > 0 ? clock_ + 1e6 / options.trigger_rate : INFINITY;
  if (options.kind != SceneKind::kMovingEdges) return;
  for (std::size_t k = 0; k < cosine_.size(); ++k)
    cosine_[k] = static_cast<float>(std::cos(kTwoPi * static_cast<double>(k) / static_cast<double>(cosine_.size())));
  const double side = std::min(options.width, options.height);
  double total = 0;
  for (unsigned d = 0; d < options.discs; ++d) {
    Disc disc{};
    disc.radius = std::max(1.0, side * (kMinRadius + (kMaxRadius - kMinRadius) * uniform()));
    const double speed = 1e-6 * (kMinSpeed + (kMaxSpeed - kMinSpeed) * uniform());
    const double heading = kTwoPi * uniform();
    disc.vx = speed * std::cos(heading);
    disc.vy = speed * std::sin(heading);
    disc.x0 = disc.radius + (options.width - 2 * disc.radius) * uniform();
    disc.y0 = disc.radius + (options.height - 2 * disc.radius) * uniform();
    disc.bright = (next_random() & 1) != 0;
    discs_.push_back(disc);
    total += disc.radius * speed;
    disc_weight_.push_back(total);
  }
}

void SceneGenerator::emit_triggers(TriggerBatch& triggers) {
  while (next_trigger_ <= clock_) {
    triggers.push_back(static_cast<std::int64_t>(next_trigger_), 0, trigger_value_);
    trigger_value_ ^= 1;
    next_trigger_ += 1e6 / options_.trigger_rate;
  }
}

std::uint64_t SceneGenerator::next_random() {
  // splitmix64: fast, seedable, good enough for synthetic scenes.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void SceneGenerator::generate(EventBatch& out, TriggerBatch& triggers, std::size_t count) {
  const std::size_t limit = std::min(out.capacity(), out.size() + count);
  const Columns columns{out.t_data(), out.x_data(), out.y_data(), out.p_data()};
  std::size_t n = out.size();
  while (n < limit) {
    // Exponential gaps between bursts: a Poisson process at the requested rate.
    clock_ += -std::log1p(-uniform()) * burst_interval_;
    emit_triggers(triggers);
    const auto now = static_cast<std::int64_t>(clock_);
    n = options_.kind == SceneKind::kMovingEdges ? append_edge_event(columns, n, now)
                                                 : append_noise_burst(columns, n, limit, now);
  }
  out.set_size(n);
}

std::size_t SceneGenerator::append_edge_event(const Columns& c, std::size_t n, std::int64_t now) {
  const double w = options_.width, h = options_.height;
  if (uniform() < options_.background_share) {
    const std::uint64_t r = next_random();
    c.t[n] = now;
    c.x[n] = static_cast<std::uint16_t>((r & 0xFFFFFFFF) % options_.width);
    c.y[n] = static_cast<std::uint16_t>((r >> 32) % options_.height);
    c.p[n] = static_cast<std::uint8_t>((r >> 63) & 1);
    return n + 1;
  }
  // A disc, as often as its rim sweeps pixels (radius times speed); a point of its rim, as often
  // as the rim moves across it (the normal's share of the velocity); tries past the sensor's
  // border or along the rim are drawn again (a burst whose 64 tries all miss has no event).
  constexpr std::size_t kAngles = std::tuple_size_v<decltype(cosine_)>;
  const double pick = uniform() * disc_weight_.back();
  const Disc& disc = discs_[static_cast<std::size_t>(
      std::lower_bound(disc_weight_.begin(), disc_weight_.end() - 1, pick) - disc_weight_.begin())];
  const auto [cx, sx] = bounced(disc.x0 + disc.vx * clock_, disc.radius, w - disc.radius);
  const auto [cy, sy] = bounced(disc.y0 + disc.vy * clock_, disc.radius, h - disc.radius);
  const double vx = sx * disc.vx, vy = sy * disc.vy, speed = std::hypot(vx, vy);
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::uint64_t r = next_random();
    const std::size_t angle = r % kAngles;
    const double nx = cosine_[angle], ny = cosine_[(angle + kAngles - kAngles / 4) % kAngles];  // sin
    const double across = (vx * nx + vy * ny) / speed;  // in [-1, 1]: + on the leading side
    if (static_cast<double>((r >> 32) & 0xFFFF) * 0x1.0p-16 >= std::fabs(across)) continue;
    const double jitter_x = ((static_cast<double>((r >> 48) & 0xFF) + 0.5) / 128.0 - 1.0) * kRimJitter;
    const double jitter_y = ((static_cast<double>((r >> 56) & 0xFF) + 0.5) / 128.0 - 1.0) * kRimJitter;
    const double px = std::floor(cx + disc.radius * nx + jitter_x + 0.5);
    const double py = std::floor(cy + disc.radius * ny + jitter_y + 0.5);
    if (px < 0 || py < 0 || px >= w || py >= h) continue;
    c.t[n] = now;
    c.x[n] = static_cast<std::uint16_t>(px);
    c.y[n] = static_cast<std::uint16_t>(py);
    c.p[n] = (across > 0) == disc.bright ? 1 : 0;
    return n + 1;
  }
  return n;
}

std::size_t SceneGenerator::append_noise_burst(const Columns& c, std::size_t n, std::size_t limit, std::int64_t now) {
  const std::uint32_t w = options_.width, h = options_.height;
  const std::uint64_t r = next_random();
  const auto row = static_cast<std::uint16_t>((r & 0xFFFFFFFF) % h);
  const std::uint8_t pol = ((r >> 32) & 0xFF) < 140 ? 1 : 0;
  if (uniform() >= options_.run_fraction) {
    c.t[n] = now;
    c.x[n] = static_cast<std::uint16_t>((r >> 40) % w);
    c.y[n] = row;
    c.p[n] = pol;
    return n + 1;
  }
  // A run: a stretch of up to 32 columns along one row, about 60 % of its pixels firing.
  const std::uint32_t start = static_cast<std::uint32_t>((r >> 40) % (w - 31));
  const std::uint64_t bits = next_random();
  const std::uint32_t len = 4 + static_cast<std::uint32_t>(bits % 29);
  for (std::uint32_t k = 0; k < len && n < limit; ++k) {
    if (((bits >> (8 + k)) & 0x3) == 0) continue;  // ~75 % fire ...
    if (k > 0 && ((bits >> (40 + (k % 24))) & 0x7) == 0) continue;  // ... minus some holes
    c.t[n] = now;
    c.x[n] = static_cast<std::uint16_t>(start + k);
    c.y[n] = row;
    c.p[n] = pol;
    ++n;
  }
  return n;
}

}  // namespace evlib
