// The real third-party recordings of the test data (not redistributable, so not in this repository)
// against every value their publishers' tests and the reference decoders state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/summary.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using test::Ev;

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";

// A .npy file (v1.0) holding the packed dtype [('t','<i8'),('x','<i2'),('y','<i2'),('p','u1')].
struct Npy {
  std::size_t header_len = 0;
  std::string header;
  std::vector<Ev> rows;
};

Npy load_npy(const std::string& path) {
  const auto b = test::read_file(path);
  Npy npy;
  EXPECT_GE(b.size(), 10u);
  if (b.size() < 10) return npy;
  EXPECT_EQ(std::string(b.begin(), b.begin() + 6), "\x93NUMPY");
  EXPECT_EQ(b[6], 1) << "major version";
  EXPECT_EQ(b[7], 0) << "minor version";
  npy.header_len = static_cast<std::size_t>(b[8]) | static_cast<std::size_t>(b[9]) << 8;
  npy.header.assign(b.begin() + 10, b.begin() + 10 + static_cast<std::ptrdiff_t>(npy.header_len));
  EXPECT_NE(npy.header.find("('t', '<i8'), ('x', '<i2'), ('y', '<i2'), ('p', '|u1')"), std::string::npos) << npy.header;
  EXPECT_NE(npy.header.find("'fortran_order': False"), std::string::npos);
  const std::size_t shape_at = npy.header.find("'shape': (");
  EXPECT_NE(shape_at, std::string::npos);
  const std::size_t count = std::stoul(npy.header.substr(shape_at + 10));
  const std::size_t data = 10 + npy.header_len;
  EXPECT_EQ(b.size(), data + 13 * count) << "packed itemsize 13";
  for (std::size_t i = 0; i < count && data + 13 * (i + 1) <= b.size(); ++i) {
    const std::uint8_t* r = b.data() + data + 13 * i;
    Ev e{};
    std::int16_t x, y;
    std::memcpy(&e.t, r, 8);
    std::memcpy(&x, r + 8, 2);
    std::memcpy(&y, r + 10, 2);
    e.x = static_cast<std::uint16_t>(x);
    e.y = static_cast<std::uint16_t>(y);
    e.p = r[12];
    npy.rows.push_back(e);
  }
  return npy;
}

bool monotonic(const EventBatch& b) { return std::is_sorted(b.t().begin(), b.t().end()); }

Summary summary_of(const EventBatch& b) {
  Summary s;
  s.add(b);
  return s;
}

// First TIME_HIGH value of a RAW payload with word_bytes-sized words whose type nibble is 8.
std::uint32_t first_time_high(const std::vector<std::uint8_t>& payload, std::size_t word_bytes) {
  for (std::size_t i = 0; i + word_bytes <= payload.size(); i += word_bytes) {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < word_bytes; ++k) w |= std::uint64_t{payload[i + k]} << (8 * k);
    const unsigned type = static_cast<unsigned>(w >> (8 * word_bytes - 4));
    if (type == 0x8) return static_cast<std::uint32_t>(w & ((std::uint64_t{1} << (8 * word_bytes - 4)) - 1));
  }
  ADD_FAILURE() << "no TIME_HIGH word";
  return 0;
}

// ---- evt3/evt3_test_pedestrians.raw ----

TEST(RealEvt3Pedestrians, counts_first_last_polarities_and_bounds) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const Recording rec = read(test::shared_data(kEvt3));
  ASSERT_EQ(rec.events.size(), 5000u);
  const auto ev = test::events_of(rec.events);
  EXPECT_EQ(ev.front(), (Ev{5840504, 707, 297, 0}));
  EXPECT_EQ(ev.back().t, 5885714);
  const Summary s = summary_of(rec.events);
  EXPECT_EQ(s.on, 2894u);
  EXPECT_EQ(s.off, 2106u);
  EXPECT_LT(s.x_max, 1280u);
  EXPECT_LT(s.y_max, 720u);
  EXPECT_TRUE(monotonic(rec.events));
  EXPECT_TRUE(rec.triggers.empty());
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  EXPECT_EQ(rec.stats.before_first_time_high, 0u);
}

