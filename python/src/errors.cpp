// C++ errors as Python exceptions. Every class derives from evlib.Error and from the builtin
// that fits: a file the OS refuses is an OSError, bytes that break a format are a ValueError,
// an undetectable or unsupported file is both (evlib 0.13 raised OSError for it).
#include <nanobind/nanobind.h>

#include "evlib/error.hpp"

namespace evlib::python {
namespace nb = nanobind;
namespace {

PyObject* new_exception(nb::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("evlib._core.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::handle(type);
  return type;
}

PyObject* g_io_error = nullptr;
PyObject* g_format_error = nullptr;
PyObject* g_unsupported = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_error = nullptr;

}  // namespace

void bind_errors(nb::module_& m) {
  g_error = new_exception(m, "Error", PyExc_Exception, "Base class of the errors evlib raises.");
  nb::object bases_io = nb::make_tuple(nb::handle(g_error), nb::handle(PyExc_OSError));
  g_io_error = new_exception(m, "FileError", bases_io.ptr(), "The operating system refused an operation on a file.");
  nb::object bases_format = nb::make_tuple(nb::handle(g_error), nb::handle(PyExc_ValueError));
  g_format_error = new_exception(m, "FormatError", bases_format.ptr(),
                                 "The bytes of a file do not follow its format (the message names the byte offset).");
  nb::object bases_unsupported =
      nb::make_tuple(nb::handle(g_error), nb::handle(PyExc_OSError), nb::handle(PyExc_ValueError));
  g_unsupported = new_exception(m, "UnsupportedFormatError", bases_unsupported.ptr(),
                                "No format recognises the file, or this build cannot read or write it.");
  g_invalid_argument = new_exception(m, "InvalidArgumentError", bases_format.ptr(), "An argument evlib cannot use.");

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const IoError& e) {
      PyErr_SetString(g_io_error, e.what());
    } catch (const FormatError& e) {
      PyErr_SetString(g_format_error, e.what());
    } catch (const UnsupportedFormat& e) {
      PyErr_SetString(g_unsupported, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(g_invalid_argument, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace evlib::python
