#pragma once
// Pieces shared by the word decoders: the column sink they append to, little-endian loads,
// and the carry of a partial word across buffer boundaries.
#include <algorithm>
#include <cstddef>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "evlib/event_batch.hpp"
#include "evlib/filter.hpp"
#include "evlib/metadata.hpp"

namespace evlib::detail {

// Appends events to preallocated columns without bounds checks. The decoders check room() once
// per input word (a word yields at most a known number of events), never once per event.
struct ColumnSink {
  std::int64_t* t;
  std::uint16_t* x;
  std::uint16_t* y;
  std::uint8_t* p;
  std::size_t n;
  std::size_t cap;

  static ColumnSink over(EventBatch& batch) {
    return {batch.t_data(), batch.x_data(), batch.y_data(), batch.p_data(), batch.size(), batch.capacity()};
  }
  std::size_t room() const noexcept { return cap - n; }
  void emit(std::int64_t time, std::uint32_t px, std::uint32_t py, std::uint32_t pol) noexcept {
    t[n] = time;
    x[n] = static_cast<std::uint16_t>(px);
    y[n] = static_cast<std::uint16_t>(py);
    p[n] = static_cast<std::uint8_t>(pol);
    ++n;
  }
};

// An EventFilter clipped to the sensor geometry, in the form the decode loops test: unsigned
// offset-and-span comparisons (one compare per axis, no branch for the lower bound).
struct PushedFilter {
  std::uint32_t x_lo = 0, x_span = 0, y_lo = 0, y_span = 0;
  std::uint32_t keep_p = 3;
  std::int64_t t_lo = 0;
  std::uint64_t t_span = 0;

  PushedFilter(const EventFilter& f, std::uint32_t width, std::uint32_t height)
      : x_lo(f.x0), x_span(span(f.x0, std::min(f.x1, width))), y_lo(f.y0), y_span(span(f.y0, std::min(f.y1, height))),
        keep_p(f.polarities & 3u), t_lo(f.t0),
        t_span(f.t1 > f.t0 ? static_cast<std::uint64_t>(f.t1) - static_cast<std::uint64_t>(f.t0) : 0) {}

  bool x_in(std::uint32_t x) const noexcept { return x - x_lo < x_span; }
  bool y_in(std::uint32_t y) const noexcept { return y - y_lo < y_span; }
  bool p_in(std::uint32_t p) const noexcept { return (keep_p >> p) & 1u; }
  bool t_in(std::int64_t t) const noexcept {
    return static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(t_lo) < t_span;
  }
  // All four tests evaluated and joined bitwise, on purpose: no branch per event (clang warns of
  // bitwise operators on bools; the code GCC makes of it is the decoders' measured one).
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wbitwise-instead-of-logical"
#endif
  bool accepts(std::int64_t t, std::uint32_t x, std::uint32_t y, std::uint32_t p) const noexcept {
    return x_in(x) & y_in(y) & p_in(p) & t_in(t);
  }
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

 private:
  static std::uint32_t span(std::uint32_t lo, std::uint32_t hi) { return hi > lo ? hi - lo : 0; }
};

inline std::uint16_t load_le16(const std::uint8_t* b) noexcept {
  std::uint16_t v;
  std::memcpy(&v, b, 2);
  return v;  // evlib targets little-endian hosts (checked in CMake)
}
inline std::uint32_t load_le32(const std::uint8_t* b) noexcept {
  std::uint32_t v;
  std::memcpy(&v, b, 4);
  return v;
}
inline std::uint64_t load_le64(const std::uint8_t* b) noexcept {
  std::uint64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

// The first of the 16-bit words [i, count) whose top four bits are `type`, or count.
// Resynchronising scans and the skip to the first EVT 3.0 TIME_HIGH search hundreds of
// kilobytes this way instead of branching on every word: 16 words a step with AVX2, else four
// at a time in a 64-bit register (a lane of (w & 0xF000) ^ (type << 12) is zero exactly for
// such a word, and its top bit after subtracting one per lane marks it; a borrow only reaches
// lanes above the first zero one).
inline std::size_t find_word_type(const std::uint8_t* bytes, std::size_t i, std::size_t count, std::uint32_t type) noexcept {
#ifdef __AVX2__
  const __m256i want = _mm256_set1_epi16(static_cast<short>(type));
  for (; i + 16 <= count; i += 16) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 2 * i));
    const unsigned hits = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_srli_epi16(w, 12), want)));
    if (hits != 0) return i + static_cast<std::size_t>(std::countr_zero(hits)) / 2;
  }
