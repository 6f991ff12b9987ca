#include "formats/inivation/aedat4_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "evlib/error.hpp"
#include "formats/inivation/flatbuffer.hpp"

namespace evlib::detail {

namespace {

constexpr std::uint64_t kUnknownEnd = std::numeric_limits<std::uint64_t>::max();
// Coordinates are int16 in the file: bounding by 0x8000 at most also rejects negative ones.
constexpr std::uint32_t kMaxCoordinate = 0x8000;

std::uint32_t bound_of(std::uint32_t override_size, std::uint32_t stream_size) {
  const std::uint32_t s = override_size != 0 ? override_size : stream_size;
  return s == 0 ? kMaxCoordinate : std::min(s, kMaxCoordinate);
}

// Copies n EVTS structs to the columns from sink.n on, keeping those inside [0,w) x [0,h), and
// returns how many were kept (n <= sink.room() by the caller). The common case, every event
// inside, takes one pass: the bounds are checked while copying, without a branch per event.
std::size_t copy_events(const std::uint8_t* e, std::size_t n, ColumnSink& sink, std::uint32_t w, std::uint32_t h) {
  std::int64_t* __restrict t = sink.t + sink.n;
  std::uint16_t* __restrict x = sink.x + sink.n;
  std::uint16_t* __restrict y = sink.y + sink.n;
  std::uint8_t* __restrict p = sink.p + sink.n;
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* ei = e + kAedat4EventBytes * i;
    std::uint16_t xi, yi;
    std::memcpy(t + i, ei, 8);
    std::memcpy(&xi, ei + 8, 2);
    std::memcpy(&yi, ei + 10, 2);
    x[i] = xi;
    y[i] = yi;
    p[i] = ei[12] != 0;
    bad |= static_cast<std::uint32_t>(xi >= w) | static_cast<std::uint32_t>(yi >= h);
  }
  if (bad == 0) [[likely]] return n;
  // Some are outside: copied again, the count advancing only for kept ones, so a dropped event
  // is overwritten by the next.
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i, e += kAedat4EventBytes) {
    std::int64_t ti;
    std::uint16_t xi, yi;
    std::memcpy(&ti, e, 8);
    std::memcpy(&xi, e + 8, 2);
    std::memcpy(&yi, e + 10, 2);
    t[k] = ti;
    x[k] = xi;
    y[k] = yi;
    p[k] = e[12] != 0;
    k += static_cast<std::size_t>((xi < w) & (yi < h));
  }
  return k;
}

