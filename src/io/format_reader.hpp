#pragma once
// The internal interface each format implements. One virtual call per chunk, never per event.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/formats.hpp"
#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
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
  // An upper bound on the events per byte of the file's bytes [offset, offset + bytes), for
  // sizing the pieces of a parallel pass by the events they hold, not by their bytes (EVT 3.0
  // vector words give up to 6 events a byte, DAT records 1/8).
  virtual double events_per_byte_bound(std::uint64_t offset, std::size_t bytes);
  virtual std::uint64_t sync_at(std::uint64_t offset, std::uint64_t max_scan);
  virtual std::optional<std::int64_t> epoch_offset(const std::string& before, const std::string& fresh) const;
  // The state sync_at() found, and a way to start another reader there without searching again.
  virtual std::string sync_snapshot() const { return {}; }
  virtual void resume_synced(const std::string& sync_state, std::uint64_t offset);
  // A snapshot of this format moved by such an offset (to index a stitched piece).
  virtual std::string shift_snapshot(const std::string& snapshot, std::int64_t time_offset) const;
};

// Triggers a chunk holds at most (give or take one input window's worth): fill() returns once it
// has this many, so that a file of triggers and few events streams in bounded memory too.
inline constexpr std::size_t kTriggerChunk = std::size_t{1} << 16;
// Whether a chunk being filled should go to its consumer: no room for one more word's events,
// or enough triggers.
inline bool chunk_is_full(const EventBatch& batch, const TriggerBatch& triggers) {
  return batch.size() + 32 > batch.capacity() || triggers.size() >= kTriggerChunk;
}

// Events between two time index entries: a window decodes at most about two of these extra.
inline constexpr std::size_t kIndexStride = std::size_t{1} << 16;

// reader.fill(batch, triggers) that records a time index entry (offset, snapshot, event count,
// time range of events and triggers) every kIndexStride events into `entries`; entries with
// nothing in them are dropped (the previous segment then spans their bytes), except a first.
// Entries: a std::vector<IndexEntry> or a TimeIndex's IndexEntries.
template <class Entries>
bool fill_indexing(FormatReader& reader, EventBatch& batch, TriggerBatch& triggers, Entries& entries);

class EventEncoder;

// How a format is read.
struct FormatDecoder {
  // Confidence 0-100 that prefix (the first bytes of the file) is this format.
  int (*sniff)(const std::vector<std::uint8_t>& prefix, const std::string& path) = nullptr;
  // Parses the header into metadata and returns a reader that takes over the source and starts
  // at the first event. nullptr: the format cannot be read (by this build).
  std::unique_ptr<FormatReader> (*open)(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata) = nullptr;
};

// A name Writer::create accepts for a format, the file extensions that pick it when no name is
// given (the first registered format wins an extension: ".raw" is EVT 3.0), and its encoder.
struct WriteTarget {
  const char* name = "";
  std::vector<std::string> extensions = {};
  std::unique_ptr<EventEncoder> (*make)(const WriteOptions& options) = nullptr;
};

// An option a format reads, and the values it accepts (empty: any).
struct OptionSpec {
  FormatOption option = FormatOption::geometry;
  std::vector<std::string> values;
};

// A format as the registry (src/io/registry.cpp) knows it: everything evlib says or decides
// about a format by name comes from here.
struct FormatDescriptor {
  const char* name = "";
  const char* description = "";
  FormatDecoder decoder;
  std::vector<WriteTarget> writes = {};  // empty: read-only
  std::vector<std::string> read_extensions = {};
  std::vector<std::string> aliases = {};  // other names for reading and writing
  const char* container = "";        // a ReadOptions::format shared with other formats; the file's header picks
  FormatTraits traits;
  std::vector<OptionSpec> read_options = {};   // ReadOptions fields that change what is decoded
  std::vector<OptionSpec> write_options = {};  // WriteOptions fields the encoders read
  const char* unavailable = nullptr;      // why this build can neither read nor write it

  bool readable() const { return unavailable == nullptr && decoder.open != nullptr; }
  bool writable() const { return unavailable == nullptr && !writes.empty(); }
};

const std::vector<FormatDescriptor>& registry();
// The format a name, write name or alias denotes (case-insensitive), or nullptr.
const FormatDescriptor* format_named(std::string_view name);
// The format to read path with: the one options.format names (or, for a container name, the one
// whose sniff accepts the file), else the best sniff. Throws UnsupportedFormat, also for a format
// this build cannot read.
const FormatDescriptor& find_format(const std::string& path, const std::vector<std::uint8_t>& prefix,
                                    const ReadOptions& options);

// What Writer::create writes path as: `requested` (a write name or alias; "" = by extension).
struct WriteChoice {
  const FormatDescriptor* format = nullptr;
  const WriteTarget* target = nullptr;
};
// Throws InvalidArgument when no format is requested and the extension names none,
// UnsupportedFormat when the format cannot be written (by this build).
WriteChoice find_write_target(const std::string& path, const std::string& requested);

// Hash of the read options `format` declares (its read_options), for the index cache key: an
// option the format does not read does not change it. Unknown formats hash every option.
std::uint64_t read_options_hash(const std::string& format, const ReadOptions& options);

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
