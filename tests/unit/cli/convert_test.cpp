// `evlib convert` (run as a subprocess) and the writer round trips it relies on: every pair of
// formats on the real files and on synthetic stand-ins of them (ConvertFiles), overwrite and
// failure semantics, triggers, geometry, SIGINT, bounded memory.
//
// What a target can represent (the documented exceptions to "same digest"):
//   - EVT 3.0 keeps time modulo 2^24 µs from the first event on (its first TIME_HIGH has 12 bits),
//     EVT 2.0 modulo 2^34 µs, DAT modulo 2^32 µs with gaps below 2^31 µs; all three need
//     non-decreasing time and coordinates below 2048 (RAW) or 16384 (DAT);
//   - text / CSV (integer µs), .npy and .npz hold any event exactly; none of them, nor DAT, holds
//     external triggers (convert refuses unless --drop-triggers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/summary.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

bool supported(const std::string& name) {
  const auto all = supported_formats();
  return std::find(all.begin(), all.end(), name) != all.end();
}

// File name extension and --to argument for a target format.
std::string target_name(const std::string& format) {
  if (format == "evt2" || format == "evt3" || format == "evt21") return "out." + format + ".raw";
  if (format == "text") return "out.txt";
  if (format == "hdf5") return "out.h5";
  return "out." + format;
}

struct Profile {
  Summary summary;
  bool sorted = true;
  std::int64_t max_gap = 0;
};

Profile profile(const EventBatch& events) {
  Profile p;
  p.summary.add(events);
  const auto t = events.t();
  for (std::size_t i = 1; i < t.size(); ++i) {
    p.sorted &= t[i] >= t[i - 1];
    p.max_gap = std::max(p.max_gap, t[i] - t[i - 1]);
  }
  return p;
}