// A read-only mapping of a whole file for the bound scan (touches only packet and frame headers).
class FileMap {
 public:
  explicit FileMap(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0) {
      void* m = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (m != MAP_FAILED) {
        data_ = static_cast<const std::uint8_t*>(m);
        size_ = static_cast<std::size_t>(size);
      }
    }
    ::close(fd);
  }
  ~FileMap() {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

Aedat4Reader::Aedat4Reader(std::unique_ptr<ByteSource> source, Aedat4FileInfo info, const ReadOptions& options)
    : source_(std::move(source)), info_(std::move(info)), decompressor_(info_.compression),
      width_override_(options.width), height_override_(options.height), strict_(options.strict),
      position_(info_.data_offset) {
  const std::uint64_t size = source_->size();
  end_ = size != 0 ? size : kUnknownEnd;
  // Packets stop at the FileDataTable. A position outside the packet area is ignored (the
  // packets then run to the end of the file).
  if (info_.data_table_position >= 0) {
    const auto table = static_cast<std::uint64_t>(info_.data_table_position);
    if (table >= info_.data_offset && table <= end_) {
      end_ = table;
      end_is_table_ = true;
    }
  }
  packets_end_ = end_;
  source_->seek(info_.data_offset);
}

void Aedat4Reader::resume(const std::string&, std::uint64_t offset) {
  if (!source_->seekable() || offset < info_.data_offset) throw InvalidArgument("cannot resume this AEDAT 4.0 input there");
  source_->seek(offset);
  pending_ = {};
  position_ = offset;
  events_left_ = 0;
  finished_ = false;
  end_ = packets_end_;
  stats_ = {};  // counters restart with the segment, as for the other formats
}

void Aedat4Reader::set_end(std::uint64_t offset) { end_ = std::min(packets_end_, offset); }

std::optional<TimeIndex> Aedat4Reader::native_index() {
  if (info_.data_table_position < 0 || !source_->seekable()) return std::nullopt;
  const std::vector<Aedat4PacketEntry>* table = nullptr;
  try {
    table = &packet_table();
  } catch (const Error&) {
    return std::nullopt;  // a damaged table: decode from the start instead
  }
  if (table->empty()) return std::nullopt;
  // Every packet listed, in file order, back to back from the first to the data table (else a
  // window could miss packets the table does not describe), and the first and last where a
  // packet header says they are: a table that disagrees with the file is not used.
  std::uint64_t next_header = info_.data_offset;
  for (const Aedat4PacketEntry& e : *table) {
    const auto at = static_cast<std::uint64_t>(e.byte_offset);
    if (e.byte_offset < 8 || at - 8 != next_header || e.size < 0 || e.elements < 0 || e.t_first > e.t_last) {
      return std::nullopt;
    }
    next_header = at + static_cast<std::uint64_t>(e.size);
  }
  if (next_header != packets_end_) return std::nullopt;
  const FileMap map(source_->path());
  for (const Aedat4PacketEntry* e : {&table->front(), &table->back()}) {
    const auto at = static_cast<std::size_t>(e->byte_offset) - 8;
    if (map.bytes().size() < at + 8 || static_cast<std::int32_t>(load_le32(map.bytes().data() + at)) != e->stream_id ||
        static_cast<std::int32_t>(load_le32(map.bytes().data() + at + 4)) != e->size) {
      return std::nullopt;
    }
  }
  // Consecutive packets grouped into segments of about 64 Ki events; a segment starts at its
  // first packet's header and spans the times of its event and trigger packets.
  constexpr std::uint64_t kSegmentEvents = std::uint64_t{1} << 16;
  TimeIndex index;
  index.end_offset = packets_end_;
  IndexEntry segment;
  segment.offset = info_.data_offset;  // packets before the first listed one (if any) go first
  for (const Aedat4PacketEntry& e : *table) {
    std::uint32_t w, h;
    const Kind kind = kind_of(e.stream_id, w, h);
    if (kind != Kind::kEvents && kind != Kind::kTriggers) continue;
    if (segment.events >= kSegmentEvents) {
      index.entries.push_back(std::move(segment));
      segment = IndexEntry{};
      segment.offset = static_cast<std::uint64_t>(e.byte_offset) - 8;
    }
    if (kind == Kind::kEvents) segment.events += static_cast<std::uint64_t>(e.elements);
    segment.t_min = std::min(segment.t_min, e.t_first);
    segment.t_max = std::max(segment.t_max, e.t_last);
  }
  index.entries.push_back(std::move(segment));
  return index;
}

Aedat4Reader::Kind Aedat4Reader::kind_of(std::int32_t stream_id, std::uint32_t& width, std::uint32_t& height) const {
  const Aedat4Stream* s = info_.stream(stream_id);
  if (s == nullptr) return Kind::kSkip;  // docs/formats.md 11.3: a stream the XML does not describe
  if (s->type == "EVTS") {
    width = bound_of(width_override_, s->width);
    height = bound_of(height_override_, s->height);
    return Kind::kEvents;
  }
  if (s->type == "TRIG") return Kind::kTriggers;
  if (s->type == "IMUS") return Kind::kImu;
  return Kind::kSkip;  // frames, bounding boxes, poses, ...: counted, never decompressed
}

bool Aedat4Reader::read_exact(std::size_t n, std::span<const std::uint8_t>& out, std::size_t& got) {
  got = 0;
  if (pending_.size() >= n) {  // the common case: the bytes lie in the current window, no copy
    out = pending_.first(n);
    pending_ = pending_.subspan(n);
    position_ += n;
    got = n;
    return true;
  }
  assembly_.clear();
  while (assembly_.size() < n) {
    if (pending_.empty()) {
      pending_ = source_->next();
      if (pending_.empty()) {
        got = assembly_.size();
        return false;
      }
    }
    const std::size_t take = std::min(n - assembly_.size(), pending_.size());
    assembly_.insert(assembly_.end(), pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
    pending_ = pending_.subspan(take);
    position_ += take;
  }
  out = assembly_;
  got = n;
  return true;
}

std::size_t Aedat4Reader::skip(std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    if (pending_.empty()) {
      pending_ = source_->next();
      if (pending_.empty()) break;
    }
    const std::size_t take = std::min(n - done, pending_.size());
    pending_ = pending_.subspan(take);
    position_ += take;
    done += take;
  }
  return done;
}

void Aedat4Reader::corrupt_packet(std::uint64_t offset, const char* what) {
  ++stats_.corrupt_packets;
  stats_.note_error(offset, what);
}

void Aedat4Reader::cut_short(std::uint64_t offset, std::uint64_t bytes, const char* what) {
  stats_.trailing_bytes += bytes;
  stats_.note_error(offset, what);
}

bool Aedat4Reader::read_packet_header(std::int32_t& stream_id, std::int32_t& size) {
  if (position_ >= end_) return false;  // the data table (or the end of the file) is reached
  const std::uint64_t header_at = position_;
  std::span<const std::uint8_t> header;
  std::size_t got = 0;
  if (!read_exact(8, header, got)) {
    if (got != 0) cut_short(header_at, got, "AEDAT 4.0 packet header cut short by the end of the file");
    return false;
  }
  stream_id = static_cast<std::int32_t>(load_le32(header.data()));
  size = static_cast<std::int32_t>(load_le32(header.data() + 4));
  const std::uint64_t payload_at = position_;
  if (size >= 0 && (end_ == kUnknownEnd || std::uint64_t(std::uint32_t(size)) <= end_ - payload_at)) return true;
  if (size >= 0 && !end_is_table_) {
    // The packet runs past the end of the file: an unfinished recording (docs/formats.md 11.4).
    cut_short(header_at, 8 + skip(static_cast<std::size_t>(end_ - payload_at)), "AEDAT 4.0 packet cut short by the end of the file");
  } else {
    // A negative size, or one that runs into the data table: the framing is lost from here on.
    corrupt_packet(header_at, "AEDAT 4.0 packet size runs past the file data table or is negative");
    skip(end_ == kUnknownEnd ? 0 : static_cast<std::size_t>(end_ - payload_at));
  }
  return false;
}

bool Aedat4Reader::decode_payload(Kind kind, std::span<const std::uint8_t> payload, std::uint64_t payload_at,
                                  std::uint32_t width, std::uint32_t height, TriggerBatch& triggers) {
  std::span<const std::uint8_t> plain;
  const char* error = decompressor_.decompress(payload, plain);
  if (error == nullptr && kind == Kind::kEvents) {
    const std::uint8_t* first = nullptr;
    std::size_t count = 0;
    error = aedat4_events(plain, first, count);
    if (error == nullptr && count != 0) {
      events_ = first;
      events_left_ = count;
      event_width_ = width;
      event_height_ = height;
      packet_offset_ = payload_at;
      return true;
    }
  } else if (error == nullptr && kind == Kind::kTriggers) {
    error = aedat4_triggers(plain, triggers, stats_);
  } else if (error == nullptr) {
    std::size_t count = 0;
    error = aedat4_imu_count(plain, count);
    if (error == nullptr) stats_.imu_samples += count;
  }
  if (error != nullptr) corrupt_packet(payload_at, error);
  return false;
}

bool Aedat4Reader::next_packet(TriggerBatch& triggers) {
  std::int32_t stream_id = 0, size = 0;
  while (read_packet_header(stream_id, size)) {
    const std::uint64_t header_at = position_ - 8, payload_at = position_;
    std::uint32_t width = 0, height = 0;
    const Kind kind = kind_of(stream_id, width, height);
    if (kind == Kind::kSkip || std::size_t(size) > kAedat4MaxPacketBytes) {
      // Frames and unknown streams are never decompressed; an oversized packet is damage.
      if (kind != Kind::kSkip) corrupt_packet(header_at, "AEDAT 4.0 packet larger than the packet size limit");
      const std::size_t skipped = skip(std::size_t(size));
      if (skipped < std::size_t(size)) {
        cut_short(header_at, 8 + skipped, "AEDAT 4.0 packet cut short by the end of the file");
        return false;
      }
      if (kind == Kind::kSkip) ++stats_.skipped_records;
      continue;
    }
    std::span<const std::uint8_t> payload;
    std::size_t got = 0;
    if (!read_exact(std::size_t(size), payload, got)) {
      cut_short(header_at, 8 + got, "AEDAT 4.0 packet cut short by the end of the file");
      return false;
    }
    if (decode_payload(kind, payload, payload_at, width, height, triggers)) return true;
  }
  return false;
}

void Aedat4Reader::note_dropped(std::uint64_t count) {
  stats_.out_of_bounds += count;
  // Offsets inside a compressed packet have no file position: report the packet's payload.
  stats_.note_error(packet_offset_, "AEDAT 4.0 event beyond the sensor geometry (offset of its packet)");
}

bool Aedat4Reader::fill(EventBatch& batch, TriggerBatch& triggers, std::size_t limit) {
  ColumnSink sink = ColumnSink::over(batch);
  sink.cap = std::min(sink.cap, std::max(limit, sink.n + 1));
  while (!finished_ && sink.room() != 0 && triggers.size() < kTriggerChunk) {
    if (events_left_ == 0) {
      if (!next_packet(triggers)) finished_ = true;
      continue;
    }
    const std::size_t n = std::min(events_left_, sink.room());
    const std::size_t kept = copy_events(events_, n, sink, event_width_, event_height_);
    sink.n += kept;
    if (kept != n) note_dropped(n - kept);
    events_ += n * kAedat4EventBytes;
    events_left_ -= n;
    stats_.words += n;
  }
  batch.set_size(sink.n);
  if (strict_ && stats_.corrupt() != 0) {
    throw FormatError(source_->path(), stats_.first_error_offset, stats_.first_error + " (strict mode)");
  }
  return !finished_;
}

std::size_t Aedat4Reader::upper_bound_events() {
  std::uint64_t bound = events_left_;
  if (!source_->seekable()) return static_cast<std::size_t>(bound) + (std::size_t{1} << 20);  // a pipe: read() grows
  const FileMap map(source_->path());
  const auto file = map.bytes();
  const std::uint64_t end = std::min<std::uint64_t>(end_, file.size());
  Aedat4Decompressor scratch(info_.compression);
  for (std::uint64_t pos = position_; pos + 8 <= end;) {
    const auto stream_id = static_cast<std::int32_t>(load_le32(file.data() + pos));
    const auto size = static_cast<std::int32_t>(load_le32(file.data() + pos + 4));
    pos += 8;
    if (size < 0 || std::uint64_t(std::uint32_t(size)) > end - pos) break;  // decoding stops there too
    const auto payload = file.subspan(static_cast<std::size_t>(pos), std::size_t(size));
    pos += std::uint32_t(size);
    std::uint32_t w, h;
    if (kind_of(stream_id, w, h) != Kind::kEvents || payload.size() > kAedat4MaxPacketBytes) continue;
    if (auto bytes = Aedat4Decompressor::decompressed_bound(info_.compression, payload)) {
      bound += *bytes / kAedat4EventBytes;
      continue;
    }
    // The frame does not declare its size (Zstd without content size): decode it to count.
    std::span<const std::uint8_t> plain;
    const std::uint8_t* first;
    std::size_t count = 0;
    if (scratch.decompress(payload, plain) == nullptr && aedat4_events(plain, first, count) == nullptr) bound += count;
  }
  return static_cast<std::size_t>(bound) + 1;
}

std::size_t Aedat4Reader::loose_upper_bound_events() {
  if (info_.data_table_position >= 0 && source_->seekable()) {
    try {
      std::uint64_t sum = events_left_;
      for (const Aedat4PacketEntry& e : packet_table()) {
        std::uint32_t w, h;
        if (e.byte_offset < 0 || std::uint64_t(e.byte_offset) < position_ || kind_of(e.stream_id, w, h) != Kind::kEvents) continue;
        if (e.elements < 0 || std::uint64_t(e.elements) > kAedat4MaxPacketBytes / kAedat4EventBytes) {
          sum = ~std::uint64_t{0};
          break;
        }
        sum += std::uint64_t(e.elements);
      }
      // An event takes at least a few bits even in the best LZ4/Zstd case: a table claiming more
      // events than that is damaged, and a table claiming fewer only costs read() one regrowth.
      if (sum <= source_->size() * 64) return static_cast<std::size_t>(sum) + 1;
    } catch (const Error&) {
      // A damaged table: fall through to the scan.
    }
  }
  return upper_bound_events();
}

const std::vector<Aedat4PacketEntry>& Aedat4Reader::packet_table() {
  if (!table_) {
    if (info_.data_table_position < 0) {
      table_.emplace();
    } else {
      table_ = read_aedat4_packet_table(source_->path(), info_);
    }
  }
  return *table_;
}

namespace {

int sniff_aedat4(const std::vector<std::uint8_t>& prefix, const std::string&) {
  return prefix.size() >= kAedat4MagicBytes && std::memcmp(prefix.data(), kAedat4Magic, kAedat4MagicBytes) == 0 ? 100 : 0;
}

}  // namespace

std::unique_ptr<FormatReader> open_aedat4(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                          const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  Aedat4FileInfo info;
  const std::size_t need = aedat4_header_bytes(prefix);
  if (need > prefix.size() && source->seekable() && need <= source->size() && need <= kAedat4MaxPacketBytes) {
    info = parse_aedat4_header(path, read_prefix(path, need));  // an IOHeader longer than the prefix
  } else {
    info = parse_aedat4_header(path, prefix);
  }
  metadata.format = "aedat4";
  metadata.data_offset = info.data_offset;
  for (const Aedat4Stream& s : info.streams) {
    if (s.type == "EVTS" && metadata.width == 0 && metadata.height == 0) {
      metadata.width = s.width;
      metadata.height = s.height;
    }
  }
  if (options.width != 0) metadata.width = options.width;
  if (options.height != 0) metadata.height = options.height;
  metadata.header.emplace_back("version", "4.0");
  metadata.header.emplace_back("compression", aedat4_compression_name(info.compression));
  metadata.header.emplace_back("dataTablePosition", std::to_string(info.data_table_position));
  for (const Aedat4Stream& s : info.streams) {
    for (const auto& [k, v] : s.attributes) metadata.header.emplace_back("stream." + std::to_string(s.id) + "." + k, v);
  }
  return std::make_unique<Aedat4Reader>(std::move(source), std::move(info), options);
}

FormatDecoder aedat4_decoder() { return {&sniff_aedat4, &open_aedat4}; }

}  // namespace evlib::detail
