// A scan is an immutable plan: builder calls make new plans, streams run a snapshot of the plan
// they were started from and keep statistics of their own, metadata stays valid, and chunk
// buffers a caller still holds are never overwritten.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evlib/digest.hpp"
#include "evlib/evlib.hpp"
#include "evlib/scan.hpp"
#include "io/format_reader.hpp"
#include "io/scan_internal.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

// A synthetic EVT 3.0 recording of `events` events (both polarities, vectors, time wraps).
std::string recording(const test::ScopedTempDir& dir, std::size_t events = 300'000) {
  SceneOptions scene;
  scene.event_rate = 2e6;
  return test::write_scene(dir.file("scene.raw"), "evt3", scene, events);
}

ReadOptions small_chunks() {
  ReadOptions o;
  o.chunk_events = 4096;
  return o;
}

TEST(ScanPlan, builder_calls_return_new_plans_and_leave_the_original_as_it_was) {
  test::ScopedTempDir dir;
  const Scan all(recording(dir));
  const Scan on = all.polarity(1);
  const Scan window = on.time(1000, 2000).roi(0, 0, 10, 10);
  EXPECT_EQ(all.filter(), EventFilter{});
  EXPECT_EQ(on.filter().polarities, 2);
  EXPECT_FALSE(on.filter().has_time_window());
  EXPECT_EQ(window.filter().t0, 1000);
  EXPECT_EQ(window.filter().x1, 10u);
  EXPECT_EQ(window.filter().polarities, 2);
}

TEST(ScanPlan, a_running_stream_keeps_the_plan_it_started_from) {
  test::ScopedTempDir dir;
  const std::string path = recording(dir);
  const EventBatch everything = read(path).events;
  Scan scan = Scan(path, small_chunks()).index(IndexPolicy::kOff).threads(1);
  BatchStream stream = scan.chunks();
  EventDigest seen;
  std::size_t off_after_change = 0;
  bool changed = false;
  while (auto chunk = stream.next()) {
    seen.update(chunk->events);
    if (changed) {
      for (const std::uint8_t p : chunk->events.p()) off_after_change += p == 0;
    }
    if (!changed) {
      scan = scan.polarity(1);  // a new plan: the stream already running must not see it
      changed = true;
    }
  }
  EXPECT_GT(off_after_change, 0u) << "OFF events vanished mid-stream";
  EXPECT_EQ(seen.finish(), digest(everything));
  EXPECT_EQ(scan.filter().polarities, 2);
}

TEST(ScanPlan, every_stream_has_its_own_statistics) {
  test::ScopedTempDir dir;
  const Scan scan = Scan(recording(dir), small_chunks()).index(IndexPolicy::kOff).threads(1);
  BatchStream whole = scan.chunks();
  while (whole.next()) {
  }
  BatchStream started = scan.chunks();
  ASSERT_TRUE(started.next());
  EXPECT_GT(whole.stats().words, 0u);
  EXPECT_LT(started.stats().words, whole.stats().words);
  const std::uint64_t words = whole.stats().words;
  while (started.next()) {
  }
  EXPECT_EQ(started.stats().words, words);
  EXPECT_EQ(whole.stats().words, words) << "a second stream changed the first one's counters";
}

TEST(ScanPlan, metadata_stays_valid_after_streams_and_collects) {
  test::ScopedTempDir dir;
  const Scan scan(recording(dir));
  const Metadata& metadata = scan.metadata();
  auto chunks = scan.chunks();
  while (chunks.next()) {
  }
  (void)scan.collect();
  (void)scan.time(0, 1000).collect();
  // Used after chunks() and collect(): AddressSanitizer reports a use after free if they freed it.
  EXPECT_EQ(metadata.format, "evt3");
  EXPECT_EQ(metadata.width, 1280u);
  EXPECT_EQ(scan.shared_metadata().get(), &metadata);
}

TEST(ScanPlan, chunks_the_caller_holds_are_never_overwritten) {
  test::ScopedTempDir dir;
  const std::string path = recording(dir);
  for (const unsigned threads : {1u, 2u}) {
    std::vector<Chunk> held;
    std::vector<EventBatch> copies;
    auto stream = Scan(path, small_chunks()).index(IndexPolicy::kOff).threads(threads).chunks();
    while (auto chunk = stream.next()) {
      copies.push_back(EventBatch::copy_of(chunk->events));
      held.push_back(std::move(*chunk));
    }
    ASSERT_GT(held.size(), 10u);
    for (std::size_t i = 0; i < held.size(); ++i) {
      ASSERT_EQ(digest(held[i].events), digest(copies[i])) << "chunk " << i << " on " << threads << " threads";
    }
  }
}

