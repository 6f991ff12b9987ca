// Reader API: registry, bounds, non-regular inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
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

TEST(Reader, detect_format_of_real_files) {
  EXPECT_EQ(detect_format(test::shared_data("evt3/evt3_test_pedestrians.raw")), "evt3");
  EXPECT_EQ(detect_format(test::shared_data("evt2/evt2_sample.raw")), "evt2");
  EXPECT_EQ(detect_format(test::shared_data("dat/NCARS_obj_004397_td.dat")), "dat");
}

TEST(Reader, upper_bound_covers_the_events) {
  for (const char* rel : {"evt3/evt3_test_pedestrians.raw", "evt2/evt2_sample.raw", "dat/NCARS_obj_004397_td.dat"}) {
    Reader r = Reader::open(test::shared_data(rel));
    const std::size_t bound = r.upper_bound_events();
    const std::size_t n = read(test::shared_data(rel)).events.size();
    EXPECT_GE(bound, n) << rel;
    EXPECT_LE(bound, n + n / 2 + 1024) << rel << ": bound too loose to size a batch";
  }
}

TEST(Reader, format_option_raw_lets_the_header_choose) {
  ReadOptions o;
  o.format = "raw";
  EXPECT_EQ(read_metadata(test::shared_data("evt2/evt2_sample.raw"), o).format, "evt2");
  EXPECT_EQ(read_metadata(test::shared_data("evt3/evt3_test_pedestrians.raw"), o).format, "evt3");
}

TEST(Reader, chunks_carry_metadata) {
  Reader r = Reader::open(test::shared_data("evt3/evt3_test_pedestrians.raw"));
  auto c = r.next();
  ASSERT_TRUE(c.has_value());
  ASSERT_NE(c->events.metadata, nullptr);
  EXPECT_EQ(c->events.metadata->width, 1280u);
  EXPECT_EQ(c->bytes_done, 36920u);
}

// byte_source.hpp / HACKING.md: "pipes and devices fall back to read() into a reused buffer".
TEST(Reader, reads_a_recording_from_a_pipe) {
  const std::string src = test::shared_data("evt3/evt3_test_pedestrians.raw");
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

}  // namespace
}  // namespace evlib
