// libFuzzer target: the AEDAT 1.0 / 2.0 record decoder (src/formats/inivation/aedat2.hpp), both address
// layouts, with the chunking-invariance and geometry oracles of fuzz_common.hpp.
//
// Control prefix (5 bytes, fuzz_common.hpp): byte 0 is reinterpreted here:
//   bit 0     layout: 0 DVS128 (16-bit address), 1 DAVIS (32-bit address)
//   bits 1-2  DAVIS geometry: 240x180, 346x260, 640x480, 17x9 (a tiny override)
//   bit 3     DVS128 only: AEDAT 1.0 (6-byte records) instead of 2.0 (8-byte records)
// bytes 1-4 as in fuzz_common.hpp (split point, sink size, piece size).
#include "formats/inivation/aedat2.hpp"

#include "fuzz_common.hpp"

namespace {

constexpr std::uint32_t kDavisW[4] = {240, 346, 640, 17};
constexpr std::uint32_t kDavisH[4] = {180, 260, 480, 9};

template <std::size_t RecordBytes>
void run(const evlib_fuzz::Control& c, const evlib::detail::Aedat2Config& config) {
  auto make = [&] { return evlib::detail::Aedat2Decoder<RecordBytes>(config); };
  const evlib_fuzz::Decoded chunked = evlib_fuzz::decode_chunked(make, c, config.width, config.height);
  const evlib_fuzz::Decoded whole = evlib_fuzz::decode_whole(make(), c, config.width, config.height);
  evlib_fuzz::check_same(chunked, whole);
  EVLIB_FUZZ_CHECK(chunked.stats.skipped_records == whole.stats.skipped_records);
  // Every complete record is examined exactly once.
  EVLIB_FUZZ_CHECK(whole.stats.words == c.size / RecordBytes);
  EVLIB_FUZZ_CHECK(whole.stats.trailing_bytes == c.size % RecordBytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  evlib_fuzz::Control c;
  if (!evlib_fuzz::parse_control(data, size, /*dat=*/false, c)) return 0;
  evlib::detail::Aedat2Config config;
  config.stream_offset = evlib_fuzz::kControlBytes;
  const std::uint8_t g = data[0];
  if (g & 1) {
    config.layout = evlib::detail::AedatLayout::kDavis;
    config.width = kDavisW[(g >> 1) & 3];
    config.height = kDavisH[(g >> 1) & 3];
    run<8>(c, config);
  } else {
    config.layout = evlib::detail::AedatLayout::kDvs128;
    config.width = 128;
    config.height = 128;
    if (g & 8) {
      run<6>(c, config);
    } else {
      run<8>(c, config);
    }
  }
  return 0;
}
