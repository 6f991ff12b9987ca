// AEDAT 1.0 / 2.0 (jAER) and AEDAT 3.x (cAER): docs/formats.md 9.4 and 10.3 vectors, the 9.1-9.3 and
// 10.1-10.2 rules, real jAER recordings (test data), chunking invariance and damaged input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/inivation/aedat2.hpp"
#include "formats/inivation/aedat3.hpp"
#include "formats/inivation/aedat_header.hpp"
#include "io/format_reader.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::Aedat2Config;
using detail::Aedat2Decoder;
using detail::Aedat3Config;
using detail::Aedat3Decoder;
using detail::AedatLayout;
using test::decode_bytes;
using test::Ev;
using test::Trig;

Aedat2Config davis(std::uint32_t w, std::uint32_t h) {
  Aedat2Config c;
  c.layout = AedatLayout::kDavis;
  c.width = w;
  c.height = h;
  return c;
}
Aedat2Config dvs128() { return Aedat2Config{}; }

// Big-endian 8-byte AEDAT 2.0 record.
std::vector<std::uint8_t> rec2(std::uint32_t address, std::uint32_t t) {
  std::vector<std::uint8_t> out;
  for (std::uint32_t v : {address, t}) {
    for (int k = 3; k >= 0; --k) out.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  }
  return out;
}
std::vector<std::uint8_t> cat(std::vector<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// DAVIS DVS address from raw fields.
std::uint32_t davis_addr(std::uint32_t xf, std::uint32_t yf, std::uint32_t p) { return yf << 22 | xf << 12 | p << 11; }

const char* kDavis240Header =
    "#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"
    "# AEChip: eu.seebetter.ini.chips.davis.DAVIS240C\r\n#End Of ASCII Header\r\n";
const char* kDvs128Header = "#!AER-DAT2.0\r\n# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\r\n";

// ---- docs/formats.md 9.4 vectors ----

TEST(Aedat2Decoder, spec_9_4_vector_2_davis346_record_top_left) {
  const auto d = decode_bytes(Aedat2Decoder<8>(davis(346, 260)), test::hex_bytes("19 0C 88 00 00 01 E2 40"));
  // y_field 100, x_field 200, ON, t 123456; top-left: x = 345 - 200, y = 259 - 100.
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{123456, 145, 159, 1}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Aedat2Decoder, spec_9_4_vector_3_dvs128_record_inverted_polarity) {
  const auto d = decode_bytes(Aedat2Decoder<8>(dvs128()), test::hex_bytes("00 00 01 04 00 00 13 88"));
  // x_raw 2, y_raw 1, raw bit 0 = 0 => ON; top-left: (127 - 2, 127 - 1).
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{5000, 125, 126, 1}}));
}

TEST(Aedat2File, spec_9_4_vector_1_tonic_header_only_file) {
  EVLIB_REQUIRE_RECORDINGS("aedat2/tonic_sample_aedat_header.aedat");
  const std::string path = test::shared_data("aedat2/tonic_sample_aedat_header.aedat");
  EXPECT_EQ(detect_format(path), "aedat2");
  const Recording rec = read(path);
  EXPECT_EQ(rec.events.size(), 0u);
  EXPECT_EQ(rec.triggers.size(), 0u);
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  EXPECT_EQ(rec.metadata->data_offset, 599u);  // LF-only lines, all header
  ASSERT_NE(rec.metadata->header_value("version"), nullptr);
  EXPECT_EQ(*rec.metadata->header_value("version"), "2.0");
  ASSERT_NE(rec.metadata->header_value("Creation time"), nullptr);
  EXPECT_NE(rec.metadata->header_value("Creation time")->find("1695355587880"), std::string::npos);
  EXPECT_EQ(*rec.metadata->header_value("camera"), "davis346");  // AEChip ...davis.Davis346red
  EXPECT_EQ(rec.metadata->width, 346u);
  EXPECT_EQ(rec.metadata->height, 260u);
}

// ---- header (9.1) ----

