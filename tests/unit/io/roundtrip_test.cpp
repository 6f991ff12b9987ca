// Writers: docs/formats.md 15.2 / 15.4 encoder vectors, SceneGenerator -> Writer -> read round trips
// (with 2^24 / 2^34 / 2^32 time wraps), and the atomic-file contract of evlib::Writer.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using test::Ev;
using test::Trig;

WriteOptions opts(const std::string& format, std::uint32_t w = 1280, std::uint32_t h = 720) {
  WriteOptions o;
  o.format = format;
  o.width = w;
  o.height = h;
  return o;
}

struct Scene {
  EventBatch events;
  TriggerBatch triggers;
};

Scene generate(const SceneOptions& so, std::size_t count) {
  Scene s;
  SceneGenerator gen(so);
  s.events = EventBatch::with_capacity(count);
  gen.generate(s.events, s.triggers, count);
  return s;
}

// ---- encoder test vectors ----

TEST(Evt2Writer, spec_vector_15_2_bytes) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("v.raw"), opts("evt2", 640, 480),
                                       test::batch_of({{1000, 10, 20, 1}, {1130, 11, 21, 0}}));
  EXPECT_EQ(test::payload_of(path), test::hex_bytes("0F 00 00 80  14 50 00 1A  11 00 00 80  15 58 80 0A"));
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{1000, 10, 20, 1}, {1130, 11, 21, 0}}));
}

TEST(Evt3Writer, spec_vector_15_4_columns) {
  test::ScopedTempDir dir;
  const std::vector<Ev> in = {{0x123456, 10, 5, 1}, {0x123456, 11, 5, 1}, {0x123460, 7, 6, 0}};
  const auto path = test::write_events(dir.file("v.raw"), opts("evt3"), test::batch_of(in));
  EXPECT_EQ(test::payload_of(path), test::hex_bytes("23 81 56 64 05 00 0A 28 0B 28 60 64 06 00 07 20"));
  EXPECT_EQ(test::events_of(read(path).events), in);
}

TEST(Evt3Writer, spec_vector_15_4_vector_group) {
  test::ScopedTempDir dir;
  const std::vector<Ev> in = {{100, 64, 3, 1}, {100, 65, 3, 1}, {100, 70, 3, 1}, {100, 80, 3, 1}, {100, 95, 3, 1}};
  const auto path = test::write_events(dir.file("v.raw"), opts("evt3"), test::batch_of(in));
  EXPECT_EQ(test::payload_of(path), test::hex_bytes("00 80 64 60 03 00 40 38 43 40 10 40 80 50"));
  EXPECT_EQ(test::events_of(read(path).events), in);
}

// The record layout of docs/formats.md 5.4 item 2 (second record at 2^31 - 1: the writer
// documents that it refuses gaps of 2^31 µs or more between consecutive events).
TEST(DatWriter, records_use_the_spec_5_4_2_layout) {
  test::ScopedTempDir dir;
  const std::vector<Ev> in = {{100, 639, 479, 1}, {2147483647ll, 0, 1, 0}};
  const auto path = test::write_events(dir.file("v.dat"), opts("dat", 640, 480), test::batch_of(in));
  const auto bytes = test::read_file(path);
  const Metadata m = read_metadata(path);
  ASSERT_GE(m.data_offset, 2u);
  EXPECT_EQ(bytes[m.data_offset - 2], 0x0C);
  EXPECT_EQ(bytes[m.data_offset - 1], 0x08);
  EXPECT_EQ(test::payload_of(path), test::hex_bytes("64 00 00 00 7F C2 77 10  FF FF FF 7F 00 40 00 00"));
  EXPECT_EQ(m.width, 640u);
  EXPECT_EQ(m.height, 480u);
  EXPECT_EQ(test::events_of(read(path).events), in);
}

