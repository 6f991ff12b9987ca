// The command line used as a hostile user would: special output paths (devices, FIFOs, links,
// names at NAME_MAX), numbers out of range, full disks, signals, a file-size limit, odd header
// bytes. Every failure must be one line on stderr with a documented exit code (README), leave no
// temporary file, and never replace what the output path named. Only synthetic files are used.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/formats.hpp"
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
  // HDF5: its failed close left the file's ID behind, which the library's exit handler closed
  // again (a segfault, exit 139, after the error); and the message now says why the write failed.
  expect_one_line_error(limit + cli() + " convert -q " + q(in) + " " + q(dir.file("o.h5")), kIo, "File too large");
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
  // evlib's writer refuses control characters in a header: they are put in afterwards, in place
  // of a placeholder of the same length, as another tool could have written them.
  wo.header = {{"latin1", "caf\xe9 \xff\xfe"}, {"controls", "aQQ[31mredQ\""}, {"utf8", "caf\xc3\xa9 \xe2\x82\xac"},
               {"broken_utf8", "\xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf"}};
  const std::string path = test::write_events(dir.file("odd.raw"), wo, events);
  std::vector<std::uint8_t> bytes = test::read_file(path);
  const std::string placeholder = "aQQ[31mredQ", controls = "a\x01\x1b[31mred\x7f";
  const auto at = std::search(bytes.begin(), bytes.end(), placeholder.begin(), placeholder.end());
  ASSERT_NE(at, bytes.end());
  std::copy(controls.begin(), controls.end(), at);
  test::write_file(path, bytes);
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

// ---- 11. containers evlib does not read, and binary data after '#' lines ----

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// Bytes that no text reader takes (NULs) after a first line.
std::vector<std::uint8_t> binary_after(const std::string& first) {
  std::vector<std::uint8_t> b = bytes_of(first);
  for (int i = 0; i < 4096; ++i) b.push_back(static_cast<std::uint8_t>((i * 37) & 0xFF));
  return b;
}

TEST(HostileCli, ros_bags_and_mcap_files_are_named_and_never_decoded) {
  test::ScopedTempDir dir;
  struct Case {
    std::string name;
    std::vector<std::uint8_t> bytes;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"events.bag", binary_after("#ROSBAG V2.0\n"), "ROS 1 bag"},
      {"events.aedat", binary_after("#ROSBAG V2.0\n"), "ROS 1 bag"},  // the extension does not decide
      {"events.mcap", binary_after(std::string("\x89MCAP0\r\n", 8)), "MCAP"},
      {"events_0.db3", binary_after(std::string("SQLite format 3\0", 16)), "SQLite"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.file(c.name);
    test::write_file(path, c.bytes);
    for (const char* command : {"info", "dump", "convert -q"}) {
      const std::string out = std::string(command).starts_with("convert") ? " " + q(dir.file("o.csv")) : "";
      SCOPED_TRACE(c.name + " " + command);
      std::string err;
      EXPECT_EQ(test::run_command(cli() + " " + command + " " + q(path) + out, nullptr, &err), 3) << err;
      EXPECT_EQ(line_count(err), 1u) << err;
      EXPECT_NE(err.find(path + ": "), std::string::npos) << err;
      EXPECT_NE(err.find(c.says), std::string::npos) << err;
      EXPECT_NE(err.find("does not read"), std::string::npos) << err;
    }
  }
  EXPECT_FALSE(test::file_exists(dir.file("o.csv")));
}

TEST(HostileCli, binary_data_after_hash_lines_is_not_taken_for_aedat_without_a_version_line) {
  test::ScopedTempDir dir;
  for (const char* name : {"thing.bin", "thing.aedat"}) {
    const std::string path = dir.file(name);
    test::write_file(path, binary_after("# some header\n# created by something\n"));
    expect_one_line_error(cli() + " info " + q(path), 3, "unrecognised file format");
  }
  // With the version line it is AEDAT (1.0: 6-byte records, DVS128).
  const std::string v1 = dir.file("v1.aedat");
  test::write_file(v1, test::with_header("#!AER-DAT1.0\r\n", test::hex_bytes("01 04 00 00 13 88")));
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json " + q(v1), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"format\": \"aedat2\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"events\": 1,"), std::string::npos) << out;
}