TEST(AedatHeader, crlf_and_lf_lines_and_entries) {
  const std::string text = "#!AER-DAT2.0\r\n# AEChip: a.b.DVS128\n#Start of Preferences\r\n#<x a=\"b: c\"/>\r\n"
                           "#End of Preferences\r\n# Creation time: 42\n";
  std::vector<std::uint8_t> bytes(text.begin(), text.end());
  bytes.push_back(0x00);
  const auto h = detail::parse_aedat_header(bytes.data(), bytes.size(), true);
  EXPECT_TRUE(h.complete);
  EXPECT_EQ(h.major, 2);
  EXPECT_EQ(h.data_offset, text.size());
  EXPECT_EQ(h.line_count, 6u);
  ASSERT_NE(h.find("AEChip"), nullptr);
  EXPECT_EQ(*h.find("AEChip"), "a.b.DVS128");
  EXPECT_EQ(*h.find("Creation time"), "42");
  EXPECT_EQ(h.find("<x a=\"b"), nullptr);  // the preferences block is not metadata
}

TEST(AedatHeader, unfinished_line_asks_for_more_bytes) {
  const std::string text = "#!AER-DAT2.0\r\n# AEChip: a";
  const auto h = detail::parse_aedat_header(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), false);
  EXPECT_FALSE(h.complete);
  EXPECT_EQ(h.data_offset, 14u);
}

TEST(Aedat2File, sentinel_line_keeps_a_record_starting_with_hash) {
  // A DAVIS record whose first byte is 0x23 ('#'): y_field 140 (docs/formats.md 9.1).
  const auto record = rec2(davis_addr(10, 140, 1), 77);
  ASSERT_EQ(record[0], 0x23);
  test::ScopedTempDir dir;
  const auto path = dir.file("hash.aedat");
  test::write_file(path, test::with_header(kDavis240Header, record));
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{77, 229, 39, 1}}));
}

TEST(Aedat2File, header_longer_than_the_sniffing_prefix) {
  // A jAER preferences dump can be long: 1.5 MiB of `#` lines, then the records.
  std::string header = kDvs128Header;
  header += "#Start of Preferences for this AEChip\r\n";
  while (header.size() < (std::size_t{3} << 19)) header += "#    <entry key=\"some.preference\" value=\"true\"/>\r\n";
  header += "#End of Preferences for this AEChip\r\n";
  test::ScopedTempDir dir;
  const auto path = dir.file("long.aedat");
  test::write_file(path, test::with_header(header, test::hex_bytes("00 00 01 04 00 00 13 88")));
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->data_offset, header.size());
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{5000, 125, 126, 1}}));
}

TEST(Aedat2File, dvs128_through_reader_with_lf_header) {
  test::ScopedTempDir dir;
  const auto path = dir.file("dvs.aedat");
  test::write_file(path, test::with_header("#!AER-DAT2.0\n# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\n",
                                           test::hex_bytes("00 00 01 04 00 00 13 88")));
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "aedat2");
  EXPECT_EQ(rec.metadata->width, 128u);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{5000, 125, 126, 1}}));
}

TEST(Aedat1File, six_byte_records_with_version_line) {
  test::ScopedTempDir dir;
  const auto path = dir.file("v1.aedat");
  test::write_file(path, test::with_header("#!AER-DAT1.0\r\n", test::hex_bytes("01 04 00 00 13 88  01 05 00 00 13 89")));
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "aedat2");
  EXPECT_EQ(*rec.metadata->header_value("version"), "1.0");
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{5000, 125, 126, 1}, {5001, 125, 126, 0}}));
}

TEST(Aedat1File, detected_without_version_line_by_jaer_lines) {
  test::ScopedTempDir dir;
  const auto path = dir.file("old");
  test::write_file(path, test::with_header("# AEChip: ch.unizh.ini.jaer.chip.retina.Tmpdiff128\r\n",
                                           test::hex_bytes("01 04 00 00 13 88")));
  EXPECT_EQ(detect_format(path), "aedat2");
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{5000, 125, 126, 1}}));
}

TEST(Aedat1File, text_with_hash_comments_is_not_aedat) {
  const std::string text = "# t x y p\n1 2 3 1\n";
  const std::vector<std::uint8_t> prefix(text.begin(), text.end());
  const detail::FormatDescriptor* aedat2 = detail::format_named("aedat2");
  ASSERT_NE(aedat2, nullptr);
  EXPECT_EQ(aedat2->decoder.sniff(prefix, "events.txt"), 0);
}