TEST(RawWriter, header_is_terminated_and_declares_format_and_geometry) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("h.raw"), opts("evt3", 640, 480), test::batch_of({{5, 1, 1, 1}}));
  const Metadata m = read_metadata(path);
  EXPECT_EQ(m.format, "evt3");
  EXPECT_EQ(m.width, 640u);
  EXPECT_EQ(m.height, 480u);
  ASSERT_NE(m.header_value("format"), nullptr);
  EXPECT_EQ(*m.header_value("format"), "EVT3;height=480;width=640");
  const auto bytes = test::read_file(path);
  const std::string header(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(m.data_offset));
  EXPECT_EQ(header.substr(header.size() - 6), "% end\n");
}

TEST(Evt3Writer, keeps_exact_event_order_within_one_microsecond) {
  test::ScopedTempDir dir;
  const std::vector<Ev> in = {{7, 9, 5, 1}, {7, 3, 3, 0}, {7, 2, 5, 1}, {7, 4, 5, 0}, {7, 5, 5, 0},
                              {7, 6, 5, 0}, {7, 1, 3, 1}, {8, 0, 0, 0}, {8, 31, 0, 0}, {8, 30, 0, 0}};
  const auto path = test::write_events(dir.file("o.raw"), opts("evt3"), test::batch_of(in));
  EXPECT_EQ(test::events_of(read(path).events), in);
}

TEST(Evt3Writer, triggers_are_merged_by_time) {
  test::ScopedTempDir dir;
  TriggerBatch tr;
  tr.push_back(5, 1, 1);
  tr.push_back(7000, 15, 0);
  const auto path = test::write_events(dir.file("t.raw"), opts("evt3"), test::batch_of({{10, 1, 1, 1}, {9000, 2, 2, 0}}), tr);
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{10, 1, 1, 1}, {9000, 2, 2, 0}}));
  EXPECT_EQ(test::triggers_of(rec.triggers), (std::vector<Trig>{{5, 1, 1}, {7000, 15, 0}}));
}

// ---- scene round trips ----

void expect_round_trip(const std::string& format, const SceneOptions& so, std::size_t count, bool with_triggers,
                       Recording* out = nullptr) {
  test::ScopedTempDir dir;
  const Scene scene = generate(so, count);
  ASSERT_EQ(scene.events.size(), count);
  const auto path = test::write_events(dir.file("scene." + format), opts(format, so.width, so.height), scene.events,
                                       with_triggers ? scene.triggers : TriggerBatch{});
  Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, format);
  EXPECT_EQ(rec.events.size(), scene.events.size());
  EXPECT_EQ(digest(rec.events), digest(scene.events));
  if (with_triggers) {
    EXPECT_FALSE(scene.triggers.empty());
    EXPECT_TRUE(test::same_triggers(rec.triggers, scene.triggers))
        << rec.triggers.size() << " triggers read, " << scene.triggers.size() << " written";
  }
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  if (out) *out = std::move(rec);
}

