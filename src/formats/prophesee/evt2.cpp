#include "formats/prophesee/evt2.hpp"

#include "formats/prophesee/raw_stream.hpp"

namespace evlib::detail {

void Evt2Decoder::on_time_high(std::uint32_t v, std::uint64_t offset) {
  th_advance(s_, stats_, v, offset, shift_enabled_);
}

// In sync right after a TIME_HIGH word, which also ends any OTHERS / IMU group.
std::size_t Evt2Decoder::sync_prefix_bytes(const std::uint8_t* data, std::size_t size) const {
  for (std::size_t i = 0; i + 4 <= size; i += 4) {
    if ((load_le32(data + i) >> 28) == 0x8) return i + 4;
  }
  return size;
}

std::optional<std::int64_t> Evt2Decoder::epoch_offset(const State& a, const State& b) {
  const bool same_group = a.continued_expected == b.continued_expected &&
                          (a.continued_expected == 0 || (a.group_is_imu == b.group_is_imu && a.group_offset == b.group_offset));
  return th_epoch_offset(a, b, same_group);
}

void Evt2Decoder::shift_epoch(State& state, std::int64_t time_offset) noexcept { th_shift_epoch(state, time_offset); }

void Evt2Decoder::on_rare_word(std::uint32_t w, std::uint64_t offset, TriggerBatch& triggers) {
  const std::uint32_t type = w >> 28;
  if (type != 0xF && s_.continued_expected != 0) close_group();
  switch (type) {
    case 0xA:
      triggers.push_back(s_.base + ((w >> 22) & 63), static_cast<std::uint8_t>((w >> 8) & 0x1F),
                         static_cast<std::uint8_t>(w & 1));
      break;
    case 0xE:  // OTHERS: monitoring, may be followed by one CONTINUED word
      ++stats_.monitoring_events;
      s_.continued_expected = 1;
      s_.group_is_imu = false;
      break;
    case 0xD:  // IMU sample: this word and five CONTINUED words
      ++stats_.imu_samples;
      s_.continued_expected = 5;
      s_.group_is_imu = true;
      s_.group_offset = offset;
      break;
    case 0xF:
      if (s_.continued_expected != 0) {
        --s_.continued_expected;
      } else {
        ++stats_.orphan_continued;
        stats_.note_error(offset, "CONTINUED word without a group to continue");
      }
      break;
    default:
      ++stats_.unknown_words;
      stats_.note_error(offset, "reserved EVT2 word type");
      break;
  }
}

namespace {

int sniff_evt2(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  return sniff_raw(prefix, path, "evt2");
}

std::unique_ptr<FormatReader> open_evt2(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata) {
  return open_raw_stream(std::move(source), prefix, options, metadata, "evt2",
                         [](const WordDecoderConfig& config, const RawEncoding&) { return Evt2Decoder(config); });
}

}  // namespace

FormatDecoder evt2_decoder() { return {&sniff_evt2, &open_evt2}; }

}  // namespace evlib::detail
