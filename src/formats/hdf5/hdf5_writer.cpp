// HDF5 writer (docs/formats.md 15.6, the portable layout): /events/{t int64 µs, x uint16, y uint16,
// p uint8} as extendable chunked datasets, optional gzip, triggers in /triggers/{t, channel,
// value}, geometry and header key/values as root attributes. Plain h5py reads it.
//
// HDF5 writes its file itself, so the file is created at the AtomicFile's temporary path and
// closed in end(); AtomicFile::commit() then fsyncs and renames it into place (and its destructor
// removes it on failure), exactly like the byte-stream writers.
#include <algorithm>
#include <cctype>
#include <optional>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"
#include "formats/hdf5/hdf5.hpp"
#include "formats/hdf5/hdf5_write_support.hpp"

namespace evlib::detail {

namespace {

using h5::Handle;

// Events per chunk: 2 MiB of t. Writes are buffered to whole chunks so that every H5Dwrite covers
// complete chunks (written straight to the file, or compressed exactly once).
constexpr hsize_t kChunkEvents = hsize_t{1} << 18;
constexpr hsize_t kTriggerChunk = 4096;
constexpr int kDefaultGzipLevel = 4;  // h5py's default for compression="gzip"

struct Compression {
  int gzip_level = -1;  // -1: none
  bool ecf = false;     // Metavision's layout with ECF chunks (hdf5_ecf_writer.cpp)
};

Compression parse_compression(const std::string& requested) {
  std::string s = requested;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s.empty() || s == "none") return {};
  if (s == "gzip") return {kDefaultGzipLevel};
  if (s == "ecf") return {-1, true};
  if (s.size() == 6 && s.compare(0, 4, "gzip") == 0 && (s[4] == '=' || s[4] == ':' || s[4] == '-') &&
      std::isdigit(static_cast<unsigned char>(s[5]))) {
    return {s[5] - '0'};
  }
  throw InvalidArgument("unknown HDF5 compression '" + requested +
                        "' (use \"\", \"gzip\", \"gzip=0\" ... \"gzip=9\", or \"ecf\" for Metavision's layout)");
}

// An event or trigger column: chunked, every element written (no fill pass), optionally shuffled
// (byte planes compress far better) and deflated.
h5::AppendDataset append_column(const std::string& path, hid_t group, const std::string& name, hid_t file_type,
                                hid_t memory_type, hsize_t chunk, const Compression& compression) {
  Handle dcpl = h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(dcpl.get(), 1, &chunk);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  if (compression.gzip_level >= 0) {
    if (H5Tget_size(file_type) > 1) H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(compression.gzip_level));
  }
  return h5::AppendDataset(path, group, name, file_type, memory_type, dcpl.get());
}

// Header keys that the writer owns or that describe how the reader saw another file.
bool reserved_key(const std::string& key) {
  return key.empty() || key == "width" || key == "height" || key.rfind("hdf5.", 0) == 0;
}

class Hdf5Encoder final : public EventEncoder {
 public:
  explicit Hdf5Encoder(const WriteOptions& options)
      : options_(options), compression_(parse_compression(options.compression)) {}

  ~Hdf5Encoder() override {
    // Abandoned write: close quietly; AtomicFile removes the temporary file.
    h5::QuietErrors quiet;
    close_objects();
  }

