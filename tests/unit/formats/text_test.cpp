// Text / CSV events (docs/formats.md 12): spec vectors, the column/header/unit rules of text.hpp,
// malformed input, a real RPG recording (test data), chunking and window invariance, the writers.
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
#include "formats/text/text.hpp"
#include "io/byte_source.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using test::Ev;

const std::string kRpg = "text/slider_depth_events_chunk.txt";

std::string text_file(const test::ScopedTempDir& dir, const std::string& name, const std::string& content) {
  const std::string path = dir.file(name);
  test::write_file(path, {content.begin(), content.end()});
  return path;
}

std::vector<Ev> read_text(const std::string& content, ReadOptions options = {}, const std::string& name = "e.txt") {
  test::ScopedTempDir dir;
  return test::events_of(read(text_file(dir, name, content), options).events);
}

std::int64_t time_of(const std::string& token, int exponent) {
  const std::string line = token + "\n";
  std::int64_t us = -999;
  const char* end = detail::parse_text_time(line.data(), line.data() + line.size(), exponent, us);
  if (end == nullptr) return -999;
  EXPECT_EQ(*end, '\n') << token;
  return us;
}

// All events of a text file through a reader whose ByteSource has windows of `window` bytes, so
// that lines straddle windows.
std::vector<Ev> read_with_window(const std::string& path, std::size_t window, const ReadOptions& options = {},
                                 DecodeStats* stats = nullptr) {
  auto source = std::make_unique<detail::ByteSource>(path, 0, window);
  const auto prefix = source->prefix(detail::kPrefixBytes);
  Metadata meta;
  auto reader = detail::open_text(std::move(source), prefix, options, meta);
  EventBatch batch = EventBatch::with_capacity(300);
  TriggerBatch triggers;
  std::vector<Ev> out;
  bool more = true;
  while (more) {
    batch.set_size(0);
    more = reader->fill(batch, triggers);
    const auto ev = test::events_of(batch);
    out.insert(out.end(), ev.begin(), ev.end());
  }
  if (stats != nullptr) *stats = reader->stats();
  return out;
}

// ---- docs/formats.md 12 vectors ----

TEST(TextSpec, rpg_layout_lines_vector_12) {
  EXPECT_EQ(read_text("0.003811000 12 34 0\n0.003820001 56 78 1\n"),
            (std::vector<Ev>{{3811, 12, 34, 0}, {3820, 56, 78, 1}}));
}

TEST(TextSpec, seconds_round_to_nearest_microsecond_exactly) {
  EXPECT_EQ(time_of("0.003811000", 6), 3811);  // a double product gives 3810.9999999999995
  EXPECT_EQ(time_of("0.003820001", 6), 3820);
  EXPECT_EQ(time_of("0.0000005", 6), 1);  // ties away from zero
  EXPECT_EQ(time_of("0.00000049999", 6), 0);
  EXPECT_EQ(time_of("1.9999995", 6), 2000000);
  EXPECT_EQ(time_of("12", 6), 12000000);
  EXPECT_EQ(time_of(".5", 6), 500000);
  EXPECT_EQ(time_of("5.", 6), 5000000);
  EXPECT_EQ(time_of("-0.0000015", 6), -2);
  EXPECT_EQ(time_of("+3.000001", 6), 3000001);
  EXPECT_EQ(time_of("1700000000.123456789", 6), 1700000000123457);
  EXPECT_EQ(time_of("0.000000000000000000000000000001", 6), 0);  // long fractions are fine
}

TEST(TextSpec, exponent_notation_falls_back_to_double) {
  EXPECT_EQ(time_of("3.811e-3", 6), 3811);
  EXPECT_EQ(time_of("1E-6", 6), 1);
  EXPECT_EQ(time_of("2.5e0", 6), 2500000);
}

