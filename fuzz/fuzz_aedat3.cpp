// libFuzzer target: the AEDAT 3.x packet decoder (src/formats/inivation/aedat3.hpp) with the chunking-
// invariance and geometry oracles of fuzz_common.hpp. Packet headers, sizes and counts come
// straight from the input, so damaged framing, huge capacities and truncated packets are covered.
//
// Control prefix (5 bytes, fuzz_common.hpp): byte 0 is reinterpreted here:
//   bits 0-2  geometry: unknown (bounded by 0x8000), 128x128, 240x180, 346x260, 1x1, 17x9,
//             640x480, 32768x32768
//   bit 3     AEDAT 3.0 (bottom-left origin: y flipped)
// bytes 1-4 as in fuzz_common.hpp (split point, sink size, piece size).
#include "formats/inivation/aedat3.hpp"

#include "fuzz_common.hpp"

namespace {
constexpr std::uint32_t kW[8] = {0, 128, 240, 346, 1, 17, 640, 32768};
constexpr std::uint32_t kH[8] = {0, 128, 180, 260, 1, 9, 480, 32768};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  evlib_fuzz::Control c;
  if (!evlib_fuzz::parse_control(data, size, /*dat=*/false, c)) return 0;
  evlib::detail::Aedat3Config config;
  config.width = kW[data[0] & 7];
  config.height = kH[data[0] & 7];
  config.flip_y = (data[0] & 8) != 0;
  config.stream_offset = evlib_fuzz::kControlBytes;
  const std::uint32_t w = config.width == 0 ? 0x8000 : config.width, h = config.height == 0 ? 0x8000 : config.height;
  auto make = [&] { return evlib::detail::Aedat3Decoder(config); };
  const evlib_fuzz::Decoded chunked = evlib_fuzz::decode_chunked(make, c, w, h);
  const evlib_fuzz::Decoded whole = evlib_fuzz::decode_whole(make(), c, w, h);
  evlib_fuzz::check_same(chunked, whole);
  EVLIB_FUZZ_CHECK(chunked.stats.skipped_records == whole.stats.skipped_records);
  EVLIB_FUZZ_CHECK(chunked.stats.invalid_events == whole.stats.invalid_events);
  EVLIB_FUZZ_CHECK(chunked.stats.corrupt_packets == whole.stats.corrupt_packets);
  EVLIB_FUZZ_CHECK(whole.stats.trailing_bytes <= c.size);
  return 0;
}
