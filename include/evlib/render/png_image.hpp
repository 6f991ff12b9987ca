#pragma once
// 8-bit RGB images as PNG files, through libpng (docs/rendering.md "Output").
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace evlib::render {

struct RgbImage {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // height * width * 3, row-major
};

// The PNG encoding of an RGB image (compression level 0-9, zlib's).
std::vector<std::uint8_t> encode_png(std::span<const std::uint8_t> rgb, std::uint32_t width, std::uint32_t height,
                                     int compression = 2);
// Writes it to path atomically (a temporary file renamed into place); IoError naming the path
// when it cannot be written, or when it exists and !overwrite.
void write_png(const std::string& path, std::span<const std::uint8_t> rgb, std::uint32_t width, std::uint32_t height,
               bool overwrite = true);
// Reads a PNG back as 8-bit RGB (gray, palette, alpha and 16-bit images converted); FormatError
// naming the path when it is no PNG.
RgbImage read_png(const std::string& path);

// The path of frame `index` for an output pattern holding one printf integer conversion
// (%d or %0Nd; %% is a percent sign), e.g. "frames/f_%05d.png". InvalidArgument otherwise.
std::string frame_path(const std::string& pattern, std::uint64_t index);
// Whether path holds such a conversion.
bool is_frame_pattern(const std::string& path);
// A file that frame_path(pattern, some index) names and that exists already, if any (the
// directory is listed once; a pattern whose number is in a directory name checks frame 0 only).
std::optional<std::string> existing_frame(const std::string& pattern);

}  // namespace evlib::render
