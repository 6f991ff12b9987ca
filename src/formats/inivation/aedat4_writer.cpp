// AEDAT 4.0 writer (docs/formats.md 15.7): magic, IOHeader, then EVTS packets of kPacketEvents events
// (stream 0) and TRIG packets (stream 1), each one compressed frame, and a FileDataTable whose
// position is patched into the IOHeader at the end. Memory: one packet plus one table entry
// (48 bytes) per packet written.
//
// The FlatBuffers are laid out by hand with fixed vtables. Scalars are aligned to their size
// relative to the start of the size-prefixed buffer, as the FlatBuffers verifier expects.
#include <lz4frame.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "formats/inivation/aedat4.hpp"
#include "formats/common/encoder.hpp"

namespace evlib::detail {

namespace {

constexpr std::size_t kPacketEvents = 8192;   // "a few thousand events" per packet, 128 KiB raw
constexpr std::size_t kPacketTriggers = 1024;
constexpr std::int32_t kEventStream = 0;
constexpr std::int32_t kTriggerStream = 1;
// File offset of IOHeader.dataTablePosition: magic, size prefix, then the int64 at byte 28 of
// the IOHeader FlatBuffer (see io_header()).
constexpr std::uint64_t kDataTablePositionOffset = kAedat4MagicBytes + 4 + 28;

// Little-endian stores into a byte buffer.
class Bytes {
 public:
  explicit Bytes(std::vector<std::uint8_t>& out) : out_(out) {}
  template <class T>
  void put(std::size_t at, T value) {
    if (out_.size() < at + sizeof(T)) out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &value, sizeof(T));
  }
  void put_bytes(std::size_t at, const void* data, std::size_t n) {
    if (out_.size() < at + n) out_.resize(at + n);
    std::memcpy(out_.data() + at, data, n);
  }

