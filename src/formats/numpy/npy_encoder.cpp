// NumPy writers (docs/formats.md 15.8).
//
// .npy: a v1.0 header padded with spaces so that the data starts at a multiple of 64, then packed
// records of the structured dtype [('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]
// (13 bytes, exactly the EventBatch columns). The event count is unknown while streaming: the
// header is written with room for a 20-digit count and patched on close.
//
// .npz: an uncompressed zip with members t.npy (<i8), x.npy (<u2), y.npy (<u2), p.npy (|u1), the
// layout np.savez(path, t=..., x=..., y=..., p=...) produces. Zip members are contiguous, so while
// streaming t goes straight into the archive (its local header and .npy header are patched on
// close) and x, y, p go to unlinked spool files next to the output, appended on close. CRC-32s are
// computed on the fly and combined with the CRC of the final .npy header (crc32_combine). Sizes
// or offsets past 4 GiB switch to zip64 records; t's local header always carries the zip64 sizes
// (its size is unknown when it is written), which the zip format allows for any size.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"
#include "formats/numpy/npy.hpp"

namespace evlib::detail {

namespace {

constexpr std::uint64_t kZip32Max = 0xFFFFFFFFu;
constexpr std::size_t kCountWidth = 20;  // digits of the largest uint64

// A v1.0 .npy header for `descr` and `count` records, padded to `total` bytes (0: the smallest
// multiple of 64 that fits any count).
std::string npy_header(const std::string& descr, std::uint64_t count, std::size_t total = 0) {
  const std::string head = "{'descr': " + descr + ", 'fortran_order': False, 'shape': (";
  const std::string tail = ",), }";
  if (total == 0) total = (10 + head.size() + kCountWidth + tail.size() + 1 + 63) / 64 * 64;
  std::string dict = head + std::to_string(count) + tail;
  dict.resize(total - 10 - 1, ' ');
  dict += '\n';
  const std::size_t hl = dict.size();
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(hl & 0xFF);
  out += static_cast<char>(hl >> 8);
  return out + dict;
}

void put16(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>(v >> 8);
}
void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t crc_update(std::uint32_t crc, const void* data, std::size_t n) {
  const auto* b = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt step = static_cast<uInt>(std::min<std::size_t>(n, std::size_t{1} << 30));
    crc = static_cast<std::uint32_t>(crc32(crc, b, step));
    b += step;
    n -= step;
  }
  return crc;
}

class NpyEncoder final : public EventEncoder {
 public:
  explicit NpyEncoder(const WriteOptions&) : records_(std::size_t{1} << 20) {}

  void begin(AtomicFile& out) override {
    out.require_seekable(".npy");
    header_ = npy_header(kDescr, 0);
    out.write(header_.data(), header_.size());
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    if (!triggers.empty()) throw InvalidArgument("a .npy event array holds CD events only; external triggers cannot be written");
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    const std::size_t per_block = records_.size() / 13;
    for (std::size_t i = 0; i < events.size();) {
      const std::size_t n = std::min(per_block, events.size() - i);
      unsigned char* q = records_.data();
      for (std::size_t k = 0; k < n; ++k, q += 13) {
        std::memcpy(q, &t[i + k], 8);
        std::memcpy(q + 8, &x[i + k], 2);
        std::memcpy(q + 10, &y[i + k], 2);
        q[12] = p[i + k];
      }
      out.write(records_.data(), n * 13);
      i += n;
    }
    count_ += events.size();
  }

  void end(AtomicFile& out) override {
    const std::string final_header = npy_header(kDescr, count_, header_.size());
    out.write_at(0, final_header.data(), final_header.size());
  }

 private:
  static constexpr const char* kDescr = "[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]";
  std::vector<unsigned char> records_;
  std::string header_;
  std::uint64_t count_ = 0;
};

// A column written to an unnamed scratch file beside the output, copied into the archive at the
// end: an interrupted write leaves nothing behind.
class Spool {
 public:
  explicit Spool(const AtomicFile& out) : fd_(out.open_scratch()), buffer_(std::size_t{1} << 20) {}
  ~Spool() {
    if (fd_ >= 0) ::close(fd_);
  }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  void write(const void* data, std::size_t n, const std::string& path) {
    crc_ = crc_update(crc_, data, n);
    size_ += n;
    const auto* b = static_cast<const unsigned char*>(data);
    while (n > 0) {
      if (used_ == buffer_.size()) flush(path);
      const std::size_t take = std::min(n, buffer_.size() - used_);
      std::memcpy(buffer_.data() + used_, b, take);
      used_ += take;
      b += take;
      n -= take;
    }
  }

