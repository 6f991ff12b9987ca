// Time windows in the formats that are not (only) word streams: AEDAT 4 seeks by its packet table
// on the first call (no pass, nothing cached), HDF5, AEDAT 2.0, NumPy and text by a time index that
// the first full pass builds and caches; every window equals decode-then-filter, through collect()
// and through chunks(). FileIndexFiles runs on synthetic stand-ins of real recordings and on the
// real ones.
#include <gtest/gtest.h>

#include <random>

#include "evlib/digest.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string synthetic(const test::ScopedTempDir& dir, const std::string& format, const std::string& name,
                      const std::string& compression = "") {
  SceneOptions so;
  so.event_rate = 2e5;  // 400 000 events: 2 s of sensor time
  so.trigger_rate = format == "npy" || format == "text" || format == "csv" ? 0 : 50;  // these hold no triggers
  return test::write_scene(dir.file(name), format, so, 400'000, compression);
}

struct Streamed {
  std::string digest;
  DecodeStats stats;
};

Streamed stream_all(const Scan& scan) {
  EventDigest d;
  auto chunks = scan.chunks();
  while (auto c = chunks.next()) d.update(c->events);
  return {d.finish(), chunks.stats()};
}

// Random windows of up to 50 ms: each equals decode-then-filter, and decodes far less than the file.
void expect_windows_seek(const std::string& path, const std::string& cache) {
  const EventBatch all = read(path).events;
  std::mt19937_64 rng(11);
  const std::int64_t t_first = all.t().front(), t_last = all.t().back();
  for (int i = 0; i < 25; ++i) {
    const std::int64_t t0 = t_first + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(t_last - t_first));
    const std::int64_t t1 = t0 + static_cast<std::int64_t>(rng() % 50'000);
    const std::string expected = digest(test::events_between(all, t0, t1));
    const Recording collected = Scan(path).index_dir(cache).time(t0, t1).collect_recording();
    EXPECT_EQ(digest(collected.events), expected) << path << " [" << t0 << ", " << t1 << ")";
    EXPECT_LT(collected.stats.words * 3, all.size()) << "decoded most of the file for [" << t0 << ", " << t1 << ")";
    EXPECT_EQ(stream_all(Scan(path).index_dir(cache).time(t0, t1)).digest, expected) << path << " [" << t0 << ", " << t1 << ")";
  }
}

TEST(FileIndex, aedat4_windows_use_the_packet_table_from_the_first_call) {
  test::ScopedTempDir dir;
  const std::string path = synthetic(dir, "aedat4", "rec.aedat4");
  const std::string cache = dir.file("cache");
  expect_windows_seek(path, cache);
  EXPECT_FALSE(test::file_exists(cache)) << "the packet table needs no index file";
  // A whole-file collect split by the packet table on two threads equals one thread.
  const std::string expected = digest(read(path).events);
  EXPECT_EQ(digest(Scan(path).index_dir(cache).threads(2).collect()), expected);
}

const std::string kAedat4 = "aedat4/tonic_sample.aedat4";
const std::string kAedat2 = "aedat2/IMU_translBoxes.aedat";

class FileIndexFiles : public test::RecordingsTest {
 protected:
  FileIndexFiles() : RecordingsTest({kAedat4, kAedat2}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(FileIndexFiles);

TEST_P(FileIndexFiles, aedat4_recording_windows_equal_decode_then_filter) {
  const std::string path = recording(kAedat4);
  const EventBatch all = read(path).events;
  const auto t = all.t();
  test::ScopedTempDir dir;
  for (std::size_t k = 0; k < 8; ++k) {
    const std::int64_t t0 = t[t.size() * k / 8], t1 = t0 + 20'000;
    const Scan s = Scan(path).index_dir(dir.path()).time(t0, t1);
    EXPECT_EQ(digest(s.collect()), digest(test::events_between(all, t0, t1))) << "[" << t0 << ", " << t1 << ")";
  }
}

TEST(FileIndex, prophesee_hdf5_windows_use_cd_indexes_from_the_first_call) {
  if (!format_info("hdf5")->writable) GTEST_SKIP() << "built without HDF5 (EVLIB_WITH_HDF5=OFF)";
  test::ScopedTempDir dir;
  const std::string path = synthetic(dir, "hdf5", "rec.hdf5", "ecf");
  ASSERT_EQ(*read_metadata(path).header_value("hdf5.layout"), "prophesee");
  const std::string cache = dir.file("cache");
  expect_windows_seek(path, cache);
  EXPECT_FALSE(test::file_exists(cache)) << "/CD/indexes needs no index file";
}

// The first full pass over `path` caches an index; windows then seek with it.
void expect_first_pass_indexes_then_windows_seek(const std::string& path, const std::string& cache,
                                                 std::size_t chunk_events = 0) {
  test::index_by_a_first_pass(path, cache, chunk_events);
  EXPECT_EQ(test::list_dir(cache).size(), 1u) << path << ": the first pass caches an index";
  expect_windows_seek(path, cache);
}

TEST(FileIndex, hdf5_windows_use_the_index_its_first_pass_builds) {
  if (!format_info("hdf5")->writable) GTEST_SKIP() << "built without HDF5 (EVLIB_WITH_HDF5=OFF)";
  test::ScopedTempDir dir;
  expect_first_pass_indexes_then_windows_seek(synthetic(dir, "hdf5", "rec.h5"), dir.file("cache"));
}

TEST(FileIndex, npy_windows_use_the_index_its_first_pass_builds) {
  // A .npy array resumes at any record: the first pass caches an index of record numbers.
  test::ScopedTempDir dir;
  expect_first_pass_indexes_then_windows_seek(synthetic(dir, "npy", "rec.npy"), dir.file("cache"));
}

TEST(FileIndex, text_windows_use_the_index_its_first_pass_builds) {
  // Text resumes at the start of a line, with the layout the first data line decided.
  test::ScopedTempDir dir;
  expect_first_pass_indexes_then_windows_seek(synthetic(dir, "text", "rec.txt"), dir.file("cache"));
  expect_first_pass_indexes_then_windows_seek(synthetic(dir, "csv", "rec.csv"), dir.file("cache-csv"));
}

TEST(FileIndex, text_in_seconds_after_comments_and_a_header_row_resumes_with_its_first_layout) {
  // Times in seconds, comma separated, a header row after comments. Only the first data line
  // says "seconds" (it has a '.'); the others are whole seconds, which a reader deciding afresh
  // would take for microseconds: a window resumed mid-file must parse as the start decided.
  test::ScopedTempDir dir;
  std::string text = "# recorded by hand\n# another comment\nx, y, polarity, timestamp\n0, 0, 0, 0.0\n";
  for (int i = 1; i < 50'000; ++i) {
    text += std::to_string(i % 640) + ", " + std::to_string(i % 480) + ", " + std::to_string(i % 2) + ", " +
            std::to_string(i / 1000) + "\n";
  }
  const std::string path = dir.file("seconds.csv");
  test::write_file(path, std::vector<std::uint8_t>(text.begin(), text.end()));
  const EventBatch all = read(path).events;
  ASSERT_EQ(all.size(), 50'000u);
  ASSERT_EQ(all.t()[31'415], 31'000'000);  // "31" s
  test::index_by_a_first_pass(path, dir.file("cache"), 1024);
  for (const std::int64_t t0 : {std::int64_t{0}, std::int64_t{7'000'000}, std::int64_t{31'000'000}, std::int64_t{49'000'000}}) {
    const auto window = test::scan_window(path, dir.file("cache"), t0, t0 + 1, 1024);
    EXPECT_EQ(window.digest, digest(test::events_between(all, t0, t0 + 1))) << t0;
    EXPECT_LT(window.words * 10, all.size()) << "decoded most of the file at " << t0;
  }
}

TEST(FileIndex, streaming_on_two_threads_from_an_index_equals_one_thread) {
  // With an index (the file's own or a cached one), chunks() decodes pieces of segments on
  // several threads: same events, same counters, in every format that can resume.
  test::ScopedTempDir dir;
  const std::string cache = dir.file("cache");
  for (const auto& [format, name] : {std::pair{"aedat4", "r.aedat4"}, std::pair{"hdf5", "r.h5"}, std::pair{"evt3", "r.raw"},
                                     std::pair{"evt2", "r2.raw"}, std::pair{"npy", "r.npy"}, std::pair{"text", "r.txt"}}) {
    if (!format_info(format)->writable) continue;  // a format this build leaves out (EVLIB_WITH_HDF5=OFF)
    const std::string path = synthetic(dir, format, name);
    // The first pass builds and caches the index where the file has none.
    const Streamed first = stream_all(Scan(path).index_dir(cache).threads(1));
    const std::string& expected = first.digest;
    EXPECT_EQ(expected, digest(read(path).events)) << format;
    for (const unsigned threads : {2u, 3u}) {
      ReadOptions many_pieces;
      many_pieces.chunk_events = 20'000;
      const Streamed parallel = stream_all(Scan(path, many_pieces).index_dir(cache).threads(threads));
      EXPECT_EQ(parallel.digest, expected) << format << " on " << threads << " threads";
      EXPECT_EQ(parallel.stats.words, first.stats.words) << format;
      EXPECT_EQ(parallel.stats.corrupt(), 0u) << format;
    }
  }
}

TEST_P(FileIndexFiles, aedat2_windows_use_the_index_its_first_pass_builds) {
  // AEDAT 1.0/2.0 records resume anywhere (their decoder state is the time unwrap and a partial
  // record): the first pass caches an index, later windows decode a few segments.
  test::ScopedTempDir dir;
  // Segments of 4 Ki events: small enough for this short recording that a window skips most.
  expect_first_pass_indexes_then_windows_seek(recording(kAedat2), dir.file("cache"), 4096);
}

}  // namespace
}  // namespace evlib
