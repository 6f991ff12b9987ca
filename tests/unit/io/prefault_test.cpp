// read()'s prefault helper is a thread of its own: it runs only when asked for and when the
// process may use two cores or more ("one thread" means one core in total). Threads are counted
// in /proc/self/task by a watcher sampling while read() runs.
#include <dirent.h>
#include <sched.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

int threads_now() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

// The most threads this process had while read(path, options) ran, counting the watcher.
int peak_threads_during_read(const std::string& path, const ReadOptions& options) {
  std::atomic<bool> done{false};
  std::atomic<int> peak{0};
  std::thread watcher([&] {
    while (!done.load()) {
      peak.store(std::max(peak.load(), threads_now()));
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  const Recording rec = read(path, options);
  done.store(true);
  watcher.join();
  EXPECT_GT(rec.events.size(), 0u);
  return peak.load();
}

class PrefaultThread : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (threads_now() <= 0) return;
    dir_ = std::make_unique<test::ScopedTempDir>();
    SceneOptions so;
    so.seed = 7;
    path_ = test::write_scene(dir_->file("scene.raw"), "evt2", so, 4'000'000);
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (threads_now() <= 0) GTEST_SKIP() << "no /proc/self/task here: threads cannot be counted";
    baseline_ = threads_now() + 1;  // this thread and the others the process has, plus the watcher
  }
  static inline std::unique_ptr<test::ScopedTempDir> dir_;
  static inline std::string path_;
  int baseline_ = 0;
};

bool two_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return ::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

TEST_F(PrefaultThread, runs_beside_the_decoder_when_two_cores_are_usable) {
  // The control: it shows that the watcher sees the helper when there is one.
  if (!two_cores()) GTEST_SKIP() << "fewer than two usable cores: read() never starts the helper here";
  // A read takes a few ms: on a loaded machine the watcher may get no core while the helper
  // lives, so the control reads until the helper was seen once (never more than one helper).
  int peak = 0;
  for (int attempt = 0; attempt < 20 && peak <= baseline_; ++attempt) {
    peak = std::max(peak, peak_threads_during_read(path_, ReadOptions{}));
  }
  EXPECT_EQ(peak, baseline_ + 1);
}

TEST_F(PrefaultThread, is_not_started_when_switched_off) {
  ReadOptions options;
  options.prefault_thread = false;
  EXPECT_EQ(peak_threads_during_read(path_, options), baseline_);
}

TEST_F(PrefaultThread, is_not_started_on_a_process_confined_to_one_core) {
  cpu_set_t all, one;
  CPU_ZERO(&all);
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const int peak = peak_threads_during_read(path_, ReadOptions{});
  ASSERT_EQ(::sched_setaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(peak, baseline_);
}

}  // namespace
}  // namespace evlib
