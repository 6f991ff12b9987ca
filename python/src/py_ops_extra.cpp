// Tier-2 processing kernels for Python (submodule evlib._core.ops_extra, typed through
// evlib._ops_extra): the fast-decay noise filter and decimation, with the same calling
// convention as py_ops.cpp (NumPy columns t int64, x uint16, y uint16, p uint8, C-contiguous;
// keep flags written into a caller-allocated uint8 array; the GIL released while a kernel runs).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <span>
#include <stdexcept>

#include "evlib/ops/decimation.hpp"
#include "evlib/ops/fast_decay.hpp"

namespace evlib::python {
namespace nb = nanobind;
using namespace evlib::ops;

namespace {

template <class T>
using Column = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Flags = nb::ndarray<std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Runs filter.apply over the columns into keep, without the GIL; returns the number kept.
template <class Filter>
std::size_t apply_filter(Filter& filter, const Column<std::int64_t>& t, const Column<std::uint16_t>& x,
                         const Column<std::uint16_t>& y, const Column<std::uint8_t>& p, Flags keep) {
  const std::size_t n = t.shape(0);
  if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n || keep.shape(0) != n)
    throw std::invalid_argument("the t, x, y, p and keep arrays differ in length");
  const EventView events{t.data(), x.data(), y.data(), p.data(), n};
  nb::gil_scoped_release release;
  return filter.apply(events, std::span<std::uint8_t>(keep.data(), n));
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
}

}  // namespace evlib::python
