// The sparse time index on its own: the binary search of a sealed index answers exactly what a
// scan of the entries answers, whatever the order of timestamps, and its file survives a round
// trip but not a flipped byte.
#include "io/time_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_support.hpp"

namespace evlib::detail {
namespace {

// Entries with overlapping, out-of-order and empty segments, as damaged or unsorted files give.
TimeIndex shuffled_index(std::mt19937_64& rng, std::size_t n) {
  TimeIndex index;
  std::int64_t t = 0;
  for (std::size_t k = 0; k < n; ++k) {
    IndexEntry e;
    e.offset = 100 * k;
    e.state = "s" + std::to_string(k);
    if (rng() % 7 != 0) {  // one in seven is empty (no event: t_min > t_max)
      t += static_cast<std::int64_t>(rng() % 50);
      const std::int64_t jitter = static_cast<std::int64_t>(rng() % 200) - 60;  // sometimes back in time
      e.t_min = t + jitter;
      e.t_max = e.t_min + static_cast<std::int64_t>(rng() % 80);
      e.events = 1 + rng() % 1000;
    }
    index.entries.push_back(e);
  }
  index.end_offset = 100 * n;
  return index;
}

TEST(TimeIndex, sealed_binary_search_equals_a_scan_of_the_entries) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {0u, 1u, 2u, 5u, 64u, 1000u}) {
    const TimeIndex scanned = shuffled_index(rng, n);
    TimeIndex sealed = scanned;
    sealed.seal();
    for (int q = 0; q < 500; ++q) {
      const std::int64_t t0 = static_cast<std::int64_t>(rng() % (60 * n + 300)) - 150;
      const std::int64_t t1 = t0 + static_cast<std::int64_t>(rng() % 400);
      EXPECT_EQ(sealed.segments_for(t0, t1), scanned.segments_for(t0, t1)) << "n " << n << " window " << t0 << ".." << t1;
    }
  }
}

TEST(TimeIndex, file_round_trips_and_a_flipped_byte_or_another_key_is_refused) {
  test::ScopedTempDir dir;
  std::mt19937_64 rng(3);
  const TimeIndex index = shuffled_index(rng, 300);
  IndexKey key;
  key.format = "evt3";
  key.file_size = 12345;
  const std::string file = dir.file("x.evlib-index");
  ASSERT_TRUE(index.save(file, key));
  const auto loaded = TimeIndex::load(file, key);
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->entries.size(), index.entries.size());
  for (std::size_t k = 0; k < index.entries.size(); ++k) {
    EXPECT_EQ(loaded->entries[k].offset, index.entries[k].offset);
    EXPECT_EQ(loaded->entries[k].t_min, index.entries[k].t_min);
    EXPECT_EQ(loaded->entries[k].t_max, index.entries[k].t_max);
    EXPECT_EQ(loaded->entries[k].state, index.entries[k].state);
  }
  EXPECT_EQ(loaded->segments_for(500, 900), index.segments_for(500, 900));
  IndexKey other = key;
  other.file_size += 1;
  EXPECT_FALSE(TimeIndex::load(file, other).has_value());
  auto bytes = test::read_file(file);
  for (std::size_t at : {std::size_t{9}, bytes.size() / 2, bytes.size() - 9}) {
    auto flipped = bytes;
    flipped[at] ^= 0x10;
    test::write_file(file, flipped);
    EXPECT_FALSE(TimeIndex::load(file, key).has_value()) << "byte " << at;
  }
}

// The values of version-3 index files (written by earlier builds, which must still load), worked
// out with the checksum64 of df4c80a: bytes i * 7 + 3.
TEST(TimeIndex, checksum_keeps_the_values_that_saved_indexes_hold) {
  std::vector<std::uint8_t> bytes(100);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 3);
  EXPECT_EQ(checksum64(bytes.data(), 0), 0x7eb8c5803770bb96ull);
  EXPECT_EQ(checksum64(bytes.data(), 31), 0x72b5c67084518addull);
  EXPECT_EQ(checksum64(bytes.data(), 32), 0xb599740dd444a066ull);
  EXPECT_EQ(checksum64(bytes.data(), 100), 0xe7397c1a7f45f4e8ull);
}

