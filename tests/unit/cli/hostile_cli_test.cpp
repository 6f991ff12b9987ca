// The command line used as a hostile user would: special output paths (devices, FIFOs, links,
// names at NAME_MAX), numbers out of range, full disks, signals, a file-size limit, odd header
// bytes. Every failure must be one line on stderr with a documented exit code (README), leave no
// temporary file, and never replace what the output path named. Only synthetic files are used.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/synth.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

constexpr int kUsage = 64;
constexpr int kIo = 2;

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

std::size_t line_count(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// A small synthetic EVT 3.0 recording in dir.
std::string recording(const test::ScopedTempDir& dir, std::size_t events = 20000) {
  return test::write_scene(dir.file("in.raw"), "evt3", SceneOptions{}, events);
}

std::vector<std::string> sorted_names(const std::string& dir) {
  auto names = test::list_dir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

mode_t file_type(const std::string& path, bool follow = true) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return 0;
  return st.st_mode & S_IFMT;
}

// Runs command, which must fail with `code` and one line on stderr containing `needle`.
void expect_one_line_error(const std::string& command, int code, const std::string& needle) {
  SCOPED_TRACE(command);
  std::string out, err;
  EXPECT_EQ(test::run_command(command, &out, &err), code) << err;
  EXPECT_EQ(line_count(err), 1u) << err;
  EXPECT_NE(err.find(needle), std::string::npos) << err;
}

// ---- 1. output paths that are not plain files ----

TEST(HostileCli, convert_writes_into_dev_null_in_place_without_force_and_keeps_it_a_device) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  for (const char* format : {"npy", "npz", "csv", "evt3"}) {
    std::string err;
    EXPECT_EQ(test::run_command(cli() + " convert -q --to " + format + " " + q(in) + " /dev/null", nullptr, &err), 0)
        << format << ": " << err;
    EXPECT_EQ(file_type("/dev/null", false), S_IFCHR) << format;
  }
  // A link to the device is written through, and stays a link.
  const std::string link = dir.file("sink");
  ASSERT_EQ(::symlink("/dev/null", link.c_str()), 0);
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " convert -q --force --to npy " + q(in) + " " + q(link), nullptr, &err), 0) << err;
  EXPECT_EQ(file_type(link, false), S_IFLNK);
  EXPECT_EQ(file_type("/dev/null", false), S_IFCHR);
  // HDF5 needs a regular file: a clear refusal, not a temporary file beside /dev/null.
  expect_one_line_error(cli() + " convert -q --to hdf5 " + q(in) + " /dev/null", kIo, "regular file");
}

TEST(HostileCli, convert_streams_into_a_fifo_and_leaves_it_a_fifo) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::string err;
  const std::string got = dir.file("got.csv");
  ASSERT_EQ(test::run_command("cat " + q(fifo) + " > " + q(got) + " & timeout 60 " + cli() + " convert -q --to csv " + q(in) +
                                  " " + q(fifo) + "; rc=$?; wait; exit $rc",
                              nullptr, &err), 0) << err;
  EXPECT_EQ(file_type(fifo, false), S_IFIFO);
  EXPECT_EQ(digest(read(got).events), digest(read(in).events));
  // A format finished by seeking back is refused before anything is written.
  std::string out;
  EXPECT_EQ(test::run_command("cat " + q(fifo) + " | wc -c & timeout 60 " + cli() + " convert -q --to npy " + q(in) + " " +
                                  q(fifo) + "; rc=$?; wait; exit $rc",
                              &out, &err), kIo);
  EXPECT_EQ(line_count(err), 1u) << err;
  EXPECT_NE(err.find("regular file"), std::string::npos) << err;
  EXPECT_EQ(std::stoul(out), 0u) << "bytes reached the FIFO before the refusal";
  EXPECT_EQ(file_type(fifo, false), S_IFIFO);
}

