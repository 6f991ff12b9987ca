// AEDAT 4.0 building blocks: IOHeader and XML parsing, frame decompression, payload parsers and
// the FileDataTable (docs/formats.md 11).
#include <lz4frame.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "evlib/error.hpp"
#include "formats/inivation/aedat4.hpp"
#include "formats/inivation/flatbuffer.hpp"
#include "io/byte_source.hpp"

namespace evlib::detail {

const char* aedat4_compression_name(Aedat4Compression c) {
  switch (c) {
    case Aedat4Compression::kNone: return "NONE";
    case Aedat4Compression::kLz4: return "LZ4";
    case Aedat4Compression::kLz4High: return "LZ4_HIGH";
    case Aedat4Compression::kZstd: return "ZSTD";
    case Aedat4Compression::kZstdHigh: return "ZSTD_HIGH";
  }
  return "?";
}

const Aedat4Stream* Aedat4FileInfo::stream(std::int32_t id) const {
  for (const Aedat4Stream& s : streams) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// ---- IOHeader and XML ----

std::size_t aedat4_header_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kAedat4MagicBytes + 4) return 0;
  return kAedat4MagicBytes + 4 + std::size_t{fb::u32(bytes.data() + kAedat4MagicBytes)};
}

Aedat4FileInfo parse_aedat4_header(const std::string& path, std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kAedat4MagicBytes || std::memcmp(bytes.data(), kAedat4Magic, kAedat4MagicBytes) != 0) {
    throw FormatError(path, 0, "not an AEDAT 4.0 file (no #!AER-DAT4.0 line)");
  }
  const std::size_t need = aedat4_header_bytes(bytes);
  if (need == 0 || need > bytes.size()) {
    throw FormatError(path, kAedat4MagicBytes, "the AEDAT 4.0 IOHeader is cut short by the end of the file");
  }
  const auto header = bytes.subspan(kAedat4MagicBytes + 4, need - kAedat4MagicBytes - 4);
  fb::Table t;
  if (!fb::Table::root(header, "IOHE", t)) {
    throw FormatError(path, kAedat4MagicBytes + 4, "the AEDAT 4.0 IOHeader is not an IOHE FlatBuffer");
  }
  Aedat4FileInfo info;
  std::int32_t compression = 0;
  std::string_view xml;
  if (!t.scalar<std::int32_t>(0, 0, compression) || !t.scalar<std::int64_t>(1, -1, info.data_table_position) ||
      !t.string(2, xml)) {
    throw FormatError(path, kAedat4MagicBytes + 4, "malformed AEDAT 4.0 IOHeader (a field points outside it)");
  }
  if (compression < 0 || compression > 4) {
    throw FormatError(path, kAedat4MagicBytes + 4, "unknown AEDAT 4.0 compression type " + std::to_string(compression));
  }
  info.compression = static_cast<Aedat4Compression>(compression);
  info.data_offset = need;
  info.streams = parse_aedat4_info_xml(xml);
  return info;
}

namespace {

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out.push_back(c);
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out.push_back(s[i++]);
  }
  return out;
}

// The value of attribute `name` in the inside of a tag (`node name="0" path="..."`).
std::string tag_attribute(std::string_view tag, std::string_view name) {
  for (std::size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    const bool word_start = at > 0 && std::isspace(static_cast<unsigned char>(tag[at - 1]));
    const std::size_t eq = at + name.size();
    if (!word_start || eq + 1 >= tag.size() || tag[eq] != '=' || (tag[eq + 1] != '"' && tag[eq + 1] != '\'')) continue;
    const char quote = tag[eq + 1];
    const std::size_t end = tag.find(quote, eq + 2);
    if (end == std::string_view::npos) return {};
    return xml_unescape(tag.substr(eq + 2, end - eq - 2));
  }
  return {};
}

std::optional<std::int32_t> stream_id(const std::string& name) {
  if (name.empty() || name.size() > 9) return std::nullopt;
  std::int32_t v = 0;
  for (char c : name) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::uint32_t parse_size(const std::string& v) {
  std::uint32_t n = 0;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || n > 0x10000) return 0;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n <= 0x10000 ? n : 0;
}