TEST(TimeIndex, checksum_given_in_pieces_equals_the_checksum_of_the_whole) {
  std::mt19937_64 rng(11);
  std::vector<std::uint8_t> bytes(5000);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  for (std::size_t size : {0u, 1u, 31u, 32u, 33u, 100u, 5000u}) {
    for (int trial = 0; trial < 20; ++trial) {
      Checksum64 sum;
      for (std::size_t at = 0; at < size;) {
        const std::size_t n = std::min<std::size_t>(size - at, rng() % 70);
        sum.update(bytes.data() + at, n);
        at += n;
      }
      EXPECT_EQ(sum.finish(), checksum64(bytes.data(), size)) << size << " bytes";
    }
  }
}

// An index holds an entry every 64 Ki events for the whole recording: its memory is its
// fields and snapshots and little more (a vector of IndexEntry took a heap string per snapshot
// and, growing by doubling, up to twice itself), and entries keep their values.
TEST(TimeIndex, entries_cost_their_fields_and_snapshot_bytes) {
  constexpr std::size_t kEntries = 15'259;  // 1 G events
  constexpr std::size_t kSnapshot = 104;    // an EVT 3.0 decoder state
  TimeIndex index;
  for (std::size_t k = 0; k < kEntries; ++k) {
    IndexEntry e;
    e.offset = 3 * k;
    e.t_min = -static_cast<std::int64_t>(k);
    e.t_max = static_cast<std::int64_t>(k);
    e.events = k + 1;
    e.state = std::string(kSnapshot, static_cast<char>(k));
    index.entries.push_back(e);
  }
  ASSERT_EQ(index.entries.size(), kEntries);
  const std::size_t payload = kEntries * (4 * sizeof(std::uint64_t) + kSnapshot);
  EXPECT_LT(index.entries.capacity_bytes(), payload * 115 / 100 + (std::size_t{128} << 10));
  std::size_t k = 0;
  for (const IndexEntryView e : index.entries) {
    ASSERT_EQ(e.offset, 3 * k);
    ASSERT_EQ(e.t_min, -static_cast<std::int64_t>(k));
    ASSERT_EQ(e.events, k + 1);
    ASSERT_EQ(e.state, std::string(kSnapshot, static_cast<char>(k)));
    ++k;
  }
  EXPECT_EQ(index.entries[kEntries - 1].t_max, static_cast<std::int64_t>(kEntries - 1));
  const TimeIndex copy = index;
  EXPECT_EQ(copy.entries.back().state, index.entries.back().state);
}

// The file is written in pieces as it is made (never whole in memory): its bytes are still the
// version-3 layout, so indexes cached by earlier builds load and these load in earlier builds.
TEST(TimeIndex, file_written_in_pieces_keeps_the_version_3_layout) {
  test::ScopedTempDir dir;
  TimeIndex index;
  for (std::size_t k = 0; k < 3000; ++k) {  // 3000 x 140 bytes: several 64 KiB pieces
    IndexEntry e;
    e.offset = 1000 * k;
    e.t_min = static_cast<std::int64_t>(10 * k);
    e.t_max = e.t_min + 9;
    e.events = 65536;
    e.state = std::string(104, static_cast<char>('a' + k % 26));
    index.entries.push_back(e);
  }
  index.end_offset = 3'000'000;
  IndexKey key;
  key.format = "evt3";
  key.file_size = 3'000'000;
  key.mtime_ns = 1;
  key.ctime_ns = 2;
  key.device = 3;
  key.inode = 4;
  key.content_hash = 5;
  key.options_hash = 6;
  std::string expected("EVLIBIDX", 8);
  const auto put = [&](auto v) { expected.append(reinterpret_cast<const char*>(&v), sizeof v); };
  const auto put_string = [&](std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    expected += s;
  };
  put(std::uint32_t{3});
  put_string(key.format);
  for (auto v : {key.file_size, std::uint64_t(key.mtime_ns), std::uint64_t(key.ctime_ns), key.device, key.inode,
                 key.content_hash, key.options_hash, index.end_offset, std::uint64_t{index.entries.size()}}) {
    put(v);
  }
  for (const IndexEntryView e : index.entries) {
    put(e.offset);
    put(e.t_min);
    put(e.t_max);
    put(e.events);
    put_string(e.state);
  }
  put(checksum64(expected.data(), expected.size()));
  const std::string file = dir.file("x.evlib-index");
  ASSERT_TRUE(index.save(file, key));
  const auto bytes = test::read_file(file);
  ASSERT_EQ(bytes.size(), expected.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), reinterpret_cast<const std::uint8_t*>(expected.data())));
  const auto loaded = TimeIndex::load(file, key);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->entries.size(), index.entries.size());
  EXPECT_EQ(loaded->entries.back().state, index.entries.back().state);
}

}  // namespace
}  // namespace evlib::detail
