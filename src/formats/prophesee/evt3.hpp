#pragma once
// Prophesee EVT 3.0: stateful 16-bit words (docs/formats.md section 4). A resumable state machine:
// feed() accepts any split of the byte stream and keeps time, row, vector base and pending
// OTHERS groups across calls.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/prophesee/block_decoders.hpp"

namespace evlib::detail {

struct WordDecoderConfig {
  std::uint32_t width = 2048;   // events with x >= width or y >= height are dropped and counted
  std::uint32_t height = 2048;
  bool metavision_time_shift = false;  // subtract the offset derived from the first TIME_HIGH
  std::uint64_t stream_offset = 0;     // file offset of the first byte fed, for error reports
  EventFilter filter;                  // events that fail are never written (predicate pushdown)
  bool simd = true;                    // the block decoders where the CPU has them (EVT 3.0 AVX-512, EVT 2.0 / 2.1)
  BlockIsa max_block_isa = BlockIsa::kAvx512;  // EVT 2.0 / 2.1: the widest block decoder (tests force narrower ones)
};

// The AVX-512 block decoder (evt3_simd.cpp): the hot loop's state and output columns.
struct Evt3BlockState {
  std::int64_t t;
  std::int64_t time_base;
  std::uint32_t y;
  std::uint32_t row_ok;
  std::uint32_t base_x;
  std::uint32_t base_p;
  bool have_base;
};
struct Evt3Columns {
  std::int64_t* t;
  std::uint16_t* x;
  std::uint16_t* y;
  std::uint8_t* p;
  std::size_t n;  // events written so far; the block may write up to kEvt3BlockRoom past it
};
inline constexpr std::size_t kEvt3BlockWords = 32;
inline constexpr std::size_t kEvt3BlockRoom = kEvt3BlockWords * 12 + 16;  // a vector word writes 16 slots
// Decodes blocks of 32 words from bytes (words of them) while each block holds only ADDR_Y /
// ADDR_X / TIME_LOW / VECT_BASE_X / VECT_12 / VECT_8 words whose events are all inside the
// sensor and the columns have kEvt3BlockRoom slots left (of capacity); returns the words
// decoded (a multiple of 32), leaving the rest to the scalar loop. width, height <= 0xFFFF.
std::size_t evt3_blocks_avx512(const std::uint8_t* bytes, std::size_t words, Evt3BlockState& state, Evt3Columns& out,
                               std::size_t capacity, std::uint32_t width, std::uint32_t height);
bool evt3_avx512_available();  // this CPU has AVX-512 F, BW, VL, VBMI2 and BITALG

class Evt3Decoder {
 public:
  // y values that mark why no CD row is current (consulted only when row_ok is 0): real rows
  // are 11-bit, so these never reach a column.
  static constexpr std::uint32_t kNoRowYet = 0xFFFF;     // no ADDR_Y since the stream started
  static constexpr std::uint32_t kNonCdRowBit = 0x8000;  // the last row word was type 0x1
  static constexpr std::size_t kMaxEventsPerWord = 12;
  static constexpr bool kPushesDownFilter = true;
  static constexpr std::size_t kWordBytes = 2;
  static constexpr bool kBoundFromSize = false;  // 6 events/byte is too loose: count instead
  // Events a byte range can yield at most (ADDR_X words plus vector bits), without decoding.
  static std::size_t count_upper_bound(const std::uint8_t* data, std::size_t size);

  // Everything that crosses buffer boundaries: a snapshot of it resumes decoding anywhere
  // (the time index stores these). Trivially copyable on purpose.
  struct State {
    std::uint64_t next_offset = {};
    PartialWord<2> partial = {};
    bool have_th = false;
    std::uint32_t th = 0;
    std::int64_t loops = 0;
    std::int64_t shift = 0;
    std::int64_t time_base = 0;  // loops·2^24 + th·4096 − shift
    std::int64_t t = 0;          // time_base_ + the last TIME_LOW
    std::uint32_t row_ok = 0;  // 1 when the last row word was an ADDR_Y inside the sensor
    std::uint32_t y = kNoRowYet;
    bool have_base = false;
    std::uint32_t base_x = 0;
    std::uint32_t base_p = 0;
    bool others_pending = false;
    std::uint32_t others_subtype = 0;
    std::uint32_t others_words = 0;
    std::uint64_t others_offset = 0;
  };
  const State& state() const noexcept { return s_; }
  // row_ok is relative to this decoder's rows (the sensor's, or its filter's): a snapshot from a
  // decoder with another filter (the time index is built unfiltered) says nothing about them.
  void restore(const State& state) noexcept {
    s_ = state;
    if (s_.y < kNonCdRowBit) s_.row_ok = filtered_ ? s_.y - filter_.y_lo < filter_.y_span : s_.y < height_;
  }

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

