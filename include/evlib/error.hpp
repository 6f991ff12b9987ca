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

// No registered format recognises the file, the requested format name is unknown, or this build
// of evlib cannot read or write the format (a dependency left out at configure time).
class UnsupportedFormat : public Error {
 public:
  // "path: detail (supported: evt3, evt2, ...)".
  UnsupportedFormat(const std::string& path, const std::string& detail);
  // A format this build leaves out: "path: reason", e.g. "x.h5: built without HDF5 support
  // (reconfigure with -DEVLIB_WITH_HDF5=ON)".
  static UnsupportedFormat unavailable(const std::string& path, const std::string& reason);

 private:
  explicit UnsupportedFormat(const std::string& message);
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace evlib