  void begin(AtomicFile& out) override {
    h5::QuietErrors quiet;
    path_ = out.path();
    file_ = h5::create_file(path_, out.temp_path());
    write_attributes();
    events_group_ = h5::group_handle(H5Gcreate2(file_.get(), "/events", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (!events_group_) h5::fail_write(path_, "cannot create group /events");
    bt_.resize(kChunkEvents);
    bx_.resize(kChunkEvents);
    by_.resize(kChunkEvents);
    bp_.resize(kChunkEvents);
  }

  // Time order is not enforced: HDF5 stores any order losslessly, and some datasets (RVT) are
  // "not sorted everywhere"; converting them must not fail.
  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile&) override {
    h5::QuietErrors quiet;
    check_geometry(events);
    append_events(events);
    if (!triggers.empty()) append_triggers(triggers);
  }

  void end(AtomicFile&) override {
    h5::QuietErrors quiet;
    write_columns(0, buffered_, bt_.data(), bx_.data(), by_.data(), bp_.data());
    buffered_ = 0;
    if (!t_) create_event_datasets(1);  // no events at all: empty datasets
    if (!close_objects()) h5::fail_write(path_, "cannot finish the file");
  }

 private:
  void write_attributes() {
    const hid_t root = file_.get();
    if (options_.width != 0) write_uint_attribute(root, "width", options_.width);
    if (options_.height != 0) write_uint_attribute(root, "height", options_.height);
    for (const auto& [key, value] : options_.header) {
      if (!reserved_key(key)) h5::write_string_attribute(path_, root, key, value);
    }
  }

  void write_uint_attribute(hid_t object, const char* name, std::uint32_t value) {
    Handle space = h5::space_handle(H5Screate(H5S_SCALAR));
    Handle attr = h5::attribute_handle(H5Acreate2(object, name, H5T_STD_U32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr || H5Awrite(attr.get(), H5T_NATIVE_UINT32, &value) < 0) h5::fail_write(path_, std::string("cannot write attribute ") + name);
  }

  // The reader drops events outside the geometry, so writing them would not round-trip.
  void check_geometry(const EventBatch& events) const {
    if (options_.width == 0 && options_.height == 0) return;
    const std::uint32_t w = options_.width ? options_.width : 0x10000, h = options_.height ? options_.height : 0x10000;
    const auto x = events.x();
    const auto y = events.y();
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (x[i] >= w || y[i] >= h) [[unlikely]] {
        throw InvalidArgument("event " + std::to_string(i) + " at (" + std::to_string(x[i]) + ", " + std::to_string(y[i]) +
                              ") lies outside the " + std::to_string(w) + "x" + std::to_string(h) + " sensor");
      }
    }
  }

  // Whole chunks go straight from the batch to the file; a partial chunk waits in the buffer.
  void append_events(const EventBatch& events) {
    const std::size_t n = events.size();
    const std::int64_t* t = events.t().data();
    const std::uint16_t* x = events.x().data();
    const std::uint16_t* y = events.y().data();
    const std::uint8_t* p = events.p().data();
    std::size_t i = 0;
    if (buffered_ > 0) {
      i = buffer(t, x, y, p, 0, std::min<std::size_t>(n, kChunkEvents - buffered_));
      if (buffered_ == kChunkEvents) {
        write_columns(0, buffered_, bt_.data(), bx_.data(), by_.data(), bp_.data());
        buffered_ = 0;
      }
    }
    const std::size_t whole = (n - i) / kChunkEvents * kChunkEvents;
    write_columns(i, whole, t, x, y, p);
    i += whole;
    buffer(t, x, y, p, i, n - i);
  }

  std::size_t buffer(const std::int64_t* t, const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p,
                     std::size_t from, std::size_t count) {
    std::copy_n(t + from, count, bt_.data() + buffered_);
    std::copy_n(x + from, count, bx_.data() + buffered_);
    std::copy_n(y + from, count, by_.data() + buffered_);
    std::copy_n(p + from, count, bp_.data() + buffered_);
    buffered_ += count;
    return count;
  }

  // HDF5 stores every chunk whole, so the datasets are created at the first write: a file that
  // ends before one full chunk gets chunks of exactly its size instead of 3.4 MB of padding.
  void create_event_datasets(hsize_t chunk) {
    const hid_t g = events_group_.get();
    t_.emplace(append_column(path_, g, "t", H5T_STD_I64LE, H5T_NATIVE_INT64, chunk, compression_));
    x_.emplace(append_column(path_, g, "x", H5T_STD_U16LE, H5T_NATIVE_UINT16, chunk, compression_));
    y_.emplace(append_column(path_, g, "y", H5T_STD_U16LE, H5T_NATIVE_UINT16, chunk, compression_));
    p_.emplace(append_column(path_, g, "p", H5T_STD_U8LE, H5T_NATIVE_UINT8, chunk, compression_));
  }

  void write_columns(std::size_t from, std::size_t count, const std::int64_t* t, const std::uint16_t* x,
                     const std::uint16_t* y, const std::uint8_t* p) {
    if (count == 0) return;
    if (!t_) create_event_datasets(std::min<hsize_t>(count, kChunkEvents));
    t_->append(t + from, count);
    x_->append(x + from, count);
    y_->append(y + from, count);
    p_->append(p + from, count);
  }

  void append_triggers(const TriggerBatch& triggers) {
    if (!trigger_t_) {
      triggers_group_ = h5::group_handle(H5Gcreate2(file_.get(), "/triggers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!triggers_group_) h5::fail_write(path_, "cannot create group /triggers");
      const hid_t g = triggers_group_.get();
      trigger_t_.emplace(append_column(path_, g, "t", H5T_STD_I64LE, H5T_NATIVE_INT64, kTriggerChunk, compression_));
      trigger_channel_.emplace(append_column(path_, g, "channel", H5T_STD_U8LE, H5T_NATIVE_UINT8, kTriggerChunk, compression_));
      trigger_value_.emplace(append_column(path_, g, "value", H5T_STD_U8LE, H5T_NATIVE_UINT8, kTriggerChunk, compression_));
    }
    trigger_t_->append(triggers.t.data(), triggers.size());
    trigger_channel_->append(triggers.channel.data(), triggers.size());
    trigger_value_->append(triggers.value.data(), triggers.size());
  }

  // Datasets and groups close before the file; the file close flushes everything.
  bool close_objects() {
    bool ok = true;
    for (auto* c : {&t_, &x_, &y_, &p_, &trigger_t_, &trigger_channel_, &trigger_value_}) {
      if (*c) ok = (*c)->close() && ok;
      c->reset();
    }
    ok = events_group_.close() && ok;
    ok = triggers_group_.close() && ok;
    ok = file_.close() && ok;
    return ok;
  }

  WriteOptions options_;
  Compression compression_;
  std::string path_;
  Handle file_;
  Handle events_group_, triggers_group_;
  std::optional<h5::AppendDataset> t_, x_, y_, p_;
  std::optional<h5::AppendDataset> trigger_t_, trigger_channel_, trigger_value_;
  std::vector<std::int64_t> bt_;
  std::vector<std::uint16_t> bx_, by_;
  std::vector<std::uint8_t> bp_;
  std::size_t buffered_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_hdf5_encoder(const WriteOptions& options) {
  if (parse_compression(options.compression).ecf) return make_ecf_hdf5_encoder(options);
  return std::make_unique<Hdf5Encoder>(options);
}

}  // namespace evlib::detail