// Records one <attr> found at the node path `stack` if it belongs to a stream.
void record_attr(const std::vector<std::string>& stack, const std::string& key, const std::string& value,
                 std::map<std::int32_t, Aedat4Stream>& streams) {
  const auto out = std::find(stack.begin(), stack.end(), "outInfo");
  if (out == stack.end()) return;
  const std::size_t k = static_cast<std::size_t>(out - stack.begin());
  if (stack.size() < k + 2) return;
  const auto id = stream_id(stack[k + 1]);
  if (!id) return;
  const bool in_info = stack.size() == k + 3 && stack[k + 2] == "info";
  if (stack.size() != k + 2 && !in_info) return;
  Aedat4Stream& s = streams[*id];
  s.id = *id;
  s.attributes.emplace_back(in_info ? "info/" + key : key, value);
  if (!in_info && key == "typeIdentifier") s.type = value;
  if (in_info && key == "sizeX") s.width = parse_size(value);
  if (in_info && key == "sizeY") s.height = parse_size(value);
}

}  // namespace

std::vector<Aedat4Stream> parse_aedat4_info_xml(std::string_view xml) {
  std::map<std::int32_t, Aedat4Stream> streams;
  std::vector<std::string> stack;  // names of the open <node> elements
  std::size_t pos = 0;
  while (true) {
    const std::size_t lt = xml.find('<', pos);
    if (lt == std::string_view::npos) break;
    if (xml.substr(lt, 4) == "<!--") {
      const std::size_t end = xml.find("-->", lt + 4);
      if (end == std::string_view::npos) break;
      pos = end + 3;
      continue;
    }
    const std::size_t gt = xml.find('>', lt);
    if (gt == std::string_view::npos) break;
    std::string_view tag = xml.substr(lt + 1, gt - lt - 1);
    pos = gt + 1;
    if (tag.empty() || tag.front() == '?' || tag.front() == '!') continue;
    if (tag.front() == '/') {
      if (tag.substr(1, 4) == "node" && !stack.empty()) stack.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    const std::string_view element = tag.substr(0, tag.find_first_of(" \t\r\n/"));
    if (element == "node") {
      if (!self_closing) stack.push_back(tag_attribute(tag, "name"));
    } else if (element == "attr" && !self_closing) {
      const std::size_t end = xml.find("</attr>", pos);
      if (end == std::string_view::npos) break;
      record_attr(stack, tag_attribute(tag, "key"), xml_unescape(xml.substr(pos, end - pos)), streams);
      pos = end + 7;
    }
  }
  std::vector<Aedat4Stream> out;
  for (auto& [id, s] : streams) out.push_back(std::move(s));
  return out;
}

// ---- decompression ----

Aedat4Decompressor::Aedat4Decompressor(Aedat4Compression compression) {
  if (compression == Aedat4Compression::kLz4 || compression == Aedat4Compression::kLz4High) {
    LZ4F_dctx* ctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) throw std::bad_alloc();
    lz4_ = ctx;
  } else if (compression == Aedat4Compression::kZstd || compression == Aedat4Compression::kZstdHigh) {
    zstd_ = ZSTD_createDCtx();
    if (zstd_ == nullptr) throw std::bad_alloc();
  }
}

Aedat4Decompressor::~Aedat4Decompressor() {
  if (lz4_ != nullptr) LZ4F_freeDecompressionContext(lz4_);
  if (zstd_ != nullptr) ZSTD_freeDCtx(zstd_);
}

bool Aedat4Decompressor::reserve(std::size_t bytes) {
  if (bytes > kAedat4MaxPacketBytes) return false;
  if (bytes <= capacity_) return true;
  // Grow geometrically and never shrink: the buffer settles at the largest packet of the file.
  const std::size_t cap = std::min(kAedat4MaxPacketBytes, std::max({bytes, capacity_ * 2, std::size_t{1} << 16}));
  buffer_.reset(new std::uint8_t[cap]);  // uninitialised: decompression overwrites it
  capacity_ = cap;
  return true;
}

const char* Aedat4Decompressor::decompress(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out) {
  if (lz4_ != nullptr) return lz4(in, out);
  if (zstd_ != nullptr) return zstd(in, out);
  out = in;
  return nullptr;
}

