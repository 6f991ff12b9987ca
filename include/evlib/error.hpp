#pragma once
// The exception hierarchy. Corrupt words inside a stream are counted (DecodeStats), not thrown;
// these are for I/O failures, malformed containers, strict-mode violations and API misuse.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace evlib {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The operating system refused an operation on a file (open, read, write, rename).
class IoError : public Error {
 public:
  IoError(const std::string& path, const std::string& detail);
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// The bytes of a file do not follow its format. offset is the absolute byte offset in the file.
class FormatError : public Error {
 public:
  static constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};
  FormatError(const std::string& path, std::uint64_t offset, const std::string& detail);
  const std::string& path() const noexcept { return path_; }
  std::uint64_t offset() const noexcept { return offset_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string path_;
  std::uint64_t offset_;
  std::string detail_;
};

// No registered format recognises the file, or the requested format name is unknown.
class UnsupportedFormat : public Error {
 public:
  UnsupportedFormat(const std::string& path, const std::string& detail);
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace evlib