  // Vector bases advance without bound, so a column can pass 65535 on a sensor that claims to
  // be wider: columns are uint16, so the bound is never above 65536 (beyond it: out of bounds).
  static constexpr std::uint32_t kMaxColumns = 65536;
  explicit Evt3Decoder(const WordDecoderConfig& config)
      : width_(std::min(config.width, kMaxColumns)), height_(std::min(config.height, kMaxColumns)),
        shift_enabled_(config.metavision_time_shift),
        filter_(config.filter, std::min(config.width, kMaxColumns), std::min(config.height, kMaxColumns)),
        filtered_(config.filter.active()),
        simd_(config.simd && evt3_avx512_available()) {
    s_.next_offset = config.stream_offset;
  }

  // Decodes bytes into sink (and triggers). Returns the bytes consumed: all of them unless the
  // sink filled up, in which case the call stops on a word boundary and may be resumed.
  template <class Sink>
  std::size_t feed(const std::uint8_t* data, std::size_t size, Sink& sink, TriggerBatch& triggers) {
    return feed_words<2>(s_.partial, data, size, [&](const std::uint8_t* words, std::size_t count) {
      return decode_words(words, count, sink, triggers);
    });
  }
  // Call once after the last byte: accounts for an incomplete final word or group.
  void finish() {
    stats_.trailing_bytes += s_.partial.len;
    if (s_.partial.len != 0) stats_.note_error(s_.next_offset, "truncated final word");
    s_.partial.len = 0;
    if (s_.others_pending) close_others_group();
  }
  const DecodeStats& stats() const noexcept { return stats_; }
  DecodeStats& stats() noexcept { return stats_; }
  // Time shift in effect (0 until the first TIME_HIGH is seen or when disabled).
  std::int64_t time_shift() const noexcept { return s_.shift; }
  bool have_time() const noexcept { return s_.have_th; }
  std::int64_t current_time() const noexcept { return s_.t; }

 private:

  template <class Sink>
  [[gnu::noinline]] std::size_t decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                             TriggerBatch& triggers);
  template <bool kFiltered, class Sink>
  std::size_t decode_run(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink,
                         TriggerBatch& triggers);
  // The part of the state the hot loop keeps in locals (and the block decoder works on).
  Evt3BlockState hot_state() const noexcept {
    return {s_.t, s_.time_base, s_.y, s_.row_ok, s_.base_x, s_.base_p, s_.have_base};
  }
  void set_hot_state(const Evt3BlockState& h) noexcept {
    s_.t = h.t;
    s_.time_base = h.time_base;
    s_.y = h.y;
    s_.row_ok = h.row_ok;
    s_.base_x = h.base_x;
    s_.base_p = h.base_p;
    s_.have_base = h.have_base;
  }
  template <class Sink>
  std::size_t decode_rare_word(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink,
                               TriggerBatch& triggers);
  // Takes the CONTINUED words of a pending OTHERS group from bytes[i, count); returns how many.
  std::size_t take_continued(const std::uint8_t* bytes, std::size_t i, std::size_t count);

