#include "io/format_reader.hpp"

#include "evlib/error.hpp"

namespace evlib::detail {

void FormatReader::resume(const std::string&, std::uint64_t) {
  throw InvalidArgument("this format cannot resume from a time index snapshot");
}

void FormatReader::set_end(std::uint64_t) { throw InvalidArgument("this format cannot stop at a byte offset"); }

std::uint64_t FormatReader::sync_at(std::uint64_t, std::uint64_t) {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

std::optional<std::int64_t> FormatReader::epoch_offset(const std::string&) const { return std::nullopt; }

void FormatReader::resume_synced(const std::string&, std::uint64_t) {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

std::string FormatReader::shift_snapshot(const std::string&, std::int64_t) const {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

}  // namespace evlib::detail
