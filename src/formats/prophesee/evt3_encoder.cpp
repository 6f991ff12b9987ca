// EVT 3.0 writer (docs/formats.md 15.4). Events keep their exact order: vectors are used only for runs
// of consecutive events with equal (t, y, p) and increasing x inside one 32-column window, always
// as complete VECT_BASE_X, VECT_12, VECT_12, VECT_8 groups (Metavision reads nothing else).
#include <string>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"
#include "formats/prophesee/raw_geometry.hpp"
#include "formats/prophesee/time_high_clock.hpp"

namespace evlib::detail {

namespace {

constexpr std::size_t kMinVectorRun = 3;

class Evt3Encoder final : public EventEncoder {
 public:
  explicit Evt3Encoder(const WriteOptions& options) : options_(options), geometry_(RawGeometry::of(options, "EVT3")) {}

  void begin(AtomicFile& out) override {
    const std::string h = raw_header("3.0", "EVT3", options_);
    out.write(h.data(), h.size());
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    const std::size_t n = events.size();
    std::size_t i = 0, j = 0;
    while (i < n || j < triggers.size()) {
      if (j < triggers.size() && (i == n || triggers.t[j] < t[i])) {
        set_time(triggers.t[j], j);
        if (triggers.channel[j] > 15) throw InvalidArgument("EVT3 trigger channel " + std::to_string(triggers.channel[j]) + " does not fit 4 bits");
        words_.put<std::uint16_t>(static_cast<std::uint16_t>(0xA000 | (triggers.channel[j] << 8) | (triggers.value[j] != 0 ? 1 : 0)));
        ++j;
        continue;
      }
      check_event(x[i], y[i], i);
      set_time(t[i], i);
      if (!have_y_ || y[i] != cur_y_) {
        words_.put<std::uint16_t>(static_cast<std::uint16_t>(y[i]));
        cur_y_ = y[i];
        have_y_ = true;
      }
      const std::size_t run = vector_run(events, i);
      if (run >= kMinVectorRun) {
        emit_vector(events, i, run);
        i += run;
      } else {
        words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x2000 | (p[i] ? 0x800 : 0) | x[i]));
        ++i;
      }
      if (words_.size() > (std::size_t{1} << 20)) words_.flush_to(out);
    }
    words_.flush_to(out);
  }

  void end(AtomicFile& out) override { words_.flush_to(out); }

 private:
  void check_event(std::uint16_t x, std::uint16_t y, std::size_t index) const {
    geometry_.check(index, x, y);
  }

  void set_time(std::int64_t t, std::size_t index) {
    if (t < 0) throw InvalidArgument("EVT3 cannot store negative time (event " + std::to_string(index) + ")");
    if (have_time_ && t < cur_t_) throw InvalidArgument("events must be in non-decreasing time order (event " + std::to_string(index) + ")");
    const std::int64_t th = t >> 12;
    bool emitted_th = false;
    if (have_time_ && th - cur_th_ > kMostTimeHighsPerGap) {
      throw InvalidArgument("EVT3: the gap of " + std::to_string(t - cur_t_) + " us before event " + std::to_string(index) +
                            " would take " + std::to_string(th - cur_th_) +
                            " TIME_HIGH words (one per 4096 us); gaps over 2^20 of them (71 minutes) are refused");
    }
    if (!have_time_) {
      words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x8000 | (th & 0xFFF)));
      cur_th_ = th;
      have_time_ = true;
      emitted_th = true;
    }
    // One TIME_HIGH per 4.096 ms of elapsed time: every decoder sees each wrap as 0xFFF -> 0.
    while (cur_th_ < th) {
      ++cur_th_;
      words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x8000 | (cur_th_ & 0xFFF)));
      emitted_th = true;
    }
    if (emitted_th || (t & 0xFFF) != cur_tl_) {
      words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x6000 | (t & 0xFFF)));
      cur_tl_ = t & 0xFFF;
    }
    cur_t_ = t;
  }

  // Length of the run of events from i that one vector group can carry.
  std::size_t vector_run(const EventBatch& events, std::size_t i) const {
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    const std::uint32_t width = options_.width != 0 ? options_.width : 2048;
    if (x[i] + 32u > width) return 1;
    std::size_t k = i + 1;
    while (k < events.size() && t[k] == t[i] && y[k] == y[i] && p[k] == p[i] && x[k] > x[k - 1] && x[k] < x[i] + 32u) ++k;
    return k - i;
  }

  void emit_vector(const EventBatch& events, std::size_t i, std::size_t run) {
    const auto x = events.x();
    const std::uint32_t base = x[i];
    std::uint32_t mask = 0;
    for (std::size_t k = i; k < i + run; ++k) mask |= 1u << (x[k] - base);
    words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x3000 | (events.p()[i] ? 0x800 : 0) | base));
    words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x4000 | (mask & 0xFFF)));
    words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x4000 | ((mask >> 12) & 0xFFF)));
    words_.put<std::uint16_t>(static_cast<std::uint16_t>(0x5000 | ((mask >> 24) & 0xFF)));
  }

  WriteOptions options_;
  RawGeometry geometry_;
  WordBuffer words_;
  bool have_time_ = false;
  std::int64_t cur_th_ = 0;
  std::int64_t cur_tl_ = -1;
  std::int64_t cur_t_ = 0;
  bool have_y_ = false;
  std::uint16_t cur_y_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_evt3_encoder(const WriteOptions& options) {
  return std::make_unique<Evt3Encoder>(options);
}

}  // namespace evlib::detail