  void on_time_high(std::uint32_t v, std::uint64_t offset);
  void on_others(std::uint32_t subtype, std::uint64_t offset) {
    if (s_.others_pending) close_others_group();
    s_.others_pending = true;
    s_.others_offset = offset;
    s_.others_subtype = subtype;
    s_.others_words = 0;
  }
  void on_continued(std::uint64_t offset) {
    if (!s_.others_pending) {
      ++stats_.orphan_continued;
      stats_.note_error(offset, "CONTINUED word without OTHERS");
      return;
    }
    if (++s_.others_words == 3) close_others_group();
  }
  void close_others_group() {
    // Subtypes 0x000-0x009 may carry other CONTINUED patterns, and transport padding (MIPI
    // padding 0x01A, DUMMY 0x0FF) carries none (docs/formats.md 4.2 step 9, 4.4): neither is an error.
    const bool padding = s_.others_subtype == 0x01A || s_.others_subtype == 0x0FF;
    if (s_.others_words != 3 && s_.others_subtype > 0x009 && !padding) {
      ++stats_.partial_groups;
      stats_.note_error(s_.others_offset, "OTHERS group cut short");
    }
    ++stats_.monitoring_events;
    s_.others_pending = false;
  }
  template <class Sink>
  void emit_vector(std::uint32_t mask, std::uint32_t span, Sink& sink, std::uint64_t offset);
  void count_row_drop(std::uint32_t n, std::uint64_t offset);
  // An ADDR_X event the fast test rejected: corrupt (outside the sensor), or filtered out.
  void count_dropped_x(std::uint32_t x, std::uint64_t offset) {
    if (!s_.row_ok && !row_filtered_out()) {
      count_row_drop(1, offset);
    } else if (x >= width_) {  // counted whether or not the filter wanted the row
      ++stats_.out_of_bounds;
      stats_.note_error(offset, "event beyond sensor width");
    }
  }
  // A valid CD row that only the filter's region rejects (its events may still be corrupt).
  bool row_filtered_out() const noexcept {
    return s_.y != kNoRowYet && !(s_.y & kNonCdRowBit) && s_.y < height_;
  }
  // The x span an event of polarity p may fall in at time t (0 when filtered out).
  std::uint32_t x_span_for(std::int64_t t, std::uint32_t p) const noexcept {
    return filter_.t_in(t) && filter_.p_in(p) ? filter_.x_span : 0;
  }

  const std::uint32_t width_;
  const std::uint32_t height_;
  const bool shift_enabled_;
  const PushedFilter filter_;
  const bool filtered_;
  const bool simd_;
  DecodeStats stats_;
  State s_;

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
  const std::uint32_t base = s_.base_x;
  s_.base_x += span;
  if (!s_.have_base) [[unlikely]] {
    if (mask != 0) {
      ++stats_.missing_vector_base;
      stats_.note_error(offset, "vector word without VECT_BASE_X");
    }
    return;
  }
  if (!s_.row_ok) [[unlikely]] {
    if (!row_filtered_out()) {
      count_row_drop(static_cast<std::uint32_t>(std::popcount(mask)), offset);
    } else if (base + span > width_) {
      // The row is filtered out, but events past the sensor edge are corrupt all the same.
      for (; mask != 0; mask &= mask - 1) {
        if (base + static_cast<std::uint32_t>(std::countr_zero(mask)) >= width_) {
          ++stats_.out_of_bounds;
          stats_.note_error(offset, "vector event beyond sensor width");
        }
      }
    }
    return;
  }
  const std::uint32_t x_span = x_span_for(s_.t, s_.base_p);
  if (base - filter_.x_lo < x_span && base + span <= filter_.x_lo + x_span) [[likely]] {
    // Branch-free expansion: fill the 12 slots after n with the shared t, y, p, then write the
    // x of each nibble's set bits from a table and advance by the popcounts.
    const std::size_t n = sink.n;
    fill_slots(sink.t + n, sink.y + n, sink.p + n, s_.t, static_cast<std::uint16_t>(s_.y),
               static_cast<std::uint8_t>(s_.base_p));
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
    if (x >= width_) {
      ++stats_.out_of_bounds;
      stats_.note_error(offset, "vector event beyond sensor width");
    } else if (x - filter_.x_lo < x_span) {
      sink.emit(s_.t, x, s_.y, s_.base_p);
    }
  }
}

