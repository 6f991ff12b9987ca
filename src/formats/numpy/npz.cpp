// NumPy .npz: a zip archive of .npy members (docs/formats.md 13.2). The central directory (found from
// the end-of-central-directory record, zip64 when present) gives each member's sizes, method and
// local header; stored members are read in place through ByteSource windows, deflated members are
// inflated in a streaming fashion (zlib, raw deflate) into a reused buffer. Memory stays bounded:
// at most four streams, each one window plus one inflate buffer.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "evlib/error.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/numpy/npy.hpp"
#include "formats/common/columns.hpp"

namespace evlib::detail {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr std::uint64_t kMaxDirectory = std::uint64_t{64} << 20;
// Windows of the compressed input and size of the inflated output buffer, per member stream.
constexpr std::size_t kMemberWindow = std::size_t{1} << 20;
constexpr std::size_t kInflateBuffer = std::size_t{1} << 20;

struct ZipEntry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint64_t compressed = 0;
  std::uint64_t uncompressed = 0;
  std::uint64_t local_offset = 0;
  std::uint32_t crc = 0;
};

// pread on a file of known size; every read is checked against it.
class FileReader {
 public:
  explicit FileReader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(path, std::strerror(errno));
    size_ = file_size(path);
  }
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  std::uint64_t size() const { return size_; }
  std::vector<std::uint8_t> read(std::uint64_t offset, std::uint64_t n, const char* what) const {
    if (offset > size_ || n > size_ - offset) {
      throw FormatError(path_, offset, std::string(what) + " lies beyond the end of the file (truncated zip?)");
    }
    std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t r = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
      if (r == 0) throw FormatError(path_, offset + done, "file shrank while reading");
      done += static_cast<std::size_t>(r);
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

inline std::uint16_t le16(const std::vector<std::uint8_t>& b, std::size_t at) { return load_le16(b.data() + at); }
inline std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t at) { return load_le32(b.data() + at); }
inline std::uint64_t le64(const std::vector<std::uint8_t>& b, std::size_t at) { return load_le64(b.data() + at); }

// Fills the 0xFFFFFFFF fields of an entry from its zip64 extra field (id 1).
void apply_zip64_extra(ZipEntry& e, const std::uint8_t* extra, std::size_t n, std::uint32_t usize32,
                       std::uint32_t csize32, std::uint32_t offset32) {
  std::size_t i = 0;
  while (i + 4 <= n) {
    const std::uint16_t id = load_le16(extra + i), len = load_le16(extra + i + 2);
    const std::size_t body = i + 4, end = std::min(n, body + len);
    if (id == 1) {
      std::size_t at = body;
      auto take = [&](std::uint64_t& field) {
        if (at + 8 <= end) {
          field = load_le64(extra + at);
          at += 8;
        }
      };
      if (usize32 == 0xFFFFFFFFu) take(e.uncompressed);
      if (csize32 == 0xFFFFFFFFu) take(e.compressed);
      if (offset32 == 0xFFFFFFFFu) take(e.local_offset);
      return;
    }
    i = body + len;
  }
}

