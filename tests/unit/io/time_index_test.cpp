// The sparse time index on its own: the binary search of a sealed index answers exactly what a
// scan of the entries answers, whatever the order of timestamps, and its file survives a round
// trip but not a flipped byte.
#include "io/time_index.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

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

}  // namespace
}  // namespace evlib::detail