TEST(HostileCli, convert_follows_symbolic_links_to_their_target) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  test::write_file(dir.file("target.csv"), {'o', 'l', 'd'});
  ASSERT_EQ(::symlink("target.csv", dir.file("link.csv").c_str()), 0);
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " convert -q --force " + q(in) + " " + q(dir.file("link.csv")), nullptr, &err), 0) << err;
  EXPECT_EQ(file_type(dir.file("link.csv"), false), S_IFLNK);
  EXPECT_EQ(digest(read(dir.file("target.csv")).events), digest(read(in).events));
  // A dangling link: its target is created, the link stays.
  ASSERT_EQ(::symlink("made.csv", dir.file("dangling.csv").c_str()), 0);
  ASSERT_EQ(test::run_command(cli() + " convert -q " + q(in) + " " + q(dir.file("dangling.csv")), nullptr, &err), 0) << err;
  EXPECT_EQ(file_type(dir.file("dangling.csv"), false), S_IFLNK);
  EXPECT_EQ(file_type(dir.file("made.csv"), false), S_IFREG);
  // Without --force an existing target is kept, through a link too.
  expect_one_line_error(cli() + " convert -q " + q(in) + " " + q(dir.file("link.csv")), kIo, "--force");
}

TEST(HostileCli, convert_refuses_directories_clearly) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  expect_one_line_error(cli() + " convert -q --force --to csv " + q(in) + " " + q(dir.path()), kIo, "is a directory");
  expect_one_line_error(cli() + " convert -q --to csv " + q(in) + " " + q(dir.file("no/such/dir/o.csv")), kIo, "does not exist");
}

// ---- 2, 6, 13, 21. the command line ----

TEST(HostileCli, out_of_range_numbers_are_usage_errors_before_any_work) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  const std::string out = q(dir.file("o.csv"));
  const std::vector<std::string> commands = {
      "info --chunk -1 " + q(in), "info --chunk 18446744073709551615 " + q(in), "dump --chunk -5 " + q(in),
      "convert --chunk -1 " + q(in) + " " + out, "bench --stream --chunk -1 " + q(in),
      "bench --sweep-chunks --chunk-sizes 65536,-5 " + q(in), "bench --compare-threads 1,0 " + q(in),
      "info --threads 1000 " + q(in), "info --threads -1 " + q(in), "bench --threads 100000 " + q(in),
      "info --memory-limit -64M " + q(in), "info --memory-limit 1e9 " + q(in), "info --memory-limit 100 " + q(in),
      "dump -n -1 " + q(in), "info --width -1 " + q(in), "bench --runs 0 " + q(in),
      "generate -n -1 " + out, "generate --rate nan " + out, "generate --t-start -5 " + out,
      "generate --run-fraction 2 " + out};
  for (const auto& command : commands) {
    expect_one_line_error(cli() + " " + command, kUsage, "--");
  }
  EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"in.raw"});
}

TEST(HostileCli, time_options_reject_overflow_infinity_and_nan) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  for (const char* value : {"1e30s", "9223372036854775807us", "inf", "-inf", "nan", "1.5.2s", "12h", "s", ""}) {
    expect_one_line_error(cli() + " info -q --from " + q(value) + " " + q(in), kUsage, "--from");
    expect_one_line_error(cli() + " dump -q --to " + q(value) + " " + q(in), kUsage, "--to");
  }
  expect_one_line_error(cli() + " info -q --from 2s --to 1s " + q(in), kUsage, "before it starts");
}

TEST(HostileCli, time_units_give_the_same_window) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir, 200000);
  const Recording all = read(in);
  const std::int64_t t0 = all.events.t()[all.events.size() / 3], t1 = all.events.t()[all.events.size() / 2];
  const std::size_t want = test::events_between(all.events, t0, t1).size();
  ASSERT_GT(want, 0u);
  const std::string us0 = std::to_string(t0), us1 = std::to_string(t1);
  auto ms = [](std::int64_t us) { return std::to_string(us / 1000) + "." + std::to_string(1000 + us % 1000).substr(1) + "ms"; };
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {us0, us1}, {us0 + "us", us1 + "us"}, {ms(t0), ms(t1)}}) {
    std::string out, err;
    ASSERT_EQ(test::run_command(cli() + " dump -q --no-index --from " + from + " --to " + to + " " + q(in), &out, &err), 0) << err;
    EXPECT_EQ(line_count(out), want + 1) << from << " " << to;
  }
}

