// Event and trigger sources of the HDF5 layouts (see hdf5_sources.hpp).
#include "formats/hdf5/hdf5_sources.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "evlib/error.hpp"
#include "formats/prophesee/ecf.hpp"

namespace evlib::detail::hdf5 {

namespace {

using h5::Handle;
using h5::Scalar;

// Values converted per step when the stored type differs from evlib's column type: bounds the
// staging buffer at 512 KiB whatever the read size.
constexpr std::size_t kStagingValues = std::size_t{1} << 16;
constexpr H5Z_filter_t kEcfFilter = 36559;

[[noreturn]] void fail(const Context& ctx, const std::string& detail,
                       std::uint64_t offset = FormatError::kNoOffset) {
  throw FormatError(ctx.path, offset, detail);
}

// A failed HDF5 call: our detail plus what HDF5 says.
[[noreturn]] void fail_h5(const Context& ctx, const std::string& detail) {
  const std::string why = h5::error_message();
  throw FormatError(ctx.path, FormatError::kNoOffset, why.empty() ? detail : detail + ": " + why);
}

std::string range_text(std::uint64_t start, std::size_t n) {
  return std::to_string(start) + ".." + std::to_string(start + n);
}

const char* filter_name(H5Z_filter_t id) {
  switch (id) {
    case 1: return "deflate/gzip";
    case 2: return "shuffle";
    case 3: return "fletcher32";
    case 4: return "szip";
    case 307: return "bzip2";
    case 32000: return "lzf";
    case 32001: return "blosc";
    case 32004: return "lz4";
    case 32008: return "bitshuffle";
    case 32013: return "zfp";
    case 32015: return "zstd";
    case 32026: return "blosc2";
    case kEcfFilter: return "Prophesee ECF";
    default: return "unknown";
  }
}

// Calls fn(T{}) with T the C++ type of kind.
template <class Fn>
void visit_kind(Scalar kind, Fn&& fn) {
  switch (kind) {
    case Scalar::i8: fn(std::int8_t{}); break;
    case Scalar::u8: fn(std::uint8_t{}); break;
    case Scalar::i16: fn(std::int16_t{}); break;
    case Scalar::u16: fn(std::uint16_t{}); break;
    case Scalar::i32: fn(std::int32_t{}); break;
    case Scalar::u32: fn(std::uint32_t{}); break;
    case Scalar::i64: fn(std::int64_t{}); break;
    case Scalar::u64: fn(std::uint64_t{}); break;
    case Scalar::f32: fn(float{}); break;
    case Scalar::f64: fn(double{}); break;
  }
}

// --- conversions from stored values to evlib's columns (src is strided for matrix columns) ---

// Integer time is µs; floating-point time is seconds, rounded to the nearest µs.
template <class T>
void to_time(const T* src, std::size_t stride, std::size_t n, std::int64_t* t, std::uint8_t* invalid,
             std::size_t& flagged) {
  for (std::size_t i = 0; i < n; ++i) {
    const T v = src[i * stride];
    if constexpr (std::is_floating_point_v<T>) {
      const double us = static_cast<double>(v) * 1e6;
      if (std::fabs(us) < 9.2e18) [[likely]] {  // also false for NaN and infinities
        t[i] = std::llround(us);
        continue;
      }
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      if (v <= static_cast<std::uint64_t>(INT64_MAX)) [[likely]] {
        t[i] = static_cast<std::int64_t>(v);
        continue;
      }
    } else {
      t[i] = v;
      continue;
    }
    t[i] = 0;
    invalid[i] = 1;
    ++flagged;
  }
}

// Coordinates must be representable as uint16: negative, too large or non-finite values are
// flagged (the reader drops and counts them) rather than clamped onto a real pixel.
template <class T>
void to_coordinate(const T* src, std::size_t stride, std::size_t n, std::uint16_t* out, std::uint8_t* invalid,
                   std::size_t& flagged) {
  for (std::size_t i = 0; i < n; ++i) {
    const T v = src[i * stride];
    bool ok;
    std::uint16_t c = 0;
    if constexpr (std::is_floating_point_v<T>) {
      ok = v >= 0 && v < static_cast<T>(65535.5);
      if (ok) c = static_cast<std::uint16_t>(std::lround(v));
    } else if constexpr (std::is_signed_v<T>) {
      const auto w = static_cast<std::int64_t>(v);
      ok = w >= 0 && w <= 0xFFFF;
      c = static_cast<std::uint16_t>(w);
    } else {
      const auto w = static_cast<std::uint64_t>(v);
      ok = w <= 0xFFFF;
      c = static_cast<std::uint16_t>(w);
    }
    out[i] = ok ? c : 0;
    if (!ok) [[unlikely]] {
      invalid[i] = 1;
      ++flagged;
    }
  }
}

// 0/1, -1/+1 and bool all normalise with "value > 0 means ON" (docs/formats.md 0.2).
template <class T>
void to_polarity(const T* src, std::size_t stride, std::size_t n, std::uint8_t* p) {
  for (std::size_t i = 0; i < n; ++i) p[i] = src[i * stride] > 0 ? 1 : 0;
}

// Normalises a byte column read in place: stored bytes that are signed compare as int8.
void normalise_polarity_bytes(std::uint8_t* p, std::size_t n, bool is_signed) {
  if (is_signed) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::int8_t>(p[i]) > 0 ? 1 : 0;
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = p[i] != 0 ? 1 : 0;
  }
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar shape";
  std::string s = "shape (";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

// Selects rows [start, start + rows) x all columns of a rank-1 or rank-2 dataset and reads them.
void read_rows(const Context& ctx, hid_t ds, hid_t file_space, hid_t memory_type, const std::string& name,
               std::uint64_t start, std::size_t rows, hsize_t columns, void* dst) {
  const hsize_t offset[2] = {start, 0};
  const hsize_t count[2] = {rows, columns};
  const int rank = columns == 0 ? 1 : 2;
  if (H5Sselect_hyperslab(file_space, H5S_SELECT_SET, offset, nullptr, count, nullptr) < 0) {
    fail_h5(ctx, "cannot select events " + range_text(start, rows) + " of " + name);
  }
  Handle memory = h5::space_handle(H5Screate_simple(rank, count, nullptr));
  if (H5Dread(ds, memory_type, memory.get(), file_space, H5P_DEFAULT, dst) < 0) {
    fail_h5(ctx, "cannot read events " + range_text(start, rows) + " of " + name);
  }
}

// A 1-D numeric dataset read in hyperslabs.
class Column {
 public:
  Column(const Context& ctx, hid_t loc, const std::string& name) : ctx_(ctx), name_(name) {
    ds_ = open_streaming_dataset(ctx, loc, name);
    const auto dims = h5::dimensions(ds_.get());
    if (dims.size() != 1) fail(ctx, "dataset " + name + " has " + shape_text(dims) + "; expected one dimension");
    length_ = dims[0];
    Handle type = h5::type_handle(H5Dget_type(ds_.get()));
    auto vt = h5::value_type(type.get());
    if (!vt) fail(ctx, "dataset " + name + " has a non-numeric element type (expected integers, floats or bool)");
    type_ = std::move(*vt);
    space_ = h5::space_handle(H5Dget_space(ds_.get()));
  }

