#include "formats/prophesee/evt21.hpp"

#include "evlib/error.hpp"
#include "formats/prophesee/raw_stream.hpp"

namespace evlib::detail {

void Evt21Decoder::on_time_high(std::uint32_t v, std::uint64_t offset) {
  th_advance(s_, stats_, v, offset, shift_enabled_);
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

std::size_t Evt21Decoder::count_upper_bound(const std::uint8_t* data, std::size_t size) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint32_t a = load_le32(data + i), b = load_le32(data + i + 4);
    const std::uint32_t h = legacy_ ? a : b, mask = legacy_ ? b : a;
    if ((h >> 28) <= 1) n += static_cast<std::size_t>(std::popcount(mask));
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

// The half-word order: the header's or the caller's, else what the first words suggest, else the
// system's age.
bool legacy_layout(const std::string& path, const std::vector<std::uint8_t>& prefix, const Metadata& metadata,
                   const RawEncoding& enc) {
  if (enc.endianness == "legacy" || enc.endianness == "little") return enc.endianness == "legacy";
  if (!enc.endianness.empty()) throw FormatError(path, 0, "unknown EVT 2.1 endianness '" + enc.endianness + "'");
  const std::size_t off = std::min<std::size_t>(metadata.data_offset, prefix.size());
  const int guess = Evt21Decoder::guess_legacy_layout(prefix.data() + off, prefix.size() - off);
  return guess >= 0 ? guess == 1 : legacy_by_system(metadata);
}

std::unique_ptr<FormatReader> open_evt21(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                         const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  return open_raw_stream(std::move(source), prefix, options, metadata, "evt21",
                         [&](const WordDecoderConfig& config, const RawEncoding& enc) {
                           return Evt21Decoder(config, legacy_layout(path, prefix, metadata, enc));
                         });
}

}  // namespace

FormatDecoder evt21_decoder() { return {&sniff_evt21, &open_evt21}; }

}  // namespace evlib::detail
