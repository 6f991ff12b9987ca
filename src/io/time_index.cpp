#include "io/time_index.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string_view>

#include "evlib/error.hpp"
#include "io/atomic_file.hpp"
#include "io/byte_source.hpp"

namespace evlib::detail {

namespace {
constexpr char kMagic[8] = {'E', 'V', 'L', 'I', 'B', 'I', 'D', 'X'};
constexpr std::uint32_t kVersion = 3;  // 2: checksum64 instead of FNV-1a; 3: identity, ctime, content samples
// An index file is a few bytes a segment: anything larger is not ours (and must not exhaust memory).
constexpr std::uint64_t kMaxIndexFileBytes = std::uint64_t{1} << 30;

class Out {
 public:
  template <class T>
  void put(const T& v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes += s;
  }
  std::string bytes;
};

class In {
 public:
  explicit In(std::string_view b) : bytes_(b) {}
  template <class T>
  bool get(T& v) {
    if (bytes_.size() - pos_ < sizeof v) return false;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || bytes_.size() - pos_ < n) return false;
    s.assign(bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

void put_key(Out& out, const IndexKey& key) {
  out.put_string(key.format);
  out.put(key.file_size);
  out.put(key.mtime_ns);
  out.put(key.ctime_ns);
  out.put(key.device);
  out.put(key.inode);
  out.put(key.content_hash);
  out.put(key.options_hash);
}

bool get_key(In& in, IndexKey& key) {
  return in.get_string(key.format) && in.get(key.file_size) && in.get(key.mtime_ns) && in.get(key.ctime_ns) &&
         in.get(key.device) && in.get(key.inode) && in.get(key.content_hash) && in.get(key.options_hash);
}

// The whole of a cache file, or nullopt when it is anything but a readable regular file of a
// plausible size. Opened without blocking, so that a FIFO put at the cache path cannot hang the
// reader, and checked on the open descriptor, so that a directory or device is never read.
std::optional<std::string> read_cache_file(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) <= kMaxIndexFileBytes) {
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == data.size()) bytes = std::move(data);
  }
  ::close(fd);
  return bytes;
}

// A hash of the first and last 64 KiB of a file and of 4 KiB at 32 evenly spaced places.
std::uint64_t content_hash(const std::string& path, std::uint64_t size) {
  constexpr std::size_t kEnds = std::size_t{64} << 10, kSample = std::size_t{4} << 10, kSamples = 32;
  ByteSource source(path, 0);
  std::vector<std::uint8_t> buffer(kEnds);
  std::uint64_t hash = 0xcbf29ce484222325ull;
  const auto mix = [&](std::uint64_t offset, std::size_t bytes) {
    const std::size_t got = source.read_at(buffer.data(), std::min<std::uint64_t>(bytes, size - std::min(size, offset)), offset);
    hash = fnv1a(&offset, sizeof offset, hash);
    hash ^= checksum64(buffer.data(), got);
  };
  mix(0, kEnds);
  if (size > kEnds) mix(size - std::min<std::uint64_t>(size, kEnds), kEnds);
  for (std::size_t k = 1; k <= kSamples && size > 2 * kEnds; ++k) mix(size / (kSamples + 1) * k, kSample);
  return hash;
}

bool directory_writable(const std::string& dir) { return ::access(dir.c_str(), W_OK | X_OK) == 0; }

}  // namespace

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

namespace {
constexpr std::uint64_t kChecksumPrime = 0x9E3779B97F4A7C15ull;
}  // namespace

void Checksum64::update(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_ += size;
  const auto block = [this](const unsigned char* b) {
    for (int k = 0; k < 4; ++k) {
      std::uint64_t w;
      std::memcpy(&w, b + 8 * k, 8);
      lane_[k] = std::rotl((lane_[k] ^ w) * kChecksumPrime, 29);
    }
  };
  if (tail_size_ != 0) {
    const std::size_t take = std::min(size, sizeof tail_ - tail_size_);
    std::memcpy(tail_ + tail_size_, p, take);
    tail_size_ += take;
    p += take;
    size -= take;
    if (tail_size_ < sizeof tail_) return;
    block(tail_);
    tail_size_ = 0;
  }
  for (; size >= 32; p += 32, size -= 32) block(p);
  std::memcpy(tail_, p, size);
  tail_size_ = size;
}

