// Where a Writer may write (through links, in place into FIFOs and devices, never over them),
// what it leaves behind, and options that would size an allocation past what memory can hold.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/synth.hpp"
#include "evlib/temporary_files.hpp"
#include "evlib/writer.hpp"
#include "io/atomic_file.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

EventBatch some_events(std::size_t n = 5000) {
  EventBatch events = EventBatch::with_capacity(n);
  TriggerBatch triggers;
  SceneGenerator(SceneOptions{}).generate(events, triggers, n);
  return events;
}

WriteOptions csv(bool overwrite = false) {
  WriteOptions wo;
  wo.format = "csv";
  wo.overwrite = overwrite;
  return wo;
}

TEST(OutputPath, a_writer_replaces_the_target_of_a_link_and_keeps_the_link) {
  test::ScopedTempDir dir;
  test::write_file(dir.file("real.csv"), {'x'});
  ASSERT_EQ(::symlink("real.csv", dir.file("link.csv").c_str()), 0);
  const EventBatch events = some_events();
  test::write_events(dir.file("link.csv"), csv(/*overwrite=*/true), events);
  struct stat st {};
  ASSERT_EQ(::lstat(dir.file("link.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(digest(read(dir.file("real.csv")).events), digest(events));
}

TEST(OutputPath, a_writer_refuses_a_directory_and_an_existing_file_without_overwrite) {
  test::ScopedTempDir dir;
  EXPECT_THROW(Writer::create(dir.path(), csv(true)), IoError);
  test::write_file(dir.file("a.csv"), {'x'});
  EXPECT_THROW(Writer::create(dir.file("a.csv"), csv()), IoError);
  EXPECT_EQ(test::read_file(dir.file("a.csv")), std::vector<std::uint8_t>{'x'});
}

TEST(OutputPath, the_temporary_name_is_short_whatever_the_target_name) {
  test::ScopedTempDir dir;
  const std::string out = dir.file(std::string(251, 'x') + ".csv");  // NAME_MAX
  Writer w = Writer::create(out, csv());
  const auto names = test::list_dir(dir.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_LT(names[0].size(), 32u) << names[0];
  w.write(some_events());
  w.close();
  EXPECT_EQ(read(out).events.size(), 5000u);
}

TEST(OutputPath, remove_temporary_files_removes_those_of_unfinished_writers) {
  test::ScopedTempDir dir;
  Writer a = Writer::create(dir.file("a.npz"), WriteOptions{.format = "npz"});
  Writer b = Writer::create(dir.file("b.csv"), csv());
  b.write(some_events());
  EXPECT_EQ(test::list_dir(dir.path()).size(), 2u);
  remove_temporary_files();
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

// Writes of kDirectWriteBytes or more go to the file at once, after what is buffered: the bytes
// and their order are those of the calls, write_at included.
TEST(OutputPath, small_and_large_writes_land_in_order) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("mixed.bin");
  std::vector<std::uint8_t> expected;
  {
    detail::AtomicFile f(path, false);
    std::uint8_t next = 0;
    for (std::size_t size : {std::size_t{10}, detail::AtomicFile::kDirectWriteBytes, std::size_t{3},
                             std::size_t{5} << 20, std::size_t{1}, detail::AtomicFile::kDirectWriteBytes - 1, std::size_t{7}}) {
      std::vector<std::uint8_t> piece(size);
      for (auto& b : piece) b = next++;
      f.write(piece.data(), piece.size());
      expected.insert(expected.end(), piece.begin(), piece.end());
    }
    const std::uint8_t patch[4] = {0xAA, 0xBB, 0xCC, 0xDD};
    f.write_at(2, patch, sizeof patch);
    std::copy(std::begin(patch), std::end(patch), expected.begin() + 2);
    f.commit();
  }
  EXPECT_EQ(test::read_file(path), expected);
}

TEST(ChunkSize, a_chunk_too_large_to_allocate_is_an_invalid_argument) {
  test::ScopedTempDir dir;
  const std::string path = test::write_scene(dir.file("s.raw"), "evt3", SceneOptions{}, 1000);
  for (const std::size_t n : {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() / 8,
                              (std::size_t{1} << 32) + 1}) {
    ReadOptions o;
    o.chunk_events = n;
    EXPECT_THROW(Reader::open(path, o), InvalidArgument) << n;
    EXPECT_THROW((void)Scan(path, o), InvalidArgument) << n;
  }
}

}  // namespace
}  // namespace evlib
