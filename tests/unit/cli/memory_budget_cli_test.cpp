// Peak resident memory of the evlib program stays within the streaming budget (64 MiB by default)
// on inputs that once broke it: files dense in vector words, many threads, rendering a billion
// events with a long time between frames, and the time index of a long file.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

// Runs the evlib program with `args` (output to /dev/null); returns its peak RSS in KiB, or -1
// when it did not exit with 0.
long peak_rss_kib(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::vector<char*> argv{const_cast<char*>(EVLIB_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(EVLIB_CLI, argv.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return usage.ru_maxrss;
}

// An EVT 3.0 file of rows of VECT_12 words: 6 events a byte, the densest the format allows.
std::string vector_dense_evt3(const test::ScopedTempDir& dir, std::size_t megabytes) {
  const std::string path = dir.file("vectors.raw");
  std::ofstream out(path, std::ios::binary);
  out << "% evt 3.0\n% format EVT3;height=720;width=1280\n% end\n";
  std::vector<std::uint16_t> words;
  for (std::uint16_t y = 0; y < 720; ++y) {
    words.push_back(static_cast<std::uint16_t>(0x6000 | y));                  // TIME_LOW
    words.push_back(y);                                                       // ADDR_Y
    words.push_back(static_cast<std::uint16_t>(0x3000 | (1u << 11)));         // VECT_BASE_X, ON, x = 0
    for (int k = 0; k < 100; ++k) words.push_back(0x4FFF);                    // VECT_12: 12 events each
  }
  const std::size_t blocks = (megabytes << 20) / (words.size() * 2);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::uint16_t time_high = static_cast<std::uint16_t>(0x8000 | (b & 0xFFF));
    out.write(reinterpret_cast<const char*>(&time_high), 2);
    out.write(reinterpret_cast<const char*>(words.data()), static_cast<std::streamsize>(words.size() * 2));
  }
  return path;
}

constexpr long kBudgetKib = 64 * 1024;

// AddressSanitizer's shadow memory and quarantine make resident sizes meaningless.
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_SANITIZERS() GTEST_SKIP() << "peak RSS is not measurable under AddressSanitizer"
#else
#define SKIP_UNDER_SANITIZERS() (void)0
#endif

TEST(MemoryBudgetCli, a_file_dense_in_vector_words_streams_within_the_budget) {
  SKIP_UNDER_SANITIZERS();
  test::ScopedTempDir dir;
  const std::string path = vector_dense_evt3(dir, 24);  // about 150 M events
  for (const char* threads : {"1", "2"}) {
    const long kib = peak_rss_kib({"info", path, "-q", "--no-index", "--threads", threads});
    ASSERT_GT(kib, 0) << "evlib info failed";
    EXPECT_LT(kib, kBudgetKib) << threads << " threads";
  }
  const long head = peak_rss_kib({"dump", path, "-n", "5", "-q", "--no-index"});
  ASSERT_GT(head, 0);
  EXPECT_LT(head, kBudgetKib);
}

TEST(MemoryBudgetCli, many_threads_stay_within_the_budget_and_a_smaller_limit_holds) {
  SKIP_UNDER_SANITIZERS();
  test::ScopedTempDir dir;
  SceneOptions scene;
  const std::string path = test::write_scene(dir.file("scene.raw"), "evt3", scene, 5'000'000);
  for (const char* threads : {"8", "256"}) {  // 256: the most the CLI accepts
    const long kib = peak_rss_kib({"info", path, "-q", "--no-index", "--threads", threads});
    ASSERT_GT(kib, 0);
    EXPECT_LT(kib, kBudgetKib) << threads << " threads";
  }
  const long limited = peak_rss_kib({"info", path, "-q", "--no-index", "--threads", "256", "--memory-limit", "32M"});
  ASSERT_GT(limited, 0);
  EXPECT_LT(limited, 32 * 1024);
}

// `evlib render` once held every event between two frames (a low --fps, or a decay mode's whole
// period): 1.7 GB for the billion events below. A billion events in 164 MB of vector words.
TEST(MemoryBudgetCli, rendering_a_billion_events_holds_only_the_next_window) {
  SKIP_UNDER_SANITIZERS();
  test::ScopedTempDir dir;
  const std::string path = vector_dense_evt3(dir, 164);  // 1.0 G events over 4.7 s
  constexpr long kFrameStateKib = 16 * 1024;              // the frame's own buffers at 1280x720
  const struct {
    std::vector<std::string> mode;
    std::size_t frames;
  } cases[] = {{{"--mode", "counts", "--fps", "2"}, 10}, {{"--mode", "exp-decay", "--fps", "2", "--to", "2s"}, 4}};
  for (const auto& c : cases) {
    const std::string frames_dir = dir.file(c.mode[1]);
    std::filesystem::create_directory(frames_dir);
    std::vector<std::string> args{"render", path, frames_dir + "/f_%05d.png", "-q", "--no-index"};
    args.insert(args.end(), c.mode.begin(), c.mode.end());
    const long kib = peak_rss_kib(args);
    ASSERT_GT(kib, 0) << "evlib render failed: " << c.mode[1];
    EXPECT_LT(kib, kBudgetKib + kFrameStateKib) << c.mode[1];
    const auto written = std::distance(std::filesystem::directory_iterator(frames_dir), {});
    EXPECT_EQ(static_cast<std::size_t>(written), c.frames) << c.mode[1];
  }
}

// The time index a pass builds grows with the file (an entry every 64 Ki events): it must cost
// its entries only. It once cost them twice over and more: a heap string per snapshot, a vector
// grown by doubling, the whole index file built in memory to be saved and a zeroed 4 MiB write
// buffer beside it (7 MB more than without an index here).
TEST(MemoryBudgetCli, building_the_time_index_costs_only_its_entries) {
  SKIP_UNDER_SANITIZERS();
  test::ScopedTempDir dir;
  const std::string path = vector_dense_evt3(dir, 64);  // about 400 M events: 6,000 entries
  const std::string cache = dir.file("cache");
  const char* before = std::getenv("XDG_CACHE_HOME");
  const std::string restore = before != nullptr ? before : "";
  ::setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  const auto frames = [&](const char* out, bool index) {
    std::vector<std::string> args{"frames", path, dir.file(out), "--repr", "histogram", "--count", "200000000",
                                  "--threads", "1", "-q"};
    if (!index) args.push_back("--no-index");
    return peak_rss_kib(args);
  };
  const long plain = frames("plain.npy", false);
  const long indexed = frames("indexed.npy", true);
  if (before != nullptr) ::setenv("XDG_CACHE_HOME", restore.c_str(), 1);
  else ::unsetenv("XDG_CACHE_HOME");
  ASSERT_GT(plain, 0);
  ASSERT_GT(indexed, 0);
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(cache + "/evlib"), {}), 1) << "no index was built";
  EXPECT_LT(indexed - plain, 2 * 1024) << "the index of about 6,000 entries (0.9 MB) cost " << indexed - plain << " KiB";
  EXPECT_LT(indexed, kBudgetKib);
}

}  // namespace
}  // namespace evlib
