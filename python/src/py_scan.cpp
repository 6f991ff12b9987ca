// Scans and batch streams: the C++ plan (evlib::Scan) as an immutable Python object, and the
// stream that runs it as a Python iterator. Decoding runs with the GIL released; between chunks
// the stream takes the GIL back to check for signals (Ctrl-C) and to call the progress callback.
#include "py_scan.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <limits>
#include <optional>
#include <utility>

#include "evlib/error.hpp"
#include "evlib/scan.hpp"
#include "py_batch.hpp"

namespace evlib::python {
namespace {

// Thrown through the C++ decoder when Python has an exception pending (a signal handler raised
// KeyboardInterrupt, or the progress callback raised); re-raised as that exception once the
// GIL is held again.
struct PythonErrorPending {};

// What a stream calls between chunks, on the thread that called next() (which released the GIL).
// The callable is borrowed: the Stream object owns it and outlives every call.
struct ProgressHook {
  PyObject* callback = nullptr;  // (bytes_done, bytes_total, events, seconds) -> None, or null

  void operator()(const ScanProgress& progress) const {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw PythonErrorPending{};
    if (callback == nullptr) return;
    try {
      const nb::handle function(callback);
      function(progress.bytes_done, progress.bytes_total, progress.events, progress.seconds);
    } catch (nb::python_error& e) {
      e.restore();
      throw PythonErrorPending{};
    }
  }
};

// Runs f with the GIL released, re-raising a Python exception that a hook left pending.
template <class F>
auto without_gil(F&& f) {
  try {
    nb::gil_scoped_release release;
    return f();
  } catch (const PythonErrorPending&) {
    throw nb::python_error();
  }
}

// Header text as a Python str: bytes that are not UTF-8 (a Latin-1 camera name in a RAW, DAT or
// jAER header) become U+FFFD, where a strict conversion failed for the whole file, unnamed.
nb::str header_text(const std::string& text) {
  PyObject* decoded = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
  if (decoded == nullptr) throw nb::python_error();
  return nb::steal<nb::str>(decoded);
}

nb::dict metadata_dict(const Metadata& md) {
  nb::dict header;
  for (const auto& [key, value] : md.header) header[header_text(key)] = header_text(value);
  nb::dict out;
  out["path"] = md.path;
  out["format"] = md.format;
  out["width"] = md.width;
  out["height"] = md.height;
  out["header"] = header;
  out["data_offset"] = md.data_offset;
  out["file_size"] = md.file_size;
  out["time_shift"] = md.time_shift;
  return out;
}

nb::dict stats_dict(const DecodeStats& stats) {
  nb::dict out;
  out["words"] = stats.words;
  for (const auto& [name, count] : stats.counters()) out[nb::str(name.c_str(), name.size())] = count;
  out["corrupt"] = stats.corrupt();
  if (stats.first_error_offset != ~std::uint64_t{0}) {
    out["first_error_offset"] = stats.first_error_offset;
    out["first_error"] = stats.first_error;
  }
  return out;
}

// A chunk whose columns are mostly unused capacity: the last chunk of each parallel piece, say.
// Python may keep it for the life of a frame, and the huge pages under its columns are resident
// whole, so a copy of its events is kept instead (a first whole-file load of 100 M events
// without a time index otherwise peaked ~290 MiB above the frame).
bool is_mostly_empty(const EventBatch& events) {
  constexpr std::size_t kWorthCopying = std::size_t{1} << 18;  // events of capacity
  return events.capacity() >= kWorthCopying && events.size() * 2 < events.capacity();
}

// A running stream. Counters of what it decoded accumulate here for the tests and progress.
struct Stream {
  std::optional<BatchStream> stream;
  std::shared_ptr<const Layout> layout;
  bool by_time = false;
  std::uint64_t events = 0;
  std::uint64_t batches = 0;
  std::uint64_t bytes_done = 0;
  bool t_sorted = true;  // t never decreased over what was delivered so far
  std::int64_t t_last = std::numeric_limits<std::int64_t>::min();
  bool check_sorted = false;
  nb::object callback;  // keeps the hook's callable alive
  DecodeStats final_stats;  // kept when the stream ends

  // Triggers of chunks that hold triggers only (dense triggers while a by-count or by-time batch
  // fills, and those after the last batch): a Python batch keeps its promised size or window, so
  // they ride on the next batch, or on a final batch without events.
  TriggerBatch pending_triggers;

