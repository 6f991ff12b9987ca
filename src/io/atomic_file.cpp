#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "evlib/error.hpp"

namespace evlib::detail {

AtomicFile::AtomicFile(const std::string& path, bool overwrite) : path_(path), overwrite_(overwrite) {
  struct stat st {};
  if (!overwrite && ::stat(path.c_str(), &st) == 0) {
    throw IoError(path, "file exists (use --force to replace it)");
  }
  temp_path_ = path + ".evlib-tmp-XXXXXX";
  std::vector<char> name(temp_path_.begin(), temp_path_.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) throw IoError(path, std::string("cannot create temporary file: ") + std::strerror(errno));
  temp_path_ = name.data();
  ::fchmod(fd_, 0644);
  buffer_.resize(std::size_t{4} << 20);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  while (size > 0) {
    if (used_ == buffer_.size()) flush();
    const std::size_t take = std::min(size, buffer_.size() - used_);
    std::memcpy(buffer_.data() + used_, bytes, take);
    used_ += take;
    bytes += take;
    size -= take;
  }
}

void AtomicFile::flush() {
  std::size_t done = 0;
  while (done < used_) {
    const ssize_t r = ::write(fd_, buffer_.data() + done, used_ - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(r);
  }
  written_ += used_;
  used_ = 0;
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
  flush();
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t r = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(r);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw InvalidArgument("AtomicFile::commit called twice");
  flush();
  if (::fsync(fd_) != 0) throw IoError(path_, std::string("fsync failed: ") + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  struct stat st {};
  if (!overwrite_ && ::stat(path_.c_str(), &st) == 0) {
    ::unlink(temp_path_.c_str());
    throw IoError(path_, "file appeared while writing (use --force to replace it)");
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path_.c_str());
    throw IoError(path_, std::string("rename failed: ") + std::strerror(err));
  }
}

}  // namespace evlib::detail