// ---- 14. a file that shrinks while it is read ----

TEST(HostileCli, a_file_truncated_during_a_read_fails_naming_both_sizes) {
  test::ScopedTempDir dir;
  const std::string in = recording(dir, 3'000'000);
  struct stat st {};
  ASSERT_EQ(::stat(in.c_str(), &st), 0);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t half = size / 2;
  // dump blocks on the full pipe after its first small chunk, far before half the file; the
  // file is cut while it waits, and the rest of the read finds it shorter.
  const std::string rc = dir.file("rc");
  std::string err;
  test::run_command("{ " + cli() + " dump -q --threads 1 --no-index --chunk 4096 " + q(in) + "; echo $? > " + q(rc) +
                        "; } | { head -c 1000 > /dev/null; truncate -s " + std::to_string(half) + " " + q(in) +
                        "; cat > /dev/null; }",
                    nullptr, &err);
  const auto code = test::read_file(rc);
  EXPECT_EQ(std::string(code.begin(), code.end()), "2\n") << err;
  EXPECT_EQ(line_count(err), 1u) << err;
  EXPECT_NE(err.find(in + ": the file shrank while it was read"), std::string::npos) << err;
  EXPECT_NE(err.find(std::to_string(size) + " bytes expected, " + std::to_string(half) + " now"), std::string::npos) << err;
}

// ---- 17, 20. HDF5: the same statistics on every path, one-line errors ----

bool hdf5_readable() {
  const auto info = format_info("hdf5");
  return info && info->readable;
}

// `info --json`'s "decode" object.
std::string decode_object(const std::string& json) {
  const std::size_t at = json.find("\"decode\"");
  if (at == std::string::npos) return "";
  return json.substr(at, json.find('}', at) - at);
}

TEST(HostileCli, hdf5_decode_statistics_are_the_same_on_one_thread_and_in_parallel) {
  if (!hdf5_readable()) GTEST_SKIP() << "built without HDF5";
  test::ScopedTempDir dir;
  const std::string h5 = dir.file("events.h5");
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 300000 --width 640 --height 480 " + q(h5), nullptr, &err), 0) << err;
  // Read as a 320-wide sensor, half the events fall outside it: damage, counted and named.
  std::string decode[2];
  for (const unsigned threads : {1u, 2u}) {
    ASSERT_EQ(test::run_command(cli() + " info -q --json --width 320 --threads " + std::to_string(threads) + " " + q(h5), &out, &err), 0)
        << err;
    decode[threads - 1] = decode_object(out);
    EXPECT_NE(decode[threads - 1].find("\"first_error_offset\": null"), std::string::npos) << out;
    EXPECT_NE(decode[threads - 1].find("\"first_error\": \"event "), std::string::npos) << out;
    ASSERT_EQ(test::run_command(cli() + " info -q --width 320 --threads " + std::to_string(threads) + " " + q(h5), &out, &err), 0)
        << err;
    EXPECT_NE(out.find("first problem    event "), std::string::npos) << out;
    EXPECT_EQ(out.find("18446744073709551615"), std::string::npos) << out;
  }
  EXPECT_FALSE(decode[0].empty());
  EXPECT_EQ(decode[0], decode[1]);
  ASSERT_EQ(test::run_command(cli() + " convert -q --width 320 " + q(h5) + " " + q(dir.file("o.csv")), &out, &err), 0) << err;
  EXPECT_EQ(err.find("18446744073709551615"), std::string::npos) << err;
  EXPECT_NE(err.find("(first problem: event "), std::string::npos) << err;
}

