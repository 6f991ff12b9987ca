#pragma once
// Internal to the HDF5 reader: the event and trigger sources of each layout. A source knows how
// to pull rows [position, position + n) out of its datasets and convert them to evlib's column
// types; the reader (hdf5_reader.cpp) adds time offsets, geometry checks, triggers and stats.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "formats/hdf5/hdf5_util.hpp"

namespace evlib::detail::hdf5 {

// Destination of one read step: columns with room for n events, and a flag per event set when
// a stored value could not be converted (NaN time, negative coordinate...). The reader zeroes
// `invalid` before the step when the source says it may flag values.
struct Slice {
  std::int64_t* t;
  std::uint16_t* x;
  std::uint16_t* y;
  std::uint8_t* p;
  std::uint8_t* invalid;
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual std::uint64_t size() const = 0;
  virtual std::uint64_t position() const = 0;
  virtual void seek(std::uint64_t index) = 0;
  // Reads the next min(n, size() - position()) events into s and returns how many; adds the
  // number of flagged (unconvertible) events to `flagged`. Throws FormatError on read failures.
  virtual std::size_t read(const Slice& s, std::size_t n, std::size_t& flagged) = 0;
  virtual bool may_flag() const = 0;
  // Object name for messages ("/events", "/CD/events").
  virtual const std::string& name() const = 0;
  // "us" when stored times are integer microseconds, "s" when they are floating-point seconds.
  virtual const char* time_unit() const = 0;
};

class TriggerSource {
 public:
  virtual ~TriggerSource() = default;
  virtual std::uint64_t size() const = 0;
  // Appends triggers [start, start + n) to out (start + n <= size()).
  virtual void read(std::uint64_t start, std::size_t n, TriggerBatch& out) = 0;
};

// Everything a source needs to report errors: the file path, for FormatError.
struct Context {
  std::string path;
};

// Opens dataset `name` for sequential hyperslab reads: refuses filters this HDF5 library cannot
// decode (naming them) and sizes the chunk cache (none for unfiltered data, so whole-chunk reads
// go straight into our buffers; two chunks for compressed data, so no chunk is inflated twice).
h5::Handle open_streaming_dataset(const Context& ctx, hid_t loc, const std::string& name);

// 1-D datasets of equal length, one per column (generic, event_utils, DSEC, evlib files).
std::unique_ptr<EventSource> make_column_source(const Context& ctx, hid_t file, const std::string& group,
                                                const std::string& t, const std::string& x, const std::string& y,
                                                const std::string& p);
// An N x K numeric matrix whose columns ct, cx, cy, cp hold t, x, y, p (MVSEC, single /events).
std::unique_ptr<EventSource> make_matrix_source(const Context& ctx, hid_t file, const std::string& name, int ct,
                                                int cx, int cy, int cp);
// Metavision's compound /CD/events: ECF-coded chunks read directly (H5Dread_chunk) when the
// pipeline is the ECF filter, otherwise plain H5Dread of the compound records.
std::unique_ptr<EventSource> make_prophesee_source(const Context& ctx, hid_t file, const std::string& name);

// Metavision's compound /EXT_TRIGGER/events (p, t, id).
std::unique_ptr<TriggerSource> make_prophesee_triggers(const Context& ctx, hid_t file, const std::string& name);
// evlib's /triggers/{t, channel, value}.
std::unique_ptr<TriggerSource> make_column_triggers(const Context& ctx, hid_t file, const std::string& group);

}  // namespace evlib::detail::hdf5
