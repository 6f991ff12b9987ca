// EVT 2.0 writer (docs/formats.md 15.2): a TIME_HIGH at least every 8.192 ms of elapsed time, so that
// every known decoder detects the 2^34 µs wrap.
#include <string>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"
#include "formats/prophesee/raw_geometry.hpp"
#include "formats/prophesee/time_high_clock.hpp"

namespace evlib::detail {

namespace {

class Evt2Encoder final : public EventEncoder {
 public:
  explicit Evt2Encoder(const WriteOptions& options) : options_(options), geometry_(RawGeometry::of(options, "EVT2")) {}

  void begin(AtomicFile& out) override {
    const std::string h = raw_header("2.0", "EVT2", options_);
    out.write(h.data(), h.size());
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    merge_by_time(
        events, triggers,
        [&](std::size_t i) {
          geometry_.check(i, x[i], y[i]);
          set_time(t[i], i);
          words_.put<std::uint32_t>((p[i] ? 1u << 28 : 0u) | static_cast<std::uint32_t>(t[i] & 63) << 22 |
                                    static_cast<std::uint32_t>(x[i]) << 11 | y[i]);
        },
        [&](std::size_t j) {
          if (triggers.channel[j] > 31) throw InvalidArgument("EVT2 trigger channel does not fit 5 bits");
          set_time(triggers.t[j], j);
          words_.put<std::uint32_t>(0xAu << 28 | static_cast<std::uint32_t>(triggers.t[j] & 63) << 22 |
                                    static_cast<std::uint32_t>(triggers.channel[j]) << 8 | (triggers.value[j] != 0 ? 1u : 0u));
        });
    words_.flush_to(out);
  }

  void end(AtomicFile& out) override { words_.flush_to(out); }

 private:
  void set_time(std::int64_t t, std::size_t index) {
    clock_.advance_to(t, index, [&](std::uint32_t th) { words_.put<std::uint32_t>(0x8u << 28 | th); });
  }

  WriteOptions options_;
  RawGeometry geometry_;
  WordBuffer words_;
  TimeHighClock clock_{"EVT2"};
};

}  // namespace

std::unique_ptr<EventEncoder> make_evt2_encoder(const WriteOptions& options) {
  return std::make_unique<Evt2Encoder>(options);
}

}  // namespace evlib::detail
