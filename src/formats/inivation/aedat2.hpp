#pragma once
// AEDAT 1.0 and 2.0 (jAER): `#` header lines, then big-endian (address, timestamp) records
// (docs/formats.md 9). 1.0 records are 6 bytes (int16 address), 2.0 records 8 bytes (int32 address).
//
// Coordinates (docs/formats.md 9.3, 16): evlib reports the top-left origin for every camera, i.e.
// both axes flipped relative to the raw address fields: x = W-1-x_field, y = H-1-y_field. jAER
// itself flips only x (its origin is bottom-left); tonic and libcaer flip both. DVS128 polarity is
// inverted in hardware (raw bit 0 = 0 means ON), as jAER's and libcaer's DVS128 code treat it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"

namespace evlib::detail {

enum class AedatLayout : std::uint8_t {
  kDvs128,  // 16-bit address: [15] special, [14:8] y, [7:1] x, [0] inverted polarity
  kDavis,   // 32-bit address: [31] APS/IMU, [30:22] y, [21:12] x, [11] polarity, [10] special
};

struct AedatCamera {
  std::string name;  // "dvs128", "davis240", "davis346", ...
  AedatLayout layout = AedatLayout::kDvs128;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

// A camera from a jAER chip class ("eu.seebetter.ini.chips.davis.DAVIS240C"), a hardware
// interface name ("DVS128-V1 0249") or an evlib camera name ("davis346"); nullopt if unknown.
std::optional<AedatCamera> aedat_camera_from_name(std::string_view name);
// The evlib camera names ReadOptions::aedat_camera accepts.
std::vector<std::string> aedat_camera_names();

struct Aedat2Config {
  AedatLayout layout = AedatLayout::kDvs128;
  std::uint32_t width = 128;   // geometry the address fields are flipped and bounded against
  std::uint32_t height = 128;
  std::uint64_t stream_offset = 0;  // file offset of the first record (for error offsets)
};

// Resumable decoder of RecordBytes-byte records (6: AEDAT 1.0, 8: AEDAT 2.0).
template <std::size_t RecordBytes>
class Aedat2Decoder {
  static_assert(RecordBytes == 6 || RecordBytes == 8);

 public:
  static constexpr std::size_t kMaxEventsPerWord = 1;
  static constexpr std::size_t kWordBytes = RecordBytes;
  static constexpr bool kBoundFromSize = true;
  static std::size_t count_upper_bound(const std::uint8_t*, std::size_t size) { return size / RecordBytes; }

  // Everything that crosses buffer boundaries: a snapshot of it resumes decoding anywhere (the
  // time index stores these). Trivially copyable on purpose.
  struct State {
    std::uint64_t next_offset = {};
    PartialWord<RecordBytes> partial = {};
    std::uint32_t last_t32 = 0;
    std::int64_t loops = 0;
  };
  const State& state() const noexcept { return s_; }
  void restore(const State& state) noexcept { s_ = state; }

  // Parallel decoding (io/parallel_chunks.hpp), as for DAT: every record carries its own 32-bit
  // time, so a decoder is in sync after one record (its unwrap reference), and the epochs of two
  // decoders at the same place differ by whole wraps.
  std::size_t sync_prefix_bytes(const std::uint8_t*, std::size_t size) const { return std::min(size, RecordBytes); }
  static std::optional<std::int64_t> epoch_offset(const State& a, const State& b) {
    if (a.next_offset != b.next_offset || a.partial.len != 0 || b.partial.len != 0 || a.last_t32 != b.last_t32) {
      return std::nullopt;
    }
    return a.loops - b.loops;  // in units of 2^32 already
  }
  static void shift_epoch(State& state, std::int64_t time_offset) noexcept { state.loops += time_offset; }

  explicit Aedat2Decoder(const Aedat2Config& config)
      : layout_(config.layout), width_(config.width), height_(config.height) {
    s_.next_offset = config.stream_offset;
  }

  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<RecordBytes>(s_.partial, data, size, [&](const std::uint8_t* records, std::size_t count) {
      return decode_records(records, count, sink, triggers);
    });
  }
  void finish() {
    stats_.trailing_bytes += s_.partial.len;
    if (s_.partial.len != 0) stats_.note_error(s_.next_offset, "truncated final AEDAT record");
    s_.partial.len = 0;
  }
  const DecodeStats& stats() const noexcept { return stats_; }

