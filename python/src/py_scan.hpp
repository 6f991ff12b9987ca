#pragma once
#include <nanobind/nanobind.h>

namespace evlib::python {
namespace nb = nanobind;
void bind_scan(nb::module_& m);
}  // namespace evlib::python
