// HDF5 helpers: handles, quiet error handling, type and attribute inspection.
#include "formats/hdf5/hdf5_util.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace evlib::detail::h5 {

namespace {

// HDF5 closes itself at exit and, after some damaged files (a superblock whose checksum fails),
// cannot: it then prints a multi-line "infinite loop closing library" report to stderr whenever
// automatic error printing is on. Handlers registered later run earlier, so this one (registered
// once the library is up) turns the printing off just before HDF5's own exit handler runs.
void quiet_at_exit() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// Nor does HDF5 close itself at exit at all: after an H5Fclose that failed (its flush on a full
// disk), the file's ID stays while its state is freed, and the library's exit handler then closed
// it again: a segfault after the error was reported (exit 139 instead of 2). evlib closes every
// file it writes itself; the memory HDF5 would free at exit stays reachable (no leak report).
[[maybe_unused]] const bool kNoExitHandler = H5dont_atexit() >= 0;

}  // namespace

QuietErrors::QuietErrors() noexcept {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);  // initialises the library, registering its exit handler
  [[maybe_unused]] static const bool registered = std::atexit(&quiet_at_exit) == 0;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {

struct ErrorWalk {
  std::string outer;
  std::string inner;
  std::string system;  // the operating system's reason, from a file driver's message
};

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* client) {
  auto* walk = static_cast<ErrorWalk*>(client);
  const std::string desc = err->desc != nullptr ? err->desc : "";
  if (n == 0) walk->outer = desc;
  walk->inner = desc;
  // The sec2 driver: "file write failed: ..., errno = 28, error message = 'No space left on device', ..."
  constexpr std::string_view kKey = "error message = '";
  if (const auto at = desc.find(kKey); at != std::string::npos && walk->system.empty()) {
    const auto from = at + kKey.size();
    walk->system = desc.substr(from, desc.find('\'', from) - from);
  }
  return 0;
}

}  // namespace

namespace {

// The number after `key` in an HDF5 message ("eof = 3000"), or "".
std::string number_after(const std::string& text, const std::string& key) {
  std::size_t at = text.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == '=')) ++at;
  std::size_t end = at;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  return text.substr(at, end - at);
}

// HDF5's messages name its internals ("sblock->base_addr", "H5F__super_read"): those say nothing
// to a user, who gets the outer message alone.
bool names_internals(const std::string& text) {
  return text.find("->") != std::string::npos || text.find("H5") != std::string::npos ||
         text.find('=') != std::string::npos || text.find("addr") != std::string::npos;
}

}  // namespace

std::string error_message() {
  ErrorWalk walk;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &walk);
  H5Eclear2(H5E_DEFAULT);
  const std::string& inner = walk.inner;
  if (inner.find("truncated file") != std::string::npos) {
    const std::string has = number_after(inner, "eof"), needs = number_after(inner, "stored_eof");
    if (!has.empty() && !needs.empty()) return "the file is truncated (" + has + " of " + needs + " bytes)";
    return "the file is truncated";
  }
  if (inner.find("checksum") != std::string::npos) return "damaged metadata (a checksum does not match)";
  std::string out = names_internals(walk.outer) ? "" : walk.outer;
  if (!inner.empty() && inner != walk.outer && !names_internals(inner)) out += (out.empty() ? "" : ": ") + inner;
  if (!walk.system.empty() && out.find(walk.system) == std::string::npos) out += (out.empty() ? "" : ": ") + walk.system;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

