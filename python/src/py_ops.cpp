// The processing kernels (include/evlib/ops/) for Python: functions and streaming objects over
// NumPy columns (t int64, x uint16, y uint16, p uint8, C-contiguous: the Python layer converts,
// without a copy when the dtype already matches). Outputs are written into arrays the caller
// allocates, except the time surfaces (their number is known only after the kernel ran), the
// voxel grids and the stacked histograms without `out=`: those are returned as arrays over memory
// the extension keeps from the last dropped output of their size. The GIL is released while a
// kernel runs.
#include <array>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "evlib/column_memory.hpp"
#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/hot_pixels.hpp"
#include "evlib/ops/refractory.hpp"
#include "evlib/ops/slicing.hpp"
#include "evlib/ops/stacked_histogram.hpp"
#include "evlib/ops/stcf.hpp"
#include "evlib/ops/time_surface.hpp"
#include "evlib/ops/voxel_grid.hpp"

namespace evlib::python {
namespace nb = nanobind;
using namespace evlib::ops;

namespace {

template <class T>
using In = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Out = nb::ndarray<nb::c_contig, nb::device::cpu>;

EventView view_of(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                  const In<std::uint8_t>& p) {
  const std::size_t n = t.shape(0);
  if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n)
    throw std::invalid_argument("the t, x, y and p columns differ in length");
  return {t.data(), x.data(), y.data(), p.data(), n};
}

// The caller's output array as a span of T, checked for dtype and size.
template <class T>
std::span<T> out_span(Out& out, std::size_t size, const char* operation) {
  if (out.dtype() != nb::dtype<T>())
    throw std::invalid_argument(std::string(operation) + ": output array has the wrong dtype");
  if (out.size() != size)
    throw std::invalid_argument(std::string(operation) + ": output array holds " + std::to_string(out.size()) +
                                " values, " + std::to_string(size) + " expected");
  return {static_cast<T*>(out.data()), size};
}

std::span<std::uint8_t> keep_span(Out& keep, std::size_t n) { return out_span<std::uint8_t>(keep, n, "filter"); }

SensorSize sensor_of(std::uint32_t width, std::uint32_t height) {
  SensorSize s{width, height};
  detail::require_sensor(s, "sensor");
  return s;
}

// Outputs returned over kept memory (HOTS surfaces, voxel grids, stacked histograms): a block
// above kKeptOutputBytes is freed when its array goes, not kept: the process would hold it until
// it exits.
constexpr std::size_t kKeptOutputBytes = std::size_t{256} << 20;

// The capsule deleter of such an array: its block goes back to `spare` for the next output of
// its size.
template <SpareColumnMemory& spare>
void give_back(void* block) noexcept {
  auto* memory = static_cast<ColumnMemory*>(block);
  if (memory->bytes() <= kKeptOutputBytes) spare.keep(std::move(*memory));
  delete memory;
}

// A new 3-D array of T, shape[0] x shape[1] x shape[2], over a block from `spare` (given back
// when the array goes). fill(dst, zeros) writes every value without the GIL; zeros: the block is
// a fresh mapping, which reads as zeros, so a kernel that adds into it need not zero it first.
// The block has at least one value: numpy's array needs a valid address even when empty.
template <class T, SpareColumnMemory& spare, class Fill>
nb::object new_kept_array(const std::array<std::size_t, 3>& shape, Fill fill) {
  const std::size_t size = shape[0] * shape[1] * shape[2];
  bool reused = false;
  auto* owned = new ColumnMemory(spare.take(std::max<std::size_t>(size, 1) * sizeof(T), &reused));
  nb::capsule owner(owned, &give_back<spare>);
  {
    const std::span<T> dst(static_cast<T*>(owned->data()), size);
    nb::gil_scoped_release release;
    fill(dst, !reused && owned->mapped());
  }
  return nb::cast(nb::ndarray<nb::numpy, T>(static_cast<T*>(owned->data()), 3, shape.data(), owner),
                  nb::rv_policy::reference);
}

// The memory of the last HOTS surfaces Python dropped, for the next call of that size (a
// training loop's fixed windows): 20 surfaces of 640x480 are 98 MB, whose first-touch page
// faults (the kernel zeroing every page) cost about a third of computing them.
constinit SpareColumnMemory spare_surface_memory;

// Room for `count` HOTS surfaces of `size` values each: the kept block if it has that size.
ColumnMemory surface_memory(std::size_t count, std::size_t size) {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes) || __builtin_mul_overflow(bytes, sizeof(double), &bytes) ||
      static_cast<double>(bytes) > evlib::ops::detail::physical_memory_bytes())
    throw std::length_error("HOTS time surface: " + std::to_string(count) + " surfaces of " + std::to_string(size) +
                            " values: more than memory can hold (the events span that many windows of dt)");
  return spare_surface_memory.take(bytes);
}

