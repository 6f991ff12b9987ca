#include "formats/prophesee/dat.hpp"

#include <algorithm>
#include <cstdlib>

#include "evlib/error.hpp"
#include "formats/prophesee/prophesee_header.hpp"
#include "io/format_reader.hpp"
#include "io/word_stream_reader.hpp"

namespace evlib::detail {

// Every record carries its own 32-bit time: in sync after one record (the unwrap reference).
std::size_t DatDecoder::sync_prefix_bytes(const std::uint8_t*, std::size_t size) const {
  return std::min<std::size_t>(size, kWordBytes);
}

std::optional<std::int64_t> DatDecoder::epoch_offset(const State& before, const State& fresh) {
  const State& a = before;
  const State& b = fresh;
  if (a.next_offset != b.next_offset || a.partial.len != 0 || b.partial.len != 0 || a.last_t32 != b.last_t32) {
    return std::nullopt;
  }
  return a.loops - b.loops;  // loops counts in units of 2^32 already
}

void DatDecoder::shift_epoch(State& state, std::int64_t time_offset) noexcept { state.loops += time_offset; }

namespace {

bool valid_type_and_size(std::uint8_t type, std::uint8_t size) {
  return size == 8 && (type == 0x00 || type == 0x0C || type == 0x0E);
}

bool has_dat_extension(const std::string& path) {
  return path.size() >= 4 && (path.compare(path.size() - 4, 4, ".dat") == 0 || path.compare(path.size() - 4, 4, ".DAT") == 0);
}

int sniff_dat(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  const PercentHeader h = parse_percent_header(prefix.data(), prefix.size());
  if (h.entries.empty() && !h.has_end) return 0;  // header-less DAT is only read on request
  const bool type_ok = h.data_offset + 2 <= prefix.size() &&
                       valid_type_and_size(prefix[h.data_offset], prefix[h.data_offset + 1]);
  if (looks_like_dat_header(h) && type_ok) return 95;
  if (looks_like_raw_header(h)) return 0;
  return type_ok ? (has_dat_extension(path) ? 60 : 35) : 0;
}

std::uint32_t header_uint(const PercentHeader& h, const char* key) {
  const std::string* v = h.find(key);
  if (v == nullptr) return 0;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v->c_str(), &end, 10);
  return end == v->c_str() || n > 0xFFFF ? 0 : static_cast<std::uint32_t>(n);
}

std::unique_ptr<FormatReader> open_dat(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                       const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  const PercentHeader h = parse_percent_header(prefix.data(), prefix.size());
  if (!h.complete) throw FormatError(path, h.data_offset, "DAT header line unterminated");
  DatConfig config;
  const bool headerless = h.entries.empty() && !h.has_end;
  std::uint64_t data_offset = h.data_offset;
  if (!headerless) {
    if (h.data_offset + 2 > prefix.size()) {
      throw FormatError(path, h.data_offset, "DAT file ends before the event type and size bytes");
    }
    const std::uint8_t type = prefix[h.data_offset], size = prefix[h.data_offset + 1];
    if (size != 8) {
      throw FormatError(path, h.data_offset + 1, "unsupported DAT event size " + std::to_string(size) + " (expected 8)");
    }
    if (!valid_type_and_size(type, size)) {
      throw FormatError(path, h.data_offset, "unsupported DAT event type " + std::to_string(type));
    }
    config.event_type = type;
    data_offset += 2;
  } else {
    config.event_type = 0x00;  // docs/formats.md 5.1: a file without any `% ` line is Event2d, size 8
  }
  if (const std::string* version = h.find("Version")) config.version = std::atoi(version->c_str()) == 1 ? 1 : 2;
  if (options.width > 0x10000 || options.height > 0x10000) throw InvalidArgument("width and height must be at most 65536");
  config.width = options.width != 0 ? options.width : header_uint(h, "Width");
  config.height = options.height != 0 ? options.height : header_uint(h, "Height");
  config.stream_offset = data_offset;
  config.filter = options.filter;
  metadata.format = "dat";
  metadata.width = config.width;
  metadata.height = config.height;
  metadata.header = h.entries;
  metadata.data_offset = data_offset;
  return std::make_unique<WordStreamReader<DatDecoder>>(std::move(source), data_offset, DatDecoder(config), options.strict);
}

}  // namespace

FormatDecoder dat_decoder() { return {&sniff_dat, &open_dat}; }

}  // namespace evlib::detail
