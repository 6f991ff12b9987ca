#pragma once
// Prophesee EVT 2.0: 32-bit words, 6-bit time LSBs under a 28-bit TIME_HIGH (docs/formats.md section 2).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/prophesee/evt3.hpp"  // WordDecoderConfig

namespace evlib::detail {

class Evt2Decoder {
 public:
  static constexpr std::size_t kMaxEventsPerWord = 1;
  static constexpr bool kPushesDownFilter = true;
  static constexpr std::size_t kWordBytes = 4;
  static constexpr bool kBoundFromSize = true;
  static std::size_t count_upper_bound(const std::uint8_t*, std::size_t size) { return size / 4; }

  // Everything that crosses buffer boundaries: a snapshot of it resumes decoding anywhere
  // (the time index stores these). Trivially copyable on purpose.
  struct State {
    std::uint64_t next_offset = {};
    PartialWord<4> partial = {};
    bool have_th = false;
    std::uint32_t th = 0;
    std::int64_t loops = 0;
    std::int64_t shift = 0;
    std::int64_t base = 0;  // loops·2^34 + th·64 − shift
    std::uint32_t continued_expected = 0;  // CONTINUED words still due to the last OTHERS / IMU word
    bool group_is_imu = false;
    std::uint64_t group_offset = 0;
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

  explicit Evt2Decoder(const WordDecoderConfig& config)
      : width_(config.width), height_(config.height), shift_enabled_(config.metavision_time_shift),
        filter_(config.filter, config.width, config.height),
        filtered_(config.filter.active()),
        blocks_(config.simd ? usable_block_isa(config.max_block_isa) : BlockIsa::kScalar),
        block_words_(evt2_block_words(blocks_)) {
    s_.next_offset = config.stream_offset;
  }

  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<4>(s_.partial, data, size, [&](const std::uint8_t* words, std::size_t count) {
      return decode_words(words, count, sink, triggers);
    });
  }
  void finish() {
    stats_.trailing_bytes += s_.partial.len;
    if (s_.partial.len != 0) stats_.note_error(s_.next_offset, "truncated final word");
    s_.partial.len = 0;
    if (s_.continued_expected != 0) close_group();
  }
  const DecodeStats& stats() const noexcept { return stats_; }
  std::int64_t time_shift() const noexcept { return s_.shift; }

 private:
  template <class Sink>
  std::size_t decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink, TriggerBatch& triggers);
  template <class Sink>
  std::size_t decode_blocks(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink);
  template <class Sink>
  bool decode_scalar(const std::uint8_t* bytes, std::size_t& i, std::size_t end, Sink& sink, TriggerBatch& triggers);
  void on_time_high(std::uint32_t v, std::uint64_t offset);
  // A multi-word group ended before all its CONTINUED words arrived.
  void close_group() {
    if (s_.group_is_imu) {
      ++stats_.partial_groups;
      stats_.note_error(s_.group_offset, "IMU group cut short");
    }
    s_.continued_expected = 0;
  }
  void on_rare_word(std::uint32_t w, std::uint64_t offset, TriggerBatch& triggers);

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool shift_enabled_;
  const PushedFilter filter_;
  const bool filtered_;     // the filter excludes something: the block decoder applies it too
  const BlockIsa blocks_;  // kScalar: no block decoder (switched off, or none on this CPU)
  const std::size_t block_words_;
  DecodeStats stats_;
  State s_;
};

template <class Sink>
std::size_t Evt2Decoder::decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                      TriggerBatch& triggers) {
  std::size_t i = 0;
  while (!s_.have_th && i < count) {
    const std::uint32_t w = load_le32(bytes + 4 * i);
    if ((w >> 28) == 0x8) {
      on_time_high(w & 0x0FFFFFFF, s_.next_offset + 4 * i);
    } else {
      ++stats_.before_first_time_high;
    }
    ++i;
  }
  while (i < count) {
    std::size_t end = count;
    if (blocks_ != BlockIsa::kScalar) {
      // Blocks while they hold only CD and TIME_HIGH words; the scalar loop then takes one block.
      if (s_.continued_expected == 0) i += decode_blocks(bytes, i, count, sink);
      end = std::min(count, i + block_words_);
    }
    if (!decode_scalar(bytes, i, end, sink, triggers)) break;
  }
  stats_.words += i;
  s_.next_offset += 4 * i;
  return i;
}

template <class Sink>
std::size_t Evt2Decoder::decode_blocks(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink) {
  BlockColumns cols{sink.t, sink.x, sink.y, sink.p, sink.n};
  std::uint32_t th = s_.th;
  const std::int64_t epoch = s_.base - (static_cast<std::int64_t>(s_.th) << 6);
  const std::size_t done = evt2_blocks(blocks_, bytes + 4 * i, count - i, th, epoch, cols, sink.cap, width_, height_,
                                       filtered_ ? &filter_ : nullptr);
  sink.n = cols.n;
  s_.th = th;
  s_.base = epoch + (static_cast<std::int64_t>(th) << 6);
  return done;
}

// Words [i, end) one by one (the reference the block decoder must equal); false when the sink
// filled up first (i then stops at the first word not decoded).
template <class Sink>
bool Evt2Decoder::decode_scalar(const std::uint8_t* bytes, std::size_t& i, std::size_t end, Sink& sink,
                                TriggerBatch& triggers) {
  for (; i < end; ++i) {
    if (sink.room() < kMaxEventsPerWord) [[unlikely]] return false;
    const std::uint32_t w = load_le32(bytes + 4 * i);
    const std::uint32_t type = w >> 28;
    if (type <= 1) [[likely]] {
      if (s_.continued_expected != 0) [[unlikely]] close_group();
      const std::uint32_t x = (w >> 11) & 0x7FF, y = w & 0x7FF;
      const std::int64_t t = s_.base + ((w >> 22) & 63);
      if (filter_.accepts(t, x, y, type)) [[likely]] {
        sink.emit(t, x, y, type);
      } else if (x >= width_ || y >= height_) {  // otherwise filtered out on request
        ++stats_.out_of_bounds;
        stats_.note_error(s_.next_offset + 4 * i, "event beyond sensor geometry");
      }
    } else if (type == 0x8) {
      if (s_.continued_expected != 0) [[unlikely]] close_group();
      on_time_high(w & 0x0FFFFFFF, s_.next_offset + 4 * i);
    } else {
      on_rare_word(w, s_.next_offset + 4 * i, triggers);
    }
  }
  return true;
}

}  // namespace evlib::detail
