// `evlib convert --recursive SRC_DIR DST_DIR --to FORMAT` (run as a subprocess): the layout is
// mirrored with the target's extension, every output holds its input's events, files that are not
// event files are skipped with a note, a failing file is named without stopping the others, a rerun
// skips what was converted and --force redoes it, and a run killed midway leaves no partial output
// and completes when run again.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <utility>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

namespace fs = std::filesystem;

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

void generate(const std::string& path, const std::string& format, std::size_t events, int seed) {
  fs::create_directories(fs::path(path).parent_path());
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q --to " + format + " -n " + std::to_string(events) + " --seed " +
                                  std::to_string(seed) + " " + q(path), nullptr, &err), 0) << err;
}

std::string digest_of(const std::string& path) { return digest(read(path).events); }

// Every regular file under dir, relative to it, sorted.
std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) out.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A source tree: three recordings at three depths and formats, and a file that is not one.
struct SourceTree {
  test::ScopedTempDir dir;
  std::string src = dir.file("src"), dst = dir.file("dst");
  SourceTree() {
    generate(src + "/top.raw", "evt3", 120'000, 1);
    generate(src + "/day1/cam.dat", "dat", 80'000, 2);
    generate(src + "/day1/deep/er/cam.h5", "hdf5", 60'000, 3);
    test::write_file(src + "/day1/README.txt", {'n', 'o', 't', 'e', 's', '\n'});
  }
};

TEST(ConvertRecursive, mirrors_the_tree_and_each_output_holds_its_input) {
  SourceTree t;
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " convert --recursive --jobs 2 --to npz " + q(t.src) + " " + q(t.dst), &out, &err), 0) << err;
  EXPECT_EQ(tree(t.dst), (std::vector<std::string>{"day1/cam.npz", "day1/deep/er/cam.npz", "top.npz"}));
  EXPECT_EQ(digest_of(t.dst + "/top.npz"), digest_of(t.src + "/top.raw"));
  EXPECT_EQ(digest_of(t.dst + "/day1/cam.npz"), digest_of(t.src + "/day1/cam.dat"));
  EXPECT_EQ(digest_of(t.dst + "/day1/deep/er/cam.npz"), digest_of(t.src + "/day1/deep/er/cam.h5"));
  EXPECT_NE(err.find("skipped " + t.src + "/day1/README.txt: not a recognised event file"), std::string::npos) << err;
  EXPECT_NE(out.find("converted 3 file(s)"), std::string::npos) << out;
}

TEST(ConvertRecursive, a_failing_file_is_named_and_the_others_are_converted) {
  SourceTree t;
  // An HDF5 file cut short: detected, then refused when opened.
  const std::vector<std::uint8_t> h5 = test::read_file(t.src + "/day1/deep/er/cam.h5");
  test::write_file(t.src + "/day1/cut.h5", std::vector<std::uint8_t>(h5.begin(), h5.begin() + 20'000));
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " convert -q -r --to evt2 " + q(t.src) + " " + q(t.dst), nullptr, &err), 1) << err;
  EXPECT_EQ(tree(t.dst), (std::vector<std::string>{"day1/cam.raw", "day1/deep/er/cam.raw", "top.raw"}));
  EXPECT_EQ(digest_of(t.dst + "/day1/cam.raw"), digest_of(t.src + "/day1/cam.dat"));
  EXPECT_NE(err.find("1 file(s) failed: " + t.src + "/day1/cut.h5"), std::string::npos) << err;
}

TEST(ConvertRecursive, a_rerun_skips_converted_files_and_force_converts_them_again) {
  SourceTree t;
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " convert -r --to hdf5 " + q(t.src) + " " + q(t.dst), &out, &err), 0) << err;
  const auto written = fs::last_write_time(t.dst + "/top.h5");
  fs::remove(t.dst + "/day1/cam.h5");
  ASSERT_EQ(test::run_command(cli() + " convert -r --to hdf5 " + q(t.src) + " " + q(t.dst), &out, &err), 0) << err;
  EXPECT_NE(out.find("converted 1 file(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("2 already converted"), std::string::npos) << out;
  EXPECT_EQ(fs::last_write_time(t.dst + "/top.h5"), written);
  EXPECT_EQ(digest_of(t.dst + "/day1/cam.h5"), digest_of(t.src + "/day1/cam.dat"));
  ASSERT_EQ(test::run_command(cli() + " convert -r --force --to hdf5 " + q(t.src) + " " + q(t.dst), &out, &err), 0) << err;
  EXPECT_NE(out.find("converted 3 file(s)"), std::string::npos) << out;
}

// a.dat and a.raw both to a.npy: each replaced the other's output (with --force, exit 0, which
// one last depending on the jobs). Neither is converted; both are named.
TEST(ConvertRecursive, inputs_whose_outputs_would_share_a_name_are_refused_and_the_others_converted) {
  SourceTree t;
  generate(t.src + "/day1/cam.raw", "evt3", 1'000, 4);
  std::string out, err;
  EXPECT_EQ(test::run_command(cli() + " convert -r --force --jobs 2 --to hdf5 " + q(t.src) + " " + q(t.dst), &out, &err), 1) << err;
  EXPECT_NE(err.find("day1/cam.dat, day1/cam.raw would all be converted to day1/cam.h5: none converted"), std::string::npos) << err;
  EXPECT_EQ(tree(t.dst), (std::vector<std::string>{"day1/deep/er/cam.h5", "top.h5"}));
  EXPECT_NE(out.find("0 already converted"), std::string::npos) << out;
  // A file that is no recording (README.txt beside README.raw would be; a Metavision .bias beside
  // its .raw) collides with nothing, and a tree converted in place converts again as before.
  test::write_file(t.src + "/top.bias", {'%', ' ', 'b', '\n'});
  fs::remove(t.src + "/day1/cam.raw");
  fs::remove_all(t.dst);
  EXPECT_EQ(test::run_command(cli() + " convert -q -r --to hdf5 " + q(t.src) + " " + q(t.dst), &out, &err), 0) << err;
  EXPECT_EQ(tree(t.dst), (std::vector<std::string>{"day1/cam.h5", "day1/deep/er/cam.h5", "top.h5"}));
  for (int run = 0; run < 2; ++run)
    EXPECT_EQ(test::run_command(cli() + " convert -r --to hdf5 " + q(t.dst) + " " + q(t.dst), &out, &err), 0) << run << ": " << err;
  EXPECT_NE(out.find("3 already converted"), std::string::npos) << out;
}

TEST(ConvertRecursive, refuses_a_missing_source_or_no_target_format) {
  test::ScopedTempDir dir;
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " convert -r --to npz " + q(dir.file("nothing")) + " " + q(dir.file("out")), nullptr, &err), 2)
      << err;
  EXPECT_NE(err.find("is not a directory"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " convert -r " + q(dir.path()) + " " + q(dir.file("out")), nullptr, &err), 1) << err;
  EXPECT_NE(err.find("needs --to"), std::string::npos) << err;
}

