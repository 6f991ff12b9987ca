// The evlib command-line tool (EVLIB_CLI), run as a subprocess. CliFiles runs on synthetic
// stand-ins of the real recordings and on the real ones: what the output must say comes from the
// library, and the real run also checks the values the recordings' sources state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";

class CliFiles : public test::RecordingsTest {
 protected:
  CliFiles() : RecordingsTest({kEvt3, kEvt2, kDat}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(CliFiles);

std::size_t count_on(const EventBatch& events) {
  return static_cast<std::size_t>(std::count(events.p().begin(), events.p().end(), 1));
}

TEST_P(CliFiles, info_json_digest_matches_library) {
  const std::string path = recording(kEvt3);
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json --digest -q " + q(path), &out, &err), 0) << err;
  const Recording rec = read(path);
  EXPECT_NE(out.find("\"events\": 5000"), std::string::npos) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("\"digest\": \"([0-9a-f]{64})\""))) << out;
  EXPECT_EQ(m[1].str(), digest(rec.events));
  EXPECT_NE(out.find("\"format\": \"evt3\""), std::string::npos);
  EXPECT_NE(out.find("\"width\": 1280"), std::string::npos);
  EXPECT_NE(out.find("\"height\": 720"), std::string::npos);
  EXPECT_NE(out.find("\"data_offset\": " + std::to_string(rec.metadata->data_offset)), std::string::npos) << out;
  EXPECT_NE(out.find("\"on\": " + std::to_string(count_on(rec.events))), std::string::npos) << out;
  EXPECT_NE(out.find("\"off\": " + std::to_string(rec.events.size() - count_on(rec.events))), std::string::npos) << out;
  EXPECT_EQ(lines_of(out).size(), 1u) << "--json prints one object";
  if (real()) {  // the values of the recording's source
    EXPECT_NE(out.find("\"data_offset\": 166"), std::string::npos);
    EXPECT_NE(out.find("\"on\": 2894"), std::string::npos);
    EXPECT_NE(out.find("\"off\": 2106"), std::string::npos);
  }
}

TEST_P(CliFiles, info_json_on_dat_and_evt2) {
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json -q " + q(recording(kDat)), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 4407"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(cli() + " info --json -q " + q(recording(kEvt2)), &out, &err), 0) << err;
  EXPECT_NE(out.find("\"events\": 539481"), std::string::npos) << out;
  EXPECT_NE(out.find("\"width\": 640"), std::string::npos) << out;
}

TEST_P(CliFiles, info_human_output_has_counts) {
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info -q " + q(recording(kEvt3)), &out, &err), 0) << err;
  EXPECT_TRUE(std::regex_search(out, std::regex("events\\s+5000"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("format\\s+evt3"))) << out;
}

TEST(Cli, info_on_missing_file_fails_with_one_line_naming_the_file) {
  const std::string path = test::temp_dir() + "/no-such-recording.raw";
  std::string out, err;
  const int rc = test::run_command(cli() + " info " + q(path), &out, &err);
  EXPECT_NE(rc, 0);
  EXPECT_GT(rc, 0) << "must exit, not crash";
  const auto lines = lines_of(err);
  ASSERT_EQ(lines.size(), 1u) << err;
  EXPECT_NE(lines[0].find(path), std::string::npos) << err;
  EXPECT_TRUE(out.empty()) << out;
}

TEST(Cli, info_on_unsupported_file_fails_with_one_line) {
  const std::string text = "plain text, not events\n";
  const auto path = test::write_temp_file("notes.txt", {text.begin(), text.end()});
  std::string out, err;
  const int rc = test::run_command(cli() + " info " + q(path), &out, &err);
  EXPECT_GT(rc, 0);
  const auto lines = lines_of(err);
  ASSERT_EQ(lines.size(), 1u) << err;
  EXPECT_NE(lines[0].find(path), std::string::npos) << err;
}

// Event i of `events` as dump prints it, its fields separated by `separator`.
std::string event_line(const EventBatch& events, std::size_t i, const std::string& separator) {
  return std::to_string(events.t()[i]) + separator + std::to_string(events.x()[i]) + separator +
         std::to_string(events.y()[i]) + separator + std::to_string(events.p()[i]);
}

TEST_P(CliFiles, dump_head_csv_prints_header_and_three_events) {
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " dump --head 3 --csv " + q(recording(kEvt3)), &out, &err), 0) << err;
  const EventBatch events = read(recording(kEvt3)).events;
  EXPECT_EQ(lines_of(out), (std::vector<std::string>{"t,x,y,p", event_line(events, 0, ","), event_line(events, 1, ","),
                                                     event_line(events, 2, ",")}));
  if (real()) {
    EXPECT_EQ(lines_of(out), (std::vector<std::string>{"t,x,y,p", "5840504,707,297,0", "5840507,592,301,0", "5840511,997,313,0"}));
  }
}