#endif
  constexpr std::uint64_t kTop = 0xF000F000F000F000ull, kLow = 0x0001000100010001ull, kHigh = 0x8000800080008000ull;
  const std::uint64_t want_lanes = kLow * (std::uint64_t{type} << 12);
  for (; i + 4 <= count; i += 4) {
    const std::uint64_t y = (load_le64(bytes + 2 * i) & kTop) ^ want_lanes;  // lanes: 0, or bits 12..15 only
    const std::uint64_t zero = (y - kLow) & ~y & kHigh;
    if (zero != 0) return i + static_cast<std::size_t>(std::countr_zero(zero)) / 16;
  }
  for (; i < count; ++i) {
    if ((load_le16(bytes + 2 * i) >> 12) == type) return i;
  }
  return count;
}

// Bytes of a word that straddles two input buffers.
template <std::size_t N>
struct PartialWord {
  std::uint8_t bytes[N] = {};
  std::size_t len = 0;
};

// Feeds an arbitrary byte range to decode_words(const uint8_t* words, size_t count) -> words
// processed (fewer than count when the sink is full). Returns the bytes consumed; an incomplete
// tail word is consumed into `partial` and completed by the next call.
template <std::size_t N, class DecodeWords>
std::size_t feed_words(PartialWord<N>& partial, const std::uint8_t* data, std::size_t size,
                       DecodeWords&& decode_words) {
  std::size_t used = 0;
  if (partial.len != 0) {
    const std::size_t take = std::min(N - partial.len, size);
    if (partial.len + take < N) {
      std::memcpy(partial.bytes + partial.len, data, take);
      partial.len += take;
      return size;
    }
    std::uint8_t word[N];
    std::memcpy(word, partial.bytes, partial.len);
    std::memcpy(word + partial.len, data, take);
    if (decode_words(word, std::size_t{1}) == 0) return 0;
    partial.len = 0;
    used = take;
  }
  const std::size_t count = (size - used) / N;
  const std::size_t done = decode_words(data + used, count);
  used += done * N;
  if (done < count) return used;
  const std::size_t rest = size - used;
  std::memcpy(partial.bytes, data + used, rest);
  partial.len = rest;
  return size;
}

// EVT 2.0 / 2.1 TIME_HIGH word (28 bits of 64 µs): the first one starts the clock (and sets the
// Metavision time shift when enabled); a step back by half the range or more is a wrap of the
// 34-bit clock (docs/formats.md 2.3), a smaller one an error. Then base = loops·2^34 + th·64 − shift.
template <class State>
void th_advance(State& s, DecodeStats& stats, std::uint32_t v, std::uint64_t offset, bool shift_enabled) {
  if (!s.have_th) {
    s.have_th = true;
    if (shift_enabled) s.shift = static_cast<std::int64_t>(v) << 6;
  } else if (v < s.th) {
    if (s.th - v >= (1u << 27)) {
      ++s.loops;
      ++stats.time_wraps;
    } else {
      ++stats.non_monotonic_time_high;
      stats.note_error(offset, "TIME_HIGH went backwards");
    }
  }
  s.th = v;
  s.base = (s.loops << 34) + (static_cast<std::int64_t>(s.th) << 6) - s.shift;
}

// EVT 2.0 / 2.1 parallel stitching (io/parallel_chunks.hpp): time is base = loops * 2^34 +
// TIME_HIGH << 6. Two states at the same place that agree on everything else (`rest_same`)
// differ by whole 2^34 µs epochs; this is that difference, or nullopt when they disagree.
template <class State>
std::optional<std::int64_t> th_epoch_offset(const State& a, const State& b, bool rest_same) {
  const bool same = rest_same && a.next_offset == b.next_offset && a.partial.len == 0 && b.partial.len == 0 &&
                    a.have_th == b.have_th && a.th == b.th && a.shift == b.shift;
  const std::int64_t d = (a.loops - b.loops) * (std::int64_t{1} << 34);
  if (!same || a.base - b.base != d) return std::nullopt;
  return d;
}
template <class State>
void th_shift_epoch(State& state, std::int64_t time_offset) noexcept {
  state.loops += time_offset >> 34;
  state.base += time_offset;
}

}  // namespace evlib::detail
