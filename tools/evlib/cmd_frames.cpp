// evlib frames FILE OUT.npy|OUT.h5: one representation (event histogram, RVT stacked histogram,
// voxel grid, HOTS time surface) per window of time or of events, streamed chunk by chunk.
//
// Memory holds one chunk, one frame and, for a stacked histogram or voxel grid, the events of the
// open window when it spans chunks (kept in fixed blocks and handed over as pieces: their time
// bins come from the window's last event, so nothing is counted before it is known; a histogram
// counts each piece as it comes). The frames go to the output as they are made. Windows follow the
// clean slicing of docs/processing.md: time windows [t0 + k*W, t0 + (k+1)*W) from the first event,
// the last one holding the last event, empty windows included; count windows of N events, the
// last one shorter. The time surface is tonic's ToTimesurface with dt = the window.
//
// Outputs are written under a temporary name and renamed into place at the end: .npy with its
// header written last (the number of windows is known only then), HDF5 as a chunked dataset
// extended frame by frame, with the windows' bounds beside it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "event_filters.hpp"
#include "evlib/error.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/stacked_histogram.hpp"
#include "evlib/ops/time_surface.hpp"
#include "evlib/ops/voxel_grid.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "io/atomic_file.hpp"
#if EVLIB_WITH_HDF5
#include "formats/hdf5/hdf5_util.hpp"
#include "formats/hdf5/hdf5_write_support.hpp"
#endif

namespace evlib::cli {

namespace {

enum class Repr { kHistogram, kStackedHistogram, kVoxelGrid, kTimeSurface };
enum class Dtype { kU8, kI16, kU16, kI32, kF32, kF64 };

struct DtypeInfo {
  const char* name;
  const char* npy_descr;
  std::size_t size;
};

DtypeInfo info(Dtype d) {
  switch (d) {
    case Dtype::kU8: return {"uint8", "|u1", 1};
    case Dtype::kI16: return {"int16", "<i2", 2};
    case Dtype::kU16: return {"uint16", "<u2", 2};
    case Dtype::kI32: return {"int32", "<i4", 4};
    case Dtype::kF32: return {"float32", "<f4", 4};
    case Dtype::kF64: return {"float64", "<f8", 8};
  }
  return {"", "", 0};
}

const std::map<std::string, Repr> kReprs{{"histogram", Repr::kHistogram},
                                         {"stacked-histogram", Repr::kStackedHistogram},
                                         {"voxel-grid", Repr::kVoxelGrid},
                                         {"time-surface", Repr::kTimeSurface}};
const std::map<std::string, Dtype> kDtypes{{"uint8", Dtype::kU8},  {"int16", Dtype::kI16},   {"uint16", Dtype::kU16},
                                           {"int32", Dtype::kI32}, {"float32", Dtype::kF32}, {"float64", Dtype::kF64}};

struct FramesArgs {
  std::string path;
  std::string out;
  std::string repr;
  std::string window;  // a time, e.g. 50ms
  std::uint64_t count = 0;
  unsigned bins = 0;  // 0: the representation's default (10 stacked, 5 voxel)
  unsigned polarities = 2;
  std::string dtype;  // "": the representation's default
  bool wrap = false;
  unsigned cutoff = 255;
  bool exact_counts = false;
  bool downsample = false;
  std::string convention = "e2vid";
  bool normalize = false;
  std::string tau;  // time; default: the window
  std::string format;
  std::string dataset = "frames";
  std::string compression;
  bool force = false;
  bool quiet = false;
  ReaderFlags flags;
  ScanFlags scan;
  FilterFlags filters;
};

// ---------------------------------------------------------------------------------------------
// Outputs

// Where the frames go, one at a time, each with its window's time bounds [t_begin, t_end).
class FrameWriter {
 public:
  virtual ~FrameWriter() = default;
  virtual void append(std::span<const std::byte> frame, std::int64_t t_begin, std::int64_t t_end) = 0;
  virtual void commit() = 0;
  std::uint64_t frames() const noexcept { return frames_; }

 protected:
  std::uint64_t frames_ = 0;
};

// A .npy array (frames, *frame_shape). The header's size is fixed (kHeaderBytes, a multiple of
// 64 as numpy writes them) and written again with the final number of frames at commit().
class NpyFrameWriter final : public FrameWriter {
 public:
  static constexpr std::size_t kHeaderBytes = 256;

