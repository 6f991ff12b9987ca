// HDF5 detection without libhdf5 (see hdf5.hpp): compiled whatever EVLIB_WITH_HDF5 says.
#include <cstring>

#include "formats/hdf5/hdf5.hpp"

namespace evlib::detail {

namespace {
constexpr std::uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1A, '\n'};
}  // namespace

// The superblock signature sits at offset 0 or, after a user block, at 512, 1024, 2048, ...
int sniff_hdf5(const std::vector<std::uint8_t>& prefix, const std::string&) {
  for (std::size_t offset = 0; offset + sizeof kSignature <= prefix.size(); offset = offset == 0 ? 512 : offset * 2) {
    if (std::memcmp(prefix.data() + offset, kSignature, sizeof kSignature) == 0) return 100;
  }
  return 0;
}

}  // namespace evlib::detail
