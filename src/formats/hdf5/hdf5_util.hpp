#pragma once
// Small RAII and inspection helpers over the HDF5 C API, shared by the HDF5 reader and writer.
// Only src/formats/hdf5_*.cpp include this (and tests that build HDF5 fixtures): HDF5 is a
// private dependency of evlib and never appears in the public headers.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace evlib::detail::h5 {

// Owns an HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) noexcept : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ >= 0; }
  // Closes now; returns false if HDF5 reported an error (a file close flushes, so this matters).
  bool close() noexcept {
    if (id_ < 0) return true;
    const herr_t r = close_(std::exchange(id_, H5I_INVALID_HID));
    return r >= 0;
  }
  void reset() noexcept { close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

inline Handle file_handle(hid_t id) { return {id, H5Fclose}; }
inline Handle group_handle(hid_t id) { return {id, H5Gclose}; }
inline Handle dataset_handle(hid_t id) { return {id, H5Dclose}; }
inline Handle space_handle(hid_t id) { return {id, H5Sclose}; }
inline Handle type_handle(hid_t id) { return {id, H5Tclose}; }
inline Handle plist_handle(hid_t id) { return {id, H5Pclose}; }
inline Handle attribute_handle(hid_t id) { return {id, H5Aclose}; }

// Turns off HDF5's automatic printing of its error stack on this thread for the object's
// lifetime (evlib reports errors as exceptions instead) and restores the previous handler.
class QuietErrors {
 public:
  QuietErrors() noexcept;
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// What HDF5 said about the last failed call on this thread: the outermost and innermost
// messages of its error stack ("" when the stack is empty).
std::string error_message();

// Whether loc has an object at path (absolute or relative), checking each component so that a
// missing parent group is "no" rather than an error.
bool exists(hid_t loc, const std::string& path);
// The type of the object at path, H5O_TYPE_UNKNOWN when there is none.
H5O_type_t object_type(hid_t loc, const std::string& path);

// Numeric element types evlib converts from. Enums (h5py's bool) are read as their base integer.
enum class Scalar { i8, u8, i16, u16, i32, u32, i64, u64, f32, f64 };

struct ValueType {
  Scalar kind = Scalar::u8;
  Handle enum_memory_type;  // set for enums: HDF5 converts enum to enum only
  // Memory type to pass to H5Dread / H5Aread so that values arrive as `kind` in host order.
  hid_t memory_type() const noexcept;
};

// The numeric kind of an HDF5 datatype, or nullopt (strings, compounds, 16-bit floats...).
std::optional<ValueType> value_type(hid_t type);
std::size_t size_of(Scalar kind) noexcept;
bool is_float(Scalar kind) noexcept;
const char* name_of(Scalar kind) noexcept;
hid_t native_type(Scalar kind) noexcept;

// Current dimensions of a dataset's dataspace (empty for scalars).
std::vector<hsize_t> dimensions(hid_t dataset);

// An attribute as text: strings as stored, numbers in decimal, small 1-D arrays comma-separated.
// nullopt for types that have no sensible text (compounds, references, arrays over 64 elements).
std::optional<std::string> attribute_text(hid_t attribute);
// All attributes of an object as text, in creation order when the file tracks it, else by name.
std::vector<std::pair<std::string, std::string>> attributes_as_text(hid_t object);
// A numeric attribute (or a numeric string) as doubles; nullopt when absent or not numeric.
std::optional<std::vector<double>> attribute_numbers(hid_t object, const char* name);
// A scalar (or one-element) numeric dataset as a double; nullopt when absent or not numeric.
std::optional<double> scalar_dataset(hid_t loc, const std::string& path);
// The same as an exact int64 (DSEC's t_offset does not always fit a double's 53 bits).
std::optional<std::int64_t> scalar_dataset_int64(hid_t loc, const std::string& path);

}  // namespace evlib::detail::h5