  NpyFrameWriter(const std::string& path, bool force, Dtype dtype, std::vector<std::size_t> frame_shape)
      : file_(path, force), dtype_(dtype), frame_shape_(std::move(frame_shape)) {
    file_.require_seekable("npy");
    const std::string header = header_for(0);
    file_.write(header.data(), header.size());
  }

  void append(std::span<const std::byte> frame, std::int64_t, std::int64_t) override {
    file_.write(frame.data(), frame.size());
    ++frames_;
  }

  void commit() override {
    const std::string header = header_for(frames_);
    file_.write_at(0, header.data(), header.size());
    file_.commit();
  }

 private:
  std::string header_for(std::uint64_t frames) const {
    std::string dict = "{'descr': '" + std::string(info(dtype_).npy_descr) + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(frames);
    for (std::size_t d : frame_shape_) dict += ", " + std::to_string(d);
    dict += "), }";
    std::string header = std::string("\x93NUMPY\x01\x00", 8);
    const std::size_t length = kHeaderBytes - 10;
    if (dict.size() + 1 > length) throw IoError(file_.path(), "npy header too long for the frame shape");
    header += static_cast<char>(length & 0xff);
    header += static_cast<char>(length >> 8);
    header += dict;
    header.append(length - dict.size() - 1, ' ');
    header += '\n';
    return header;
  }

