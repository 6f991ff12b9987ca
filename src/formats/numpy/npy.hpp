#pragma once
// NumPy .npy arrays and .npz archives of them (docs/formats.md 13).
//
// What is read as events:
//   - a structured array (1-D, or any C-order shape, flattened) with fields found by name
//     (case-insensitive): t <- t/ts/time/timestamp(s), x, y, p <- p/pol/polarity/on; any integer,
//     float or bool field types, either byte order, packed or padded records;
//   - a plain 2-D array (N, C), C >= 4, C or Fortran order, columns by ReadOptions::text_columns
//     (default "txyp");
//   - in an .npz: separate 1-D members named like the fields above (t.npy, x.npy, y.npy, p.npy),
//     else a structured member (preferably "events" or "data"), else a 2-D member named events/data.
// Time rule: an integer time field is µs; a float time field is seconds (RPG-style float tables,
// h5py/pandas exports; tonic's integer tables are µs, docs/formats.md 13.1), converted to µs rounded
// to nearest; datetime64/timedelta64 fields use their own unit; a bool time field is refused.
// ReadOptions::text_time_unit overrides the integer/float default (e.g. "ms" for tonic's
// preprocessed N x 4 arrays). Coordinates must be in [0, 65535] (floats are truncated toward
// zero); polarity is value > 0.
// Records whose coordinates do not fit (or fall outside a given geometry) are dropped and counted
// (out_of_bounds); unusable times are counted as unknown_words; an array cut short counts its
// incomplete record in trailing_bytes and the shortfall in unknown_words.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
#include "formats/common/encoder.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

// One scalar element type, e.g. "<i8", "|b1", ">f4", "<M8[us]".
struct NpyType {
  enum class Kind : std::uint8_t { boolean, signed_int, unsigned_int, floating, datetime, other };
  Kind kind = Kind::other;
  std::uint64_t size = 0;  // bytes
  bool swap = false;       // stored big-endian (evlib runs on little-endian hosts)
  int time_exponent = 0;   // datetime64/timedelta64: µs = value * 10^time_exponent
  std::string text;        // the type string as written in the header
};

struct NpyField {
  std::string name;
  NpyType type;
  std::uint64_t offset = 0;  // within the record
  bool scalar = true;        // false for subarray and nested fields (never used as t/x/y/p)
};

struct NpyHeader {
  int major = 0;
  std::uint64_t header_bytes = 0;  // magic + preamble + dict: the data starts here
  bool structured = false;
  NpyType element;                 // plain arrays
  std::vector<NpyField> fields;    // structured arrays, in memory order
  std::uint64_t itemsize = 0;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::string descr;  // the descr literal as written
  std::string shape_text;
  // Product of the shape; throws FormatError when it (times itemsize) overflows.
  std::uint64_t count(const std::string& path) const;
  // Event records: every element of a structured array, but the rows of a plain 2-D array (each
  // row one event, its columns t, x, y, p). Throws as count() does.
  std::uint64_t records(const std::string& path) const;
};

// Longest .npy header accepted (numpy itself refuses more than 10000 bytes by default).
constexpr std::uint64_t kMaxNpyHeader = std::uint64_t{1} << 20;

// Size of the magic + preamble + header of an array whose first n >= 12 bytes are given.
// Throws FormatError(path, offset + position, detail) when they are not a supported .npy preamble.
std::uint64_t npy_header_size(const std::uint8_t* bytes, std::size_t n, const std::string& path, std::uint64_t offset);
// Parses a complete header (bytes[0, npy_header_size)). Throws FormatError.
NpyHeader parse_npy_header(const std::uint8_t* bytes, std::size_t n, const std::string& path, std::uint64_t offset);

// A sequential stream of one array's bytes: a region of the file, or an inflated zip member.
class ArrayStream {
 public:
  virtual ~ArrayStream() = default;
  // The next bytes, empty at the end; the previous span is invalidated. May throw FormatError.
  virtual std::span<const std::uint8_t> next() = 0;
  // File offset reached so far (progress).
  virtual std::uint64_t file_position() const = 0;
  // File offset to report for a problem at byte `pos` of the stream.
  virtual std::uint64_t error_offset(std::uint64_t pos) const = 0;
  // Called once all records were taken: checks what only the end of the stream can tell (CRC).
  virtual void finish() {}
  // Streams of stored bytes in a seekable file can move to any stream position (a time index
  // resumes there); inflated ones cannot.
  virtual bool seekable() const { return false; }
  virtual void seek(std::uint64_t) {}
};

// Bytes [offset, offset + length) of the source's file (length may run past the end of the file).
std::unique_ptr<ArrayStream> region_stream(std::unique_ptr<ByteSource> source, std::uint64_t offset, std::uint64_t length);

// One stream's worth of an event array, as the array reader consumes it.
struct ArrayPart {
  std::unique_ptr<ArrayStream> stream;
  std::span<const std::uint8_t> pending;  // bytes of the stream already read (after the header)
  std::uint64_t data_offset = 0;          // stream position of the first record (for error offsets)
  std::uint64_t record_bytes = 0;         // bytes per record in this stream
  // Records the bytes available can hold (a header may announce more than the file has): sizes
  // the allocation of a whole-file read, never the records actually read.
  std::uint64_t max_records = ~std::uint64_t{0};
};

// Where one of t, x, y, p is: which part, the offset in that part's record, the element type.
struct ColumnRef {
  std::size_t part = 0;
  std::uint64_t offset = 0;
  NpyType type;
};

// A header resolved into event columns.
struct EventColumns {
  ColumnRef t, x, y, p;
  bool column_major = false;  // plain 2-D array stored column after column (Fortran (N,C))
  std::uint64_t columns = 0;  // plain 2-D: C
  std::vector<std::size_t> column_index;  // column_major: the array column of t, x, y, p
  int time_exponent = 0;                   // µs = t value * 10^time_exponent (see the time rule above)
  std::string description;                 // "t=t <i8, x=x <i2, ..." for metadata
};

// Resolves the event columns of a structured array or a plain 2-D array (part 0). Throws
// FormatError naming what is missing.
EventColumns event_columns(const NpyHeader& header, const ReadOptions& options, const std::string& path,
                           std::uint64_t offset);

// Reads the .npy header at the start of a stream; `rest` gets the bytes after it.
NpyHeader read_stream_header(ArrayStream& stream, const std::string& path, std::uint64_t offset,
                             std::span<const std::uint8_t>& rest);

// The FormatReader over one or more parts (structured array: 1 part; separate members or a
// column-major array: up to 4). count = records announced by the header(s).
std::unique_ptr<FormatReader> make_array_reader(const std::string& path, std::vector<ArrayPart> parts,
                                                const EventColumns& columns, std::uint64_t count,
                                                const ReadOptions& options, std::uint32_t width, std::uint32_t height);

// Registry entry points; exposed so that tests can pass a source with small windows (records
// split across windows). The extra streams of a column-major array use 1 MiB windows.
std::unique_ptr<FormatReader> open_npy(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                       const ReadOptions& options, Metadata& metadata);
std::unique_ptr<FormatReader> open_npz(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                       const ReadOptions& options, Metadata& metadata);

// Writer internals exposed for tests: an .npz encoder that writes zip64 records even for small
// archives, to exercise the > 4 GiB layout without writing 4 GiB.
std::unique_ptr<EventEncoder> make_npz_encoder(const WriteOptions& options, bool force_zip64);

}  // namespace evlib::detail
