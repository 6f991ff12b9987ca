#pragma once
// A batch of events as Python sees it: the C++ columns, exported without copying through the
// Arrow PyCapsule interface and as NumPy arrays, under one of two layouts.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "arrow_export.hpp"
#include "evlib/event_batch.hpp"

namespace evlib::python {

namespace nb = nanobind;

enum class Column : std::uint8_t { t, x, y, p };

// How columns are named and typed when exported.
// native: t Int64 (µs), x UInt16, y UInt16, p UInt8 (1 ON, 0 OFF), the C++ table as it is.
// compat: evlib 0.13's x Int16, y Int16, t Duration[us], polarity Int8 (OFF -> polarity_off,
// ON -> polarity_on); x, y and t are the same buffers reinterpreted, polarity is mapped unless
// the values are 0 and 1.
struct Layout {
  bool compat = false;
  std::int8_t polarity_off = 0;
  std::int8_t polarity_on = 1;
  std::vector<Column> columns = {Column::t, Column::x, Column::y, Column::p};  // exported, in order

  static Layout make(const std::string& kind, std::int8_t off, std::int8_t on, const std::vector<std::string>& names);
  std::string name_of(Column c) const;
  std::vector<std::string> names() const;
  // The C++ columns (ColumnBits) the exported ones need.
  unsigned column_bits() const;
};

struct Batch {
  EventBatch events;
  std::shared_ptr<const TriggerBatch> triggers;
  std::shared_ptr<const Layout> layout;
  std::uint64_t bytes_done = 0;
  bool has_window = false;
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;

  ExportTable table() const;

  // A compat batch whose columns the batch alone owns (a collected file, a stream's chunk copied
  // out of a mostly empty buffer) gets evlib 0.13's polarity values written over p, instead of a
  // mapped copy beside it: the copy cost a byte an event (95 MiB at 100 M events) and its
  // first-touch page faults. A chunk still shared with the stream's buffer pool keeps the mapped
  // copy (writing p would copy all its columns).
  // to_numpy() still gives the native 0/1 p (a copy then).
  void map_polarity_in_place();
  bool polarity_in_place() const { return polarity_in_place_; }

 private:
  bool polarity_maps() const;
  bool polarity_in_place_ = false;
  mutable std::shared_ptr<const std::vector<std::int8_t>> mapped_polarity_;
};

// An empty table with layout's columns (the schema of a stream).
ExportTable empty_table(const Layout& layout);

// True when t never decreases over the batch (and starts at or after `after`).
bool t_non_decreasing(std::span<const std::int64_t> t, std::int64_t after);

// Capsules as the PyCapsule interface names them.
nb::capsule schema_capsule(const ExportTable& table);
nb::capsule array_capsule(const ExportTable& table);
nb::capsule stream_capsule(ExportTable schema, std::vector<ExportTable> tables);

void bind_batch(nb::module_& m);

}  // namespace evlib::python