const char* Aedat4Decompressor::lz4(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out) {
  // Without a declared content size the output size is unknown: guess, and on overflow start the
  // frame again with twice the room (stableDst below forbids moving the output mid-frame).
  std::size_t guess = 0;
  for (int attempt = 0;; ++attempt) {
    LZ4F_resetDecompressionContext(lz4_);
    LZ4F_frameInfo_t frame{};
    std::size_t src_used = in.size();
    if (LZ4F_isError(LZ4F_getFrameInfo(lz4_, &frame, in.data(), &src_used))) return "malformed LZ4 frame header";
    if (frame.contentSize > kAedat4MaxPacketBytes) return "LZ4 frame larger than the packet size limit";
    if (attempt == 0) guess = frame.contentSize != 0 ? frame.contentSize : std::max(capacity_, in.size() * 4 + 4096);
    if (!reserve(std::max<std::size_t>(guess, 1))) return "LZ4 frame larger than the packet size limit";
    LZ4F_decompressOptions_t options{};
    options.stableDst = 1;  // the whole frame goes to one buffer: no copies through LZ4F's window
    std::size_t produced = 0, consumed = src_used;
    bool overflow = false;
    while (true) {
      std::size_t dst = capacity_ - produced, src = in.size() - consumed;
      const std::size_t hint = LZ4F_decompress(lz4_, buffer_.get() + produced, &dst, in.data() + consumed, &src, &options);
      if (LZ4F_isError(hint)) return "corrupt LZ4 frame";
      produced += dst;
      consumed += src;
      if (hint == 0) break;  // end of frame
      if (produced == capacity_ && frame.contentSize == 0) {
        overflow = true;
        break;
      }
      if (consumed == in.size()) return "LZ4 frame cut short";
      if (dst == 0 && src == 0) return "LZ4 frame makes no progress";
    }
    if (!overflow) {
      if (consumed != in.size()) return "bytes after the LZ4 frame in a packet";
      out = {buffer_.get(), produced};
      return nullptr;
    }
    if (frame.contentSize != 0 || capacity_ >= kAedat4MaxPacketBytes) return "LZ4 frame larger than the packet size limit";
    guess = capacity_ * 2;
  }
}

const char* Aedat4Decompressor::zstd(std::span<const std::uint8_t> in, std::span<const std::uint8_t>& out) {
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return "malformed Zstd frame header";
  if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (size > kAedat4MaxPacketBytes || !reserve(std::max<std::size_t>(size, 1))) {
      return "Zstd frame larger than the packet size limit";
    }
    const std::size_t n = ZSTD_decompressDCtx(zstd_, buffer_.get(), static_cast<std::size_t>(size), in.data(), in.size());
    if (ZSTD_isError(n) || n != size) return "corrupt Zstd frame";
    out = {buffer_.get(), n};
    return nullptr;
  }
  // No content size: stream into a growing buffer (Zstd keeps its own window, so moving is fine).
  ZSTD_DCtx_reset(zstd_, ZSTD_reset_session_only);
  if (!reserve(std::max(capacity_, in.size() * 4 + 4096))) return "Zstd frame larger than the packet size limit";
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t produced = 0;
  while (true) {
    ZSTD_outBuffer dst{buffer_.get() + produced, capacity_ - produced, 0};
    const std::size_t hint = ZSTD_decompressStream(zstd_, &dst, &src);
    if (ZSTD_isError(hint)) return "corrupt Zstd frame";
    produced += dst.pos;
    if (hint == 0) break;
    if (produced == capacity_) {
      if (capacity_ >= kAedat4MaxPacketBytes) return "Zstd frame larger than the packet size limit";
      std::unique_ptr<std::uint8_t[]> old = std::move(buffer_);
      const std::size_t old_capacity = capacity_;
      capacity_ = 0;
      if (!reserve(std::min(kAedat4MaxPacketBytes, old_capacity * 2))) return "Zstd frame larger than the packet size limit";
      std::memcpy(buffer_.get(), old.get(), produced);
    } else if (src.pos == src.size) {
      return "Zstd frame cut short";
    }
  }
  if (src.pos != src.size) return "bytes after the Zstd frame in a packet";
  out = {buffer_.get(), produced};
  return nullptr;
}