TEST(TextSpec, integer_microseconds_and_other_units) {
  EXPECT_EQ(time_of("3811", 0), 3811);
  EXPECT_EQ(time_of("3811.5", 0), 3812);
  EXPECT_EQ(time_of("3811.49", 0), 3811);
  EXPECT_EQ(time_of("9223372036854775807", 0), 9223372036854775807LL);
  EXPECT_EQ(time_of("12.3456", 3), 12346);            // ms
  EXPECT_EQ(time_of("1700000000123456789", -3), 1700000000123457);  // ns
  EXPECT_EQ(time_of("1499", -3), 1);
  EXPECT_EQ(time_of("1500", -3), 2);
}

TEST(TextSpec, times_that_are_not_numbers_or_do_not_fit_are_rejected) {
  for (const char* bad : {"", "x", "-", ".", "e5", "nan", "inf", "99999999999999999999", "9223372036854775808"}) {
    EXPECT_EQ(time_of(bad, 0), -999) << bad;
  }
  EXPECT_EQ(time_of("10000000000000", 6), -999);  // 10^13 s does not fit int64 µs
}

TEST(TextSpec, time_unit_is_decided_from_the_first_data_line) {
  // An integer first line means µs for the whole file; a '.' means seconds.
  EXPECT_EQ(read_text("100 1 2 1\n200.6 1 2 1\n"), (std::vector<Ev>{{100, 1, 2, 1}, {201, 1, 2, 1}}));
  EXPECT_EQ(read_text("0.5 1 2 1\n2 1 2 1\n"), (std::vector<Ev>{{500000, 1, 2, 1}, {2000000, 1, 2, 1}}));
  // Beyond 10^17 integers can only be nanoseconds (docs/formats.md 12).
  EXPECT_EQ(read_text("1700000000123456789 1 2 1\n"), (std::vector<Ev>{{1700000000123457, 1, 2, 1}}));
}

TEST(TextSpec, explicit_time_unit_wins) {
  ReadOptions o;
  o.text_time_unit = "s";
  EXPECT_EQ(read_text("3 1 2 1\n", o), (std::vector<Ev>{{3000000, 1, 2, 1}}));
  o.text_time_unit = "us";
  EXPECT_EQ(read_text("0.4 1 2 1\n", o), (std::vector<Ev>{{0, 1, 2, 1}}));
  o.text_time_unit = "ms";
  EXPECT_EQ(read_text("t_us,x,y,p\n3,1,2,1\n", o), (std::vector<Ev>{{3000, 1, 2, 1}}));
  o.text_time_unit = "minutes";
  EXPECT_THROW(read_text("3 1 2 1\n", o), InvalidArgument);
}

TEST(TextSpec, polarity_minus_one_plus_one_and_zero_one) {
  EXPECT_EQ(read_text("1 0 0 -1\n2 0 0 +1\n3 0 0 0\n4 0 0 1\n5 0 0 7\n"),
            (std::vector<Ev>{{1, 0, 0, 0}, {2, 0, 0, 1}, {3, 0, 0, 0}, {4, 0, 0, 1}, {5, 0, 0, 1}}));
}

// ---- columns, delimiters, headers ----

TEST(TextColumns, csv_header_maps_columns_by_name) {
  EXPECT_EQ(read_text("x,y,p,t\n5,6,1,100\n7,8,0,200\n"), (std::vector<Ev>{{100, 5, 6, 1}, {200, 7, 8, 0}}));
  EXPECT_EQ(read_text("timestamp,x,y,polarity\n1.5,5,6,-1\n", {}, "e.csv"), (std::vector<Ev>{{1500000, 5, 6, 0}}));
  EXPECT_EQ(read_text("\"Ts\", \"X\" , \"Y\", \"On\", \"extra\"\n10 , 1 , 2 , 1 , 99\n"),
            (std::vector<Ev>{{10, 1, 2, 1}}));
}

TEST(TextColumns, unit_in_the_header_name_sets_the_time_unit) {
  EXPECT_EQ(read_text("t_us x y p\n5 1 2 1\n"), (std::vector<Ev>{{5, 1, 2, 1}}));
  EXPECT_EQ(read_text("time[s],x,y,p\n5,1,2,1\n"), (std::vector<Ev>{{5000000, 1, 2, 1}}));
  EXPECT_EQ(read_text("x,y,p,timestamp (ns)\n1,2,1,5000\n"), (std::vector<Ev>{{5, 1, 2, 1}}));
}