  detail::AtomicFile file_;
  Dtype dtype_;
  std::vector<std::size_t> frame_shape_;
};

#if EVLIB_WITH_HDF5
hid_t hdf5_type(Dtype d) {
  switch (d) {
    case Dtype::kU8: return H5T_NATIVE_UINT8;
    case Dtype::kI16: return H5T_NATIVE_INT16;
    case Dtype::kU16: return H5T_NATIVE_UINT16;
    case Dtype::kI32: return H5T_NATIVE_INT32;
    case Dtype::kF32: return H5T_NATIVE_FLOAT;
    case Dtype::kF64: return H5T_NATIVE_DOUBLE;
  }
  return H5I_INVALID_HID;
}

// An HDF5 file with the dataset `name` of shape (frames, *frame_shape), chunked one frame a chunk
// and extended by each append(), and 1-D int64 datasets t_begin and t_end beside it.
class Hdf5FrameWriter final : public FrameWriter {
 public:
  Hdf5FrameWriter(const std::string& path, bool force, Dtype dtype, const std::vector<std::size_t>& frame_shape,
                  const std::string& name, int gzip_level, const std::map<std::string, std::string>& attributes)
      : file_(path, force, detail::AtomicFile::NonRegular::kRefuse), path_(path), name_(name), type_(hdf5_type(dtype)) {
    namespace h5 = detail::h5;
    h5::QuietErrors quiet;
    h5file_ = h5::create_file(path_, file_.temp_path());
    dims_.push_back(0);
    for (std::size_t d : frame_shape) dims_.push_back(d);
    std::vector<hsize_t> max = dims_, chunk = dims_;
    max[0] = H5S_UNLIMITED;
    chunk[0] = 1;
    h5::Handle space = h5::space_handle(H5Screate_simple(static_cast<int>(dims_.size()), dims_.data(), max.data()));
    h5::Handle dcpl = h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
    if (gzip_level >= 0) {
      if (H5Tget_size(type_) > 1) H5Pset_shuffle(dcpl.get());
      H5Pset_deflate(dcpl.get(), static_cast<unsigned>(gzip_level));
    }
    h5::Handle lcpl = h5::plist_handle(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    dataset_ = h5::dataset_handle(
        H5Dcreate2(h5file_.get(), name_.c_str(), type_, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
    if (!dataset_) h5::fail_write(path_, "cannot create dataset " + name_);
    for (const auto& [key, value] : attributes) h5::write_string_attribute(path_, dataset_.get(), key, value);
    h5::Handle times = h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
    const hsize_t time_chunk = 4096;
    H5Pset_chunk(times.get(), 1, &time_chunk);
    t_begin_.emplace(path_, h5file_.get(), name_ + "_t_begin", H5T_STD_I64LE, H5T_NATIVE_INT64, times.get(), lcpl.get());
    t_end_.emplace(path_, h5file_.get(), name_ + "_t_end", H5T_STD_I64LE, H5T_NATIVE_INT64, times.get(), lcpl.get());
  }

  ~Hdf5FrameWriter() override {
    detail::h5::QuietErrors quiet;  // abandoned: AtomicFile removes the temporary file
    close_all();
  }

  void append(std::span<const std::byte> frame, std::int64_t t_begin, std::int64_t t_end) override {
    namespace h5 = detail::h5;
    h5::QuietErrors quiet;
    std::vector<hsize_t> grown = dims_, start(dims_.size(), 0), one = dims_;
    grown[0] = frames_ + 1;
    start[0] = frames_;
    one[0] = 1;
    if (H5Dset_extent(dataset_.get(), grown.data()) < 0) h5::fail_write(path_, "cannot extend dataset " + name_);
    h5::Handle file_space = h5::space_handle(H5Dget_space(dataset_.get()));
    h5::Handle memory = h5::space_handle(H5Screate_simple(static_cast<int>(one.size()), one.data(), nullptr));
    if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, one.data(), nullptr) < 0 ||
        H5Dwrite(dataset_.get(), type_, memory.get(), file_space.get(), H5P_DEFAULT, frame.data()) < 0) {
      h5::fail_write(path_, "cannot write frame " + std::to_string(frames_) + " of " + name_);
    }
    t_begin_->append(&t_begin, 1);
    t_end_->append(&t_end, 1);
    ++frames_;
  }

  void commit() override {
    detail::h5::QuietErrors quiet;
    if (!close_all()) detail::h5::fail_write(path_, "cannot finish the file");
    file_.commit();
  }

 private:
  bool close_all() {
    bool ok = true;
    if (t_begin_) ok = t_begin_->close() && ok;
    if (t_end_) ok = t_end_->close() && ok;
    ok = dataset_.close() && ok;
    return h5file_.close() && ok;
  }

  detail::AtomicFile file_;  // declared first: the HDF5 handles close before it removes the file
  std::string path_;
  std::string name_;
  hid_t type_;
  std::vector<hsize_t> dims_;
  detail::h5::Handle h5file_;
  detail::h5::Handle dataset_;
  std::optional<detail::h5::AppendDataset> t_begin_, t_end_;
};
#endif

int gzip_level_of(const std::string& compression) {
  if (compression.empty() || compression == "none") return -1;
  if (compression == "gzip") return 4;
  if (compression.size() == 6 && compression.compare(0, 5, "gzip=") == 0 && compression[5] >= '0' &&
      compression[5] <= '9') {
    return compression[5] - '0';
  }
  throw CLI::ValidationError("--compression", "unknown '" + compression + "' (use none, gzip or gzip=0 ... gzip=9)");
}

// ---------------------------------------------------------------------------------------------
// Representations

// Makes the frame of one window; stateful representations (the time surface) are fed the whole
// stream instead (see TimeSurfaceFrames).
class WindowFrame {
 public:
  WindowFrame(Repr repr, const FramesArgs& a, ops::SensorSize sensor, Dtype dtype)
      : repr_(repr),
        sensor_(sensor),
        dtype_(dtype),
        stacked_options_(stacked_options_of(a)),
        stacked_(sensor, stacked_options_) {
    frame_options_.sensor = sensor;
    frame_options_.polarities = a.polarities;
    frame_options_.overflow = a.wrap ? ops::CountOverflow::kWrap : ops::CountOverflow::kSaturate;
    voxel_options_.sensor = sensor;
    voxel_options_.bins = a.bins != 0 ? a.bins : 5;
    voxel_options_.convention = a.convention == "tonic" ? ops::VoxelConvention::kTonic : ops::VoxelConvention::kE2vid;
    voxel_options_.normalize = a.normalize;
    const std::size_t h = sensor.height, w = sensor.width;
    switch (repr) {
      case Repr::kHistogram: shape_ = {a.polarities, h, w}; break;
      case Repr::kStackedHistogram:
        shape_ = {2 * std::size_t{stacked_options_.bins}, a.downsample ? h / 2 : h, a.downsample ? w / 2 : w};
        break;
      case Repr::kVoxelGrid: shape_ = {voxel_options_.bins, h, w}; break;
      case Repr::kTimeSurface: shape_ = {a.polarities, h, w}; break;
    }
    buffer_.resize(values() * info(dtype).size);
  }

  static ops::StackedHistogramOptions stacked_options_of(const FramesArgs& a) {
    ops::StackedHistogramOptions o;
    o.bins = a.bins != 0 ? a.bins : 10;
    o.count_cutoff = a.cutoff;
    o.fastmode = !a.exact_counts;
    o.downsample_by_2 = a.downsample;
    return o;
  }

