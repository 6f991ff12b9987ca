// libFuzzer target: the `% key value` header parser shared by RAW and DAT files, the RAW
// encoding/geometry resolution (docs/formats.md 1.3) and the RAW sniff/open helpers built on them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "formats/prophesee/prophesee_header.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace evlib::detail;
  const PercentHeader h = parse_percent_header(data, size);
  EVLIB_FUZZ_CHECK(h.data_offset <= size);
  if (!h.complete) {
    EVLIB_FUZZ_CHECK(h.data_offset == size);
    EVLIB_FUZZ_CHECK(!h.has_end);
  } else {
    // A complete header ends right after a '\n' (or is empty), and, without `% end`, the data
    // does not start with another header line.
    if (h.data_offset != 0) EVLIB_FUZZ_CHECK(data[h.data_offset - 1] == '\n');
    if (!h.has_end && h.data_offset + 1 < size) {
      EVLIB_FUZZ_CHECK(!(data[h.data_offset] == '%' && data[h.data_offset + 1] == ' '));
    }
  }
  for (const auto& [key, value] : h.entries) {
    EVLIB_FUZZ_CHECK(!key.empty());
    EVLIB_FUZZ_CHECK(key.find_first_of(" \t\r\n") == std::string::npos);
    EVLIB_FUZZ_CHECK(value.find('\n') == std::string::npos);
    if (!key.empty()) EVLIB_FUZZ_CHECK(h.find(key) != nullptr);
  }

  const std::uint8_t* payload = data + h.data_offset;
  const std::size_t payload_size = size - h.data_offset;
  // Must not read outside the payload (the encoding guess scans it) nor throw.
  (void)resolve_raw_encoding(h, payload, payload_size);
  (void)looks_like_raw_header(h);
  (void)looks_like_dat_header(h);

  // The registry-level helpers: sniffing under several file names, and opening the header as each
  // RAW encoding (a FormatError is an acceptable answer for a bad header; anything else is not).
  const std::vector<std::uint8_t> prefix(data, data + size);
  for (const char* encoding : {"evt2", "evt21", "evt3"}) {
    for (const char* path : {"fuzz.raw", "fuzz.RAW", "fuzz.bin"}) {
      const int score = sniff_raw(prefix, path, encoding);
      EVLIB_FUZZ_CHECK(score >= 0 && score <= 100);
    }
    evlib::ReadOptions options;
    options.format = (size & 1) ? "" : encoding;
    evlib::Metadata metadata;
    try {
      const RawEncoding enc = open_raw_header("fuzz.raw", prefix, options, metadata, encoding);
      EVLIB_FUZZ_CHECK(enc.name == encoding);
      EVLIB_FUZZ_CHECK(metadata.data_offset == h.data_offset);
      EVLIB_FUZZ_CHECK(metadata.data_offset <= size);
    } catch (const evlib::Error&) {
    }
  }
  return 0;
}