TEST(Aedat1File, davis_camera_needs_32_bit_addresses) {
  test::ScopedTempDir dir;
  const auto path = dir.file("v1davis.aedat");
  test::write_file(path, test::with_header("#!AER-DAT1.0\r\n", test::hex_bytes("01 04 00 00 13 88")));
  ReadOptions o;
  o.aedat_camera = "davis240";
  EXPECT_THROW(read(path, o), FormatError);
}

// ---- camera choice ----

TEST(Aedat2File, camera_from_aechip_and_override) {
  test::ScopedTempDir dir;
  const auto path = dir.file("cam.aedat");
  test::write_file(path, test::with_header(kDavis240Header, rec2(davis_addr(200, 100, 1), 5)));
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{5, 39, 79, 1}}));
  ReadOptions o;
  o.aedat_camera = "davis346";
  const Recording rec = read(path, o);
  EXPECT_EQ(rec.metadata->width, 346u);
  EXPECT_EQ(rec.metadata->height, 260u);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{5, 145, 159, 1}}));
  o.aedat_camera = "nonsense";
  EXPECT_THROW(read(path, o), InvalidArgument);
}

TEST(Aedat2File, unknown_camera_is_a_clear_error) {
  test::ScopedTempDir dir;
  const auto path = dir.file("unknown.aedat");
  test::write_file(path, test::with_header("#!AER-DAT2.0\r\n# AEChip: ch.unizh.ini.jaer.chip.cochlea.CochleaAMS1c\r\n",
                                           rec2(1, 1)));
  try {
    read(path);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("aedat_camera"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CochleaAMS1c"), std::string::npos) << e.what();
  }
  ReadOptions o;
  o.aedat_camera = "dvs128";
  EXPECT_EQ(read(path, o).events.size(), 1u);
}

TEST(Aedat2Camera, names_map_to_layouts_and_geometry) {
  const auto c = detail::aedat_camera_from_name("eu.seebetter.ini.chips.davis.DAVIS240C");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->layout, AedatLayout::kDavis);
  EXPECT_EQ(c->width, 240u);
  EXPECT_EQ(c->height, 180u);
  EXPECT_EQ(detail::aedat_camera_from_name("eu.seebetter.ini.chips.davis.Davis346red")->width, 346u);
  EXPECT_EQ(detail::aedat_camera_from_name("DVS128-V1 0249")->layout, AedatLayout::kDvs128);
  EXPECT_EQ(detail::aedat_camera_from_name("Davis640")->height, 480u);
  EXPECT_FALSE(detail::aedat_camera_from_name("CochleaAMS1c"));
}

// ---- records (9.2, 9.3) ----

TEST(Aedat2Decoder, aps_and_imu_records_are_skipped_and_counted) {
  const auto bytes = cat({rec2(0x80000000u | davis_addr(3, 4, 0) | 0x155, 10),  // APS sample
                          rec2(0x80000C00u | 0x1234, 11),                       // IMU word
                          rec2(davis_addr(3, 4, 0), 12)});
  const auto d = decode_bytes(Aedat2Decoder<8>(davis(240, 180)), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{12, 236, 175, 0}}));
  EXPECT_EQ(d.stats.skipped_records, 2u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Aedat2Decoder, external_input_events_go_to_the_trigger_table) {
  const auto d = decode_bytes(Aedat2Decoder<8>(davis(240, 180)),
                              cat({rec2(0x400 | 3, 100), rec2(0x400 | 2, 200), rec2(0x400, 300)}));
  EXPECT_TRUE(d.ev().empty());
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{100, 0, 1}, {200, 0, 0}, {300, 0, 1}}));
  const auto s = decode_bytes(Aedat2Decoder<8>(dvs128()), cat({rec2(0x8000, 7), rec2(0x80000000u, 8)}));
  EXPECT_TRUE(s.ev().empty());
  EXPECT_EQ(s.tr(), (std::vector<Trig>{{7, 0, 1}, {8, 0, 1}}));
}

TEST(Aedat2Decoder, time_unwraps_after_2_pow_32_and_keeps_small_resets) {
  const auto d = decode_bytes(Aedat2Decoder<8>(dvs128()),
                              cat({rec2(0x104, 0xFFFFFFF0u), rec2(0x104, 0x10), rec2(0x104, 0x05)}));
  EXPECT_EQ(d.ev()[0].t, 0xFFFFFFF0ll);
  EXPECT_EQ(d.ev()[1].t, 0x100000010ll);
  EXPECT_EQ(d.ev()[2].t, 0x100000005ll);  // a small step back is a jAER reset, not a wrap
  EXPECT_EQ(d.stats.time_wraps, 1u);
}