  const std::string& name() const { return name_; }
  std::uint64_t length() const { return length_; }
  Scalar kind() const { return type_.kind; }

  // Elements [start, start + n) in the stored kind, into dst (n * size_of(kind()) bytes).
  void read_raw(std::uint64_t start, std::size_t n, void* dst) {
    read_rows(ctx_, ds_.get(), space_.get(), type_.memory_type(), name_, start, n, 0, dst);
  }

  // Elements [start, start + n) through a bounded staging buffer: fn(const T* values, offset,
  // count) for consecutive pieces, T the stored kind's C++ type.
  template <class Fn>
  void read_staged(std::uint64_t start, std::size_t n, std::vector<std::uint64_t>& staging, Fn&& fn) {
    staging.resize(kStagingValues);
    for (std::size_t off = 0; off < n;) {
      const std::size_t m = std::min(kStagingValues, n - off);
      read_raw(start + off, m, staging.data());
      visit_kind(type_.kind, [&]<class T>(T) { fn(reinterpret_cast<const T*>(staging.data()), off, m); });
      off += m;
    }
  }

 private:
  Context ctx_;
  std::string name_;
  Handle ds_;
  Handle space_;
  h5::ValueType type_;
  std::uint64_t length_ = 0;
};

class ColumnSource final : public EventSource {
 public:
  ColumnSource(const Context& ctx, hid_t file, std::string group, const std::string& t, const std::string& x,
               const std::string& y, const std::string& p)
      : group_(std::move(group)), t_(ctx, file, t), x_(ctx, file, x), y_(ctx, file, y), p_(ctx, file, p) {
    for (const Column* c : {&x_, &y_, &p_}) {
      if (c->length() != t_.length()) {
        fail(ctx, "datasets " + t_.name() + " (" + std::to_string(t_.length()) + " values) and " + c->name() + " (" +
                      std::to_string(c->length()) + " values) differ in length");
      }
    }
  }

