// Reader API: registry, bounds, non-regular inputs.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

TEST(Reader, supported_formats_lists_the_prophesee_formats) {
  auto names = supported_formats();
  std::sort(names.begin(), names.end());
  for (const char* f : {"dat", "evt2", "evt21", "evt3"}) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), std::string(f))) << f;
  }
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";

// On synthetic stand-ins of real recordings and on the real ones.
class ReaderFiles : public test::RecordingsTest {
 protected:
  ReaderFiles() : RecordingsTest({kEvt3, kEvt2, kDat}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(ReaderFiles);

TEST_P(ReaderFiles, detect_format_of_recordings) {
  EXPECT_EQ(detect_format(recording(kEvt3)), "evt3");
  EXPECT_EQ(detect_format(recording(kEvt2)), "evt2");
  EXPECT_EQ(detect_format(recording(kDat)), "dat");
}

TEST_P(ReaderFiles, upper_bound_covers_the_events) {
  for (const std::string& path : recordings({kEvt3, kEvt2, kDat})) {
    Reader r = Reader::open(path);
    const std::size_t bound = r.upper_bound_events();
    const std::size_t n = read(path).events.size();
    EXPECT_GE(bound, n) << path;
    EXPECT_LE(bound, n + n / 2 + 1024) << path << ": bound too loose to size a batch";
  }
}

TEST_P(ReaderFiles, format_option_raw_lets_the_header_choose) {
  ReadOptions o;
  o.format = "raw";
  EXPECT_EQ(read_metadata(recording(kEvt2), o).format, "evt2");
  EXPECT_EQ(read_metadata(recording(kEvt3), o).format, "evt3");
}

TEST_P(ReaderFiles, chunks_carry_metadata) {
  Reader r = Reader::open(recording(kEvt3));
  auto c = r.next();
  ASSERT_TRUE(c.has_value());
  ASSERT_NE(c->events.metadata, nullptr);
  EXPECT_EQ(c->events.metadata->width, 1280u);
  EXPECT_EQ(c->bytes_done, test::read_file(recording(kEvt3)).size());  // 5000 events: one chunk
}

// byte_source.hpp / HACKING.md: "pipes and devices fall back to read() into a reused buffer".
TEST_P(ReaderFiles, reads_a_recording_from_a_pipe) {
  const std::string src = recording(kEvt3);
  const auto bytes = test::read_file(src);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_LT(bytes.size(), 65536u);  // fits the default pipe buffer: no writer thread needed
  ASSERT_EQ(::write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fds[1]);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
  try {
    const Recording rec = read(path);
    EXPECT_EQ(rec.events.size(), 5000u);
    EXPECT_EQ(digest(rec.events), digest(read(src).events));
  } catch (const Error& e) {
    ADD_FAILURE() << "reading from a pipe threw: " << e.what();
  }
  ::close(fds[0]);
}

// Serves bytes through a pipe from a writer thread; path() names the read end. The read end is
// closed on destruction, which ends a writer blocked on a full pipe (EPIPE, SIGPIPE ignored).
class PipeFeeder {
 public:
  explicit PipeFeeder(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {
    ::signal(SIGPIPE, SIG_IGN);
    if (::pipe(fds_) != 0) throw std::runtime_error("pipe failed");
    writer_ = std::thread([this] {
      std::size_t done = 0;
      while (done < bytes_.size()) {
        const ssize_t w = ::write(fds_[1], bytes_.data() + done, bytes_.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += static_cast<std::size_t>(w);
      }
      ::close(fds_[1]);
    });
  }
  ~PipeFeeder() {
    ::close(fds_[0]);
    writer_.join();
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fds_[0]); }

 private:
  std::vector<std::uint8_t> bytes_;
  int fds_[2] = {-1, -1};
  std::thread writer_;
};

void expect_pipe_read_equals_file(const std::string& src) {
  const Recording expected = read(src);
  try {
    PipeFeeder feeder(test::read_file(src));
    const Recording rec = read(feeder.path());
    EXPECT_EQ(rec.metadata->format, expected.metadata->format);
    EXPECT_EQ(rec.metadata->data_offset, expected.metadata->data_offset);
    EXPECT_EQ(rec.events.size(), expected.events.size());
    EXPECT_EQ(digest(rec.events), digest(expected.events));
  } catch (const Error& e) {
    ADD_FAILURE() << src << " through a pipe: " << e.what();
  }
  try {
    PipeFeeder feeder(test::read_file(src));
    ReadOptions o;
    o.chunk_events = 256;
    Reader r = Reader::open(feeder.path(), o);
    EventDigest d;
    while (auto c = r.next()) d.update(c->events);
    EXPECT_EQ(d.finish(), digest(expected.events)) << src << " streamed through a pipe";
  } catch (const Error& e) {
    ADD_FAILURE() << src << " streamed through a pipe: " << e.what();
  }
}

TEST_P(ReaderFiles, reads_large_evt2_from_a_pipe) { expect_pipe_read_equals_file(recording(kEvt2)); }
TEST_P(ReaderFiles, reads_dat_from_a_pipe) { expect_pipe_read_equals_file(recording(kDat)); }
TEST_P(ReaderFiles, reads_evt3_from_a_pipe_in_chunks) { expect_pipe_read_equals_file(recording(kEvt3)); }

TEST_P(ReaderFiles, prefault_thread_does_not_change_results) {
  for (const std::string& path : recordings({kEvt3, kEvt2})) {
    ReadOptions off;
    off.prefault_thread = false;
    EXPECT_EQ(digest(read(path, off).events), digest(read(path).events)) << path;
  }
}

}  // namespace
}  // namespace evlib