TEST(Aedat2Decoder, davis_address_beyond_geometry_is_dropped_and_counted) {
  const auto d = decode_bytes(Aedat2Decoder<8>(davis(240, 180)),
                              cat({rec2(davis_addr(300, 5, 1), 1), rec2(davis_addr(5, 200, 1), 2), rec2(davis_addr(239, 179, 0), 3)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{3, 0, 0, 0}}));
  EXPECT_EQ(d.stats.out_of_bounds, 2u);
  EXPECT_EQ(d.stats.first_error_offset, 0u);
}

TEST(Aedat2Decoder, truncated_final_record_is_counted) {
  auto bytes = cat({rec2(0x104, 1), rec2(0x104, 2)});
  bytes.resize(bytes.size() - 3);
  const auto d = decode_bytes(Aedat2Decoder<8>(dvs128()), bytes);
  EXPECT_EQ(d.ev().size(), 1u);
  EXPECT_EQ(d.stats.trailing_bytes, 5u);
  EXPECT_EQ(d.stats.first_error_offset, 8u);
}

TEST(Aedat2Decoder, chunking_invariance_at_every_split) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> bytes;
  for (std::uint32_t i = 0; i < 64; ++i) {
    const std::uint32_t kind = rng() % 8;
    const std::uint32_t a = kind == 0 ? 0x80000000u | rng() : kind == 1 ? 0x400u | (rng() & 3) : davis_addr(rng() % 260, rng() % 200, rng() & 1);
    const auto r = rec2(a, 1000 + 3 * i);
    bytes.insert(bytes.end(), r.begin(), r.end());
  }
  const auto whole = decode_bytes(Aedat2Decoder<8>(davis(240, 180)), bytes);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    const auto part = decode_bytes(Aedat2Decoder<8>(davis(240, 180)), bytes, {cut / 3, cut});
    ASSERT_EQ(part.ev(), whole.ev()) << cut;
    ASSERT_EQ(part.tr(), whole.tr()) << cut;
    ASSERT_EQ(part.stats.skipped_records, whole.stats.skipped_records);
    ASSERT_EQ(part.stats.out_of_bounds, whole.stats.out_of_bounds);
  }
}

// ---- the real jAER recordings (test data) ----

TEST(Aedat2RealFile, imu_transl_boxes_davis240c) {
  EVLIB_REQUIRE_RECORDINGS("aedat2/IMU_translBoxes.aedat");
  const std::string path = test::shared_data("aedat2/IMU_translBoxes.aedat");
  EXPECT_EQ(detect_format(path), "aedat2");
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->data_offset, 175268u);
  EXPECT_EQ(rec.metadata->width, 240u);
  EXPECT_EQ(rec.metadata->height, 180u);
  EXPECT_EQ(*rec.metadata->header_value("AEChip"), "eu.seebetter.ini.chips.davis.DAVIS240C");
  ASSERT_EQ(rec.events.size(), 162771u);
  EXPECT_EQ(rec.stats.words, 196608u);
  EXPECT_EQ(rec.stats.skipped_records, 33837u);  // APS/IMU records (bit 31), counted, not decoded
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  EXPECT_EQ(rec.triggers.size(), 0u);  // no external-input records
  std::size_t on = 0;
  for (auto p : rec.events.p()) on += p;
  EXPECT_EQ(on, 82944u);
  EXPECT_EQ(rec.events.size() - on, 79827u);
  // The raw fields are addr 0x0909C000: x 156, y 36, OFF; evlib reports top-left
  // coordinates, both axes flipped: (239 - 156, 179 - 36).
  EXPECT_EQ(test::events_of(rec.events.slice(0, 1))[0], (Ev{294976755, 83, 143, 0}));
  const auto t = rec.events.t();
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_LE(t.back(), 297049406);
  EXPECT_LT(*std::max_element(rec.events.x().begin(), rec.events.x().end()), 240);
  EXPECT_LT(*std::max_element(rec.events.y().begin(), rec.events.y().end()), 180);
}