 private:
  static std::uint32_t load_be32(const std::uint8_t* b) noexcept {
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  }
  // 32-bit µs timestamps wrap every 71.6 min: a drop of more than half the range is a wrap;
  // smaller drops are jAER timestamp resets or jitter and are kept as they are (docs/formats.md 9.2).
  std::int64_t unwrap(std::uint32_t t32) noexcept {
    if (t32 < s_.last_t32 && s_.last_t32 - t32 > 0x80000000u) {
      s_.loops += std::int64_t{1} << 32;
      ++stats_.time_wraps;
    }
    s_.last_t32 = t32;
    return s_.loops + t32;
  }

  template <class Sink>
  void decode_one(std::uint32_t address, std::int64_t t, std::uint64_t offset, Sink& sink, TriggerBatch& triggers);

  // Decodes up to count records while the sink has room; returns the records consumed.
  template <class Sink>
  std::size_t decode_records(const std::uint8_t* bytes, std::size_t count, Sink& sink, TriggerBatch& triggers) {
    std::size_t i = 0;
    while (i < count && sink.room() != 0) {
      // Each record yields at most one event: a block as long as the room needs no further check.
      const std::size_t end = std::min(count, i + sink.room());
      for (; i < end; ++i) {
        const std::uint8_t* r = bytes + RecordBytes * i;
        const std::uint32_t address = RecordBytes == 8 ? load_be32(r) : (std::uint32_t{r[0]} << 8 | r[1]);
        const std::int64_t t = unwrap(load_be32(r + RecordBytes - 4));
        decode_one(address, t, s_.next_offset + RecordBytes * i, sink, triggers);
      }
    }
    stats_.words += i;
    s_.next_offset += RecordBytes * i;
    return i;
  }

  const AedatLayout layout_;
  const std::uint32_t width_;
  const std::uint32_t height_;
  DecodeStats stats_;
  State s_;
};

template <std::size_t RecordBytes>
template <class Sink>
void Aedat2Decoder<RecordBytes>::decode_one(std::uint32_t a, std::int64_t t, std::uint64_t offset, Sink& sink,
                                            TriggerBatch& triggers) {
  if (layout_ == AedatLayout::kDvs128) {
    if ((a & 0x80008000u) != 0) {  // external / sync input (bit 15; bit 31 in some 2.0 writers)
      triggers.push_back(t, 0, 1);
      return;
    }
    const std::uint32_t xf = (a >> 1) & 0x7F, yf = (a >> 8) & 0x7F;
    if (xf < width_ && yf < height_) [[likely]] {
      sink.emit(t, width_ - 1 - xf, height_ - 1 - yf, (~a) & 1);  // raw 0 = ON (hardware inversion)
    } else {
      ++stats_.out_of_bounds;
      stats_.note_error(offset, "AEDAT DVS128 address beyond the sensor geometry");
    }
    return;
  }
  if ((a & 0x80000000u) != 0) {  // APS (ADC) sample or IMU word: not decoded
    ++stats_.skipped_records;
    return;
  }
  if ((a & 0x400u) != 0) {
    // External input: jAER marks rising edges with low bits 3 and falling edges with 2; any other
    // code is a plain input pulse, recorded as a rising edge.
    triggers.push_back(t, 0, (a & 0x3u) == 2 ? 0 : 1);
    return;
  }
  const std::uint32_t xf = (a >> 12) & 0x3FF, yf = (a >> 22) & 0x1FF;
  if (xf < width_ && yf < height_) [[likely]] {
    sink.emit(t, width_ - 1 - xf, height_ - 1 - yf, (a >> 11) & 1);
  } else {
    ++stats_.out_of_bounds;
    stats_.note_error(offset, "AEDAT DAVIS address beyond the sensor geometry");
  }
}

}  // namespace evlib::detail
