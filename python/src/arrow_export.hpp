#pragma once
// Export of columns through the Arrow C data interface and C stream interface, written from the
// specification (arrow.apache.org/docs/format/CDataInterface.html, CStreamInterface.html).
// Buffers are never copied: each exported child array holds a reference to the owner of its
// column, so the memory lives as long as the consumer keeps the array.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

extern "C" {
// The ABI structs of the specification (ARROW_C_DATA_INTERFACE / ARROW_C_STREAM_INTERFACE).
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_NULLABLE 2
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
#endif
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};
#endif
}

namespace evlib::python {

// One fixed-width, non-nullable column: its Arrow format string ("l" int64, "S" uint16, "C"
// uint8, "s" int16, "c" int8, "tDu" duration[us]) and data kept alive by owner.
struct ExportColumn {
  std::string name;
  std::string format;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;
};

// Columns of equal length, exported as a struct array ("+s"), which is how a record batch
// crosses the C data interface.
struct ExportTable {
  std::vector<ExportColumn> columns;
  std::int64_t length = 0;
};

// Fills out (allocated by the consumer) with the schema of table's columns.
void export_schema(const ExportTable& table, ArrowSchema* out);
// Fills out with table's columns, zero-copy.
void export_array(const ExportTable& table, ArrowArray* out);
// A stream over tables with table `schema`'s columns (its data is not read).
void export_stream(ExportTable schema, std::vector<ExportTable> tables, ArrowArrayStream* out);

}  // namespace evlib::python