TEST(RoundTrip, evt3_scene_with_triggers) {
  SceneOptions so;
  so.seed = 3;
  so.trigger_rate = 20000;
  expect_round_trip("evt3", so, 500'000, true);
}

TEST(RoundTrip, evt2_scene_with_triggers) {
  SceneOptions so;
  so.seed = 4;
  so.trigger_rate = 20000;
  expect_round_trip("evt2", so, 500'000, true);
}

TEST(RoundTrip, dat_scene) {
  SceneOptions so;
  so.seed = 5;
  so.width = 304;
  so.height = 240;
  expect_round_trip("dat", so, 500'000, false);
}

TEST(RoundTrip, evt3_crosses_several_24_bit_time_wraps) {
  SceneOptions so;
  so.seed = 6;
  so.t_start = (std::int64_t{1} << 24) - 5000;
  so.event_rate = 2000;  // 100k events ~ 50 s: three 2^24 µs wraps
  so.trigger_rate = 10;
  Recording rec;
  expect_round_trip("evt3", so, 100'000, true, &rec);
  EXPECT_GE(rec.stats.time_wraps, 3u);
  ASSERT_FALSE(rec.events.empty());
  EXPECT_GT(rec.events.t().back(), std::int64_t{3} << 24);
  EXPECT_EQ(rec.stats.non_monotonic_time_high, 0u);
}

TEST(RoundTrip, evt2_crosses_the_34_bit_time_wrap) {
  SceneOptions so;
  so.seed = 8;
  so.t_start = (std::int64_t{1} << 34) - 100000;
  so.event_rate = 1e6;  // 300k events ~ 0.3 s
  so.trigger_rate = 1000;
  Recording rec;
  expect_round_trip("evt2", so, 300'000, true, &rec);
  EXPECT_EQ(rec.stats.time_wraps, 1u);
  ASSERT_FALSE(rec.events.empty());
  EXPECT_LT(rec.events.t().front(), std::int64_t{1} << 34);
  EXPECT_GT(rec.events.t().back(), std::int64_t{1} << 34);
}

TEST(RoundTrip, dat_crosses_the_32_bit_time_wrap) {
  SceneOptions so;
  so.seed = 9;
  so.t_start = (std::int64_t{1} << 32) - 100000;
  so.event_rate = 1e6;
  Recording rec;
  expect_round_trip("dat", so, 300'000, false, &rec);
  EXPECT_EQ(rec.stats.time_wraps, 1u);
  ASSERT_FALSE(rec.events.empty());
  EXPECT_LT(rec.events.t().front(), std::int64_t{1} << 32);
  EXPECT_GT(rec.events.t().back(), std::int64_t{1} << 32);
}

// docs/formats.md 15.4: one TIME_HIGH per 4.096 ms of elapsed time, so that every decoder sees each
// wrap as a 0xFFF -> 0x000 step; 15.2: EVT2 TIME_HIGH words at most 128 units apart.
TEST(RoundTrip, evt3_time_high_words_step_by_one_across_wraps) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.seed = 12;
  so.t_start = (std::int64_t{1} << 24) - 5000;
  so.event_rate = 3000;
  const Scene scene = generate(so, 120'000);  // ~40 s: several wraps
  const auto payload = test::payload_of(test::write_events(dir.file("th.raw"), opts("evt3"), scene.events));
  int last = -1;
  std::size_t steps = 0, bad = 0, wraps = 0;
  for (std::size_t i = 0; i + 2 <= payload.size(); i += 2) {
    const unsigned w = payload[i] | payload[i + 1] << 8;
    if ((w >> 12) != 0x8) continue;
    const int v = static_cast<int>(w & 0xFFF);
    if (last >= 0 && v != last) {
      ++steps;
      bad += v != ((last + 1) & 0xFFF);
      wraps += v == 0;
    }
    last = v;
  }
  const std::int64_t t0 = scene.events.t().front(), t1 = scene.events.t().back();
  EXPECT_EQ(steps, static_cast<std::size_t>((t1 >> 12) - (t0 >> 12)));
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(wraps, static_cast<std::size_t>((t1 >> 24) - (t0 >> 24)));
  EXPECT_GE(wraps, 2u);
}

TEST(RoundTrip, evt2_time_high_words_are_at_most_128_units_apart) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.seed = 13;
  so.t_start = (std::int64_t{1} << 34) - 50000;
  so.event_rate = 2000;  // sparse: gaps of several TIME_HIGH units
  const Scene scene = generate(so, 2000);
  const auto payload = test::payload_of(test::write_events(dir.file("th.raw"), opts("evt2"), scene.events));
  std::int64_t last = -1;
  std::size_t bad = 0, ths = 0;
  for (std::size_t i = 0; i + 4 <= payload.size(); i += 4) {
    const std::uint32_t w = payload[i] | payload[i + 1] << 8 | payload[i + 2] << 16 | static_cast<std::uint32_t>(payload[i + 3]) << 24;
    if ((w >> 28) != 0x8) continue;
    const std::int64_t v = w & 0x0FFFFFFF;
    if (last >= 0) bad += ((v - last) & 0x0FFFFFFF) > 128;
    last = v;
    ++ths;
  }
  EXPECT_GT(ths, 100u);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(read(dir.file("th.raw")).stats.time_wraps, 1u);
}

// Counts EVT3 payload words by type nibble and checks every VECT_BASE_X starts a complete
// BASE, VECT_12, VECT_12, VECT_8 group inside the sensor width (docs/formats.md 4.3 / 15.4).
struct VectorUse {
  std::size_t bases = 0, v12 = 0, v8 = 0, bad_groups = 0;
};
VectorUse vector_use(const std::vector<std::uint8_t>& payload, std::uint32_t width) {
  VectorUse u;
  const std::size_t n = payload.size() / 2;
  auto word = [&](std::size_t i) { return static_cast<unsigned>(payload[2 * i] | payload[2 * i + 1] << 8); };
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned type = word(i) >> 12;
    if (type == 0x3) {
      ++u.bases;
      const bool ok = i + 3 < n && (word(i + 1) >> 12) == 0x4 && (word(i + 2) >> 12) == 0x4 && (word(i + 3) >> 12) == 0x5 &&
                      (word(i) & 0x7FF) + 32 <= width;
      u.bad_groups += !ok;
    }
    u.v12 += type == 0x4;
    u.v8 += type == 0x5;
  }
  return u;
}

TEST(RoundTrip, evt3_runs_are_written_as_complete_vector_groups) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.seed = 10;
  so.run_fraction = 0.5;
  const Scene scene = generate(so, 400'000);
  const auto path = test::write_events(dir.file("runs.raw"), opts("evt3"), scene.events);
  const auto payload = test::payload_of(path);
  const VectorUse u = vector_use(payload, so.width);
  EXPECT_GT(u.bases, 1000u);
  EXPECT_EQ(u.v12, 2 * u.bases);
  EXPECT_EQ(u.v8, u.bases);
  EXPECT_EQ(u.bad_groups, 0u);
  // ADDR_X alone costs 2 bytes an event; vectors must bring the average well below that.
  EXPECT_LT(static_cast<double>(payload.size()) / static_cast<double>(scene.events.size()), 1.6);
  const Recording rec = read(path);
  EXPECT_EQ(digest(rec.events), digest(scene.events));
  EXPECT_EQ(rec.stats.missing_vector_base, 0u);
}

TEST(RoundTrip, evt3_without_runs_uses_no_vectors_for_isolated_events) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.seed = 11;
  so.run_fraction = 0.0;
  const Scene scene = generate(so, 100'000);
  const auto path = test::write_events(dir.file("single.raw"), opts("evt3"), scene.events);
  const VectorUse u = vector_use(test::payload_of(path), so.width);
  EXPECT_LT(u.bases, 100u);
  EXPECT_EQ(digest(read(path).events), digest(scene.events));
}

TEST(RoundTrip, writer_counts_events_written) {
  test::ScopedTempDir dir;
  const Scene scene = generate(SceneOptions{}, 12345);
  Writer w = Writer::create(dir.file("c.raw"), opts("evt3"));
  w.write(scene.events.slice(0, 5000));
  w.write(scene.events.slice(5000, scene.events.size()));
  EXPECT_EQ(w.events_written(), 12345u);
  w.close();
  EXPECT_EQ(digest(read(dir.file("c.raw")).events), digest(scene.events));
}

// ---- Writer contract ----

// A gap of hours between two events: the RAW writers put a TIME_HIGH word in every 4.096 ms
// (EVT 3.0) or 8.192 ms (EVT 2.x) of it, all held until the flush: two events 2^40 µs apart made
// a 537 MB file. Up to 2^20 words a gap are written (the file reads back exact); more are refused
// with the event's index, leaving no file.
TEST(Writer, raw_writers_refuse_a_gap_that_would_take_more_than_a_million_time_words) {
  test::ScopedTempDir dir;
  for (const auto& [format, step_us] : {std::pair{"evt3", 4096LL}, std::pair{"evt2", 8192LL}, std::pair{"evt21", 8192LL}}) {
    const std::int64_t longest = step_us * (std::int64_t{1} << 20);
    const std::string kept = dir.file(std::string("kept-") + format + ".raw");
    const std::vector<Ev> events = {{10, 1, 1, 1}, {10 + longest - step_us, 2, 2, 0}};
    test::write_events(kept, opts(format), test::batch_of(events));
    EXPECT_EQ(test::events_of(read(kept).events), events) << format;
    const std::string refused = dir.file(std::string("refused-") + format + ".raw");
    Writer w = Writer::create(refused, opts(format));
    try {
      w.write(test::batch_of({{10, 1, 1, 1}, {10 + 2 * longest, 2, 2, 0}}));
      ADD_FAILURE() << format << ": a gap of " << 2 * longest << " us was written";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("before event 1"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(test::list_dir(dir.path()).size(), 3u);  // the refused files left nothing
}

TEST(Writer, refuses_to_overwrite_an_existing_file) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("exists.raw");
  test::write_file(path, {'k', 'e', 'e', 'p'});
  EXPECT_THROW(Writer::create(path, opts("evt3")), IoError);
  EXPECT_EQ(test::read_file(path), (std::vector<std::uint8_t>{'k', 'e', 'e', 'p'}));
  EXPECT_EQ(test::list_dir(dir.path()).size(), 1u);
}

TEST(Writer, overwrite_option_replaces_the_file) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("exists.raw");
  test::write_file(path, {'o', 'l', 'd'});
  WriteOptions o = opts("evt3");
  o.overwrite = true;
  test::write_events(path, o, test::batch_of({{1, 2, 3, 1}}));
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{1, 2, 3, 1}}));
  EXPECT_EQ(test::list_dir(dir.path()).size(), 1u);
}

TEST(Writer, destroyed_without_close_leaves_nothing_behind) {
  test::ScopedTempDir dir;
  const Scene scene = generate(SceneOptions{}, 200'000);
  for (const char* format : {"evt3", "evt2", "dat"}) {
    const std::string path = dir.file(std::string("abandoned.") + format);
    {
      Writer w = Writer::create(path, opts(format));
      w.write(scene.events);
    }
    EXPECT_FALSE(test::file_exists(path)) << format;
    EXPECT_TRUE(test::list_dir(dir.path()).empty()) << format << ": " << test::list_dir(dir.path()).front();
  }
}

TEST(Writer, failed_write_leaves_nothing_behind) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("bad.raw");
  {
    Writer w = Writer::create(path, opts("evt3", 640, 480));
    EXPECT_THROW(w.write(test::batch_of({{1, 700, 3, 1}})), InvalidArgument);
  }
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(Writer, rejects_events_outside_the_geometry) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt3", "evt2"}) {
    Writer w = Writer::create(dir.file(std::string("g.") + format), opts(format, 640, 480));
    EXPECT_THROW(w.write(test::batch_of({{1, 640, 0, 1}})), InvalidArgument) << format;
  }
  Writer d = Writer::create(dir.file("g.dat"), opts("dat", 0, 0));
  EXPECT_THROW(d.write(test::batch_of({{1, 1 << 14, 0, 1}})), InvalidArgument);
}

// RAW words hold 11-bit coordinates: a larger geometry let x = 3000 spill into EVT 2.0's time
// bits and wrap to 952 in EVT 3.0, written without a word. Refused when the writer is made.
TEST(Writer, raw_writers_refuse_a_geometry_their_11_bit_coordinates_cannot_address) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt3", "evt2", "evt21"}) {
    for (const auto& [w, h] : {std::pair{4096u, 720u}, std::pair{1280u, 2049u}}) {
      try {
        Writer::create(dir.file("wide.raw"), opts(format, w, h));
        ADD_FAILURE() << format << " " << w << "x" << h << " accepted";
      } catch (const InvalidArgument& e) {
        EXPECT_NE(std::string(e.what()).find("at most 2048x2048"), std::string::npos) << e.what();
      }
    }
    EXPECT_TRUE(test::list_dir(dir.path()).empty()) << format;
    const std::string path = dir.file(std::string("corner.") + format);
    test::write_events(path, opts(format, 2048, 2048), test::batch_of({{5, 2047, 2047, 1}}));
    ReadOptions ro;
    ro.format = format;
    const EventBatch back = read(path, ro).events;
    ASSERT_EQ(back.size(), 1u) << format;
    EXPECT_EQ(back.t()[0], 5);
    EXPECT_EQ(back.x()[0], 2047);
    EXPECT_EQ(back.y()[0], 2047);
    std::filesystem::remove(path);
  }
}

