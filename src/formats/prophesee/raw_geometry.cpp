#include "formats/prophesee/raw_geometry.hpp"

#include <string>

#include "evlib/error.hpp"

namespace evlib::detail {

RawGeometry RawGeometry::of(const WriteOptions& options, const char* format) {
  const RawGeometry geometry{options.width != 0 ? options.width : 2048, options.height != 0 ? options.height : 2048, format};
  if (geometry.width > 2048 || geometry.height > 2048) {
    throw InvalidArgument(std::string(format) + " addresses at most 2048x2048 pixels (11-bit coordinates): cannot write a " +
                          std::to_string(geometry.width) + "x" + std::to_string(geometry.height) +
                          " geometry (.npy, .npz and plain .h5 files hold any)");
  }
  return geometry;
}

void RawGeometry::throw_outside(std::size_t index, std::uint32_t x, std::uint32_t y) const {
  throw InvalidArgument("event " + std::to_string(index) + " at (" + std::to_string(x) + ", " + std::to_string(y) +
                        ") is outside the " + std::to_string(width) + "x" + std::to_string(height) + " " + format +
                        " geometry");
}

}  // namespace evlib::detail