  void copy_to(AtomicFile& out) {
    flush(out.path());
    std::uint64_t at = 0;
    while (at < size_) {
      const ssize_t r = ::pread(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(at));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw IoError(out.path(), std::string("cannot read back a spool file: ") + (r < 0 ? std::strerror(errno) : "short file"));
      out.write(buffer_.data(), static_cast<std::size_t>(r));
      at += static_cast<std::uint64_t>(r);
    }
  }

  std::uint32_t crc() const { return crc_; }
  std::uint64_t size() const { return size_; }

 private:
  void flush(const std::string& path) {
    std::size_t done = 0;
    while (done < used_) {
      const ssize_t r = ::write(fd_, buffer_.data() + done, used_ - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IoError(path, std::string("spool write failed: ") + std::strerror(errno));
      done += static_cast<std::size_t>(r);
    }
    used_ = 0;
  }

  int fd_ = -1;
  std::vector<unsigned char> buffer_;
  std::size_t used_ = 0;
  std::uint32_t crc_ = 0;
  std::uint64_t size_ = 0;
};

struct ZipMember {
  std::string name;
  std::uint64_t local_offset = 0;
  std::uint64_t size = 0;  // stored: compressed == uncompressed
  std::uint32_t crc = 0;
};

class NpzEncoder final : public EventEncoder {
 public:
  NpzEncoder(const WriteOptions&, bool force_zip64) : force_zip64_(force_zip64) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&now, &tm);
    dos_time_ = static_cast<std::uint16_t>(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    dos_date_ = static_cast<std::uint16_t>(std::max(tm.tm_year - 80, 0) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
  }

  void begin(AtomicFile& out) override {
    out.require_seekable(".npz");
    spools_.clear();
    for (int k = 0; k < 3; ++k) spools_.push_back(std::make_unique<Spool>(out));
    // t.npy first: local header with zip64 sizes to patch, then its .npy header to patch.
    t_.name = "t.npy";
    t_.local_offset = 0;
    const std::string local = local_header(t_, /*zip64=*/true);
    out.write(local.data(), local.size());
    t_header_offset_ = local.size();
    t_header_ = npy_header("'<i8'", 0);
    out.write(t_header_.data(), t_header_.size());
    position_ = local.size() + t_header_.size();
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    if (!triggers.empty()) throw InvalidArgument("an .npz event archive holds CD events only; external triggers cannot be written");
    const std::size_t n = events.size();
    out.write(events.t().data(), n * 8);
    t_crc_ = crc_update(t_crc_, events.t().data(), n * 8);
    position_ += n * 8;
    spools_[0]->write(events.x().data(), n * 2, out.path());
    spools_[1]->write(events.y().data(), n * 2, out.path());
    spools_[2]->write(events.p().data(), n, out.path());
    count_ += n;
  }

  void end(AtomicFile& out) override {
    // Finish t.npy in place.
    const std::string t_npy = npy_header("'<i8'", count_, t_header_.size());
    out.write_at(t_header_offset_, t_npy.data(), t_npy.size());
    t_.size = t_npy.size() + count_ * 8;
    t_.crc = static_cast<std::uint32_t>(
        crc32_combine(crc_update(0, t_npy.data(), t_npy.size()), t_crc_, static_cast<z_off_t>(count_ * 8)));
    const std::string t_local = local_header(t_, true);
    out.write_at(0, t_local.data(), t_local.size());
    std::vector<ZipMember> members = {t_};
    // x, y, p from their spools.
    static const char* const kNames[3] = {"x.npy", "y.npy", "p.npy"};
    static const char* const kDescr[3] = {"'<u2'", "'<u2'", "'|u1'"};
    for (int k = 0; k < 3; ++k) {
      Spool& spool = *spools_[static_cast<std::size_t>(k)];
      const std::string npy = npy_header(kDescr[k], count_);
      ZipMember m;
      m.name = kNames[k];
      m.local_offset = position_;
      m.size = npy.size() + spool.size();
      m.crc = static_cast<std::uint32_t>(
          crc32_combine(crc_update(0, npy.data(), npy.size()), spool.crc(), static_cast<z_off_t>(spool.size())));
      const std::string local = local_header(m, needs_zip64(m.size));
      out.write(local.data(), local.size());
      out.write(npy.data(), npy.size());
      spool.copy_to(out);
      position_ += local.size() + m.size;
      members.push_back(m);
    }
    spools_.clear();
    write_directory(out, members);
  }

 private:
  bool needs_zip64(std::uint64_t v) const { return force_zip64_ || v >= kZip32Max; }

  std::string local_header(const ZipMember& m, bool zip64) const {
    std::string h;
    put32(h, 0x04034b50);
    put16(h, zip64 ? 45 : 20);  // version needed: 4.5 for zip64
    put16(h, 0);                // flags
    put16(h, 0);                // stored
    put16(h, dos_time_);
    put16(h, dos_date_);
    put32(h, m.crc);
    put32(h, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.size));
    put32(h, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.size));
    put16(h, static_cast<std::uint16_t>(m.name.size()));
    put16(h, zip64 ? 20 : 0);
    h += m.name;
    if (zip64) {
      put16(h, 1);
      put16(h, 16);
      put64(h, m.size);
      put64(h, m.size);
    }
    return h;
  }

