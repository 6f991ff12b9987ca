#pragma once
// Shared machinery of the decoder fuzz targets (fuzz_evt3, fuzz_evt2, fuzz_evt21, fuzz_dat).
//
// Input layout: a 5-byte control prefix, then the payload handed to the decoder.
//   byte 0      geometry: bits 0-2 pick the width, bits 3-5 the height (tables below)
//   byte 1      options: bit 0 Metavision time shift, bit 1 EVT 2.1 legacy layout,
//               bits 2-3 DAT event type (0x00 / 0x0C / 0x0E / 0x0C), bit 4 DAT version 1,
//               bit 5 hand the decode over at the split point to a fresh decoder restored from
//               state() (decoders that have state()/restore())
//   bytes 2-3   split point (little-endian, taken modulo payload size + 1)
//   byte 4      bits 0-5: extra sink capacity over Decoder::kMaxEventsPerWord;
//               bits 6-7: how the part after the split is fed (whole, 1-, 3- or 13-byte pieces)
//
// Oracles (each failure is a __builtin_trap(), i.e. a crash libFuzzer saves):
//   - chunking invariance: the payload decoded in two feeds (plus optional small pieces) through
//     a small sink that is drained and reused gives the same events, triggers and DecodeStats as
//     one feed into a sink sized from count_upper_bound(); optionally the second part is decoded
//     by a new decoder restored from the first one's state() snapshot (statistics then add up);
//   - every event has x < width, y < height and polarity 0 or 1: checked on the values emit()
//     receives (before ColumnSink's narrowing uint16 store, so an x >= 65536 is caught there) and
//     again on the stored columns (decoders may also write the columns directly);
//   - predicate pushdown: with an EventFilter (derived from the input) in the decoder config, the
//     events are exactly the unfiltered ones that pass EventFilter::accepts(), with the same
//     triggers and statistics (run_filter_oracle);
//   - the decoder never emits into a full sink, honours feed()'s "all bytes unless the sink
//     has less than kMaxEventsPerWord room" contract, and count_upper_bound() is an upper bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/filter.hpp"
#include "evlib/metadata.hpp"
#include "formats/common/decoder_support.hpp"

namespace evlib_fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz oracle failed: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