std::uint64_t Checksum64::finish() const {
  std::uint64_t h = fnv1a(tail_, tail_size_, size_);
  for (const std::uint64_t l : lane_) h = std::rotl((h ^ l) * kChecksumPrime, 31);
  return h ^ (h >> 32);
}

std::uint64_t checksum64(const void* data, std::size_t size) {
  Checksum64 sum;
  sum.update(data, size);
  return sum.finish();
}

void IndexEntries::push_back(const IndexEntry& e) {
  const std::size_t n = e.state.size();
  if (states_.empty() || states_.back().capacity() - states_.back().size() < n) {
    states_.emplace_back().reserve(std::max(kStateBlockBytes, n));
  }
  std::string& block = states_.back();
  const auto at = static_cast<std::uint32_t>(block.size());
  block.append(e.state);  // within its reserved capacity: never moves
  if (records_.empty() || records_.back().size() == kBlockRecords) records_.emplace_back().reserve(kBlockRecords);
  records_.back().push_back({e.offset, e.t_min, e.t_max, e.events, static_cast<std::uint32_t>(states_.size() - 1), at,
                             static_cast<std::uint32_t>(n)});
  ++size_;
}

IndexEntryView IndexEntries::operator[](std::size_t k) const {
  const Record& r = records_[k / kBlockRecords][k % kBlockRecords];
  return {r.offset, r.t_min, r.t_max, r.events, std::string_view(states_[r.state_block]).substr(r.state_at, r.state_size)};
}

std::size_t IndexEntries::capacity_bytes() const noexcept {
  std::size_t bytes = records_.capacity() * sizeof(std::vector<Record>) + states_.capacity() * sizeof(std::string);
  for (const auto& block : records_) bytes += block.capacity() * sizeof(Record);
  for (const auto& block : states_) bytes += block.capacity();
  return bytes;
}

void TimeIndex::seal() {
  const std::size_t n = entries.size();
  max_so_far_.resize(n);
  min_from_here_.resize(n);
  std::int64_t running = std::numeric_limits<std::int64_t>::min();
  for (std::size_t k = 0; k < n; ++k) max_so_far_[k] = running = std::max(running, entries[k].t_max);
  running = std::numeric_limits<std::int64_t>::max();
  for (std::size_t k = n; k-- > 0;) min_from_here_[k] = running = std::min(running, entries[k].t_min);
}

std::pair<std::size_t, std::size_t> TimeIndex::segments_for(std::int64_t t0, std::int64_t t1) const {
  const std::size_t n = entries.size();
  std::size_t first = 0, last = n;
  if (max_so_far_.size() == n && min_from_here_.size() == n) {
    // The first segment holding anything at or after t0; the end of the last holding anything
    // before t1 (every segment after it starts at t1 or later).
    first = static_cast<std::size_t>(std::partition_point(max_so_far_.begin(), max_so_far_.end(),
                                                          [t0](std::int64_t t) { return t < t0; }) - max_so_far_.begin());
    last = static_cast<std::size_t>(std::partition_point(min_from_here_.begin(), min_from_here_.end(),
                                                         [t1](std::int64_t t) { return t < t1; }) - min_from_here_.begin());
  } else {
    while (first < n && entries[first].t_max < t0) ++first;
    while (last > first && entries[last - 1].t_min >= t1) --last;
  }
  return {first, std::max(first, last)};
}

std::uint64_t TimeIndex::total_events() const {
  std::uint64_t n = 0;
  for (const auto& e : entries) n += e.events;
  return n;
}

