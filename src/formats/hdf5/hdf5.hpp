#pragma once
// HDF5 event files (docs/formats.md 7, 8 and 15.6).
//
// Reading: the "hdf5" format detects the layout from the objects present:
//   - Prophesee / Metavision: compound /CD/events (x u2, y u2, p i2, t i8), ECF-coded chunks read
//     with H5Dread_chunk and decoded by formats/prophesee/ecf.hpp; /EXT_TRIGGER/events as triggers;
//   - generic 1-D columns /events/{t,x,y,p} and the name variants ts/xs/ys/ps,
//     timestamps/x_pos/y_pos/polarity(ies), also directly at the root; DSEC adds /t_offset
//     (added to t) and /ms_to_idx (see read_millisecond_index); evlib's /triggers/{t,channel,value};
//   - N x 4 matrices: /events as (t, x, y, p) and MVSEC's /davis/{left,right}/events as (x, y, t, p).
// Time is integer µs when the time dataset has an integer type and seconds (converted to the
// nearest µs) when it has a floating-point type: decided from the dtype, never from magnitudes.
// Polarity is normalised to 0/1 (value > 0 means ON). Datasets are read in hyperslabs of at most
// one chunk of events, so memory stays bounded whatever the file size.
//
// Writing: /events/{t int64 µs, x uint16, y uint16, p uint8}, chunked and extendable, optionally
// gzip-compressed; triggers in /triggers/{t, channel, value}; geometry and header as attributes.
// With compression "ecf": Metavision's layout instead (/CD/events of ECF blocks, /CD/indexes,
// /EXT_TRIGGER/events and /EXT_TRIGGER/indexes), readable by Metavision and by this reader.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/common/encoder.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

// Confidence that prefix is an HDF5 file, from its superblock signature alone (hdf5_signature.cpp,
// built without libhdf5 too, so that a build without HDF5 still recognises HDF5 files).
int sniff_hdf5(const std::vector<std::uint8_t>& prefix, const std::string& path);
// The reader (hdf5_reader.cpp) and the writer (hdf5_writer.cpp: /events/{t,x,y,p}; it creates its
// file at AtomicFile::temp_path()).
FormatDecoder hdf5_decoder();
std::unique_ptr<EventEncoder> make_hdf5_encoder(const WriteOptions& options);
// Metavision's layout (/CD/events in ECF chunks), which make_hdf5_encoder picks for
// WriteOptions::compression == "ecf".
std::unique_ptr<EventEncoder> make_ecf_hdf5_encoder(const WriteOptions& options);

// The layouts the reader understands, as reported in Metadata::header under "hdf5.layout".
enum class Hdf5Layout { prophesee, generic, dsec, matrix, mvsec };
const char* layout_name(Hdf5Layout layout) noexcept;

// A DSEC-style millisecond index: first_event[m] is the index of the first event whose time
// relative to t_offset is at least m * 1000 µs. Absolute time = relative time + t_offset.
struct MillisecondIndex {
  std::string dataset;  // "/ms_to_idx"
  std::int64_t t_offset = 0;
  std::vector<std::uint64_t> first_event;
};

// Loads /ms_to_idx (and /t_offset) of a DSEC-style file; nullopt when the file has none.
// Throws IoError / FormatError when the file cannot be read. For time seeking.
std::optional<MillisecondIndex> read_millisecond_index(const std::string& path);

// The FormatReader the "hdf5" format returns: events are addressable by index, so it can seek.
class Hdf5FormatReader : public FormatReader {
 public:
  virtual Hdf5Layout layout() const = 0;
  // Events stored in the file (including any that the reader drops as out of bounds).
  virtual std::uint64_t event_count() const = 0;
  // Index of the next event fill() reads.
  virtual std::uint64_t next_event() const = 0;
  // Makes the next fill() start at event `index` (clamped to event_count()). Triggers restart
  // at the first trigger not earlier than that event's time.
  virtual void seek_event(std::uint64_t index) = 0;
};

}  // namespace evlib::detail
