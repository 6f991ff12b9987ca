#include "io/byte_source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "evlib/error.hpp"

namespace evlib::detail {

namespace {
constexpr std::uint64_t kPage = 4096;

int open_or_throw(const std::string& path) {
  if (path == "-") return ::dup(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path, std::strerror(errno));
  return fd;
}

struct stat stat_or_throw(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError(path, "is a directory");
  return st;
}
}  // namespace

ByteSource::ByteSource(const std::string& path, std::uint64_t offset, std::size_t window)
    : path_(path), position_(offset), window_(window) {
  fd_ = open_or_throw(path);
  const struct stat st = stat_or_throw(fd_, path);
  if (S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (size_ > 0) {
      void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (m != MAP_FAILED) {
        map_ = static_cast<const std::uint8_t*>(m);
        map_bytes_ = size_;
        ::madvise(m, map_bytes_, MADV_SEQUENTIAL);
      }
    }
  }
  if (map_ == nullptr) buffer_.resize(window_);
}

std::vector<std::uint8_t> ByteSource::prefix(std::size_t max_bytes) {
  if (map_ != nullptr) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, size_));
    return {map_, map_ + n};
  }
  while (replay_.size() < max_bytes && !eof_) {
    const std::size_t have = replay_.size();
    replay_.resize(std::min(max_bytes, have + (std::size_t{1} << 16)));
    const ssize_t r = ::read(fd_, replay_.data() + have, replay_.size() - have);
    if (r < 0 && errno == EINTR) {
      replay_.resize(have);
      continue;
    }
    if (r < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
    replay_.resize(have + static_cast<std::size_t>(r));
    stream_read_ += static_cast<std::uint64_t>(r);
    if (r == 0) eof_ = true;
  }
  return {replay_.begin(), replay_.begin() + static_cast<std::ptrdiff_t>(std::min(max_bytes, replay_.size()))};
}

void ByteSource::seek(std::uint64_t offset) {
  if (map_ != nullptr && offset != position_ && last_window_end_ > last_window_begin_) {
    // A jump (a parallel piece's reader moving to its next piece): the page cache may have
    // mapped whole large folios (up to 2 MiB) around the last window, past both of its ends,
    // and nothing read later would release them, so drop the window's surroundings too. A few
    // pages still stay mapped somewhere (a few KiB a piece, from readahead or fault-around), so
    // every 32nd jump drops the whole mapping; doing that on every jump costs 7 % of the speed.
    constexpr std::uint64_t kFolio = std::uint64_t{2} << 20;
    const std::uint64_t begin = last_window_begin_ / kFolio * kFolio;
    const std::uint64_t end = std::min<std::uint64_t>(map_bytes_, (last_window_end_ + kFolio - 1) / kFolio * kFolio);
    if (++jumps_ % 32 == 0) {
      ::madvise(const_cast<std::uint8_t*>(map_), map_bytes_, MADV_DONTNEED);
    } else {
      ::madvise(const_cast<std::uint8_t*>(map_) + begin, end - begin, MADV_DONTNEED);
    }
    window_size_ = 0;
    last_window_begin_ = last_window_end_ = 0;
  }
  position_ = offset;
}

ByteSource::~ByteSource() {
  if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), map_bytes_);
  if (fd_ >= 0) ::close(fd_);
}

void ByteSource::release_window() {
  if (map_ == nullptr || window_size_ == 0) return;
  // Drop the consumed pages from this process (they stay in the page cache): keeps RSS bounded.
  const std::uint64_t begin = window_offset_ / kPage * kPage;
  const std::uint64_t end = (window_offset_ + window_size_) / kPage * kPage;
  if (end > begin) ::madvise(const_cast<std::uint8_t*>(map_) + begin, end - begin, MADV_DONTNEED);
}

std::span<const std::uint8_t> ByteSource::next() {
  // At the end (of the file, or of set_end(): a parallel piece's): the last window stays mapped
  // until the next call with data, or until a jump drops it with its surroundings in one
  // madvise; each madvise interrupts the other threads of the process to flush their TLBs.
  if (map_ != nullptr && position_ >= std::min(size_, end_)) return {};
  release_window();
  window_offset_ = position_;
  window_size_ = 0;
  if (map_ != nullptr) {
    const std::uint64_t end = std::min(size_, end_);
    if (position_ >= end) return {};
    window_size_ = static_cast<std::size_t>(std::min<std::uint64_t>(window_, end - position_));
    position_ += window_size_;
    last_window_begin_ = window_offset_;
    last_window_end_ = position_;
    return {map_ + window_offset_, window_size_};
  }
  // A pipe: first the bytes prefix() read ahead, then read() into the reused buffer.
  if (position_ < replay_.size()) {
    window_size_ = static_cast<std::size_t>(replay_.size() - position_);
    position_ += window_size_;
    return {replay_.data() + window_offset_, window_size_};
  }
  while (stream_read_ < position_ && !eof_) {  // skip to a seek target past the replayed bytes
    const ssize_t r = ::read(fd_, buffer_.data(), std::min<std::uint64_t>(position_ - stream_read_, buffer_.size()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) eof_ = true;
    stream_read_ += static_cast<std::uint64_t>(r);
  }
  if (eof_) return {};
  std::size_t filled = 0;
  while (filled < buffer_.size()) {
    const ssize_t r = ::read(fd_, buffer_.data() + filled, buffer_.size() - filled);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) {
      eof_ = true;
      break;
    }
    filled += static_cast<std::size_t>(r);
  }
  stream_read_ += filled;
  window_offset_ = stream_read_ - filled;
  window_size_ = filled;
  position_ = stream_read_;
  return {buffer_.data(), filled};
}

std::vector<std::uint8_t> read_prefix(const std::string& path, std::size_t max_bytes) {
  const int fd = open_or_throw(path);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw IoError(path, "is a directory");
  }
  std::vector<std::uint8_t> out(max_bytes);
  std::size_t filled = 0;
  while (filled < max_bytes) {
    const ssize_t r = ::pread(fd, out.data() + filled, max_bytes - filled, static_cast<off_t>(filled));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(path, std::string("read failed: ") + std::strerror(err));
    }
    if (r == 0) break;
    filled += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(filled);
  return out;
}

std::uint64_t file_size(const std::string& path) {
  const int fd = open_or_throw(path);
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) throw IoError(path, std::strerror(errno));
  return S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace evlib::detail
