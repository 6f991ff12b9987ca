// Tier-2 processing kernels for Python (submodule evlib._core.ops_extra, typed through
// evlib._ops_extra): the fast-decay noise filter, decimation, the augmentations' per-event
// random kernels and Prophesee's preprocessors, with the same calling
// convention as py_ops.cpp (NumPy columns t int64, x uint16, y uint16, p uint8, C-contiguous;
// keep flags written into a caller-allocated uint8 array; the GIL released while a kernel runs).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "evlib/ops/augment.hpp"
#include "evlib/ops/decimation.hpp"
#include "evlib/ops/fast_decay.hpp"
#include "evlib/ops/prophesee_preprocessors.hpp"

namespace evlib::python {
namespace nb = nanobind;
using namespace evlib::ops;

namespace {

template <class T>
using Column = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Flags = nb::ndarray<std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

using Tensor = nb::ndarray<float, nb::c_contig, nb::device::cpu>;

EventView view_of(const Column<std::int64_t>& t, const Column<std::uint16_t>& x, const Column<std::uint16_t>& y,
                  const Column<std::uint8_t>& p) {
  const std::size_t n = t.shape(0);
  if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n)
    throw std::invalid_argument("the t, x, y and p columns differ in length");
  return {t.data(), x.data(), y.data(), p.data(), n};
}

// Runs filter.apply over the columns into keep, without the GIL; returns the number kept.
template <class Filter>
std::size_t apply_filter(Filter& filter, const Column<std::int64_t>& t, const Column<std::uint16_t>& x,
                         const Column<std::uint16_t>& y, const Column<std::uint8_t>& p, Flags keep) {
  const EventView events = view_of(t, x, y, p);
  if (keep.shape(0) != events.size()) throw std::invalid_argument("the keep array differs in length from the events");
  nb::gil_scoped_release release;
  return filter.apply(events, std::span<std::uint8_t>(keep.data(), events.size()));
}

template <class T>
using Output = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <class T, class U>
void require_same_length(const T& a, const U& b, const char* operation) {
  if (a.shape(0) != b.shape(0))
    throw std::invalid_argument(std::string(operation) + ": the input and output arrays differ in length");
}

RandomStream stream_named(const std::string& name) {
  if (name == "parameters") return RandomStream::kParameters;
  throw std::invalid_argument("unknown random stream '" + name + "' (parameters)");
}

template <class Filter>
void def_apply(nb::class_<Filter>& cls) {
  cls.def("apply", &apply_filter<Filter>, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("keep"),
          "Writes keep flags (uint8, 1 = kept) and returns the number kept; the state carries on.")
      .def("reset", &Filter::reset, "Back to the state before the first event.");
}

}  // namespace

