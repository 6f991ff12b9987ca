#include "formats/prophesee/evt21.hpp"

#include "evlib/error.hpp"
#include "formats/prophesee/prophesee_header.hpp"
#include "io/format_reader.hpp"
#include "io/word_stream_reader.hpp"

namespace evlib::detail {

void Evt21Decoder::on_time_high(std::uint32_t v, std::uint64_t offset) {
  if (!s_.have_th) {
    s_.have_th = true;
    if (shift_enabled_) s_.shift = static_cast<std::int64_t>(v) << 6;
  } else if (v < s_.th) {
    if (s_.th - v >= (1u << 27)) {
      ++s_.loops;
      ++stats_.time_wraps;
    } else {
      ++stats_.non_monotonic_time_high;
      stats_.note_error(offset, "TIME_HIGH went backwards");
    }
  }
  s_.th = v;
  s_.base = (s_.loops << 34) + (static_cast<std::int64_t>(s_.th) << 6) - s_.shift;
}

// In sync right after a TIME_HIGH word (the only state EVT 2.1 carries).
std::size_t Evt21Decoder::sync_prefix_bytes(const std::uint8_t* data, std::size_t size) const {
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint32_t h = load_le32(data + i + (legacy_ ? 0 : 4));
    if ((h >> 28) == 0x8) return i + 8;
  }
  return size;
}

std::optional<std::int64_t> Evt21Decoder::epoch_offset(const State& before, const State& fresh) {
  return th_epoch_offset(before, fresh, true);
}

void Evt21Decoder::shift_epoch(State& state, std::int64_t time_offset) noexcept { th_shift_epoch(state, time_offset); }

void Evt21Decoder::on_rare_word(std::uint32_t h, std::uint32_t, std::uint64_t offset, TriggerBatch& triggers) {
  switch (h >> 28) {
    case 0xA:
      triggers.push_back(s_.base + ((h >> 22) & 63), static_cast<std::uint8_t>((h >> 8) & 0x1F),
                         static_cast<std::uint8_t>(h & 1));
      break;
    case 0xE:  // OTHERS carries its payload inline
      ++stats_.monitoring_events;
      break;
    case 0xF:
      ++stats_.orphan_continued;
      stats_.note_error(offset, "CONTINUED word without a group to continue");
      break;
    default:
      ++stats_.unknown_words;
      stats_.note_error(offset, "reserved EVT2.1 word type");
      break;
  }
}

std::size_t Evt21Decoder::count_upper_bound(const std::uint8_t* data, std::size_t size) {
  // Either half may be the mask depending on the layout: bound by the larger popcount.
  std::size_t n = 0;
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const int a = std::popcount(load_le32(data + i)), b = std::popcount(load_le32(data + i + 4));
    n += static_cast<std::size_t>(a > b ? a : b);
  }
  return n;
}

int Evt21Decoder::guess_legacy_layout(const std::uint8_t* data, std::size_t size) {
  // A TIME_HIGH word has an all-zero mask half: little layout puts it in bytes 0-3, legacy in 4-7.
  int little = 0, legacy = 0;
  for (std::size_t i = 0; i + 8 <= size && i < 8 * 4096; i += 8) {
    const std::uint32_t a = load_le32(data + i), b = load_le32(data + i + 4);
    little += (a == 0 && (b >> 28) == 0x8);
    legacy += (b == 0 && (a >> 28) == 0x8);
  }
  if (little == legacy) return -1;
  return legacy > little ? 1 : 0;
}

namespace {

int sniff_evt21(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  return sniff_raw(prefix, path, "evt21");
}

bool legacy_by_system(const Metadata& m) {
  // docs/formats.md 1.3 (half-word order): Prophesee systems older than "EVK2 Saphir" (0x37) use
  // legacy order.
  const std::string* id = m.header_value("system_ID");
  if (id == nullptr) return true;
  char* end = nullptr;
  const long v = std::strtol(id->c_str(), &end, 10);
  if (end == id->c_str()) return true;
  return v > 0 && v < 0x37;
}

std::unique_ptr<FormatReader> open_evt21(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                         const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  const RawEncoding enc = open_raw_header(path, prefix, options, metadata, "evt21");
  bool legacy;
  if (enc.endianness == "legacy" || enc.endianness == "little") {
    legacy = enc.endianness == "legacy";
  } else if (!enc.endianness.empty()) {
    throw FormatError(path, 0, "unknown EVT 2.1 endianness '" + enc.endianness + "'");
  } else {
    const std::size_t off = std::min<std::size_t>(metadata.data_offset, prefix.size());
    const int guess = Evt21Decoder::guess_legacy_layout(prefix.data() + off, prefix.size() - off);
    legacy = guess >= 0 ? guess == 1 : legacy_by_system(metadata);
  }
  WordDecoderConfig config;
  config.width = enc.width != 0 ? enc.width : 2048;
  config.height = enc.height != 0 ? enc.height : 2048;
  config.metavision_time_shift = options.metavision_time_shift;
  config.filter = options.filter;
  config.stream_offset = metadata.data_offset;
  return std::make_unique<WordStreamReader<Evt21Decoder>>(std::move(source), metadata.data_offset, Evt21Decoder(config, legacy),
                                                          options.strict);
}

}  // namespace

FormatDescriptor evt21_format() {
  return {"evt21", "Prophesee RAW, EVT 2.1", {".raw"}, &sniff_evt21, &open_evt21};
}

}  // namespace evlib::detail