TEST(HostileCli, malformed_or_wrapping_regions_are_usage_errors) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  for (const char* roi : {"4294967296,0,100,100", "0,0,4294967396,100", "0,0,65537,10", "1,2,3", "1,2,3,4,5", "a,b,c,d",
                          "-1,0,5,5", "1,,2,3", "5,0,1,1", " 1,2,3,4", "1,2,3,4 ", "0x10,0,20,20"}) {
    expect_one_line_error(cli() + " info -q --roi " + q(roi) + " " + q(in), kUsage, "--roi");
  }
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " dump -q --no-index --roi 0,0,640,360 " + q(in), &out, &err), 0) << err;
  EXPECT_EQ(line_count(out), scan(in).roi(0, 0, 640, 360).collect().size() + 1);
}

TEST(HostileCli, usage_errors_exit_64_with_one_line_and_help_lists_the_exit_codes) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  expect_one_line_error(cli(), kUsage, "subcommand");
  expect_one_line_error(cli() + " frobnicate", kUsage, "unknown command 'frobnicate'");
  expect_one_line_error(cli() + " info", kUsage, "FILE");
  expect_one_line_error(cli() + " info --bogus " + q(in), kUsage, "--bogus");
  expect_one_line_error(cli() + " info " + q(in) + " extra", kUsage, "extra");
  expect_one_line_error(cli() + " bench --runs many " + q(in), kUsage, "--runs");
  expect_one_line_error(cli() + " dump --polarity 2 " + q(in), kUsage, "--polarity");
  expect_one_line_error(cli() + " info --time-unit weeks " + q(in), kUsage, "--time-unit");
  std::string out;
  ASSERT_EQ(test::run_command(cli() + " --help", &out), 0);
  EXPECT_NE(out.find("64"), std::string::npos) << out;
  EXPECT_NE(out.find("Exit codes"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(cli() + " --version", &out), 0);
}

// ---- 3. write errors on standard output ----

TEST(HostileCli, a_full_standard_output_fails_every_printing_command) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  for (const std::string command : {"dump", "dump --csv -n 3", "dump --triggers", "info", "info --json --digest"}) {
    expect_one_line_error(cli() + " " + command + " -q " + q(in) + " > /dev/full", kIo, "standard output");
  }
  expect_one_line_error(cli() + " convert " + q(in) + " " + q(dir.file("o.csv")) + " > /dev/full", kIo, "standard output");
}

// ---- 4. signals and file-size limits ----

TEST(HostileCli, sighup_and_sigterm_leave_no_temporary_file) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  // convert: input on a pipe held open, the signal after 1 s; it unwinds and says so.
  for (const auto& [signal, code] : std::vector<std::pair<std::string, int>>{{"HUP", 129}, {"TERM", 143}}) {
    std::string err;
    EXPECT_EQ(test::run_command("{ cat " + q(in) + "; sleep 3; } | timeout --preserve-status -s " + signal + " 1 " + cli() +
                                    " convert -q --format evt3 - " + q(dir.file("o.txt")),
                                nullptr, &err), code) << err;
    EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  }
  // generate: killed in the middle of writing.
  for (const char* signal : {"HUP", "TERM", "ALRM", "USR1"}) {
    const std::string command = cli() + " generate -q -n 4000000000 " + q(dir.file("big.raw")) + " & pid=$!; sleep 0.5; kill -" +
                                signal + " $pid; wait $pid";
    EXPECT_GT(test::run_command(command), 128) << signal;
  }
  EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"in.raw"});
}

TEST(HostileCli, a_file_size_limit_fails_writes_cleanly_and_never_fails_a_read) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir, 3'000'000);  // its time index is over 4 KiB
  const std::string limit = "ulimit -f 4; ";           // 512-byte blocks (dash) or KiB (bash): at most 4 KiB
  expect_one_line_error(limit + cli() + " convert -q " + q(in) + " " + q(dir.file("o.csv")), kIo, "File too large");
  // info and dump cannot save the index cache under the limit: they skip it.
  const std::string cache = dir.file("cache");
  for (const char* command : {"info --json", "dump -n 2"}) {
    std::string out, err;
    EXPECT_EQ(test::run_command(limit + "XDG_CACHE_HOME=" + q(cache) + " " + cli() + " " + command + " -q " + q(in), &out, &err), 0)
        << command << ": " << err;
    EXPECT_FALSE(out.empty()) << command;
  }
  EXPECT_TRUE(test::list_dir(cache + "/evlib").empty());
  EXPECT_EQ(sorted_names(dir.path()), (std::vector<std::string>{"cache", "in.raw"}));
}