  const std::vector<std::size_t>& shape() const noexcept { return shape_; }
  std::size_t values() const noexcept { return shape_[0] * shape_[1] * shape_[2]; }

  // A histogram counts each piece of a window as it comes, so `evlib frames` keeps none of the
  // window's events; the other representations need the window whole (see OpenWindow).
  bool counts_as_it_goes() const noexcept { return repr_ == Repr::kHistogram; }
  // The next piece of the open window (counts_as_it_goes() only).
  void add_piece(EventView piece) {
    dispatch([&](auto* out) { count_into_frame(piece, out); });
  }

  // The frame of one window given as pieces in event order (empty for an empty window), after
  // any pieces given to add_piece().
  std::span<const std::byte> make(std::span<const EventView> window) {
    switch (repr_) {
      case Repr::kHistogram: dispatch([&](auto* out) { histogram(window, out); }); break;
      case Repr::kStackedHistogram: stacked_histogram(window); break;
      case Repr::kVoxelGrid:
        if (dtype_ == Dtype::kF32) {
          ops::voxel_grid(whole(window), voxel_options_, typed<float>());
        } else {
          ops::voxel_grid(whole(window), voxel_options_, typed<double>());
        }
        break;
      case Repr::kTimeSurface: throw std::logic_error("time surfaces are made by TimeSurfaceFrames");
    }
    return buffer_;
  }

 private:
  template <class T>
  std::span<T> typed() {
    return {reinterpret_cast<T*>(buffer_.data()), values()};
  }
  template <class F>
  void dispatch(F&& f) {
    switch (dtype_) {
      case Dtype::kU8: f(static_cast<std::uint8_t*>(nullptr)); break;
      case Dtype::kI16: f(static_cast<std::int16_t*>(nullptr)); break;
      case Dtype::kU16: f(static_cast<std::uint16_t*>(nullptr)); break;
      case Dtype::kI32: f(static_cast<std::int32_t*>(nullptr)); break;
      case Dtype::kF32: f(static_cast<float*>(nullptr)); break;
      case Dtype::kF64: f(static_cast<double*>(nullptr)); break;
    }
  }
  template <class T>
  void histogram(std::span<const EventView> window, T* type) {
    for (const EventView& piece : window) count_into_frame(piece, type);
    if (frame_started_) {
      frame_started_ = false;
    } else {
      zero<T>();  // nothing counted: an empty window
    }
  }
  template <class T>
  void count_into_frame(EventView piece, T*) {
    if (!frame_started_) {
      zero<T>();
      frame_started_ = true;
    }
    ops::accumulate_frame(piece, frame_options_, typed<T>());
  }
  template <class T>
  void zero() {
    const std::span<T> frame = typed<T>();
    std::fill(frame.begin(), frame.end(), T{0});
  }
  void stacked_histogram(std::span<const EventView> window) {
    const std::span<std::uint8_t> out = typed<std::uint8_t>();
    if (stacked_options_.fastmode) {
      stacked_.histogram_into(window, out);  // zeroes each bin's planes as it reaches them
    } else {
      ops::stacked_histogram(whole(window), sensor_, stacked_options_, out);
    }
  }
  // The voxel grid (and RVT's exact-count mode) take a window in one piece: several are copied
  // into one (E2VID adds every event's left weight before any right weight, in float32).
  EventView whole(std::span<const EventView> window) {
    if (window.empty()) return {};
    if (window.size() == 1) return window.front();
    std::size_t total = 0;
    for (const EventView& piece : window) total += piece.size();
    if (joined_.capacity() < total) joined_ = EventBatch::with_capacity(total);
    joined_.set_size(0);
    for (const EventView& piece : window) joined_.append(piece);
    return joined_;
  }

  Repr repr_;
  ops::SensorSize sensor_;
  Dtype dtype_;
  ops::EventFrameOptions frame_options_;
  ops::StackedHistogramOptions stacked_options_;
  ops::VoxelGridOptions voxel_options_;
  ops::StackedHistogramAccumulator stacked_;
  std::vector<std::size_t> shape_;
  std::vector<std::byte> buffer_;
  bool frame_started_ = false;  // a histogram holds counts of the open window
  EventBatch joined_;
};

// ---------------------------------------------------------------------------------------------
// Windows

// The events of a window that is still open, in blocks of fixed size reused from window to
// window: no block is ever reallocated or copied, so the memory is that of the largest window
// rounded up to a block (a vector grown by doubling held up to three times that while it grew).
class OpenWindow {
 public:
  static constexpr std::size_t kBlockEvents = std::size_t{1} << 16;

