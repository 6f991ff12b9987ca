#pragma once
// The temporary files of unfinished writes (a Writer before close(), a time index being saved).
// They are removed when the write fails or is abandoned; a program that ends on a signal can
// remove them too:
//
//   extern "C" void on_signal(int sig) { evlib::remove_temporary_files(); std::signal(sig, SIG_DFL); std::raise(sig); }

namespace evlib {

// Removes the temporary file of every unfinished write now. Async-signal-safe (it only calls
// unlink), for a signal handler that then ends the process: those writes cannot be finished
// afterwards.
void remove_temporary_files() noexcept;

}  // namespace evlib