  std::uint64_t size() const override { return t_.length(); }
  std::uint64_t position() const override { return position_; }
  void seek(std::uint64_t index) override { position_ = std::min(index, size()); }
  bool may_flag() const override { return !(t_.kind() == Scalar::i64 && x_.kind() == Scalar::u16 && y_.kind() == Scalar::u16); }
  const std::string& name() const override { return group_; }
  const char* time_unit() const override { return h5::is_float(t_.kind()) ? "s" : "us"; }

  std::size_t read(const Slice& s, std::size_t n, std::size_t& flagged) override {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size() - position_));
    read_time(s, n, flagged);
    read_coordinate(x_, s.x, s.invalid, n, flagged);
    read_coordinate(y_, s.y, s.invalid, n, flagged);
    read_polarity(s.p, n);
    position_ += n;
    return n;
  }

 private:
  // Same-typed columns go straight into the batch; others through the staging buffer.
  void read_time(const Slice& s, std::size_t n, std::size_t& flagged) {
    if (t_.kind() == Scalar::i64) return t_.read_raw(position_, n, s.t);
    t_.read_staged(position_, n, staging_, [&](const auto* v, std::size_t off, std::size_t m) {
      to_time(v, 1, m, s.t + off, s.invalid + off, flagged);
    });
  }
  void read_coordinate(Column& c, std::uint16_t* out, std::uint8_t* invalid, std::size_t n, std::size_t& flagged) {
    if (c.kind() == Scalar::u16) return c.read_raw(position_, n, out);
    c.read_staged(position_, n, staging_, [&](const auto* v, std::size_t off, std::size_t m) {
      to_coordinate(v, 1, m, out + off, invalid + off, flagged);
    });
  }
  void read_polarity(std::uint8_t* p, std::size_t n) {
    if (h5::size_of(p_.kind()) == 1) {
      p_.read_raw(position_, n, p);
      return normalise_polarity_bytes(p, n, p_.kind() == Scalar::i8);
    }
    p_.read_staged(position_, n, staging_, [&](const auto* v, std::size_t off, std::size_t m) {
      to_polarity(v, 1, m, p + off);
    });
  }

  std::string group_;
  Column t_, x_, y_, p_;
  std::uint64_t position_ = 0;
  std::vector<std::uint64_t> staging_;
};

class MatrixSource final : public EventSource {
 public:
  MatrixSource(const Context& ctx, hid_t file, const std::string& name, int ct, int cx, int cy, int cp)
      : ctx_(ctx), name_(name), ct_(ct), cx_(cx), cy_(cy), cp_(cp) {
    ds_ = open_streaming_dataset(ctx, file, name);
    const auto dims = h5::dimensions(ds_.get());
    const int needed = std::max({ct, cx, cy, cp}) + 1;
    if (dims.size() != 2 || dims[1] < static_cast<hsize_t>(needed)) {
      fail(ctx, "dataset " + name + " has " + shape_text(dims) + "; expected N x " + std::to_string(needed));
    }
    rows_ = dims[0];
    columns_ = dims[1];
    Handle type = h5::type_handle(H5Dget_type(ds_.get()));
    auto vt = h5::value_type(type.get());
    if (!vt) fail(ctx, "dataset " + name + " has a non-numeric element type");
    type_ = std::move(*vt);
    space_ = h5::space_handle(H5Dget_space(ds_.get()));
  }

  std::uint64_t size() const override { return rows_; }
  std::uint64_t position() const override { return position_; }
  void seek(std::uint64_t index) override { position_ = std::min(index, rows_); }
  bool may_flag() const override { return true; }
  const std::string& name() const override { return name_; }
  const char* time_unit() const override { return h5::is_float(type_.kind) ? "s" : "us"; }

