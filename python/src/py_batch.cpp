#include "py_batch.hpp"

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <limits>
#include <span>
#include <stdexcept>

#include "evlib/error.hpp"

namespace evlib::python {

Layout Layout::make(const std::string& kind, std::int8_t off, std::int8_t on, const std::vector<std::string>& names) {
  Layout layout;
  if (kind == "compat") {
    layout.compat = true;
    layout.columns = {Column::x, Column::y, Column::t, Column::p};
  } else if (kind != "native") {
    throw InvalidArgument("layout must be \"native\" or \"compat\", not \"" + kind + "\"");
  }
  layout.polarity_off = off;
  layout.polarity_on = on;
  if (!names.empty()) {
    const std::vector<Column> all = layout.columns;
    layout.columns.clear();
    for (const std::string& name : names) {
      auto it = std::find_if(all.begin(), all.end(), [&](Column c) { return layout.name_of(c) == name; });
      if (it == all.end()) throw InvalidArgument("no column named \"" + name + "\"");
      layout.columns.push_back(*it);
    }
  }
  return layout;
}

std::string Layout::name_of(Column c) const {
  switch (c) {
    case Column::t: return "t";
    case Column::x: return "x";
    case Column::y: return "y";
    case Column::p: return compat ? "polarity" : "p";
  }
  return "";
}

std::vector<std::string> Layout::names() const {
  std::vector<std::string> out;
  for (Column c : columns) out.push_back(name_of(c));
  return out;
}

unsigned Layout::column_bits() const {
  unsigned bits = 0;
  for (Column c : columns) {
    bits |= c == Column::t ? kColumnT : c == Column::x ? kColumnX : c == Column::y ? kColumnY : kColumnP;
  }
  return bits;
}

static const char* arrow_format(const Layout& layout, Column c) {
  switch (c) {
    case Column::t: return layout.compat ? "tDu" : "l";
    case Column::x:
    case Column::y: return layout.compat ? "s" : "S";
    case Column::p: return layout.compat ? "c" : "C";
  }
  return "";
}

ExportTable empty_table(const Layout& layout) {
  ExportTable table;
  for (Column c : layout.columns) table.columns.push_back({layout.name_of(c), arrow_format(layout, c), nullptr, nullptr});
  return table;
}

ExportTable Batch::table() const {
  ExportTable table = empty_table(*layout);
  table.length = static_cast<std::int64_t>(events.size());
  if (events.empty()) return table;  // e.g. a stream's last batch that carries triggers only
  const std::shared_ptr<const void> owner = events.owner();
  for (std::size_t i = 0; i < layout->columns.size(); ++i) {
    ExportColumn& column = table.columns[i];
    column.owner = owner;
    switch (layout->columns[i]) {
      case Column::t: column.data = events.t().data(); break;
      case Column::x: column.data = events.x().data(); break;
      case Column::y: column.data = events.y().data(); break;
      case Column::p:
        if (!polarity_maps() || polarity_in_place_) {
          column.data = events.p().data();
          break;
        }
        if (!mapped_polarity_) {
          auto mapped = std::make_shared<std::vector<std::int8_t>>(events.size());
          const std::int8_t values[2] = {layout->polarity_off, layout->polarity_on};
          const auto p = events.p();
          for (std::size_t k = 0; k < p.size(); ++k) (*mapped)[k] = values[p[k] & 1];
          mapped_polarity_ = std::move(mapped);
        }
        column.data = mapped_polarity_->data();
        column.owner = mapped_polarity_;
        break;
    }
    const bool present = column.data != nullptr || events.empty();
    if (!present) throw InvalidArgument("column \"" + column.name + "\" was not decoded for this batch");
  }
  return table;
}

bool Batch::polarity_maps() const {
  return layout->compat && (layout->polarity_off != 0 || layout->polarity_on != 1);
}

void Batch::map_polarity_in_place() {
  // Equal values could not be told apart again by to_numpy(): those keep the mapped copy.
  if (polarity_in_place_ || !polarity_maps() || layout->polarity_off == layout->polarity_on || !events.has_p()) return;
  // A stream's chunk is still shared with the producer's buffer pool when it is handed over:
  // writing p would make EventBatch copy every column first (13 bytes an event, the largest
  // cost of load_events().collect() in a profile), where the mapped copy costs one.
  if (!events.sole_owner()) return;
  // Arithmetic modulo 256 on the int8 bit patterns rather than a table lookup: it vectorises.
  const auto off = static_cast<std::uint8_t>(layout->polarity_off);
  const auto step = static_cast<std::uint8_t>(static_cast<std::uint8_t>(layout->polarity_on) - off);
  std::uint8_t* p = events.p_data();
  for (std::size_t k = 0, n = events.size(); k < n; ++k) p[k] = static_cast<std::uint8_t>(off + (p[k] & 1) * step);
  polarity_in_place_ = true;
}

bool t_non_decreasing(std::span<const std::int64_t> t, std::int64_t after) {
  if (t.empty()) return true;
  if (t[0] < after) return false;
  // Counting descents instead of stopping at the first keeps the loop branch-free (vectorised).
  std::size_t descents = 0;
  for (std::size_t i = 1; i < t.size(); ++i) descents += t[i] < t[i - 1];
  return descents == 0;
}

nb::capsule schema_capsule(const ExportTable& table) {
  auto* schema = new ArrowSchema;
  export_schema(table, schema);
  return nb::capsule(schema, "arrow_schema", [](void* p) noexcept {
    auto* s = static_cast<ArrowSchema*>(p);
    if (s->release) s->release(s);
    delete s;
  });
}

nb::capsule array_capsule(const ExportTable& table) {
  auto* array = new ArrowArray;
  export_array(table, array);
  return nb::capsule(array, "arrow_array", [](void* p) noexcept {
    auto* a = static_cast<ArrowArray*>(p);
    if (a->release) a->release(a);
    delete a;
  });
}

nb::capsule stream_capsule(ExportTable schema, std::vector<ExportTable> tables) {
  auto* stream = new ArrowArrayStream;
  export_stream(std::move(schema), std::move(tables), stream);
  return nb::capsule(stream, "arrow_array_stream", [](void* p) noexcept {
    auto* s = static_cast<ArrowArrayStream*>(p);
    if (s->release) s->release(s);
    delete s;
  });
}

namespace {

template <class T>
using Array1D = nb::ndarray<nb::numpy, const T, nb::ndim<1>, nb::c_contig>;

alignas(64) const std::uint64_t kNoEvents[8] = {};

// A read-only NumPy array over a column, kept alive by `owner` (a capsule holding the batch's
// owner handle), never copied.
template <class T>
nb::object column_array(std::span<const T> column, std::size_t size, nb::handle owner) {
  const T* data = column.empty() ? reinterpret_cast<const T*>(kNoEvents) : column.data();
  return nb::cast(Array1D<T>(data, {size}, owner), nb::rv_policy::reference);
}

nb::capsule owner_capsule(const EventBatch& events) {
  return nb::capsule(new std::shared_ptr<const void>(events.owner()),
                     [](void* p) noexcept { delete static_cast<std::shared_ptr<const void>*>(p); });
}

// The native 0/1 p of a batch whose p holds the compat polarity values (a copy).
nb::object native_polarity(std::span<const std::uint8_t> mapped, std::uint8_t on) {
  auto* native = new std::vector<std::uint8_t>(mapped.size());
  for (std::size_t k = 0; k < mapped.size(); ++k) (*native)[k] = mapped[k] == on ? 1 : 0;
  nb::capsule owner(native, [](void* p) noexcept { delete static_cast<std::vector<std::uint8_t>*>(p); });
  return nb::cast(Array1D<std::uint8_t>(native->data(), {native->size()}, owner), nb::rv_policy::reference);
}

nb::dict to_numpy(const Batch& batch) {
  const EventBatch& ev = batch.events;
  nb::capsule owner = owner_capsule(ev);
  nb::dict out;
  const std::size_t n = ev.size();
  if (ev.has_t() || n == 0) out["t"] = column_array(ev.t(), n, owner);
  if (ev.has_x() || n == 0) out["x"] = column_array(ev.x(), n, owner);
  if (ev.has_y() || n == 0) out["y"] = column_array(ev.y(), n, owner);
  if (batch.polarity_in_place() && n != 0) {
    out["p"] = native_polarity(ev.p(), static_cast<std::uint8_t>(batch.layout->polarity_on));
  } else if (ev.has_p() || n == 0) {
    out["p"] = column_array(ev.p(), n, owner);
  }
  return out;
}

template <class T>
nb::object copy_array(const std::vector<T>& values) {
  auto* copy = new std::vector<T>(values);
  nb::capsule owner(copy, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  const T* data = copy->empty() ? reinterpret_cast<const T*>(kNoEvents) : copy->data();
  return nb::cast(Array1D<T>(data, {copy->size()}, owner), nb::rv_policy::reference);
}

nb::dict triggers_numpy(const Batch& batch) {
  static const TriggerBatch kNone;
  const TriggerBatch& tr = batch.triggers ? *batch.triggers : kNone;
  nb::dict out;
  out["t"] = copy_array(tr.t);
  out["channel"] = copy_array(tr.channel);
  out["value"] = copy_array(tr.value);
  return out;
}

}  // namespace

void bind_batch(nb::module_& m) {
  nb::class_<Batch>(m, "Batch",
                    "A batch of events decoded by the C++ core. Converts without copying to Polars "
                    "(pl.DataFrame(batch)), pyarrow (pa.record_batch(batch), pa.table(batch)) and NumPy "
                    "(batch.to_numpy()).")
      .def("__len__", [](const Batch& b) { return b.events.size(); })
      .def_prop_ro("num_rows", [](const Batch& b) { return b.events.size(); })
      .def_prop_ro("columns", [](const Batch& b) { return b.layout->names(); }, "Exported column names, in order.")
      .def_prop_ro("layout", [](const Batch& b) { return std::string(b.layout->compat ? "compat" : "native"); })
      .def_prop_ro("bytes_done", [](const Batch& b) { return b.bytes_done; },
                   "File offset the decoder had reached when this batch was complete.")
      .def_prop_ro("window",
                   [](const Batch& b) -> nb::object {
                     if (!b.has_window) return nb::none();
                     return nb::make_tuple(b.window_start, b.window_end);
                   },
                   "The time window [start, end) of a by-time batch, else None.")
      .def("__arrow_c_schema__", [](const Batch& b) { return schema_capsule(empty_table(*b.layout)); })
      .def(
          "__arrow_c_array__",
          [](const Batch& b, nb::object /*requested_schema*/) {
            const ExportTable table = b.table();
            return nb::make_tuple(schema_capsule(table), array_capsule(table));
          },
          nb::arg("requested_schema") = nb::none(), "A (schema, struct array) capsule pair (Arrow PyCapsule interface).")
      .def(
          "__arrow_c_stream__",
          [](const Batch& b, nb::object /*requested_schema*/) {
            return stream_capsule(empty_table(*b.layout), {b.table()});
          },
          nb::arg("requested_schema") = nb::none(), "A one-batch Arrow stream capsule (Arrow PyCapsule interface).")
      .def("to_numpy", &to_numpy,
           "The native columns (t int64, x uint16, y uint16, p uint8) as read-only NumPy arrays that share "
           "the C++ memory and keep it alive.")
      .def("triggers", &triggers_numpy, "Trigger edges decoded with this batch: t, channel, value (copies).")
      .def("t_non_decreasing", [](const Batch& b, std::int64_t after) {
            nb::gil_scoped_release release;
            return t_non_decreasing(b.events.t(), after);
          }, nb::arg("after") = std::numeric_limits<std::int64_t>::min(),
          "True when t never decreases in the batch and starts at or after `after`.")
      .def("__repr__", [](const Batch& b) {
        return "<evlib Batch " + std::to_string(b.events.size()) + " events, columns " +
               [&] { std::string s; for (auto& n : b.layout->names()) s += (s.empty() ? "" : ",") + n; return s; }() + ">";
      });
}

}  // namespace evlib::python