TEST(TextColumns, unrecognised_columns_are_skipped) {
  EXPECT_EQ(read_text("id,t,x,y,p,weight\n9,10,1,2,1,0.5\n"), (std::vector<Ev>{{10, 1, 2, 1}}));
}

TEST(TextColumns, evlib_comment_header_names_the_columns) {
  EXPECT_EQ(read_text("# timestamp x y polarity\n0.000001000000 3 4 -1\n"), (std::vector<Ev>{{1, 3, 4, 0}}));
  EXPECT_EQ(read_text("# y x p t\n4 3 1 7\n"), (std::vector<Ev>{{7, 3, 4, 1}}));
  // A comment that is not only column names is just a comment.
  EXPECT_EQ(read_text("# recorded with x and y swapped\n7 3 4 1\n"), (std::vector<Ev>{{7, 3, 4, 1}}));
}

TEST(TextColumns, header_without_all_columns_is_an_error_unless_the_order_is_given) {
  EXPECT_THROW(read_text("a,b,c,d\n1,2,3,4\n"), UnsupportedFormat);  // not recognisably events
  ReadOptions o;
  o.format = "text";
  EXPECT_THROW(read_text("a,b,c,d\n1,2,3,4\n", o), FormatError);
  o.text_columns = "xytp";
  EXPECT_EQ(read_text("a,b,c,d\n1,2,3,4\n", o), (std::vector<Ev>{{3, 1, 2, 1}}));
}

TEST(TextColumns, explicit_column_order_wins_and_underscore_skips) {
  ReadOptions o;
  o.text_columns = "x_ytp";
  EXPECT_EQ(read_text("1 99 2 10 1\n", o), (std::vector<Ev>{{10, 1, 2, 1}}));
  o.text_columns = "xypt";
  EXPECT_EQ(read_text("t,x,y,p\n1,2,1,10\n", o), (std::vector<Ev>{{10, 1, 2, 1}}));
  for (const char* bad : {"txy", "txyy", "txyq", "txypt"}) {
    o.text_columns = bad;
    EXPECT_THROW(read_text("1 2 3 1\n", o), InvalidArgument) << bad;
  }
}

TEST(TextColumns, extra_trailing_columns_are_ignored) {
  EXPECT_EQ(read_text("1 2 3 1 0.25 x\n4 5 6 0 0.5 y\n"), (std::vector<Ev>{{1, 2, 3, 1}, {4, 5, 6, 0}}));
}

TEST(TextColumns, too_few_columns_on_the_first_data_line_is_an_error) {
  test::ScopedTempDir dir;
  try {
    read(text_file(dir, "e.txt", "# c\n1 2 3\n"));
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), 4u);
    EXPECT_NE(e.detail().find("3 column"), std::string::npos) << e.what();
  }
}

TEST(TextColumns, prophesee_geometry_line_means_x_y_p_t_and_sets_geometry) {
  test::ScopedTempDir dir;
  const auto path = text_file(dir, "cd.csv", "%geometry:640,480\n10,20,1,1000\n700,20,1,1001\n11,21,0,1002\n");
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->width, 640u);
  EXPECT_EQ(rec.metadata->height, 480u);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1000, 10, 20, 1}, {1002, 11, 21, 0}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 1u);
}

TEST(TextColumns, whitespace_tabs_crlf_comments_blank_lines_and_no_final_newline) {
  EXPECT_EQ(read_text("% a comment\r\n\r\n  1\t2   3 1 \r\n# another\n\n2 3 4 0"),
            (std::vector<Ev>{{1, 2, 3, 1}, {2, 3, 4, 0}}));
}

TEST(TextColumns, header_only_file_has_no_events) {
  test::ScopedTempDir dir;
  const Recording rec = read(text_file(dir, "e.csv", "t,x,y,p\n"));
  EXPECT_EQ(rec.events.size(), 0u);
  EXPECT_EQ(rec.metadata->format, "text");
}

