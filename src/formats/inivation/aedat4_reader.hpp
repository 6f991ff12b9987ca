#pragma once
// The AEDAT 4.0 chunk reader: pulls windows from a ByteSource, frames packets (a packet header
// or payload may straddle windows), decompresses one packet at a time into a reused buffer and
// copies its events to the columns, resuming mid-packet when a chunk fills up. Memory: one
// window, one compressed and one decompressed packet.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "formats/inivation/aedat4.hpp"
#include "formats/common/decoder_support.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

class Aedat4Reader final : public FormatReader {
 public:
  Aedat4Reader(std::unique_ptr<ByteSource> source, Aedat4FileInfo info, const ReadOptions& options);

  using FormatReader::fill;
  bool fill(EventBatch& batch, TriggerBatch& triggers, std::size_t limit) override;
  const DecodeStats& stats() const override { return stats_; }
  // Exact upper bound from the packet sizes and frame headers of the rest of the file.
  std::size_t upper_bound_events() override;
  // From the FileDataTable when the file has a plausible one (no scan), else upper_bound_events().
  std::size_t loose_upper_bound_events() override;
  std::uint64_t bytes_done() const override { return position_; }

  // Seeking by the packet table (FileDataTable): segments start at packet headers, and a packet
  // carries its own absolute timestamps, so the file offset is the whole state.
  std::optional<TimeIndex> native_index() override;
  void resume(const std::string& snapshot, std::uint64_t offset) override;
  void set_end(std::uint64_t offset) override;

  const Aedat4FileInfo& info() const noexcept { return info_; }
  // The FileDataTable: per packet its payload offset, stream, size, element count and first and
  // last timestamp (for seeking). Read on first use; empty when the file has none. Throws
  // FormatError when the table is damaged.
  const std::vector<Aedat4PacketEntry>& packet_table();

 private:
  enum class Kind : std::uint8_t { kEvents, kTriggers, kImu, kSkip };

  Kind kind_of(std::int32_t stream_id, std::uint32_t& width, std::uint32_t& height) const;
  // Loads the next packet with events to copy out (decoding trigger and IMU packets on the way);
  // false at the end of the packets.
  bool next_packet(TriggerBatch& triggers);
  bool read_packet_header(std::int32_t& stream_id, std::int32_t& size);
  bool decode_payload(Kind kind, std::span<const std::uint8_t> payload, std::uint64_t payload_at, std::uint32_t width,
                      std::uint32_t height, TriggerBatch& triggers);
  bool read_exact(std::size_t n, std::span<const std::uint8_t>& out, std::size_t& got);
  std::size_t skip(std::size_t n);
  void corrupt_packet(std::uint64_t offset, const char* what);
  void cut_short(std::uint64_t offset, std::uint64_t bytes, const char* what);
  void note_dropped(std::uint64_t count);

  std::unique_ptr<ByteSource> source_;
  Aedat4FileInfo info_;
  Aedat4Decompressor decompressor_;
  std::uint32_t width_override_;
  std::uint32_t height_override_;
  bool strict_;
  std::uint64_t end_;        // the packets end here: data table position, file size, or "unknown"
  std::uint64_t packets_end_;  // end_ as the file has it (set_end() narrows end_)
  bool end_is_table_ = false;
  std::span<const std::uint8_t> pending_;  // unread rest of the current window
  std::uint64_t position_;   // file offset of pending_.front()
  std::vector<std::uint8_t> assembly_;     // a packet that straddles windows
  // The event packet being copied out.
  const std::uint8_t* events_ = nullptr;
  std::size_t events_left_ = 0;
  std::uint32_t event_width_ = 0;
  std::uint32_t event_height_ = 0;
  std::uint64_t packet_offset_ = 0;
  bool finished_ = false;
  DecodeStats stats_;
  std::optional<std::vector<Aedat4PacketEntry>> table_;
};

std::unique_ptr<FormatReader> open_aedat4(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                          const ReadOptions& options, Metadata& metadata);

}  // namespace evlib::detail