TEST(RealEvt3Pedestrians, geometry_offset_and_word_count) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const Recording rec = read(test::shared_data(kEvt3));
  EXPECT_EQ(rec.metadata->format, "evt3");
  EXPECT_EQ(rec.metadata->width, 1280u);
  EXPECT_EQ(rec.metadata->height, 720u);
  EXPECT_EQ(rec.metadata->data_offset, 166u);
  EXPECT_EQ(rec.metadata->file_size, 36920u);
  // 4,960 ADDR_Y + 5,000 ADDR_X + 5,590 TIME_LOW + 2,827 TIME_HIGH words.
  EXPECT_EQ(rec.stats.words, 4960u + 5000u + 5590u + 2827u);
  EXPECT_EQ(rec.stats.trailing_bytes, 0u);
}

TEST(RealEvt3Pedestrians, time_high_values_span_1425_to_1436) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const auto payload = test::payload_of(test::shared_data(kEvt3));
  unsigned lo = 0xFFF, hi = 0, count = 0;
  for (std::size_t i = 0; i + 2 <= payload.size(); i += 2) {
    const unsigned w = payload[i] | payload[i + 1] << 8;
    if ((w >> 12) == 0x8) lo = std::min(lo, w & 0xFFFu), hi = std::max(hi, w & 0xFFFu), ++count;
  }
  EXPECT_EQ(count, 2827u);
  EXPECT_EQ(lo, 1425u);
  EXPECT_EQ(hi, 1436u);
  // Every decoded time lies inside the TIME_HIGH range.
  const Recording rec = read(test::shared_data(kEvt3));
  EXPECT_GE(rec.events.t().front(), std::int64_t{1425} << 12);
  EXPECT_LT(rec.events.t().back(), std::int64_t{1437} << 12);
}

TEST(RealEvt3Pedestrians, first_16_events_sorted_match_openeb_reference) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const Recording rec = read(test::shared_data(kEvt3));
  auto ev = test::events_of(rec.events);
  std::sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) {
    return std::tie(a.t, a.x, a.y, a.p) < std::tie(b.t, b.x, b.y, b.p);
  });
  // [x, y, p, t] as OpenEB's EVT 3.0 decoder gives them.
  const int ref[16][4] = {{707, 297, 0, 5840504}, {592, 301, 0, 5840507}, {997, 313, 0, 5840511}, {150, 331, 1, 5840526},
                          {682, 283, 1, 5840526}, {595, 313, 1, 5840532}, {14, 240, 0, 5840545},  {983, 297, 0, 5840573},
                          {599, 294, 0, 5840575}, {983, 282, 0, 5840580}, {606, 302, 0, 5840581}, {689, 281, 0, 5840585},
                          {689, 302, 0, 5840587}, {849, 283, 1, 5840596}, {542, 275, 1, 5840600}, {649, 305, 1, 5840605}};
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(ev[i], (Ev{ref[i][3], static_cast<std::uint16_t>(ref[i][0]), static_cast<std::uint16_t>(ref[i][1]),
                         static_cast<std::uint8_t>(ref[i][2])}))
        << i;
  }
}

TEST(RealEvt3Pedestrians, file_order_has_682_before_150) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const auto ev = test::events_of(read(test::shared_data(kEvt3)).events);
  EXPECT_EQ(ev[3], (Ev{5840526, 682, 283, 1}));
  EXPECT_EQ(ev[4], (Ev{5840526, 150, 331, 1}));
}

TEST(RealEvt3Pedestrians, npy_reference_xyp_all_rows_t_first_46_rows) {
  EVLIB_REQUIRE_RECORDINGS("npy/evt3_test_pedestrians.expelliarmus.npy", kEvt3);
  const Npy npy = load_npy(test::shared_data("npy/evt3_test_pedestrians.expelliarmus.npy"));
  EXPECT_EQ(npy.header_len, 118u);
  ASSERT_EQ(npy.rows.size(), 5000u);
  EXPECT_EQ(npy.rows[0], (Ev{5840504, 707, 297, 0}));
  const auto ev = test::events_of(read(test::shared_data(kEvt3)).events);
  ASSERT_EQ(ev.size(), 5000u);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < 5000; ++i) {
    if (ev[i].x != npy.rows[i].x || ev[i].y != npy.rows[i].y || ev[i].p != npy.rows[i].p) {
      if (++mismatches <= 5) ADD_FAILURE() << "row " << i << ": decoded " << ev[i] << " npy " << npy.rows[i];
    }
  }
  EXPECT_EQ(mismatches, 0u);
  for (std::size_t i = 0; i <= 45; ++i) EXPECT_EQ(ev[i].t, npy.rows[i].t) << i;
  // The reference's known-wrong timestamps: its last t is 5930770, ours 5885714.
  EXPECT_EQ(npy.rows.back().t, 5930770);
  EXPECT_EQ(ev.back().t, 5885714);
}

