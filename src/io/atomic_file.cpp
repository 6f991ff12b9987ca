#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "evlib/error.hpp"
#include "evlib/temporary_files.hpp"

namespace evlib {

namespace {

// The temporary files a signal handler may have to remove, in fixed storage it can read without
// allocating. A slot is claimed (kFilling), its path copied, then published (kReady).
constexpr int kCleanupSlots = 32;
constexpr int kFree = 0, kFilling = 1, kReady = 2;
struct CleanupSlot {
  std::atomic<int> state{kFree};
  char path[PATH_MAX];
};
CleanupSlot g_cleanup[kCleanupSlots];

int remember_for_cleanup(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kCleanupSlots; ++i) {
    int expected = kFree;
    if (g_cleanup[i].state.compare_exchange_strong(expected, kFilling)) {
      std::memcpy(g_cleanup[i].path, path.c_str(), path.size() + 1);
      g_cleanup[i].state.store(kReady, std::memory_order_release);
      return i;
    }
  }
  return -1;  // more unfinished writes than slots: this one is removed by unwinding only
}

void forget_for_cleanup(int slot) {
  if (slot >= 0) g_cleanup[slot].state.store(kFree, std::memory_order_release);
}

}  // namespace

void remove_temporary_files() noexcept {
  for (auto& slot : g_cleanup) {
    if (slot.state.load(std::memory_order_acquire) == kReady) ::unlink(slot.path);
  }
}

}  // namespace evlib

namespace evlib::detail {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) { return (dir == "/" ? "" : dir) + "/" + name; }

// The path with the symbolic links of its last component followed, as open() would; a dangling
// link gives the path it names.
std::string follow_links(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    char target[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), target, sizeof target);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof target) return p;
    const std::string next(target, static_cast<std::size_t>(n));
    p = next.front() == '/' ? next : join(directory_of(p), next);
  }
  throw IoError(path, "too many levels of symbolic links");
}

std::string kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "a special file";
}

// Why a file cannot be created in dir, said as what to do about it.
std::string cannot_create_in(const std::string& dir, int err) {
  switch (err) {
    case EACCES:
    case EPERM: return "cannot create a file in " + dir + " (permission denied): write to a directory you can write to";
    case ENOENT: return "the directory " + dir + " does not exist";
    case ENOTDIR: return dir + " is not a directory";
    case EROFS: return dir + " is on a read-only file system: write elsewhere";
    case ENOSPC:
    case EDQUOT: return "no space left in " + dir + ": free some or write elsewhere";
    default: return "cannot create a file in " + dir + ": " + std::strerror(err);
  }
}

std::string temporary_directory() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path, bool overwrite, NonRegular non_regular)
    : path_(path), overwrite_(overwrite) {
  if (path.empty()) throw InvalidArgument("the output path is empty");
  if (path.back() == '/') throw IoError(path, "names a directory: give a file name");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    const bool stream = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
    if (stream && non_regular == NonRegular::kWriteInPlace) {
      open_in_place();
      return;
    }
    if (S_ISDIR(st.st_mode)) throw IoError(path, "is a directory: give a file name");
    if (!S_ISREG(st.st_mode)) throw IoError(path, "is " + kind_of(st.st_mode) + ", not a regular file: give a file name");
    if (!overwrite) throw IoError(path, "file exists (replace it with --force, or overwrite=True in Python)");
  } else if (errno != ENOENT) {
    throw IoError(path, std::string("cannot write here: ") + std::strerror(errno));
  }
  target_ = follow_links(path);
  create_temporary();
}

void AtomicFile::open_in_place() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);  // a FIFO: waits for its reader
  if (fd_ < 0) {
    const int err = errno;
    throw IoError(path_, err == EINTR ? std::string("interrupted while waiting for a reader to open it")
                                      : std::string("cannot open it for writing: ") + std::strerror(err));
  }
  in_place_ = true;
  capacity_ = std::size_t{1} << 20;
  buffer_.reset(new unsigned char[capacity_]);
}

