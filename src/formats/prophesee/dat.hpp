#pragma once
// Prophesee DAT: `% ` header, a type byte and a size byte, then 8-byte records (docs/formats.md 5).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/prophesee/block_decoders.hpp"

namespace evlib::detail {

struct DatConfig {
  std::uint32_t width = 0;   // 0: no bounds check (many DAT files carry no geometry)
  std::uint32_t height = 0;
  std::uint8_t event_type = 0x0C;  // 0x00 Event2d, 0x0C EventCD, 0x0E EventExtTrigger
  int version = 2;                  // 1: very old ATIS layout
  EventFilter filter;               // events that fail are never written (predicate pushdown)
  std::uint64_t stream_offset = 0;
  BlockIsa max_block_isa = BlockIsa::kAvx512;  // the widest block decoder (tests force narrower ones)
};

class DatDecoder {
 public:
  static constexpr std::size_t kMaxEventsPerWord = 1;
  static constexpr bool kPushesDownFilter = true;
  static constexpr std::size_t kWordBytes = 8;
  static constexpr bool kBoundFromSize = true;
  static std::size_t count_upper_bound(const std::uint8_t*, std::size_t size) { return size / 8; }

  // Everything that crosses buffer boundaries: a snapshot of it resumes decoding anywhere
  // (the time index stores these). Trivially copyable on purpose.
  struct State {
    std::uint64_t next_offset = {};
    PartialWord<8> partial = {};
    std::uint32_t last_t32 = 0;
    std::int64_t loops = 0;
  };
  const State& state() const noexcept { return s_; }
  void restore(const State& state) noexcept { s_ = state; }

  // Parallel decoding (io/parallel_chunks.hpp). A decoder started at any word boundary agrees
  // with the one that came from the start of the file, except for the time epoch, once it has
  // seen the first sync_prefix_bytes() of its input (`size` when they do not suffice).
  std::size_t sync_prefix_bytes(const std::uint8_t* data, std::size_t size) const;
  // What to add to the times of a decoder that started fresh and is now in state `fresh` so
  // that it continues the one whose state at the same place was `before`; nullopt when the two
  // states differ in more than the epoch.
  static std::optional<std::int64_t> epoch_offset(const State& before, const State& fresh);
  // Moves a state by such an offset (a whole number of epochs).
  static void shift_epoch(State& state, std::int64_t time_offset) noexcept;

  explicit DatDecoder(const DatConfig& config)
      : width_(config.width == 0 ? 0x10000 : config.width), height_(config.height == 0 ? 0x10000 : config.height),
        triggers_only_(config.event_type == 0x0E), version_(config.version),
        filter_(config.filter, width_, height_),
        filtered_(config.filter.active()),
        blocks_(!triggers_only_ && version_ >= 2 ? usable_block_isa(config.max_block_isa) : BlockIsa::kScalar),
        block_records_(dat_block_records(blocks_)) {
    s_.next_offset = config.stream_offset;
  }

  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<8>(s_.partial, data, size, [&](const std::uint8_t* records, std::size_t count) {
      return decode_records(records, count, sink, triggers);
    });
  }
  void finish() {
    stats_.trailing_bytes += s_.partial.len;
    if (s_.partial.len != 0) stats_.note_error(s_.next_offset, "truncated final record");
    s_.partial.len = 0;
  }
  const DecodeStats& stats() const noexcept { return stats_; }

 private:
  // 32-bit timestamps wrap every 71.6 min: unwrap when t drops by more than half the range.
  std::int64_t unwrap(std::uint32_t t32) noexcept {
    if (t32 < s_.last_t32 && s_.last_t32 - t32 > 0x80000000u) {
      s_.loops += std::int64_t{1} << 32;
      ++stats_.time_wraps;
    }
    s_.last_t32 = t32;
    return s_.loops + t32;
  }
  template <class Sink>
  std::size_t decode_records(const std::uint8_t* bytes, std::size_t count, Sink& sink, TriggerBatch& triggers);

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool triggers_only_;
  const int version_;
  const PushedFilter filter_;
  const bool filtered_;     // the filter excludes something: the block decoder applies it too
  const BlockIsa blocks_;  // kScalar: no block decoder (triggers, version 1, or none on this CPU)
  const std::size_t block_records_;
  DecodeStats stats_;
  State s_;
};

template <class Sink>
std::size_t DatDecoder::decode_records(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                       TriggerBatch& triggers) {
  std::size_t i = 0;
  if (triggers_only_) {
    for (; i < count; ++i) {
      const std::uint32_t w1 = load_le32(bytes + 8 * i + 4);
      triggers.push_back(unwrap(load_le32(bytes + 8 * i)), static_cast<std::uint8_t>(w1 >> 26),
                         static_cast<std::uint8_t>((w1 & 0xF) != 0));
    }
  } else {
    const auto decode_one = [&](std::size_t k, std::uint32_t x, std::uint32_t y, std::uint32_t p) {
      const std::int64_t t = unwrap(load_le32(bytes + 8 * k));
      if (filter_.accepts(t, x, y, p)) [[likely]] {
        sink.emit(t, x, y, p);
      } else if (x >= width_ || y >= height_) {  // otherwise filtered out on request
        ++stats_.out_of_bounds;
        stats_.note_error(s_.next_offset + 8 * k, "event beyond sensor geometry");
      }
    };
    // Blocks of at most the sink's room: dropped records leave room, so go on until the input or
    // the room runs out (feed() consumes everything unless the sink is full).
    while (i < count && sink.room() > 0) {
      std::size_t end = i + std::min(count - i, sink.room());
      if (blocks_ != BlockIsa::kScalar) {
        // Blocks until one holds a time wrap or an event outside the sensor; the scalar loop
        // then takes one block.
        BlockColumns cols{sink.t, sink.x, sink.y, sink.p, sink.n};
        i += dat_blocks(blocks_, bytes + 8 * i, count - i, s_.last_t32, s_.loops, cols, sink.cap, width_, height_,
                        filtered_ ? &filter_ : nullptr);
        sink.n = cols.n;
        end = i + std::min({count - i, sink.room(), block_records_});
      }
      if (version_ >= 2) [[likely]] {
        for (; i < end; ++i) {
          const std::uint32_t w1 = load_le32(bytes + 8 * i + 4);
          // Polarity is the 4-bit field, normalised (docs/formats.md 5.2, 16).
          decode_one(i, w1 & 0x3FFF, (w1 >> 14) & 0x3FFF, (w1 >> 28) != 0);
        }
      } else {
        for (; i < end; ++i) {
          const std::uint32_t w1 = load_le32(bytes + 8 * i + 4);
          decode_one(i, w1 & 0x1FF, (w1 >> 9) & 0xFF, (w1 >> 17) & 1);
        }
      }
    }
  }
  stats_.words += i;
  s_.next_offset += 8 * i;
  return i;
}

}  // namespace evlib::detail
