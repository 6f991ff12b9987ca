#pragma once
// Prophesee EVT 3.0: stateful 16-bit words (FORMATS.md section 4). A resumable state machine:
// feed() accepts any split of the byte stream and keeps time, row, vector base and pending
// OTHERS groups across calls.
#include <bit>
#include <cstddef>
#include <cstdint>

#include "evlib/metadata.hpp"
#include "formats/decoder_support.hpp"

namespace evlib::detail {

struct WordDecoderConfig {
  std::uint32_t width = 2048;   // events with x >= width or y >= height are dropped and counted
  std::uint32_t height = 2048;
  bool metavision_time_shift = false;  // subtract the offset derived from the first TIME_HIGH
  std::uint64_t stream_offset = 0;     // file offset of the first byte fed, for error reports
};

class Evt3Decoder {
 public:
  static constexpr std::size_t kMaxEventsPerWord = 12;
  static constexpr std::size_t kWordBytes = 2;
  static constexpr bool kBoundFromSize = false;  // 6 events/byte is too loose: count instead
  // Events a byte range can yield at most (ADDR_X words plus vector bits), without decoding.
  static std::size_t count_upper_bound(const std::uint8_t* data, std::size_t size);

  explicit Evt3Decoder(const WordDecoderConfig& config)
      : width_(config.width), height_(config.height), shift_enabled_(config.metavision_time_shift),
        next_offset_(config.stream_offset) {}

  // Decodes bytes into sink (and triggers). Returns the bytes consumed: all of them unless the
  // sink filled up, in which case the call stops on a word boundary and may be resumed.
  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<2>(partial_, data, size, [&](const std::uint8_t* words, std::size_t count) {
      return decode_words(words, count, sink, triggers);
    });
  }
  // Call once after the last byte: accounts for an incomplete final word or group.
  void finish() {
    stats_.trailing_bytes += partial_.len;
    if (partial_.len != 0) stats_.note_error(next_offset_, "truncated final word");
    partial_.len = 0;
    if (others_pending_) close_others_group();
  }
  const DecodeStats& stats() const noexcept { return stats_; }
  DecodeStats& stats() noexcept { return stats_; }
  // Time shift in effect (0 until the first TIME_HIGH is seen or when disabled).
  std::int64_t time_shift() const noexcept { return shift_; }
  bool have_time() const noexcept { return have_th_; }
  std::int64_t current_time() const noexcept { return t_; }

 private:
  // Why the current row cannot take CD events (consulted only when row_ok_ is 0).
  enum RowKind : std::uint8_t { kNoRow, kNonCdRow };

  template <class Sink>
  [[gnu::noinline]] std::size_t decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                             TriggerBatch& triggers);
  template <class Sink>
  void decode_rare_word(std::uint32_t w, std::uint64_t offset, Sink& sink, TriggerBatch& triggers);

  void on_time_high(std::uint32_t v, std::uint64_t offset);
  void on_others(std::uint32_t subtype, std::uint64_t offset) {
    if (others_pending_) close_others_group();
    others_pending_ = true;
    others_offset_ = offset;
    others_subtype_ = subtype;
    others_words_ = 0;
  }
  void on_continued(std::uint64_t offset) {
    if (!others_pending_) {
      ++stats_.orphan_continued;
      stats_.note_error(offset, "CONTINUED word without OTHERS");
      return;
    }
    if (++others_words_ == 3) close_others_group();
  }
  void close_others_group() {
    // Subtypes 0x000-0x009 may carry other CONTINUED patterns, and transport padding (MIPI
    // padding 0x01A, DUMMY 0x0FF) carries none (FORMATS.md 4.1, 4.4): neither is an error.
    const bool padding = others_subtype_ == 0x01A || others_subtype_ == 0x0FF;
    if (others_words_ != 3 && others_subtype_ > 0x009 && !padding) {
      ++stats_.partial_groups;
      stats_.note_error(others_offset_, "OTHERS group cut short");
    }
    ++stats_.monitoring_events;
    others_pending_ = false;
  }
  template <class Sink>
  void emit_vector(std::uint32_t mask, std::uint32_t span, Sink& sink, std::uint64_t offset);
  void count_row_drop(std::uint32_t n, std::uint64_t offset);
  void count_dropped_x(std::uint32_t row_ok, std::uint32_t y, std::uint64_t offset) {
    y_ = y;
    row_ok_ = row_ok;
    if (row_ok) {
      ++stats_.out_of_bounds;
      stats_.note_error(offset, "event beyond sensor width");
    } else {
      count_row_drop(1, offset);
    }
  }

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool shift_enabled_;
  std::uint64_t next_offset_;
  PartialWord<2> partial_;
  DecodeStats stats_;

  bool have_th_ = false;
  std::uint32_t th_ = 0;
  std::int64_t loops_ = 0;
  std::int64_t shift_ = 0;
  std::int64_t time_base_ = 0;  // loops·2^24 + th·4096 − shift
  std::int64_t t_ = 0;          // time_base_ + the last TIME_LOW
  std::uint32_t row_ok_ = 0;  // 1 when the last row word was an ADDR_Y inside the sensor
  RowKind row_kind_ = kNoRow;
  std::uint32_t y_ = 0;
  bool have_base_ = false;
  std::uint32_t base_x_ = 0;
  std::uint32_t base_p_ = 0;
  bool others_pending_ = false;
  std::uint32_t others_subtype_ = 0;
  std::uint32_t others_words_ = 0;
  std::uint64_t others_offset_ = 0;
};