TEST(Aedat2RealFile, header_test_128_fixture) {
  EVLIB_REQUIRE_RECORDINGS("aedat2/header_test_128.aedat_test");
  const std::string path = test::shared_data("aedat2/header_test_128.aedat_test");
  EXPECT_EQ(detect_format(path), "aedat2");
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->data_offset, 4241u);  // Mibblez/aedat-file-reader-rs header_end_test_128
  EXPECT_EQ(rec.metadata->width, 128u);         // camera_type_test_128
  EXPECT_EQ(rec.metadata->height, 128u);
  // 38 bytes of '$' (0x24) then CRLF: 4 records and 6 stray bytes.
  EXPECT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.stats.trailing_bytes, 6u);
  EXPECT_EQ(test::events_of(rec.events)[0], (Ev{0x24242424, 127 - 18, 127 - 36, 1}));
  ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW(read(path, strict), FormatError);
}

// On a synthetic stand-in of the real DAVIS file and on the real one.
class Aedat2Files : public test::RecordingsTest {
 protected:
  Aedat2Files() : RecordingsTest({"aedat2/IMU_translBoxes.aedat"}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(Aedat2Files);

TEST_P(Aedat2Files, tiny_chunks_equal_whole_read) {
  const std::string path = recording("aedat2/IMU_translBoxes.aedat");
  const Recording whole = read(path);
  ReadOptions o;
  o.chunk_events = 1;
  Reader r = Reader::open(path, o);
  EventDigest d;
  std::size_t n = 0;
  while (auto c = r.next()) {
    d.update(c->events);
    n += c->events.size();
  }
  EXPECT_EQ(n, whole.events.size());
  EXPECT_EQ(d.finish(), digest(whole.events));
  EXPECT_GE(r.upper_bound_events(), 0u);
}

// ---- AEDAT 3.x ----

const char* kAedat31Header =
    "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-02-10 13:40:07 (TZ+0100)\r\n#!END-HEADER\r\n";

std::vector<std::uint8_t> le32(std::vector<std::uint32_t> words) { return test::le32_bytes(words); }

// A packet: 28-byte header then slots (capacity = slots / event words).
std::vector<std::uint8_t> packet(std::int16_t type, std::int32_t size, std::int32_t overflow, std::int32_t capacity,
                                 std::int32_t number, std::int32_t valid, const std::vector<std::uint32_t>& slots,
                                 std::int32_t ts_offset = 4) {
  std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(type >> 8), 1, 0};
  const auto rest = le32({std::uint32_t(size), std::uint32_t(ts_offset), std::uint32_t(overflow), std::uint32_t(capacity),
                          std::uint32_t(number), std::uint32_t(valid)});
  out.insert(out.end(), rest.begin(), rest.end());
  const auto body = le32(slots);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
std::uint32_t pol(std::uint32_t x, std::uint32_t y, std::uint32_t p, bool valid = true) {
  return x << 17 | y << 2 | p << 1 | (valid ? 1u : 0u);
}
std::uint32_t special(std::uint32_t type, bool valid = true) { return type << 1 | (valid ? 1u : 0u); }

const char* kSpec10_3 =
    "01 00 01 00 08 00 00 00 04 00 00 00 01 00 00 00 02 00 00 00 02 00 00 00 02 00 00 00 "
    "53 00 14 00 E8 03 00 00  01 00 FE 00 D0 07 00 00";

TEST(Aedat3Decoder, spec_10_3_polarity_packet) {
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), test::hex_bytes(kSpec10_3));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{2147484648ll, 10, 20, 1}, {2147485648ll, 127, 0, 0}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Aedat3File, spec_10_3_through_reader_with_dvs128_header) {
  test::ScopedTempDir dir;
  const auto path = dir.file("v.aedat");
  test::write_file(path, test::with_header(kAedat31Header, test::hex_bytes(kSpec10_3)));
  EXPECT_EQ(detect_format(path), "aedat3");
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "aedat3");
  EXPECT_EQ(rec.metadata->data_offset, std::string(kAedat31Header).size());
  EXPECT_EQ(rec.metadata->width, 128u);  // from "#Source 1: DVS128"
  EXPECT_EQ(rec.metadata->height, 128u);
  EXPECT_EQ(*rec.metadata->header_value("Source 1"), "DVS128");
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{2147484648ll, 10, 20, 1}, {2147485648ll, 127, 0, 0}}));
}

