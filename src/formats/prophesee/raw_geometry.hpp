#pragma once
// The sensor geometry the RAW writers (EVT 2.0, 2.1, 3.0) check events against: the options'
// size, else 2048 x 2048, the most their 11-bit coordinates address (a larger size is refused
// when the writer is made: x = 3000 would spill into the neighbouring bits of the word). The
// check runs per event, so the comparison is inline and only the throw is out of line.
#include <cstddef>
#include <cstdint>

#include "evlib/writer.hpp"

namespace evlib::detail {

struct RawGeometry {
  std::uint32_t width = 2048, height = 2048;
  const char* format = "";  // "EVT2", ... for the error message

  // Throws InvalidArgument when the options' size is past 2048 x 2048.
  static RawGeometry of(const WriteOptions& options, const char* format);
  void check(std::size_t index, std::uint32_t x, std::uint32_t y) const {
    if (x >= width || y >= height) [[unlikely]] throw_outside(index, x, y);
  }
  // InvalidArgument naming the event, its position and the geometry.
  [[noreturn, gnu::cold, gnu::noinline]] void throw_outside(std::size_t index, std::uint32_t x, std::uint32_t y) const;
};

}  // namespace evlib::detail
