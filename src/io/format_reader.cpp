#include "io/format_reader.hpp"

#include "evlib/error.hpp"

namespace evlib::detail {

void FormatReader::resume(const std::string&, std::uint64_t) {
  throw InvalidArgument("this format cannot resume from a time index snapshot");
}

void FormatReader::set_end(std::uint64_t) { throw InvalidArgument("this format cannot stop at a byte offset"); }

}  // namespace evlib::detail