bool exists(hid_t loc, const std::string& path) {
  if (path.empty() || path == "/") return true;
  std::size_t pos = path[0] == '/' ? 1 : 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    const std::string partial = path.substr(0, slash);
    if (H5Lexists(loc, partial.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    pos = slash + 1;
  }
  return true;
}

H5O_type_t object_type(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return H5O_TYPE_UNKNOWN;
  const hid_t obj = H5Oopen(loc, path.c_str(), H5P_DEFAULT);
  if (obj < 0) {
    H5Eclear2(H5E_DEFAULT);
    return H5O_TYPE_UNKNOWN;
  }
  const H5I_type_t kind = H5Iget_type(obj);
  H5Oclose(obj);
  switch (kind) {
    case H5I_GROUP: return H5O_TYPE_GROUP;
    case H5I_DATASET: return H5O_TYPE_DATASET;
    case H5I_DATATYPE: return H5O_TYPE_NAMED_DATATYPE;
    default: return H5O_TYPE_UNKNOWN;
  }
}

hid_t ValueType::memory_type() const noexcept {
  return enum_memory_type ? enum_memory_type.get() : native_type(kind);
}

namespace {

std::optional<Scalar> integer_kind(std::size_t size, bool is_signed) {
  switch (size) {
    case 1: return is_signed ? Scalar::i8 : Scalar::u8;
    case 2: return is_signed ? Scalar::i16 : Scalar::u16;
    case 4: return is_signed ? Scalar::i32 : Scalar::u32;
    case 8: return is_signed ? Scalar::i64 : Scalar::u64;
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<ValueType> value_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  ValueType v;
  if (cls == H5T_INTEGER) {
    const auto kind = integer_kind(size, H5Tget_sign(type) == H5T_SGN_2);
    if (!kind) return std::nullopt;
    v.kind = *kind;
    return v;
  }
  if (cls == H5T_FLOAT) {
    if (size == 4) v.kind = Scalar::f32;
    else if (size == 8) v.kind = Scalar::f64;
    else return std::nullopt;  // half or extended precision: no native conversion target
    return v;
  }
  if (cls == H5T_ENUM) {
    Handle base = type_handle(H5Tget_super(type));
    if (!base) return std::nullopt;
    const auto kind = integer_kind(H5Tget_size(base.get()), H5Tget_sign(base.get()) == H5T_SGN_2);
    if (!kind) return std::nullopt;
    // Values arrive as the enum's integers in host byte order.
    v.enum_memory_type = type_handle(H5Tget_native_type(type, H5T_DIR_ASCEND));
    if (!v.enum_memory_type) return std::nullopt;
    v.kind = *kind;
    return v;
  }
  return std::nullopt;
}

std::size_t size_of(Scalar kind) noexcept {
  switch (kind) {
    case Scalar::i8: case Scalar::u8: return 1;
    case Scalar::i16: case Scalar::u16: return 2;
    case Scalar::i32: case Scalar::u32: case Scalar::f32: return 4;
    default: return 8;
  }
}

bool is_float(Scalar kind) noexcept { return kind == Scalar::f32 || kind == Scalar::f64; }

const char* name_of(Scalar kind) noexcept {
  static constexpr const char* kNames[] = {"int8", "uint8", "int16", "uint16", "int32",
                                           "uint32", "int64", "uint64", "float32", "float64"};
  return kNames[static_cast<int>(kind)];
}

hid_t native_type(Scalar kind) noexcept {
  switch (kind) {
    case Scalar::i8: return H5T_NATIVE_INT8;
    case Scalar::u8: return H5T_NATIVE_UINT8;
    case Scalar::i16: return H5T_NATIVE_INT16;
    case Scalar::u16: return H5T_NATIVE_UINT16;
    case Scalar::i32: return H5T_NATIVE_INT32;
    case Scalar::u32: return H5T_NATIVE_UINT32;
    case Scalar::i64: return H5T_NATIVE_INT64;
    case Scalar::u64: return H5T_NATIVE_UINT64;
    case Scalar::f32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
  }
}

std::vector<hsize_t> dimensions(hid_t dataset) {
  Handle space = space_handle(H5Dget_space(dataset));
  if (!space) return {};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 0) return {};
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

namespace {

constexpr hssize_t kMaxAttributeElements = 64;

// Comma-separated lists, built by appending (operator+ on temporaries trips GCC 12's -Wrestrict).
void append_item(std::string& text, std::size_t i, const std::string& item) {
  if (i) text += ',';
  text += item;
}

std::string number_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::optional<std::string> string_attribute_text(hid_t attr, hid_t type, hid_t space, hssize_t count) {
  std::string text;
  if (H5Tis_variable_str(type) > 0) {
    Handle mem = type_handle(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type));
    std::vector<char*> values(static_cast<std::size_t>(count), nullptr);
    if (H5Aread(attr, mem.get(), values.data()) < 0) return std::nullopt;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) text += ',';
      if (values[i] != nullptr) text += values[i];
    }
    H5Dvlen_reclaim(mem.get(), space, H5P_DEFAULT, values.data());
    return text;
  }
  const std::size_t size = H5Tget_size(type);
  std::vector<char> buf(size * static_cast<std::size_t>(count) + 1, '\0');
  Handle mem = type_handle(H5Tcopy(type));
  if (H5Aread(attr, mem.get(), buf.data()) < 0) return std::nullopt;
  for (hssize_t i = 0; i < count; ++i) {
    const char* s = buf.data() + static_cast<std::size_t>(i) * size;
    std::size_t len = strnlen(s, size);
    while (len > 0 && s[len - 1] == ' ') --len;  // space-padded fixed strings
    if (i) text += ',';
    text.append(s, len);
  }
  return text;
}

std::optional<std::string> numeric_attribute_text(hid_t attr, const ValueType& vt, hssize_t count) {
  std::string text;
  const auto n = static_cast<std::size_t>(count);
  if (is_float(vt.kind)) {
    std::vector<double> v(n);
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i) append_item(text, i, number_text(v[i]));
  } else if (vt.kind == Scalar::u64 && !vt.enum_memory_type) {
    std::vector<std::uint64_t> v(n);
    if (H5Aread(attr, H5T_NATIVE_UINT64, v.data()) < 0) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i) append_item(text, i, std::to_string(v[i]));
  } else if (!vt.enum_memory_type) {
    std::vector<std::int64_t> v(n);
    if (H5Aread(attr, H5T_NATIVE_INT64, v.data()) < 0) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i) append_item(text, i, std::to_string(v[i]));
  } else {
    return std::nullopt;  // enum attributes (rare) have no canonical text here
  }
  return text;
}

}  // namespace