// Whether `format` stores these events exactly (see the header comment).
bool representable(const std::string& format, const Profile& p) {
  const Summary& s = p.summary;
  if (s.events == 0) return true;
  const bool raw_ok = p.sorted && s.t_min >= 0 && s.x_max < 2048 && s.y_max < 2048;
  if (format == "evt3") return raw_ok && s.t_first < (std::int64_t{1} << 24);
  if (format == "evt2" || format == "evt21") return raw_ok && s.t_first < (std::int64_t{1} << 34);
  if (format == "dat") {
    return p.sorted && s.t_min >= 0 && s.t_first < (std::int64_t{1} << 32) && p.max_gap < (std::int64_t{1} << 31) &&
           s.x_max < 16384 && s.y_max < 16384;
  }
  return true;  // text, csv, npy, npz, and any other writer is expected to be lossless
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";
const std::string kText = "text/slider_depth_events_chunk.txt";

std::vector<std::string> real_inputs() {
  std::vector<std::string> in = {kEvt3, kEvt2, kDat, kText, "npy/NCARS_obj_004397_td.expelliarmus.npy",
                                 "npy/evt3_test_pedestrians.expelliarmus.npy"};
  if (supported("aedat4")) in.push_back("aedat4/tonic_sample.aedat4");
  if (supported("aedat2")) in.push_back("aedat2/IMU_translBoxes.aedat");
  return in;
}

class ConvertFiles : public test::RecordingsTest {
 protected:
  ConvertFiles() : RecordingsTest(real_inputs()) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(ConvertFiles);

// ---- library round trips: every writable format ----

TEST(WriterRoundTrip, every_writable_format_round_trips_a_synthetic_recording) {
  SceneOptions so;
  so.trigger_rate = 2000;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(200000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 200000);
  ASSERT_GT(triggers.size(), 0u);
  const std::string want = digest(events);
  test::ScopedTempDir dir;
  for (const std::string& format : writable_formats()) {
    SCOPED_TRACE(format);
    WriteOptions wo;
    wo.format = format;
    wo.width = so.width;
    wo.height = so.height;
    const std::string path = dir.file("rt-" + target_name(format));
    bool with_triggers = true;
    try {
      test::write_events(path, wo, events, triggers);
    } catch (const InvalidArgument&) {
      with_triggers = false;  // the format has no place for triggers: events only
      test::write_events(path, wo, events);
    }
    const Recording rec = read(path);
    EXPECT_EQ(digest(rec.events), want);
    EXPECT_EQ(rec.stats.corrupt(), 0u);
    if (with_triggers) EXPECT_TRUE(test::same_triggers(rec.triggers, triggers)) << rec.triggers.size();
  }
}

// ---- the command ----

TEST_P(ConvertFiles, every_pair_of_formats_keeps_what_the_target_can_hold) {
  for (const std::string& in : recordings(real_inputs())) {
    const std::string input = in.substr(in.find_last_of('/') + 1);
    test::ScopedTempDir dir;
    const Recording src = read(in);
    const Profile prof = profile(src.events);
    const std::string want = digest(src.events);
    for (const std::string& format : writable_formats()) {
      SCOPED_TRACE(input + " -> " + format);
      const std::string out = dir.file(target_name(format));
      std::string stdout_text, err;
      const int rc = test::run_command(cli() + " convert -q --force --drop-triggers --to " + format + " " + q(in) + " " + q(out),
                                       &stdout_text, &err);
      if (representable(format, prof)) {
        ASSERT_EQ(rc, 0) << err;
        const Recording back = read(out);
        EXPECT_EQ(back.events.size(), src.events.size());
        EXPECT_EQ(digest(back.events), want);
      } else if (rc == 0) {
        // Lossy only in time (see the header comment): coordinates and polarities survive.
        const Recording back = read(out);
        ASSERT_EQ(back.events.size(), src.events.size());
        EXPECT_TRUE(std::equal(back.events.x().begin(), back.events.x().end(), src.events.x().begin()));
        EXPECT_TRUE(std::equal(back.events.y().begin(), back.events.y().end(), src.events.y().begin()));
        EXPECT_TRUE(std::equal(back.events.p().begin(), back.events.p().end(), src.events.p().begin()));
      } else {
        EXPECT_FALSE(test::file_exists(out)) << "a failed convert left " << out;
      }
    }
    // Nothing but finished outputs in the directory: no temporary or spool file survived.
    for (const auto& name : test::list_dir(dir.path())) EXPECT_EQ(name.find("evlib-tmp"), std::string::npos) << name;
    for (const auto& name : test::list_dir(dir.path())) EXPECT_EQ(name.find("evlib-spool"), std::string::npos) << name;
  }
}

TEST_P(ConvertFiles, prints_a_summary_and_the_output_reads_back) {
  test::ScopedTempDir dir;
  const std::string out = dir.file("p.npz");
  std::string stdout_text, err;
  ASSERT_EQ(test::run_command(cli() + " convert " + q(recording(kEvt3)) + " " + q(out),
                              &stdout_text, &err), 0) << err;
  EXPECT_NE(stdout_text.find("converted 5000 events"), std::string::npos) << stdout_text;
  EXPECT_NE(stdout_text.find("(npz)"), std::string::npos) << stdout_text;
  EXPECT_EQ(read(out).events.size(), 5000u);
}

TEST_P(ConvertFiles, refuses_to_overwrite_without_force) {
  test::ScopedTempDir dir;
  const std::string out = dir.file("o.txt");
  test::write_file(out, {'k', 'e', 'e', 'p'});
  const std::string in = q(recording(kDat));
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " convert -q " + in + " " + q(out), nullptr, &err), 2);
  EXPECT_NE(err.find("--force"), std::string::npos) << err;
  EXPECT_EQ(test::read_file(out), (std::vector<std::uint8_t>{'k', 'e', 'e', 'p'}));
  ASSERT_EQ(test::run_command(cli() + " convert -q --force " + in + " " + q(out), nullptr, &err), 0) << err;
  EXPECT_EQ(read(out).events.size(), 4407u);
  EXPECT_EQ(test::list_dir(dir.path()).size(), 1u);
}

// --force replaces an old output, never the recording: the input under its own name, through a
// symlink in another format's name, or through a hard link given to `frames`, is refused.
TEST(Convert, the_input_itself_is_never_an_output_even_with_force) {
  test::ScopedTempDir dir;
  std::string text = "t,x,y,p\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(i) + "," + std::to_string(i % 30) + ",7,1\n";
  const std::string in = dir.file("in.csv"), link = dir.file("link.npy"), hard = dir.file("hard.npy");
  test::write_file(in, {text.begin(), text.end()});
  ASSERT_EQ(test::run_command("ln -s in.csv " + q(link) + " && ln " + q(in) + " " + q(hard)), 0);
  std::string err;
  for (const std::string& out : {in, link}) {
    EXPECT_EQ(test::run_command(cli() + " convert -q --force " + q(in) + " " + q(out), nullptr, &err), 2);
    EXPECT_NE(err.find("is the input " + in), std::string::npos) << err;
  }
  EXPECT_EQ(test::run_command(cli() + " frames -q --force --repr histogram --window 10us --width 30 --height 8 " + q(in) + " " +
                                  q(hard),
                              nullptr, &err),
            2);
  EXPECT_NE(err.find("is the input " + in), std::string::npos) << err;
  // Standard input redirected from the recording is the recording too.
  EXPECT_EQ(test::run_command(cli() + " convert -q --force - " + q(link) + " < " + q(in), nullptr, &err), 2);
  EXPECT_NE(err.find("is the input -"), std::string::npos) << err;
  const std::vector<std::uint8_t> kept = test::read_file(in);
  EXPECT_EQ(std::string(kept.begin(), kept.end()), text);
  ASSERT_EQ(test::run_command(cli() + " convert -q " + q(in) + " " + q(dir.file("other.npy")), nullptr, &err), 0) << err;
}