void bind_ops_extra(nb::module_& m) {
  nb::module_ ops = m.def_submodule("ops_extra", "Tier-2 processing kernels (docs/processing.md).");

  nb::class_<FastDecayFilter> fast_decay(ops, "FastDecayFilter");
  fast_decay.def(
      "__init__",
      [](FastDecayFilter* self, std::uint32_t width, std::uint32_t height, std::int64_t half_life_us,
         std::uint32_t subdivision, float noise_threshold) {
        new (self) FastDecayFilter(FastDecayOptions{{width, height}, half_life_us, subdivision, noise_threshold});
      },
      nb::arg("width"), nb::arg("height"), nb::arg("half_life_us"), nb::arg("subdivision"),
      nb::arg("noise_threshold"));
  def_apply(fast_decay);

  nb::class_<DecimationFilter> decimation(ops, "DecimationFilter");
  decimation.def(
      "__init__",
      [](DecimationFilter* self, std::uint32_t width, std::uint32_t height, std::uint32_t n) {
        new (self) DecimationFilter(SensorSize{width, height}, n);
      },
      nb::arg("width"), nb::arg("height"), nb::arg("n"));
  def_apply(decimation);

  ops.def(
      "counter_uniform",
      [](std::uint64_t seed, const std::string& stream, std::uint64_t index) {
        return counter_uniform(seed, stream_named(stream), index);
      },
      nb::arg("seed"), nb::arg("stream"), nb::arg("index"), "The uniform [0, 1) draw of (seed, stream, index).");
  ops.def(
      "drop_events",
      [](double probability, std::uint64_t seed, std::uint64_t first_index, Flags keep) {
        nb::gil_scoped_release release;
        return drop_events(probability, seed, first_index, {keep.data(), keep.shape(0)});
      },
      nb::arg("probability"), nb::arg("seed"), nb::arg("first_index"), nb::arg("keep"),
      "Writes keep flags, each event dropped with the probability; returns the number kept.");
  ops.def(
      "spatial_jitter",
      [](const Column<std::uint16_t>& x, const Column<std::uint16_t>& y, double var_x, double var_y, double sigma_xy,
         std::uint64_t seed, std::uint64_t first_index, Output<std::int32_t> x_out, Output<std::int32_t> y_out) {
        require_same_length(x, y, "spatial jitter");
        require_same_length(x, x_out, "spatial jitter");
        require_same_length(x, y_out, "spatial jitter");
        const std::size_t n = x.shape(0);
        const EventView events{nullptr, x.data(), y.data(), nullptr, n};
        nb::gil_scoped_release release;
        spatial_jitter(events, {var_x, var_y, sigma_xy}, seed, first_index, {x_out.data(), n}, {y_out.data(), n});
      },
      nb::arg("x"), nb::arg("y"), nb::arg("var_x"), nb::arg("var_y"), nb::arg("sigma_xy"), nb::arg("seed"),
      nb::arg("first_index"), nb::arg("x_out"), nb::arg("y_out"), "Jittered coordinates (int32) into x_out, y_out.");
  ops.def(
      "time_jitter",
      [](const Column<std::int64_t>& t, double std_us, std::uint64_t seed, std::uint64_t first_index,
         Output<std::int64_t> t_out) {
        require_same_length(t, t_out, "time jitter");
        nb::gil_scoped_release release;
        time_jitter({t.data(), t.shape(0)}, std_us, seed, first_index, {t_out.data(), t_out.shape(0)});
      },
      nb::arg("t"), nb::arg("std"), nb::arg("seed"), nb::arg("first_index"), nb::arg("t_out"),
      "Jittered times into t_out.");
  ops.def(
      "uniform_noise_into",
      [](std::uint32_t width, std::uint32_t height, std::int64_t t_low, std::int64_t t_high, std::uint64_t seed,
         std::uint64_t first_index, Output<std::int64_t> t, Output<std::uint16_t> x, Output<std::uint16_t> y,
         Output<std::uint8_t> p) {
        require_same_length(t, x, "uniform noise");
        require_same_length(t, y, "uniform noise");
        require_same_length(t, p, "uniform noise");
        const std::size_t n = t.shape(0);
        nb::gil_scoped_release release;
        const NoiseEvents noise = uniform_noise(n, {width, height}, t_low, t_high, seed, first_index);
        std::copy(noise.t.begin(), noise.t.end(), t.data());
        std::copy(noise.x.begin(), noise.x.end(), x.data());
        std::copy(noise.y.begin(), noise.y.end(), y.data());
        std::copy(noise.p.begin(), noise.p.end(), p.data());
      },
      nb::arg("width"), nb::arg("height"), nb::arg("t_low"), nb::arg("t_high"), nb::arg("seed"), nb::arg("first_index"),
      nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), "len(t) noise events, unsorted, into t, x, y, p.");

  ops.def(
      "prophesee_histo",
      [](const Column<std::int64_t>& t, const Column<std::uint16_t>& x, const Column<std::uint16_t>& y,
         const Column<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, float max_incr, float clip,
         float width_scale, float height_scale, bool chw, Tensor out) {
        const EventView events = view_of(t, x, y, p);
        nb::gil_scoped_release release;
        prophesee_histo(events, {width, height}, {max_incr, clip, width_scale, height_scale},
                        chw ? HistoLayout::kCHW : HistoLayout::kHWC, {out.data(), out.size()});
      },
      nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("width"), nb::arg("height"),
      nb::arg("max_incr_per_pixel"), nb::arg("clip"), nb::arg("width_scale"), nb::arg("height_scale"),
      nb::arg("chw"), nb::arg("out"), "Adds the events into out (float32), as OpenEB's HistoProcessor.");
  ops.def(
      "prophesee_diff",
      [](const Column<std::int64_t>& t, const Column<std::uint16_t>& x, const Column<std::uint16_t>& y,
         const Column<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, float max_incr, float clip,
         float width_scale, float height_scale, Tensor out) {
        const EventView events = view_of(t, x, y, p);
        nb::gil_scoped_release release;
        prophesee_diff(events, {width, height}, {max_incr, clip, width_scale, height_scale}, {out.data(), out.size()});
      },
      nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("width"), nb::arg("height"),
      nb::arg("max_incr_per_pixel"), nb::arg("clip"), nb::arg("width_scale"), nb::arg("height_scale"), nb::arg("out"),
      "Adds the events into out (float32), as OpenEB's DiffProcessor.");
  ops.def(
      "prophesee_event_cube",
      [](const Column<std::int64_t>& t, const Column<std::uint16_t>& x, const Column<std::uint16_t>& y,
         const Column<std::uint8_t>& p, std::uint32_t width, std::uint32_t height, std::int64_t start_us,
         std::int64_t delta_t_us, std::uint32_t bins, bool split_polarity, float max_incr, float clip,
         float width_scale, float height_scale, Tensor out) {
        const EventView events = view_of(t, x, y, p);
        nb::gil_scoped_release release;
        prophesee_event_cube(events, {width, height}, {start_us, delta_t_us, bins, split_polarity},
                             {max_incr, clip, width_scale, height_scale}, {out.data(), out.size()});
      },
      nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::arg("width"), nb::arg("height"),
      nb::arg("start_us"), nb::arg("delta_t_us"), nb::arg("bins"), nb::arg("split_polarity"),
      nb::arg("max_incr_per_pixel"), nb::arg("clip"), nb::arg("width_scale"), nb::arg("height_scale"), nb::arg("out"),
      "Adds the events into out (float32), as OpenEB's EventCubeProcessor.");
}

}  // namespace evlib::python
