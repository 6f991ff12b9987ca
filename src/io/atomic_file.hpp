#pragma once
// A file written under a temporary name and renamed into place on commit().
//
// The path is resolved first: a symbolic link is written through (its target is replaced, the
// link stays), and an existing FIFO or character device (a pipe a reader waits on, /dev/null, a
// terminal) is written in place, never replaced by a regular file. Directories, block devices and
// sockets are refused. The temporary file is `.evlib-tmp-XXXXXX` in the target's directory, short
// whatever the length of the target's name; it is removed by the destructor, and by
// remove_temporary_files() (evlib/temporary_files.hpp) when a signal ends the process.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace evlib::detail {

class AtomicFile {
 public:
  // What to do when the path names an existing FIFO or character device.
  enum class NonRegular { kWriteInPlace, kRefuse };
  // Throws IoError if path is an existing regular file and !overwrite, names something that
  // cannot be written (see above), or its directory is not writable.
  AtomicFile(const std::string& path, bool overwrite, NonRegular non_regular = NonRegular::kWriteInPlace);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Small writes are gathered in a buffer; one of kDirectWriteBytes or more goes to the file
  // at once (after what is buffered), so a large frame is not copied through the buffer.
  void write(const void* data, std::size_t size);
  static constexpr std::size_t kDirectWriteBytes = std::size_t{64} << 10;
  // Overwrites bytes already written (e.g. a header patched once the event count is known).
  void write_at(std::uint64_t offset, const void* data, std::size_t size);
  // For encoders that patch what they wrote (write_at): throws IoError naming `format` when the
  // output is written in place to something that cannot seek (a FIFO, a terminal), before any
  // byte is written.
  void require_seekable(const std::string& format) const;
  void commit();
  const std::string& path() const noexcept { return path_; }
  // The temporary file, for writers whose library opens the file itself (HDF5): it is renamed
  // to path() by commit() and removed by the destructor like any other. Throws IoError when the
  // output is written in place (there is no temporary file then).
  const std::string& temp_path() const;
  // A new unnamed scratch file (read-write, removed when closed) on the output's file system,
  // or in $TMPDIR when the output is written in place: the caller closes the descriptor.
  int open_scratch() const;
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  void open_in_place();
  void create_temporary();
  void flush();
  [[noreturn]] void write_failed(int err) const;
  std::string path_;    // as given: what messages name
  std::string target_;  // path_ with symbolic links followed: what is replaced
  std::string temp_path_;
  int fd_ = -1;
  int cleanup_slot_ = -1;
  bool overwrite_;
  bool in_place_ = false;
  void write_through(const unsigned char* bytes, std::size_t size);
  // Not zeroed: its pages become resident only as writes reach them (a writer of a few large
  // frames touches one page of it, not the whole 4 MiB).
  std::unique_ptr<unsigned char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace evlib::detail