  // Whole rows are read at once (one contiguous range), then split into columns.
  std::size_t read(const Slice& s, std::size_t n, std::size_t& flagged) override {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, rows_ - position_));
    const std::size_t rows_per_step = std::max<std::size_t>(1, kStagingValues / columns_);
    staging_.resize(rows_per_step * columns_);
    for (std::size_t off = 0; off < n;) {
      const std::size_t m = std::min(rows_per_step, n - off);
      read_rows(ctx_, ds_.get(), space_.get(), type_.memory_type(), name_, position_ + off, m, columns_,
                staging_.data());
      visit_kind(type_.kind, [&]<class T>(T) {
        const T* v = reinterpret_cast<const T*>(staging_.data());
        const std::size_t k = columns_;
        to_time(v + ct_, k, m, s.t + off, s.invalid + off, flagged);
        to_coordinate(v + cx_, k, m, s.x + off, s.invalid + off, flagged);
        to_coordinate(v + cy_, k, m, s.y + off, s.invalid + off, flagged);
        to_polarity(v + cp_, k, m, s.p + off);
      });
      off += m;
    }
    position_ += n;
    return n;
  }

 private:
  Context ctx_;
  std::string name_;
  int ct_, cx_, cy_, cp_;
  Handle ds_;
  Handle space_;
  h5::ValueType type_;
  std::uint64_t rows_ = 0;
  hsize_t columns_ = 0;
  std::uint64_t position_ = 0;
  std::vector<std::uint64_t> staging_;
};

// --- Prophesee /CD/events ---

// Metavision's EventCD record as stored (docs/formats.md 6): x u2 @0, y u2 @2, p i2 @4, t i8 @8.
constexpr std::size_t kCdRecordBytes = 16;

// Checks the compound has the members we read; returns whether its storage is exactly the
// Metavision record (needed to parse chunks stored unfiltered, which are raw records).
bool check_cd_compound(const Context& ctx, hid_t type, const std::string& name) {
  if (H5Tget_class(type) != H5T_COMPOUND) fail(ctx, "dataset " + name + " is not a compound of (x, y, p, t)");
  bool exact = H5Tget_size(type) == kCdRecordBytes;
  const struct {
    const char* member;
    std::size_t offset, size;
  } expected[] = {{"x", 0, 2}, {"y", 2, 2}, {"p", 4, 2}, {"t", 8, 8}};
  for (const auto& e : expected) {
    const int index = H5Tget_member_index(type, e.member);
    if (index < 0) {
      H5Eclear2(H5E_DEFAULT);
      fail(ctx, "compound dataset " + name + " has no member '" + e.member + "' (expected x, y, p, t)");
    }
    Handle member = h5::type_handle(H5Tget_member_type(type, static_cast<unsigned>(index)));
    exact = exact && H5Tget_member_offset(type, static_cast<unsigned>(index)) == e.offset &&
            H5Tget_class(member.get()) == H5T_INTEGER && H5Tget_size(member.get()) == e.size &&
            H5Tget_order(member.get()) == H5T_ORDER_LE;
  }
  return exact;
}

// The filters of a dataset's pipeline, in order.
std::vector<H5Z_filter_t> filters_of(hid_t ds) {
  Handle dcpl = h5::plist_handle(H5Dget_create_plist(ds));
  std::vector<H5Z_filter_t> ids;
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t elements = 0;
    ids.push_back(H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &elements, nullptr, 0, nullptr, &config));
  }
  return ids;
}

// ECF chunks read with H5Dread_chunk (docs/formats.md 7.2): no filter plugin needed.
class EcfChunkSource final : public EventSource {
 public:
  EcfChunkSource(const Context& ctx, Handle ds, std::string name, bool raw_layout, hsize_t chunk)
      : ctx_(ctx), ds_(std::move(ds)), name_(std::move(name)), raw_layout_(raw_layout), chunk_(chunk) {
    const auto dims = h5::dimensions(ds_.get());
    if (dims.size() != 1) fail(ctx, "dataset " + name_ + " has " + shape_text(dims) + "; expected one dimension");
    size_ = dims[0];
    if (chunk_ == 0 || chunk_ > ecf::kMaxEvents) {
      fail(ctx, "dataset " + name_ + " has chunks of " + std::to_string(chunk_) +
                    " events; ECF blocks hold 1 to 65535 events");
    }
    st_.resize(chunk_);
    sx_.resize(chunk_);
    sy_.resize(chunk_);
    sp_.resize(chunk_);
  }

