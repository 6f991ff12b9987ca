#pragma once
// Sequential access to a file's bytes in windows. Regular files are read with pread() into one
// reused buffer of `window` bytes, at any offset; other inputs (pipes, character devices, `-`)
// with read() into the same buffer, forward only. Resident memory is one window whatever the
// file size. Mapping the file instead was measured slower on this kind of machine (EVT 3.0
// streaming, 100 M events: 533 against 600 M events/s on one thread): page faults, the madvise
// that keeps the mapping from growing, and the TLB shootdowns it sends to the other threads
// cost more than the copy, and the copy leaves the window in the core's cache.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace evlib::detail {

class ByteSource {
 public:
  static constexpr std::size_t kDefaultWindow = std::size_t{1} << 20;

  // Opens path and positions it at byte `offset`; reads stop at `end` (file size when 0).
  ByteSource(const std::string& path, std::uint64_t offset, std::size_t window = kDefaultWindow);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // The next window of bytes; empty at end of input. The previous window is invalidated.
  std::span<const std::uint8_t> next();
  // Up to max_bytes from the start of the input, without moving the read position. On a pipe
  // the bytes are kept and replayed by next(); call it before the first next().
  std::vector<std::uint8_t> prefix(std::size_t max_bytes);
  // Moves the read position to `offset`: anywhere on a seekable input, only forward (before the
  // first next()) on a pipe.
  void seek(std::uint64_t offset);
  // Reads stop at this offset (end of file by default). An offset past the end of a regular
  // file is one an earlier open of it had: reaching the end then throws IoError (it shrank).
  void set_end(std::uint64_t offset) noexcept { end_ = offset; }
  bool seekable() const noexcept { return regular_; }
  // File offset of the first byte of the window last returned by next().
  std::uint64_t window_offset() const noexcept { return window_offset_; }
  std::uint64_t size() const noexcept { return size_; }  // 0 when unknown (pipes)
  const std::string& path() const noexcept { return path_; }
  // Reads up to `bytes` at `offset` (fewer only at the end of the file), leaving the window alone.
  // Throws IoError when the file turns out shorter than its size at open (it shrank).
  std::size_t read_at(std::uint8_t* out, std::size_t bytes, std::uint64_t offset);

 private:
  static constexpr std::uint64_t kNoEnd = ~std::uint64_t{0};
  [[noreturn]] void throw_shrunk(std::uint64_t expected) const;

  std::string path_;
  int fd_ = -1;
  bool regular_ = false;  // a regular file: pread() anywhere
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;  // next byte to hand out
  std::uint64_t end_ = kNoEnd;
  std::uint64_t window_offset_ = 0;
  std::size_t window_size_ = 0;
  std::unique_ptr<std::uint8_t[]> buffer_;  // the window (window_ bytes), reused
  std::vector<std::uint8_t> replay_;  // bytes read ahead by prefix() on a pipe
  std::uint64_t stream_read_ = 0;     // bytes taken from the pipe so far
  std::size_t window_;
  bool eof_ = false;
};

// Up to max_bytes from the start of a file (for sniffing and headers).
std::vector<std::uint8_t> read_prefix(const std::string& path, std::size_t max_bytes);
// Size of a regular file; throws IoError when it cannot be opened.
std::uint64_t file_size(const std::string& path);

}  // namespace evlib::detail
