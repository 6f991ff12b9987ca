// evlib::scan: pushed-down predicates equal decode-then-filter, windows tile the stream, the
// time index seeks exactly and survives staleness and corruption, threads and budgets. ScanFiles
// runs on synthetic stand-ins of the real recordings and on the real ones.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/filter.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::vector<std::string> kRealFiles = {kEvt3, kEvt2, "dat/NCARS_obj_004397_td.dat"};

class ScanFiles : public test::RecordingsTest {
 protected:
  ScanFiles() : RecordingsTest(kRealFiles) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(ScanFiles);

// Decode everything, then filter: the reference every scan must equal.
EventBatch decode_then_filter(const std::string& path, const EventFilter& filter) {
  Recording rec = read(path);
  filter.apply(rec.events);
  return rec.events;
}

// A synthetic EVT3 recording with vectors, triggers and several 24-bit time wraps.
std::string synthetic_evt3(const test::ScopedTempDir& dir, std::size_t events = 600'000) {
  SceneOptions so;
  so.event_rate = 5e3;  // slow: 120 s of sensor time, seven 2^24 µs wraps
  so.t_start = (std::int64_t{1} << 24) - 100'000;
  so.run_fraction = 0.4;
  so.trigger_rate = 20;
  return test::write_scene(dir.file("synthetic.raw"), "evt3", so, events);
}

std::vector<EventFilter> filters_for(const EventBatch& all) {
  const auto t = all.t();
  const std::int64_t a = t[t.size() / 5], b = t[t.size() / 2], c = t[t.size() * 4 / 5];
  std::vector<EventFilter> out;
  EventFilter f;
  f.t0 = a;
  f.t1 = b;
  out.push_back(f);  // time only
  f = {};
  f.x0 = 10, f.x1 = 200, f.y0 = 20, f.y1 = 300;
  out.push_back(f);  // region only
  f = {};
  f.polarities = 2;
  out.push_back(f);  // ON only
  f = {};
  f.t0 = b, f.t1 = c, f.x0 = 50, f.x1 = 400, f.y0 = 0, f.y1 = 100, f.polarities = 1;
  out.push_back(f);  // everything
  f = {};
  f.t0 = t.back() + 1;
  f.t1 = t.back() + 1000;
  out.push_back(f);  // after the end: empty
  return out;
}

Scan scan_with(const std::string& path, const EventFilter& f, IndexPolicy policy, const std::string& dir) {
  Scan s = Scan(path).index(policy).index_dir(dir);
  if (f.has_time_window()) s = s.time(f.t0, f.t1);
  s = s.roi(f.x0, f.y0, f.x1, f.y1);
  if (f.polarities == 1) s = s.polarity(0);
  if (f.polarities == 2) s = s.polarity(1);
  return s;
}

TEST_P(ScanFiles, collect_equals_decode_then_filter_for_every_predicate) {
  test::ScopedTempDir dir;
  for (const std::string& path : recordings(kRealFiles)) {
    const EventBatch all = read(path).events;
    for (const EventFilter& f : filters_for(all)) {
      const std::string expected = digest(decode_then_filter(path, f));
      for (IndexPolicy policy : {IndexPolicy::kOff, IndexPolicy::kMemory, IndexPolicy::kAuto}) {
        // kAuto twice: the second run uses the cached index to seek.
        for (int run = 0; run < (policy == IndexPolicy::kAuto ? 2 : 1); ++run) {
          EXPECT_EQ(digest(scan_with(path, f, policy, dir.path()).collect()), expected)
              << path << " policy " << static_cast<int>(policy) << " run " << run << " t [" << f.t0 << ", " << f.t1
              << ")";
        }
      }
    }
  }
}

TEST(Scan, every_writable_format_scans_equal_to_decode_then_filter) {
  // The same scene in every format evlib writes; each predicate through collect() and through
  // chunks(), with the index off, built in memory, and cached then used.
  test::ScopedTempDir dir;
  SceneOptions so;
  so.event_rate = 1e5;  // 200 000 events: 2 s
  so.run_fraction = 0.3;
  const std::pair<const char*, const char*> formats[] = {{"evt2", "s.evt2.raw"}, {"evt3", "s.evt3.raw"}, {"dat", "s.dat"},
                                                         {"hdf5", "s.h5"},         {"aedat4", "s.aedat4"},  {"text", "s.txt"},
                                                         {"csv", "s.csv"},         {"npy", "s.npy"},        {"npz", "s.npz"}};
  for (const auto& [format, name] : formats) {
    if (!format_info(format)->writable) continue;  // a format this build leaves out (EVLIB_WITH_HDF5=OFF)
    const std::string path = test::write_scene(dir.file(name), format, so, 200'000);
    const EventBatch all = read(path).events;
    ASSERT_EQ(all.size(), 200'000u) << format;
    for (const EventFilter& f : filters_for(all)) {
      const std::string expected = digest(decode_then_filter(path, f));
      for (IndexPolicy policy : {IndexPolicy::kOff, IndexPolicy::kMemory, IndexPolicy::kAuto, IndexPolicy::kAuto}) {
        EXPECT_EQ(digest(scan_with(path, f, policy, dir.file("cache")).collect()), expected)
            << format << " policy " << static_cast<int>(policy) << " t [" << f.t0 << ", " << f.t1 << ")";
        EventDigest streamed;
        auto chunks = scan_with(path, f, policy, dir.file("cache")).chunks();
        while (auto c = chunks.next()) streamed.update(c->events);
        EXPECT_EQ(streamed.finish(), expected) << format << " chunks, policy " << static_cast<int>(policy);
      }
    }
  }
}

TEST(Scan, collect_equals_decode_then_filter_on_synthetic_evt3_with_wraps_and_vectors) {
  test::ScopedTempDir dir;
  const std::string path = synthetic_evt3(dir);
  const EventBatch all = read(path).events;
  ASSERT_GT(all.t().back(), std::int64_t{7} << 24);  // several wraps really happened
  for (const EventFilter& f : filters_for(all)) {
    const std::string expected = digest(decode_then_filter(path, f));
    EXPECT_EQ(digest(scan_with(path, f, IndexPolicy::kOff, dir.path()).collect()), expected);
    // Small chunks give the index many segments to seek between.
    ReadOptions ro;
    ro.chunk_events = 4096;
    (void)Scan(path, ro).index_dir(dir.path()).collect();  // builds and caches the index
    Scan indexed = scan_with(path, f, IndexPolicy::kAuto, dir.path());
    EXPECT_EQ(digest(indexed.collect()), expected) << "t [" << f.t0 << ", " << f.t1 << ")";
  }
}

TEST(Scan, random_windows_after_the_index_equal_windows_without_it) {
  test::ScopedTempDir dir;
  const std::string path = synthetic_evt3(dir, 300'000);
  ReadOptions ro;
  ro.chunk_events = 2048;
  const EventBatch all = read(path).events;
  {
    auto chunks = Scan(path, ro).index_dir(dir.path()).chunks();
    while (chunks.next()) {
    }
  }
  std::mt19937_64 rng(7);
  const std::int64_t t_first = all.t().front(), t_last = all.t().back();
  for (int i = 0; i < 40; ++i) {
    const std::int64_t t0 = t_first + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(t_last - t_first));
    const std::int64_t t1 = t0 + static_cast<std::int64_t>(rng() % 3'000'000);
    const Recording with_index = Scan(path, ro).index_dir(dir.path()).time(t0, t1).collect_recording();
    const Recording without = Scan(path, ro).index(IndexPolicy::kOff).time(t0, t1).collect_recording();
    EXPECT_EQ(digest(with_index.events), digest(without.events)) << "[" << t0 << ", " << t1 << ")";
    // The index made the window cheap: far fewer words were decoded than from the start.
    EXPECT_LT(with_index.stats.words * 4, without.stats.words + 4 * 4096) << "[" << t0 << ", " << t1 << ")";
  }
}

TEST_P(ScanFiles, time_windows_tile_the_stream_without_loss_or_duplication) {
  for (const std::string& path : recordings(kRealFiles)) {
    const EventBatch all = read(path).events;
    for (std::int64_t width : {std::int64_t{1000}, std::int64_t{7777}, std::int64_t{100'000'000}}) {
      auto windows = Scan(path).index(IndexPolicy::kOff).batches(ByTime{width});
      EventDigest d;
      std::size_t total = 0;
      std::int64_t previous_end = std::numeric_limits<std::int64_t>::min();
      while (auto w = windows.next()) {
        EXPECT_GE(windows.window_start(), previous_end);
        EXPECT_EQ(windows.window_end() - windows.window_start(), width);
        for (const std::int64_t t : w->events.t()) {
          EXPECT_GE(t, windows.window_start());  // these files are monotonic
          EXPECT_LT(t, windows.window_end());
        }
        EXPECT_FALSE(w->events.empty());
        previous_end = windows.window_end();
        total += w->events.size();
        d.update(w->events);
      }
      EXPECT_EQ(total, all.size()) << path;
      EXPECT_EQ(d.finish(), digest(all)) << path << " width " << width;
    }
  }
}

TEST_P(ScanFiles, empty_windows_are_produced_only_on_request) {
  const std::string path = recording(kEvt3);
  const EventBatch all = read(path).events;
  const std::int64_t span = all.t().back() - all.t().front();
  auto count_windows = [&](bool keep_empty) {
    auto windows = Scan(path).index(IndexPolicy::kOff).batches(ByTime{50, keep_empty});
    std::size_t n = 0, empty = 0, events = 0;
    while (auto w = windows.next()) {
      ++n;
      empty += w->events.empty();
      events += w->events.size();
    }
    EXPECT_EQ(events, all.size());
    return std::pair{n, empty};
  };
  const auto [kept, kept_empty] = count_windows(true);
  const auto [skipped, skipped_empty] = count_windows(false);
  EXPECT_EQ(kept, static_cast<std::size_t>(span / 50 + 1));
  EXPECT_GT(kept_empty, 0u);
  EXPECT_EQ(skipped_empty, 0u);
  EXPECT_EQ(skipped, kept - kept_empty);
}

TEST_P(ScanFiles, count_batches_have_the_requested_size_and_tile_the_stream) {
  const std::string path = recording(kEvt2);
  const EventBatch all = read(path).events;
  Scan s(path);
  auto batches = s.batches(ByCount{100'000});
  EventDigest d;
  std::vector<std::size_t> sizes;
  while (auto b = batches.next()) {
    sizes.push_back(b->events.size());
    d.update(b->events);
  }
  ASSERT_EQ(sizes.size(), (all.size() + 99'999) / 100'000);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 100'000u);
  EXPECT_EQ(sizes.back(), all.size() % 100'000);
  EXPECT_EQ(d.finish(), digest(all));
}

TEST(Scan, count_batches_larger_than_the_file_hold_the_whole_file_without_reserving_the_count) {
  // 2^40 events would be 13 TB reserved up front; the batch grows as events come instead, here
  // from its first million past it (2.5 M events).
  test::ScopedTempDir dir;
  const std::string path = synthetic_evt3(dir, 2'500'000);
  const EventBatch all = read(path).events;
  for (const std::size_t count : {std::size_t{1} << 40, std::size_t{2'000'000}}) {
    auto batches = Scan(path).batches(ByCount{count});
    EventDigest d;
    std::vector<std::size_t> sizes;
    while (auto b = batches.next()) {
      sizes.push_back(b->events.size());
      d.update(b->events);
    }
    if (count > all.size()) EXPECT_EQ(sizes, std::vector<std::size_t>{all.size()});
    else EXPECT_EQ(sizes, (std::vector<std::size_t>{count, all.size() - count}));
    EXPECT_EQ(d.finish(), digest(all));
  }
}

TEST(Scan, thread_count_does_not_change_the_result) {
  test::ScopedTempDir dir;
  const std::string path = synthetic_evt3(dir);
  const std::string expected = digest(read(path).events);
  ReadOptions ro;
  ro.chunk_events = 8192;
  {
    Scan build(path, ro);
    (void)build.index_dir(dir.path()).collect();
  }
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    Scan s(path, ro);
    EXPECT_EQ(digest(s.index_dir(dir.path()).threads(threads).collect()), expected) << threads << " threads";
  }
}

TEST_P(ScanFiles, thread_count_does_not_change_the_result) {
  test::ScopedTempDir dir;
  for (const std::string& path : recordings(kRealFiles)) {
    ReadOptions small;
    small.chunk_events = 512;
    (void)Scan(path, small).index_dir(dir.path()).collect();
    EXPECT_EQ(digest(Scan(path, small).index_dir(dir.path()).threads(2).collect()), digest(read(path).events)) << path;
  }
}

TEST_P(ScanFiles, stale_and_corrupt_index_files_are_detected_and_rebuilt) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("copy.raw");
  std::filesystem::copy_file(recording(kEvt3), path);
  EventFilter f;
  const EventBatch all = read(path).events;
  f.t0 = all.t()[1000];
  f.t1 = all.t()[3000];
  const std::string expected = digest(decode_then_filter(path, f));
  ReadOptions ro;
  ro.chunk_events = 256;
  (void)Scan(path, ro).index_dir(dir.path()).collect();
  const auto files = test::list_dir(dir.path());
  std::string index_file;
  for (const auto& n : files) {
    if (n.find("evlib-index") != std::string::npos) index_file = dir.file(n);
  }
  ASSERT_FALSE(index_file.empty()) << "no index was cached";
  // Corrupt it: flip bytes in the middle.
  auto bytes = test::read_file(index_file);
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 16; ++i) bytes[i] ^= 0x5A;
  test::write_file(index_file, bytes);
  EXPECT_EQ(digest(Scan(path, ro).index_dir(dir.path()).time(f.t0, f.t1).collect()), expected);
  // Make it stale: the file changes (same size, different content) after the index was built.
  (void)Scan(path, ro).index_dir(dir.path()).collect();
  auto data = test::read_file(path);
  const std::size_t cut = data.size() / 2;
  data.resize(cut);  // drop the second half: old segments point past the end
  test::write_file(path, data);
  const std::string expected_after = digest(decode_then_filter(path, f));
  EXPECT_EQ(digest(Scan(path, ro).index_dir(dir.path()).time(f.t0, f.t1).collect()), expected_after);
}

TEST_P(ScanFiles, read_only_index_directory_does_not_break_reading) {
  test::ScopedTempDir dir;
  const std::string ro_dir = dir.file("readonly");
  std::filesystem::create_directories(ro_dir);
  ::chmod(ro_dir.c_str(), 0555);
  const std::string path = recording(kEvt2);
  const std::string expected = digest(read(path).events);
  EXPECT_EQ(digest(Scan(path).index_dir(ro_dir).collect()), expected);
  EXPECT_EQ(digest(Scan(path).index_dir(ro_dir + "/missing/deeper").collect()), expected);
  ::chmod(ro_dir.c_str(), 0755);
}

TEST_P(ScanFiles, memory_limit_bounds_chunks_and_collect_fails_early_when_too_big) {
  const std::string path = recording(kEvt2);
  auto chunks = Scan(path).memory_limit(std::size_t{1} << 20).chunks();
  std::size_t biggest = 0;
  while (auto c = chunks.next()) biggest = std::max(biggest, c->events.size());
  EXPECT_LE(biggest * 13, std::size_t{1} << 19);
  try {
    (void)Scan(path).memory_limit(std::size_t{1} << 20).collect();
    ADD_FAILURE() << "a 7 MB collect fit in a 1 MiB budget";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batches()"), std::string::npos) << e.what();
  }
}

TEST_P(ScanFiles, columns_keep_only_what_was_asked) {
  const std::string path = recording(kEvt3);
  const EventBatch all = read(path).events;
  const EventBatch xy = Scan(path).columns({"x", "y"}).collect();
  ASSERT_EQ(xy.size(), all.size());
  EXPECT_TRUE(xy.t().empty());
  EXPECT_TRUE(xy.p().empty());
  EXPECT_TRUE(std::equal(xy.x().begin(), xy.x().end(), all.x().begin()));
  EXPECT_TRUE(std::equal(xy.y().begin(), xy.y().end(), all.y().begin()));
  EXPECT_THROW((void)Scan(path).columns({"q"}), InvalidArgument);
}

void expect_growing_progress_to_the_end(const std::vector<ScanProgress>& seen, std::size_t at_least) {
  ASSERT_GE(seen.size(), at_least);
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].bytes_done, seen[i - 1].bytes_done);
    EXPECT_GE(seen[i].events, seen[i - 1].events);
  }
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);
  EXPECT_EQ(seen.back().events, 539'481u);
  EXPECT_DOUBLE_EQ(seen.back().fraction(), 1.0);
}

TEST_P(ScanFiles, progress_reports_growing_bytes_and_events) {
  ReadOptions ro;
  ro.chunk_events = 50'000;
  std::vector<ScanProgress> seen;
  (void)Scan(recording(kEvt2), ro)
      .index(IndexPolicy::kOff)  // the sequential path, whatever caches exist
      .on_progress([&](const ScanProgress& p) { seen.push_back(p); })
      .collect();
  expect_growing_progress_to_the_end(seen, 5);
}

TEST_P(ScanFiles, parallel_collect_reports_progress_on_the_calling_thread) {
  test::ScopedTempDir dir;
  const std::string path = recording(kEvt2);
  ReadOptions ro;
  (void)Scan(path, ro).index_dir(dir.path()).collect();
  std::vector<ScanProgress> seen;
  const auto caller = std::this_thread::get_id();
  bool on_caller = true;
  (void)Scan(path, ro)
      .index_dir(dir.path())
      .threads(2)
      .on_progress([&](const ScanProgress& p) {
        seen.push_back(p);
        on_caller = on_caller && std::this_thread::get_id() == caller;
      })
      .collect();
  EXPECT_TRUE(on_caller);
  // Each of the two workers reports every 64 Ki events: 539 481 events make 5 steps at least.
  expect_growing_progress_to_the_end(seen, 5);
}

TEST_P(ScanFiles, parallel_collect_sums_the_decode_counters_of_all_threads) {
  test::ScopedTempDir dir;
  for (const std::string& path : recordings(kRealFiles)) {
    ReadOptions ro;
    ro.chunk_events = 512;
    // The first pass builds the index.
    const Recording sequential = Scan(path, ro).index_dir(dir.path()).threads(1).collect_recording();
    const Recording parallel = Scan(path, ro).index_dir(dir.path()).threads(2).collect_recording();
    EXPECT_EQ(parallel.stats.words, sequential.stats.words) << path;
    EXPECT_EQ(parallel.stats.counters(), sequential.stats.counters()) << path;
  }
}

TEST_P(ScanFiles, reader_filter_option_applies_to_every_read_path) {
  const std::string path = recording(kEvt3);
  ReadOptions ro;
  ro.filter.x0 = 100;
  ro.filter.x1 = 700;
  ro.filter.polarities = 2;
  const std::string expected = digest(decode_then_filter(path, ro.filter));
  EXPECT_EQ(digest(read(path, ro).events), expected);
  Reader r = Reader::open(path, ro);
  EventDigest d;
  while (auto c = r.next()) d.update(c->events);
  EXPECT_EQ(d.finish(), expected);
}

TEST(MemoryBudget, default_chunk_size_is_between_floor_and_ceiling) {
  const std::size_t n = default_chunk_events();
  EXPECT_GE(n, std::size_t{1} << 16);
  EXPECT_LE(n, std::size_t{1} << 21);
  EXPECT_GT(available_memory(), 0u);
}

}  // namespace
}  // namespace evlib

