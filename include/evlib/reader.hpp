#pragma once
// Opening files and pulling events out of them.
//
//   auto reader = evlib::Reader::open("recording.raw");
//   while (auto chunk = reader.next()) { use(chunk->events); }
//
// The format is detected from the file's content (the extension is only a hint); an explicit
// ReadOptions::format always wins. Time is integer microseconds as stored in the file.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/filter.hpp"
#include "evlib/metadata.hpp"

namespace evlib {

struct ReadOptions {
  std::string format;                  // "" = detect; else a name from supported_formats()
  bool strict = false;                 // raise FormatError on the first corrupt word
  bool metavision_time_shift = false;  // apply Metavision's RAW time shift (docs/formats.md 0.3)
  std::size_t chunk_events = std::size_t{1} << 20;  // events per chunk from Reader::next()
  std::uint32_t width = 0;             // override the sensor geometry (0 = from the file)
  std::uint32_t height = 0;
  std::string evt21_endianness;        // "", "little" or "legacy": override EVT 2.1 half-word order
  std::string aedat_camera;            // AEDAT 1.0/2.0: "dvs128", "davis240", "davis346", ... overrides the header's camera
  bool prefault_thread = true;         // read(): clear fresh pages on another core while decoding
  EventFilter filter;                  // pushed into the decode loop: failing events are never written
  std::string text_columns;            // text / plain 2-D NumPy column order, e.g. "txyp" (default), "xypt"; '_' skips a column
  std::string text_time_unit;          // text / NumPy time unit: "s", "ms", "us", "ns"; "" = auto (docs/formats.md 12, 13)
};

struct Chunk {
  EventBatch events;
  TriggerBatch triggers;
  std::uint64_t bytes_done = 0;  // file offset reached, for progress
  // A ByCount / ByTime stream hands out triggers in chunks of their own (no events, not a batch
  // or a window) when many arrive before a batch is complete, and after the last batch.
  bool triggers_only = false;
};

struct Recording;

class Reader {
 public:
  // Opens path, detects its format and parses its header. Throws IoError, UnsupportedFormat or
  // FormatError (with the byte offset) when the file cannot be read.
  static Reader open(const std::string& path, const ReadOptions& options = {});
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  const Metadata& metadata() const;
  std::shared_ptr<const Metadata> shared_metadata() const;
  // The next chunk of up to options.chunk_events events, or nullopt at the end of the file.
  // Chunk buffers are reused when the caller no longer holds the previous chunk's events.
  std::optional<Chunk> next();
  // Counters of corrupt and skipped input so far (complete after next() returned nullopt).
  const DecodeStats& stats() const;
  // Upper bound on the events the rest of the file can yield (may scan the file once).
  std::size_t upper_bound_events();

 private:
  friend Recording read(const std::string& path, const ReadOptions& options);
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A whole file in memory.
struct Recording {
  EventBatch events;
  TriggerBatch triggers;
  DecodeStats stats;
  std::shared_ptr<const Metadata> metadata;
};

// Reads a whole file into one batch, sized from an upper bound (no grow-by-copy).
Recording read(const std::string& path, const ReadOptions& options = {});
// Opens the file and parses its header without decoding events.
Metadata read_metadata(const std::string& path, const ReadOptions& options = {});
// The format name detection would pick for path ("evt3", ...); throws UnsupportedFormat.
std::string detect_format(const std::string& path);
// Registered format names.
std::vector<std::string> supported_formats();

}  // namespace evlib