 private:
  std::vector<std::uint8_t>& out_;
};

std::size_t align8(std::size_t v) { return (v + 7) & ~std::size_t{7}; }

Aedat4Compression compression_from(const std::string& requested) {
  std::string c;
  for (char ch : requested) c.push_back(ch == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  if (c.empty() || c == "lz4") return Aedat4Compression::kLz4;  // DV's default
  if (c == "lz4_high" || c == "lz4hc") return Aedat4Compression::kLz4High;
  if (c == "zstd") return Aedat4Compression::kZstd;
  if (c == "zstd_high") return Aedat4Compression::kZstdHigh;
  if (c == "none") return Aedat4Compression::kNone;
  throw InvalidArgument("AEDAT 4.0 compression must be none, lz4, lz4_high, zstd or zstd_high, not '" + requested + "'");
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string attr(const std::string& indent, const std::string& key, const char* type, const std::string& value) {
  return indent + "<attr key=\"" + xml_escape(key) + "\" type=\"" + type + "\">" + xml_escape(value) + "</attr>\n";
}

// The DV stream description: stream 0 events with the sensor size, stream 1 triggers.
std::string info_xml(const WriteOptions& options, Aedat4Compression compression) {
  const std::string comp = aedat4_compression_name(compression);
  auto stream = [&](int id, const char* output, const char* type, const char* description, bool sized) {
    const std::string path = "/mainloop/Recorder/outInfo/" + std::to_string(id) + "/";
    std::string s = "        <node name=\"" + std::to_string(id) + "\" path=\"" + path + "\">\n";
    const std::string in = "            ";
    s += attr(in, "compression", "string", comp);
    s += attr(in, "originalModuleName", "string", "evlib");
    s += attr(in, "originalOutputName", "string", output);
    s += attr(in, "typeDescription", "string", description);
    s += attr(in, "typeIdentifier", "string", type);
    s += in + "<node name=\"info\" path=\"" + path + "info/\">\n";
    const std::string in2 = in + "    ";
    if (sized) {
      s += attr(in2, "sizeX", "int", std::to_string(options.width));
      s += attr(in2, "sizeY", "int", std::to_string(options.height));
    }
    s += attr(in2, "source", "string", "evlib");
    s += attr(in2, "tsOffset", "long", "0");
    if (sized) {
      for (const auto& [k, v] : options.header)
        if (!writer_owns_key(k, {"sizeX", "sizeY", "source", "tsOffset"})) s += attr(in2, k, "string", v);
    }
    s += in + "</node>\n        </node>\n";
    return s;
  };
  return "<dv version=\"2.0\">\n    <node name=\"outInfo\" path=\"/mainloop/Recorder/outInfo/\">\n" +
         stream(kEventStream, "events", "EVTS", "Array of events (polarity ON/OFF).", true) +
         stream(kTriggerStream, "triggers", "TRIG", "External triggers and special signals.", false) +
         "    </node>\n</dv>\n";
}

// Size-prefixed IOHeader: table at 20 {soffset, compression int32 @+4, dataTablePosition int64
// @+8, infoNode offset @+16} after an identifier and a 10-byte vtable.
std::vector<std::uint8_t> io_header(Aedat4Compression compression, const std::string& xml) {
  std::vector<std::uint8_t> buf;
  Bytes b(buf);
  constexpr std::size_t P = 4;  // FlatBuffer positions are relative to just after the size prefix
  b.put<std::uint32_t>(P + 0, 20);
  b.put_bytes(P + 4, "IOHE", 4);
  const std::uint16_t vtable[5] = {10, 20, 4, 8, 16};
  for (int i = 0; i < 5; ++i) b.put<std::uint16_t>(P + 8 + 2 * i, vtable[i]);
  b.put<std::uint16_t>(P + 18, 0);
  b.put<std::int32_t>(P + 20, 12);  // soffset: vtable at 20 - 12 = 8
  b.put<std::int32_t>(P + 24, static_cast<std::int32_t>(compression));
  b.put<std::int64_t>(P + 28, -1);  // dataTablePosition, patched by end()
  b.put<std::uint32_t>(P + 36, 4);  // infoNode string at 40
  b.put<std::uint32_t>(P + 40, static_cast<std::uint32_t>(xml.size()));
  b.put_bytes(P + 44, xml.data(), xml.size());
  buf.resize((P + 44 + xml.size() + 1 + 3) & ~std::size_t{3}, 0);  // NUL terminator, 4-byte padding
  b.put<std::uint32_t>(0, static_cast<std::uint32_t>(buf.size() - 4));
  return buf;
}

class Aedat4Encoder final : public EventEncoder {
 public:
  explicit Aedat4Encoder(const WriteOptions& options) : options_(options), compression_(compression_from(options.compression)) {
    if (options.width > 0x8000 || options.height > 0x8000) {
      throw InvalidArgument("AEDAT 4.0 stores coordinates as int16: width and height must be at most 32768");
    }
    if (compression_ == Aedat4Compression::kLz4 || compression_ == Aedat4Compression::kLz4High) {
      if (LZ4F_isError(LZ4F_createCompressionContext(&lz4_, LZ4F_VERSION))) throw std::bad_alloc();
    } else if (compression_ != Aedat4Compression::kNone) {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) throw std::bad_alloc();
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, compression_ == Aedat4Compression::kZstdHigh ? 12 : 3);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_contentSizeFlag, 1);
    }
    events_.resize(32 + kPacketEvents * kAedat4EventBytes);
  }
  ~Aedat4Encoder() override {
    if (lz4_ != nullptr) LZ4F_freeCompressionContext(lz4_);
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  }

