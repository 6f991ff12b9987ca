// Scan::time_index(): nothing before a full pass has built the index, then the cached index's
// segments, found by a new Scan of the file (another process would find it the same way).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/summary.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

TEST(ScanTimeIndex, is_absent_until_a_full_pass_caches_it_then_describes_the_file) {
  test::ScopedTempDir dir;
  SceneOptions scene;
  scene.event_rate = 1e6;
  const std::string path = test::write_scene(dir.file("rec.raw"), "evt3", scene, 300'000);
  const std::string cache = dir.file("cache");
  EXPECT_FALSE(Scan(path).index_dir(cache).time_index().has_value());

  test::index_by_a_first_pass(path, cache);
  const auto segments = Scan(path).index_dir(cache).time_index();
  ASSERT_TRUE(segments.has_value());
  ASSERT_GT(segments->size(), 1u);
  const Recording all = read(path);
  Summary summary;
  summary.add(all.events);
  std::uint64_t events = 0;
  std::int64_t t_min = std::numeric_limits<std::int64_t>::max(), t_max = std::numeric_limits<std::int64_t>::min();
  for (const IndexSegment& s : *segments) {
    events += s.events;
    if (s.events != 0) t_min = std::min(t_min, s.t_min), t_max = std::max(t_max, s.t_max);
  }
  EXPECT_EQ(events, summary.events);
  EXPECT_EQ(t_min, summary.t_min);
  EXPECT_EQ(t_max, summary.t_max);
  EXPECT_FALSE(Scan(path).index_dir(cache).index(IndexPolicy::kOff).time_index().has_value());
}

}  // namespace
}  // namespace evlib