bool TimeIndex::save(const std::string& file, const IndexKey& key) const {
  // Written in pieces of about kPiece bytes as the checksum runs over them: the index is never
  // held twice (a whole-file copy was as large as the index, and grew with the recording).
  constexpr std::size_t kPiece = std::size_t{64} << 10;
  try {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
    AtomicFile f(file, /*overwrite=*/true, AtomicFile::NonRegular::kRefuse);  // never a FIFO: it could block
    Checksum64 sum;
    Out out;
    out.bytes.reserve(kPiece + 512);
    const auto emit = [&] {
      sum.update(out.bytes.data(), out.bytes.size());
      f.write(out.bytes.data(), out.bytes.size());
      out.bytes.clear();
    };
    out.bytes.append(kMagic, sizeof kMagic);
    out.put(kVersion);
    put_key(out, key);
    out.put(end_offset);
    out.put(static_cast<std::uint64_t>(entries.size()));
    for (const auto& e : entries) {
      out.put(e.offset);
      out.put(e.t_min);
      out.put(e.t_max);
      out.put(e.events);
      out.put_string(e.state);
      if (out.bytes.size() >= kPiece) emit();
    }
    emit();
    const std::uint64_t checksum = sum.finish();
    f.write(&checksum, sizeof checksum);
    f.commit();
    return true;
  } catch (const std::exception&) {
    return false;  // a read-only or full place must not break reading
  }
}

std::optional<TimeIndex> TimeIndex::load(const std::string& file, const IndexKey& key) {
  const std::optional<std::string> read = read_cache_file(file);
  if (!read || read->size() < sizeof kMagic + 8) return std::nullopt;
  const std::string& bytes = *read;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  std::uint64_t stored_sum = 0;
  std::memcpy(&stored_sum, bytes.data() + bytes.size() - 8, 8);
  if (checksum64(bytes.data(), bytes.size() - 8) != stored_sum) return std::nullopt;  // corrupt
  const std::string_view body(bytes.data() + sizeof kMagic, bytes.size() - sizeof kMagic - 8);
  In in(body);
  std::uint32_t version = 0;
  IndexKey stored;
  TimeIndex index;
  std::uint64_t count = 0;
  if (!in.get(version) || version != kVersion || !get_key(in, stored) || !(stored == key)) return std::nullopt;
  if (!in.get(index.end_offset) || !in.get(count) || count > body.size()) return std::nullopt;
  IndexEntry e;
  for (std::uint64_t k = 0; k < count; ++k) {
    if (!in.get(e.offset) || !in.get(e.t_min) || !in.get(e.t_max) || !in.get(e.events) || !in.get_string(e.state)) {
      return std::nullopt;
    }
    index.entries.push_back(e);
  }
  if (in.pos() != body.size()) return std::nullopt;
  index.seal();
  return index;
}

IndexKey index_key_for(const std::string& path, const std::string& format, std::uint64_t options_hash) {
  IndexKey key;
  key.format = format;
  key.options_hash = options_hash;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(path, "cannot stat");
  key.file_size = static_cast<std::uint64_t>(st.st_size);
  key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  key.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  key.device = static_cast<std::uint64_t>(st.st_dev);
  key.inode = static_cast<std::uint64_t>(st.st_ino);
  key.content_hash = content_hash(path, key.file_size);
  return key;
}

std::vector<std::string> index_locations(const std::string& path, const std::string& cache_dir) {
  std::vector<std::string> out;
  char resolved[PATH_MAX];
  const std::string absolute = ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
  const std::string name = std::to_string(fnv1a(absolute.data(), absolute.size())) + ".evlib-index";
  if (!cache_dir.empty()) {
    out.push_back(cache_dir + "/" + name);
    return out;
  }
  // The user's cache directory first (nothing appears beside their recordings), then beside
  // the file when there is no usable cache directory.
  std::string cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    cache = std::string(xdg) + "/evlib";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    cache = std::string(home) + "/.cache/evlib";
  }
  if (!cache.empty()) out.push_back(cache + "/" + name);
  const auto slash = absolute.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : absolute.substr(0, std::max<std::size_t>(slash, 1));
  if (directory_writable(dir)) out.push_back(absolute + ".evlib-index");
  return out;
}

}  // namespace evlib::detail
