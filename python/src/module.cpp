// evlib._core: the Python binding of the C++ core. The Python package (python/evlib) builds its
// API on these few types: Scan (a plan), BatchStream (a running plan), Batch (columns exported
// without copying), Writer, and the format registry.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "evlib/digest.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "py_batch.hpp"
#include "py_scan.hpp"

namespace evlib::python {
void bind_errors(nb::module_& m);
void bind_writer(nb::module_& m);
void bind_ops(nb::module_& m);
void bind_render(nb::module_& m);
void bind_ops_extra(nb::module_& m);

namespace {

const char* geometry_name(GeometryNeed need) {
  switch (need) {
    case GeometryNeed::none: return "none";
    case GeometryNeed::optional: return "optional";
    case GeometryNeed::expected: return "expected";
    case GeometryNeed::required: return "required";
  }
  return "";
}

nb::list format_list() {
  nb::list out;
  for (const FormatInfo& f : formats()) {
    nb::dict d;
    d["name"] = f.name;
    d["description"] = f.description;
    d["aliases"] = f.aliases;
    d["container"] = f.container;
    d["read_extensions"] = f.read_extensions;
    d["write_extensions"] = f.write_extensions;
    d["readable"] = f.readable;
    d["writable"] = f.writable;
    d["unavailable"] = f.unavailable;
    d["geometry"] = geometry_name(f.traits.geometry);
    d["holds_triggers"] = f.traits.holds_triggers;
    d["time_wrap_bits"] = f.traits.time_wrap_bits;
    out.append(d);
  }
  return out;
}

}  // namespace
}  // namespace evlib::python

NB_MODULE(_core, m) {
  using namespace evlib::python;
  m.doc() = "The C++ core of evlib (nanobind binding).";
  m.attr("build_type") = EVLIB_PYTHON_BUILD_TYPE;  // a regression test refuses a debug binding
  bind_errors(m);
  bind_batch(m);
  bind_scan(m);
  bind_writer(m);
  bind_ops(m);
  bind_render(m);
  bind_ops_extra(m);
  m.def("formats", &format_list, "Every registered format, in detection order, as dicts.");
  m.def(
      "detect_format",
      [](const std::string& path) {
        nb::gil_scoped_release release;
        return evlib::detect_format(path);
      },
      nb::arg("path"), "The format name detection picks for path; raises UnsupportedFormatError.");
  m.def(
      "digest",
      [](const Batch& batch) {
        nb::gil_scoped_release release;
        return evlib::digest(batch.events.view());
      },
      nb::arg("batch"), "SHA-256 of the batch's events row-packed little-endian (t, x, y, p: 13 bytes an event).");
  m.def(
      "write_format_for",
      [](const std::string& path) -> nb::object {
        auto name = evlib::write_format_for(path);
        return name ? nb::cast(*name) : nb::none();
      },
      nb::arg("path"), "The format a file name's extension selects for writing, or None.");
}