TEST(Aedat3File, geometry_from_size_lines_else_unknown) {
  test::ScopedTempDir dir;
  const auto a = dir.file("a.aedat"), b = dir.file("b.aedat");
  test::write_file(a, test::with_header("#!AER-DAT3.1\r\n#Source 1: Custom sizeX=40 sizeY=30\r\n#!END-HEADER\r\n", {}));
  test::write_file(b, test::with_header("#!AER-DAT3.1\r\n#Source 1: Mystery\r\n#!END-HEADER\r\n", {}));
  EXPECT_EQ(read_metadata(a).width, 40u);
  EXPECT_EQ(read_metadata(a).height, 30u);
  EXPECT_EQ(read_metadata(b).width, 0u);
  EXPECT_EQ(read(b).events.size(), 0u);
}

TEST(Aedat3Decoder, invalid_events_are_dropped_and_counted) {
  const auto bytes = packet(1, 8, 0, 3, 3, 2, {pol(1, 2, 1), 10, pol(3, 4, 0, false), 11, pol(5, 6, 1), 12});
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{10, 1, 2, 1}, {12, 5, 6, 1}}));
  EXPECT_EQ(d.stats.invalid_events, 1u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Aedat3Decoder, unused_slots_are_skipped) {
  // capacity 3, number 1: two unused slots full of garbage must not become events.
  const auto bytes = cat({packet(1, 8, 0, 3, 1, 1, {pol(1, 1, 1), 5, pol(9, 9, 1), 6, pol(9, 9, 1), 7}),
                          packet(1, 8, 0, 1, 1, 1, {pol(2, 2, 0), 8})});
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{5, 1, 1, 1}, {8, 2, 2, 0}}));
}

TEST(Aedat3Decoder, special_events_become_triggers) {
  const auto bytes = packet(0, 8, 1, 5, 5, 4,
                            {special(2), 100, special(3), 200, special(12), 300, special(0), 400, special(2, false), 500});
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), bytes);
  const std::int64_t hi = std::int64_t{1} << 31;
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{hi + 100, 0, 1}, {hi + 200, 0, 0}, {hi + 300, 3, 1}}));
  EXPECT_EQ(d.stats.skipped_records, 1u);  // TIMESTAMP_WRAP
  EXPECT_EQ(d.stats.invalid_events, 1u);
}

TEST(Aedat3Decoder, other_packet_types_are_skipped_by_their_sizes) {
  std::vector<std::uint32_t> frame(3 * 10, 0xFFFFFFFFu);  // 3 slots of 40 bytes
  std::vector<std::uint32_t> imu(2 * 9, 0x12345678u);     // IMU6: 36-byte slots
  const auto bytes = cat({packet(2, 40, 0, 3, 2, 2, frame, 12), packet(3, 36, 0, 2, 2, 2, imu),
                          packet(1, 8, 0, 1, 1, 1, {pol(4, 5, 1), 9})});
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{9, 4, 5, 1}}));
  EXPECT_EQ(d.stats.skipped_records, 2u);
  EXPECT_EQ(d.stats.imu_samples, 2u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Aedat3Decoder, version_3_0_flips_y_and_bounds_apply) {
  Aedat3Config c;
  c.width = 128;
  c.height = 128;
  c.flip_y = true;
  const auto d = decode_bytes(Aedat3Decoder(c), packet(1, 8, 0, 2, 2, 2, {pol(10, 20, 1), 1, pol(200, 1, 1), 2}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 10, 107, 1}}));
  EXPECT_EQ(d.stats.out_of_bounds, 1u);
}

TEST(Aedat3Decoder, damaged_headers_are_counted) {
  // Inconsistent counts: the packet is skipped by its sizes, the next one still decodes.
  const auto skipped = decode_bytes(Aedat3Decoder(Aedat3Config{}),
                                    cat({packet(1, 8, 0, 1, 5, 1, {pol(1, 1, 1), 1}), packet(1, 8, 0, 1, 1, 1, {pol(2, 2, 1), 2})}));
  EXPECT_EQ(skipped.ev(), (std::vector<Ev>{{2, 2, 2, 1}}));
  EXPECT_EQ(skipped.stats.corrupt_packets, 1u);
  // A non-positive event size loses the framing: nothing after it is decoded.
  const auto dead = decode_bytes(Aedat3Decoder(Aedat3Config{}),
                                 cat({packet(1, 0, 0, 1, 1, 1, {}), packet(1, 8, 0, 1, 1, 1, {pol(2, 2, 1), 2})}));
  EXPECT_TRUE(dead.ev().empty());
  EXPECT_EQ(dead.stats.corrupt_packets, 1u);
  EXPECT_EQ(dead.stats.first_error_offset, 0u);
}

