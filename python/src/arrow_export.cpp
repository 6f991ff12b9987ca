#include "arrow_export.hpp"

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace evlib::python {
namespace {

// A consumer may move children out of their parent and release them independently (the spec's
// "moving child arrays"), so every struct, child or parent, owns what it points to.

struct SchemaPrivate {
  std::string format;
  std::string name;
  std::vector<ArrowSchema*> children;
};

void release_schema(ArrowSchema* schema) {
  auto* priv = static_cast<SchemaPrivate*>(schema->private_data);
  for (ArrowSchema* child : priv->children) {
    if (child->release) child->release(child);
    delete child;
  }
  delete priv;
  schema->release = nullptr;
}

void fill_schema(ArrowSchema* out, std::string format, std::string name, std::int64_t flags) {
  auto* priv = new SchemaPrivate{std::move(format), std::move(name), {}};
  *out = ArrowSchema{priv->format.c_str(), priv->name.c_str(), nullptr, flags, 0, nullptr, nullptr,
                     &release_schema, priv};
}

struct ArrayPrivate {
  std::shared_ptr<const void> owner;
  const void* buffers[2] = {nullptr, nullptr};
  std::vector<ArrowArray*> children;
};

void release_array(ArrowArray* array) {
  auto* priv = static_cast<ArrayPrivate*>(array->private_data);
  for (ArrowArray* child : priv->children) {
    if (child->release) child->release(child);
    delete child;
  }
  delete priv;
  array->release = nullptr;
}

// Zero-length columns still get a non-null, aligned data pointer (consumers may check both).
alignas(64) const std::uint64_t kEmptyBuffer[8] = {};

}  // namespace

void export_schema(const ExportTable& table, ArrowSchema* out) {
  fill_schema(out, "+s", "", 0);
  auto* priv = static_cast<SchemaPrivate*>(out->private_data);
  priv->children.reserve(table.columns.size());
  for (const ExportColumn& column : table.columns) {
    auto* child = new ArrowSchema;
    fill_schema(child, column.format, column.name, 0);
    priv->children.push_back(child);
  }
  out->n_children = static_cast<std::int64_t>(priv->children.size());
  out->children = priv->children.data();
}

void export_array(const ExportTable& table, ArrowArray* out) {
  auto* priv = new ArrayPrivate;
  priv->children.reserve(table.columns.size());
  for (const ExportColumn& column : table.columns) {
    auto* child_priv = new ArrayPrivate;
    child_priv->owner = column.owner;
    child_priv->buffers[1] = column.data && table.length > 0 ? column.data : kEmptyBuffer;
    auto* child = new ArrowArray{table.length, 0, 0, 2, 0, child_priv->buffers, nullptr, nullptr, &release_array,
                                 child_priv};
    priv->children.push_back(child);
  }
  *out = ArrowArray{table.length,
                    0,
                    0,
                    1,
                    static_cast<std::int64_t>(priv->children.size()),
                    priv->buffers,
                    priv->children.data(),
                    nullptr,
                    &release_array,
                    priv};
}

namespace {

struct StreamPrivate {
  ExportTable schema;
  std::vector<ExportTable> tables;
  std::size_t next = 0;
  std::string error;
};

int stream_get_schema(ArrowArrayStream* stream, ArrowSchema* out) {
  auto* priv = static_cast<StreamPrivate*>(stream->private_data);
  try {
    export_schema(priv->schema, out);
    return 0;
  } catch (const std::exception& e) {
    priv->error = e.what();
    return ENOMEM;
  }
}

int stream_get_next(ArrowArrayStream* stream, ArrowArray* out) {
  auto* priv = static_cast<StreamPrivate*>(stream->private_data);
  if (priv->next == priv->tables.size()) {
    out->release = nullptr;  // end of stream
    return 0;
  }
  try {
    export_array(priv->tables[priv->next], out);
    priv->tables[priv->next] = {};  // the exported array now holds the columns
    ++priv->next;
    return 0;
  } catch (const std::exception& e) {
    priv->error = e.what();
    return ENOMEM;
  }
}

const char* stream_last_error(ArrowArrayStream* stream) {
  auto* priv = static_cast<StreamPrivate*>(stream->private_data);
  return priv->error.empty() ? nullptr : priv->error.c_str();
}

void stream_release(ArrowArrayStream* stream) {
  delete static_cast<StreamPrivate*>(stream->private_data);
  stream->release = nullptr;
}

}  // namespace

void export_stream(ExportTable schema, std::vector<ExportTable> tables, ArrowArrayStream* out) {
  auto* priv = new StreamPrivate{std::move(schema), std::move(tables), 0, {}};
  *out = ArrowArrayStream{&stream_get_schema, &stream_get_next, &stream_last_error, &stream_release, priv};
}

}  // namespace evlib::python