  void append(EventView part) {
    for (std::size_t i = 0; i < part.size();) {
      if (used_ == 0 || blocks_[used_ - 1].size() == kBlockEvents) {
        if (used_ == blocks_.size()) blocks_.push_back(EventBatch::with_capacity(kBlockEvents));
        blocks_[used_++].set_size(0);
      }
      EventBatch& block = blocks_[used_ - 1];
      const std::size_t n = std::min(kBlockEvents - block.size(), part.size() - i);
      block.append(part.slice(i, i + n));
      i += n;
    }
  }
  // The window's pieces: the blocks, then `last` (the window's end, still in its chunk).
  std::span<const EventView> pieces_with(EventView last) {
    pieces_.clear();
    for (std::size_t b = 0; b < used_; ++b) pieces_.push_back(blocks_[b]);
    if (!last.empty()) pieces_.push_back(last);
    return pieces_;
  }
  void clear() noexcept { used_ = 0; }

 private:
  std::vector<EventBatch> blocks_;
  std::size_t used_ = 0;
  std::vector<EventView> pieces_;
};

// Cuts the stream into windows (by time from the first event, or by count) and calls `emit`
// with each window's events, as pieces in event order, and its bounds. A window inside one chunk
// is one view of the chunk; the start of one spread over several is kept in an OpenWindow.
class WindowCutter {
 public:
  using Emit = std::function<void(std::span<const EventView> window, std::int64_t t_begin, std::int64_t t_end)>;

  // With `counted`, the open window's pieces are handed to it as they come and not kept.
  using Counted = std::function<void(EventView piece)>;

  WindowCutter(std::int64_t window_us, std::uint64_t count, std::string path, Emit emit, Counted counted = {})
      : window_us_(window_us),
        count_(count),
        path_(std::move(path)),
        emit_(std::move(emit)),
        counted_(std::move(counted)) {}

  void add(EventView events) {
    if (events.empty()) return;
    if (window_us_ > 0) check_time_order(events);
    std::size_t i = 0;
    while (i < events.size()) {
      if (window_us_ > 0) {
        if (!started_) {
          started_ = true;
          window_begin_ = events.t()[0];
        }
        const std::int64_t end = window_end();
        const auto t = events.t();
        // A window reaching past int64's top holds every later time (its end, saturated, would
        // leave out INT64_MAX and, before, wrapped: empty windows without end).
        const std::size_t j = ends_past_top()
                                  ? events.size()
                                  : static_cast<std::size_t>(std::lower_bound(t.begin() + i, t.end(), end) - t.begin());
        if (j == events.size()) {
          hold(events.slice(i, j));
          return;
        }
        close_window(events.slice(i, j), window_begin_, end);
        window_begin_ = end;
        // Empty windows up to the one holding the next event.
        while (!ends_past_top() && t[j] >= window_end()) {
          emit_({}, window_begin_, window_end());
          window_begin_ += window_us_;
        }
        i = j;
      } else {
        const std::size_t need = count_ - held_;
        const std::size_t j = std::min(events.size(), i + need);
        if (j - i < need) {
          hold(events.slice(i, j));
          return;
        }
        const EventView last = events.slice(i, j);
        const std::int64_t first_t = held_ != 0 ? held_first_t_ : last.t()[0];
        close_window(last, first_t, just_after(last.t()[last.size() - 1]));
        i = j;
      }
    }
  }

  // The last window, when it holds events.
  void finish() {
    if (held_ == 0) return;
    const std::int64_t t_begin = window_us_ > 0 ? window_begin_ : held_first_t_;
    const std::int64_t t_end = window_us_ > 0 ? window_end() : just_after(held_last_t_);
    emit_(open_.pieces_with({}), t_begin, t_end);
    clear();
  }