std::optional<std::uint64_t> Aedat4Decompressor::decompressed_bound(Aedat4Compression compression,
                                                                    std::span<const std::uint8_t> in) {
  switch (compression) {
    case Aedat4Compression::kNone:
      return in.size();
    case Aedat4Compression::kZstd:
    case Aedat4Compression::kZstdHigh: {
      // Zstd checks a declared content size while decoding, so a frame that decodes obeys it.
      const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
      if (size == ZSTD_CONTENTSIZE_ERROR) return 0;
      if (size == ZSTD_CONTENTSIZE_UNKNOWN) return std::nullopt;
      return std::min<std::uint64_t>(size, kAedat4MaxPacketBytes);
    }
    case Aedat4Compression::kLz4:
    case Aedat4Compression::kLz4High:
      break;
  }
  // LZ4 frame: magic, FLG, BD, [content size], [dictionary id], header checksum, then blocks of
  // a uint32 size (bit 31: stored uncompressed) and data, ended by a zero size.
  if (in.size() < 7 || fb::u32(in.data()) != 0x184D2204u) return 0;
  const std::uint8_t flg = in[4], bd = in[5];
  if ((flg >> 6) != 1) return 0;
  const bool block_checksum = (flg & 0x10) != 0, has_size = (flg & 0x08) != 0, has_dict = (flg & 0x01) != 0;
  const unsigned block_id = (bd >> 4) & 7;
  if (block_id < 4) return 0;
  if (has_size) {
    if (in.size() < 14) return 0;
    std::uint64_t size;
    std::memcpy(&size, in.data() + 6, 8);
    // LZ4F checks a declared size while decoding; a declared 0 means "unknown" to it.
    if (size != 0) return std::min<std::uint64_t>(size, kAedat4MaxPacketBytes);
  }
  const std::uint64_t block_max = std::uint64_t{1} << (8 + 2 * block_id);  // 64 KiB ... 4 MiB
  std::uint64_t pos = 7 + (has_size ? 8 : 0) + (has_dict ? 4 : 0), blocks = 0;
  while (pos + 4 <= in.size()) {
    const std::uint32_t size = fb::u32(in.data() + pos);
    if (size == 0) break;
    ++blocks;
    pos += 4 + (size & 0x7FFFFFFFu) + (block_checksum ? 4 : 0);
  }
  return std::min<std::uint64_t>(blocks * block_max, kAedat4MaxPacketBytes);
}

// ---- payload parsers ----

namespace {

const char* root_of(std::span<const std::uint8_t> payload, const char* ident, fb::Table& table) {
  std::span<const std::uint8_t> buf;
  if (!fb::size_prefixed(payload, buf)) return "packet size prefix larger than the packet";
  if (buf.size() < 8) return "packet FlatBuffer too short";
  if (std::memcmp(buf.data() + 4, ident, 4) != 0) return "packet FlatBuffer identifier does not match its stream type";
  if (!fb::Table::root(buf, ident, table)) return "packet FlatBuffer root table outside the packet";
  return nullptr;
}

}  // namespace

const char* aedat4_events(std::span<const std::uint8_t> payload, const std::uint8_t*& first, std::size_t& count) {
  fb::Table t;
  if (const char* e = root_of(payload, "EVTS", t)) return e;
  std::size_t at = 0;
  if (!t.vector(0, kAedat4EventBytes, at, count)) return "EVTS event vector outside the packet";
  first = t.buffer().data() + at;
  return nullptr;
}

const char* aedat4_triggers(std::span<const std::uint8_t> payload, TriggerBatch& triggers, DecodeStats& stats) {
  fb::Table t;
  if (const char* e = root_of(payload, "TRIG", t)) return e;
  std::size_t first = 0, count = 0;
  if (!t.vector(0, 4, first, count)) return "TRIG element vector outside the packet";
  // Validate every element before appending any, so a damaged packet adds nothing.
  const std::size_t before = triggers.size();
  std::uint64_t other = 0;
  for (std::size_t i = 0; i < count; ++i) {
    fb::Table trig;
    std::int64_t time = 0;
    std::int8_t type = 0;
    if (!t.table_element(first, i, trig) || !trig.scalar<std::int64_t>(0, 0, time) ||
        !trig.scalar<std::int8_t>(1, 0, type)) {
      triggers.t.resize(before);
      triggers.channel.resize(before);
      triggers.value.resize(before);
      return "TRIG element outside the packet";
    }
    // dv::TriggerType: external signal edges -> channel 0, external generator edges -> channel 3
    // (the AEDAT 3 channel numbering); a pulse is recorded as a rising edge.
    switch (type) {
      case 1: triggers.push_back(time, 0, 1); break;
      case 2: triggers.push_back(time, 0, 0); break;
      case 3: triggers.push_back(time, 0, 1); break;
      case 4: triggers.push_back(time, 3, 1); break;
      case 5: triggers.push_back(time, 3, 0); break;
      default: ++other; break;  // timestamp reset, frame and exposure marks
    }
  }
  stats.skipped_records += other;
  return nullptr;
}

