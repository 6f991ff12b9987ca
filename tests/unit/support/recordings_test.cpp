// The test-data policy of tests/support: real recordings come from the recordings directory
// ($EVLIB_RECORDINGS overrides it), a missing one skips a test naming the file and fails it under
// CI=true, and the synthetic stand-ins have the shape of the recordings they stand in for.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

// Sets an environment variable for the life of the object (unset: nullopt), then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Recordings, the_environment_chooses_the_directory_and_missing_files_are_named_in_full) {
  test::ScopedTempDir dir;
  test::write_file(dir.file("here.raw"), {1, 2, 3});
  const ScopedEnv recordings("EVLIB_RECORDINGS", dir.path());
  EXPECT_EQ(test::recordings_dir(), dir.path());
  EXPECT_EQ(test::shared_data("x/y.raw"), dir.path() + "/x/y.raw");
  EXPECT_EQ(test::missing_recording({"here.raw"}), "");
  EXPECT_EQ(test::missing_recording({"here.raw", "gone/away.raw", "also-missing.raw"}), dir.path() + "/gone/away.raw");
}

TEST(Recordings, ci_is_recognised_from_the_environment) {
  {
    const ScopedEnv ci("CI", "true");
    EXPECT_TRUE(test::running_in_ci());
  }
  {
    const ScopedEnv ci("CI", std::nullopt);
    EXPECT_FALSE(test::running_in_ci());
  }
  {
    const ScopedEnv ci("CI", "false");
    EXPECT_FALSE(test::running_in_ci());
  }
}

// Runs one test of this very program (a guarded real-recording test) with the recordings
// directory pointing nowhere; returns its exit status and output.
int run_guarded_test_without_recordings(const std::string& ci, std::string* out) {
  const std::string command = "EVLIB_RECORDINGS=/nonexistent-recordings CI=" + ci +
                              " /proc/" + std::to_string(::getpid()) +
                              "/exe --gtest_filter='On/CliFiles.info_human_output_has_counts/real'";
  return test::run_command(command, out);
}

TEST(Recordings, a_missing_recording_skips_the_test_and_fails_it_under_ci) {
  std::string out;
  EXPECT_EQ(run_guarded_test_without_recordings("", &out), 0) << out;
  EXPECT_NE(out.find("[  SKIPPED ] On/CliFiles.info_human_output_has_counts/real"), std::string::npos) << out;
  EXPECT_NE(out.find("missing real recording /nonexistent-recordings/evt3/evt3_test_pedestrians.raw"), std::string::npos) << out;
  EXPECT_NE(run_guarded_test_without_recordings("true", &out), 0) << out;
  EXPECT_NE(out.find("[  FAILED  ] On/CliFiles.info_human_output_has_counts/real"), std::string::npos) << out;
  EXPECT_NE(out.find("missing real recording /nonexistent-recordings/evt3/evt3_test_pedestrians.raw"), std::string::npos) << out;
}

TEST(Recordings, stand_ins_have_the_format_geometry_and_count_of_their_recordings) {
  struct Expected {
    const char* real;
    const char* format;
    std::uint32_t width, height;  // 0 x 0: none in the file
    std::size_t events;
  };
  for (const Expected& e : {Expected{"evt3/evt3_test_pedestrians.raw", "evt3", 1280, 720, 5000},
                            Expected{"evt2/evt2_sample.raw", "evt2", 640, 480, 539481},
                            Expected{"dat/NCARS_obj_004397_td.dat", "dat", 0, 0, 4407},
                            Expected{"npy/NCARS_obj_004397_td.expelliarmus.npy", "npy", 0, 0, 4407},
                            Expected{"text/slider_depth_events_chunk.txt", "text", 0, 0, 50000},
                            Expected{"aedat4/tonic_sample.aedat4", "aedat4", 320, 240, 111954},
                            Expected{"aedat2/IMU_translBoxes.aedat", "aedat2", 240, 180, 162771}}) {
    ASSERT_TRUE(test::has_stand_in(e.real)) << e.real;
    const Recording rec = read(test::stand_in(e.real));
    EXPECT_EQ(rec.metadata->format, e.format) << e.real;
    EXPECT_EQ(rec.events.size(), e.events) << e.real;
    EXPECT_EQ(rec.stats.corrupt(), 0u) << e.real;
    EXPECT_EQ(rec.metadata->width, e.width) << e.real;
    EXPECT_EQ(rec.metadata->height, e.height) << e.real;
  }
  EXPECT_FALSE(test::has_stand_in("aedat2/header_test_128.aedat_test"));
}

}  // namespace
}  // namespace evlib
