#pragma once
// AEDAT 3.0 / 3.1 (cAER, libcaer): `#` header lines, then packets of a 28-byte little-endian
// header and eventCapacity slots of eventSize bytes (docs/formats.md 10). Polarity packets (type 1)
// become events, special packets (type 0) external-input edges in the trigger table; every other
// packet type is skipped by its size fields and counted.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"

namespace evlib::detail {

struct Aedat3Config {
  std::uint32_t width = 0;   // 0: unknown (no bounds check)
  std::uint32_t height = 0;
  bool flip_y = false;       // AEDAT 3.0 puts the origin bottom-left: y = height-1-y
  std::uint64_t stream_offset = 0;
};

// Packet header fields (docs/formats.md 10.2).
struct Aedat3PacketHeader {
  std::int16_t type = 0;
  std::int16_t source = 0;
  std::int32_t event_size = 0;
  std::int32_t ts_offset = 0;
  std::int32_t ts_overflow = 0;
  std::int32_t capacity = 0;
  std::int32_t number = 0;
  std::int32_t valid = 0;

  static constexpr std::size_t kBytes = 28;
  static Aedat3PacketHeader parse(const std::uint8_t* b) noexcept;
};

class Aedat3Decoder {
 public:
  static constexpr std::size_t kMaxEventsPerWord = 1;
  static constexpr std::size_t kWordBytes = 8;
  static constexpr bool kBoundFromSize = true;
  // Every event slot is at least 8 bytes (polarity events are exactly 8).
  static std::size_t count_upper_bound(const std::uint8_t*, std::size_t size) { return size / 8; }

  enum class Phase : std::uint8_t { kHeader, kRecords, kSkip, kDead };
  // Everything that crosses buffer boundaries, mid-packet included: a snapshot of it resumes
  // decoding at any fill boundary (the time index stores these). Trivially copyable on purpose.
  struct State {
    Phase phase = Phase::kHeader;
    std::uint8_t header[Aedat3PacketHeader::kBytes] = {};
    std::size_t header_len = 0;
    std::int16_t type = 0;            // of the packet being decoded
    std::int64_t ts_high = 0;         // eventTSOverflow << 31
    std::uint64_t records_left = 0;   // used slots still to decode
    std::uint64_t skip_left = 0;      // bytes to pass over (unused slots, skipped packets)
    std::uint64_t offset = 0;         // absolute offset of the next byte fed
    std::uint64_t packet_offset = 0;  // absolute offset of the current packet's header
    std::uint64_t record_offset = 0;  // absolute offset of the next record to decode
    std::uint64_t packets = 0;
    PartialWord<8> partial = {};
  };
  const State& state() const noexcept { return s_; }
  void restore(const State& state) noexcept { s_ = state; }

  explicit Aedat3Decoder(const Aedat3Config& config)
      : width_(config.width == 0 ? 0x8000 : config.width), height_(config.height == 0 ? 0x8000 : config.height),
        flip_y_(config.flip_y && config.height != 0) {
    s_.offset = config.stream_offset;
  }

  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers);
  void finish();
  const DecodeStats& stats() const noexcept { return stats_; }
  std::uint64_t packets() const noexcept { return s_.packets; }

 private:

  void start_packet();
  void end_records();
  template <class Sink>
  std::size_t decode_records(const std::uint8_t* bytes, std::size_t count, Sink& sink, TriggerBatch& triggers);
  void decode_special(std::uint32_t data, std::int64_t t, TriggerBatch& triggers);

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool flip_y_;
  DecodeStats stats_;
  State s_;
};

template <class Sink>
std::size_t Aedat3Decoder::feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t avail = size - pos;
    if (s_.phase == Phase::kHeader) {
      if (s_.header_len == 0) s_.packet_offset = s_.offset;
      const std::size_t take = std::min(Aedat3PacketHeader::kBytes - s_.header_len, avail);
      std::memcpy(s_.header + s_.header_len, data + pos, take);
      s_.header_len += take;
      pos += take;
      s_.offset += take;
      if (s_.header_len == Aedat3PacketHeader::kBytes) start_packet();
    } else if (s_.phase == Phase::kRecords) {
      // Only the bytes of the remaining used slots go to the record decoder.
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(s_.records_left * 8 - s_.partial.len, avail));
      const std::size_t used = feed_words<8>(s_.partial, data + pos, want, [&](const std::uint8_t* r, std::size_t n) {
        return decode_records(r, n, sink, triggers);
      });
      pos += used;
      s_.offset += used;
      if (s_.records_left == 0) {
        end_records();
      } else if (used < want) {
        break;  // the sink is full
      }
    } else if (s_.phase == Phase::kSkip) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(s_.skip_left, avail));
      pos += take;
      s_.offset += take;
      s_.skip_left -= take;
      if (s_.skip_left == 0) s_.phase = Phase::kHeader;
    } else {
      s_.offset += avail;  // kDead: the packet framing is lost
      pos = size;
    }
  }
  return pos;
}

template <class Sink>
std::size_t Aedat3Decoder::decode_records(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                          TriggerBatch& triggers) {
  std::size_t i = 0;
  if (s_.type == 1) {
    while (i < count && sink.room() != 0) {
      const std::size_t end = std::min(count, i + sink.room());  // one event per record at most
      for (; i < end; ++i) {
        const std::uint32_t d = load_le32(bytes + 8 * i);
        const std::int64_t t = s_.ts_high | (load_le32(bytes + 8 * i + 4) & 0x7FFFFFFFu);
        if ((d & 1) == 0) {
          ++stats_.invalid_events;
          continue;
        }
        const std::uint32_t x = d >> 17;
        std::uint32_t y = (d >> 2) & 0x7FFF;
        if (x < width_ && y < height_) [[likely]] {
          if (flip_y_) y = height_ - 1 - y;
          sink.emit(t, x, y, (d >> 1) & 1);
        } else {
          ++stats_.out_of_bounds;
          stats_.note_error(s_.record_offset + 8 * i, "AEDAT 3 polarity event beyond the sensor geometry");
        }
      }
    }
  } else {
    for (; i < count; ++i) {
      decode_special(load_le32(bytes + 8 * i), s_.ts_high | (load_le32(bytes + 8 * i + 4) & 0x7FFFFFFFu), triggers);
    }
  }
  s_.records_left -= i;
  s_.record_offset += 8 * i;
  stats_.words += i;
  return i;
}

}  // namespace evlib::detail