template <class Sink>
std::size_t Evt3Decoder::decode_words(const std::uint8_t* bytes, std::size_t count, Sink& sink,
                                      TriggerBatch& triggers) {
  std::size_t i = 0;
  // Everything before the first TIME_HIGH has no time base and is dropped (docs/formats.md 4.2 step 1).
  if (!s_.have_th) {
    const std::size_t high = find_word_type(bytes, 0, count, 0x8);
    stats_.before_first_time_high += high;
    i = high;
    if (high < count) {
      on_time_high(load_le16(bytes + 2 * high) & 0xFFF, s_.next_offset + 2 * high);
      ++i;
    }
  }
  // An OTHERS group cut by the previous buffer's end: its CONTINUED words come first.
  if (s_.others_pending) i += take_continued(bytes, i, count);
  i = filtered_ ? decode_run<true>(bytes, i, count, sink, triggers) : decode_run<false>(bytes, i, count, sink, triggers);
  stats_.words += i;
  s_.next_offset += 2 * i;
  return i;
}

// The hot loop. The state lives in locals: stores through the uint8_t polarity column may alias
// any member, which would force a reload of every member after every event. kFiltered adds the
// pushed-down predicate: the row test then uses the region's y range and the x test a per-
// polarity span that is zero while t is outside the time window; without a filter both are the
// plain sensor bounds and the loop stays as lean as possible.
template <bool kFiltered, class Sink>
std::size_t Evt3Decoder::decode_run(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink,
                                    TriggerBatch& triggers) {
  std::int64_t* const out_t = sink.t;
  std::uint16_t* const out_x = sink.x;
  std::uint16_t* const out_y = sink.y;
  std::uint8_t* const out_p = sink.p;
  std::size_t n = sink.n;
  const Evt3BlockState start = hot_state();
  std::int64_t t = start.t, time_base = start.time_base;
  std::uint32_t y = start.y, row_ok = start.row_ok, base_x = start.base_x, base_p = start.base_p;
  bool have_base = start.have_base;
  const auto locals = [&] { return Evt3BlockState{t, time_base, y, row_ok, base_x, base_p, have_base}; };
  const auto set_locals = [&](const Evt3BlockState& h) {
    t = h.t;
    time_base = h.time_base;
    y = h.y;
    row_ok = h.row_ok;
    base_x = h.base_x;
    base_p = h.base_p;
    have_base = h.have_base;
  };
  const std::uint32_t x_lo = kFiltered ? filter_.x_lo : 0;
  const std::uint32_t y_lo = kFiltered ? filter_.y_lo : 0;
  const std::uint32_t y_span = kFiltered ? filter_.y_span : height_;
  const std::uint32_t p_span_off = kFiltered ? (filter_.p_in(0) ? filter_.x_span : 0) : width_;
  const std::uint32_t p_span_on = kFiltered ? (filter_.p_in(1) ? filter_.x_span : 0) : width_;
  std::uint32_t t_mask = kFiltered ? 0u - static_cast<std::uint32_t>(filter_.t_in(t)) : ~0u;
  while (i < count) {
    if constexpr (!kFiltered) {
      if (simd_ && count - i >= kEvt3BlockWords && sink.cap - n >= kEvt3BlockRoom) {
        Evt3BlockState st = locals();
        Evt3Columns cols{out_t, out_x, out_y, out_p, n};
        i += evt3_blocks_avx512(bytes + 2 * i, count - i, st, cols, sink.cap, std::min(width_, 0xFFFFu),
                                std::min(height_, 0xFFFFu));
        n = cols.n;
        set_locals(st);
      }
    }
    // Each word yields at most kMaxEventsPerWord events: decode a block that cannot overflow
    // (with the block decoder, only the 32 words it left to this loop).
    const std::size_t room_words = (sink.cap - n) / kMaxEventsPerWord;
    if (room_words == 0) break;
    std::size_t block_end = i + std::min(count - i, room_words);
    if (!kFiltered && simd_) block_end = std::min(block_end, i + kEvt3BlockWords);
    for (; i < block_end; ++i) {
      const std::uint32_t w = load_le16(bytes + 2 * i);
      const std::uint32_t low = w & 0x7FF;
      const std::uint32_t type = w >> 12;
      // An if-chain in order of frequency, not a switch: a jump table's one indirect branch is
      // predicted worse than these few conditional ones.
      if (type == 0x2) {  // EVT_ADDR_X: one event
        const std::uint32_t span = ((w & 0x800) ? p_span_on : p_span_off) & t_mask;
        if (row_ok & static_cast<std::uint32_t>(low - x_lo < span)) [[likely]] {
          out_t[n] = t;
          out_x[n] = static_cast<std::uint16_t>(low);
          out_y[n] = static_cast<std::uint16_t>(y);
          out_p[n] = static_cast<std::uint8_t>((w >> 11) & 1);
          ++n;
        } else {
          s_.y = y;
          s_.row_ok = row_ok;
          count_dropped_x(low, s_.next_offset + 2 * i);
        }
        continue;
      }
      if (type == 0x0) {  // EVT_ADDR_Y
        y = low;
        row_ok = low - y_lo < y_span;
        continue;
      }
      if (type - 0x4 < 2) {  // VECT_12, VECT_8
        // Vectors carry most events of busy scenes: expanded here, on the locals, when the
        // whole span is kept (the common case); emit_vector() sorts out the rest.
        const std::uint32_t span = type == 0x4 ? 12 : 8;
        const std::uint32_t mask = w & (type == 0x4 ? 0xFFFu : 0xFFu);
        const std::uint32_t x_span = (base_p ? p_span_on : p_span_off) & t_mask;
        if (have_base & (row_ok != 0) & (base_x - x_lo < x_span) & (base_x + span <= x_lo + x_span)) [[likely]] {
          fill_slots(out_t + n, out_y + n, out_p + n, t, static_cast<std::uint16_t>(y), static_cast<std::uint8_t>(base_p));
          for (std::uint32_t nib = 0; nib < span; nib += 4) {
            const std::uint32_t bits = (mask >> nib) & 0xF;
            const std::uint64_t packed = (base_x + nib) * 0x0001000100010001ull + kNibbleOffsets[bits];
            std::memcpy(out_x + n, &packed, sizeof packed);
            n += static_cast<std::size_t>(std::popcount(bits));
          }
          base_x += span;
          continue;
        }
      } else if (type == 0x6) {  // EVT_TIME_LOW
        t = time_base + (w & 0xFFF);
        if constexpr (kFiltered) t_mask = 0u - static_cast<std::uint32_t>(filter_.t_in(t));
        continue;
      } else if (type == 0x3) {  // VECT_BASE_X
        base_x = low;
        base_p = (w >> 11) & 1;
        have_base = true;
        continue;
      }
      // Everything else: write the locals back, handle the word, reload.
      sink.n = n;
      set_hot_state(locals());
      i += decode_rare_word(bytes, i, count, sink, triggers);
      n = sink.n;
      set_locals(hot_state());
      if constexpr (kFiltered) t_mask = 0u - static_cast<std::uint32_t>(filter_.t_in(t));
    }
  }
  sink.n = n;
  set_hot_state(locals());
  return i;
}