  std::uint64_t size() const override { return size_; }
  std::uint64_t position() const override { return position_; }
  void seek(std::uint64_t index) override {
    position_ = std::min(index, size_);
    staged_begin_ = staged_end_ = 0;
  }
  bool may_flag() const override { return false; }
  const std::string& name() const override { return name_; }
  const char* time_unit() const override { return "us"; }

  std::size_t read(const Slice& s, std::size_t n, std::size_t&) override {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - position_));
    std::size_t done = 0;
    while (done < n) {
      if (staged_begin_ < staged_end_) {
        const std::size_t m = std::min(n - done, staged_end_ - staged_begin_);
        std::copy_n(st_.data() + staged_begin_, m, s.t + done);
        std::copy_n(sx_.data() + staged_begin_, m, s.x + done);
        std::copy_n(sy_.data() + staged_begin_, m, s.y + done);
        std::copy_n(sp_.data() + staged_begin_, m, s.p + done);
        staged_begin_ += m;
        done += m;
        position_ += m;
        continue;
      }
      const std::uint64_t k = position_ / chunk_;
      const std::size_t skip = static_cast<std::size_t>(position_ % chunk_);
      const std::size_t count = chunk_events(k);
      if (skip == 0 && n - done >= count) {
        // The whole chunk fits: decode straight into the batch.
        load_chunk(k, {s.t + done, s.x + done, s.y + done, s.p + done});
        done += count;
        position_ += count;
      } else {
        load_chunk(k, {st_.data(), sx_.data(), sy_.data(), sp_.data()});
        staged_begin_ = skip;
        staged_end_ = count;
      }
    }
    return n;
  }

 private:
  std::size_t chunk_events(std::uint64_t k) const {
    return static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, size_ - k * chunk_));
  }

  // File address of chunk k, for error offsets (kNoOffset when HDF5 cannot tell).
  std::uint64_t chunk_address(std::uint64_t k) const {
    const hsize_t offset = k * chunk_;
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t bytes = 0;
    if (H5Dget_chunk_info_by_coord(ds_.get(), &offset, &mask, &address, &bytes) < 0 || address == HADDR_UNDEF) {
      H5Eclear2(H5E_DEFAULT);
      return FormatError::kNoOffset;
    }
    return address;
  }

  std::string chunk_text(std::uint64_t k) const {
    return "chunk " + std::to_string(k) + " (events " + range_text(k * chunk_, chunk_events(k)) + ") of " + name_;
  }

  void load_chunk(std::uint64_t k, const ecf::Columns& out) {
    const std::size_t expected = chunk_events(k);
    const hsize_t offset = k * chunk_;
    hsize_t bytes = 0;
    if (H5Dget_chunk_storage_size(ds_.get(), &offset, &bytes) < 0 || bytes == 0) {
      H5Eclear2(H5E_DEFAULT);
      fail(ctx_, chunk_text(k) + " is not stored in the file");
    }
    // An ECF block needs at most about 28 bytes an event; a raw chunk 16. Anything larger is a
    // corrupt index entry, and must not turn into a huge allocation.
    if (bytes > 32 * chunk_ + 1024) {
      fail(ctx_, chunk_text(k) + " claims " + std::to_string(bytes) + " bytes, more than any valid chunk",
           chunk_address(k));
    }
    buffer_.resize(static_cast<std::size_t>(bytes));
    std::uint32_t filter_mask = 0;
    if (H5Dread_chunk(ds_.get(), H5P_DEFAULT, &offset, &filter_mask, buffer_.data()) < 0) {
      fail_h5(ctx_, "cannot read " + chunk_text(k));
    }
    if (filter_mask & 1u) {
      parse_raw_records(k, expected, out);
    } else {
      decode_ecf(k, expected, out);
    }
  }

  // Filter skipped for this chunk: it holds plain records.
  void parse_raw_records(std::uint64_t k, std::size_t expected, const ecf::Columns& out) {
    if (!raw_layout_) fail(ctx_, chunk_text(k) + " is stored unfiltered but its compound is not Metavision's 16-byte record");
    if (buffer_.size() < expected * kCdRecordBytes) {
      fail(ctx_, chunk_text(k) + " is stored unfiltered but holds only " + std::to_string(buffer_.size()) + " bytes",
           chunk_address(k));
    }
    for (std::size_t i = 0; i < expected; ++i) {
      const std::uint8_t* r = buffer_.data() + i * kCdRecordBytes;
      std::int16_t p;
      std::memcpy(&out.x[i], r, 2);
      std::memcpy(&out.y[i], r + 2, 2);
      std::memcpy(&p, r + 4, 2);
      std::memcpy(&out.t[i], r + 8, 8);
      out.p[i] = p > 0 ? 1 : 0;
    }
  }

  void decode_ecf(std::uint64_t k, std::size_t expected, const ecf::Columns& out) {
    const auto announced = ecf::block_event_count(buffer_);
    if (announced && *announced != expected) {
      fail(ctx_, "ECF " + chunk_text(k) + " holds " + std::to_string(*announced) + " events; the dataset extent implies " +
                     std::to_string(expected), chunk_address(k));
    }
    const ecf::DecodeResult r = ecf::decode(buffer_, out, expected);
    if (!r.ok()) {
      const std::uint64_t base = chunk_address(k);
      fail(ctx_, "corrupt ECF " + chunk_text(k) + ": " + r.error + " (byte " + std::to_string(r.error_offset) + " of " +
                     std::to_string(buffer_.size()) + ")",
           base == FormatError::kNoOffset ? base : base + r.error_offset);
    }
  }

  Context ctx_;
  Handle ds_;
  std::string name_;
  bool raw_layout_;
  hsize_t chunk_;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
  std::vector<std::uint8_t> buffer_;
  std::vector<std::int64_t> st_;  // one decoded chunk, when the batch has no room for all of it
  std::vector<std::uint16_t> sx_, sy_;
  std::vector<std::uint8_t> sp_;
  std::size_t staged_begin_ = 0, staged_end_ = 0;
};