// The reader drops a DAT event outside the geometry the header states: the writer refuses it, as
// the other writers do (it checked DAT's 14 bits only).
TEST(Writer, dat_refuses_events_outside_the_geometry_it_states) {
  test::ScopedTempDir dir;
  Writer w = Writer::create(dir.file("g.dat"), opts("dat", 100, 100));
  w.write(test::batch_of({{1, 99, 99, 1}}));
  EXPECT_THROW(w.write(test::batch_of({{2, 100, 0, 1}})), InvalidArgument);
  EXPECT_THROW(w.write(test::batch_of({{2, 0, 100, 1}})), InvalidArgument);
}

// Keys the writer writes itself (a header copied from another file: its format, geometry or
// `end`) are left out; the rest is kept, spaces in a RAW or DAT key as underscores (it would
// read back split at the first: AEDAT 2's "Creation date"). A control character or an empty key
// is refused for every format.
TEST(Writer, header_keys_the_writer_owns_are_left_out_and_broken_ones_refused) {
  test::ScopedTempDir dir;
  WriteOptions o = opts("evt3", 32, 32);
  o.header = {{"format", "EVT2;height=8;width=8"}, {"end", ""}, {"geometry", "8x8"}, {"serial", "42"}, {"Creation date", "today"}};
  const std::string path = dir.file("h.raw");
  test::write_events(path, o, test::batch_of({{1, 20, 20, 1}}));
  const Recording back = read(path);
  EXPECT_EQ(back.metadata->width, 32u);
  EXPECT_EQ(back.metadata->format, "evt3");
  ASSERT_NE(back.metadata->header_value("serial"), nullptr);
  EXPECT_EQ(*back.metadata->header_value("serial"), "42");
  ASSERT_NE(back.metadata->header_value("Creation_date"), nullptr);
  EXPECT_EQ(*back.metadata->header_value("Creation_date"), "today");
  ASSERT_EQ(back.events.size(), 1u);
  EXPECT_EQ(back.events.x()[0], 20);
  for (const auto& [format, header] : std::vector<std::pair<std::string, std::pair<std::string, std::string>>>{
           {"evt3", {"k", "a\nb"}}, {"hdf5", {"k", std::string("a\0b", 3)}}, {"dat", {"", "v"}}, {"aedat4", {"k", "\x1b[31m"}}}) {
    WriteOptions bad = opts(format, 32, 32);
    bad.header = {header};
    EXPECT_THROW(Writer::create(dir.file("bad." + format), bad), InvalidArgument) << format;
  }
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"h.raw"}));
}