// ---- 12. standard input that is a regular file ----

TEST(HostileCli, info_and_dump_read_standard_input_redirected_from_a_regular_file) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json --digest -q - < " + q(in), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 20000"), std::string::npos) << out;
  EXPECT_NE(out.find(digest(read(in).events)), std::string::npos) << out;
  ASSERT_EQ(test::run_command(cli() + " dump -q -n 5 --from 1us - < " + q(in), &out, &err), 0) << err;
  EXPECT_EQ(line_count(out), 6u) << out;
}

// ---- 15. time beyond what a RAW encoding keeps ----

TEST(HostileCli, generate_warns_when_evt3_or_evt2_cannot_keep_the_start_time) {
  test::ScopedTempDir dir;
  struct Case {
    std::string args;
    bool warns;
  };
  const std::vector<Case> cases = {{"--to evt3 --t-start 16777216", true},  {"--t-start 20000000", true},
                                   {"--to evt3 --t-start 16000000", false}, {"--to evt2 --t-start 20000000", false},
                                   {"--to evt2 --t-start 17179869184", true}, {"--to dat --t-start 20000000", false}};
  int k = 0;
  for (const auto& c : cases) {
    std::string err;
    const std::string out = dir.file("g" + std::to_string(k++) + ".raw");
    ASSERT_EQ(test::run_command(cli() + " generate -q -n 1000 " + c.args + " " + q(out), nullptr, &err), 0) << err;
    EXPECT_EQ(err.find("warning:") != std::string::npos, c.warns) << c.args << ": " << err;
    if (c.warns) EXPECT_NE(err.find("modulo 2^"), std::string::npos) << err;
  }
}

// ---- 16. header bytes in JSON and on a terminal ----

TEST(HostileCli, info_json_is_valid_json_whatever_bytes_the_header_holds) {
  test::ScopedTempDir dir;
  SceneOptions scene;
  EventBatch events = EventBatch::with_capacity(1000);
  TriggerBatch triggers;
  SceneGenerator(scene).generate(events, triggers, 1000);
  WriteOptions wo;
  wo.width = scene.width;
  wo.height = scene.height;
  wo.header = {{"latin1", "caf\xe9 \xff\xfe"}, {"controls", "a\x01\x1b[31mred\x7f\""}, {"utf8", "caf\xc3\xa9 \xe2\x82\xac"},
               {"broken_utf8", "\xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf"}};
  const std::string path = test::write_events(dir.file("odd.raw"), wo, events);
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json -q " + q(path) + " | python3 -c 'import json,sys; "
                                      "h=json.load(sys.stdin)[\"header\"]; print(h[\"latin1\"]); print(h[\"utf8\"])'",
                              &out, &err), 0) << err;
  EXPECT_EQ(out, "caf\xc3\xa9 \xc3\xbf\xc3\xbe\ncaf\xc3\xa9 \xe2\x82\xac\n");
  // The human output shows control characters escaped, never raw (an escape sequence would
  // drive the terminal).
  ASSERT_EQ(test::run_command(cli() + " info -q " + q(path), &out, &err), 0) << err;
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("\\x1b[31mred"), std::string::npos) << out;
}

// ---- 19. names at NAME_MAX ----

TEST(HostileCli, outputs_named_at_name_max_are_written) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir);
  const std::string stem(251, 'n');  // + ".npz" = 255 = NAME_MAX
  for (const char* ext : {".npz", ".csv", ".raw"}) {
    const std::string out = dir.file(stem + ext);
    std::string err;
    ASSERT_EQ(test::run_command(cli() + " convert -q " + q(in) + " " + q(out), nullptr, &err), 0) << ext << ": " << err;
    EXPECT_EQ(read(out).events.size(), 20000u) << ext;
  }
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 100 " + q(dir.file(std::string(251, 'g') + ".dat")), nullptr, &err), 0) << err;
  EXPECT_EQ(test::list_dir(dir.path()).size(), 5u);
}

}  // namespace
}  // namespace evlib
