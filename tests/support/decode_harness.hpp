#pragma once
// Drives the internal word decoders directly (feed / finish) over arbitrary splits of a byte
// range, and small value types that make event comparisons readable in test failures.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/prophesee/evt3.hpp"

namespace evlib::test {

struct Ev {
  std::int64_t t;
  std::uint16_t x, y;
  std::uint8_t p;
  bool operator==(const Ev&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "(t=" << e.t << ", x=" << e.x << ", y=" << e.y << ", p=" << int(e.p) << ")";
}

struct Trig {
  std::int64_t t;
  std::uint8_t channel, value;
  bool operator==(const Trig&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const Trig& e) {
  return os << "(t=" << e.t << ", ch=" << int(e.channel) << ", v=" << int(e.value) << ")";
}

inline std::vector<Ev> events_of(const EventBatch& b) {
  std::vector<Ev> out;
  out.reserve(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) out.push_back({b.t()[i], b.x()[i], b.y()[i], b.p()[i]});
  return out;
}
inline std::vector<Trig> triggers_of(const TriggerBatch& b) {
  std::vector<Trig> out;
  for (std::size_t i = 0; i < b.size(); ++i) out.push_back({b.t[i], b.channel[i], b.value[i]});
  return out;
}
inline EventBatch batch_of(const std::vector<Ev>& events) {
  EventBatch b = EventBatch::with_capacity(events.size() + 1);
  for (const Ev& e : events) b.push_back(e.t, e.x, e.y, e.p);
  return b;
}
// True when both batches hold the same events in the same order (cheaper than two digests).
inline bool same_events(const EventBatch& a, const EventBatch& b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  const std::size_t n = a.size();
  return std::memcmp(a.t().data(), b.t().data(), n * sizeof(std::int64_t)) == 0 &&
         std::memcmp(a.x().data(), b.x().data(), n * sizeof(std::uint16_t)) == 0 &&
         std::memcmp(a.y().data(), b.y().data(), n * sizeof(std::uint16_t)) == 0 &&
         std::memcmp(a.p().data(), b.p().data(), n) == 0;
}
inline bool same_triggers(const TriggerBatch& a, const TriggerBatch& b) {
  return a.t == b.t && a.channel == b.channel && a.value == b.value;
}

inline detail::WordDecoderConfig word_config(std::uint32_t width, std::uint32_t height, bool shift = false,
                                             std::uint64_t stream_offset = 0) {
  detail::WordDecoderConfig c;
  c.width = width;
  c.height = height;
  c.metavision_time_shift = shift;
  c.stream_offset = stream_offset;
  return c;
}

// Events the decoder can produce at most from data, plus slack for the per-word room check.
template <class Decoder>
std::size_t decode_capacity(const Decoder& decoder, const std::uint8_t* data, std::size_t size) {
  return decoder.count_upper_bound(data, size) + 2 * Decoder::kMaxEventsPerWord + 64;
}

// Feeds data[0, size) to decoder in consecutive pieces ending at each cut (cuts ascending, each
// < size), then the rest, then calls finish(). out must have room for every event (see
// decode_capacity); it is overwritten. Throws if the decoder stops consuming input.
template <class Decoder>
void decode_into(Decoder& decoder, const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& cuts,
                 EventBatch& out, TriggerBatch& triggers) {
  out.set_size(0);
  triggers.clear();
  detail::ColumnSink sink = detail::ColumnSink::over(out);
  std::size_t pos = 0;
  auto feed_to = [&](std::size_t end) {
    while (pos < end) {
      const std::size_t used = decoder.feed(data + pos, end - pos, sink, triggers);
      if (used == 0) throw std::runtime_error("decoder consumed nothing at byte " + std::to_string(pos));
      pos += used;
    }
  };
  for (std::size_t c : cuts) feed_to(c);
  feed_to(size);
  decoder.finish();
  out.set_size(sink.n);
}

template <class Decoder>
struct Decoded {
  EventBatch events;
  TriggerBatch triggers;
  DecodeStats stats;
  std::vector<Ev> ev() const { return events_of(events); }
  std::vector<Trig> tr() const { return triggers_of(triggers); }
};

// One-shot convenience: decode bytes (optionally split at cuts) with a fresh decoder.
template <class Decoder>
Decoded<Decoder> decode_bytes(Decoder decoder, const std::vector<std::uint8_t>& bytes,
                              const std::vector<std::size_t>& cuts = {}) {
  Decoded<Decoder> d;
  d.events = EventBatch::with_capacity(decode_capacity(decoder, bytes.data(), bytes.size()));
  decode_into(decoder, bytes.data(), bytes.size(), cuts, d.events, d.triggers);
  d.stats = decoder.stats();
  return d;
}

// Little-endian bytes of 16-bit words (EVT 3.0).
inline std::vector<std::uint8_t> le16_bytes(const std::vector<std::uint16_t>& words) {
  std::vector<std::uint8_t> out;
  for (std::uint16_t w : words) {
    out.push_back(static_cast<std::uint8_t>(w));
    out.push_back(static_cast<std::uint8_t>(w >> 8));
  }
  return out;
}
// Little-endian bytes of 32-bit words (EVT 2.0).
inline std::vector<std::uint8_t> le32_bytes(const std::vector<std::uint32_t>& words) {
  std::vector<std::uint8_t> out;
  for (std::uint32_t w : words) {
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::uint8_t>(w >> (8 * k)));
  }
  return out;
}

}  // namespace evlib::test