// RAW trigger words hold one bit: a value past 1 is a rising edge, as HDF5 and AEDAT 4 read it
// (value & 1 made 2 a falling edge).
TEST(Writer, raw_trigger_values_past_one_are_rising_edges) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt3", "evt2", "evt21"}) {
    TriggerBatch triggers;
    triggers.push_back(5, 0, 2);
    triggers.push_back(6, 0, 0);
    triggers.push_back(7, 0, 255);
    const std::string path = dir.file(std::string("t.") + format);
    {
      Writer w = Writer::create(path, opts(format, 32, 32));
      w.write(test::batch_of({{10, 1, 1, 1}}), triggers);
      w.close();
    }
    ReadOptions ro;
    ro.format = format;
    const Recording back = read(path, ro);
    ASSERT_EQ(back.triggers.size(), 3u) << format;
    EXPECT_EQ(back.triggers.value, (std::vector<std::uint8_t>{1, 0, 1})) << format;
  }
}

// An option the format has no place for is refused, not dropped (compression "gzip" wrote an
// uncompressed .npz; header keys vanished from .npy).
TEST(Writer, compression_or_header_keys_a_format_cannot_hold_are_refused) {
  test::ScopedTempDir dir;
  for (const char* format : {"npz", "npy", "evt3", "dat", "text"}) {
    WriteOptions o = opts(format, 32, 32);
    o.compression = "gzip";
    EXPECT_THROW(Writer::create(dir.file(std::string("c.") + format), o), InvalidArgument) << format;
    o.compression = "none";  // what every format does
    Writer::create(dir.file(std::string("none.") + format), o);
  }
  for (const char* format : {"npz", "npy", "text", "csv"}) {
    WriteOptions o = opts(format, 32, 32);
    o.header = {{"k", "v"}};
    EXPECT_THROW(Writer::create(dir.file(std::string("h.") + format), o), InvalidArgument) << format;
  }
  EXPECT_TRUE(test::list_dir(dir.path()).empty());  // the writers made with "none" were abandoned
}