void AtomicFile::create_temporary() {
  const std::string dir = directory_of(target_);
  std::string name = join(dir, ".evlib-tmp-XXXXXX");
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) throw IoError(path_, cannot_create_in(dir, errno));
  temp_path_ = name;
  cleanup_slot_ = remember_for_cleanup(temp_path_);
  ::fchmod(fd_, 0644);
  capacity_ = std::size_t{4} << 20;
  buffer_.reset(new unsigned char[capacity_]);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  if (!in_place_) {
    ::unlink(temp_path_.c_str());
    forget_for_cleanup(cleanup_slot_);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (size >= kDirectWriteBytes) {
    flush();
    write_through(bytes, size);
    return;
  }
  while (size > 0) {
    if (used_ == capacity_) flush();
    const std::size_t take = std::min(size, capacity_ - used_);
    std::memcpy(buffer_.get() + used_, bytes, take);
    used_ += take;
    bytes += take;
    size -= take;
  }
}

void AtomicFile::write_failed(int err) const {
  std::string detail = "write failed after " + std::to_string(written_) + " bytes: " + std::strerror(err);
  if (err == EFBIG) detail += " (over the file-size limit: ulimit -f, or the file system's maximum)";
  if (err == ENOSPC || err == EDQUOT) detail += " (free some space or write elsewhere)";
  if (err == EPIPE) detail += " (the reader of the pipe went away)";
  throw IoError(path_, detail);
}

void AtomicFile::write_through(const unsigned char* bytes, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t r = ::write(fd_, bytes + done, size - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) write_failed(errno);
    done += static_cast<std::size_t>(r);
    written_ += static_cast<std::size_t>(r);
  }
}

void AtomicFile::flush() {
  write_through(buffer_.get(), used_);
  used_ = 0;
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
  flush();
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t r = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) write_failed(errno);
    done += static_cast<std::size_t>(r);
  }
}

void AtomicFile::require_seekable(const std::string& format) const {
  if (!in_place_ || ::lseek(fd_, 0, SEEK_CUR) >= 0) return;
  throw IoError(path_, "is a pipe or terminal, and a " + format +
                           " file is finished by going back to its header: write it to a regular file");
}

const std::string& AtomicFile::temp_path() const {
  if (in_place_) {
    throw IoError(path_, "is not a regular file, and this format can only be written to one: write it to a regular file");
  }
  return temp_path_;
}

int AtomicFile::open_scratch() const {
  const std::string dir = in_place_ ? temporary_directory() : directory_of(target_);
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  // A file system without O_TMPFILE: a named file, unlinked at once.
  std::string name = join(dir, ".evlib-spool-XXXXXX");
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw IoError(path_, "scratch file: " + cannot_create_in(dir, errno));
  ::unlink(name.c_str());
  return fd;
}

void AtomicFile::commit() {
  if (fd_ < 0) throw InvalidArgument("AtomicFile::commit called twice");
  flush();
  if (in_place_) {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0 && errno != EINTR) write_failed(errno);
    return;
  }
  if (::fsync(fd_) != 0) throw IoError(path_, std::string("fsync failed: ") + std::strerror(errno));
  const int closed = ::close(std::exchange(fd_, -1));
  const int close_error = errno;
  auto discard = [&] {
    ::unlink(temp_path_.c_str());
    forget_for_cleanup(cleanup_slot_);
  };
  if (closed != 0 && close_error != EINTR) {
    discard();
    write_failed(close_error);
  }
  struct stat st {};
  if (::lstat(target_.c_str(), &st) == 0) {
    if (!overwrite_) {
      discard();
      throw IoError(path_, "file appeared while writing (replace it with --force, or overwrite=True in Python)");
    }
    if (!S_ISREG(st.st_mode)) {
      discard();
      throw IoError(path_, "became " + kind_of(st.st_mode) + " while it was written: not replaced");
    }
  }
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    discard();
    throw IoError(path_, std::string("cannot rename the finished file into place: ") + std::strerror(err));
  }
  forget_for_cleanup(cleanup_slot_);
}

}  // namespace evlib::detail
