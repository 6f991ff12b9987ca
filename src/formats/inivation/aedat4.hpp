#pragma once
// AEDAT 4.0 (iniVation DV, dv-processing): "#!AER-DAT4.0\r\n", a size-prefixed IOHeader
// FlatBuffer (compression, data table position, XML stream description), then packets of
// (int32 stream id, int32 size, [compressed] size-prefixed FlatBuffer), optionally followed by a
// FileDataTable (docs/formats.md 11). The pieces here are shared by the reader (aedat4_reader.cpp),
// the writer (aedat4_writer.cpp) and the format helpers (aedat4_format.cpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"

struct LZ4F_dctx_s;
struct ZSTD_DCtx_s;

namespace evlib::detail {


inline constexpr char kAedat4Magic[] = "#!AER-DAT4.0\r\n";
inline constexpr std::size_t kAedat4MagicBytes = 14;
// Largest packet payload (compressed or not) and largest decompressed packet evlib accepts. Real
// DV packets hold milliseconds of data (kilobytes to a few MiB); the cap keeps a damaged size
// field from making the reader allocate gigabytes.
inline constexpr std::size_t kAedat4MaxPacketBytes = std::size_t{128} << 20;
// Bytes of one EVTS event struct: int64 t, int16 x, int16 y, bool polarity, 3 bytes padding.
inline constexpr std::size_t kAedat4EventBytes = 16;

enum class Aedat4Compression : std::int32_t { kNone = 0, kLz4 = 1, kLz4High = 2, kZstd = 3, kZstdHigh = 4 };
const char* aedat4_compression_name(Aedat4Compression c);

// One output stream of the XML description.
struct Aedat4Stream {
  std::int32_t id = 0;
  std::string type;                  // typeIdentifier: "EVTS", "TRIG", "IMUS", "FRME", ...
  std::uint32_t width = 0;           // info/sizeX, info/sizeY (event and frame streams)
  std::uint32_t height = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // every attr, "info/" prefixed for the info node
};

struct Aedat4FileInfo {
  Aedat4Compression compression = Aedat4Compression::kNone;
  std::int64_t data_table_position = -1;  // -1: no FileDataTable
  std::uint64_t data_offset = 0;          // first packet header
  std::vector<Aedat4Stream> streams;      // sorted by id

  const Aedat4Stream* stream(std::int32_t id) const;
};

// Bytes needed to parse the magic and the IOHeader (18 + its length), or 0 when bytes are not
// even long enough to tell.
std::size_t aedat4_header_bytes(std::span<const std::uint8_t> bytes);
// Parses the magic, the IOHeader and its XML. Throws FormatError (offsets into the file).
Aedat4FileInfo parse_aedat4_header(const std::string& path, std::span<const std::uint8_t> bytes);
// The streams of an infoNode XML document (outInfo/<id>/...). Unparseable parts are ignored.
std::vector<Aedat4Stream> parse_aedat4_info_xml(std::string_view xml);

// One entry of the FileDataTable: where a packet's payload is and what it holds.
struct Aedat4PacketEntry {
  std::int64_t byte_offset = 0;  // file offset of the payload (just after the 8-byte packet header)
  std::int32_t stream_id = 0;
  std::int32_t size = 0;         // payload bytes
  std::int64_t elements = 0;     // events, triggers, IMU samples, ... in the packet
  std::int64_t t_first = 0;      // first and last timestamp in the packet (µs)
  std::int64_t t_last = 0;
};

// Decompresses packet payloads, one complete LZ4 or Zstd frame each, into a reused buffer.
class Aedat4Decompressor {
 public:
  explicit Aedat4Decompressor(Aedat4Compression compression);
  ~Aedat4Decompressor();
  Aedat4Decompressor(const Aedat4Decompressor&) = delete;
  Aedat4Decompressor& operator=(const Aedat4Decompressor&) = delete;

  // out views the decompressed bytes (the input itself for NONE) until the next call. Returns
  // nullptr on success, else what is wrong with the frame.
  const char* decompress(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out);
  // An upper bound on the decompressed size of a payload without decompressing it, or nullopt
  // when the frame does not say (Zstd without a content size). Frames that cannot decode bound 0.
  static std::optional<std::uint64_t> decompressed_bound(Aedat4Compression compression,
                                                         std::span<const std::uint8_t> in);

 private:
  const char* lz4(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out);
  const char* zstd(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out);
  bool reserve(std::size_t bytes);

  LZ4F_dctx_s* lz4_ = nullptr;
  ZSTD_DCtx_s* zstd_ = nullptr;
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
};

// Payload parsers; each takes a decompressed size-prefixed FlatBuffer and returns nullptr on
// success, else what is malformed.
// EVTS: the first 16-byte Event struct and the number of events.
const char* aedat4_events(std::span<const std::uint8_t> payload, const std::uint8_t*& first, std::size_t& count);
// TRIG: appends the external-signal and generator edges (other trigger types counted in stats).
const char* aedat4_triggers(std::span<const std::uint8_t> payload, TriggerBatch& triggers, DecodeStats& stats);
// IMUS: number of samples.
const char* aedat4_imu_count(std::span<const std::uint8_t> payload, std::size_t& count);
// FTAB: the file data table.
const char* aedat4_file_table(std::span<const std::uint8_t> payload, std::vector<Aedat4PacketEntry>& out);

// The FileDataTable of an AEDAT 4.0 file: one entry per packet, in file order (the packet index
// another reader can seek with). Empty when the file has none; throws FormatError when damaged.
std::vector<Aedat4PacketEntry> read_aedat4_packet_table(const std::string& path);
std::vector<Aedat4PacketEntry> read_aedat4_packet_table(const std::string& path, const Aedat4FileInfo& info);

}  // namespace evlib::detail
