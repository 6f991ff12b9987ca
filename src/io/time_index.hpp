#pragma once
// A sparse time index of a recording: decoder snapshots at chunk boundaries with the time range
// and event count of each chunk. It makes a time window exact and cheap: decoding starts at the
// first segment that holds an event at or after t0 and stops once no later segment holds one
// before t1, whatever the order of timestamps in the file.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace evlib::detail {

struct IndexEntry {
  std::uint64_t offset = 0;  // file offset where the segment's decoding starts
  std::int64_t t_min = std::numeric_limits<std::int64_t>::max();  // over events and triggers
  std::int64_t t_max = std::numeric_limits<std::int64_t>::min();
  std::uint64_t events = 0;  // unfiltered events the segment yields
  std::string state;         // the decoder's snapshot at `offset`
};

// An entry of a TimeIndex as its storage gives it: the snapshot's bytes stay in the index.
struct IndexEntryView {
  std::uint64_t offset = 0;
  std::int64_t t_min = 0;
  std::int64_t t_max = 0;
  std::uint64_t events = 0;
  std::string_view state;
};

// The entries of a TimeIndex, compact and never moved: the fixed fields in blocks of
// kBlockRecords records, the snapshots side by side in blocks of kStateBlockBytes bytes. An
// index grows with the recording (one entry every 64 Ki events), so it costs what it holds: a
// vector of IndexEntry held each snapshot in a heap string of its own and, growing by doubling,
// a copy of itself while it grew.
class IndexEntries {
 public:
  static constexpr std::size_t kBlockRecords = 1024;
  static constexpr std::size_t kStateBlockBytes = std::size_t{64} << 10;

  void push_back(const IndexEntry& e);
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  IndexEntryView operator[](std::size_t k) const;
  IndexEntryView back() const { return (*this)[size_ - 1]; }
  // The bytes its blocks reserve.
  std::size_t capacity_bytes() const noexcept;

  class iterator {
   public:
    using value_type = IndexEntryView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const IndexEntries* of, std::size_t k) : of_(of), k_(k) {}
    IndexEntryView operator*() const { return (*of_)[k_]; }
    iterator& operator++() {
      ++k_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++k_;
      return before;
    }
    bool operator==(const iterator& other) const noexcept { return k_ == other.k_; }

   private:
    const IndexEntries* of_ = nullptr;
    std::size_t k_ = 0;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size_}; }

 private:
  struct Record {
    std::uint64_t offset;
    std::int64_t t_min;
    std::int64_t t_max;
    std::uint64_t events;
    std::uint32_t state_block;
    std::uint32_t state_at;
    std::uint32_t state_size;
  };
  std::vector<std::vector<Record>> records_;  // each reserved to kBlockRecords
  std::vector<std::string> states_;           // each reserved to kStateBlockBytes (or one larger snapshot)
  std::size_t size_ = 0;
};

// What an index was built from; any difference makes it stale. The file's identity and change
// time catch what size and mtime miss: an in-place change with the size and mtime put back
// (`touch -r`, `cp -p`, `rsync -t --inplace`, a restore from backup) still sets the change time,
// which no user can set back, or gives a new inode. The content samples catch a change on a
// file system whose change times are coarse or missing.
struct IndexKey {
  std::string format;
  std::uint64_t file_size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t content_hash = 0;  // the first and last 64 KiB and 4 KiB at 32 places between
  std::uint64_t options_hash = 0;  // read options that change decoded values
  bool operator==(const IndexKey&) const = default;
};

class TimeIndex {
 public:
  IndexEntries entries;
  std::uint64_t end_offset = 0;  // where the last segment ends (the file size)

  // Segments [first, last) to decode for the window [t0, t1): O(log n) once sealed, else a scan.
  std::pair<std::size_t, std::size_t> segments_for(std::int64_t t0, std::int64_t t1) const;
  // Call when the entries are complete (load() does): prepares the binary search.
  void seal();
  std::uint64_t segment_end(std::size_t k) const { return k + 1 < entries.size() ? entries[k + 1].offset : end_offset; }
  std::uint64_t total_events() const;

  // Binary file with a checksum; returns false when it cannot be written (read-only places).
  bool save(const std::string& file, const IndexKey& key) const;
  // nullopt when the file is missing, corrupt or built from something else (stale).
  static std::optional<TimeIndex> load(const std::string& file, const IndexKey& key);

 private:
  // Running maximum of t_max from the front and minimum of t_min from the back: both monotone
  // whatever the order of timestamps in the file, so the scan's answer is a binary search.
  std::vector<std::int64_t> max_so_far_;
  std::vector<std::int64_t> min_from_here_;
};

// The key of a recording as it is now (size, mtime, header bytes) plus the options hash.
IndexKey index_key_for(const std::string& path, const std::string& format, std::uint64_t options_hash);
// Where an index for path is cached: the given directory, else the user's cache directory, then
// beside the file.
std::vector<std::string> index_locations(const std::string& path, const std::string& cache_dir);
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t seed = 0xcbf29ce484222325ull);
// A checksum of large buffers, 8 bytes a step on four independent lanes (FNV-1a is one byte a step).
std::uint64_t checksum64(const void* data, std::size_t size);
// checksum64 of bytes given in pieces: the same value as checksum64 over all of them at once.
class Checksum64 {
 public:
  void update(const void* data, std::size_t size);
  std::uint64_t finish() const;

 private:
  std::uint64_t lane_[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  unsigned char tail_[32] = {};
  std::size_t tail_size_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace evlib::detail
