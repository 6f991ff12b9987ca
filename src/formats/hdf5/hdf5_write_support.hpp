#pragma once
// What both HDF5 writers (hdf5_writer.cpp: the portable layout, hdf5_ecf_writer.cpp: Metavision's)
// do alike: create the file, write string attributes, and grow 1-D datasets by appending.
#include <string>
#include <vector>

#include "formats/hdf5/hdf5_util.hpp"

namespace evlib::detail::h5 {

// Throws IoError naming path, with what HDF5 said about the failed call.
[[noreturn]] void fail_write(const std::string& path, const std::string& what);

// Creates (truncates) the HDF5 file `file` for the output `path` (named in errors), with root
// attributes kept in creation order so that a header reads back in its order.
Handle create_file(const std::string& path, const std::string& file);

// A variable-length UTF-8 string scalar attribute (what h5py writes for str and reads back as
// str), replacing one of the same name.
void write_string_attribute(const std::string& path, hid_t object, const std::string& name, const std::string& value);

// A 1-D dataset that starts empty and grows by appending records, or chunks encoded by the caller.
class AppendDataset {
 public:
  // dcpl: creation properties set up by the caller (chunk size, filters); lcpl: link creation
  // properties (e.g. intermediate groups). memory_type describes what append() takes.
  AppendDataset(const std::string& path, hid_t loc, const std::string& name, hid_t file_type, hid_t memory_type, hid_t dcpl,
                hid_t lcpl = H5P_DEFAULT);

  void append(const void* records, hsize_t n);
  // One encoded chunk holding records [size(), size() + n), stored as is (H5Dwrite_chunk).
  void append_chunk(const std::vector<std::uint8_t>& chunk, hsize_t n);

  hid_t get() const { return ds_.get(); }
  hsize_t size() const { return size_; }
  bool close() { return ds_.close(); }

 private:
  std::string path_;
  std::string name_;
  hid_t memory_type_;
  Handle ds_;
  hsize_t size_ = 0;
};

}  // namespace evlib::detail::h5