// A float64 array owning `memory` (from surface_memory), shaped (count, planes, height, width).
nb::object owned_surfaces(ColumnMemory&& memory, std::size_t count, std::size_t planes, SensorSize sensor) {
  auto* owned = new ColumnMemory(std::move(memory));
  nb::capsule owner(owned, &give_back<spare_surface_memory>);
  const std::size_t shape[4] = {count, planes, sensor.height, sensor.width};
  return nb::cast(nb::ndarray<nb::numpy, double>(static_cast<double*>(owned->data()), 4, shape, owner),
                  nb::rv_policy::reference);
}

// value: µs, events or bins (whole numbers); overlap: µs or events for the first two kinds (a
// whole number), a fraction of a bin for the others.
Slicing make_slicing(const std::string& kind, std::int64_t value, double overlap, bool include_incomplete,
                     std::optional<std::int64_t> start, std::optional<std::int64_t> end) {
  if (value < 0 || overlap < 0) throw std::invalid_argument("slicing: negative window or overlap");
  const bool whole = kind == "time" || kind == "count";
  if (whole && (overlap != std::floor(overlap) || overlap >= 0x1p63))
    throw std::invalid_argument("slicing: the overlap of time windows and event counts is a whole number of us or events");
  if (kind == "time")
    return TimeWindowSlicing{value, static_cast<std::int64_t>(overlap), include_incomplete, start, end};
  if (kind == "count")
    return EventCountSlicing{static_cast<std::size_t>(value), static_cast<std::size_t>(overlap), include_incomplete};
  if (kind == "time_bins") return TimeBinSlicing{static_cast<std::size_t>(value), overlap};
  if (kind == "event_bins") return EventBinSlicing{static_cast<std::size_t>(value), overlap};
  throw std::invalid_argument("slicing: unknown kind '" + kind + "' (time, count, time_bins, event_bins)");
}

SliceConvention slice_convention(const std::string& name) {
  if (name == "tonic") return SliceConvention::kTonic;
  if (name == "clean") return SliceConvention::kClean;
  throw std::invalid_argument("slicing: unknown convention '" + name + "' (tonic, clean)");
}

RefractoryConvention refractory_convention(const std::string& name) {
  if (name == "tonic") return RefractoryConvention::kTonic;
  if (name == "dv") return RefractoryConvention::kDvProcessing;
  if (name == "evlib") return RefractoryConvention::kFirstKept;
  throw std::invalid_argument("refractory: unknown convention '" + name + "' (tonic, dv, evlib)");
}

BackgroundActivityConvention background_convention(const std::string& name) {
  if (name == "dv") return BackgroundActivityConvention::kDvProcessing;
  if (name == "jaer") return BackgroundActivityConvention::kJaer;
  if (name == "tonic") return BackgroundActivityConvention::kTonicDenoise;
  throw std::invalid_argument("background activity: unknown convention '" + name + "' (dv, jaer, tonic)");
}

nb::object slice_windows(const In<std::int64_t>& t, const std::string& kind, std::int64_t value, double overlap,
                         bool include_incomplete, std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                         const std::string& convention) {
  const Slicing slicing = make_slicing(kind, value, overlap, include_incomplete, start, end);
  const SliceConvention conv = slice_convention(convention);
  auto* ranges = new std::vector<std::int64_t>;
  nb::capsule owner(ranges, [](void* p) noexcept { delete static_cast<std::vector<std::int64_t>*>(p); });
  {
    nb::gil_scoped_release release;
    for (const IndexRange& r : slice_events({t.data(), t.shape(0)}, slicing, conv)) {
      ranges->push_back(static_cast<std::int64_t>(r.begin));
      ranges->push_back(static_cast<std::int64_t>(r.end));
    }
  }
  const std::size_t shape[2] = {ranges->size() / 2, 2};
  return nb::cast(nb::ndarray<nb::numpy, std::int64_t>(ranges->data(), 2, shape, owner), nb::rv_policy::reference);
}

