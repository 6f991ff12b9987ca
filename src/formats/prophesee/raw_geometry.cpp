#include "formats/prophesee/raw_geometry.hpp"

#include <string>

#include "evlib/error.hpp"

namespace evlib::detail {

void RawGeometry::throw_outside(std::size_t index, std::uint32_t x, std::uint32_t y) const {
  throw InvalidArgument("event " + std::to_string(index) + " at (" + std::to_string(x) + ", " + std::to_string(y) +
                        ") is outside the " + std::to_string(width) + "x" + std::to_string(height) + " " + format +
                        " geometry");
}

}  // namespace evlib::detail