TEST(ScanPlan, slices_and_owner_handles_of_a_chunk_keep_its_events) {
  test::ScopedTempDir dir;
  auto stream = Scan(recording(dir), small_chunks()).index(IndexPolicy::kOff).threads(1).chunks();
  auto first = stream.next();
  ASSERT_TRUE(first);
  const EventBatch slice = first->events.slice(0, 16);
  const EventBatch copy = EventBatch::copy_of(slice);
  const std::shared_ptr<const void> handle = first->events.owner();
  const std::int64_t* exported = first->events.t().data();
  const std::int64_t exported_first = exported[0];
  first.reset();
  while (stream.next()) {
  }
  EXPECT_EQ(digest(slice), digest(copy));
  EXPECT_EQ(exported[0], exported_first);
}

TEST(ScanPlan, chunks_let_go_of_are_reused_from_a_small_pool) {
  test::ScopedTempDir dir;
  auto stream = Scan(recording(dir), small_chunks()).index(IndexPolicy::kOff).threads(1).chunks();
  std::set<const std::int64_t*> buffers;
  std::size_t chunks = 0;
  while (auto chunk = stream.next()) {
    buffers.insert(chunk->events.t().data());
    ++chunks;
  }
  ASSERT_GT(chunks, 20u);
  EXPECT_LE(buffers.size(), 3u);
}

TEST(ScanPlan, streams_of_one_scan_run_on_two_threads_at_once) {
  test::ScopedTempDir dir;
  const std::string path = recording(dir);
  const std::string expected = digest(read(path).events);
  const Scan scan = Scan(path, small_chunks()).index(IndexPolicy::kMemory).threads(1);
  std::string got[2];
  std::thread a([&] {
    EventDigest d;
    auto s = scan.chunks();
    while (auto c = s.next()) d.update(c->events);
    got[0] = d.finish();
  });
  EventDigest d;
  auto s = scan.chunks();
  while (auto c = s.next()) d.update(c->events);
  got[1] = d.finish();
  a.join();
  EXPECT_EQ(got[0], expected);
  EXPECT_EQ(got[1], expected);
}