template <class T>
void frames_as(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options, Out& out,
               bool out_is_zeroed) {
  const std::size_t size = windows.size() * options.polarities * options.sensor.pixels();
  std::span<T> dst = out_span<T>(out, size, "event_frame");
  nb::gil_scoped_release release;
  if (out_is_zeroed)
    event_frames_into_zeroed<T>(events, windows, options, dst);
  else
    event_frames<T>(events, windows, options, dst);
}

void event_frames_into(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                       const In<std::uint8_t>& p, const nb::ndarray<const std::int64_t, nb::ndim<2>, nb::c_contig>& windows,
                       std::uint32_t width, std::uint32_t height, unsigned polarities, bool wrap, Out out,
                       bool out_is_zeroed) {
  const EventView events = view_of(t, x, y, p);
  if (polarities != 1 && polarities != 2) throw std::invalid_argument("event_frame: polarities must be 1 or 2");
  if (windows.shape(1) != 2) throw std::invalid_argument("event_frame: windows must be (n, 2) [begin, end) pairs");
  std::vector<IndexRange> ranges(windows.shape(0));
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const std::int64_t b = windows(i, 0), e = windows(i, 1);
    if (b < 0 || e < b || static_cast<std::size_t>(e) > events.size())
      throw std::invalid_argument("event_frame: window " + std::to_string(i) + " is not inside the events");
    ranges[i] = {static_cast<std::size_t>(b), static_cast<std::size_t>(e)};
  }
  const EventFrameOptions options{sensor_of(width, height), polarities,
                                  wrap ? CountOverflow::kWrap : CountOverflow::kSaturate};
  const auto code = out.dtype();
  if (code == nb::dtype<std::int8_t>()) return frames_as<std::int8_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::int16_t>()) return frames_as<std::int16_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::int32_t>()) return frames_as<std::int32_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::int64_t>()) return frames_as<std::int64_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::uint8_t>()) return frames_as<std::uint8_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::uint16_t>()) return frames_as<std::uint16_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::uint32_t>()) return frames_as<std::uint32_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<std::uint64_t>()) return frames_as<std::uint64_t>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<float>()) return frames_as<float>(events, ranges, options, out, out_is_zeroed);
  if (code == nb::dtype<double>()) return frames_as<double>(events, ranges, options, out, out_is_zeroed);
  throw std::invalid_argument("event_frame: unsupported output dtype");
}

void stacked_histogram_into(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                            const In<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, unsigned bins,
                            unsigned count_cutoff, bool fastmode, bool downsample_by_2, Out out, bool out_is_zeroed) {
  const EventView events = view_of(t, x, y, p);
  const SensorSize sensor = sensor_of(width, height);
  const StackedHistogramOptions options{bins, count_cutoff, fastmode, downsample_by_2};
  StackedHistogramAccumulator acc(sensor, options);  // validates options, gives the size
  std::span<std::uint8_t> dst = out_span<std::uint8_t>(out, acc.size(), "stacked_histogram");
  nb::gil_scoped_release release;
  // A fresh np.zeros array (calloc: pages the kernel zeroed) need not be zeroed a second time.
  if (out_is_zeroed && fastmode) acc.histogram_into_zeroed(events, dst);
  else stacked_histogram(events, sensor, options, dst);
}

template <class T>
void voxel_as(EventView events, const VoxelGridOptions& options, Out& out, bool out_is_zeroed) {
  std::span<T> dst = out_span<T>(out, std::size_t{options.bins} * options.sensor.pixels(), "voxel_grid");
  nb::gil_scoped_release release;
  if (out_is_zeroed) voxel_grid_into_zeroed<T>(events, options, dst);
  else voxel_grid<T>(events, options, dst);
}

VoxelGridOptions voxel_options(std::uint32_t width, std::uint32_t height, unsigned bins, const std::string& convention,
                               bool all_on, bool normalize) {
  VoxelGridOptions options{sensor_of(width, height), bins, VoxelConvention::kE2vid,
                           all_on ? VoxelPolarity::kAllOn : VoxelPolarity::kSigned, normalize};
  if (convention == "tonic") options.convention = VoxelConvention::kTonic;
  else if (convention != "e2vid") throw std::invalid_argument("voxel_grid: unknown convention '" + convention + "' (e2vid, tonic)");
  return options;
}

