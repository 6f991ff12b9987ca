// ECF block codec (docs/formats.md 7.3). See ecf.hpp for the layout and the error contract.
#include "formats/prophesee/ecf.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "evlib/error.hpp"

namespace evlib::detail::ecf {

namespace {

// A read position inside one block. Every accessor checks the remaining size first, so a
// malformed block can never make the decoder read past its end.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> block) : data_(block.data()), size_(block.size()) {}

  std::size_t position() const noexcept { return pos_; }
  bool has(std::size_t n) const noexcept { return n <= size_ - pos_; }
  std::uint8_t peek_u8() const noexcept { return data_[pos_]; }
  std::uint8_t u8() noexcept { return data_[pos_++]; }
  std::uint16_t u16() noexcept {
    std::uint16_t v;
    std::memcpy(&v, data_ + pos_, 2);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() noexcept {
    std::uint32_t v;
    std::memcpy(&v, data_ + pos_, 4);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() noexcept {
    std::uint64_t v;
    std::memcpy(&v, data_ + pos_, 8);
    pos_ += 8;
    return v;
  }
  const std::uint8_t* here() const noexcept { return data_ + pos_; }
  void skip(std::size_t n) noexcept { pos_ += n; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Outcome of one stream: nullptr or the error, with the cursor left at the offending byte.
using StreamError = const char*;

// Timestamp stream: runs of equal timestamps, with deltas of up to 14 in the run byte and larger
// deltas as a prefix of 0xF_ nibble bytes (least significant nibble first).
StreamError decode_timestamps(Cursor& in, std::uint64_t t0, std::size_t n_events, std::int64_t* t) {
  std::uint64_t cur = t0;  // unsigned: a hostile block may wrap, which must not be UB
  std::size_t n = 0;
  while (n < n_events) {
    if (!in.has(1)) return "timestamp stream ends before N timestamps";
    if ((in.peek_u8() >> 4) == 0xF) {
      std::uint64_t dt = 0;
      unsigned nibbles = 0;
      // The large delta ends at the first byte whose high nibble is not 0xF; that byte is then
      // read as an ordinary run byte (next loop iteration).
      while (in.has(1) && (in.peek_u8() >> 4) == 0xF) {
        if (nibbles == 16) return "large time delta longer than 64 bits";
        dt |= std::uint64_t{in.u8() & 0xFu} << (4 * nibbles);
        ++nibbles;
      }
      cur += dt;
      continue;
    }
    const std::uint8_t b = in.u8();
    cur += b >> 4;
    std::size_t count = b & 0xFu;
    if (count == 0xF) {
      if (!in.has(2)) return "timestamp run count cut short";
      count = in.u16();
    }
    if (count > n_events - n) return "timestamp runs exceed the event count";
    std::fill_n(t + n, count, static_cast<std::int64_t>(cur));
    n += count;
  }
  return nullptr;
}

// y run-length stream: uint16 words y << 5 | count, count 31 = the next uint16 is the count.
StreamError decode_y_runs(Cursor& in, std::size_t n_events, std::uint16_t* y) {
  std::size_t n = 0;
  while (n < n_events) {
    if (!in.has(2)) return "y stream ends before N values";
    const std::uint16_t w = in.u16();
    std::size_t count = w & 0x1Fu;
    if (count == 31) {
      if (!in.has(2)) return "y run count cut short";
      count = in.u16();
    }
    if (count > n_events - n) return "y runs exceed the event count";
    std::fill_n(y + n, count, static_cast<std::uint16_t>(w >> 5));
    n += count;
  }
  return nullptr;
}

// Masked-x stream: uint16 words x << 5 | mask; bit (4 - j) of the mask adds x + j + 1.
StreamError decode_masked_x(Cursor& in, std::size_t n_events, std::uint16_t* x) {
  std::size_t n = 0;
  while (n < n_events) {
    if (!in.has(2)) return "x stream ends before N values";
    const std::uint16_t w = in.u16();
    const std::uint16_t base = w >> 5;
    const unsigned mask = w & 0x1Fu;
    x[n++] = base;
    for (unsigned j = 0; j < 5; ++j) {
      if ((mask >> (4 - j)) & 1u) {
        if (n == n_events) return "x mask adds more values than the event count";
        x[n++] = static_cast<std::uint16_t>(base + j + 1);
      }
    }
  }
  return nullptr;
}

// Polarity run-length stream: bytes p << 7 | count, count 127 = the next uint16 is the count.
StreamError decode_polarity_runs(Cursor& in, std::size_t n_events, std::uint8_t* p) {
  std::size_t n = 0;
  while (n < n_events) {
    if (!in.has(1)) return "polarity stream ends before N values";
    const std::uint8_t b = in.u8();
    std::size_t count = b & 0x7Fu;
    if (count == 127) {
      if (!in.has(2)) return "polarity run count cut short";
      count = in.u16();
    }
    if (count > n_events - n) return "polarity runs exceed the event count";
    std::fill_n(p + n, count, static_cast<std::uint8_t>(b >> 7));
    n += count;
  }
  return nullptr;
}

// Four 12-bit values (x << 1 | p) in three uint16 words.
inline void unpack_xp(const std::uint8_t* g, std::uint32_t v[4]) noexcept {
  std::uint16_t w[3];
  std::memcpy(w, g, 6);
  v[0] = w[0] >> 4;
  v[1] = (w[0] & 0xFu) | ((w[1] >> 8) << 4);
  v[2] = (w[1] & 0xFFu) | ((w[2] >> 12) << 8);
  v[3] = w[2] & 0xFFFu;
}

// Four 24-bit values (y << 12 | x << 1 | p) in three uint32 words.
inline void unpack_yxp(const std::uint8_t* g, std::uint32_t v[4]) noexcept {
  std::uint32_t w[3];
  std::memcpy(w, g, 12);
  v[0] = w[0] >> 8;
  v[1] = (w[0] & 0xFFu) | ((w[1] >> 16) << 8);
  v[2] = (w[1] & 0xFFFFu) | ((w[2] >> 24) << 16);
  v[3] = w[2] & 0xFFFFFFu;
}

StreamError decode_xp_groups(Cursor& in, std::size_t n_events, const Columns& out) {
  const std::size_t groups = (n_events + 3) / 4;
  if (!in.has(groups * 6)) return "packed (x,p) groups cut short";
  const std::uint8_t* g = in.here();
  for (std::size_t i = 0; i < n_events; i += 4, g += 6) {
    std::uint32_t v[4];
    unpack_xp(g, v);
    const std::size_t k_end = std::min<std::size_t>(4, n_events - i);  // the last group is padded
    for (std::size_t k = 0; k < k_end; ++k) {
      out.x[i + k] = static_cast<std::uint16_t>(v[k] >> 1);
      out.p[i + k] = static_cast<std::uint8_t>(v[k] & 1u);
    }
  }
  in.skip(groups * 6);
  return nullptr;
}

StreamError decode_yxp_groups(Cursor& in, std::size_t n_events, const Columns& out) {
  const std::size_t groups = (n_events + 3) / 4;
  if (!in.has(groups * 12)) return "packed (y,x,p) groups cut short";
  const std::uint8_t* g = in.here();
  for (std::size_t i = 0; i < n_events; i += 4, g += 12) {
    std::uint32_t v[4];
    unpack_yxp(g, v);
    const std::size_t k_end = std::min<std::size_t>(4, n_events - i);
    for (std::size_t k = 0; k < k_end; ++k) {
      out.y[i + k] = static_cast<std::uint16_t>((v[k] >> 12) & 0x7FFu);
      out.x[i + k] = static_cast<std::uint16_t>((v[k] >> 1) & 0x7FFu);
      out.p[i + k] = static_cast<std::uint8_t>(v[k] & 1u);
    }
  }
  in.skip(groups * 12);
  return nullptr;
}

DecodeResult failure(const Cursor& in, const char* what) {
  DecodeResult r;
  r.error = what;
  r.error_offset = in.position();
  return r;
}

}  // namespace

std::optional<std::size_t> block_event_count(std::span<const std::uint8_t> block) noexcept {
  if (block.size() < kHeaderBytes) return std::nullopt;
  std::uint32_t h;
  std::memcpy(&h, block.data(), 4);
  const std::size_t n = h >> 2;
  if (n > kMaxEvents) return std::nullopt;
  return n;
}

DecodeResult decode(std::span<const std::uint8_t> block, const Columns& out, std::size_t capacity) noexcept {
  Cursor in(block);
  if (!in.has(kHeaderBytes)) return failure(in, "block shorter than its 12-byte header");
  const std::uint32_t h = in.u32();
  const std::size_t n = h >> 2;
  if (n > kMaxEvents) return failure(Cursor(block), "event count above 65535");
  if (n > capacity) return failure(Cursor(block), "block holds more events than the output has room for");
  const std::uint64_t t0 = in.u64();
  StreamError err = decode_timestamps(in, t0, n, out.t);
  if (err == nullptr) {
    if (h & kYxpPacked) {
      err = decode_yxp_groups(in, n, out);
    } else {
      err = decode_y_runs(in, n, out.y);
      if (err == nullptr) {
        if (h & kXpPacked) {
          err = decode_xp_groups(in, n, out);
        } else {
          err = decode_masked_x(in, n, out.x);
          if (err == nullptr) err = decode_polarity_runs(in, n, out.p);
        }
      }
    }
  }
  if (err != nullptr) return failure(in, err);
  DecodeResult r;
  r.events = n;
  r.bytes = in.position();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Encoder

namespace {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { append(&v, 2); }
  void u32(std::uint32_t v) { append(&v, 4); }
  void u64(std::uint64_t v) { append(&v, 8); }

 private:
  void append(const void* v, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(v);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<std::uint8_t>& out_;
};

void validate(const EventColumns& e) {
  const std::size_t n = e.t.size();
  if (e.x.size() != n || e.y.size() != n || e.p.size() != n) {
    throw InvalidArgument("ECF encoder: t, x, y and p columns differ in length");
  }
  if (n > kMaxEvents) {
    throw InvalidArgument("ECF encoder: " + std::to_string(n) + " events in one block (at most 65535)");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (e.x[i] >= kCoordinateLimit || e.y[i] >= kCoordinateLimit) {
      throw InvalidArgument("ECF encoder: event " + std::to_string(i) + " at (" + std::to_string(e.x[i]) + ", " +
                            std::to_string(e.y[i]) + ") does not fit ECF's 11-bit coordinates");
    }
    if (e.p[i] > 1) throw InvalidArgument("ECF encoder: event " + std::to_string(i) + " has polarity above 1");
    if (i > 0 && e.t[i] < e.t[i - 1]) {
      throw InvalidArgument("ECF encoder: time decreases at event " + std::to_string(i) +
                            " (ECF blocks store non-decreasing timestamps)");
    }
  }
}

// Length of the run of values equal to v[i] starting at i.
template <class T>
std::size_t run_length(std::span<const T> v, std::size_t i) {
  std::size_t j = i + 1;
  while (j < v.size() && v[j] == v[i]) ++j;
  return j - i;
}

void encode_timestamps(const EventColumns& e, ByteWriter& w) {
  std::int64_t cur = e.t.empty() ? 0 : e.t[0];
  for (std::size_t i = 0; i < e.t.size();) {
    const std::size_t count = run_length(e.t, i);
    // Unsigned: the difference of two int64 times may not fit int64.
    auto delta = static_cast<std::uint64_t>(e.t[i]) - static_cast<std::uint64_t>(cur);
    if (delta >= 15) {
      // Large delta: 0xF0 | nibble, least significant nibble first.
      for (std::uint64_t d = delta; d != 0; d >>= 4) w.u8(static_cast<std::uint8_t>(0xF0u | (d & 0xFu)));
      delta = 0;
    }
    cur = e.t[i];
    if (count >= 15) {
      w.u8(static_cast<std::uint8_t>(delta << 4 | 0xFu));
      w.u16(static_cast<std::uint16_t>(count));
    } else {
      w.u8(static_cast<std::uint8_t>(delta << 4 | count));
    }
    i += count;
  }
}

void encode_y_runs(const EventColumns& e, ByteWriter& w) {
  for (std::size_t i = 0; i < e.y.size();) {
    const std::size_t count = run_length(e.y, i);
    const auto y = static_cast<std::uint16_t>(e.y[i] << 5);
    if (count >= 31) {
      w.u16(static_cast<std::uint16_t>(y | 31u));
      w.u16(static_cast<std::uint16_t>(count));
    } else {
      w.u16(static_cast<std::uint16_t>(y | count));
    }
    i += count;
  }
}

// Groups each x with the following events at x + 1 ... x + 5 (strictly increasing), one word each.
void encode_masked_x(const EventColumns& e, ByteWriter& w) {
  for (std::size_t i = 0; i < e.x.size();) {
    const unsigned base = e.x[i];
    unsigned mask = 0, last = 0;
    std::size_t k = i + 1;
    for (; k < e.x.size(); ++k) {
      const int d = static_cast<int>(e.x[k]) - static_cast<int>(base);
      if (d <= static_cast<int>(last) || d > 5) break;
      mask |= 1u << (4 - (d - 1));
      last = static_cast<unsigned>(d);
    }
    w.u16(static_cast<std::uint16_t>(base << 5 | mask));
    i = k;
  }
}

void encode_polarity_runs(const EventColumns& e, ByteWriter& w) {
  for (std::size_t i = 0; i < e.p.size();) {
    const std::size_t count = run_length(e.p, i);
    const auto p = static_cast<std::uint8_t>(e.p[i] << 7);
    if (count >= 127) {
      w.u8(static_cast<std::uint8_t>(p | 127u));
      w.u16(static_cast<std::uint16_t>(count));
    } else {
      w.u8(static_cast<std::uint8_t>(p | count));
    }
    i += count;
  }
}

void encode_xp_groups(const EventColumns& e, ByteWriter& w) {
  const std::size_t n = e.x.size();
  for (std::size_t i = 0; i < n; i += 4) {
    std::uint32_t v[4] = {0, 0, 0, 0};
    for (std::size_t k = 0; k < 4 && i + k < n; ++k) v[k] = std::uint32_t{e.x[i + k]} << 1 | e.p[i + k];
    w.u16(static_cast<std::uint16_t>(v[0] << 4 | (v[1] & 0xFu)));
    w.u16(static_cast<std::uint16_t>((v[1] >> 4) << 8 | (v[2] & 0xFFu)));
    w.u16(static_cast<std::uint16_t>((v[2] >> 8) << 12 | v[3]));
  }
}

void encode_yxp_groups(const EventColumns& e, ByteWriter& w) {
  const std::size_t n = e.x.size();
  for (std::size_t i = 0; i < n; i += 4) {
    std::uint32_t v[4] = {0, 0, 0, 0};
    for (std::size_t k = 0; k < 4 && i + k < n; ++k) {
      v[k] = std::uint32_t{e.y[i + k]} << 12 | std::uint32_t{e.x[i + k]} << 1 | e.p[i + k];
    }
    w.u32(v[0] << 8 | (v[1] & 0xFFu));
    w.u32((v[1] >> 8) << 16 | (v[2] & 0xFFFFu));
    w.u32((v[2] >> 16) << 24 | v[3]);
  }
}

}  // namespace

Mode choose_mode(const EventColumns& e) noexcept {
  const std::size_t sample = e.t.size() / 4;
  if (sample < 2) return Mode::yxp_packed;
  std::size_t same_y = 0, x_runs = 0;
  for (std::size_t i = 1; i < sample; ++i) {
    same_y += e.y[i] == e.y[i - 1];
    const int d = static_cast<int>(e.x[i]) - static_cast<int>(e.x[i - 1]);
    x_runs += d >= 1 && d <= 5;
  }
  // Shared rows make the y run-length stream pay off; short x runs make the masked-x stream pay.
  if (same_y * 5 <= sample) return Mode::yxp_packed;
  if (x_runs * 25 <= sample * 2) return Mode::xp_packed;
  return Mode::masked_x;
}

Mode encode(const EventColumns& events, std::vector<std::uint8_t>& out, Mode mode) {
  validate(events);
  if (mode == Mode::automatic) mode = choose_mode(events);
  const std::size_t n = events.t.size();
  ByteWriter w(out);
  const std::uint32_t flags = mode == Mode::yxp_packed ? kYxpPacked : mode == Mode::xp_packed ? kXpPacked : 0u;
  w.u32(static_cast<std::uint32_t>(n) << 2 | flags);
  w.u64(static_cast<std::uint64_t>(n == 0 ? 0 : events.t[0]));
  encode_timestamps(events, w);
  if (mode == Mode::yxp_packed) {
    encode_yxp_groups(events, w);
  } else {
    encode_y_runs(events, w);
    if (mode == Mode::xp_packed) {
      encode_xp_groups(events, w);
    } else {
      encode_masked_x(events, w);
      encode_polarity_runs(events, w);
    }
  }
  return mode;
}

}  // namespace evlib::detail::ecf
