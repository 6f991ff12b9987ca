// Parallel decoding without an index: pieces resynchronised at sync points and stitched in
// order must give exactly what one thread gives, on clean and on damaged input.
#include "io/parallel_chunks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::ParallelChunks;
using detail::ParallelPlan;

struct Decoded {
  EventBatch events;
  TriggerBatch triggers;
  DecodeStats stats;
  std::size_t redecoded = 0;
};

void append(EventBatch& out, const EventBatch& chunk) {
  const std::size_t at = out.size(), n = chunk.size();
  ASSERT_LE(at + n, out.capacity());
  std::copy(chunk.t().begin(), chunk.t().end(), out.t_data() + at);
  std::copy(chunk.x().begin(), chunk.x().end(), out.x_data() + at);
  std::copy(chunk.y().begin(), chunk.y().end(), out.y_data() + at);
  std::copy(chunk.p().begin(), chunk.p().end(), out.p_data() + at);
  out.set_size(at + n);
}

Decoded decode_in_pieces(const std::string& path, unsigned threads, std::uint64_t piece_bytes, std::size_t chunk = 5000) {
  ReadOptions options;
  auto first = detail::open_format(path, options);
  EXPECT_TRUE(ParallelChunks::usable(*first.reader, options)) << path;
  ParallelPlan plan;
  plan.threads = threads;
  plan.piece_bytes = piece_bytes;
  plan.chunk_events = chunk;
  ParallelChunks pieces([&] { return detail::open_format(path, options); }, first.metadata, plan);
  Decoded out;
  out.events = EventBatch::with_capacity(first.reader->upper_bound_events());
  EventBatch chunk_batch;
  TriggerBatch tr;
  while (pieces.next(chunk_batch, tr)) {
    append(out.events, chunk_batch);
    out.triggers.append(tr);
  }
  out.stats = pieces.stats();
  out.redecoded = pieces.redecoded_pieces();
  return out;
}

// `clean`: undamaged input with sync points well inside each piece, where every speculative
// start must agree with its predecessor (a piece decoded twice costs its parallelism).
void expect_same_as_one_thread(const std::string& path, unsigned threads, std::uint64_t piece_bytes, bool clean = false) {
  const Recording whole = read(path);
  const Decoded split = decode_in_pieces(path, threads, piece_bytes);
  if (clean) EXPECT_EQ(split.redecoded, 0u) << path << " pieces of " << piece_bytes;
  EXPECT_EQ(split.events.size(), whole.events.size()) << path << " pieces of " << piece_bytes;
  EXPECT_EQ(digest(split.events), digest(whole.events)) << path << " pieces of " << piece_bytes;
  EXPECT_EQ(split.triggers.t, whole.triggers.t) << path;
  EXPECT_EQ(split.triggers.channel, whole.triggers.channel) << path;
  EXPECT_EQ(split.stats.words, whole.stats.words) << path;
  EXPECT_EQ(split.stats.counters(), whole.stats.counters()) << path;
}

std::string synthetic(const test::ScopedTempDir& dir, const std::string& format, std::size_t events, double rate) {
  SceneOptions so;
  so.event_rate = rate;
  so.t_start = (std::int64_t{1} << 24) - 100'000;  // an EVT 3.0 wrap right away
  so.run_fraction = 0.4;                          // vectors
  so.trigger_rate = format == "dat" ? 0 : 20;  // a DAT file holds one event type
  return test::write_scene(dir.file("scene." + (format == "dat" ? std::string("dat") : format + ".raw")), format, so,
                           events);
}

