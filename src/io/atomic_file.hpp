#pragma once
// A file written under a temporary name and renamed into place on commit().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace evlib::detail {

class AtomicFile {
 public:
  // Throws IoError if path exists and !overwrite, or the directory is not writable.
  AtomicFile(const std::string& path, bool overwrite);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  // Overwrites bytes already written (e.g. a header patched once the event count is known).
  void write_at(std::uint64_t offset, const void* data, std::size_t size);
  void commit();
  const std::string& path() const noexcept { return path_; }
  // The temporary file, for writers whose library opens the file itself (HDF5): it is renamed
  // to path() by commit() and removed by the destructor like any other.
  const std::string& temp_path() const noexcept { return temp_path_; }
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  void flush();
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool overwrite_;
  std::vector<unsigned char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace evlib::detail
