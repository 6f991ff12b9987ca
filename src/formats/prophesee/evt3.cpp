#include "formats/prophesee/evt3.hpp"

#include "formats/prophesee/raw_stream.hpp"

namespace evlib::detail {

void Evt3Decoder::on_time_high(std::uint32_t v, std::uint64_t offset) {
  if (!s_.have_th) {
    s_.have_th = true;
    s_.th = v;
    if (shift_enabled_ && v > 0) s_.shift = static_cast<std::int64_t>(v - 1) << 12;
  } else if (v == s_.th) {
    return;  // repeats are normal and change nothing, not even the low part
  } else {
    if (s_.th > v && s_.th - v >= 2048) {
      ++s_.loops;
      ++stats_.time_wraps;
    } else if (v < s_.th) {
      ++stats_.non_monotonic_time_high;
      stats_.note_error(offset, "TIME_HIGH went backwards");
    }
    s_.th = v;
  }
  // Metavision resets the low part when the high part changes.
  s_.time_base = (s_.loops << 24) + (static_cast<std::int64_t>(s_.th) << 12) - s_.shift;
  s_.t = s_.time_base;
}

void Evt3Decoder::count_row_drop(std::uint32_t n, std::uint64_t offset) {
  if (n == 0) return;
  if (s_.y == kNoRowYet) {
    stats_.missing_row += n;
    stats_.note_error(offset, "column word before any ADDR_Y");
  } else if (s_.y & kNonCdRowBit) {
    stats_.non_cd_row_events += n;  // exposure-measurement rows are not CD events: not an error
  } else if (s_.y >= height_) {
    stats_.out_of_bounds += n;
    stats_.note_error(offset, "row beyond sensor height");
  }
  // else: a CD row outside the filter's region, dropped by request
}

std::size_t Evt3Decoder::take_continued(const std::uint8_t* bytes, std::size_t i, std::size_t count) {
  std::size_t k = 0;
  while (s_.others_pending && i + k < count) {
    const std::uint32_t type = load_le16(bytes + 2 * (i + k)) >> 12;
    if (type != 0x7 && type != 0xF) {
      close_others_group();  // cut short by an ordinary word, which is not consumed here
      break;
    }
    on_continued(s_.next_offset + 2 * (i + k));  // closes the group after its third word
    ++k;
  }
  return k;
}

// In sync once the time (a TIME_HIGH, then a TIME_LOW: a repeated TIME_HIGH keeps the old low
// part), the row and the vector base are all known, each from a word after the first TIME_HIGH
// (the decoder ignores what comes before it); always after one of those words, which ends any
// OTHERS group.
std::size_t Evt3Decoder::sync_prefix_bytes(const std::uint8_t* data, std::size_t size) const {
  bool high = false, low = false, row = false, base = false;
  // Nothing counts before the first TIME_HIGH, which may be far: skip to it at once.
  const std::size_t first_high = 2 * find_word_type(data, 0, size / 2, 0x8);
  for (std::size_t i = first_high; i + 2 <= size; i += 2) {
    switch (load_le16(data + i) >> 12) {
      case 0x8: high = true; break;
      case 0x6: low = low || high; break;
      case 0x0:
      case 0x1: row = row || high; break;
      case 0x3: base = base || high; break;
      default: continue;
    }
    if (high && low && row && base) return i + 2;
  }
  return size;
}

std::optional<std::int64_t> Evt3Decoder::epoch_offset(const State& before, const State& fresh) {
  const State& a = before;
  const State& b = fresh;
  const bool same = a.next_offset == b.next_offset && a.partial.len == 0 && b.partial.len == 0 &&
                    a.have_th == b.have_th && a.th == b.th && a.shift == b.shift && a.row_ok == b.row_ok &&
                    a.y == b.y && a.have_base == b.have_base && a.base_x == b.base_x && a.base_p == b.base_p &&
                    a.others_pending == b.others_pending &&
                    (!a.others_pending || (a.others_subtype == b.others_subtype && a.others_words == b.others_words &&
                                           a.others_offset == b.others_offset));
  const std::int64_t d = (a.loops - b.loops) * (std::int64_t{1} << 24);
  if (!same || a.time_base - b.time_base != d || a.t - b.t != d) return std::nullopt;
  return d;
}

void Evt3Decoder::shift_epoch(State& state, std::int64_t time_offset) noexcept {
  state.loops += time_offset >> 24;
  state.time_base += time_offset;
  state.t += time_offset;
}

std::size_t Evt3Decoder::count_upper_bound(const std::uint8_t* data, std::size_t size) {
  std::size_t n = 0;
  const std::size_t words = size / 2;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint32_t w = load_le16(data + 2 * i);
    const std::uint32_t type = w >> 12;
    n += (type == 0x2) ? 1 : 0;
    n += (type == 0x4) ? static_cast<std::size_t>(std::popcount(w & 0xFFFu)) : 0;
    n += (type == 0x5) ? static_cast<std::size_t>(std::popcount(w & 0xFFu)) : 0;
  }
  return n;
}

namespace {

int sniff_evt3(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  return sniff_raw(prefix, path, "evt3");
}

std::unique_ptr<FormatReader> open_evt3(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata) {
  return open_raw_stream(std::move(source), prefix, options, metadata, "evt3",
                         [](const WordDecoderConfig& config, const RawEncoding&) { return Evt3Decoder(config); });
}

}  // namespace

FormatDecoder evt3_decoder() { return {&sniff_evt3, &open_evt3}; }

}  // namespace evlib::detail
