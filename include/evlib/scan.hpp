#pragma once
// Lazy scans: narrow a recording by time, region and polarity, then iterate it in batches of a
// fixed event count or fixed time windows, or collect it. Predicates are pushed into the decode
// loop; the result equals decoding everything and filtering afterwards, event for event.
//
//   auto window = evlib::scan("rec.raw").time(12'500'000, 12'600'000).roi(0, 0, 640, 360).collect();
//   auto stream = evlib::scan("rec.raw").polarity(1).batches(evlib::ByTime{10'000});
//   while (auto batch = stream.next()) { use(batch->events); }
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

// One segment of a file's time index, in file order: the unfiltered events decoding from its
// start yields and their time range (which counts the segment's triggers too).
struct IndexSegment {
  std::int64_t t_min = 0;
  std::int64_t t_max = 0;
  std::uint64_t events = 0;
};

// A lazy scan of one file: an immutable plan. Every builder call returns a new Scan and leaves
// this one as it was (as Polars' lazy frames do), so a plan can be shared, copied and extended
// freely, and a stream keeps running the plan it was started from whatever happens to the Scan
// afterwards. Copies and derived plans share what was learnt about the file (its metadata, its
// time index and the reader opened to parse the header), thread-safely.
class Scan {
 public:
  explicit Scan(std::string path, ReadOptions options = {});
  ~Scan();
  Scan(const Scan&);
  Scan& operator=(const Scan&);
  Scan(Scan&&) noexcept;
  Scan& operator=(Scan&&) noexcept;

  [[nodiscard]] Scan time(std::int64_t t0, std::int64_t t1) const;
  [[nodiscard]] Scan roi(std::uint32_t x0, std::uint32_t y0, std::uint32_t x1, std::uint32_t y1) const;
  [[nodiscard]] Scan polarity(std::uint8_t p) const;  // 1 = ON only, 0 = OFF only
  // Columns collect() materialises ("t", "x", "y", "p"); the others come back empty.
  [[nodiscard]] Scan columns(std::vector<std::string> names) const;
  // Decoding threads (0, the default: all cores this process may use, up to 8).
  // collect() with a time index splits at its segments. Streaming (chunks(), batches(),
  // collect() without an index) splits the file at sync points where the format allows it
  // (EVT 2.0 / 2.1 / 3.0, DAT, AEDAT 1.0/2.0; with a time index every format that can resume;
  // not with a time window, strict mode or the Metavision shift);
  // the pieces decoded ahead share the chunk budget, so memory stays that of one thread.
  [[nodiscard]] Scan threads(unsigned n) const;
  [[nodiscard]] Scan memory_limit(std::size_t bytes) const;  // bounds chunk buffers and collect()
  [[nodiscard]] Scan index(IndexPolicy policy) const;
  [[nodiscard]] Scan index_dir(std::string dir) const;  // cache directory (default: XDG cache, then beside the file)
  [[nodiscard]] Scan on_progress(std::function<void(const ScanProgress&)> callback) const;

  // Streams run a snapshot of this plan; each has its own decode statistics.
  // Chunks as the decoder produces them (size set by memory budget / ReadOptions::chunk_events).
  [[nodiscard]] BatchStream chunks() const;
  [[nodiscard]] BatchStream batches(ByCount by) const;
  [[nodiscard]] BatchStream batches(ByTime by) const;
  // Everything that passes, in one batch. Fails early (before decoding) when it cannot fit in
  // the memory budget / available memory, suggesting batches() instead.
  [[nodiscard]] EventBatch collect() const;
  // Everything that passes with the triggers of the time window, the decode statistics and the
  // metadata, in one pass.
  [[nodiscard]] Recording collect_recording() const;
  // The triggers that pass the time window (a pass over the events too).
  [[nodiscard]] TriggerBatch collect_triggers() const;

  // The file's header as parsed when the scan first needed it (opens the file then; the reader
  // opened is handed to the first stream that can use it, so a scan opens its file once).
  // The reference stays valid as long as this Scan or any copy or plan derived from it.
  const Metadata& metadata() const;
  std::shared_ptr<const Metadata> shared_metadata() const;
  // The file's time index when one is at hand without decoding (the format's own, or one a full
  // pass built and cached, found under the plan's index policy and directory): its segments;
  // nullopt otherwise. Opens the file (as metadata() does). Planners size work from it.
  std::optional<std::vector<IndexSegment>> time_index() const;
  const std::string& path() const;
  const ReadOptions& options() const;
  const EventFilter& filter() const;

  struct Plan;
  struct Source;

 private:
  Scan(std::shared_ptr<const Plan> plan, std::shared_ptr<Source> source);
  template <class Change>
  Scan with(Change&& change) const;
  std::shared_ptr<const Plan> plan_;
  std::shared_ptr<Source> source_;
};

// Pull-based iteration over a scan: next() until it returns nullopt.
class BatchStream {
 public:
  ~BatchStream();
  BatchStream(BatchStream&&) noexcept;
  BatchStream& operator=(BatchStream&&) noexcept;
  // The next batch with the triggers decoded since the previous one that passed the time window
  // (`Chunk::triggers`) and the file offset reached (`Chunk::bytes_done`). Triggers are never
  // held back without bound: once a chunk's worth (64 Ki) piles up while a ByCount / ByTime
  // batch fills, they come alone in a `Chunk::triggers_only` chunk, and the batch follows.
  std::optional<Chunk> next();
  // For ByTime streams: the window [start, end) of the batch last returned.
  std::int64_t window_start() const;
  std::int64_t window_end() const;
  // Counters of corrupt and skipped input of this stream so far (complete at its end).
  const DecodeStats& stats() const;
  const Metadata& metadata() const;

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