void voxel_grid_into(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                     const In<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, unsigned bins,
                     const std::string& convention, bool all_on, bool normalize, Out out, bool out_is_zeroed) {
  const VoxelGridOptions options = voxel_options(width, height, bins, convention, all_on, normalize);
  const EventView events = view_of(t, x, y, p);
  if (out.dtype() == nb::dtype<float>()) return voxel_as<float>(events, options, out, out_is_zeroed);
  if (out.dtype() == nb::dtype<double>()) return voxel_as<double>(events, options, out, out_is_zeroed);
  throw std::invalid_argument("voxel_grid: output dtype must be float32 or float64");
}

// The memory of the last stacked histogram Python dropped, for the next one of its size (as the
// voxel grids' below: a fresh 640x480 x 10-bin tensor is 6.1 MB of first-touch page faults, about
// 1 ms, a third of counting 1 M events into it).
constinit SpareColumnMemory spare_histogram_memory;

// A new (2 * bins, out height, out width) array holding the window's stacked histogram.
nb::object stacked_histogram_new(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                                 const In<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, unsigned bins,
                                 unsigned count_cutoff, bool fastmode, bool downsample_by_2) {
  const EventView events = view_of(t, x, y, p);
  const SensorSize sensor = sensor_of(width, height);
  const StackedHistogramOptions options{bins, count_cutoff, fastmode, downsample_by_2};
  StackedHistogramAccumulator acc(sensor, options);  // validates options, gives the size
  // On zeros the counts go in as they are (the pages of bins without events are never touched);
  // otherwise each bin's planes are zeroed as the kernel reaches them.
  return new_kept_array<std::uint8_t, spare_histogram_memory>(
      {2 * std::size_t{bins}, acc.out_height(), acc.out_width()}, [&](std::span<std::uint8_t> dst, bool zeros) {
        if (zeros && fastmode) acc.histogram_into_zeroed(events, dst);
        else stacked_histogram(events, sensor, options, dst);
      });
}

// The memory of the last voxel grid Python dropped, for the next grid of its size. A fresh
// 640x480 x 5 float64 grid (12.3 MB) is a fresh mapping or fresh heap pages: ~1900 first-touch
// page faults, about 3 ms, half as long as spreading 1 M events into it. Zeroing a kept block
// costs a fraction of that. Each grid is still the caller's own array: a block is reused only
// once the array that held it is gone.
constinit SpareColumnMemory spare_grid_memory;

// A new (bins, height, width) array holding the window's voxel grid.
template <class T>
nb::object voxel_grid_new_as(EventView events, const VoxelGridOptions& options) {
  return new_kept_array<T, spare_grid_memory>(
      {options.bins, options.sensor.height, options.sensor.width}, [&](std::span<T> dst, bool zeros) {
        if (zeros) voxel_grid_into_zeroed<T>(events, options, dst);
        else voxel_grid<T>(events, options, dst);
      });
}

nb::object voxel_grid_new(const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
                          const In<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, unsigned bins,
                          const std::string& convention, bool all_on, bool normalize, bool float64) {
  const VoxelGridOptions options = voxel_options(width, height, bins, convention, all_on, normalize);
  const EventView events = view_of(t, x, y, p);
  return float64 ? voxel_grid_new_as<double>(events, options) : voxel_grid_new_as<float>(events, options);
}

// A streaming filter as Python sees it: apply() writes keep flags for one batch.
template <class Filter>
std::size_t apply_filter(Filter& filter, const In<std::int64_t>& t, const In<std::uint16_t>& x,
                         const In<std::uint16_t>& y, const In<std::uint8_t>& p, Out keep) {
  const EventView events = view_of(t, x, y, p);
  std::span<std::uint8_t> flags = keep_span(keep, events.size());
  nb::gil_scoped_release release;
  return filter.apply(events, flags);
}

nb::object mask_array(std::vector<std::uint8_t>&& mask, SensorSize sensor) {
  auto* owned = new std::vector<std::uint8_t>(std::move(mask));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<std::uint8_t>*>(p); });
  const std::size_t shape[2] = {sensor.height, sensor.width};
  return nb::cast(nb::ndarray<nb::numpy, std::uint8_t>(owned->data(), 2, shape, owner), nb::rv_policy::reference);
}