const char* aedat4_imu_count(std::span<const std::uint8_t> payload, std::size_t& count) {
  fb::Table t;
  if (const char* e = root_of(payload, "IMUS", t)) return e;
  std::size_t first = 0;
  if (!t.vector(0, 4, first, count)) return "IMUS element vector outside the packet";
  return nullptr;
}

const char* aedat4_file_table(std::span<const std::uint8_t> payload, std::vector<Aedat4PacketEntry>& out) {
  fb::Table t;
  if (const char* e = root_of(payload, "FTAB", t)) return e;
  std::size_t first = 0, count = 0;
  if (!t.vector(0, 4, first, count)) return "FTAB vector outside the table";
  out.clear();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    fb::Table e;
    Aedat4PacketEntry entry;
    std::size_t header = 0;
    if (!t.table_element(first, i, e) || !e.scalar<std::int64_t>(0, 0, entry.byte_offset) || !e.field(1, 8, header) ||
        !e.scalar<std::int64_t>(2, 0, entry.elements) || !e.scalar<std::int64_t>(3, 0, entry.t_first) ||
        !e.scalar<std::int64_t>(4, 0, entry.t_last)) {
      return "FTAB entry outside the table";
    }
    if (header != 0) {
      entry.stream_id = static_cast<std::int32_t>(fb::u32(e.buffer().data() + header));
      entry.size = static_cast<std::int32_t>(fb::u32(e.buffer().data() + header + 4));
    }
    out.push_back(entry);
  }
  return nullptr;
}

// ---- the file data table ----

std::vector<Aedat4PacketEntry> read_aedat4_packet_table(const std::string& path, const Aedat4FileInfo& info) {
  std::vector<Aedat4PacketEntry> table;
  if (info.data_table_position < 0) return table;
  const std::uint64_t size = file_size(path);
  const auto at = static_cast<std::uint64_t>(info.data_table_position);
  if (at < info.data_offset || at >= size) {
    throw FormatError(path, kAedat4MagicBytes + 4, "AEDAT 4.0 dataTablePosition points outside the packet area");
  }
  if (size - at > kAedat4MaxPacketBytes) throw FormatError(path, at, "AEDAT 4.0 file data table larger than the limit");
  // The table runs from its position to the end of the file.
  ByteSource source(path, at);
  std::vector<std::uint8_t> bytes;
  bytes.reserve(static_cast<std::size_t>(size - at));
  for (auto w = source.next(); !w.empty(); w = source.next()) bytes.insert(bytes.end(), w.begin(), w.end());
  Aedat4Decompressor decompressor(info.compression);
  std::span<const std::uint8_t> plain;
  if (const char* e = decompressor.decompress(bytes, plain)) throw FormatError(path, at, std::string("AEDAT 4.0 file data table: ") + e);
  if (const char* e = aedat4_file_table(plain, table)) throw FormatError(path, at, std::string("AEDAT 4.0 file data table: ") + e);
  return table;
}

std::vector<Aedat4PacketEntry> read_aedat4_packet_table(const std::string& path) {
  std::vector<std::uint8_t> prefix = read_prefix(path, std::size_t{1} << 20);
  const std::size_t need = aedat4_header_bytes(prefix);
  if (need > prefix.size() && need <= kAedat4MaxPacketBytes) prefix = read_prefix(path, need);
  return read_aedat4_packet_table(path, parse_aedat4_header(path, prefix));
}

}  // namespace evlib::detail