  void write_directory(AtomicFile& out, const std::vector<ZipMember>& members) {
    const std::uint64_t dir_offset = position_;
    std::string dir;
    bool any_zip64 = force_zip64_;
    for (const ZipMember& m : members) {
      const bool big = needs_zip64(m.size), far = needs_zip64(m.local_offset);
      any_zip64 |= big || far;
      std::string extra;
      if (big || far) {
        put16(extra, 1);
        put16(extra, static_cast<std::uint16_t>((big ? 16 : 0) + (far ? 8 : 0)));
        if (big) {
          put64(extra, m.size);
          put64(extra, m.size);
        }
        if (far) put64(extra, m.local_offset);
      }
      put32(dir, 0x02014b50);
      put16(dir, 3 << 8 | 45);  // made by: Unix, 4.5
      put16(dir, big || far ? 45 : 20);
      put16(dir, 0);
      put16(dir, 0);
      put16(dir, dos_time_);
      put16(dir, dos_date_);
      put32(dir, m.crc);
      put32(dir, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.size));
      put32(dir, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.size));
      put16(dir, static_cast<std::uint16_t>(m.name.size()));
      put16(dir, static_cast<std::uint16_t>(extra.size()));
      put16(dir, 0);                  // comment
      put16(dir, 0);                  // disk
      put16(dir, 0);                  // internal attributes
      put32(dir, 0100644u << 16);     // external: a regular file, rw-r--r--
      put32(dir, far ? 0xFFFFFFFFu : static_cast<std::uint32_t>(m.local_offset));
      dir += m.name;
      dir += extra;
    }
    const std::uint64_t dir_end = dir_offset + dir.size();
    const bool zip64_end = any_zip64 || needs_zip64(dir_offset) || needs_zip64(dir_end);
    if (zip64_end) {
      put32(dir, 0x06064b50);
      put64(dir, 44);
      put16(dir, 3 << 8 | 45);
      put16(dir, 45);
      put32(dir, 0);
      put32(dir, 0);
      put64(dir, members.size());
      put64(dir, members.size());
      put64(dir, dir_end - dir_offset);
      put64(dir, dir_offset);
      put32(dir, 0x07064b50);
      put32(dir, 0);
      put64(dir, dir_end);
      put32(dir, 1);
    }
    put32(dir, 0x06054b50);
    put16(dir, 0);
    put16(dir, 0);
    put16(dir, static_cast<std::uint16_t>(members.size()));
    put16(dir, static_cast<std::uint16_t>(members.size()));
    put32(dir, zip64_end ? 0xFFFFFFFFu : static_cast<std::uint32_t>(dir_end - dir_offset));
    put32(dir, zip64_end ? 0xFFFFFFFFu : static_cast<std::uint32_t>(dir_offset));
    put16(dir, 0);
    out.write(dir.data(), dir.size());
    position_ += dir.size();
  }

  bool force_zip64_;
  std::uint16_t dos_time_ = 0, dos_date_ = 0;
  std::vector<std::unique_ptr<Spool>> spools_;
  ZipMember t_;
  std::uint64_t t_header_offset_ = 0;
  std::string t_header_;
  std::uint32_t t_crc_ = 0;
  std::uint64_t position_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_npy_encoder(const WriteOptions& options) { return std::make_unique<NpyEncoder>(options); }

std::unique_ptr<EventEncoder> make_npz_encoder(const WriteOptions& options) {
  return std::make_unique<NpzEncoder>(options, false);
}

std::unique_ptr<EventEncoder> make_npz_encoder(const WriteOptions& options, bool force_zip64) {
  return std::make_unique<NpzEncoder>(options, force_zip64);
}

}  // namespace evlib::detail
