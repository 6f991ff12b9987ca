#pragma once
// The internal interface each format implements. One virtual call per chunk, never per event.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "io/byte_source.hpp"
#include "io/time_index.hpp"

namespace evlib::detail {

class FormatReader {
 public:
  virtual ~FormatReader() = default;
  // Appends events to batch until it holds `limit` events (at most its capacity) or the input
  // ends. Returns false once the input is exhausted and everything has been delivered.
  virtual bool fill(EventBatch& batch, TriggerBatch& triggers, std::size_t limit) = 0;
  bool fill(EventBatch& batch, TriggerBatch& triggers) { return fill(batch, triggers, batch.capacity()); }
  virtual const DecodeStats& stats() const = 0;
  // Upper bound on the events still to come (may scan the rest of the file).
  virtual std::size_t upper_bound_events() = 0;
  // A bound from the byte count alone (no scan); may be far above the real count.
  virtual std::size_t loose_upper_bound_events() { return upper_bound_events(); }
  // File offset decoded so far.
  virtual std::uint64_t bytes_done() const = 0;
  // Time shift in effect (Metavision compatibility), known once the first time base was seen.
  virtual std::int64_t time_shift() const { return 0; }

  // True when options.filter is applied inside the decode loop (else the caller filters).
  virtual bool pushes_down_filter() const { return false; }

  // Time index support (src/io/time_index.hpp): an opaque snapshot of everything the decoder
  // carries across buffers, taken between fill() calls at bytes_done(), and a way to resume from
  // one. Formats that cannot (or inputs that cannot seek) return false from can_snapshot().
  virtual bool can_snapshot() const { return false; }
  virtual std::string snapshot() const { return {}; }
  virtual void resume(const std::string& snapshot, std::uint64_t offset);
  // Stop reading at this file offset (the start of the next indexed segment).
  virtual void set_end(std::uint64_t offset);
  // The file's own time index (HDF5 /ms_to_idx or /CD/indexes, the AEDAT 4 packet table) as
  // segments this reader can resume() at and set_end() to; nullopt when the file has none (or
  // it does not survive a spot check). Used instead of building an index by a full pass.
  virtual std::optional<TimeIndex> native_index() { return std::nullopt; }

  // Parallel decoding without an index (io/parallel_chunks.hpp): readers that can start at any
  // word boundary and resynchronise. sync_at() moves to the first sync point at or after
  // `offset`, looking at most `max_scan` bytes on, and returns it (the end of input if none is
  // left); events before it belong to the reader of the previous piece. epoch_offset() is what
  // to add to the times a reader decodes from a sync point where its sync_snapshot() was
  // `fresh` so that it continues a reader whose snapshot() at that point was `before`; nullopt
  // when the two disagree beyond the time epoch (then that piece must be decoded again from
  // `before`). Any reader of the format answers it, not only the one that synced.
  virtual bool can_split() const { return false; }
  virtual std::uint64_t sync_at(std::uint64_t offset, std::uint64_t max_scan);
  virtual std::optional<std::int64_t> epoch_offset(const std::string& before, const std::string& fresh) const;
  // The state sync_at() found, and a way to start another reader there without searching again.
  virtual std::string sync_snapshot() const { return {}; }
  virtual void resume_synced(const std::string& sync_state, std::uint64_t offset);
  // A snapshot of this format moved by such an offset (to index a stitched piece).
  virtual std::string shift_snapshot(const std::string& snapshot, std::int64_t time_offset) const;
};

// Events between two time index entries: a window decodes at most about two of these extra.
inline constexpr std::size_t kIndexStride = std::size_t{1} << 16;

// reader.fill(batch, triggers) that records a time index entry (offset, snapshot, event count,
// time range of events and triggers) every kIndexStride events into `entries`; entries with
// nothing in them are dropped (the previous segment then spans their bytes), except a first.
bool fill_indexing(FormatReader& reader, EventBatch& batch, TriggerBatch& triggers, std::vector<IndexEntry>& entries);

// A format as the registry knows it.
struct FormatDescriptor {
  const char* name;
  const char* description;
  std::vector<std::string> extensions;
  // Confidence 0-100 that prefix (the first bytes of the file) is this format.
  int (*sniff)(const std::vector<std::uint8_t>& prefix, const std::string& path);
  // Parses the header into metadata and returns a reader that takes over the source and starts
  // at the first event.
  std::unique_ptr<FormatReader> (*open)(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata);
};

const std::vector<FormatDescriptor>& registry();
const FormatDescriptor& find_format(const std::string& path, const std::vector<std::uint8_t>& prefix,
                                    const ReadOptions& options);

// A format reader opened on a file, with the metadata its header gave.
struct OpenedFormat {
  std::unique_ptr<FormatReader> reader;
  std::shared_ptr<Metadata> metadata;
};
// Opens path with the format options.format names or detection picks.
OpenedFormat open_format(const std::string& path, const ReadOptions& options);

// ReadOptions::chunk_events sizes a chunk's columns (13 bytes an event): past this (2^32 events,
// 52 GiB) it is refused with InvalidArgument rather than overflowing an allocation size.
constexpr std::size_t kMaxChunkEvents = std::size_t{1} << 32;
void check_chunk_events(std::size_t chunk_events);

// Bytes read from the start of a file for sniffing and header parsing.
constexpr std::size_t kPrefixBytes = std::size_t{1} << 20;

}  // namespace evlib::detail