TEST(RealEvt3Pedestrians, metavision_time_shift_subtracts_first_time_high_minus_one) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const std::string path = test::shared_data(kEvt3);
  const std::uint32_t th = first_time_high(test::payload_of(path), 2);
  EXPECT_EQ(th, 1425u);
  const std::int64_t shift = static_cast<std::int64_t>(th - 1) * 4096;
  const Recording plain = read(path);
  ReadOptions o;
  o.metavision_time_shift = true;
  const Recording shifted = read(path, o);
  ASSERT_EQ(shifted.events.size(), plain.events.size());
  for (std::size_t i = 0; i < plain.events.size(); ++i) {
    ASSERT_EQ(shifted.events.t()[i], plain.events.t()[i] - shift) << i;
    ASSERT_EQ(shifted.events.x()[i], plain.events.x()[i]) << i;
  }
  // Metavision puts the first events in [4096, 8191].
  EXPECT_GE(shifted.events.t().front(), 4096);
  EXPECT_LT(shifted.events.t().front(), 8192);
}

// Metadata::time_shift is documented as "subtracted from every timestamp (Metavision
// compatibility), else 0": with the option on it must report the shift applied.
TEST(RealEvt3Pedestrians, metadata_reports_the_applied_time_shift) {
  EVLIB_REQUIRE_RECORDINGS(kEvt3);
  const std::string path = test::shared_data(kEvt3);
  ReadOptions o;
  o.metavision_time_shift = true;
  const Recording shifted = read(path, o);
  EXPECT_EQ(shifted.metadata->time_shift, std::int64_t{1424} * 4096);
  EXPECT_EQ(read(path).metadata->time_shift, 0);
}

// ---- evt2/evt2_sample.raw ----

TEST(RealEvt2Sample, counts_first_last_polarities_and_bounds) {
  EVLIB_REQUIRE_RECORDINGS(kEvt2);
  const Recording rec = read(test::shared_data(kEvt2));
  ASSERT_EQ(rec.events.size(), 539481u);
  const auto ev = test::events_of(rec.events);
  EXPECT_EQ(ev.front(), (Ev{1317888, 237, 121, 1}));
  EXPECT_EQ(ev.back(), (Ev{1367888, 210, 142, 1}));
  const Summary s = summary_of(rec.events);
  EXPECT_EQ(s.on, 367855u);
  EXPECT_EQ(s.off, 171626u);
  EXPECT_EQ(s.x_max, 599u);
  EXPECT_EQ(s.y_max, 475u);
  EXPECT_TRUE(monotonic(rec.events));
  EXPECT_TRUE(rec.triggers.empty());
  EXPECT_EQ(rec.stats.corrupt(), 0u);
}

TEST(RealEvt2Sample, geometry_offset_and_time_high_count) {
  EVLIB_REQUIRE_RECORDINGS(kEvt2);
  const Recording rec = read(test::shared_data(kEvt2));
  EXPECT_EQ(rec.metadata->format, "evt2");
  EXPECT_EQ(rec.metadata->width, 640u);
  EXPECT_EQ(rec.metadata->height, 480u);
  EXPECT_EQ(rec.metadata->data_offset, 164u);
  EXPECT_EQ(rec.metadata->file_size, 2170592u);
  EXPECT_EQ(rec.stats.words, (2170592u - 164u) / 4);
  // Every word is a CD event except the 3,126 TIME_HIGH words (docs/formats.md 2.5.3).
  EXPECT_EQ(rec.stats.words - rec.events.size(), 3126u);
}

