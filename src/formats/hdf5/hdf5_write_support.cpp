#include "formats/hdf5/hdf5_write_support.hpp"

#include "evlib/error.hpp"

namespace evlib::detail::h5 {

void fail_write(const std::string& path, const std::string& what) {
  const std::string why = error_message();
  throw IoError(path, "HDF5: " + what + (why.empty() ? "" : " (" + why + ")"));
}

Handle create_file(const std::string& path, const std::string& file) {
  Handle fcpl = plist_handle(H5Pcreate(H5P_FILE_CREATE));
  H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(fapl.get(), true, true);
  Handle handle = file_handle(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()));
  if (!handle) fail_write(path, "cannot create the file");
  return handle;
}

void write_string_attribute(const std::string& path, hid_t object, const std::string& name, const std::string& value) {
  Handle type = type_handle(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space = space_handle(H5Screate(H5S_SCALAR));
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());  // later duplicates win
  Handle attr = attribute_handle(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* text = value.c_str();
  if (!attr || H5Awrite(attr.get(), type.get(), &text) < 0) fail_write(path, "cannot write attribute " + name);
}

AppendDataset::AppendDataset(const std::string& path, hid_t loc, const std::string& name, hid_t file_type,
                             hid_t memory_type, hid_t dcpl, hid_t lcpl)
    : path_(path), name_(name), memory_type_(memory_type) {
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space = space_handle(H5Screate_simple(1, &zero, &unlimited));
  ds_ = dataset_handle(H5Dcreate2(loc, name.c_str(), file_type, space.get(), lcpl, dcpl, H5P_DEFAULT));
  if (!ds_) fail_write(path_, "cannot create dataset " + name_);
}

void AppendDataset::append(const void* records, hsize_t n) {
  if (n == 0) return;
  const hsize_t grown = size_ + n;
  if (H5Dset_extent(ds_.get(), &grown) < 0) fail_write(path_, "cannot extend dataset " + name_);
  Handle file_space = space_handle(H5Dget_space(ds_.get()));
  Handle memory = space_handle(H5Screate_simple(1, &n, nullptr));
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &size_, nullptr, &n, nullptr) < 0 ||
      H5Dwrite(ds_.get(), memory_type_, memory.get(), file_space.get(), H5P_DEFAULT, records) < 0) {
    fail_write(path_, "cannot write dataset " + name_);
  }
  size_ = grown;
}

void AppendDataset::append_chunk(const std::vector<std::uint8_t>& chunk, hsize_t n) {
  const hsize_t offset = size_;
  const hsize_t grown = size_ + n;
  if (H5Dset_extent(ds_.get(), &grown) < 0 ||
      H5Dwrite_chunk(ds_.get(), H5P_DEFAULT, 0, &offset, chunk.size(), chunk.data()) < 0) {
    fail_write(path_, "cannot write chunk at event " + std::to_string(offset) + " of " + name_);
  }
  size_ = grown;
}

}  // namespace evlib::detail::h5