  Batch next() {
    if (!stream) throw nb::stop_iteration();
    std::optional<Chunk> chunk = without_gil([&] {
      std::optional<Chunk> c = stream->next();
      while (c && c->triggers_only) {
        pending_triggers.append(c->triggers);
        c = stream->next();
      }
      return c;
    });
    if (!chunk) {
      final_stats = stream->stats();
      stream.reset();  // ends the decoder threads and frees the chunk pool now
      if (pending_triggers.empty()) throw nb::stop_iteration();
      Batch last;
      last.triggers = std::make_shared<const TriggerBatch>(std::exchange(pending_triggers, {}));
      last.layout = layout;
      last.bytes_done = bytes_done;
      return last;
    }
    Batch batch;
    batch.events = std::move(chunk->events);
    if (is_mostly_empty(batch.events)) batch.events = EventBatch::copy_of(batch.events);
    if (!pending_triggers.empty()) {
      pending_triggers.append(chunk->triggers);
      chunk->triggers = std::exchange(pending_triggers, {});
    }
    batch.triggers = std::make_shared<const TriggerBatch>(std::move(chunk->triggers));
    batch.layout = layout;
    batch.bytes_done = chunk->bytes_done;
    if (by_time) {
      batch.has_window = true;
      batch.window_start = stream->window_start();
      batch.window_end = stream->window_end();
    }
    if (check_sorted && t_sorted && batch.events.has_t() && !batch.events.empty()) {
      const auto t = batch.events.t();
      t_sorted = without_gil([&] { return t_non_decreasing(t, t_last); });
      t_last = t.back();
    }
    without_gil([&] { batch.map_polarity_in_place(); });
    events += batch.events.size();
    bytes_done = chunk->bytes_done;
    ++batches;
    return batch;
  }
};

IndexPolicy index_policy(const std::string& name) {
  if (name == "auto") return IndexPolicy::kAuto;
  if (name == "memory") return IndexPolicy::kMemory;
  if (name == "off") return IndexPolicy::kOff;
  throw InvalidArgument("index must be \"auto\", \"memory\" or \"off\", not \"" + name + "\"");
}

Scan make_scan(const std::string& path, const std::string& format, bool strict, std::size_t chunk_events,
               std::uint32_t width, std::uint32_t height, bool metavision_time_shift,
               const std::string& evt21_endianness, const std::string& aedat_camera, const std::string& text_columns,
               const std::string& text_time_unit) {
  ReadOptions options;
  options.format = format;
  options.strict = strict;
  if (chunk_events != 0) options.chunk_events = chunk_events;
  options.width = width;
  options.height = height;
  options.metavision_time_shift = metavision_time_shift;
  options.evt21_endianness = evt21_endianness;
  options.aedat_camera = aedat_camera;
  options.text_columns = text_columns;
  options.text_time_unit = text_time_unit;
  return Scan(path, options);
}

// The names Scan::columns takes for a set of ColumnBits.
std::vector<std::string> column_names(unsigned bits) {
  std::vector<std::string> names;
  if (bits & kColumnT) names.emplace_back("t");
  if (bits & kColumnX) names.emplace_back("x");
  if (bits & kColumnY) names.emplace_back("y");
  if (bits & kColumnP) names.emplace_back("p");
  return names;
}

Stream start_stream(const Scan& scan, std::size_t by_count, std::int64_t by_time, bool keep_empty,
                    std::optional<std::int64_t> origin, const std::string& layout, std::int8_t polarity_off,
                    std::int8_t polarity_on, const std::vector<std::string>& columns, nb::object progress,
                    bool check_sorted) {
  if (by_count != 0 && by_time != 0) throw InvalidArgument("give by_count or by_time, not both");
  if (by_time < 0) throw InvalidArgument("by_time must be positive");
  Stream s;
  s.layout = std::make_shared<const Layout>(Layout::make(layout, polarity_off, polarity_on, columns));
  s.by_time = by_time != 0;
  s.check_sorted = check_sorted;
  s.callback = progress;
  ProgressHook hook{progress.is_none() ? nullptr : progress.ptr()};
  Scan plan = scan.on_progress(hook);
  // The columns the layout exports; t stays when by-time windows or the sortedness check need it.
  unsigned bits = s.layout->column_bits() | ((by_time != 0 || check_sorted) ? kColumnT : 0u);
  if (bits != kAllColumns) plan = plan.columns(column_names(bits));
  s.stream.emplace(without_gil([&] {
    if (by_count != 0) return plan.batches(ByCount{by_count});
    if (by_time != 0) return plan.batches(ByTime{by_time, keep_empty, origin});
    return plan.chunks();
  }));
  return s;
}

nb::tuple collect_batch(const Scan& scan, const std::string& layout, std::int8_t polarity_off, std::int8_t polarity_on,
                        const std::vector<std::string>& columns, nb::object progress) {
  Batch batch;
  batch.layout = std::make_shared<const Layout>(Layout::make(layout, polarity_off, polarity_on, columns));
  Scan plan = scan.on_progress(ProgressHook{progress.is_none() ? nullptr : progress.ptr()});
  const unsigned bits = batch.layout->column_bits();
  if (bits != kAllColumns) plan = plan.columns(column_names(bits));
  Recording recording = without_gil([&] { return plan.collect_recording(); });
  batch.events = std::move(recording.events);
  without_gil([&] { batch.map_polarity_in_place(); });
  batch.triggers = std::make_shared<const TriggerBatch>(std::move(recording.triggers));
  batch.bytes_done = recording.metadata ? recording.metadata->file_size : 0;
  return nb::make_tuple(std::move(batch), stats_dict(recording.stats));
}

}  // namespace

void bind_scan(nb::module_& m) {
  nb::class_<Scan>(m, "Scan",
                   "An immutable plan to read one file: builder methods return new plans. Nothing is "
                   "decoded until a stream runs it.")
      .def(nb::new_(&make_scan), nb::arg("path"), nb::kw_only(), nb::arg("format") = "", nb::arg("strict") = false,
           nb::arg("chunk_events") = 0, nb::arg("width") = 0, nb::arg("height") = 0,
           nb::arg("metavision_time_shift") = false, nb::arg("evt21_endianness") = "", nb::arg("aedat_camera") = "",
           nb::arg("text_columns") = "", nb::arg("text_time_unit") = "")
      .def("time", &Scan::time, nb::arg("t0"), nb::arg("t1"), "Keep events with t in [t0, t1) (µs).")
      .def("roi", &Scan::roi, nb::arg("x0"), nb::arg("y0"), nb::arg("x1"), nb::arg("y1"),
           "Keep events in [x0, x1) x [y0, y1).")
      .def("polarity", &Scan::polarity, nb::arg("p"), "Keep ON (1) or OFF (0) events only.")
      .def("threads", &Scan::threads, nb::arg("n"))
      .def("memory_limit", &Scan::memory_limit, nb::arg("bytes"))
      .def("index", [](const Scan& s, const std::string& policy) { return s.index(index_policy(policy)); },
           nb::arg("policy"), "\"auto\" (cached), \"memory\" (never cached) or \"off\".")
      .def("index_dir", &Scan::index_dir, nb::arg("directory"))
      .def_prop_ro("path", &Scan::path)
      .def_prop_ro("filter",
                   [](const Scan& s) {
                     const EventFilter& f = s.filter();
                     return nb::make_tuple(f.t0, f.t1, f.x0, f.y0, f.x1, f.y1, f.polarities);
                   },
                   "(t0, t1, x0, y0, x1, y1, polarity bits) of the plan.")
      .def("time_index",
           [](const Scan& s) -> std::optional<std::vector<std::tuple<std::int64_t, std::int64_t, std::uint64_t>>> {
             auto segments = without_gil([&] { return s.time_index(); });
             if (!segments) return std::nullopt;
             std::vector<std::tuple<std::int64_t, std::int64_t, std::uint64_t>> out;
             for (const auto& seg : *segments) out.emplace_back(seg.t_min, seg.t_max, seg.events);
             return out;
           },
           "The time index's segments [(t_min, t_max, events), ...] in file order, when one is at hand "
           "without decoding (the format's own or a cached one), else None.")
      .def("metadata", [](const Scan& s) { return metadata_dict(*without_gil([&] { return s.shared_metadata(); })); },
           "The header as parsed (opens the file once; raises when it cannot be read).")
      .def("stream", &start_stream, nb::kw_only(), nb::arg("by_count") = 0, nb::arg("by_time") = 0,
           nb::arg("keep_empty") = false, nb::arg("origin") = nb::none(), nb::arg("layout") = "native",
           nb::arg("polarity_off") = 0, nb::arg("polarity_on") = 1, nb::arg("columns") = std::vector<std::string>{},
           nb::arg("progress") = nb::none(), nb::arg("check_sorted") = false,
           "Start decoding: an iterator of Batch objects (decoder chunks, or by_count events, or by_time µs "
           "windows). progress(bytes_done, bytes_total, events, seconds) is called between chunks.")
      .def("collect_triggers",
           [](const Scan& s) {
             TriggerBatch tr = without_gil([&] { return s.collect_triggers(); });
             return nb::make_tuple(tr.t, tr.channel, tr.value);
           },
           "The trigger edges in the plan's time window: (t, channel, value) lists.");

  m.def("collect", &collect_batch, nb::arg("scan"), nb::kw_only(), nb::arg("layout") = "native",
        nb::arg("polarity_off") = 0, nb::arg("polarity_on") = 1, nb::arg("columns") = std::vector<std::string>{},
        nb::arg("progress") = nb::none(),
        "Everything the plan keeps in one batch (parallel over the time index when there is one) and the "
        "decode counters: (batch, stats). Fails before decoding when it cannot fit in memory.");

  nb::class_<Stream>(m, "BatchStream", "Batches of a running scan (an iterator).")
      .def("__iter__", [](nb::handle self) { return self; })
      .def("__next__", &Stream::next)
      .def_ro("events", &Stream::events, "Events delivered so far.")
      .def_ro("batches", &Stream::batches, "Batches delivered so far.")
      .def_ro("bytes_done", &Stream::bytes_done, "File offset reached.")
      .def_ro("t_sorted", &Stream::t_sorted,
              "With check_sorted: True while t has never decreased over the batches delivered.")
      .def_prop_ro("done", [](const Stream& s) { return !s.stream.has_value(); })
      .def("stats", [](const Stream& s) { return stats_dict(s.stream ? s.stream->stats() : s.final_stats); },
           "Decode counters so far (words examined, corrupt words by kind).")
      .def("close", [](Stream& s) {
             if (s.stream) s.final_stats = s.stream->stats();
             s.stream.reset();
           }, "Stop decoding and free the stream's buffers.");
}

}  // namespace evlib::python
