#pragma once
// The `% key value` header shared by Prophesee RAW and DAT files (docs/formats.md 1.1, 1.3, 5.1).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace evlib::detail {

struct PercentHeader {
  std::vector<std::pair<std::string, std::string>> entries;
  std::uint64_t data_offset = 0;  // first byte after the header
  bool has_end = false;           // terminated by `% end`
  bool complete = true;           // false when the prefix ended inside a header line

  const std::string* find(const std::string& key) const;
};

// Parses header lines at the start of bytes. Never reads past size.
PercentHeader parse_percent_header(const std::uint8_t* bytes, std::size_t size);

// Encoding and geometry of a RAW file, resolved as docs/formats.md 1.3 describes.
struct RawEncoding {
  std::string name;         // "evt2", "evt21", "evt3", or another format's name in lower case
  std::uint32_t width = 0;  // 0 when nothing in the header says
  std::uint32_t height = 0;
  std::string endianness;   // EVT 2.1: "little", "legacy" or "" (decide from content)
};

// Returns nullopt when the header names no encoding and nothing implies one; payload is the
// start of the binary data, used only to guess the encoding as a last resort.
std::optional<RawEncoding> resolve_raw_encoding(const PercentHeader& header, const std::uint8_t* payload,
                                                std::size_t payload_size);

// True when the header has keys only a RAW file carries.
bool looks_like_raw_header(const PercentHeader& header);
// True when the header has keys only a DAT file carries.
bool looks_like_dat_header(const PercentHeader& header);

}  // namespace evlib::detail

#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"

namespace evlib::detail {

// Confidence that prefix is a RAW file in `encoding` ("evt2", "evt21", "evt3").
int sniff_raw(const std::vector<std::uint8_t>& prefix, const std::string& path, const char* encoding);

// Parses a RAW header into metadata (format, geometry, header keys, data offset), with the
// caller's overrides applied. Throws FormatError when the header is unusable.
RawEncoding open_raw_header(const std::string& path, const std::vector<std::uint8_t>& prefix,
                            const ReadOptions& options, Metadata& metadata, const char* encoding);

}  // namespace evlib::detail
