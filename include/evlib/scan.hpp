#pragma once
// Lazy scans: narrow a recording by time, region and polarity, then iterate it in batches of a
// fixed event count or fixed time windows, or collect it. Predicates are pushed into the decode
// loop; the result equals decoding everything and filtering afterwards, event for event.
//
//   auto window = evlib::scan("rec.raw").time(12'500'000, 12'600'000).roi(0, 0, 640, 360).collect();
//   auto stream = evlib::scan("rec.raw").polarity(1).batches(evlib::ByTime{10'000});
//   while (auto batch = stream.next()) { ... }
//
// Time ranges are half-open [t0, t1) in the file's clock (µs); regions are [x0, x1) x [y0, y1).
// A time window uses the file's time index (built by the first full pass over the file, kept in
// memory and cached in $XDG_CACHE_HOME/evlib, else beside the file) to start decoding near t0 and
// stop at t1, so a window anywhere in a large file costs about as much as the window itself.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/filter.hpp"
#include "evlib/reader.hpp"

namespace evlib {

struct ScanProgress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;  // 0 when unknown (pipes)
  std::uint64_t events = 0;       // events delivered so far
  double seconds = 0;             // since the scan started
  double fraction() const { return bytes_total ? static_cast<double>(bytes_done) / static_cast<double>(bytes_total) : 0.0; }
  double events_per_second() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0.0; }
};

// Batches of a fixed number of events (the last one may be shorter).
struct ByCount {
  std::size_t events;
};
// Fixed time windows [t, t + width) aligned on `origin` (default: the first event's time); the
// last window may be partial. Empty windows are produced only with keep_empty.
struct ByTime {
  std::int64_t width_us;
  bool keep_empty = false;
  std::optional<std::int64_t> origin;
};

enum class IndexPolicy {
  kAuto,    // use a cached index, build one on a full pass, cache it where writable
  kMemory,  // build and use an index, never read or write a cache file
  kOff,     // always decode from the start
};

class BatchStream;

class Scan {
 public:
  explicit Scan(std::string path, ReadOptions options = {});
  ~Scan();
  Scan(Scan&&) noexcept;
  Scan& operator=(Scan&&) noexcept;

  Scan& time(std::int64_t t0, std::int64_t t1);
  Scan& roi(std::uint32_t x0, std::uint32_t y0, std::uint32_t x1, std::uint32_t y1);
  Scan& polarity(std::uint8_t p);  // 1 = ON only, 0 = OFF only
  // Columns collect() materialises ("t", "x", "y", "p"); the others come back empty.
  Scan& columns(std::vector<std::string> names);
  // Decoding threads (0, the default: all cores this process may use, up to 8).
  // collect() with a time index splits at its segments. Streaming (chunks(), batches(),
  // collect() without an index) splits the file at sync points where the format allows it
  // (EVT 2.0 / 2.1 / 3.0, DAT; not with a time window, strict mode or the Metavision shift);
  // the pieces decoded ahead share the chunk budget, so memory stays that of one thread.
  Scan& threads(unsigned n);
  Scan& memory_limit(std::size_t bytes);      // bounds chunk buffers and collect()
  Scan& index(IndexPolicy policy);
  Scan& index_dir(std::string dir);           // cache directory (default: beside the file, then XDG cache)
  Scan& on_progress(std::function<void(const ScanProgress&)> callback);

  // Chunks as the decoder produces them (size set by memory budget / ReadOptions::chunk_events).
  BatchStream chunks();
  BatchStream batches(ByCount by);
  BatchStream batches(ByTime by);
  // Everything that passes, in one batch. Fails early (before decoding) when it cannot fit in
  // the memory budget / available memory, suggesting batches() instead.
  EventBatch collect();
  // The triggers that pass the time window (decoded on the same pass as the events).
  TriggerBatch collect_triggers();

  const Metadata& metadata();
  const EventFilter& filter() const;
  const DecodeStats& stats() const;  // of the last iteration

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with the streams it makes, which may outlive it
};

// Pull-based iteration over a scan: next() until it returns nullopt.
class BatchStream {
 public:
  ~BatchStream();
  BatchStream(BatchStream&&) noexcept;
  BatchStream& operator=(BatchStream&&) noexcept;
  std::optional<EventBatch> next();
  // Triggers decoded so far that passed the time window (cleared by take).
  TriggerBatch take_triggers();
  // For ByTime streams: the window [start, end) of the batch last returned.
  std::int64_t window_start() const;
  std::int64_t window_end() const;

  struct Impl;
  explicit BatchStream(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

Scan scan(const std::string& path, const ReadOptions& options = {});

// The chunk size streaming uses by default: a fraction of the memory actually available
// (cgroup v2 memory.max, then MemAvailable), between a floor and a ceiling.
std::size_t default_chunk_events();
// Bytes of memory available to this process (cgroup limit or MemAvailable), 0 if unknown.
std::uint64_t available_memory();

}  // namespace evlib