TEST(Aedat3Decoder, truncated_packet_is_counted) {
  auto bytes = cat({packet(1, 8, 0, 2, 2, 2, {pol(1, 1, 1), 1, pol(2, 2, 1), 2})});
  bytes.resize(bytes.size() - 5);
  const auto d = decode_bytes(Aedat3Decoder(Aedat3Config{}), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 1, 1, 1}}));
  EXPECT_EQ(d.stats.trailing_bytes, 28u + 11u);
  EXPECT_EQ(d.stats.first_error_offset, 0u);
}

std::vector<std::uint8_t> synthetic_aedat3(std::uint32_t seed, std::size_t packets) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out;
  std::uint32_t t = 0;
  for (std::size_t k = 0; k < packets; ++k) {
    const int kind = static_cast<int>(rng() % 4);
    const std::int32_t cap = 1 + static_cast<std::int32_t>(rng() % 7), number = static_cast<std::int32_t>(rng() % (cap + 1));
    std::vector<std::uint32_t> slots;
    for (std::int32_t i = 0; i < cap; ++i) {
      t += rng() % 50;
      slots.push_back(kind == 0 ? special(2 + rng() % 12, rng() % 5 != 0) : pol(rng() % 140, rng() % 140, rng() & 1, rng() % 6 != 0));
      slots.push_back(t);
    }
    if (kind == 3) {
      const auto p = packet(5, 16, 0, cap / 2, 0, 0, std::vector<std::uint32_t>(static_cast<std::size_t>(cap / 2) * 4, 7));
      out.insert(out.end(), p.begin(), p.end());
    } else {
      const auto p = packet(kind == 0 ? 0 : 1, 8, static_cast<std::int32_t>(k / 3), cap, number, number, slots);
      out.insert(out.end(), p.begin(), p.end());
    }
  }
  return out;
}

TEST(Aedat3Decoder, chunking_invariance_at_every_split) {
  const auto bytes = synthetic_aedat3(3, 40);
  Aedat3Config c;
  c.width = 128;
  c.height = 128;
  const auto whole = decode_bytes(Aedat3Decoder(c), bytes);
  ASSERT_GT(whole.ev().size(), 20u);
  ASSERT_GT(whole.tr().size(), 3u);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    const auto part = decode_bytes(Aedat3Decoder(c), bytes, {cut / 2, cut});
    ASSERT_EQ(part.ev(), whole.ev()) << cut;
    ASSERT_EQ(part.tr(), whole.tr()) << cut;
    ASSERT_EQ(part.stats.invalid_events, whole.stats.invalid_events) << cut;
    ASSERT_EQ(part.stats.out_of_bounds, whole.stats.out_of_bounds) << cut;
  }
}

TEST(Aedat3File, tiny_chunks_equal_whole_read_and_strict_mode) {
  test::ScopedTempDir dir;
  const auto path = dir.file("s.aedat");
  std::vector<std::uint8_t> body;
  for (std::uint32_t s = 0; s < 30; ++s) {
    const auto part = synthetic_aedat3(s, 200);
    body.insert(body.end(), part.begin(), part.end());
  }
  test::write_file(path, test::with_header(kAedat31Header, body));
  const Recording whole = read(path);
  ASSERT_GT(whole.events.size(), 1000u);
  ReadOptions o;
  o.chunk_events = 1;
  Reader r = Reader::open(path, o);
  EventDigest d;
  TriggerBatch triggers;
  while (auto c = r.next()) {
    d.update(c->events);
    triggers.append(c->triggers);
  }
  EXPECT_EQ(d.finish(), digest(whole.events));
  EXPECT_TRUE(test::same_triggers(triggers, whole.triggers));
  EXPECT_GE(Reader::open(path).upper_bound_events(), whole.events.size());
  ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW(read(path, strict), FormatError);  // the DVS128 header bounds x,y < 128; the data has up to 139
}

