#pragma once
// The `#` text header shared by AEDAT 1.0, 2.0 and 3.x files (docs/formats.md 9.1, 10.1), and the
// version line AEDAT 4.0 starts with. Parsed in one place for every AEDAT reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace evlib::detail {

// Header lines and where the binary data starts.
struct AedatHeader {
  int major = 1;                 // from "#!AER-DATx.y"; a file without the line is 1.0
  int minor = 0;
  bool has_version_line = false;
  std::uint64_t data_offset = 0; // first byte after the header
  bool complete = false;         // false when the bytes ended inside a header line (more may follow)
  bool sentinel = false;         // ended at "#End Of ASCII Header" (jAER) or "#!END-HEADER" (3.x)
  std::size_t line_count = 0;
  // "key: value" lines in file order ("AEChip", "Source 1", "Creation time", ...). Lines of the
  // jAER preferences block (an XML dump) are skipped.
  std::vector<std::pair<std::string, std::string>> entries;

  const std::string* find(std::string_view key) const;
  // The first entry whose key starts with prefix ("Source" matches "Source 1").
  const std::pair<std::string, std::string>* find_prefix(std::string_view prefix) const;
};

// Parses the `#` lines at the start of bytes[0, size). at_eof says that nothing follows the
// bytes, so a final header line without a line end still ends the header. Never reads past size.
AedatHeader parse_aedat_header(const std::uint8_t* bytes, std::size_t size, bool at_eof);

// Finds where the header of a file ends when it is longer than the prefix that was parsed:
// continues the line scan from `from` (the start of an unfinished header line) to the end of the
// header, reading the file in windows. Throws FormatError when path cannot be re-read (a pipe).
std::uint64_t find_aedat_header_end(const std::string& path, std::uint64_t from);

// The version in a "#!AER-DATx.y" first line, as major * 10 + minor (20 for 2.0), or -1.
int aedat_version_line(const std::uint8_t* bytes, std::size_t size);

}  // namespace evlib::detail