TEST(ParallelChunks, evt3_with_time_wraps_equals_one_thread_for_any_piece_size) {
  test::ScopedTempDir dir;
  // 120 s of sensor time at 5 k events/s: seven 2^24 us wraps inside the file.
  const std::string path = synthetic(dir, "evt3", 600'000, 5e3);
  for (const std::uint64_t piece : {4096u, 65'536u, 300'000u}) {
    for (const unsigned threads : {2u, 3u}) expect_same_as_one_thread(path, threads, piece, piece > 4096);
  }
}

TEST(ParallelChunks, a_forked_child_gets_an_error_instead_of_waiting_for_the_parents_threads) {
  // A stream started before fork() (a Python iterator continued in a DataLoader worker) has no
  // decoder threads in the child: next() waited forever there, and destroying it would have
  // joined threads that do not exist.
  test::ScopedTempDir dir;
  const std::string path = synthetic(dir, "evt3", 300'000, 5e3);
  ReadOptions options;
  auto first = detail::open_format(path, options);
  ParallelPlan plan;
  plan.threads = 2;
  plan.piece_bytes = 64 << 10;
  plan.chunk_events = 5000;
  auto pieces = std::make_unique<ParallelChunks>([&] { return detail::open_format(path, options); }, first.metadata, plan);
  EventBatch chunk;
  TriggerBatch triggers;
  ASSERT_TRUE(pieces->next(chunk, triggers));
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    int status = 1;
    try {
      pieces->next(chunk, triggers);
    } catch (const Error& e) {
      status = std::string(e.what()).find("did not survive fork()") != std::string::npos ? 0 : 2;
    }
    pieces.reset();  // lets go of the parent's threads without joining them
    ::_exit(status);
  }
  int status = -1;
  for (int waited = 0; waited < 300 && ::waitpid(child, &status, WNOHANG) == 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (status == -1) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL() << "the forked child still waited after 30 s";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  while (pieces->next(chunk, triggers)) {  // the parent's stream goes on
  }
}

TEST(ParallelChunks, evt2_and_dat_equal_one_thread) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt2", "dat"}) {
    const std::string path = synthetic(dir, format, 300'000, 5e4);
    for (const std::uint64_t piece : {4096u, 100'000u}) expect_same_as_one_thread(path, 2, piece, piece > 4096);
  }
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kNpy = "npy/NCARS_obj_004397_td.expelliarmus.npy";
const std::vector<std::string> kSplittable = {kEvt3, "evt2/evt2_sample.raw", "dat/NCARS_obj_004397_td.dat",
                                              "aedat2/IMU_translBoxes.aedat"};

// On synthetic stand-ins of real recordings and on the real ones.
class ParallelChunksFiles : public test::RecordingsTest {
 protected:
  ParallelChunksFiles() : RecordingsTest({kEvt3, kNpy, kSplittable[1], kSplittable[2], kSplittable[3]}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(ParallelChunksFiles);

TEST_P(ParallelChunksFiles, recordings_equal_one_thread) {
  for (const std::string& path : recordings(kSplittable)) {
    const auto size = std::filesystem::file_size(path);
    expect_same_as_one_thread(path, 2, 4096);
    expect_same_as_one_thread(path, 2, size / 5 + 1, true);
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ParallelChunks, randomly_damaged_input_equals_one_thread) {
  test::ScopedTempDir dir;
  const std::string bytes = read_bytes(synthetic(dir, "evt3", 200'000, 5e3));
  const std::size_t header = bytes.find("% end\n") + 6;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::string damaged = bytes;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> where(header, damaged.size() - 1);
    for (int i = 0; i < 400; ++i) damaged[where(rng)] = static_cast<char>(rng());
    const std::string path = dir.file("damaged" + std::to_string(seed) + ".raw");
    std::ofstream(path, std::ios::binary) << damaged;
    expect_same_as_one_thread(path, 2, 4096);
  }
}

TEST(ParallelChunks, a_piece_without_a_sync_point_is_decoded_again_from_its_predecessor) {
  test::ScopedTempDir dir;
  std::string bytes = read_bytes(synthetic(dir, "evt3", 200'000, 5e3));
  const std::size_t data = bytes.find("% end\n") + 6;
  // 6000 bytes of ADDR_X words (no TIME_HIGH) across the start of piece 3: its reader finds no
  // sync point within its 2 KiB search, starts without a time base and must disagree.
  const std::size_t from = data + 3 * 4096 - 100;
  for (std::size_t i = from; i < from + 6000; i += 2) {
    bytes[i] = 0x10;
    bytes[i + 1] = 0x21;  // type 0x2, x = 0x110
  }
  const std::string path = dir.file("no_sync.raw");
  std::ofstream(path, std::ios::binary) << bytes;
  expect_same_as_one_thread(path, 2, 4096);
  EXPECT_GE(decode_in_pieces(path, 2, 4096).redecoded, 1u);
}

TEST_P(ParallelChunksFiles, is_not_used_where_file_order_matters_more_than_speed) {
  const std::string path = recording(kEvt3);
  auto opened = detail::open_format(path, ReadOptions{});
  ReadOptions strict;
  strict.strict = true;
  EXPECT_FALSE(ParallelChunks::usable(*opened.reader, strict));
  ReadOptions shifted;
  shifted.metavision_time_shift = true;
  EXPECT_FALSE(ParallelChunks::usable(*opened.reader, shifted));
  ReadOptions window;
  window.filter.t0 = 0;
  window.filter.t1 = 1000;
  EXPECT_FALSE(ParallelChunks::usable(*opened.reader, window));
  auto npy = detail::open_format(recording(kNpy), ReadOptions{});
  EXPECT_FALSE(npy.reader->can_split());
}

}  // namespace
}  // namespace evlib