TEST(RealEvt2Sample, metavision_time_shift_subtracts_first_time_high_times_64) {
  EVLIB_REQUIRE_RECORDINGS(kEvt2);
  const std::string path = test::shared_data(kEvt2);
  const std::uint32_t th = first_time_high(test::payload_of(path), 4);
  EXPECT_EQ(th, 0x5070u);
  const std::int64_t shift = static_cast<std::int64_t>(th) << 6;
  const Recording plain = read(path);
  ReadOptions o;
  o.metavision_time_shift = true;
  const Recording shifted = read(path, o);
  ASSERT_EQ(shifted.events.size(), plain.events.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < plain.events.size(); ++i) bad += shifted.events.t()[i] != plain.events.t()[i] - shift;
  EXPECT_EQ(bad, 0u);
  EXPECT_GE(shifted.events.t().front(), 0);
  EXPECT_LT(shifted.events.t().front(), 64);
}

// ---- dat/NCARS_obj_004397_td.dat ----

TEST(RealDatNcars, counts_first_last_polarities_and_bounds) {
  EVLIB_REQUIRE_RECORDINGS(kDat);
  const Recording rec = read(test::shared_data(kDat));
  ASSERT_EQ(rec.events.size(), 4407u);
  const auto ev = test::events_of(rec.events);
  EXPECT_EQ(ev.front(), (Ev{0, 6, 18, 1}));
  EXPECT_EQ(ev.back(), (Ev{99937, 48, 47, 1}));
  const Summary s = summary_of(rec.events);
  EXPECT_EQ(s.on, 1671u);
  EXPECT_EQ(s.off, 2736u);
  EXPECT_EQ(s.x_max, 53u);
  EXPECT_EQ(s.y_max, 60u);
  EXPECT_LT(s.x_max, 120u);
  EXPECT_LT(s.y_max, 100u);
  EXPECT_TRUE(monotonic(rec.events));
  EXPECT_EQ(rec.stats.corrupt(), 0u);
}

TEST(RealDatNcars, header_type_and_offset) {
  EVLIB_REQUIRE_RECORDINGS(kDat);
  const Recording rec = read(test::shared_data(kDat));
  EXPECT_EQ(rec.metadata->format, "dat");
  EXPECT_EQ(rec.metadata->data_offset, 93u);
  EXPECT_EQ(rec.metadata->width, 0u);  // no Width/Height lines
  EXPECT_EQ(rec.metadata->height, 0u);
  EXPECT_EQ(rec.metadata->header.size(), 3u);
  ASSERT_NE(rec.metadata->header_value("Version"), nullptr);
  EXPECT_EQ(*rec.metadata->header_value("Version"), "2");
  const auto b = test::read_file(test::shared_data(kDat));
  EXPECT_EQ(b[91], 0x00);  // Event2d
  EXPECT_EQ(b[92], 0x08);
  EXPECT_EQ(rec.stats.words, 4407u);
}

TEST(RealDatNcars, equals_npy_reference_field_by_field) {
  EVLIB_REQUIRE_RECORDINGS("npy/NCARS_obj_004397_td.expelliarmus.npy", kDat);
  const Npy npy = load_npy(test::shared_data("npy/NCARS_obj_004397_td.expelliarmus.npy"));
  EXPECT_EQ(npy.header_len, 118u);
  ASSERT_EQ(npy.rows.size(), 4407u);
  EXPECT_EQ(npy.rows[1], (Ev{66, 42, 35, 0}));
  EXPECT_EQ(npy.rows[2], (Ev{89, 38, 19, 0}));
  const auto ev = test::events_of(read(test::shared_data(kDat)).events);
  ASSERT_EQ(ev.size(), npy.rows.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < ev.size(); ++i) {
    if (!(ev[i] == npy.rows[i]) && ++mismatches <= 5) ADD_FAILURE() << "row " << i << ": " << ev[i] << " vs " << npy.rows[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(RealDatNcars, time_shift_option_does_not_touch_dat) {
  EVLIB_REQUIRE_RECORDINGS(kDat);
  ReadOptions o;
  o.metavision_time_shift = true;
  EXPECT_EQ(digest(read(test::shared_data(kDat), o).events), digest(read(test::shared_data(kDat)).events));
}

}  // namespace
}  // namespace evlib