TEST(Writer, rejects_negative_and_decreasing_time) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt3", "evt2", "dat"}) {
    Writer a = Writer::create(dir.file(std::string("neg.") + format), opts(format));
    EXPECT_THROW(a.write(test::batch_of({{-1, 1, 1, 1}})), InvalidArgument) << format;
    Writer b = Writer::create(dir.file(std::string("dec.") + format), opts(format));
    b.write(test::batch_of({{100000, 1, 1, 1}}));
    EXPECT_THROW(b.write(test::batch_of({{10, 1, 1, 1}})), InvalidArgument) << format;
  }
}

// writer.hpp: "sensor geometry written to the header (required for RAW, AEDAT 4.0)";
// docs/formats.md 15.1: the `format` key must carry height and width (Metavision ignores system_ID
// for other integrators).
TEST(Writer, raw_formats_require_geometry) {
  test::ScopedTempDir dir;
  for (const char* format : {"evt3", "evt2"}) {
    const std::string path = dir.file(std::string("nogeo.") + format);
    bool refused = false;
    try {
      test::write_events(path, opts(format, 0, 0), test::batch_of({{1, 2, 3, 1}}));
    } catch (const Error&) {
      refused = true;
    }
    EXPECT_TRUE(refused) << format << ": RAW file written without geometry, header says "
                         << (test::file_exists(path) && read_metadata(path).header_value("format")
                                 ? *read_metadata(path).header_value("format")
                                 : std::string("?"));
  }
}

