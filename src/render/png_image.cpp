#include "evlib/render/png_image.hpp"

#include <png.h>

#include <csetjmp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "evlib/error.hpp"
#include "io/atomic_file.hpp"

namespace evlib::render {

namespace {

// libpng reports errors by longjmp to the setjmp of the function that called it; the functions
// holding a setjmp keep no object with a destructor alive across libpng calls (only these
// plain structs), so the jump skips nothing.
struct PngError {
  char message[256] = "unknown libpng error";
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* error = static_cast<PngError*>(png_get_error_ptr(png));
  std::snprintf(error->message, sizeof error->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

struct ByteSink {
  std::vector<std::uint8_t>* out;
  bool failed = false;
};

void append_bytes(png_structp png, png_bytep data, png_size_t size) {
  auto* sink = static_cast<ByteSink*>(png_get_io_ptr(png));
  try {
    sink->out->insert(sink->out->end(), data, data + size);
  } catch (...) {
    sink->failed = true;
    png_error(png, "out of memory");
  }
}

void flush_nothing(png_structp) {}

// Returns false with error->message set when libpng failed.
bool encode_into(std::vector<std::uint8_t>& out, const std::uint8_t* rgb, std::uint32_t width, std::uint32_t height,
                 int compression, PngError* error) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, on_png_error, on_png_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  ByteSink sink{&out};
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &sink, append_bytes, flush_nothing);
  png_set_compression_level(png, compression);
  // Sub and Up filters only: nearly all of the size gain of the adaptive choice on event frames
  // (flat backgrounds) at a fraction of its time.
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (std::uint32_t row = 0; row < height; ++row)
    png_write_row(png, rgb + std::size_t{row} * width * 3);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

bool decode_from(std::FILE* file, RgbImage& image, PngError* error) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, on_png_error, on_png_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_read_update_info(png, info);
  image.width = png_get_image_width(png, info);
  image.height = png_get_image_height(png, info);
  image.rgb.resize(std::size_t{image.width} * image.height * 3);
  for (std::uint32_t row = 0; row < image.height; ++row)
    png_read_row(png, image.rgb.data() + std::size_t{row} * image.width * 3, nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

std::vector<std::uint8_t> encode_png(std::span<const std::uint8_t> rgb, std::uint32_t width, std::uint32_t height,
                                     int compression) {
  if (width == 0 || height == 0 || rgb.size() != std::size_t{width} * height * 3)
    throw InvalidArgument("PNG: the image is not " + std::to_string(width) + "x" + std::to_string(height) + " RGB");
  std::vector<std::uint8_t> out;
  out.reserve(rgb.size() / 8);
  PngError error;
  if (!encode_into(out, rgb.data(), width, height, compression, &error))
    throw Error(std::string("PNG encoding failed: ") + error.message);
  return out;
}

void write_png(const std::string& path, std::span<const std::uint8_t> rgb, std::uint32_t width, std::uint32_t height,
               bool overwrite) {
  const std::vector<std::uint8_t> bytes = encode_png(rgb, width, height);
  detail::AtomicFile file(path, overwrite);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

RgbImage read_png(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  png_byte signature[8] = {};
  if (std::fread(signature, 1, 8, file.get()) != 8 || png_sig_cmp(signature, 0, 8) != 0)
    throw FormatError(path, FormatError::kNoOffset, "not a PNG file (no PNG signature)");
  std::rewind(file.get());
  RgbImage image;
  PngError error;
  if (!decode_from(file.get(), image, &error)) throw FormatError(path, FormatError::kNoOffset, std::string("damaged PNG: ") + error.message);
  return image;
}

namespace {

// The position and width of the one integer conversion of a pattern; InvalidArgument otherwise.
struct Conversion {
  std::size_t begin = std::string::npos, end = 0;
  int width = 0;
  bool zero_pad = false;
};

Conversion find_conversion(const std::string& pattern, bool throw_on_error) {
  Conversion found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    Conversion c{i, 0, 0, false};
    if (j < pattern.size() && pattern[j] == '0') c.zero_pad = true, ++j;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9' && c.width < 100) c.width = c.width * 10 + (pattern[j++] - '0');
    const bool ok = j < pattern.size() && pattern[j] == 'd' && found.begin == std::string::npos && c.width <= 20;
    if (!ok) {
      if (throw_on_error)
        throw InvalidArgument("output pattern '" + pattern + "': only one %d or %0Nd conversion is allowed (%% for a percent sign)");
      return {};
    }
    c.end = j + 1;
    found = c;
    i = j;
  }
  return found;
}

}  // namespace

bool is_frame_pattern(const std::string& path) { return find_conversion(path, false).begin != std::string::npos; }

std::string frame_path(const std::string& pattern, std::uint64_t index) {
  const Conversion c = find_conversion(pattern, true);
  if (c.begin == std::string::npos) throw InvalidArgument("output pattern '" + pattern + "' has no %d or %0Nd");
  std::string number = std::to_string(index);
  if (static_cast<int>(number.size()) < c.width) number.insert(0, std::size_t(c.width) - number.size(), c.zero_pad ? '0' : ' ');
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (i == c.begin) {
      out += number;
      i = c.end - 1;
    } else if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

namespace {

// The literal text of a pattern's part (%% unescaped).
std::string literal(std::string_view part) {
  std::string out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    out += part[i];
    if (part[i] == '%' && i + 1 < part.size() && part[i + 1] == '%') ++i;
  }
  return out;
}

}  // namespace

std::optional<std::string> existing_frame(const std::string& pattern) {
  const Conversion c = find_conversion(pattern, true);
  if (c.begin == std::string::npos) throw InvalidArgument("output pattern '" + pattern + "' has no %d or %0Nd");
  const std::size_t slash = pattern.rfind('/');
  const std::size_t name_begin = slash == std::string::npos ? 0 : slash + 1;
  if (c.begin < name_begin) {  // the number names a directory: look at the first frame's only
    const std::string first = frame_path(pattern, 0);
    std::error_code ec;
    return std::filesystem::exists(first, ec) ? std::optional(first) : std::nullopt;
  }
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : literal(std::string_view(pattern).substr(0, slash)));
  const std::string prefix = literal(std::string_view(pattern).substr(name_begin, c.begin - name_begin));
  const std::string suffix = literal(std::string_view(pattern).substr(c.end));
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    const std::string_view number = std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    // What frame_path writes: the digits, padded to the width with zeros or blanks.
    const std::size_t digits = number.find_first_not_of(' ');
    if (digits == std::string_view::npos) continue;
    if (number.substr(digits).find_first_not_of("0123456789") == std::string_view::npos)
      return (slash == std::string::npos ? std::string() : pattern.substr(0, name_begin)) + name;
  }
  return std::nullopt;
}

}  // namespace evlib::render
