#pragma once
// Writing events. Writers stream (bounded memory whatever the input size) and write to a
// temporary file in the target directory that is renamed into place only by close(): a failed
// or abandoned write leaves no partial output, and an existing file is only replaced with
// WriteOptions::overwrite.
//
//   auto w = evlib::Writer::create("out.raw", {.format = "evt3", .width = 1280, .height = 720});
//   w.write(batch);            // events in non-decreasing time order
//   w.close();
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "evlib/event_batch.hpp"

namespace evlib {

struct WriteOptions {
  std::string format;          // a name from writable_formats(); "" = from the extension (.raw -> evt3)
  std::uint32_t width = 0;     // sensor geometry written to the header (required for RAW, AEDAT 4.0)
  std::uint32_t height = 0;
  bool overwrite = false;      // replace an existing file
  std::vector<std::pair<std::string, std::string>> header;  // extra header keys
  std::string compression;     // HDF5: "" (none), "gzip" / "gzip=1".."gzip=9", or "ecf" (Metavision's layout)
                               // AEDAT 4.0: "" / "lz4" (default), "lz4_high", "zstd", "zstd_high", "none"
};

class Writer {
 public:
  static Writer create(const std::string& path, const WriteOptions& options);
  ~Writer();  // without close(): removes the temporary file
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;

  // Appends events (and triggers, merged by time). Time must not decrease across calls.
  void write(const EventBatch& events, const TriggerBatch& triggers = {});
  // Flushes, syncs and renames the file into place.
  void close();
  std::uint64_t events_written() const;

  struct Impl;

 private:
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Format names Writer::create accepts in this build (formats.hpp describes them).
std::vector<std::string> writable_formats();

}  // namespace evlib
