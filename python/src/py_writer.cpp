// Writers: events from batches or NumPy arrays into any writable format (evlib::Writer), with
// the GIL released while encoding.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "evlib/error.hpp"
#include "evlib/writer.hpp"
#include "py_batch.hpp"

namespace evlib::python {
namespace {

template <class T>
using Column = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

struct PyWriter {
  std::optional<Writer> writer;

  Writer& open() {
    if (!writer) throw InvalidArgument("the writer is closed");
    return *writer;
  }
};

PyWriter make_writer(const std::string& path, const std::string& format, std::uint32_t width, std::uint32_t height,
                     bool overwrite, const std::vector<std::pair<std::string, std::string>>& header,
                     const std::string& compression) {
  WriteOptions options;
  options.format = format;
  options.width = width;
  options.height = height;
  options.overwrite = overwrite;
  options.header = header;
  options.compression = compression;
  PyWriter w;
  nb::gil_scoped_release release;
  w.writer.emplace(Writer::create(path, options));
  return w;
}

TriggerBatch triggers_of(std::optional<Column<std::int64_t>> t, std::optional<Column<std::uint8_t>> channel,
                         std::optional<Column<std::uint8_t>> value) {
  TriggerBatch tr;
  if (!t) return tr;
  if (!channel || !value || channel->shape(0) != t->shape(0) || value->shape(0) != t->shape(0)) {
    throw InvalidArgument("trigger_t, trigger_channel and trigger_value must have the same length");
  }
  tr.t.assign(t->data(), t->data() + t->shape(0));
  tr.channel.assign(channel->data(), channel->data() + channel->shape(0));
  tr.value.assign(value->data(), value->data() + value->shape(0));
  return tr;
}

void write_arrays(PyWriter& w, Column<std::int64_t> t, Column<std::uint16_t> x, Column<std::uint16_t> y,
                  Column<std::uint8_t> p, std::optional<Column<std::int64_t>> trigger_t,
                  std::optional<Column<std::uint8_t>> trigger_channel, std::optional<Column<std::uint8_t>> trigger_value) {
  const std::size_t n = t.shape(0);
  if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n) throw InvalidArgument("t, x, y and p must have the same length");
  TriggerBatch triggers = triggers_of(trigger_t, trigger_channel, trigger_value);
  // The arrays are only read during this call, which holds references to them: no owner needed.
  EventBatch events = EventBatch::wrap(EventView(t.data(), x.data(), y.data(), p.data(), n), nullptr);
  Writer& writer = w.open();
  nb::gil_scoped_release release;
  writer.write(events, triggers);
}

void write_batch(PyWriter& w, const Batch& batch, bool with_triggers) {
  const EventBatch& ev = batch.events;
  if (!ev.empty() && !(ev.has_t() && ev.has_x() && ev.has_y() && ev.has_p())) {
    throw InvalidArgument("a batch written must have all four columns");
  }
  static const TriggerBatch kNone;
  const TriggerBatch& triggers = with_triggers && batch.triggers ? *batch.triggers : kNone;
  Writer& writer = w.open();
  nb::gil_scoped_release release;
  writer.write(ev, triggers);
}

}  // namespace

void bind_writer(nb::module_& m) {
  nb::class_<PyWriter>(m, "Writer",
                       "Writes events to a temporary file renamed into place by close(); a writer "
                       "dropped without close() leaves nothing behind.")
      .def(nb::new_(&make_writer), nb::arg("path"), nb::kw_only(), nb::arg("format") = "", nb::arg("width") = 0,
           nb::arg("height") = 0, nb::arg("overwrite") = false,
           nb::arg("header") = std::vector<std::pair<std::string, std::string>>{}, nb::arg("compression") = "")
      .def("write_arrays", &write_arrays, nb::arg("t"), nb::arg("x"), nb::arg("y"), nb::arg("p"), nb::kw_only(),
           nb::arg("trigger_t") = nb::none(), nb::arg("trigger_channel") = nb::none(),
           nb::arg("trigger_value") = nb::none(),
           "Appends events from contiguous int64 / uint16 / uint16 / uint8 arrays; time must not decrease.")
      .def("write_batch", &write_batch, nb::arg("batch"), nb::arg("triggers") = true)
      .def_prop_ro("events_written", [](PyWriter& w) { return w.open().events_written(); })
      .def("close", [](PyWriter& w) {
             Writer& writer = w.open();
             {
               nb::gil_scoped_release release;
               writer.close();
             }
             w.writer.reset();
           },
           "Flushes, syncs and renames the file into place.")
      .def("abort", [](PyWriter& w) { w.writer.reset(); }, "Drops the temporary file.");
}

}  // namespace evlib::python