std::vector<ZipEntry> read_directory(const FileReader& file, const std::string& path) {
  const std::uint64_t size = file.size();
  if (size < 22) throw FormatError(path, 0, "too small to be a zip archive");
  const std::uint64_t tail_size = std::min<std::uint64_t>(size, 22 + 0xFFFF);
  const auto tail = file.read(size - tail_size, tail_size, "the end of the archive");
  std::optional<std::size_t> eocd;
  for (std::size_t i = tail.size() - 22 + 1; i-- > 0;) {
    if (le32(tail, i) == kEndSig && i + 22 + le16(tail, i + 20) <= tail.size()) {
      eocd = i;
      break;
    }
  }
  if (!eocd) throw FormatError(path, size, "no zip end-of-central-directory record (truncated or not an .npz)");
  const std::uint64_t eocd_offset = size - tail_size + *eocd;
  std::uint64_t entries = le16(tail, *eocd + 10);
  std::uint64_t dir_size = le32(tail, *eocd + 12);
  std::uint64_t dir_offset = le32(tail, *eocd + 16);
  if (*eocd >= 20 && le32(tail, *eocd - 20) == kZip64LocatorSig) {
    const std::uint64_t z64 = le64(tail, *eocd - 20 + 8);
    const auto rec = file.read(z64, 56, "the zip64 end-of-central-directory record");
    if (le32(rec, 0) != kZip64EndSig) throw FormatError(path, z64, "bad zip64 end-of-central-directory record");
    entries = le64(rec, 32);
    dir_size = le64(rec, 40);
    dir_offset = le64(rec, 48);
  }
  if (dir_size > kMaxDirectory || entries > dir_size / 46 + 1) {
    throw FormatError(path, eocd_offset, "implausible zip central directory (" + std::to_string(entries) + " entries, " +
                                             std::to_string(dir_size) + " bytes)");
  }
  const auto dir = file.read(dir_offset, dir_size, "the zip central directory");
  std::vector<ZipEntry> out;
  std::size_t at = 0;
  for (std::uint64_t k = 0; k < entries; ++k) {
    if (at + 46 > dir.size() || le32(dir, at) != kCentralSig) {
      throw FormatError(path, dir_offset + at, "bad zip central directory entry");
    }
    ZipEntry e;
    e.flags = le16(dir, at + 8);
    e.method = le16(dir, at + 10);
    e.crc = le32(dir, at + 16);
    const std::uint32_t csize = le32(dir, at + 20), usize = le32(dir, at + 24), local = le32(dir, at + 42);
    e.compressed = csize;
    e.uncompressed = usize;
    e.local_offset = local;
    const std::size_t name_len = le16(dir, at + 28), extra_len = le16(dir, at + 30), comment_len = le16(dir, at + 32);
    if (at + 46 + name_len + extra_len + comment_len > dir.size()) {
      throw FormatError(path, dir_offset + at, "zip central directory entry runs past the directory");
    }
    e.name.assign(reinterpret_cast<const char*>(dir.data()) + at + 46, name_len);
    apply_zip64_extra(e, dir.data() + at + 46 + name_len, extra_len, usize, csize, local);
    out.push_back(std::move(e));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

// Offset of a member's data, from its local header.
std::uint64_t member_data_offset(const FileReader& file, const std::string& path, const ZipEntry& e) {
  const auto h = file.read(e.local_offset, 30, "a zip local header");
  if (le32(h, 0) != kLocalSig) throw FormatError(path, e.local_offset, "bad zip local header for member " + e.name);
  const std::uint64_t data = e.local_offset + 30 + le16(h, 26) + le16(h, 28);
  if (data > file.size() || e.compressed > file.size() - data) {
    throw FormatError(path, data, "member " + e.name + " runs past the end of the file (truncated zip)");
  }
  return data;
}

// A deflated member, inflated window by window. Raw deflate has no checksum of its own, so the
// member's CRC-32 from the central directory is checked at the end of the stream (stored members
// are not checked: that would cost a pass over data that is otherwise only mapped).
class InflateStream final : public ArrayStream {
 public:
  InflateStream(const std::string& path, const std::string& member, std::uint64_t offset, std::uint64_t compressed,
                std::uint32_t crc)
      : source_(path, offset, kMemberWindow), path_(path), member_(member), start_(offset), left_(compressed),
        position_(offset), expected_crc_(crc), out_(kInflateBuffer) {
    source_.seek(offset);
    if (inflateInit2(&z_, -MAX_WBITS) != Z_OK) throw Error("zlib: inflateInit2 failed");
  }
  ~InflateStream() override { inflateEnd(&z_); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  std::span<const std::uint8_t> next() override {
    if (error_) {  // found while inflating the previous window, after data that was still good
      const FormatError e = *error_;
      error_.reset();
      throw e;
    }
    if (done_) return {};
    z_.next_out = out_.data();
    z_.avail_out = static_cast<uInt>(out_.size());
    while (z_.avail_out != 0 && !done_) {
      if (z_.avail_in == 0) {
        auto w = left_ != 0 ? source_.next() : std::span<const std::uint8_t>{};
        if (w.size() > left_) w = w.first(static_cast<std::size_t>(left_));
        if (w.empty()) {
          done_ = true;  // compressed data ends early: the record cursor reports the shortfall
          break;
        }
        left_ -= w.size();
        position_ = source_.window_offset() + w.size();
        z_.next_in = const_cast<Bytef*>(w.data());
        z_.avail_in = static_cast<uInt>(w.size());
      }
      const int r = inflate(&z_, Z_NO_FLUSH);
      if (r == Z_STREAM_END) {
        done_ = true;
        ended_ = true;
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        done_ = true;
        FormatError e(path_, position_, "deflate data of member " + member_ + " is corrupt" +
                                            (z_.msg != nullptr ? std::string(" (") + z_.msg + ")" : std::string()));
        if (z_.avail_out == out_.size()) throw e;
        error_ = e;  // hand out what was inflated before the damage first
      }
    }
    const std::size_t produced = out_.size() - z_.avail_out;
    crc_ = static_cast<std::uint32_t>(crc32(crc_, out_.data(), static_cast<uInt>(produced)));
    if (ended_ && crc_ != expected_crc_) {
      // The last bytes are suspect too: they are not handed out.
      throw FormatError(path_, start_, "member " + member_ + " fails its CRC-32 check (corrupt deflate data)");
    }
    return {out_.data(), produced};
  }
  // Inflates what the records did not need (normally nothing), so that the CRC gets checked.
  void finish() override {
    while (!done_) next();
  }
  std::uint64_t file_position() const override { return position_; }
  // Positions inside the inflated data have no file offset: report the member's start.
  std::uint64_t error_offset(std::uint64_t) const override { return start_; }

 private:
  ByteSource source_;
  std::string path_, member_;
  std::uint64_t start_, left_, position_;
  std::uint32_t expected_crc_;
  std::uint32_t crc_ = 0;
  std::vector<std::uint8_t> out_;
  z_stream z_{};
  bool done_ = false;
  bool ended_ = false;  // Z_STREAM_END seen
  std::optional<FormatError> error_;
};

struct Member {
  const ZipEntry* entry = nullptr;
  std::unique_ptr<ArrayStream> stream;
  std::span<const std::uint8_t> rest;
  NpyHeader header;
  std::uint64_t data = 0;  // file offset of the member's bytes
};

Member open_member(const FileReader& file, const std::string& path, const ZipEntry& e) {
  if (e.flags & 1) throw FormatError(path, e.local_offset, "member " + e.name + " is encrypted");
  if (e.method != 0 && e.method != 8) {
    throw FormatError(path, e.local_offset, "member " + e.name + " uses zip compression method " + std::to_string(e.method) +
                                                 " (only stored and deflate are supported)");
  }
  Member m;
  m.entry = &e;
  m.data = member_data_offset(file, path, e);
  if (e.method == 0) {
    m.stream = region_stream(std::make_unique<ByteSource>(path, 0, kMemberWindow), m.data, e.compressed);
  } else {
    m.stream = std::make_unique<InflateStream>(path, e.name, m.data, e.compressed, e.crc);
  }
  m.header = read_stream_header(*m.stream, path, m.data, m.rest);
  return m;
}

// Records a member's bytes can hold at most: stored members exactly, deflated ones within
// deflate's maximal ratio (1032:1). The directory's uncompressed size is not a bound: the
// inflated stream is not cut there, and a damaged directory may state anything.
std::uint64_t member_capacity(const Member& m, std::uint64_t record) {
  const ZipEntry& e = *m.entry;
  const std::uint64_t bytes = e.method == 0 ? e.compressed : e.compressed * 1032 + 1024;
  return bytes > m.header.header_bytes && record != 0 ? (bytes - m.header.header_bytes) / record : 0;
}

std::string base_name(const std::string& name) {
  std::string n = name;
  if (n.size() >= 4 && n.compare(n.size() - 4, 4, ".npy") == 0) n.resize(n.size() - 4);
  return n;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Separate 1-D members t, x, y, p (by the field names of npy.hpp), or nullopt.
std::optional<std::array<const ZipEntry*, 4>> separate_members(const std::vector<ZipEntry>& entries) {
  std::array<const ZipEntry*, 4> found{};
  for (const ZipEntry& e : entries) {
    const TextRole role = column_role(base_name(e.name));
    if (role == TextRole::skip) continue;
    const auto r = static_cast<std::size_t>(role) - 1;
    if (found[r] == nullptr) found[r] = &e;
  }
  if (std::all_of(found.begin(), found.end(), [](const ZipEntry* e) { return e != nullptr; })) return found;
  return std::nullopt;
}

int sniff_npz(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  if (prefix.size() < 4 || prefix[0] != 'P' || prefix[1] != 'K') return 0;
  if (prefix[2] == 5 && prefix[3] == 6) return 10;  // an empty archive
  if (prefix[2] != 3 || prefix[3] != 4) return 0;
  if (prefix.size() >= 30) {
    const std::size_t n = load_le16(prefix.data() + 26);
    if (30 + n <= prefix.size() && n >= 4 &&
        std::string_view(reinterpret_cast<const char*>(prefix.data()) + 30 + n - 4, 4) == ".npy") {
      return 90;
    }
  }
  const std::string p = lower(path);
  return p.size() >= 4 && p.compare(p.size() - 4, 4, ".npz") == 0 ? 60 : 20;
}

}  // namespace

std::unique_ptr<FormatReader> open_npz(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>&,
                                       const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  if (!source->seekable()) {
    throw FormatError(path, FormatError::kNoOffset, "an .npz needs a seekable file (zip keeps its directory at the end), not a pipe");
  }
  source.reset();
  const FileReader file(path);
  const std::vector<ZipEntry> entries = read_directory(file, path);
  std::string listing;
  for (const ZipEntry& e : entries) listing += (listing.empty() ? "" : ", ") + e.name;

  std::vector<ArrayPart> parts;
  EventColumns cols;
  std::uint64_t count = 0;
  std::string layout;
  if (const auto sep = separate_members(entries)) {
    // One 1-D member per column.
    std::array<ColumnRef*, 4> refs = {&cols.t, &cols.x, &cols.y, &cols.p};
    std::string description;
    for (std::size_t r = 0; r < 4; ++r) {
      Member m = open_member(file, path, *(*sep)[r]);
      const NpyHeader& h = m.header;
      if (h.structured || h.shape.size() != 1) {
        throw FormatError(path, m.data, "member " + m.entry->name + " has shape " + h.shape_text + " and dtype " + h.descr +
                                            "; separate event members must be 1-D arrays of numbers");
      }
      if (r == 0) count = h.shape[0];
      if (h.shape[0] != count) {
        throw FormatError(path, m.data, "member " + m.entry->name + " has " + std::to_string(h.shape[0]) + " elements but " +
                                            (*sep)[0]->name + " has " + std::to_string(count));
      }
      *refs[r] = ColumnRef{r, 0, h.element};
      const std::uint64_t capacity = member_capacity(m, h.element.size);
      parts.push_back({std::move(m.stream), m.rest, h.header_bytes, h.element.size});
      parts.back().max_records = capacity;
    }
    // Types and the time unit, with the same rules as a structured array.
    NpyHeader synthetic;
    synthetic.structured = true;
    synthetic.shape = {count};
    static const char* const kNames[4] = {"t", "x", "y", "p"};
    for (std::size_t r = 0; r < 4; ++r) synthetic.fields.push_back({kNames[r], refs[r]->type, 0, true});
    synthetic.itemsize = 1;
    const EventColumns typed = event_columns(synthetic, options, path, (*sep)[0]->local_offset);
    cols.time_exponent = typed.time_exponent;
    cols.description = typed.description;
    layout = "separate members " + (*sep)[0]->name + ", " + (*sep)[1]->name + ", " + (*sep)[2]->name + ", " + (*sep)[3]->name;
  } else {
    // A structured (or 2-D) member: "events", then "data", then the first that has the fields.
    std::vector<const ZipEntry*> order;
    for (const char* preferred : {"events", "data"}) {
      for (const ZipEntry& e : entries) {
        if (lower(base_name(e.name)) == preferred) order.push_back(&e);
      }
    }
    for (const ZipEntry& e : entries) {
      if (std::find(order.begin(), order.end(), &e) == order.end()) order.push_back(&e);
    }
    std::string why;
    for (const ZipEntry* e : order) {
      const std::string name = lower(base_name(e->name));
      const bool preferred = name == "events" || name == "data";
      Member m;
      try {
        m = open_member(file, path, *e);
        if (!m.header.structured && !preferred) continue;  // a plain member is only taken by name
        cols = event_columns(m.header, options, path, m.data);
      } catch (const FormatError& err) {
        if (preferred) throw;  // the member meant to hold the events is unusable: say why
        if (why.empty()) why = "; " + err.detail();
        continue;
      }
      if (cols.column_major) {
        throw FormatError(path, m.data, "member " + e->name + " is a Fortran-ordered 2-D array; save it in C order");
      }
      count = m.header.records(path);
      const std::uint64_t record = m.header.itemsize * (m.header.structured ? 1 : m.header.shape[1]);
      const std::uint64_t capacity = member_capacity(m, record);
      parts.push_back({std::move(m.stream), m.rest, m.header.header_bytes, record});
      parts.back().max_records = capacity;
      layout = "member " + e->name;
      break;
    }
    if (parts.empty()) {
      throw FormatError(path, FormatError::kNoOffset,
                        "no events in this .npz: expected an 'events' structured array or separate t, x, y, p arrays "
                        "(members: " + (listing.empty() ? std::string("none") : listing) + ")" + why);
    }
  }
  metadata.format = "npz";
  metadata.width = options.width;
  metadata.height = options.height;
  metadata.data_offset = 0;
  metadata.header.emplace_back("members", listing);
  metadata.header.emplace_back("layout", layout);
  metadata.header.emplace_back("columns", cols.description);
  return make_array_reader(path, std::move(parts), cols, count, options, options.width, options.height);
}

FormatDecoder npz_decoder() { return {&sniff_npz, &open_npz}; }

}  // namespace evlib::detail
