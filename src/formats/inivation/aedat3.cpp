#include "formats/inivation/aedat3.hpp"

#include <cctype>
#include <string>

#include "evlib/error.hpp"
#include "formats/inivation/aedat2.hpp"
#include "formats/inivation/aedat_header.hpp"
#include "io/format_reader.hpp"
#include "io/word_stream_reader.hpp"

namespace evlib::detail {

Aedat3PacketHeader Aedat3PacketHeader::parse(const std::uint8_t* b) noexcept {
  Aedat3PacketHeader h;
  h.type = static_cast<std::int16_t>(load_le16(b));
  h.source = static_cast<std::int16_t>(load_le16(b + 2));
  h.event_size = static_cast<std::int32_t>(load_le32(b + 4));
  h.ts_offset = static_cast<std::int32_t>(load_le32(b + 8));
  h.ts_overflow = static_cast<std::int32_t>(load_le32(b + 12));
  h.capacity = static_cast<std::int32_t>(load_le32(b + 16));
  h.number = static_cast<std::int32_t>(load_le32(b + 20));
  h.valid = static_cast<std::int32_t>(load_le32(b + 24));
  return h;
}

void Aedat3Decoder::start_packet() {
  s_.header_len = 0;
  ++s_.packets;
  const Aedat3PacketHeader h = Aedat3PacketHeader::parse(s_.header);
  if (h.event_size <= 0 || h.capacity < 0) {
    // Without a usable size the next packet cannot be found: nothing after this is decodable.
    ++stats_.corrupt_packets;
    stats_.note_error(s_.packet_offset, "AEDAT 3 packet header with a non-positive event size or a negative capacity; "
                                      "the rest of the file cannot be framed");
    s_.phase = Phase::kDead;
    return;
  }
  const std::uint64_t body = std::uint64_t(std::uint32_t(h.event_size)) * std::uint32_t(h.capacity);
  s_.phase = body == 0 ? Phase::kHeader : Phase::kSkip;
  s_.skip_left = body;
  if (h.number < 0 || h.number > h.capacity || h.valid < 0 || h.valid > h.number) {
    ++stats_.corrupt_packets;
    stats_.note_error(s_.packet_offset, "AEDAT 3 packet header with inconsistent event counts; packet skipped");
    return;
  }
  if (h.type == 0 || h.type == 1) {
    // Special and polarity events are 8 bytes: a uint32 data word and the int32 timestamp at 4.
    if (h.event_size != 8 || h.ts_offset != 4) {
      ++stats_.corrupt_packets;
      stats_.note_error(s_.packet_offset, "AEDAT 3 polarity/special packet with an unexpected event size; packet skipped");
      return;
    }
    s_.type = h.type;
    s_.ts_high = static_cast<std::int64_t>(std::uint64_t(std::uint32_t(h.ts_overflow)) << 31);
    s_.records_left = std::uint32_t(h.number);
    s_.skip_left = std::uint64_t(std::uint32_t(h.capacity - h.number)) * 8;
    s_.record_offset = s_.packet_offset + Aedat3PacketHeader::kBytes;
    if (s_.records_left != 0) s_.phase = Phase::kRecords;
    return;
  }
  if (h.type == 3 || h.type == 4) {
    stats_.imu_samples += std::uint32_t(h.valid);  // IMU6 / IMU9 samples: not decoded
  } else {
    stats_.skipped_records += std::uint32_t(h.valid);  // frames, samples, config, points, ...
  }
}

void Aedat3Decoder::end_records() { s_.phase = s_.skip_left == 0 ? Phase::kHeader : Phase::kSkip; }

void Aedat3Decoder::decode_special(std::uint32_t data, std::int64_t t, TriggerBatch& triggers) {
  if ((data & 1) == 0) {
    ++stats_.invalid_events;
    return;
  }
  // libcaer special event types: external inputs 0/1/2 (rising, falling, pulse) map to trigger
  // channels 0/1/2, the external generator to channel 3. A pulse is recorded as a rising edge.
  switch ((data >> 1) & 0x7F) {
    case 2: triggers.push_back(t, 0, 1); break;
    case 3: triggers.push_back(t, 0, 0); break;
    case 4: triggers.push_back(t, 0, 1); break;
    case 6: triggers.push_back(t, 1, 1); break;
    case 7: triggers.push_back(t, 1, 0); break;
    case 8: triggers.push_back(t, 1, 1); break;
    case 9: triggers.push_back(t, 2, 1); break;
    case 10: triggers.push_back(t, 2, 0); break;
    case 11: triggers.push_back(t, 2, 1); break;
    case 12: triggers.push_back(t, 3, 1); break;
    case 13: triggers.push_back(t, 3, 0); break;
    default: ++stats_.skipped_records; break;  // timestamp wrap/reset, frame and exposure marks, ...
  }
}

void Aedat3Decoder::finish() {
  if ((s_.phase == Phase::kHeader && s_.header_len != 0) || s_.phase == Phase::kRecords || s_.phase == Phase::kSkip) {
    // A recording cut short: the unfinished packet's bytes are the incomplete final record.
    stats_.trailing_bytes += s_.offset - s_.packet_offset;
    stats_.note_error(s_.packet_offset, "AEDAT 3 packet cut short by the end of the file");
  }
  s_.phase = Phase::kHeader;
  s_.header_len = 0;
  s_.partial.len = 0;
}

namespace {

int sniff_aedat3(const std::vector<std::uint8_t>& prefix, const std::string&) {
  const int v = aedat_version_line(prefix.data(), prefix.size());
  return v == 30 || v == 31 ? 100 : 0;
}

// A number following `key` in a header entry ("sizeX=346", "sizeX: 346"), or 0.
std::uint32_t size_from_entries(const AedatHeader& h, const char* key) {
  for (const auto& [k, v] : h.entries) {
    std::string text = k + ":" + v;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t at = text.find(key);
    if (at == std::string::npos) continue;
    std::size_t i = at + std::string(key).size();
    while (i < text.size() && i < at + 16 && !std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    std::uint32_t n = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && n < 100000; ++i) {
      n = n * 10 + static_cast<std::uint32_t>(text[i] - '0');
    }
    if (n > 0 && n <= 0x8000) return n;
  }
  return 0;
}

std::unique_ptr<FormatReader> open_aedat3(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                          const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  const bool at_eof = prefix.size() < kPrefixBytes || (source->size() != 0 && prefix.size() >= source->size());
  const AedatHeader h = parse_aedat_header(prefix.data(), prefix.size(), at_eof);
  if (h.major != 3 || h.minor > 1) throw FormatError(path, 0, "not an AEDAT 3.0/3.1 file (no #!AER-DAT3.x line)");
  const std::uint64_t data_offset = h.complete ? h.data_offset : find_aedat_header_end(path, h.data_offset);

  // Geometry: explicit size lines if a writer added them, else the first source's camera name.
  std::uint32_t width = size_from_entries(h, "sizex"), height = size_from_entries(h, "sizey");
  if (width == 0 || height == 0) {
    if (const auto* src = h.find_prefix("Source")) {
      if (auto camera = aedat_camera_from_name(src->second)) {
        width = camera->width;
        height = camera->height;
      }
    }
  }
  if (options.width != 0) width = options.width;
  if (options.height != 0) height = options.height;

  Aedat3Config config;
  config.width = width;
  config.height = height;
  config.flip_y = h.minor == 0;  // 3.0 has a bottom-left origin (only flipped when the height is known)
  config.stream_offset = data_offset;
  metadata.format = "aedat3";
  metadata.width = width;
  metadata.height = height;
  metadata.data_offset = data_offset;
  metadata.header.emplace_back("version", std::to_string(h.major) + "." + std::to_string(h.minor));
  metadata.header.insert(metadata.header.end(), h.entries.begin(), h.entries.end());
  return std::make_unique<WordStreamReader<Aedat3Decoder>>(std::move(source), data_offset, Aedat3Decoder(config),
                                                           options.strict);
}

}  // namespace

FormatDecoder aedat3_decoder() { return {&sniff_aedat3, &open_aedat3}; }

}  // namespace evlib::detail