constexpr const char* kDoc =
    "The processing kernels over NumPy columns (t, x, y, p: C-contiguous int64, uint16, uint16, uint8 arrays of one "
    "length).";

}  // namespace

void bind_ops(nb::module_& m) {
  nb::module_ ops = m.def_submodule("ops", kDoc);

  ops.def("slice_windows", &slice_windows, nb::arg("t"), nb::arg("kind"), nb::arg("value"), nb::arg("overlap"),
          nb::arg("include_incomplete"), nb::arg("start").none(), nb::arg("end").none(), nb::arg("convention"),
          "Windows of t as an (n, 2) int64 array of [begin, end) event indices.");
  ops.def("event_frames_into", &event_frames_into, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
          nb::arg("windows"), nb::arg("width"), nb::arg("height"), nb::arg("polarities"), nb::arg("wrap"),
          nb::arg("out"), nb::arg("out_is_zeroed") = false,
          "Counts per (window, polarity, y, x) into out (zeroed first unless out_is_zeroed: out holds zeros already).");
  ops.def("stacked_histogram_into", &stacked_histogram_into, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
          nb::arg("width"), nb::arg("height"), nb::arg("bins"), nb::arg("count_cutoff"), nb::arg("fastmode"),
          nb::arg("downsample_by_2"), nb::arg("out"), nb::arg("out_is_zeroed") = false,
          "RVT's stacked histogram of one window into out (uint8; out_is_zeroed: out holds zeros already).");
  ops.def("stacked_histogram", &stacked_histogram_new, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
          nb::arg("width"), nb::arg("height"), nb::arg("bins"), nb::arg("count_cutoff"), nb::arg("fastmode"),
          nb::arg("downsample_by_2"),
          "RVT's stacked histogram of one window as a new (2 * bins, H, W) uint8 array (its memory, once the array "
          "is gone, kept for the next histogram of its size).");
  ops.def("voxel_grid_into", &voxel_grid_into, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
          nb::arg("width"), nb::arg("height"), nb::arg("bins"), nb::arg("convention"), nb::arg("all_on"),
          nb::arg("normalize"), nb::arg("out"), nb::arg("out_is_zeroed") = false,
          "The voxel grid of one window into out (float32 or float64; out_is_zeroed: out holds zeros already).");
  ops.def("voxel_grid", &voxel_grid_new, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("width"),
          nb::arg("height"), nb::arg("bins"), nb::arg("convention"), nb::arg("all_on"), nb::arg("normalize"),
          nb::arg("float64"),
          "The voxel grid of one window as a new (bins, height, width) float64 or float32 array (its memory, once "
          "the array is gone, kept for the next grid of its size).");
  ops.def(
      "rvt_time_window",
      [](const In<std::int64_t>& t, std::int64_t t_end, std::int64_t duration) {
        const IndexRange r = rvt_time_window({t.data(), t.shape(0)}, t_end, duration);
        return std::make_pair(r.begin, r.end);
      },
      nb::arg("t"), nb::arg("t_end"), nb::arg("duration"), "RVT's [t_end - duration, t_end] window as (begin, end).");
  ops.def(
      "rvt_count_window",
      [](const In<std::int64_t>& t, std::int64_t t_end, std::size_t count) {
        const IndexRange r = rvt_count_window({t.data(), t.shape(0)}, t_end, count);
        return std::make_pair(r.begin, r.end);
      },
      nb::arg("t"), nb::arg("t_end"), nb::arg("count"), "RVT's last `count` events with t <= t_end as (begin, end).");

  nb::class_<RefractoryFilter>(ops, "RefractoryFilter")
      .def("__init__",
           [](RefractoryFilter* self, std::uint32_t width, std::uint32_t height, std::int64_t period,
              const std::string& convention) {
             new (self) RefractoryFilter(sensor_of(width, height), period, refractory_convention(convention));
           },
           nb::arg("width"), nb::arg("height"), nb::arg("period_us"), nb::arg("convention"))
      .def("apply", &apply_filter<RefractoryFilter>, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
           nb::arg("keep"), "Writes keep flags (uint8) for one batch; returns the number kept.")
      .def("reset", &RefractoryFilter::reset);

  nb::class_<BackgroundActivityFilter>(ops, "BackgroundActivityFilter")
      .def("__init__",
           [](BackgroundActivityFilter* self, std::uint32_t width, std::uint32_t height, std::int64_t duration,
              const std::string& convention) {
             new (self) BackgroundActivityFilter(sensor_of(width, height), duration, background_convention(convention));
           },
           nb::arg("width"), nb::arg("height"), nb::arg("duration_us"), nb::arg("convention"))
      .def("apply", &apply_filter<BackgroundActivityFilter>, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
           nb::arg("keep"), "Writes keep flags (uint8) for one batch; returns the number kept.")
      .def("reset", &BackgroundActivityFilter::reset);

  nb::class_<StcfFilter>(ops, "StcfFilter")
      .def("__init__",
           [](StcfFilter* self, std::uint32_t width, std::uint32_t height, std::int64_t correlation_time,
              int min_correlated, bool include_self, bool let_first_through, bool jaer_border,
              bool polarities_must_match, std::optional<std::int64_t> shot_noise_time) {
             new (self) StcfFilter(sensor_of(width, height),
                                   StcfOptions{correlation_time, min_correlated, include_self, let_first_through,
                                               jaer_border, polarities_must_match, shot_noise_time});
           },
           nb::arg("width"), nb::arg("height"), nb::arg("correlation_time_us"), nb::arg("min_correlated"),
           nb::arg("include_self"), nb::arg("let_first_through"), nb::arg("jaer_border") = false,
           nb::arg("polarities_must_match") = false, nb::arg("shot_noise_time_us") = nb::none())
      .def("apply", &apply_filter<StcfFilter>, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"),
           nb::arg("keep"), "Writes keep flags (uint8) for one batch; returns the number kept.")
      .def("reset", &StcfFilter::reset);


  nb::class_<PixelCounter>(ops, "PixelCounter")
      .def("__init__",
           [](PixelCounter* self, std::uint32_t width, std::uint32_t height) {
             new (self) PixelCounter(sensor_of(width, height));
           },
           nb::arg("width"), nb::arg("height"))
      .def(
          "add",
          [](PixelCounter& counter, const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
             const In<std::uint8_t>& p) {
            const EventView events = view_of(t, x, y, p);
            nb::gil_scoped_release release;
            counter.add(events);
          },
          nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"))
      .def_prop_ro("events", &PixelCounter::events)
      .def(
          "counts",
          [](const PixelCounter& c) {
            std::vector<std::uint64_t> counts(c.counts().begin(), c.counts().end());
            auto* owned = new std::vector<std::uint64_t>(std::move(counts));
            nb::capsule owner(owned, [](void* q) noexcept { delete static_cast<std::vector<std::uint64_t>*>(q); });
            const std::size_t shape[2] = {c.sensor().height, c.sensor().width};
            return nb::cast(nb::ndarray<nb::numpy, std::uint64_t>(owned->data(), 2, shape, owner),
                            nb::rv_policy::reference);
          },
          "Events per pixel, (height, width) uint64 (a copy).")
      .def(
          "mask_by_rate",
          [](const PixelCounter& c, double rate_hz) { return mask_array(hot_pixels_by_rate(c, rate_hz), c.sensor()); },
          nb::arg("rate_hz"), "tonic's rate rule: (height, width) uint8, 1 = hot.")
      .def(
          "mask_by_percentile",
          [](const PixelCounter& c, double percentile) {
            return mask_array(hot_pixels_by_percentile(c, percentile), c.sensor());
          },
          nb::arg("percentile"), "evlib 0.13's percentile rule: (height, width) uint8, 1 = hot.");

  nb::class_<PixelMaskFilter>(ops, "PixelMaskFilter")
      .def("__init__",
           [](PixelMaskFilter* self, std::uint32_t width, std::uint32_t height,
              const nb::ndarray<const std::uint8_t, nb::ndim<2>, nb::c_contig>& mask) {
             const SensorSize sensor = sensor_of(width, height);
             if (mask.shape(0) != sensor.height || mask.shape(1) != sensor.width)
               throw std::invalid_argument("hot pixels: the mask must be (height, width)");
             new (self) PixelMaskFilter(sensor, std::vector<std::uint8_t>(mask.data(), mask.data() + mask.size()));
           },
           nb::arg("width"), nb::arg("height"), nb::arg("mask"))
      .def(
          "apply",
          [](const PixelMaskFilter& f, const In<std::int64_t>& t, const In<std::uint16_t>& x,
             const In<std::uint16_t>& y, const In<std::uint8_t>& p, Out keep) {
            const EventView events = view_of(t, x, y, p);
            std::span<std::uint8_t> flags = keep_span(keep, events.size());
            nb::gil_scoped_release release;
            return f.apply(events, flags);
          },
          nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("keep"),
          "Writes keep flags (uint8); returns the number kept.");

  nb::class_<HotsTimeSurfaces>(ops, "HotsTimeSurfaces")
      .def("__init__",
           [](HotsTimeSurfaces* self, std::uint32_t width, std::uint32_t height, std::int64_t dt, double tau,
              unsigned polarities, bool include_incomplete) {
             if (polarities != 1 && polarities != 2) throw std::invalid_argument("time surface: polarities must be 1 or 2");
             new (self) HotsTimeSurfaces(HotsOptions{sensor_of(width, height), dt, tau, polarities, include_incomplete});
           },
           nb::arg("width"), nb::arg("height"), nb::arg("dt_us"), nb::arg("tau_us"), nb::arg("polarities"),
           nb::arg("include_incomplete"))
      .def(
          "add",
          [](HotsTimeSurfaces& s, const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
             const In<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, unsigned polarities, bool finish) {
            const EventView events = view_of(t, x, y, p);
            // No zeros written first (as a vector would: every value is written), room for
            // finish()'s surface (at most one) too: its pages stay untouched when it is not made.
            const std::size_t size = s.surface_size();
            // Too many surfaces: surface_memory's size check, or add_into's, refuses them.
            ColumnMemory memory = surface_memory(s.surfaces_completed_by(events) + (finish ? 1 : 0), size);
            std::span<double> out(static_cast<double*>(memory.data()), memory.bytes() / sizeof(double));
            std::size_t count = 0;
            {
              nb::gil_scoped_release release;
              count = s.add_into(events, out);
              if (finish) count += s.finish_into(out.subspan(count * size));  // one array for a whole input
            }
            return owned_surfaces(std::move(memory), count, polarities, SensorSize{width, height});
          },
          nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("width"), nb::arg("height"),
          nb::arg("polarities"), nb::arg("finish") = false,
          "The surfaces these events complete (and with finish, the rest), (n, polarities, height, width) float64.")
      .def(
          "finish",
          [](HotsTimeSurfaces& s, std::uint32_t width, std::uint32_t height, unsigned polarities) {
            ColumnMemory memory = surface_memory(s.surfaces_at_finish(), s.surface_size());
            const std::size_t count =
                s.finish_into(std::span<double>(static_cast<double*>(memory.data()), memory.bytes() / sizeof(double)));
            return owned_surfaces(std::move(memory), count, polarities, SensorSize{width, height});
          },
          nb::arg("width"), nb::arg("height"), nb::arg("polarities"),
          "The surfaces tonic still produces at the end of the input; then the object starts over.");

  nb::class_<LastTimestampMap>(ops, "LastTimestampMap")
      .def("__init__",
           [](LastTimestampMap* self, std::uint32_t width, std::uint32_t height, bool split_polarity) {
             new (self) LastTimestampMap(sensor_of(width, height), split_polarity);
           },
           nb::arg("width"), nb::arg("height"), nb::arg("split_polarity"))
      .def(
          "add",
          [](LastTimestampMap& m, const In<std::int64_t>& t, const In<std::uint16_t>& x, const In<std::uint16_t>& y,
             const In<std::uint8_t>& p) {
            const EventView events = view_of(t, x, y, p);
            nb::gil_scoped_release release;
            m.add(events);
          },
          nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"))
      .def(
          "map_into",
          [](const LastTimestampMap& m, Out out) {
            m.map_into(out_span<std::int64_t>(out, m.size(), "last-timestamp map"));
          },
          nb::arg("out"), "Copies the map (int64, 0 where no event came) into out.")
      .def(
          "to_u8_scaled_into",
          [](const LastTimestampMap& m, Out out) {
            m.to_u8_scaled(out_span<std::uint8_t>(out, m.size(), "last-timestamp frame"));
          },
          nb::arg("out"), "dv-processing's generateFrame() into out (uint8).")
      .def("reset", &LastTimestampMap::reset);
}

}  // namespace evlib::python