TEST(Convert, corrupt_input_in_strict_mode_leaves_no_partial_output) {
  test::ScopedTempDir dir;
  std::string text = "t,x,y,p\n";
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + "," + std::to_string(i % 300) + ",7,1\n";
  text += "20000,not-a-number,7,1\n";
  const std::string in = dir.file("in.csv");
  test::write_file(in, {text.begin(), text.end()});
  const std::string out = dir.file("out.npz");
  std::string err;
  // Small chunks, so that the writer has written events before the bad line is reached.
  EXPECT_EQ(test::run_command(cli() + " convert -q --strict --chunk 1000 " + q(in) + " " + q(out), nullptr, &err), 4);
  EXPECT_NE(err.find("line 20002"), std::string::npos) << err;
  EXPECT_FALSE(test::file_exists(out));
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"in.csv"}));
  // Lenient: the bad line is dropped, counted and reported.
  ASSERT_EQ(test::run_command(cli() + " convert -q --chunk 1000 " + q(in) + " " + q(out), nullptr, &err), 0) << err;
  EXPECT_NE(err.find("warning: " + in + ": 1 corrupt"), std::string::npos) << err;
  EXPECT_EQ(read(out).events.size(), 20000u);
}

TEST_P(ConvertFiles, unsupported_targets_are_clear_errors) {
  test::ScopedTempDir dir;
  const std::string in = q(recording(kDat));
  std::string err;
  EXPECT_NE(test::run_command(cli() + " convert -q --to mp4 " + in + " " + q(dir.file("o.mp4")), nullptr, &err), 0);
  EXPECT_NE(err.find("cannot write format 'mp4'"), std::string::npos) << err;
  EXPECT_NE(err.find("npz"), std::string::npos) << err;  // lists what can be written
  EXPECT_NE(test::run_command(cli() + " convert -q " + in + " " + q(dir.file("o.xyz")), nullptr, &err), 0);
  EXPECT_NE(err.find("--to"), std::string::npos) << err;
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(Convert, triggers_are_carried_where_the_target_holds_them_and_refused_elsewhere) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.trigger_rate = 5000;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(50000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 50000);
  ASSERT_GT(triggers.size(), 0u);
  WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  const std::string in = test::write_events(dir.file("in.raw"), wo, events, triggers);
  std::string err;
  // EVT 2.0 holds triggers.
  ASSERT_EQ(test::run_command(cli() + " convert -q --to evt2 " + q(in) + " " + q(dir.file("o2.raw")), nullptr, &err), 0) << err;
  const Recording evt2 = read(dir.file("o2.raw"));
  EXPECT_EQ(digest(evt2.events), digest(events));
  EXPECT_TRUE(test::same_triggers(evt2.triggers, triggers));
  // DAT, text, NumPy do not.
  for (const char* name : {"o.dat", "o.csv", "o.npy"}) {
    EXPECT_EQ(test::run_command(cli() + " convert -q " + q(in) + " " + q(dir.file(name)), nullptr, &err), 1) << name;
    EXPECT_NE(err.find("--drop-triggers"), std::string::npos) << err;
    EXPECT_FALSE(test::file_exists(dir.file(name)));
    ASSERT_EQ(test::run_command(cli() + " convert --drop-triggers " + q(in) + " " + q(dir.file(name)), nullptr, &err), 0) << err;
    EXPECT_NE(err.find("dropped " + std::to_string(triggers.size()) + " external triggers"), std::string::npos) << err;
    EXPECT_EQ(digest(read(dir.file(name)).events), digest(events)) << name;
  }
}