// The signal comes once the first output is in place, while the others are being converted
// (one at a time, so that several remain).
class ConvertRecursiveInterrupted : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(ConvertRecursiveInterrupted, leaves_only_complete_outputs_and_a_rerun_completes) {
  const auto [signal, number] = GetParam();
  test::ScopedTempDir dir;
  const std::string src = dir.file("src"), dst = dir.file("dst");
  std::vector<std::string> expected;
  for (int k = 0; k < 8; ++k) {
    const std::string rel = "part" + std::to_string(k / 3) + "/r" + std::to_string(k);
    generate(src + "/" + rel + ".raw", "evt3", 2'000'000, k + 1);
    expected.push_back(rel + ".h5");
  }
  std::sort(expected.begin(), expected.end());
  std::string err;
  const std::string run = cli() + " convert -q -r --jobs 1 --to hdf5 " + q(src) + " " + q(dst);
  // A shell starts background jobs with SIGINT ignored (and evlib keeps an ignored signal
  // ignored, as for nohup): env gives the job the default disposition back.
  const int status = test::run_command("env --default-signal=INT " + run + " & pid=$!; while kill -0 $pid 2>/dev/null && [ -z \"$(find " + q(dst) +
                                           " -name '*.h5' 2>/dev/null)\" ]; do sleep 0.01; done; kill -" + signal +
                                           " $pid; wait $pid", nullptr, &err);
  EXPECT_EQ(status, 128 + number) << err;
  // Whatever was renamed into place is complete, and not everything was.
  std::size_t outputs = 0;
  for (const std::string& rel : tree(dst)) {
    if (fs::path(rel).filename().string().starts_with(".evlib-tmp-")) {
      EXPECT_EQ(std::string(signal), "KILL") << rel << " left by SIG" << signal;  // a handled signal removes it
      continue;
    }
    ++outputs;
    EXPECT_EQ(digest_of(dst + "/" + rel), digest_of(src + "/" + fs::path(rel).replace_extension(".raw").string())) << rel;
  }
  EXPECT_GE(outputs, 1u);
  EXPECT_LT(outputs, expected.size());
  ASSERT_EQ(test::run_command(run, nullptr, &err), 0) << err;
  EXPECT_EQ(tree(dst), expected);  // no temporary file left either
  for (const std::string& rel : expected) {
    EXPECT_EQ(digest_of(dst + "/" + rel), digest_of(src + "/" + fs::path(rel).replace_extension(".raw").string())) << rel;
  }
}

INSTANTIATE_TEST_SUITE_P(BySignal, ConvertRecursiveInterrupted, ::testing::Values(std::pair{"INT", 2}, std::pair{"TERM", 15}, std::pair{"KILL", 9}),
                         [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace evlib