TEST_P(CliFiles, dump_plain_text_is_space_separated) {
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " dump -n 2 " + q(recording(kDat)), &out, &err), 0) << err;
  const auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_EQ(lines[1], event_line(read(recording(kDat)).events, 0, " "));
  if (real()) EXPECT_EQ(lines[1], "0 6 18 1");
}

TEST(Cli, dump_triggers_prints_the_trigger_table) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("tr.raw");
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 100000 --trigger-rate 100000 " + q(path)), 0);
  const Recording rec = read(path);
  ASSERT_GE(rec.triggers.size(), 2u);
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " dump --triggers --csv --head 2 " + q(path), &out, &err), 0) << err;
  const auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_EQ(lines[0], "t,channel,value");
  EXPECT_EQ(lines[1], std::to_string(rec.triggers.t[0]) + "," + std::to_string(rec.triggers.channel[0]) + "," +
                          std::to_string(rec.triggers.value[0]));
}

TEST_P(CliFiles, strict_info_on_corrupt_file_fails_with_one_line) {
  auto bytes = test::read_file(recording(kEvt3));
  const std::size_t at = read_metadata(recording(kEvt3)).data_offset + 2000;
  bytes[at] = 0x00;
  bytes[at + 1] = 0x90;  // reserved word type
  const auto path = test::write_temp_file("corrupt.raw", bytes);
  std::string out, err;
  EXPECT_EQ(test::run_command(cli() + " info -q " + q(path), &out, &err), 0) << err;
  const int rc = test::run_command(cli() + " info -q --strict " + q(path), &out, &err);
  EXPECT_GT(rc, 0);
  const auto lines = lines_of(err);
  ASSERT_EQ(lines.size(), 1u) << err;
  EXPECT_NE(lines[0].find(path), std::string::npos);
  EXPECT_NE(lines[0].find(std::to_string(at)), std::string::npos) << lines[0];
}

TEST_P(CliFiles, info_reads_a_recording_piped_on_stdin) {
  std::string out, err;
  const int rc = test::run_command("cat " + q(recording(kEvt3)) + " | timeout 30 " + cli() + " info --json -q /dev/stdin",
                                   &out, &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("\"events\": 5000"), std::string::npos) << out << err;
}

TEST_P(CliFiles, info_reads_stdin_given_as_dash) {
  std::string out, err;
  const int rc = test::run_command("cat " + q(recording(kEvt2)) + " | timeout 30 " + cli() + " info --json --digest -q -",
                                   &out, &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("\"events\": 539481"), std::string::npos) << out << err;
  EXPECT_NE(out.find(digest(read(recording(kEvt2)).events)), std::string::npos) << out;
}

TEST_P(CliFiles, info_metavision_time_reports_the_shift) {
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " info --json -q --metavision-time " + q(recording(kEvt3)), &out, &err), 0) << err;
  ReadOptions shifted;
  shifted.metavision_time_shift = true;
  const Recording rec = read(recording(kEvt3), shifted);
  EXPECT_GT(rec.metadata->time_shift, 0);
  EXPECT_NE(out.find("\"time_shift\": " + std::to_string(rec.metadata->time_shift)), std::string::npos) << out;
  const auto t = rec.events.t();
  EXPECT_NE(out.find("\"t_min\": " + std::to_string(*std::min_element(t.begin(), t.end()))), std::string::npos) << out;
  if (real()) {
    EXPECT_NE(out.find("\"time_shift\": " + std::to_string(1424 * 4096)), std::string::npos) << out;
    EXPECT_NE(out.find("\"t_min\": 7800"), std::string::npos) << out;
  }
}