// ---- damaged files never crash ----

TEST(AedatRobustness, truncated_and_bit_flipped_files_give_errors_or_counts) {
  test::ScopedTempDir dir;
  std::vector<std::vector<std::uint8_t>> files;
  files.push_back(test::with_header(kAedat31Header, synthetic_aedat3(11, 60)));
  {
    std::vector<std::uint8_t> body;
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
      const auto r = rec2(rng(), static_cast<std::uint32_t>(i * 10));
      body.insert(body.end(), r.begin(), r.end());
    }
    files.push_back(test::with_header(kDavis240Header, body));
    files.push_back(test::with_header(kDvs128Header, body));
  }
  std::mt19937 rng(99);
  const auto path = dir.file("x.aedat");
  for (const auto& original : files) {
    for (int trial = 0; trial < 150; ++trial) {
      auto bytes = original;
      if (trial % 3 == 0) {
        bytes.resize(rng() % bytes.size());
      } else {
        for (int f = 0; f < 1 + trial % 7; ++f) bytes[rng() % bytes.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      test::write_file(path, bytes);
      try {
        const Recording rec = read(path);
        for (std::size_t i = 0; i < rec.events.size(); ++i) {
          if (rec.metadata->width != 0) ASSERT_LT(rec.events.x()[i], rec.metadata->width);
          if (rec.metadata->height != 0) ASSERT_LT(rec.events.y()[i], rec.metadata->height);
        }
      } catch (const Error&) {
        // A clear error is an acceptable outcome for a damaged header.
      }
    }
  }
}

TEST(Aedat3File, time_windows_seek_by_the_index_the_first_pass_builds_and_equal_decode_then_filter) {
  // 400 polarity packets of 50 events (the timestamp overflow counter steps once), with special
  // and IMU packets between them: the decoder state is resumable mid-packet, so a window decodes
  // only the index segments that can hold it.
  std::vector<std::uint8_t> payload;
  std::mt19937 rng(5);
  std::uint32_t t = 1000;
  for (int k = 0; k < 400; ++k) {
    if (k == 200) t = 500;  // the low 31 bits start again under the next overflow
    std::vector<std::uint32_t> slots;
    for (int e = 0; e < 50; ++e) {
      slots.push_back(pol(rng() % 128, rng() % 128, rng() % 2));
      slots.push_back(t & 0x7FFFFFFFu);
      t += 1 + rng() % 40;
    }
    const std::int32_t overflow = k < 200 ? 0 : 1;
    const auto p = packet(1, 8, overflow, 50, 50, 50, slots);
    payload.insert(payload.end(), p.begin(), p.end());
    if (k % 50 == 7) {
      const auto sp = packet(0, 8, overflow, 1, 1, 1, {special(2), t & 0x7FFFFFFFu});
      const auto imu = packet(3, 12, overflow, 1, 1, 1, {0, t & 0x7FFFFFFFu, 0}, 4);
      payload.insert(payload.end(), sp.begin(), sp.end());
      payload.insert(payload.end(), imu.begin(), imu.end());
    }
  }
  test::ScopedTempDir dir;
  const std::string path = dir.file("rec.aedat");
  test::write_file(path, test::with_header(kAedat31Header, payload));
  const EventBatch all = read(path).events;
  ASSERT_EQ(all.size(), 20'000u);
  const std::string cache = dir.file("cache");
  test::index_by_a_first_pass(path, cache, 1024);  // many index segments
  ASSERT_EQ(test::list_dir(cache).size(), 1u) << "the first pass caches an index";
  for (int i = 0; i < 20; ++i) {
    const std::int64_t t0 = all.t()[rng() % all.size()], t1 = t0 + 1 + static_cast<std::int64_t>(rng() % 20'000);
    const auto window = test::scan_window(path, cache, t0, t1, 1024);
    EXPECT_EQ(window.digest, digest(test::events_between(all, t0, t1))) << "[" << t0 << ", " << t1 << ")";
    EXPECT_LT(window.words * 3, all.size()) << "decoded most of the file for [" << t0 << ", " << t1 << ")";
  }
}

}  // namespace
}  // namespace evlib