// The CD record as we read it through HDF5's compound conversion (members matched by name).
struct CdRecord {
  std::int64_t t;
  std::uint16_t x;
  std::uint16_t y;
  std::int16_t p;
};

Handle cd_memory_type() {
  Handle type = h5::type_handle(H5Tcreate(H5T_COMPOUND, sizeof(CdRecord)));
  H5Tinsert(type.get(), "t", offsetof(CdRecord, t), H5T_NATIVE_INT64);
  H5Tinsert(type.get(), "x", offsetof(CdRecord, x), H5T_NATIVE_UINT16);
  H5Tinsert(type.get(), "y", offsetof(CdRecord, y), H5T_NATIVE_UINT16);
  H5Tinsert(type.get(), "p", offsetof(CdRecord, p), H5T_NATIVE_INT16);
  return type;
}

// /CD/events without the ECF filter (written by other tools, or contiguous): plain H5Dread.
class CompoundSource final : public EventSource {
 public:
  CompoundSource(const Context& ctx, Handle ds, std::string name)
      : ctx_(ctx), ds_(std::move(ds)), name_(std::move(name)), memory_type_(cd_memory_type()) {
    const auto dims = h5::dimensions(ds_.get());
    if (dims.size() != 1) fail(ctx, "dataset " + name_ + " has " + shape_text(dims) + "; expected one dimension");
    size_ = dims[0];
    space_ = h5::space_handle(H5Dget_space(ds_.get()));
  }

  std::uint64_t size() const override { return size_; }
  std::uint64_t position() const override { return position_; }
  void seek(std::uint64_t index) override { position_ = std::min(index, size_); }
  bool may_flag() const override { return false; }
  const std::string& name() const override { return name_; }
  const char* time_unit() const override { return "us"; }

  std::size_t read(const Slice& s, std::size_t n, std::size_t&) override {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - position_));
    records_.resize(std::min(n, kStagingValues / 2));
    for (std::size_t off = 0; off < n;) {
      const std::size_t m = std::min(records_.size(), n - off);
      read_rows(ctx_, ds_.get(), space_.get(), memory_type_.get(), name_, position_ + off, m, 0, records_.data());
      for (std::size_t i = 0; i < m; ++i) {
        s.t[off + i] = records_[i].t;
        s.x[off + i] = records_[i].x;
        s.y[off + i] = records_[i].y;
        s.p[off + i] = records_[i].p > 0 ? 1 : 0;
      }
      off += m;
    }
    position_ += n;
    return n;
  }

 private:
  Context ctx_;
  Handle ds_;
  std::string name_;
  Handle memory_type_;
  Handle space_;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
  std::vector<CdRecord> records_;
};