TEST(Cli, help_works_for_every_subcommand) {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"info", "--json"}, {"dump", "--head"}, {"bench", "--runs"}, {"generate", "--events"}};
  for (const auto& [command, option] : commands) {
    std::string out, err;
    EXPECT_EQ(test::run_command(cli() + " " + command + " --help", &out, &err), 0) << command << ": " << err;
    EXPECT_NE(out.find("Usage"), std::string::npos) << command << ": " << out;
    EXPECT_NE(out.find(option), std::string::npos) << command << ": " << out;
  }
  std::string out;
  EXPECT_EQ(test::run_command(cli() + " --help", &out), 0);
  for (const char* command : {"info", "dump", "bench", "generate"}) EXPECT_NE(out.find(command), std::string::npos) << command;
}

TEST(Cli, no_subcommand_is_an_error) {
  std::string out, err;
  EXPECT_NE(test::run_command(cli(), &out, &err), 0);
}

TEST(Cli, generate_writes_a_readable_file_with_the_right_count) {
  test::ScopedTempDir dir;
  for (const char* name : {"gen.raw", "gen.dat"}) {
    const std::string path = dir.file(name);
    std::string out, err;
    ASSERT_EQ(test::run_command(cli() + " generate -q -n 12345 --seed 5 " + q(path), &out, &err), 0) << err;
    const Recording rec = read(path);
    EXPECT_EQ(rec.events.size(), 12345u) << name;
    EXPECT_EQ(rec.metadata->format, std::string(name).ends_with(".raw") ? "evt3" : "dat");
  }
  const std::string evt2 = dir.file("gen2.raw");
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q --to evt2 -n 2000 --trigger-rate 100000 " + q(evt2), nullptr, &err), 0) << err;
  const Recording rec = read(evt2);
  EXPECT_EQ(rec.metadata->format, "evt2");
  EXPECT_EQ(rec.events.size(), 2000u);
  EXPECT_FALSE(rec.triggers.empty());
}

TEST(Cli, generate_scene_edges_writes_the_generators_moving_edges_and_refuses_a_wrong_scene) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("edges.raw");
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 20000 --scene edges --background 0 " + q(path), nullptr, &err), 0)
      << err;
  SceneOptions o;
  o.kind = SceneKind::kMovingEdges;
  o.background_share = 0;
  SceneGenerator gen(o);
  EventBatch expected = EventBatch::with_capacity(20000);
  TriggerBatch triggers;
  gen.generate(expected, triggers, 20000);
  EXPECT_EQ(digest(read(path).events), digest(expected));
  EXPECT_EQ(test::run_command(cli() + " generate -q -n 10 --scene waves " + q(dir.file("w.raw")), nullptr, &err), 64) << err;
  EXPECT_NE(err.find("waves"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " generate -q -n 10 --scene edges --background 2 " + q(dir.file("b.raw")), nullptr, &err), 64)
      << err;
}

TEST(Cli, generate_is_seeded_and_refuses_to_overwrite) {
  test::ScopedTempDir dir;
  const std::string a = dir.file("a.raw"), b = dir.file("b.raw");
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 5000 --seed 9 " + q(a)), 0);
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 5000 --seed 9 " + q(b)), 0);
  EXPECT_EQ(digest(read(a).events), digest(read(b).events));
  const auto before = test::read_file(a);
  std::string err;
  EXPECT_NE(test::run_command(cli() + " generate -q -n 10 --seed 1 " + q(a), nullptr, &err), 0);
  EXPECT_NE(err.find(a), std::string::npos) << err;
  EXPECT_EQ(test::read_file(a), before);
  EXPECT_EQ(test::run_command(cli() + " generate -q -f -n 10 --seed 1 " + q(a)), 0);
  EXPECT_EQ(read(a).events.size(), 10u);
}

TEST(Cli, info_digest_equals_library_digest_for_generated_file) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("g.raw");
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 50000 --run-fraction 0.5 " + q(path)), 0);
  std::string out;
  ASSERT_EQ(test::run_command(cli() + " info --json --digest -q --chunk 1000 " + q(path), &out), 0);
  EXPECT_NE(out.find("\"events\": 50000"), std::string::npos) << out;
  EXPECT_NE(out.find("\"digest\": \"" + digest(read(path).events) + "\""), std::string::npos) << out;
}

}  // namespace
}  // namespace evlib