// A FIFO can be read once: a scan that opened its file again for chunks() would find no writer.
TEST(ScanPlan, a_scan_opens_its_file_once) {
  test::ScopedTempDir dir;
  const std::string path = recording(dir, 50'000);
  const std::vector<std::uint8_t> bytes = test::read_file(path);
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    const int fd = ::open(fifo.c_str(), O_WRONLY);
    for (std::size_t at = 0; fd >= 0 && at < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    ::close(fd);
    // A second open would wait for a writer forever: give it one that writes nothing (EOF).
    while (!done.load()) {
      const int again = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (again >= 0) ::close(again);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const Scan scan = Scan(fifo).index(IndexPolicy::kOff);
  EXPECT_EQ(scan.metadata().format, "evt3");
  std::size_t events = 0;
  auto stream = scan.chunks();
  while (auto c = stream.next()) events += c->events.size();
  done = true;
  writer.join();
  EXPECT_EQ(events, 50'000u);
}

}  // namespace
}  // namespace evlib

namespace evlib {
namespace {

// An EVT 2.0 recording of 20 000 events and a thousand times as many triggers.
std::string trigger_heavy_recording(const test::ScopedTempDir& dir) {
  SceneOptions scene;
  scene.event_rate = 2e4;
  scene.trigger_rate = 2e7;
  return test::write_scene(dir.file("triggers.raw"), "evt2", scene, 20'000);
}

// The most triggers a chunk may hold: one input window of 4-byte words past the limit.
constexpr std::size_t kMostTriggers = detail::kTriggerChunk + (std::size_t{1} << 18);

// A recording of many triggers and few events streams in chunks of bounded trigger count, on
// every path (one thread, parallel pieces, Reader), and loses none.
TEST(TriggerStreaming, chunks_hold_a_bounded_number_of_triggers) {
  test::ScopedTempDir dir;
  const std::string path = trigger_heavy_recording(dir);
  const Recording all = read(path);
  ASSERT_GT(all.triggers.size(), std::size_t{1} << 20);
  const std::size_t most = kMostTriggers;
  for (const unsigned threads : {1u, 2u}) {
    std::size_t triggers = 0, events = 0, largest = 0;
    auto stream = Scan(path).index(IndexPolicy::kOff).threads(threads).chunks();
    while (auto c = stream.next()) {
      largest = std::max(largest, c->triggers.size());
      triggers += c->triggers.size();
      events += c->events.size();
    }
    EXPECT_EQ(triggers, all.triggers.size()) << threads;
    EXPECT_EQ(events, all.events.size()) << threads;
    EXPECT_LE(largest, most) << threads;
  }
  Reader reader = Reader::open(path);
  std::size_t triggers = 0, largest = 0;
  while (auto c = reader.next()) {
    largest = std::max(largest, c->triggers.size());
    triggers += c->triggers.size();
  }
  EXPECT_EQ(triggers, all.triggers.size());
  EXPECT_LE(largest, most);
}

}  // namespace
}  // namespace evlib

namespace evlib {
namespace {

TEST(ScanPlan, threads_are_capped_by_the_memory_budget_whatever_is_asked) {
  Scan::Plan plan;
  plan.threads = 1000;
  EXPECT_EQ(plan.thread_count(), 8u) << "the default 64 MiB streaming budget holds eight";
  plan.memory_limit = std::size_t{32} << 20;
  EXPECT_EQ(plan.thread_count(), 4u);
  plan.memory_limit = std::size_t{1} << 20;
  EXPECT_EQ(plan.thread_count(), 1u);
  plan.memory_limit = std::size_t{1} << 30;
  EXPECT_EQ(plan.thread_count(), 128u);
  plan.threads = 3;
  EXPECT_EQ(plan.thread_count(), 3u);
  plan.threads = 0;
  plan.memory_limit = 0;
  EXPECT_GE(plan.thread_count(), 1u);
  EXPECT_LE(plan.thread_count(), 8u);
}

// Batches by count and by time gather the triggers that arrive while a batch fills; dense
// triggers (a thousand between two events) must come out in bounded chunks of their own, not
// pile up until the batch completes, and the batches must be the same as without them.
TEST(TriggerStreaming, batches_by_count_and_by_time_hand_out_triggers_in_bounded_chunks) {
  test::ScopedTempDir dir;
  const std::string path = trigger_heavy_recording(dir);
  const Recording all = read(path);
  ASSERT_GT(all.triggers.size(), 8 * detail::kTriggerChunk);
  const std::size_t most = kMostTriggers;
  const Scan s = Scan(path).index(IndexPolicy::kOff).threads(1);
  struct Run {
    std::string name;
    BatchStream stream;
    std::size_t batch;  // ByCount: events in each batch but the last
  };
  std::vector<Run> runs;
  runs.push_back({"by count", s.batches(ByCount{5000}), 5000});
  runs.push_back({"by time", s.batches(ByTime{100'000}), 0});
  for (Run& run : runs) {
    SCOPED_TRACE(run.name);
    std::size_t triggers = 0, largest = 0, alone = 0;
    std::vector<std::size_t> sizes;
    EventDigest events;
    std::vector<std::int64_t> windows;
    while (auto c = run.stream.next()) {
      largest = std::max(largest, c->triggers.size());
      triggers += c->triggers.size();
      if (c->triggers_only) {
        EXPECT_TRUE(c->events.empty());
        ++alone;
        continue;
      }
      sizes.push_back(c->events.size());
      events.update(c->events);
      windows.push_back(run.stream.window_start());
    }
    EXPECT_EQ(triggers, all.triggers.size());
    EXPECT_LE(largest, most);
    EXPECT_GT(alone, 0u);
    EXPECT_EQ(events.finish(), digest(all.events));
    if (run.batch != 0) {
      ASSERT_FALSE(sizes.empty());
      for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], run.batch) << i;
    } else {
      for (std::size_t i = 1; i < windows.size(); ++i) EXPECT_GT(windows[i], windows[i - 1]) << i;
    }
  }
}

}  // namespace
}  // namespace evlib