// Packed uint16 column offsets of the set bits of a 4-bit mask, in increasing order.
inline constexpr std::uint64_t kNibbleOffsets[16] = {
    0x0000000000000000, 0x0000000000000000, 0x0000000000000001, 0x0000000000010000,
    0x0000000000000002, 0x0000000000020000, 0x0000000000020001, 0x0000000200010000,
    0x0000000000000003, 0x0000000000030000, 0x0000000000030001, 0x0000000300010000,
    0x0000000000030002, 0x0000000300020000, 0x0000000300020001, 0x0003000200010000};

// The shared columns of one vector word's events (12 slots; only the kept ones count).
inline void fill_slots(std::int64_t* t, std::uint16_t* y, std::uint8_t* p, std::int64_t tv, std::uint16_t yv,
                       std::uint8_t pv) {
  for (std::size_t k = 0; k < 12; ++k) t[k] = tv;
  for (std::size_t k = 0; k < 12; ++k) y[k] = yv;
  for (std::size_t k = 0; k < 12; ++k) p[k] = pv;
}

template <class Sink>
void Evt3Decoder::emit_vector(std::uint32_t mask, std::uint32_t span, Sink& sink, std::uint64_t offset) {
  const std::uint32_t base = base_x_;
  base_x_ += span;
  if (!have_base_) [[unlikely]] {
    if (mask != 0) {
      ++stats_.missing_vector_base;
      stats_.note_error(offset, "vector word without VECT_BASE_X");
    }
    return;
  }
  if (!row_ok_) [[unlikely]] {
    count_row_drop(static_cast<std::uint32_t>(std::popcount(mask)), offset);
    return;
  }
  if (base + span <= width_) [[likely]] {
    // Branch-free expansion: fill the 12 slots after n with the shared t, y, p, then write the
    // x of each nibble's set bits from a table and advance by the popcounts.
    const std::size_t n = sink.n;
    fill_slots(sink.t + n, sink.y + n, sink.p + n, t_, static_cast<std::uint16_t>(y_),
               static_cast<std::uint8_t>(base_p_));
    std::uint16_t* const xs = sink.x;
    std::size_t m = n;
    for (std::uint32_t nib = 0; nib < span; nib += 4) {
      const std::uint32_t bits = (mask >> nib) & 0xF;
      const std::uint64_t packed = (base + nib) * 0x0001000100010001ull + kNibbleOffsets[bits];
      std::memcpy(xs + m, &packed, sizeof packed);
      m += static_cast<std::size_t>(std::popcount(bits));
    }
    sink.n = m;
    return;
  }
  while (mask != 0) {
    const std::uint32_t x = base + static_cast<std::uint32_t>(std::countr_zero(mask));
    mask &= mask - 1;
    if (x < width_) {
      sink.emit(t_, x, y_, base_p_);
    } else {
      ++stats_.out_of_bounds;
      stats_.note_error(offset, "vector event beyond sensor width");
    }
  }
}

