#include "io/byte_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "evlib/error.hpp"

namespace evlib::detail {

namespace {

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
    : path_(path), position_(offset), window_(std::max<std::size_t>(window, 1)) {
  fd_ = open_or_throw(path);
  const struct stat st = stat_or_throw(fd_, path);
  // Standard input redirected from a file is that file, read anywhere, unless something read part
  // of it first: then it is what is left, read forward like a pipe.
  if (S_ISREG(st.st_mode) && (path != "-" || ::lseek(fd_, 0, SEEK_CUR) == 0)) {
    regular_ = true;
    size_ = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);  // a longer readahead; only a hint
  }
}

std::size_t ByteSource::read_at(std::uint8_t* out, std::size_t bytes, std::uint64_t offset) {
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t r = ::pread(fd_, out + filled, bytes - filled, static_cast<off_t>(offset + filled));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("read failed at byte ") + std::to_string(offset + filled) + ": " + std::strerror(errno));
    if (r == 0) break;
    filled += static_cast<std::size_t>(r);
  }
  if (filled < bytes && offset + filled < size_) throw_shrunk(size_);
  return filled;
}

// Bytes the size at open promised are gone: another process truncated or rewrote the file while
// it was read. What was decoded is a prefix of a file that no longer exists, so this is an error,
// not the end of the data.
void ByteSource::throw_shrunk(std::uint64_t expected) const {
  struct stat st {};
  const std::string now = ::fstat(fd_, &st) == 0 ? std::to_string(st.st_size) : std::string("fewer");
  throw IoError(path_, "the file shrank while it was read (" + std::to_string(expected) + " bytes expected, " + now +
                           " now): another process truncated or rewrote it");
}

std::vector<std::uint8_t> ByteSource::prefix(std::size_t max_bytes) {
  if (regular_) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, size_)));
    out.resize(read_at(out.data(), out.size(), 0));
    return out;
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

void ByteSource::seek(std::uint64_t offset) { position_ = offset; }

ByteSource::~ByteSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::span<const std::uint8_t> ByteSource::next() {
  // Not zeroed: every byte handed out was read first.
  if (!buffer_) buffer_ = std::make_unique_for_overwrite<std::uint8_t[]>(window_);
  window_offset_ = position_;
  window_size_ = 0;
  if (regular_) {
    const std::uint64_t end = std::min(size_, end_);
    // An end past the size: set from an earlier open of the file (parallel pieces, index
    // segments), which had more bytes than this one finds.
    if (position_ >= end && end_ != kNoEnd && end_ > size_) throw_shrunk(end_);
    if (position_ >= end) return {};
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(window_, end - position_));
    window_size_ = read_at(buffer_.get(), want, position_);
    position_ += window_size_;
    return {buffer_.get(), window_size_};
  }
  // A pipe: first the bytes prefix() read ahead, then read() into the reused buffer.
  if (position_ < replay_.size()) {
    window_size_ = static_cast<std::size_t>(replay_.size() - position_);
    position_ += window_size_;
    return {replay_.data() + window_offset_, window_size_};
  }
  while (stream_read_ < position_ && !eof_) {  // skip to a seek target past the replayed bytes
    const ssize_t r = ::read(fd_, buffer_.get(), std::min<std::uint64_t>(position_ - stream_read_, window_));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) eof_ = true;
    stream_read_ += static_cast<std::uint64_t>(r);
  }
  if (eof_) return {};
  std::size_t filled = 0;
  while (filled < window_) {
    const ssize_t r = ::read(fd_, buffer_.get() + filled, window_ - filled);
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
  return {buffer_.get(), filled};
}

std::vector<std::uint8_t> read_prefix(const std::string& path, std::size_t max_bytes) {
  return ByteSource(path, 0, 1).prefix(max_bytes);  // the window buffer is never allocated here
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