// --- triggers ---

struct TriggerRecord {
  std::int64_t t;
  std::int16_t p;
  std::int16_t id;
};

class PropheseeTriggers final : public TriggerSource {
 public:
  PropheseeTriggers(const Context& ctx, hid_t file, const std::string& name) : ctx_(ctx), name_(name) {
    ds_ = open_streaming_dataset(ctx, file, name);
    Handle type = h5::type_handle(H5Dget_type(ds_.get()));
    if (H5Tget_class(type.get()) != H5T_COMPOUND) fail(ctx, "dataset " + name + " is not a compound of (p, t, id)");
    for (const char* member : {"p", "t", "id"}) {
      if (H5Tget_member_index(type.get(), member) < 0) {
        H5Eclear2(H5E_DEFAULT);
        fail(ctx, "compound dataset " + name + " has no member '" + member + "' (expected p, t, id)");
      }
    }
    const auto dims = h5::dimensions(ds_.get());
    if (dims.size() != 1) fail(ctx, "dataset " + name + " has " + shape_text(dims) + "; expected one dimension");
    size_ = dims[0];
    space_ = h5::space_handle(H5Dget_space(ds_.get()));
    memory_type_ = h5::type_handle(H5Tcreate(H5T_COMPOUND, sizeof(TriggerRecord)));
    H5Tinsert(memory_type_.get(), "t", offsetof(TriggerRecord, t), H5T_NATIVE_INT64);
    H5Tinsert(memory_type_.get(), "p", offsetof(TriggerRecord, p), H5T_NATIVE_INT16);
    H5Tinsert(memory_type_.get(), "id", offsetof(TriggerRecord, id), H5T_NATIVE_INT16);
  }

  std::uint64_t size() const override { return size_; }

  void read(std::uint64_t start, std::size_t n, TriggerBatch& out) override {
    records_.resize(n);
    read_rows(ctx_, ds_.get(), space_.get(), memory_type_.get(), name_, start, n, 0, records_.data());
    for (const TriggerRecord& r : records_) {
      out.push_back(r.t, static_cast<std::uint8_t>(std::clamp<int>(r.id, 0, 255)), r.p > 0 ? 1 : 0);
    }
  }

 private:
  Context ctx_;
  std::string name_;
  Handle ds_;
  Handle space_;
  Handle memory_type_;
  std::uint64_t size_ = 0;
  std::vector<TriggerRecord> records_;
};

// Triggers are few: HDF5's own integer conversion is good enough here.
class ColumnTriggers final : public TriggerSource {
 public:
  ColumnTriggers(const Context& ctx, hid_t file, const std::string& group) : ctx_(ctx) {
    const std::string names[3] = {group + "/t", group + "/channel", group + "/value"};
    for (int i = 0; i < 3; ++i) {
      name_[i] = names[i];
      ds_[i] = open_streaming_dataset(ctx, file, names[i]);
      const auto dims = h5::dimensions(ds_[i].get());
      if (dims.size() != 1) fail(ctx, "dataset " + names[i] + " has " + shape_text(dims) + "; expected one dimension");
      if (i > 0 && dims[0] != size_) fail(ctx, "trigger datasets in " + group + " differ in length");
      size_ = dims[0];
      space_[i] = h5::space_handle(H5Dget_space(ds_[i].get()));
    }
  }

  std::uint64_t size() const override { return size_; }

  void read(std::uint64_t start, std::size_t n, TriggerBatch& out) override {
    t_.resize(n);
    channel_.resize(n);
    value_.resize(n);
    read_rows(ctx_, ds_[0].get(), space_[0].get(), H5T_NATIVE_INT64, name_[0], start, n, 0, t_.data());
    read_rows(ctx_, ds_[1].get(), space_[1].get(), H5T_NATIVE_UINT8, name_[1], start, n, 0, channel_.data());
    read_rows(ctx_, ds_[2].get(), space_[2].get(), H5T_NATIVE_UINT8, name_[2], start, n, 0, value_.data());
    for (std::size_t i = 0; i < n; ++i) out.push_back(t_[i], channel_[i], value_[i] != 0 ? 1 : 0);
  }