std::optional<std::string> attribute_text(hid_t attr) {
  Handle type = type_handle(H5Aget_type(attr));
  Handle space = space_handle(H5Aget_space(attr));
  if (!type || !space) return std::nullopt;
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0 || count > kMaxAttributeElements) return std::nullopt;
  if (count == 0) return std::string();
  if (H5Tget_class(type.get()) == H5T_STRING) return string_attribute_text(attr, type.get(), space.get(), count);
  const auto vt = value_type(type.get());
  if (!vt) return std::nullopt;
  return numeric_attribute_text(attr, *vt, count);
}

namespace {

herr_t collect_attribute(hid_t loc, const char* name, const H5A_info_t*, void* client) {
  auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(client);
  Handle attr = attribute_handle(H5Aopen(loc, name, H5P_DEFAULT));
  if (!attr) return 0;  // skip what cannot be opened rather than fail the whole file
  if (auto text = attribute_text(attr.get())) out->emplace_back(name, std::move(*text));
  return 0;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> attributes_as_text(hid_t object) {
  std::vector<std::pair<std::string, std::string>> out;
  hsize_t index = 0;
  if (H5Aiterate2(object, H5_INDEX_CRT_ORDER, H5_ITER_INC, &index, collect_attribute, &out) < 0) {
    // Creation order is only available when the file tracks it; fall back to name order.
    H5Eclear2(H5E_DEFAULT);
    out.clear();
    index = 0;
    if (H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, collect_attribute, &out) < 0) H5Eclear2(H5E_DEFAULT);
  }
  return out;
}

std::optional<std::vector<double>> attribute_numbers(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return std::nullopt;
  }
  Handle attr = attribute_handle(H5Aopen(object, name, H5P_DEFAULT));
  if (!attr) return std::nullopt;
  Handle type = type_handle(H5Aget_type(attr.get()));
  Handle space = space_handle(H5Aget_space(attr.get()));
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count <= 0 || count > kMaxAttributeElements) return std::nullopt;
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    std::vector<double> v(static_cast<std::size_t>(count));
    if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) return std::nullopt;
    return v;
  }
  if (cls == H5T_STRING && count == 1) {
    // Metavision stores numbers as strings ("1280"); accept one number and nothing else.
    const auto text = attribute_text(attr.get());
    if (!text || text->empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (end != text->c_str() + text->size()) return std::nullopt;
    return std::vector<double>{v};
  }
  return std::nullopt;
}

namespace {

// Opens a dataset at path holding exactly one numeric element, or returns an invalid handle.
Handle open_scalar_dataset(hid_t loc, const std::string& path) {
  if (object_type(loc, path) != H5O_TYPE_DATASET) return {};
  Handle ds = dataset_handle(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!ds) return {};
  Handle space = space_handle(H5Dget_space(ds.get()));
  Handle type = type_handle(H5Dget_type(ds.get()));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (H5Sget_simple_extent_npoints(space.get()) != 1 || (cls != H5T_INTEGER && cls != H5T_FLOAT)) return {};
  return ds;
}

}  // namespace

std::optional<double> scalar_dataset(hid_t loc, const std::string& path) {
  Handle ds = open_scalar_dataset(loc, path);
  double v = 0;
  if (!ds || H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) return std::nullopt;
  return v;
}

std::optional<std::int64_t> scalar_dataset_int64(hid_t loc, const std::string& path) {
  Handle ds = open_scalar_dataset(loc, path);
  std::int64_t v = 0;
  if (!ds || H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) return std::nullopt;
  return v;
}

}  // namespace evlib::detail::h5
