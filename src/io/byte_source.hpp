#pragma once
// Sequential access to a file's bytes in large windows. Regular files are memory-mapped and each
// window is released (MADV_DONTNEED) once consumed, so resident memory stays at one window
// whatever the file size; other inputs (pipes, character devices) fall back to read() into one
// reused buffer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace evlib::detail {

class ByteSource {
 public:
  static constexpr std::size_t kDefaultWindow = std::size_t{8} << 20;

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
  // Reads stop at this offset (end of file by default).
  void set_end(std::uint64_t offset) noexcept { end_ = offset; }
  bool seekable() const noexcept { return map_ != nullptr; }
  // File offset of the first byte of the window last returned by next().
  std::uint64_t window_offset() const noexcept { return window_offset_; }
  std::uint64_t size() const noexcept { return size_; }  // 0 when unknown (pipes)
  const std::string& path() const noexcept { return path_; }

 private:
  void release_window();
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;       // next byte to hand out
  std::uint64_t end_ = ~std::uint64_t{0};
  std::uint64_t window_offset_ = 0;
  std::size_t window_size_ = 0;
  std::uint64_t last_window_begin_ = 0, last_window_end_ = 0;  // of the mapping, kept after release
  std::uint64_t jumps_ = 0;
  const std::uint8_t* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  std::vector<std::uint8_t> buffer_;  // read() fallback
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