TEST(HostileCli, damaged_hdf5_files_fail_with_one_plain_line) {
  if (!hdf5_readable()) GTEST_SKIP() << "built without HDF5";
  test::ScopedTempDir dir;
  const std::string h5 = dir.file("events.h5");
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 100000 " + q(h5), nullptr, &err), 0) << err;
  const std::vector<std::uint8_t> whole = test::read_file(h5);
  const std::string cut = dir.file("cut.h5");
  test::write_file(cut, std::vector<std::uint8_t>(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2)));
  expect_one_line_error(cli() + " info " + q(cut), 4,
                        "the file is truncated (" + std::to_string(whole.size() / 2) + " of " + std::to_string(whole.size()));
  // A byte of the superblock changed: its checksum fails. HDF5 then cannot close itself at exit
  // either, which must not print its multi-line report.
  std::vector<std::uint8_t> damaged = whole;
  damaged[24] ^= 0x40;
  const std::string bad = dir.file("bad.h5");
  test::write_file(bad, damaged);
  expect_one_line_error(cli() + " info " + q(bad), 4, bad + ": ");
  test::run_command(cli() + " info " + q(bad), nullptr, &err);
  EXPECT_EQ(err.find("infinite loop"), std::string::npos) << err;
  EXPECT_EQ(err.find("->"), std::string::npos) << err;
}

// ---- 18. NumPy float arrays ----

// A .npy of an (n, 4) little-endian float64 array.
std::vector<std::uint8_t> npy_f8(const std::vector<double>& values) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(values.size() / 4) + ", 4), }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(header.size() & 0xFF),
                                 static_cast<std::uint8_t>(header.size() >> 8)};
  for (const char c : header) b.push_back(static_cast<std::uint8_t>(c));  // (insert: a false -Wstringop-overread)
  const auto* raw = reinterpret_cast<const std::uint8_t*>(values.data());
  b.insert(b.end(), raw, raw + values.size() * sizeof(double));
  return b;
}

TEST(HostileCli, a_nan_row_of_a_float_npy_is_counted_once) {
  test::ScopedTempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::string clean = dir.file("clean.npy"), one_nan = dir.file("nan.npy");
  test::write_file(clean, npy_f8({0.5, 1, 2, 1, 0.75, 3, 4, 0, 1.0, 5, 6, 1}));
  test::write_file(one_nan, npy_f8({0.5, 1, 2, 1, nan, nan, nan, nan, 1.0, 5, 6, 1}));
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info -q --json " + q(clean), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 3,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"corrupt\": 0,"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(cli() + " info -q --json " + q(one_nan), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 2,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"unknown_words\": 1,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"corrupt\": 1,"), std::string::npos) << out;
}

// ---- 12. standard input redirected from a file is that file ----

TEST(HostileCli, convert_and_info_read_standard_input_from_a_file_as_the_file) {
  test::ScopedTempDir dir;
  const std::string csv = dir.file("in.csv");
  test::write_file(csv, bytes_of("t,x,y,p\n1,10,20,1\n2,30,7,0\n3,5,5,1\n"));
  // A CSV states no geometry and EVT 3.0 needs one: it is inferred by a first pass, which needs
  // the input twice.
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " convert - " + q(dir.file("o.raw")) + " < " + q(csv), &out, &err), 0) << err;
  EXPECT_NE(err.find("using 31 x 21 from the events"), std::string::npos) << err;
  const Recording back = read(dir.file("o.raw"));
  EXPECT_EQ(back.events.size(), 3u);
  EXPECT_EQ(back.metadata->width, 31u);
  // A pipe cannot be read twice: a clear refusal naming what to do.
  expect_one_line_error("cat " + q(csv) + " | " + cli() + " convert - " + q(dir.file("p.raw")), 1, "--width");
  // Standard input that something read part of first is what is left, as from a pipe.
  ASSERT_EQ(test::run_command("{ head -c 8 > /dev/null; " + cli() + " info -q --json -; } < " + q(csv), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 3,"), std::string::npos) << out;
  if (hdf5_readable()) {
    const std::string h5 = dir.file("o.h5");
    ASSERT_EQ(test::run_command(cli() + " convert -q - " + q(h5) + " < " + q(csv), nullptr, &err), 0) << err;
    ASSERT_EQ(test::run_command(cli() + " info -q --json - < " + q(h5), &out, &err), 0) << err;
    EXPECT_NE(out.find("\"format\": \"hdf5\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"events\": 3,"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace evlib