TEST_P(ConvertFiles, geometry_is_carried_inferred_or_asked_for) {
  test::ScopedTempDir dir;
  std::string err;
  // Carried from the input's header.
  ASSERT_EQ(test::run_command(cli() + " convert -q " + q(recording(kEvt2)) + " " + q(dir.file("a.raw")), nullptr, &err), 0) << err;
  EXPECT_EQ(read_metadata(dir.file("a.raw")).width, 640u);
  EXPECT_EQ(read_metadata(dir.file("a.raw")).height, 480u);
  // N-CARS DAT has none: a first pass over the events gives max + 1.
  const std::string ncars = recording(kDat);
  const EventBatch events = read(ncars).events;
  const unsigned width = *std::max_element(events.x().begin(), events.x().end()) + 1u;
  const unsigned height = *std::max_element(events.y().begin(), events.y().end()) + 1u;
  if (real()) EXPECT_EQ(std::pair(width, height), std::pair(54u, 61u));
  ASSERT_EQ(test::run_command(cli() + " convert " + q(ncars) + " " + q(dir.file("b.raw")), nullptr, &err), 0) << err;
  EXPECT_NE(err.find("using " + std::to_string(width) + " x " + std::to_string(height)), std::string::npos) << err;
  const Metadata b = read_metadata(dir.file("b.raw"));
  EXPECT_EQ(b.width, width);
  EXPECT_EQ(b.height, height);
  // From a pipe there is no second pass: ask for the geometry.
  EXPECT_NE(test::run_command("cat " + q(ncars) + " | " + cli() + " convert -q --format dat - " + q(dir.file("c.raw")), nullptr, &err), 0);
  EXPECT_NE(err.find("--width"), std::string::npos) << err;
  EXPECT_FALSE(test::file_exists(dir.file("c.raw")));
  ASSERT_EQ(test::run_command("cat " + q(ncars) + " | " + cli() + " convert -q --format dat --width 120 --height 100 - " +
                                  q(dir.file("c.raw")), nullptr, &err), 0) << err;
  EXPECT_EQ(read_metadata(dir.file("c.raw")).width, 120u);
  EXPECT_EQ(digest(read(dir.file("c.raw")).events), digest(read(ncars).events));
}

TEST_P(ConvertFiles, sigint_removes_the_temporary_file) {
  test::ScopedTempDir dir;
  const std::string out = dir.file("o.txt");
  const std::string in = recording(kEvt3);
  // The input arrives on a pipe that stays open for 3 s; SIGINT comes after 1 s.
  const std::string command = "{ cat " + q(in) + "; sleep 3; } | timeout --preserve-status -s INT 1 " + cli() +
                              " convert -q --format evt3 - " + q(out);
  std::string err;
  EXPECT_EQ(test::run_command(command, nullptr, &err), 130) << err;
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(Convert, memory_stays_bounded_for_a_large_input) {
  test::ScopedTempDir dir;
  const std::string in = dir.file("big.raw");
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q --events 12000000 " + q(in), nullptr, &err), 0) << err;
  std::string out;
  ASSERT_EQ(test::run_command("/usr/bin/time -f '%M' " + cli() + " convert -q " + q(in) + " " + q(dir.file("big.npz")),
                              nullptr, &out), 0) << out;
  const long peak_kib = std::stol(out.substr(out.find_last_of('\n', out.size() - 2) + 1));
  // A whole-file read would hold 12 M x 13 bytes = 149 MiB of columns alone.
  EXPECT_LT(peak_kib, 96 * 1024) << "peak RSS " << peak_kib << " KiB";
  EXPECT_EQ(read_metadata(dir.file("big.npz")).format, "npz");
}

TEST_P(ConvertFiles, text_and_npy_stream_from_stdin) {
  test::ScopedTempDir dir;
  std::string err;
  const std::string text = recording(kText);
  ASSERT_EQ(test::run_command("cat " + q(text) + " | " + cli() + " convert -q - " + q(dir.file("a.npy")), nullptr, &err), 0) << err;
  EXPECT_EQ(digest(read(dir.file("a.npy")).events), digest(read(text).events));
  ASSERT_EQ(test::run_command("cat " + q(dir.file("a.npy")) + " | " + cli() + " convert -q - " + q(dir.file("b.csv")), nullptr, &err), 0)
      << err;
  EXPECT_EQ(digest(read(dir.file("b.csv")).events), digest(read(text).events));
}

TEST(Convert, help_lists_the_options) {
  std::string out;
  ASSERT_EQ(test::run_command(cli() + " convert --help", &out), 0);
  for (const char* option : {"--to", "--force", "--drop-triggers", "--strict", "--text-columns", "--time-unit", "--width"}) {
    EXPECT_NE(out.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace evlib