namespace evlib {
namespace {

TEST(Scan, chunks_on_two_threads_equal_one_thread_and_build_an_index_that_serves_windows) {
  test::ScopedTempDir dir;
  const std::string path = synthetic_evt3(dir);  // time wraps, vectors, triggers
  const EventBatch all = read(path).events;
  ReadOptions ro;
  ro.chunk_events = 65'536;  // pieces of 256 KiB: the file splits into several
  EXPECT_EQ(digest(Scan(path, ro).index_dir(dir.path()).threads(2).collect()), digest(all));
  const auto index_files = std::distance(std::filesystem::directory_iterator(dir.path()), {});
  EXPECT_GE(index_files, 2) << "the parallel pass saves its index beside the data file";
  for (const EventFilter& f : filters_for(all)) {
    const EventBatch windowed = scan_with(path, f, IndexPolicy::kAuto, dir.path()).collect();
    EXPECT_EQ(digest(windowed), digest(decode_then_filter(path, f))) << f.t0 << ".." << f.t1;
  }
  // The same filter on two threads (region and polarity pushed into each piece).
  EventFilter region;
  region.x0 = 100, region.x1 = 900, region.y0 = 50, region.y1 = 600, region.polarities = 2;
  const Scan narrowed = scan_with(path, region, IndexPolicy::kOff, dir.path()).threads(2);
  EXPECT_EQ(digest(narrowed.collect()), digest(decode_then_filter(path, region)));
}

TEST_P(ScanFiles, a_stream_outlives_the_scan_that_made_it) {
  const std::string path = recording(kEvt2);
  auto chunks = Scan(path).index(IndexPolicy::kOff).threads(2).chunks();
  std::size_t n = 0;
  while (auto c = chunks.next()) n += c->events.size();
  EXPECT_EQ(n, 539'481u);
}

}  // namespace
}  // namespace evlib