  void begin(AtomicFile& out) override {
    out.require_seekable("AEDAT 4");
    write(out, kAedat4Magic, kAedat4MagicBytes);
    const auto header = io_header(compression_, info_xml(options_, compression_));
    write(out, header.data(), header.size());
    start_event_packet();
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    check_triggers(triggers);
    std::size_t next_trigger = 0;
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (x[i] >= options_.width || y[i] >= options_.height) {
        throw InvalidArgument("event " + std::to_string(i) + " lies outside the " + std::to_string(options_.width) + "x" +
                              std::to_string(options_.height) + " sensor");
      }
      if (have_event_time_ && t[i] < last_event_t_) {
        throw InvalidArgument("event " + std::to_string(i) + " goes back in time; AEDAT 4.0 packets are in time order");
      }
      have_event_time_ = true;
      last_event_t_ = t[i];
      for (; next_trigger < triggers.size() && triggers.t[next_trigger] <= t[i]; ++next_trigger) add_trigger(triggers, next_trigger, out);
      append_event(t[i], x[i], y[i], p[i]);
      if (packet_events_ == kPacketEvents) {
        // Triggers go out with the events of their time, so that the packet table locates
        // both (a reader seeking by time finds them near each other).
        flush_triggers(out);
        flush_events(out);
      }
    }
    for (; next_trigger < triggers.size(); ++next_trigger) add_trigger(triggers, next_trigger, out);
  }

  void end(AtomicFile& out) override {
    flush_events(out);
    flush_triggers(out);
    const std::uint64_t table_at = offset_;
    const auto table = file_table();
    const auto payload = compress(table);
    write(out, payload.data(), payload.size());
    const auto position = static_cast<std::int64_t>(table_at);
    out.write_at(kDataTablePositionOffset, &position, sizeof position);
  }

 private:
  void add_trigger(const TriggerBatch& triggers, std::size_t i, AtomicFile& out) {
    triggers_.push_back({triggers.t[i], trigger_type(triggers.channel[i], triggers.value[i])});
    if (triggers_.size() == kPacketTriggers) flush_triggers(out);
  }

  void write(AtomicFile& out, const void* data, std::size_t size) {
    out.write(data, size);
    offset_ += size;
  }

  void check_triggers(const TriggerBatch& triggers) {
    for (std::size_t i = 0; i < triggers.size(); ++i) {
      if (have_trigger_time_ && triggers.t[i] < last_trigger_t_) {
        throw InvalidArgument("trigger " + std::to_string(i) + " goes back in time; AEDAT 4.0 packets are in time order");
      }
      have_trigger_time_ = true;
      last_trigger_t_ = triggers.t[i];
      (void)trigger_type(triggers.channel[i], triggers.value[i]);
    }
  }

  // dv::TriggerType for a trigger edge: channel 0 is the external signal, channel 3 the external
  // generator (the numbering the AEDAT readers use).
  static std::int8_t trigger_type(std::uint8_t channel, std::uint8_t value) {
    if (channel == 0) return value ? 1 : 2;
    if (channel == 3) return value ? 4 : 5;
    throw InvalidArgument("AEDAT 4.0 triggers have channel 0 (external signal) or 3 (external generator), not " +
                          std::to_string(channel));
  }

  // EVTS buffer: [0] size prefix, [4] root = 16, [8] "EVTS", [12] vtable {6, 8, 4}, [20] table
  // {soffset 8, vector offset 4}, [28] element count, [32] 16-byte Event structs.
  void start_event_packet() {
    std::memset(events_.data(), 0, 32);
    Bytes b(events_);
    b.put<std::uint32_t>(4, 16);
    b.put_bytes(8, "EVTS", 4);
    b.put<std::uint16_t>(12, 6);
    b.put<std::uint16_t>(14, 8);
    b.put<std::uint16_t>(16, 4);
    b.put<std::int32_t>(20, 8);
    b.put<std::uint32_t>(24, 4);
    packet_events_ = 0;
  }

  void append_event(std::int64_t t, std::uint16_t x, std::uint16_t y, std::uint8_t p) {
    if (packet_events_ == 0) packet_t_first_ = t;
    packet_t_last_ = t;
    std::uint8_t* e = events_.data() + 32 + kAedat4EventBytes * packet_events_;
    std::memcpy(e, &t, 8);
    std::memcpy(e + 8, &x, 2);
    std::memcpy(e + 10, &y, 2);
    const std::uint32_t flag = p != 0;  // bool polarity and three bytes of zero padding
    std::memcpy(e + 12, &flag, 4);
    ++packet_events_;
  }

  void flush_events(AtomicFile& out) {
    if (packet_events_ == 0) return;
    const std::size_t bytes = 32 + kAedat4EventBytes * packet_events_;
    Bytes b(events_);
    b.put<std::uint32_t>(28, static_cast<std::uint32_t>(packet_events_));
    b.put<std::uint32_t>(0, static_cast<std::uint32_t>(bytes - 4));
    write_packet(out, kEventStream, std::span<const std::uint8_t>(events_.data(), bytes), packet_events_, packet_t_first_,
                 packet_t_last_);
    start_event_packet();
  }

  // TRIG buffer: root table {vector of tables}; every Trigger table {int64 timestamp @+4,
  // int8 type @+12} shares one vtable.
  void flush_triggers(AtomicFile& out) {
    if (triggers_.empty()) return;
    const std::size_t n = triggers_.size();
    std::vector<std::uint8_t> buf;
    Bytes b(buf);
    constexpr std::size_t P = 4;
    b.put<std::uint32_t>(P + 0, 24);
    b.put_bytes(P + 4, "TRIG", 4);
    const std::uint16_t packet_vt[3] = {6, 8, 4}, trigger_vt[4] = {8, 16, 4, 12};
    for (int i = 0; i < 3; ++i) b.put<std::uint16_t>(P + 8 + 2 * i, packet_vt[i]);
    for (int i = 0; i < 4; ++i) b.put<std::uint16_t>(P + 16 + 2 * i, trigger_vt[i]);
    b.put<std::int32_t>(P + 24, 16);  // vtable at 8
    b.put<std::uint32_t>(P + 28, 4);  // vector at 32
    b.put<std::uint32_t>(P + 32, static_cast<std::uint32_t>(n));
    const std::size_t first = align8(36 + 4 * n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t table = first + 16 * i, slot = 36 + 4 * i;
      b.put<std::uint32_t>(P + slot, static_cast<std::uint32_t>(table - slot));
      b.put<std::int32_t>(P + table, static_cast<std::int32_t>(table - 16));
      b.put<std::int64_t>(P + table + 4, triggers_[i].first);
      b.put<std::int8_t>(P + table + 12, triggers_[i].second);
      b.put<std::uint8_t>(P + table + 13, 0);
      b.put<std::uint16_t>(P + table + 14, 0);
    }
    b.put<std::uint32_t>(0, static_cast<std::uint32_t>(buf.size() - 4));
    write_packet(out, kTriggerStream, buf, n, triggers_.front().first, triggers_.back().first);
    triggers_.clear();
  }

  void write_packet(AtomicFile& out, std::int32_t stream, std::span<const std::uint8_t> flatbuffer,
                    std::size_t elements, std::int64_t t_first, std::int64_t t_last) {
    const auto payload = compress(flatbuffer);
    if (payload.size() > kAedat4MaxPacketBytes) throw InvalidArgument("AEDAT 4.0 packet too large");
    const std::int32_t header[2] = {stream, static_cast<std::int32_t>(payload.size())};
    write(out, header, sizeof header);
    table_.push_back({static_cast<std::int64_t>(offset_), stream, header[1], static_cast<std::int64_t>(elements), t_first,
                      t_last});
    write(out, payload.data(), payload.size());
  }

  // FTAB buffer: root table {vector of FileDataDefinition tables}; each entry {ByteOffset int64
  // @+4, PacketHeader struct @+12, NumElements @+20, TimestampStart @+28, TimestampEnd @+36}.
  std::vector<std::uint8_t> file_table() const {
    const std::size_t n = table_.size();
    std::vector<std::uint8_t> buf;
    Bytes b(buf);
    constexpr std::size_t P = 4;
    b.put<std::uint32_t>(P + 0, 32);
    b.put_bytes(P + 4, "FTAB", 4);
    const std::uint16_t root_vt[3] = {6, 8, 4}, entry_vt[7] = {14, 44, 4, 12, 20, 28, 36};
    for (int i = 0; i < 3; ++i) b.put<std::uint16_t>(P + 8 + 2 * i, root_vt[i]);
    for (int i = 0; i < 7; ++i) b.put<std::uint16_t>(P + 16 + 2 * i, entry_vt[i]);
    b.put<std::int32_t>(P + 32, 24);  // vtable at 8
    b.put<std::uint32_t>(P + 36, 4);  // vector at 40
    b.put<std::uint32_t>(P + 40, static_cast<std::uint32_t>(n));
    const std::size_t first = align8(44 + 4 * n);
    buf.resize(P + first + 48 * n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const Aedat4PacketEntry& e = table_[i];
      const std::size_t table = first + 48 * i, slot = 44 + 4 * i;
      b.put<std::uint32_t>(P + slot, static_cast<std::uint32_t>(table - slot));
      b.put<std::int32_t>(P + table, static_cast<std::int32_t>(table - 16));
      b.put<std::int64_t>(P + table + 4, e.byte_offset);
      b.put<std::int32_t>(P + table + 12, e.stream_id);
      b.put<std::int32_t>(P + table + 16, e.size);
      b.put<std::int64_t>(P + table + 20, e.elements);
      b.put<std::int64_t>(P + table + 28, e.t_first);
      b.put<std::int64_t>(P + table + 36, e.t_last);
    }
    b.put<std::uint32_t>(0, static_cast<std::uint32_t>(buf.size() - 4));
    return buf;
  }

  // One complete frame per payload (docs/formats.md 11.1), with its content size declared so readers
  // can size their output buffer exactly.
  std::span<const std::uint8_t> compress(std::span<const std::uint8_t> in) {
    if (compression_ == Aedat4Compression::kNone) return in;
    if (lz4_ != nullptr) {
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.contentSize = in.size();
      prefs.compressionLevel = compression_ == Aedat4Compression::kLz4High ? 9 : 0;
      compressed_.resize(LZ4F_compressBound(in.size(), &prefs) + LZ4F_HEADER_SIZE_MAX);
      std::size_t used = LZ4F_compressBegin(lz4_, compressed_.data(), compressed_.size(), &prefs);
      if (LZ4F_isError(used)) throw Error("LZ4 compression failed");
      std::size_t n = LZ4F_compressUpdate(lz4_, compressed_.data() + used, compressed_.size() - used, in.data(), in.size(), nullptr);
      if (LZ4F_isError(n)) throw Error("LZ4 compression failed");
      used += n;
      n = LZ4F_compressEnd(lz4_, compressed_.data() + used, compressed_.size() - used, nullptr);
      if (LZ4F_isError(n)) throw Error("LZ4 compression failed");
      compressed_.resize(used + n);
      return compressed_;
    }
    compressed_.resize(ZSTD_compressBound(in.size()));
    const std::size_t n = ZSTD_compress2(zstd_, compressed_.data(), compressed_.size(), in.data(), in.size());
    if (ZSTD_isError(n)) throw Error(std::string("Zstd compression failed: ") + ZSTD_getErrorName(n));
    compressed_.resize(n);
    return compressed_;
  }

  WriteOptions options_;
  Aedat4Compression compression_;
  LZ4F_cctx* lz4_ = nullptr;
  ZSTD_CCtx* zstd_ = nullptr;
  std::uint64_t offset_ = 0;  // file offset of the next byte written
  std::vector<std::uint8_t> events_;
  std::size_t packet_events_ = 0;
  std::int64_t packet_t_first_ = 0;
  std::int64_t packet_t_last_ = 0;
  std::vector<std::pair<std::int64_t, std::int8_t>> triggers_;
  std::vector<Aedat4PacketEntry> table_;
  std::vector<std::uint8_t> compressed_;
  bool have_event_time_ = false;
  std::int64_t last_event_t_ = 0;
  bool have_trigger_time_ = false;
  std::int64_t last_trigger_t_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_aedat4_encoder(const WriteOptions& options) {
  return std::make_unique<Aedat4Encoder>(options);
}

}  // namespace evlib::detail
