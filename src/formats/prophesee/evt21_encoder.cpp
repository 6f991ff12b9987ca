// EVT 2.1 writer (docs/formats.md 15.3): consecutive events with equal time, row and polarity in
// the same 32-column group share one word, each a bit of its mask. A word takes an event only
// when its column is right of every column already in it, so that decoding (set bits from the
// lowest) gives the events back in their order: a round trip is exact.
#include <string>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"
#include "formats/prophesee/raw_geometry.hpp"
#include "formats/prophesee/time_high_clock.hpp"

namespace evlib::detail {

namespace {

class Evt21Encoder final : public EventEncoder {
 public:
  explicit Evt21Encoder(const WriteOptions& options) : options_(options), geometry_(RawGeometry::of(options, "EVT2.1")) {}

  void begin(AtomicFile& out) override {
    const std::string h = raw_header("2.1", "EVT21;endianness=little", options_);
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
          add_event(t[i], x[i], y[i], p[i] ? 1u : 0u, i);
        },
        [&](std::size_t j) {
          if (triggers.channel[j] > 31) throw InvalidArgument("EVT2.1 trigger channel does not fit 5 bits");
          flush_pending();
          set_time(triggers.t[j], j);
          put(0xAu << 28 | static_cast<std::uint32_t>(triggers.t[j] & 63) << 22 |
                  static_cast<std::uint32_t>(triggers.channel[j]) << 8 | (triggers.value[j] != 0 ? 1u : 0u),
              0);
        });
    flush_pending();
    words_.flush_to(out);
  }

  void end(AtomicFile& out) override {
    flush_pending();
    words_.flush_to(out);
  }

 private:
  void add_event(std::int64_t t, std::uint32_t x, std::uint32_t y, std::uint32_t p, std::size_t index) {
    const std::uint32_t header = p << 28 | static_cast<std::uint32_t>(t & 63) << 22 | (x & ~31u) << 11 | y;
    const std::uint32_t bit = 1u << (x & 31);
    if (mask_ != 0 && (t != t_ || header != header_ || bit <= highest_bit_)) flush_pending();
    if (mask_ == 0) {
      set_time(t, index);
      t_ = t;
      header_ = header;
    }
    mask_ |= bit;
    highest_bit_ = bit;
  }
  void flush_pending() {
    if (mask_ != 0) put(header_, mask_);
    mask_ = 0;
  }
  void set_time(std::int64_t t, std::size_t index) {
    clock_.advance_to(t, index, [&](std::uint32_t th) { put(0x8u << 28 | th, 0); });
  }
  // Little layout: one little-endian 64-bit word, the header half on top.
  void put(std::uint32_t header, std::uint32_t low) { words_.put<std::uint64_t>(std::uint64_t{header} << 32 | low); }

  WriteOptions options_;
  RawGeometry geometry_;
  WordBuffer words_;
  TimeHighClock clock_{"EVT2.1", true};
  std::int64_t t_ = 0;
  std::uint32_t header_ = 0, mask_ = 0, highest_bit_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_evt21_encoder(const WriteOptions& options) {
  return std::make_unique<Evt21Encoder>(options);
}

}  // namespace evlib::detail