#define EVLIB_FUZZ_CHECK(cond)                                            \
  do {                                                                    \
    if (!(cond)) ::evlib_fuzz::fail(#cond " (" __FILE__ ":" EVLIB_FUZZ_STR(__LINE__) ")"); \
  } while (0)
#define EVLIB_FUZZ_STR2(x) #x
#define EVLIB_FUZZ_STR(x) EVLIB_FUZZ_STR2(x)

constexpr std::size_t kControlBytes = 5;

// EVLIB_FUZZ_STRICT=1: no tolerance for known open bugs (scripts/fuzz.sh sets it when it replays
// fuzz/crashes/, so their reproducers keep failing until the library is fixed).
inline bool strict() {
  static const bool on = [] {
    const char* v = std::getenv("EVLIB_FUZZ_STRICT");
    return v != nullptr && v[0] == '1';
  }();
  return on;
}

struct Control {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  bool time_shift = false;
  bool legacy = false;
  std::uint8_t dat_type = 0x0C;
  int dat_version = 2;
  bool restore_at_split = false;
  std::size_t split = 0;
  std::size_t extra_cap = 0;
  std::size_t piece = 0;  // 0: feed the second part whole
  const std::uint8_t* payload = nullptr;
  std::size_t size = 0;
};

// Geometry tables: tiny, odd, real sensor sizes, the 11-bit maximum, and one beyond uint16.
inline constexpr std::uint32_t kWidths[8] = {1, 17, 320, 640, 1280, 2047, 2048, 70000};
inline constexpr std::uint32_t kHeights[8] = {1, 9, 240, 480, 720, 2047, 2048, 70000};
// DAT: 0 means "no geometry in the header" (no bounds check); 16384 covers the 14-bit fields.
inline constexpr std::uint32_t kDatWidths[8] = {0, 1, 17, 120, 304, 640, 1280, 16384};
inline constexpr std::uint32_t kDatHeights[8] = {0, 1, 9, 100, 240, 480, 720, 16384};

inline bool parse_control(const std::uint8_t* data, std::size_t size, bool dat, Control& c) {
  if (size < kControlBytes) return false;
  const std::uint8_t g = data[0], o = data[1], s = data[4];
  c.width = dat ? kDatWidths[g & 7] : kWidths[g & 7];
  c.height = dat ? kDatHeights[(g >> 3) & 7] : kHeights[(g >> 3) & 7];
  c.time_shift = (o & 1) != 0;
  c.legacy = (o & 2) != 0;
  static constexpr std::uint8_t kTypes[4] = {0x00, 0x0C, 0x0E, 0x0C};
  c.dat_type = kTypes[(o >> 2) & 3];
  c.dat_version = (o & 0x10) ? 1 : 2;
  c.restore_at_split = (o & 0x20) != 0;
  c.payload = data + kControlBytes;
  c.size = size - kControlBytes;
  c.split = static_cast<std::size_t>(data[2] | (data[3] << 8)) % (c.size + 1);
  c.extra_cap = s & 63;
  static constexpr std::size_t kPieces[4] = {0, 1, 3, 13};
  c.piece = kPieces[s >> 6];
  return true;
}

// What a decode produced.
struct Decoded {
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;
  evlib::TriggerBatch triggers;
  evlib::DecodeStats stats;
};

// A ColumnSink that validates each event emit() receives before the narrowing uint16 store, and
// every stored event again when it is drained (decoders may also store into the columns directly).
struct CheckedSink : evlib::detail::ColumnSink {
  std::uint32_t width = 0;   // the geometry the decoder was configured with (0x10000 for "none")
  std::uint32_t height = 0;

  CheckedSink(const evlib::detail::ColumnSink& columns, std::uint32_t w, std::uint32_t h)
      : evlib::detail::ColumnSink(columns), width(w), height(h) {}

  void emit(std::int64_t time, std::uint32_t px, std::uint32_t py, std::uint32_t pol) noexcept {
    EVLIB_FUZZ_CHECK(n < cap);  // the decoder must check room() before emitting
    EVLIB_FUZZ_CHECK(px < width);
    EVLIB_FUZZ_CHECK(py < height);
    EVLIB_FUZZ_CHECK(px <= 0xFFFF);  // would be silently truncated by the uint16 column
    EVLIB_FUZZ_CHECK(py <= 0xFFFF);
    EVLIB_FUZZ_CHECK(pol <= 1);
    evlib::detail::ColumnSink::emit(time, px, py, pol);
  }
};

// Moves the sink's events to out (checking them) and empties the sink for reuse.
inline void drain(CheckedSink& sink, Decoded& out) {
  EVLIB_FUZZ_CHECK(sink.n <= sink.cap);
  for (std::size_t i = 0; i < sink.n; ++i) {
    EVLIB_FUZZ_CHECK(sink.x[i] < sink.width);
    EVLIB_FUZZ_CHECK(sink.y[i] < sink.height);
    EVLIB_FUZZ_CHECK(sink.p[i] <= 1);
  }
  out.t.insert(out.t.end(), sink.t, sink.t + sink.n);
  out.x.insert(out.x.end(), sink.x, sink.x + sink.n);
  out.y.insert(out.y.end(), sink.y, sink.y + sink.n);
  out.p.insert(out.p.end(), sink.p, sink.p + sink.n);
  sink.n = 0;
}

// Feeds [data, data+size) through a small reusable sink, draining it whenever feed() stops.
template <class Decoder>
void feed_chunked(Decoder& dec, const std::uint8_t* data, std::size_t size, CheckedSink& sink, Decoded& out) {
  while (size > 0) {
    const std::size_t before = sink.n;
    const std::size_t used = dec.feed(data, size, sink, out.triggers);
    EVLIB_FUZZ_CHECK(used <= size);
    // Contract: everything is consumed unless the sink has less room than one word can need.
    if (used < size) EVLIB_FUZZ_CHECK(sink.room() < Decoder::kMaxEventsPerWord);
    // No progress with an empty sink would make every caller loop forever.
    EVLIB_FUZZ_CHECK(used != 0 || sink.n != before || before != 0);
    drain(sink, out);
    data += used;
    size -= used;
  }
}

// Decoders whose cross-buffer state can be snapshot and restored into a fresh decoder.
template <class Decoder>
concept Snapshottable = requires(Decoder& d, const Decoder& cd) { d.restore(cd.state()); };

// Adds the counters of a decoder that took over at a split point to those of its predecessor:
// every counter (DecodeStats::operator+=), and the first error noted, which is the predecessor's
// when it has one (operator+= keeps the lowest offset instead; a decoder may note an error at an
// earlier offset later, as AEDAT 3 does for a packet cut short).
inline void add_stats(evlib::DecodeStats& a, const evlib::DecodeStats& b) {
  const std::uint64_t offset = a.first_error_offset;
  const std::string error = a.first_error;
  a += b;
  if (offset != ~std::uint64_t{0}) {
    a.first_error_offset = offset;
    a.first_error = error;
  }
}

template <class MakeDecoder>
Decoded decode_chunked(MakeDecoder make, const Control& c, std::uint32_t width, std::uint32_t height) {
  using Decoder = decltype(make());
  Decoded out;
  std::optional<Decoder> dec;
  dec.emplace(make());
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(Decoder::kMaxEventsPerWord + c.extra_cap);
  CheckedSink sink(evlib::detail::ColumnSink::over(batch), width, height);
  feed_chunked(*dec, c.payload, c.split, sink, out);
  evlib::DecodeStats carried;  // counters of the decoder replaced at the split point
  bool replaced = false;
  if constexpr (Snapshottable<Decoder>) {
    if (c.restore_at_split) {
      const auto snapshot = dec->state();
      carried = dec->stats();
      dec.reset();
      dec.emplace(make());
      dec->restore(snapshot);
      replaced = true;
    }
  }
  const std::uint8_t* rest = c.payload + c.split;
  std::size_t left = c.size - c.split;
  if (c.piece == 0) {
    feed_chunked(*dec, rest, left, sink, out);
  } else {
    while (left > 0) {
      const std::size_t n = left < c.piece ? left : c.piece;
      feed_chunked(*dec, rest, n, sink, out);
      rest += n;
      left -= n;
    }
  }
  dec->finish();
  drain(sink, out);
  if (replaced) {
    add_stats(carried, dec->stats());
    out.stats = carried;
  } else {
    out.stats = dec->stats();
  }
  return out;
}

template <class Decoder>
Decoded decode_whole(Decoder dec, const Control& c, std::uint32_t width, std::uint32_t height) {
  Decoded out;
  const std::size_t bound = dec.count_upper_bound(c.payload, c.size);
  const std::size_t cap = bound + Decoder::kMaxEventsPerWord;
  // Plain vectors sized exactly, so AddressSanitizer sees any write past the capacity.
  std::vector<std::int64_t> t(cap);
  std::vector<std::uint16_t> x(cap), y(cap);
  std::vector<std::uint8_t> p(cap);
  CheckedSink sink(evlib::detail::ColumnSink{t.data(), x.data(), y.data(), p.data(), 0, cap}, width, height);
  const std::size_t used = dec.feed(c.payload, c.size, sink, out.triggers);
  // With room for count_upper_bound() events plus one word, a single feed must take everything.
  EVLIB_FUZZ_CHECK(used == c.size);
  EVLIB_FUZZ_CHECK(sink.n <= bound);
  dec.finish();
  drain(sink, out);
  out.stats = dec.stats();
  return out;
}

inline void check_same_stats(const evlib::DecodeStats& a, const evlib::DecodeStats& b) {
  EVLIB_FUZZ_CHECK(a.words == b.words);
  EVLIB_FUZZ_CHECK(a.before_first_time_high == b.before_first_time_high);
  EVLIB_FUZZ_CHECK(a.out_of_bounds == b.out_of_bounds);
  EVLIB_FUZZ_CHECK(a.missing_row == b.missing_row);
  EVLIB_FUZZ_CHECK(a.missing_vector_base == b.missing_vector_base);
  EVLIB_FUZZ_CHECK(a.non_cd_row_events == b.non_cd_row_events);
  EVLIB_FUZZ_CHECK(a.orphan_continued == b.orphan_continued);
  EVLIB_FUZZ_CHECK(a.partial_groups == b.partial_groups);
  EVLIB_FUZZ_CHECK(a.unknown_words == b.unknown_words);
  EVLIB_FUZZ_CHECK(a.non_monotonic_time_high == b.non_monotonic_time_high);
  EVLIB_FUZZ_CHECK(a.time_wraps == b.time_wraps);
  EVLIB_FUZZ_CHECK(a.monitoring_events == b.monitoring_events);
  EVLIB_FUZZ_CHECK(a.imu_samples == b.imu_samples);
  EVLIB_FUZZ_CHECK(a.trailing_bytes == b.trailing_bytes);
  EVLIB_FUZZ_CHECK(a.first_error_offset == b.first_error_offset);
  EVLIB_FUZZ_CHECK(a.first_error == b.first_error);
}

inline void check_same(const Decoded& chunked, const Decoded& whole) {
  EVLIB_FUZZ_CHECK(chunked.t.size() == whole.t.size());
  EVLIB_FUZZ_CHECK(chunked.t == whole.t);
  EVLIB_FUZZ_CHECK(chunked.x == whole.x);
  EVLIB_FUZZ_CHECK(chunked.y == whole.y);
  EVLIB_FUZZ_CHECK(chunked.p == whole.p);
  EVLIB_FUZZ_CHECK(chunked.triggers.t == whole.triggers.t);
  EVLIB_FUZZ_CHECK(chunked.triggers.channel == whole.triggers.channel);
  EVLIB_FUZZ_CHECK(chunked.triggers.value == whole.triggers.value);
  check_same_stats(chunked.stats, whole.stats);
}

// Runs both decodes with decoders made by make() and compares them.
// Runs both decodes with decoders made by make(), compares them and returns the whole decode.
template <class MakeDecoder>
Decoded run_oracle(const Control& c, std::uint32_t width, std::uint32_t height, MakeDecoder make) {
  const Decoded chunked = decode_chunked(make, c, width, height);
  Decoded whole = decode_whole(make(), c, width, height);
  check_same(chunked, whole);
  return whole;
}

// ---- predicate pushdown: a decoder built with an EventFilter must give exactly the unfiltered
// ---- events that pass EventFilter::accepts(), the same triggers and the same statistics.

inline std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// A filter derived from the input, with bounds taken from decoded events so that they fall on
// real values (the boundary cases); none for a quarter of the inputs, to keep the pace.
inline std::optional<evlib::EventFilter> pick_filter(const Control& c, const Decoded& whole) {
  std::uint64_t h = hash_bytes(c.payload, c.size) ^ (c.split * 0x9E3779B97F4A7C15ull);
  auto next = [&h] {  // splitmix64
    h += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  if ((next() & 3) == 0) return std::nullopt;
  const std::size_t n = whole.t.size();
  auto pick = [&] { return static_cast<std::size_t>(next() % n); };
  evlib::EventFilter f;
  f.polarities = static_cast<std::uint8_t>(next() & 3);  // 0 keeps nothing, 3 everything
  if (next() & 1) {  // region of interest
    if (n != 0) {
      const std::uint32_t xa = whole.x[pick()], xb = whole.x[pick()], ya = whole.y[pick()], yb = whole.y[pick()];
      f.x0 = std::min(xa, xb);
      f.x1 = std::max(xa, xb) + static_cast<std::uint32_t>(next() & 1);
      f.y0 = std::min(ya, yb);
      f.y1 = std::max(ya, yb) + static_cast<std::uint32_t>(next() & 1);
    } else {
      f.x0 = static_cast<std::uint32_t>(next() % 2048);
      f.x1 = f.x0 + static_cast<std::uint32_t>(next() % 64);
      f.y0 = static_cast<std::uint32_t>(next() % 2048);
      f.y1 = f.y0 + static_cast<std::uint32_t>(next() % 64);
    }
  }
  if (next() & 1) {  // time window
    if (n != 0) {
      const std::int64_t ta = whole.t[pick()], tb = whole.t[pick()];
      f.t0 = std::min(ta, tb);
      f.t1 = std::max(ta, tb);
      if ((next() & 1) && f.t1 != std::numeric_limits<std::int64_t>::max()) ++f.t1;
    } else {
      f.t0 = static_cast<std::int64_t>(next() % 100000);
      f.t1 = f.t0 + static_cast<std::int64_t>(next() % 100000);
    }
  }
  return f;
}

// make_filtered(const evlib::EventFilter&) returns a decoder configured with that filter; whole
// is the unfiltered decode run_oracle() returned for the same input.
template <class MakeFiltered>
void run_filter_oracle(const Control& c, std::uint32_t width, std::uint32_t height, const Decoded& whole,
                       MakeFiltered make_filtered) {
  const std::optional<evlib::EventFilter> filter = pick_filter(c, whole);
  if (!filter) return;
  // Chunking invariance holds with the filter too.
  const Decoded filtered = run_oracle(c, width, height, [&] { return make_filtered(*filter); });
  Decoded expected;
  for (std::size_t i = 0; i < whole.t.size(); ++i) {
    if (!filter->accepts(whole.t[i], whole.x[i], whole.y[i], whole.p[i])) continue;
    expected.t.push_back(whole.t[i]);
    expected.x.push_back(whole.x[i]);
    expected.y.push_back(whole.y[i]);
    expected.p.push_back(whole.p[i]);
  }
  expected.triggers = whole.triggers;  // triggers are not filtered
  expected.stats = whole.stats;        // filtered-out events are not corruption
  check_same(filtered, expected);
}

}  // namespace evlib_fuzz