TEST(Writer, write_after_close_is_refused_and_close_is_idempotent) {
  test::ScopedTempDir dir;
  Writer w = Writer::create(dir.file("c.raw"), opts("evt3"));
  w.write(test::batch_of({{1, 2, 3, 1}}));
  w.close();
  EXPECT_NO_THROW(w.close());
  EXPECT_THROW(w.write(test::batch_of({{2, 2, 3, 1}})), InvalidArgument);
  EXPECT_EQ(read(dir.file("c.raw")).events.size(), 1u);
}

TEST(Writer, unknown_format_is_rejected) {
  test::ScopedTempDir dir;
  EXPECT_THROW(Writer::create(dir.file("x.raw"), opts("evt4")), Error);
  EXPECT_THROW(Writer::create(dir.file("x.bin"), opts("")), InvalidArgument);
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(Writer, format_defaults_from_extension) {
  test::ScopedTempDir dir;
  test::write_events(dir.file("a.raw"), opts(""), test::batch_of({{1, 2, 3, 1}}));
  test::write_events(dir.file("a.dat"), opts(""), test::batch_of({{1, 2, 3, 1}}));
  EXPECT_EQ(read_metadata(dir.file("a.raw")).format, "evt3");
  EXPECT_EQ(read_metadata(dir.file("a.dat")).format, "dat");
}

// Writer::write documents "Appends events (and triggers, merged by time)" and docs/formats.md 15 says
// writers never clamp: a DAT writer given triggers must keep them or refuse them.
TEST(DatWriter, does_not_silently_drop_triggers) {
  test::ScopedTempDir dir;
  TriggerBatch tr;
  tr.push_back(5, 0, 1);
  const std::string path = dir.file("tr.dat");
  bool refused = false;
  try {
    test::write_events(path, opts("dat", 640, 480), test::batch_of({{10, 1, 1, 1}}), tr);
  } catch (const Error&) {
    refused = true;
  }
  if (!refused) {
    EXPECT_EQ(read(path).triggers.size(), 1u) << "the trigger was accepted and then lost";
  }
}

}  // namespace
}  // namespace evlib