 private:
  // A count window's end: one µs after its last event (INT64_MAX for an event there).
  static std::int64_t just_after(std::int64_t t) { return t == std::numeric_limits<std::int64_t>::max() ? t : t + 1; }
  bool ends_past_top() const { return window_begin_ > std::numeric_limits<std::int64_t>::max() - window_us_; }
  // The open time window's end, INT64_MAX for one reaching past it.
  std::int64_t window_end() const { return ends_past_top() ? std::numeric_limits<std::int64_t>::max() : window_begin_ + window_us_; }
  void check_time_order(EventView events) {
    const auto t = events.t();
    if (have_last_ && t[0] < last_t_) fail_order(last_t_, t[0]);
    const auto bad = std::is_sorted_until(t.begin(), t.end());
    if (bad != t.end()) fail_order(*(bad - 1), *bad);
    have_last_ = true;
    last_t_ = t[t.size() - 1];
  }
  [[noreturn]] void fail_order(std::int64_t before, std::int64_t after) const {
    throw InvalidArgument(path_ + ": time goes back from " + std::to_string(before) + " to " + std::to_string(after) +
                          " us: --window needs events in time order (use --count)");
  }
  // A part of the open window that its chunk does not finish.
  void hold(EventView part) {
    if (part.empty()) return;
    if (held_ == 0) held_first_t_ = part.t()[0];
    held_ += part.size();
    held_last_t_ = part.t()[part.size() - 1];
    if (counted_) counted_(part);
    else open_.append(part);
  }
  // The open window ends with `last` (its start, if any, was held).
  void close_window(EventView last, std::int64_t t_begin, std::int64_t t_end) {
    if (held_ == 0) {
      emit_(last.empty() ? std::span<const EventView>{} : std::span<const EventView>(&last, 1), t_begin, t_end);
      return;
    }
    emit_(open_.pieces_with(last), t_begin, t_end);
    clear();
  }
  void clear() noexcept {
    open_.clear();
    held_ = 0;
  }

