#pragma once
// Prophesee EVT 2.1: 64-bit words, a 32-bit validity mask per CD word (docs/formats.md section 3).
// The two 32-bit halves come in "little" or "legacy" order (3.1).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/prophesee/evt3.hpp"  // WordDecoderConfig

namespace evlib::detail {

class Evt21Decoder {
 public:
  static constexpr std::size_t kMaxEventsPerWord = 32;
  static constexpr bool kPushesDownFilter = true;
  static constexpr std::size_t kWordBytes = 8;
  static constexpr bool kBoundFromSize = false;
  // Events whole words can hold at most: the popcount of each CD word's mask (the layout tells
  // which half that is; the other half's bits would overstate it about fivefold).
  std::size_t count_upper_bound(const std::uint8_t* data, std::size_t size) const;

  // Everything that crosses buffer boundaries: a snapshot of it resumes decoding anywhere
  // (the time index stores these). Trivially copyable on purpose.
  struct State {
    std::uint64_t next_offset = {};
    PartialWord<8> partial = {};
    bool have_th = false;
    std::uint32_t th = 0;
    std::int64_t loops = 0;
    std::int64_t shift = 0;
    std::int64_t base = 0;
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

  Evt21Decoder(const WordDecoderConfig& config, bool legacy_layout)
      : width_(config.width), height_(config.height), shift_enabled_(config.metavision_time_shift),
        legacy_(legacy_layout), filter_(config.filter, config.width, config.height), filtered_(config.filter.active()),
        blocks_(block_isa(config)) {
    s_.next_offset = config.stream_offset;
  }

  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<8>(s_.partial, data, size, [&](const std::uint8_t* words, std::size_t count) {
      return decode_words(words, count, sink, triggers);
    });
  }
  void finish() {
    stats_.trailing_bytes += s_.partial.len;
    if (s_.partial.len != 0) stats_.note_error(s_.next_offset, "truncated final word");
    s_.partial.len = 0;
  }
  const DecodeStats& stats() const noexcept { return stats_; }

  // Which half-word order the first bytes of a stream suggest: 1 legacy, 0 little, -1 unknown.
  static int guess_legacy_layout(const std::uint8_t* data, std::size_t size);

 private:
  template <class Sink>
  std::size_t decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink, TriggerBatch& triggers);
  template <class Sink>
  std::size_t decode_blocks(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink);
  void on_time_high(std::uint32_t v, std::uint64_t offset);
  void on_rare_word(std::uint32_t h, std::uint32_t l, std::uint64_t offset, TriggerBatch& triggers);
  // Filtered decoding has an AVX-512 block path only.
  static BlockIsa block_isa(const WordDecoderConfig& config) {
    if (!config.simd) return BlockIsa::kScalar;
    const BlockIsa isa = usable_block_isa(config.max_block_isa);
    return config.filter.active() && isa != BlockIsa::kAvx512 ? BlockIsa::kScalar : isa;
  }

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool shift_enabled_;
  const bool legacy_;
  const PushedFilter filter_;
  const bool filtered_;  // the filter excludes something: the block decoder applies it too
  const BlockIsa blocks_;  // kScalar: no block decoder (none on this CPU, or a filter without AVX-512)
  DecodeStats stats_;
  State s_;
};

template <class Sink>
std::size_t Evt21Decoder::decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                       TriggerBatch& triggers) {
  std::size_t i = 0;
  for (; i < count; ++i) {
    if (blocks_ != BlockIsa::kScalar && s_.have_th) {
      // Words while they are in-sensor CD words and rising TIME_HIGHs; this loop takes the next.
      i += decode_blocks(bytes, i, count, sink);
      if (i == count) break;
    }
    if (sink.room() < kMaxEventsPerWord) [[unlikely]] break;
    const std::uint32_t a = load_le32(bytes + 8 * i), b = load_le32(bytes + 8 * i + 4);
    const std::uint32_t h = legacy_ ? a : b, l = legacy_ ? b : a;
    const std::uint32_t type = h >> 28;
    if (!s_.have_th && type != 0x8) [[unlikely]] {
      ++stats_.before_first_time_high;
      continue;
    }
    if (type <= 1) [[likely]] {
      const std::uint32_t xb = (h >> 11) & 0x7FF, y = h & 0x7FF;
      const std::int64_t t = s_.base + ((h >> 22) & 63);
      std::uint32_t mask = l;
      const bool word_ok = filter_.y_in(y) && filter_.p_in(type) && filter_.t_in(t);
      if (word_ok && filter_.x_in(xb) && xb + 32 <= filter_.x_lo + filter_.x_span) [[likely]] {
        while (mask != 0) {
          sink.emit(t, xb + static_cast<std::uint32_t>(std::countr_zero(mask)), y, type);
          mask &= mask - 1;
        }
      } else {
        while (mask != 0) {
          const std::uint32_t x = xb + static_cast<std::uint32_t>(std::countr_zero(mask));
          mask &= mask - 1;
          if (x >= width_ || y >= height_) {
            ++stats_.out_of_bounds;
            stats_.note_error(s_.next_offset + 8 * i, "event beyond sensor geometry");
          } else if (word_ok && filter_.x_in(x)) {
            sink.emit(t, x, y, type);
          }
        }
      }
    } else if (type == 0x8) {
      on_time_high(h & 0x0FFFFFFF, s_.next_offset + 8 * i);
    } else {
      on_rare_word(h, l, s_.next_offset + 8 * i, triggers);
    }
  }
  stats_.words += i;
  s_.next_offset += 8 * i;
  return i;
}

template <class Sink>
std::size_t Evt21Decoder::decode_blocks(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink) {
  BlockColumns cols{sink.t, sink.x, sink.y, sink.p, sink.n};
  std::uint32_t th = s_.th;
  const std::int64_t epoch = s_.base - (static_cast<std::int64_t>(s_.th) << 6);
  const std::size_t done =
      evt21_blocks(blocks_, bytes + 8 * i, count - i, legacy_, th, epoch, cols, sink.cap, width_, height_, filtered_ ? &filter_ : nullptr);
  sink.n = cols.n;
  s_.th = th;
  s_.base = epoch + (static_cast<std::int64_t>(th) << 6);
  return done;
}

}  // namespace evlib::detail