 private:
  Context ctx_;
  std::string name_[3];
  Handle ds_[3];
  Handle space_[3];
  std::uint64_t size_ = 0;
  std::vector<std::int64_t> t_;
  std::vector<std::uint8_t> channel_, value_;
};

}  // namespace

Handle open_streaming_dataset(const Context& ctx, hid_t loc, const std::string& name) {
  Handle ds = h5::dataset_handle(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!ds) fail_h5(ctx, "cannot open dataset " + name);
  const std::vector<H5Z_filter_t> filters = filters_of(ds.get());
  for (const H5Z_filter_t id : filters) {
    if (id < 0 || H5Zfilter_avail(id) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      fail(ctx, "dataset " + name + " is compressed with HDF5 filter " + std::to_string(id) + " (" + filter_name(id) +
                    "), which this HDF5 library cannot decode; install the filter plugin (e.g. hdf5-blosc or "
                    "hdf5plugin) and point HDF5_PLUGIN_PATH at it");
    }
  }
  Handle dcpl = h5::plist_handle(H5Dget_create_plist(ds.get()));
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return ds;
  hsize_t chunk[H5S_MAX_RANK];
  const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, chunk);
  Handle type = h5::type_handle(H5Dget_type(ds.get()));
  std::size_t chunk_bytes = H5Tget_size(type.get());
  for (int i = 0; i < rank; ++i) chunk_bytes *= static_cast<std::size_t>(chunk[i]);
  Handle dapl = h5::plist_handle(H5Pcreate(H5P_DATASET_ACCESS));
  const std::size_t cache_bytes = filters.empty() ? 0 : std::max<std::size_t>(std::size_t{1} << 20, 2 * chunk_bytes + 4096);
  H5Pset_chunk_cache(dapl.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, cache_bytes, H5D_CHUNK_CACHE_W0_DEFAULT);
  // The cache belongs to the open dataset: a second open while the first is still open would
  // share the first one's cache and ignore these settings.
  dcpl.reset();
  type.reset();
  ds.reset();
  Handle tuned = h5::dataset_handle(H5Dopen2(loc, name.c_str(), dapl.get()));
  if (!tuned) fail_h5(ctx, "cannot open dataset " + name);
  return tuned;
}

std::unique_ptr<EventSource> make_column_source(const Context& ctx, hid_t file, const std::string& group,
                                                const std::string& t, const std::string& x, const std::string& y,
                                                const std::string& p) {
  return std::make_unique<ColumnSource>(ctx, file, group, t, x, y, p);
}

std::unique_ptr<EventSource> make_matrix_source(const Context& ctx, hid_t file, const std::string& name, int ct,
                                                int cx, int cy, int cp) {
  return std::make_unique<MatrixSource>(ctx, file, name, ct, cx, cy, cp);
}

std::unique_ptr<EventSource> make_prophesee_source(const Context& ctx, hid_t file, const std::string& name) {
  Handle ds = h5::dataset_handle(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!ds) fail_h5(ctx, "cannot open dataset " + name);
  Handle type = h5::type_handle(H5Dget_type(ds.get()));
  const bool raw_layout = check_cd_compound(ctx, type.get(), name);
  const std::vector<H5Z_filter_t> filters = filters_of(ds.get());
  const bool ecf = std::find(filters.begin(), filters.end(), kEcfFilter) != filters.end();
  if (!ecf) return std::make_unique<CompoundSource>(ctx, open_streaming_dataset(ctx, file, name), name);
  if (filters.size() != 1) {
    fail(ctx, "dataset " + name + " combines the ECF filter with other filters; only ECF alone can be read directly");
  }
  Handle dcpl = h5::plist_handle(H5Dget_create_plist(ds.get()));
  hsize_t chunk = 0;
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_chunk(dcpl.get(), 1, &chunk) != 1) {
    fail(ctx, "dataset " + name + " has the ECF filter but is not a chunked 1-D dataset");
  }
  return std::make_unique<EcfChunkSource>(ctx, std::move(ds), name, raw_layout, chunk);
}

std::unique_ptr<TriggerSource> make_prophesee_triggers(const Context& ctx, hid_t file, const std::string& name) {
  return std::make_unique<PropheseeTriggers>(ctx, file, name);
}

std::unique_ptr<TriggerSource> make_column_triggers(const Context& ctx, hid_t file, const std::string& group) {
  return std::make_unique<ColumnTriggers>(ctx, file, group);
}

}  // namespace evlib::detail::hdf5