  std::int64_t window_us_;
  std::uint64_t count_;
  std::string path_;
  Emit emit_;
  bool started_ = false;
  std::int64_t window_begin_ = 0;
  bool have_last_ = false;
  std::int64_t last_t_ = 0;
  Counted counted_;
  OpenWindow open_;  // the held events, unless counted_
  std::size_t held_ = 0;
  std::int64_t held_first_t_ = 0;
  std::int64_t held_last_t_ = 0;
};

// ---------------------------------------------------------------------------------------------

Dtype dtype_for(Repr repr, const FramesArgs& a) {
  const auto given = [&]() -> std::optional<Dtype> {
    if (a.dtype.empty()) return std::nullopt;
    return kDtypes.at(a.dtype);
  }();
  const auto refuse = [&](const char* allowed) {
    throw CLI::ValidationError("--dtype", a.dtype + " does not suit --repr " + a.repr + " (" + allowed + ")");
  };
  switch (repr) {
    case Repr::kHistogram: return given.value_or(Dtype::kI16);
    case Repr::kStackedHistogram:
      if (given && *given != Dtype::kU8) refuse("uint8 only");
      return Dtype::kU8;
    case Repr::kVoxelGrid:
      if (given && *given != Dtype::kF32 && *given != Dtype::kF64) refuse("float32 or float64");
      return given.value_or(a.convention == "tonic" ? Dtype::kF64 : Dtype::kF32);
    case Repr::kTimeSurface:
      if (given && *given != Dtype::kF32 && *given != Dtype::kF64) refuse("float32 or float64");
      return given.value_or(Dtype::kF64);
  }
  return Dtype::kF64;
}

std::unique_ptr<FrameWriter> open_output(const FramesArgs& a, Dtype dtype, const std::vector<std::size_t>& shape,
                                         std::int64_t window_us) {
  std::string format = a.format;
  if (format.empty()) {
    if (a.out.ends_with(".npy")) format = "npy";
    else if (a.out.ends_with(".h5") || a.out.ends_with(".hdf5")) format = "hdf5";
    else throw CLI::ValidationError("OUT", "cannot tell the output format of '" + a.out + "' (name it .npy or .h5, or give --out-format)");
  }
  const int gzip_level = gzip_level_of(a.compression);
  if (format == "npy") {
    if (gzip_level >= 0) throw CLI::ValidationError("--compression", "applies to HDF5 outputs only");
    return std::make_unique<NpyFrameWriter>(a.out, a.force, dtype, shape);
  }
#if EVLIB_WITH_HDF5
  std::map<std::string, std::string> attributes{{"representation", a.repr}, {"source", a.path}};
  attributes[window_us > 0 ? "window_us" : "window_events"] =
      std::to_string(window_us > 0 ? static_cast<std::uint64_t>(window_us) : a.count);
  return std::make_unique<Hdf5FrameWriter>(a.out, a.force, dtype, shape, a.dataset, gzip_level, attributes);
#else
  (void)window_us;
  throw UnsupportedFormat::unavailable(a.out, "built without HDF5 support: write .npy");
#endif
}

int run_frames(const FramesArgs& a) {
  const Repr repr = kReprs.at(a.repr);
  // Wrong or missing options are usage errors (exit 64), as the help says.
  const std::int64_t window_us = a.window.empty() ? 0 : parse_time_us(a.window);
  if (!a.window.empty() && window_us <= 0) throw CLI::ValidationError("--window", "must be a positive time, not " + a.window);
  if ((window_us > 0) == (a.count > 0)) throw CLI::ValidationError("--window/--count", "give one of them (a time or a number of events)");
  if (repr == Repr::kTimeSurface && window_us <= 0) throw CLI::ValidationError("--repr", "time-surface needs --window");
  if (a.cutoff > 255) throw CLI::ValidationError("--cutoff", "must be 0..255");
  const Dtype dtype = dtype_for(repr, a);
  InputGuard(a.path).refuse(a.out);  // --force replaces an old output, never the recording read

  Progress progress(0, !a.quiet);
  const ReadOptions options = a.flags.resolve();
  const Scan scan = a.scan.make(a.path, options).on_progress([&](const ScanProgress& p) {
    progress.update(p.fraction(), p.events);
  });
  const ops::SensorSize sensor{options.width != 0 ? options.width : scan.metadata().width,
                               options.height != 0 ? options.height : scan.metadata().height};
  if (sensor.width == 0 || sensor.height == 0) {
    throw InvalidArgument(a.path + ": the file does not give the sensor size: give --width and --height");
  }
  FirstPass first_pass;
  if (readable_twice(a.path)) {
    first_pass = [&](const std::function<void(const EventBatch&)>& visit) {
      BatchStream pass = a.scan.make(a.path, options).chunks();
      while (auto chunk = pass.next()) visit(chunk->events);
    };
  }
  EventFilters filters(a.filters, sensor, a.path, first_pass);

  WindowFrame frame(repr, a, sensor, dtype);
  const std::unique_ptr<FrameWriter> out = open_output(a, dtype, frame.shape(), window_us);
  BatchStream chunks = scan.chunks();
  if (repr == Repr::kTimeSurface) {
    ops::HotsOptions hots;
    hots.sensor = sensor;
    hots.dt_us = window_us;
    hots.tau_us = static_cast<double>(a.tau.empty() ? window_us : parse_time_us(a.tau));
    if (hots.tau_us <= 0) throw CLI::ValidationError("--tau", "must be a positive time");
    hots.polarities = a.polarities;
    hots.include_incomplete = true;
    ops::HotsTimeSurfaces surfaces(hots);
    std::optional<std::int64_t> t0;
    std::vector<double> made;
    std::vector<float> narrowed;
    const auto flush = [&] {
      const std::size_t n = hots.sensor.pixels() * hots.polarities;
      for (std::size_t k = 0; k * n < made.size(); ++k) {
        const std::int64_t begin = *t0 + static_cast<std::int64_t>(out->frames()) * window_us;
        std::span<const double> one(made.data() + k * n, n);
        if (dtype == Dtype::kF32) {
          narrowed.assign(one.begin(), one.end());
          out->append(std::as_bytes(std::span<const float>(narrowed)), begin, begin + window_us);
        } else {
          out->append(std::as_bytes(one), begin, begin + window_us);
        }
      }
      made.clear();
    };
    while (auto chunk = chunks.next()) {
      const EventBatch events = filters.apply(std::move(chunk->events));
      if (!t0 && !events.empty()) t0 = events.t()[0];
      surfaces.add(events, made);
      flush();
    }
    if (t0) {
      surfaces.finish(made);
      flush();
    }
  } else {
    WindowCutter::Counted counted;
    if (frame.counts_as_it_goes()) counted = [&](EventView piece) { frame.add_piece(piece); };
    WindowCutter cutter(
        window_us, a.count, a.path,
        [&](std::span<const EventView> window, std::int64_t t_begin, std::int64_t t_end) {
          out->append(frame.make(window), t_begin, t_end);
        },
        std::move(counted));
    while (auto chunk = chunks.next()) cutter.add(filters.apply(std::move(chunk->events)));
    cutter.finish();
  }
  out->commit();
  progress.finish();
  if (!a.quiet) {
    const auto& s = frame.shape();
    std::fprintf(stderr, "%llu frames of %zu x %zu x %zu %s written to %s\n", static_cast<unsigned long long>(out->frames()),
                 s[0], s[1], s[2], info(dtype).name, printable(a.out).c_str());
  }
  return 0;
}

template <class Map>
std::vector<std::string> keys_of(const Map& m) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  return keys;
}

}  // namespace

namespace {

// An option of another representation is refused, not ignored (--bins 5 with histogram wrote a
// plain histogram, exit 0), as a --dtype that does not suit it is.
void refuse_options_not_for(const CLI::App& cmd, const std::string& repr) {
  static const std::vector<std::pair<const char*, std::vector<std::string>>> kFor = {
      {"--bins", {"stacked-histogram", "voxel-grid"}}, {"--polarities", {"histogram", "time-surface"}},
      {"--wrap", {"histogram"}},                      {"--cutoff", {"stacked-histogram"}},
      {"--exact-counts", {"stacked-histogram"}},       {"--downsample", {"stacked-histogram"}},
      {"--convention", {"voxel-grid"}},                {"--normalize", {"voxel-grid"}},
      {"--tau", {"time-surface"}}};
  for (const auto& [name, reprs] : kFor) {
    if (cmd.get_option(name)->count() == 0 || std::find(reprs.begin(), reprs.end(), repr) != reprs.end()) continue;
    std::string which;
    for (const std::string& r : reprs) which += (which.empty() ? "" : " or ") + r;
    throw CLI::ValidationError(name, "applies to --repr " + which + ", not " + repr);
  }
}

}  // namespace

void add_frames_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<FramesArgs>();
  CLI::App* cmd = app.add_subcommand("frames", "Write a representation per time window or event count to .npy or HDF5");
  cmd->add_option("FILE", args->path, "Recording to read")->required();
  cmd->add_option("OUT", args->out, "Output: .npy (frames, C, H, W) or .h5")->required();
  cmd->add_option("--repr", args->repr, "Representation")->required()->check(CLI::IsMember(keys_of(kReprs)));
  auto* window = cmd->add_option("--window", args->window, "Time window (e.g. 50ms), from the first event")
                     ->check(time_value());
  auto* count = cmd->add_option("--count", args->count, "Windows of N events (the last one may be shorter)")
                    ->check(CLI::Range(std::uint64_t{1}, kMaxChunkEvents));
  window->excludes(count);
  cmd->add_option("--bins", args->bins, "Time bins (stacked-histogram: 10, voxel-grid: 5)")->check(CLI::Range(1u, 1024u));
  cmd->add_option("--polarities", args->polarities, "histogram / time-surface channels: 2 (by polarity) or 1")
      ->check(CLI::IsMember({1u, 2u}));
  cmd->add_option("--dtype", args->dtype, "Element type (histogram: int16; voxel-grid: float32 e2vid, float64 tonic)")
      ->check(CLI::IsMember(keys_of(kDtypes)));
  cmd->add_flag("--wrap", args->wrap, "histogram: counts wrap modulo the type as tonic's int16 (default: saturate)");
  cmd->add_option("--cutoff", args->cutoff, "stacked-histogram: RVT's count cutoff (0..255)");
  cmd->add_flag("--exact-counts", args->exact_counts, "stacked-histogram: clamp counts instead of RVT's uint8 wrap (fastmode)");
  cmd->add_flag("--downsample", args->downsample, "stacked-histogram: RVT's x2 downsampling");
  cmd->add_option("--convention", args->convention, "voxel-grid: e2vid or tonic")->check(CLI::IsMember({"e2vid", "tonic"}));
  cmd->add_flag("--normalize", args->normalize, "voxel-grid: E2VID's normalisation over the non-zero voxels");
  cmd->add_option("--tau", args->tau, "time-surface: decay constant (default: the window)")->check(time_value());
  cmd->add_option("--out-format", args->format, "Output format: npy or hdf5 (default: from OUT's extension)")->check(CLI::IsMember({"npy", "hdf5"}));
  cmd->add_option("--dataset", args->dataset, "HDF5: dataset of the frames (window bounds go to NAME_t_begin, NAME_t_end)");
  cmd->add_option("--compression", args->compression, "HDF5: none, gzip or gzip=0..9");
  cmd->add_flag("-f,--force", args->force, "Replace OUT if it exists");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar or summary");
  args->flags.add_to(*cmd);
  args->scan.add_to(*cmd);
  args->filters.add_to(*cmd);
  cmd->callback([args, cmd, &exit_code] {
    refuse_options_not_for(*cmd, args->repr);
    exit_code = run_frames(*args);
  });
}

}  // namespace evlib::cli