// Returns the extra words it consumed (the CONTINUED words of an OTHERS group).
template <class Sink>
std::size_t Evt3Decoder::decode_rare_word(const std::uint8_t* bytes, std::size_t i, std::size_t count, Sink& sink,
                                          TriggerBatch& triggers) {
  const std::uint32_t w = load_le16(bytes + 2 * i);
  const std::uint64_t offset = s_.next_offset + 2 * i;
  const std::uint32_t v = w & 0xFFF;
  switch (w >> 12) {
    case 0x4:  // VECT_12
      emit_vector(v, 12, sink, offset);
      break;
    case 0x5:  // VECT_8
      emit_vector(v & 0xFF, 8, sink, offset);
      break;
    case 0x3:  // VECT_BASE_X
      s_.base_x = v & 0x7FF;
      s_.base_p = v >> 11;
      s_.have_base = true;
      break;
    case 0x8:
      on_time_high(v, offset);
      break;
    case 0xA:  // EXT_TRIGGER
      triggers.push_back(s_.t, static_cast<std::uint8_t>((v >> 8) & 0xF), static_cast<std::uint8_t>(v & 1));
      break;
    case 0x1:  // row address of non-CD (exposure measurement) events
      s_.y = (v & 0x7FF) | kNonCdRowBit;
      s_.row_ok = 0;
      break;
    case 0xE:
      on_others(v, offset);
      return take_continued(bytes, i + 1, count);
    case 0x7:
    case 0xF:
      on_continued(offset);
      break;
    default:
      ++stats_.unknown_words;
      stats_.note_error(offset, "reserved EVT3 word type");
      break;
  }
  return 0;
}

}  // namespace evlib::detail