TEST(TextColumns, metadata_reports_the_layout) {
  test::ScopedTempDir dir;
  const Metadata m = read_metadata(text_file(dir, "e.csv", "x,y,p,t\n1,2,1,10\n"));
  EXPECT_EQ(m.format, "text");
  ASSERT_NE(m.header_value("columns"), nullptr);
  EXPECT_EQ(*m.header_value("columns"), "xypt");
  EXPECT_EQ(*m.header_value("delimiter"), "comma");
  EXPECT_EQ(*m.header_value("time_unit"), "us");
  EXPECT_EQ(m.data_offset, 8u);
}

// ---- detection ----

TEST(TextDetect, numeric_columns_are_detected_without_extension) {
  test::ScopedTempDir dir;
  EXPECT_EQ(detect_format(text_file(dir, "events", "0.1 1 2 1\n0.2 3 4 0\n")), "text");
  EXPECT_EQ(detect_format(text_file(dir, "events2", "t,x,y,p\n")), "text");
}

// The text writer's header alone (a recording of no events) was "unrecognised"; a comment like
// it followed by prose is still not events.
TEST(TextDetect, an_empty_recording_evlib_wrote_is_text_of_no_events) {
  test::ScopedTempDir dir;
  const std::string empty = text_file(dir, "empty.txt", "# t x y p\n");
  EXPECT_EQ(detect_format(empty), "text");
  EXPECT_EQ(read(empty).events.size(), 0u);
  EXPECT_THROW(detect_format(text_file(dir, "prose.txt", "# t x y p\nhello world\n")), UnsupportedFormat);
}

TEST(TextDetect, prose_binary_and_wrong_column_counts_are_not_text) {
  test::ScopedTempDir dir;
  EXPECT_THROW(detect_format(text_file(dir, "a.txt", "plain text, not events\n")), UnsupportedFormat);
  EXPECT_THROW(detect_format(text_file(dir, "b.txt", "1 2\n3 4\n")), UnsupportedFormat);
  EXPECT_THROW(detect_format(text_file(dir, "c.txt", std::string("1 2 3 4\n\x01\x02\x03\x04\x05", 13))), UnsupportedFormat);
}

// On synthetic stand-ins of real recordings and on the real ones.
class TextFiles : public test::RecordingsTest {
 protected:
  TextFiles() : RecordingsTest({kRpg, "dat/NCARS_obj_004397_td.dat", "evt3/evt3_test_pedestrians.raw"}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(TextFiles);

TEST_P(TextFiles, dat_and_raw_files_are_not_taken_for_text) {
  // Their `% ` headers look like comments.
  EXPECT_EQ(detect_format(recording("dat/NCARS_obj_004397_td.dat")), "dat");
  EXPECT_EQ(detect_format(recording("evt3/evt3_test_pedestrians.raw")), "evt3");
}

// ---- malformed lines ----

TEST(TextMalformed, lenient_mode_counts_bad_lines_with_line_and_offset) {
  test::ScopedTempDir dir;
  const std::string content = "1 2 3 1\n2 x 3 1\n3 2 3\n4 70000 3 1\n5 2 3 1 extra\n6 2 3 1\n";
  const Recording rec = read(text_file(dir, "e.txt", content));
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1, 2, 3, 1}, {6, 2, 3, 1}}));
  EXPECT_EQ(rec.stats.unknown_words, 4u);
  EXPECT_EQ(rec.stats.words, 6u);
  EXPECT_EQ(rec.stats.first_error_offset, 8u);
  EXPECT_NE(rec.stats.first_error.find("line 2"), std::string::npos) << rec.stats.first_error;
  EXPECT_NE(rec.stats.first_error.find("2 x 3 1"), std::string::npos) << rec.stats.first_error;
}

