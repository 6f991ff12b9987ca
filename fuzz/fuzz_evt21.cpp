// libFuzzer target: EVT 2.1 decoder (little and legacy layouts), chunking invariance and geometry
// invariants (fuzz_common.hpp).
#include "formats/prophesee/evt21.hpp"

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  evlib_fuzz::Control c;
  if (!evlib_fuzz::parse_control(data, size, /*dat=*/false, c)) return 0;
  evlib::detail::WordDecoderConfig config;
  config.width = c.width;
  config.height = c.height;
  config.metavision_time_shift = c.time_shift;
  config.stream_offset = evlib_fuzz::kControlBytes;
  const evlib_fuzz::Decoded whole =
      evlib_fuzz::run_oracle(c, c.width, c.height, [&] { return evlib::detail::Evt21Decoder(config, c.legacy); });
  evlib_fuzz::run_filter_oracle(c, c.width, c.height, whole, [&](const evlib::EventFilter& filter) {
    evlib::detail::WordDecoderConfig cfg = config;
    cfg.filter = filter;
    return evlib::detail::Evt21Decoder(cfg, c.legacy);
  });
  // The layout guess must never read past the bytes it is given.
  (void)evlib::detail::Evt21Decoder::guess_legacy_layout(c.payload, c.size);
  return 0;
}