template <class Sink>
std::size_t Evt3Decoder::decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                      TriggerBatch& triggers) {
  std::size_t i = 0;
  // Everything before the first TIME_HIGH has no time base and is dropped (FORMATS.md 4.2 step 1).
  while (!have_th_ && i < count) {
    const std::uint32_t w = load_le16(bytes + 2 * i);
    if ((w >> 12) == 0x8) {
      on_time_high(w & 0xFFF, next_offset_ + 2 * i);
    } else {
      ++stats_.before_first_time_high;
    }
    ++i;
  }
  // The hot state lives in locals: stores through the uint8_t polarity column may alias any
  // member, which would force a reload of every member after every event.
  std::int64_t* const out_t = sink.t;
  std::uint16_t* const out_x = sink.x;
  std::uint16_t* const out_y = sink.y;
  std::uint8_t* const out_p = sink.p;
  const std::uint32_t width = width_, height = height_;
  std::size_t n = sink.n;
  std::int64_t t = t_;
  std::int64_t time_base = time_base_;
  std::uint32_t y = y_;
  std::uint32_t row_ok = row_ok_;
  bool others_open = others_pending_;
  while (i < count) {
    // Each word yields at most kMaxEventsPerWord events: decode a block that cannot overflow.
    const std::size_t room_words = (sink.cap - n) / kMaxEventsPerWord;
    if (room_words == 0) break;
    const std::size_t block_end = i + std::min(count - i, room_words);
    for (; i < block_end; ++i) {
      const std::uint32_t w = load_le16(bytes + 2 * i);
      const std::uint32_t low = w & 0x7FF;
      const std::uint32_t type = w >> 12;
      if (others_open && (type == 0x0 || type == 0x2 || type == 0x6)) [[unlikely]] {
        close_others_group();
        others_open = false;
      }
      switch (type) {
        case 0x2:  // EVT_ADDR_X: one event
          if (row_ok & static_cast<std::uint32_t>(low < width)) [[likely]] {
            out_t[n] = t;
            out_x[n] = static_cast<std::uint16_t>(low);
            out_y[n] = static_cast<std::uint16_t>(y);
            out_p[n] = static_cast<std::uint8_t>((w >> 11) & 1);
            ++n;
          } else {
            count_dropped_x(row_ok, y, next_offset_ + 2 * i);
          }
          break;
        case 0x0:  // EVT_ADDR_Y
          y = low;
          row_ok = low < height;
          break;
        case 0x6:  // EVT_TIME_LOW
          t = time_base + (w & 0xFFF);
          break;
        default:  // everything else: write the locals back, handle the word, reload
          sink.n = n;
          t_ = t;
          y_ = y;
          row_ok_ = row_ok;
          decode_rare_word(w, next_offset_ + 2 * i, sink, triggers);
          n = sink.n;
          t = t_;
          time_base = time_base_;
          y = y_;
          row_ok = row_ok_;
          others_open = others_pending_;
          break;
      }
    }
  }
  sink.n = n;
  t_ = t;
  y_ = y;
  row_ok_ = row_ok;
  stats_.words += i;
  next_offset_ += 2 * i;
  return i;
}

template <class Sink>
void Evt3Decoder::decode_rare_word(std::uint32_t w, std::uint64_t offset, Sink& sink, TriggerBatch& triggers) {
  const std::uint32_t v = w & 0xFFF;
  const std::uint32_t type = w >> 12;
  if (others_pending_ && type != 0x7 && type != 0xF && type != 0xE) close_others_group();
  switch (w >> 12) {
    case 0x4:  // VECT_12
      emit_vector(v, 12, sink, offset);
      break;
    case 0x5:  // VECT_8
      emit_vector(v & 0xFF, 8, sink, offset);
      break;
    case 0x3:  // VECT_BASE_X
      base_x_ = v & 0x7FF;
      base_p_ = v >> 11;
      have_base_ = true;
      break;
    case 0x8:
      on_time_high(v, offset);
      break;
    case 0xA:  // EXT_TRIGGER
      triggers.push_back(t_, static_cast<std::uint8_t>((v >> 8) & 0xF), static_cast<std::uint8_t>(v & 1));
      break;
    case 0x1:  // row address of non-CD (exposure measurement) events
      y_ = v & 0x7FF;
      row_ok_ = 0;
      row_kind_ = kNonCdRow;
      break;
    case 0xE:
      on_others(v, offset);
      break;
    case 0x7:
    case 0xF:
      on_continued(offset);
      break;
    default:
      ++stats_.unknown_words;
      stats_.note_error(offset, "reserved EVT3 word type");
      break;
  }
}

}  // namespace evlib::detail