TEST(TextMalformed, strict_mode_raises_with_file_offset_and_line) {
  test::ScopedTempDir dir;
  const auto path = text_file(dir, "e.txt", "1 2 3 1\n# fine\n2 2 3 1\n3 2 three 1\n");
  ReadOptions o;
  o.strict = true;
  try {
    read(path, o);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_EQ(e.offset(), 23u);
    EXPECT_NE(e.detail().find("line 4"), std::string::npos) << e.what();
  }
}

TEST(TextMalformed, overlong_line_is_skipped_in_bounded_memory) {
  std::string content = "1 2 3 1\n";
  content += std::string(3u << 20, '7');  // one 3 MiB line
  content += "\n2 2 3 1\n";
  test::ScopedTempDir dir;
  const auto path = text_file(dir, "e.txt", content);
  DecodeStats stats;
  const auto events = read_with_window(path, 64 << 10, {}, &stats);
  EXPECT_EQ(events, (std::vector<Ev>{{1, 2, 3, 1}, {2, 2, 3, 1}}));
  EXPECT_EQ(stats.unknown_words, 1u);
  EXPECT_NE(stats.first_error.find("longer than 1 MiB"), std::string::npos) << stats.first_error;
  EXPECT_EQ(stats.first_error_offset, 8u);
}

TEST(TextMalformed, garbage_never_crashes) {
  std::string base = "t,x,y,p\n0.1,1,2,1\n";
  std::uint64_t state = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string s = base;
    for (int k = 0; k < 40; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      static constexpr char kChars[] = "0123456789.,-+ \t\r\n#%eEtxyp";
      const char c = kChars[(state >> 33) % (sizeof kChars - 1)];
      s.insert(s.begin() + static_cast<std::ptrdiff_t>((state >> 20) % (s.size() + 1)), c);
    }
    ReadOptions o;
    o.format = "text";
    test::ScopedTempDir dir;
    try {
      const Recording rec = read(text_file(dir, "g.txt", s), o);
      for (std::size_t i = 0; i < rec.events.size(); ++i) EXPECT_LE(rec.events.p()[i], 1);
    } catch (const Error&) {
      // a clear error is fine
    }
  }
}

// ---- a real RPG recording (test data) ----

TEST(TextReal, slider_depth_chunk_matches_the_published_values) {
  EVLIB_REQUIRE_RECORDINGS(kRpg);
  const Recording rec = read(test::shared_data(kRpg));
  EXPECT_EQ(rec.metadata->format, "text");
  ASSERT_EQ(rec.events.size(), 50000u);
  EXPECT_EQ(test::events_of(rec.events.slice(0, 2)), (std::vector<Ev>{{3811, 96, 133, 0}, {3820, 127, 171, 0}}));
  EXPECT_EQ(test::events_of(rec.events.slice(49999, 50000)), (std::vector<Ev>{{174156, 70, 103, 1}}));
  Summary s;
  s.add(rec.events);
  EXPECT_EQ(s.off, 28853u);
  EXPECT_EQ(s.on, 21147u);
  EXPECT_EQ(s.x_min, 0u);
  EXPECT_EQ(s.x_max, 239u);
  EXPECT_EQ(s.y_min, 0u);
  EXPECT_EQ(s.y_max, 179u);
  EXPECT_EQ(s.backward_steps, 0u);
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  EXPECT_EQ(*rec.metadata->header_value("time_unit"), "s");
}

TEST(TextReal, slider_depth_chunk_is_detected_as_text) {
  EVLIB_REQUIRE_RECORDINGS(kRpg);
  EXPECT_EQ(detect_format(test::shared_data(kRpg)), "text");
}

// ---- chunking and windows ----

TEST_P(TextFiles, tiny_chunks_give_the_whole_read) {
  const std::string path = recording(kRpg);
  const std::string whole = digest(read(path).events);
  ReadOptions o;
  o.chunk_events = 1;  // rounded up to the reader's minimum
  Reader r = Reader::open(path, o);
  EventDigest d;
  std::size_t chunks = 0;
  while (auto c = r.next()) {
    d.update(c->events);
    ++chunks;
  }
  EXPECT_GT(chunks, 100u);
  EXPECT_EQ(d.finish(), whole);
}

