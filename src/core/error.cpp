#include "evlib/error.hpp"

#include "evlib/reader.hpp"

namespace evlib {

IoError::IoError(const std::string& path, const std::string& detail)
    : Error(path + ": " + detail), path_(path) {}

static std::string format_message(const std::string& path, std::uint64_t offset, const std::string& detail) {
  if (offset == FormatError::kNoOffset) return path + ": " + detail;
  return path + ": at byte " + std::to_string(offset) + ": " + detail;
}

FormatError::FormatError(const std::string& path, std::uint64_t offset, const std::string& detail)
    : Error(format_message(path, offset, detail)), path_(path), offset_(offset), detail_(detail) {}

static std::string supported_list() {
  std::string names;
  for (const auto& name : supported_formats()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

UnsupportedFormat::UnsupportedFormat(const std::string& path, const std::string& detail)
    : Error(path + ": " + detail + " (supported: " + supported_list() + ")") {}

UnsupportedFormat::UnsupportedFormat(const std::string& message) : Error(message) {}

UnsupportedFormat UnsupportedFormat::unavailable(const std::string& path, const std::string& reason) {
  return UnsupportedFormat(path + ": " + reason);
}

}  // namespace evlib
