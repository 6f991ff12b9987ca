// The cached time index is used only for the file it was built from, and a cache path that is
// not a regular file never hangs, crashes or fails a read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "io/time_index.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string scene_file(const test::ScopedTempDir& dir, const std::string& format, const std::string& name) {
  SceneOptions scene;
  scene.event_rate = 1e6;
  return test::write_scene(dir.file(name), format, scene, 200'000);
}

void build_index(const std::string& path, const std::string& cache) {
  auto chunks = Scan(path).index_dir(cache).threads(1).chunks();
  while (chunks.next()) {
  }
}

// Overwrites `count` bytes at `offset` with their complement, then puts back the size and the
// modification time, as `touch -r` or `rsync -t --inplace` do.
void change_in_place_keeping_mtime(const std::string& path, std::uint64_t offset, std::size_t count) {
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes(count, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(bytes.data(), static_cast<std::streamsize>(count));
  for (char& c : bytes) c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(count));
  f.close();
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST(IndexCache, a_change_after_the_first_64_kib_with_size_and_mtime_restored_makes_the_index_stale) {
  for (const auto& [format, name] : {std::pair{"evt3", "r.raw"}, std::pair{"dat", "r.dat"}}) {
    test::ScopedTempDir dir;
    const std::string path = scene_file(dir, format, name);
    const std::string cache = dir.file("cache");
    build_index(path, cache);
    const std::uint64_t size = read_metadata(path).file_size;
    change_in_place_keeping_mtime(path, size / 2, 4096);
    const EventBatch all = read(path).events;
    const auto t = all.t();
    const std::int64_t t0 = t[t.size() / 2], t1 = t0 + 20'000;
    const Recording window = Scan(path).index_dir(cache).time(t0, t1).collect_recording();
    EXPECT_EQ(digest(window.events), digest(test::events_between(all, t0, t1))) << format;
    // The digest of a whole pass (parallel pieces from the index when it is trusted) agrees too.
    EventDigest streamed;
    auto chunks = Scan(path).index_dir(cache).threads(2).chunks();
    while (auto c = chunks.next()) streamed.update(c->events);
    EXPECT_EQ(streamed.finish(), digest(all)) << format;
  }
}

TEST(IndexCache, the_key_covers_identity_change_time_and_content_beyond_the_header) {
  test::ScopedTempDir dir;
  const std::string path = scene_file(dir, "evt3", "r.raw");
  const detail::IndexKey before = detail::index_key_for(path, "evt3", 1);
  EXPECT_EQ(detail::index_key_for(path, "evt3", 1), before);
  change_in_place_keeping_mtime(path, read_metadata(path).file_size - 100, 16);
  const detail::IndexKey after = detail::index_key_for(path, "evt3", 1);
  EXPECT_EQ(after.mtime_ns, before.mtime_ns);
  EXPECT_NE(after.ctime_ns, before.ctime_ns);
  EXPECT_NE(after.content_hash, before.content_hash) << "the last 64 KiB are sampled";
  EXPECT_EQ(after.inode, before.inode);
}

TEST(IndexCache, a_fifo_or_directory_at_the_cache_path_is_ignored_without_hanging) {
  test::ScopedTempDir dir;
  const std::string path = scene_file(dir, "evt3", "r.raw");
  const std::string expected = digest(read(path).events);
  const std::string cache = dir.file("cache");
  std::filesystem::create_directories(cache);
  const std::string index_file = detail::index_locations(path, cache).front();
  ASSERT_EQ(::mkfifo(index_file.c_str(), 0600), 0);
  EXPECT_EQ(digest(Scan(path).index_dir(cache).collect()), expected);
  EXPECT_EQ(digest(Scan(path).index_dir(cache).time(0, 100'000).collect()),
            digest(test::events_between(read(path).events, 0, 100'000)));
  struct stat st {};
  ASSERT_EQ(::lstat(index_file.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
  ::unlink(index_file.c_str());
  std::filesystem::create_directories(index_file);
  EXPECT_EQ(digest(Scan(path).index_dir(cache).collect()), expected);
  EXPECT_TRUE(std::filesystem::is_directory(index_file));
}

TEST(IndexCache, a_corrupt_or_huge_cache_file_is_rebuilt) {
  test::ScopedTempDir dir;
  const std::string path = scene_file(dir, "evt3", "r.raw");
  const std::string cache = dir.file("cache");
  build_index(path, cache);
  const std::string index_file = detail::index_locations(path, cache).front();
  ASSERT_TRUE(test::file_exists(index_file));
  std::vector<std::uint8_t> bytes = test::read_file(index_file);
  bytes[bytes.size() / 2] ^= 0xFF;
  test::write_file(index_file, bytes);
  const EventBatch all = read(path).events;
  const std::int64_t t0 = all.t()[1000], t1 = t0 + 50'000;
  EXPECT_EQ(digest(Scan(path).index_dir(cache).time(t0, t1).collect()), digest(test::events_between(all, t0, t1)));
  ASSERT_EQ(::truncate(index_file.c_str(), (std::int64_t{1} << 30) + 1), 0);  // sparse: no disk used
  EXPECT_EQ(digest(Scan(path).index_dir(cache).time(t0, t1).collect()), digest(test::events_between(all, t0, t1)));
}

}  // namespace
}  // namespace evlib