TEST_P(TextFiles, lines_split_across_small_windows_give_the_whole_read) {
  const std::string path = recording(kRpg);
  const auto whole = test::events_of(read(path).events);
  for (std::size_t window : {1u, 2u, 7u, 21u, 4096u, 65537u}) {
    EXPECT_EQ(read_with_window(path, window), whole) << "window " << window;
  }
}

TEST(TextChunking, windows_split_comments_headers_and_malformed_lines_consistently) {
  test::ScopedTempDir dir;
  const auto path = text_file(dir, "m.csv", "# c\nt,x,y,p\n1,2,3,1\nbad line\n\n2,3,4,-1\r\n3,4,5,1");
  DecodeStats whole_stats;
  const auto whole = read_with_window(path, 1 << 20, {}, &whole_stats);
  EXPECT_EQ(whole, (std::vector<Ev>{{1, 2, 3, 1}, {2, 3, 4, 0}, {3, 4, 5, 1}}));
  for (std::size_t window = 1; window < 40; ++window) {
    DecodeStats s;
    EXPECT_EQ(read_with_window(path, window, {}, &s), whole) << window;
    EXPECT_EQ(s.unknown_words, whole_stats.unknown_words) << window;
    EXPECT_EQ(s.first_error_offset, whole_stats.first_error_offset) << window;
    EXPECT_EQ(s.first_error, whole_stats.first_error) << window;
  }
}

TEST(TextChunking, file_larger_than_one_window_reads_whole) {
  // 600k events of our own writer are about 10 MB: more than one 8 MiB ByteSource window.
  test::ScopedTempDir dir;
  SceneOptions so;
  so.t_start = 123456789;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(600000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 600000);
  WriteOptions wo;
  const auto path = test::write_events(dir.file("big.txt"), wo, events);
  EXPECT_GT(test::read_file(path).size(), std::size_t{8} << 20);
  EXPECT_EQ(digest(read(path).events), digest(events));
  ReadOptions o;
  o.chunk_events = 4097;
  Reader r = Reader::open(path, o);
  EventDigest d;
  while (auto c = r.next()) d.update(c->events);
  EXPECT_EQ(d.finish(), digest(events));
}

TEST_P(TextFiles, upper_bounds_hold) {
  Reader r = Reader::open(recording(kRpg));
  EXPECT_GE(r.upper_bound_events(), 50000u);
  EXPECT_LE(r.upper_bound_events(), 50002u);
}

// ---- writers ----

TEST(TextWriter, txt_lines_are_integer_microseconds) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("w.txt"), {}, test::batch_of({{3811, 12, 34, 0}, {1LL << 40, 65535, 0, 1}}));
  const auto bytes = test::read_file(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "# t x y p\n3811 12 34 0\n1099511627776 65535 0 1\n");
}

TEST(TextWriter, csv_has_a_header_row) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("w.csv"), {}, test::batch_of({{5, 1, 2, 1}}));
  const auto bytes = test::read_file(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "t,x,y,p\n5,1,2,1\n");
  EXPECT_EQ(read_metadata(path).format, "text");
}

TEST(TextWriter, round_trips_a_synthetic_scene_exactly) {
  test::ScopedTempDir dir;
  SceneGenerator gen({});
  EventBatch events = EventBatch::with_capacity(200000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 200000);
  for (const char* name : {"r.txt", "r.csv"}) {
    const auto path = test::write_events(dir.file(name), {}, events);
    EXPECT_EQ(digest(read(path).events), digest(events)) << name;
  }
}

TEST(TextWriter, refuses_triggers) {
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  triggers.push_back(10, 0, 1);
  EXPECT_THROW(test::write_events(dir.file("w.txt"), {}, test::batch_of({{5, 1, 2, 1}}), triggers), InvalidArgument);
  EXPECT_FALSE(test::file_exists(dir.file("w.txt")));
}

}  // namespace
}  // namespace evlib
