// libFuzzer target: DAT record decoder (Event2d, EventCD, EventExtTrigger; versions 1 and 2),
// chunking invariance and geometry invariants (fuzz_common.hpp).
#include "formats/prophesee/dat.hpp"

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  evlib_fuzz::Control c;
  if (!evlib_fuzz::parse_control(data, size, /*dat=*/true, c)) return 0;
  evlib::detail::DatConfig config;
  config.width = c.width;  // 0: no geometry, the decoder bounds x and y by 0x10000
  config.height = c.height;
  config.event_type = c.dat_type;
  config.version = c.dat_version;
  config.stream_offset = evlib_fuzz::kControlBytes;
  const std::uint32_t w = c.width == 0 ? 0x10000 : c.width, h = c.height == 0 ? 0x10000 : c.height;
  const evlib_fuzz::Decoded whole = evlib_fuzz::run_oracle(c, w, h, [&] { return evlib::detail::DatDecoder(config); });
  evlib_fuzz::run_filter_oracle(c, w, h, whole, [&](const evlib::EventFilter& filter) {
    evlib::detail::DatConfig cfg = config;
    cfg.filter = filter;
    return evlib::detail::DatDecoder(cfg);
  });
  return 0;
}
