// Prophesee DAT: docs/formats.md 5.4 test vector 2 and the 5.1 / 5.2 rules.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/prophesee/dat.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::DatConfig;
using detail::DatDecoder;
using test::decode_bytes;
using test::Ev;
using test::Trig;

const char* kDatHeader = "% Data file containing CD events\n% Version 2\n% Width 640\n% Height 480\n% end\n";
const char* kRecords = "64 00 00 00 7F C2 77 10  FF FF FF FF 00 40 00 00";
const std::vector<Ev> kRecordEvents = {{100, 639, 479, 1}, {4294967295ll, 0, 1, 0}};

DatConfig cfg(std::uint32_t w = 0, std::uint32_t h = 0, std::uint8_t type = 0x0C, int version = 2) {
  DatConfig c;
  c.width = w;
  c.height = h;
  c.event_type = type;
  c.version = version;
  return c;
}

TEST(DatDecoder, derived_vector_2_records) {
  const auto d = decode_bytes(DatDecoder(cfg(640, 480)), test::hex_bytes(kRecords));
  EXPECT_EQ(d.ev(), kRecordEvents);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(DatFile, derived_vector_2_through_reader) {
  const auto path = test::write_temp_file("v2.dat", test::with_header(kDatHeader, test::hex_bytes("0C 08" + std::string(" ") + kRecords)));
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "dat");
  EXPECT_EQ(rec.metadata->width, 640u);
  EXPECT_EQ(rec.metadata->height, 480u);
  EXPECT_EQ(rec.metadata->data_offset, std::string(kDatHeader).size() + 2);
  EXPECT_EQ(test::events_of(rec.events), kRecordEvents);
}

TEST(DatFile, detected_without_extension) {
  const auto path = test::write_temp_file("records", test::with_header(kDatHeader, test::hex_bytes("0C 08" + std::string(" ") + kRecords)));
  EXPECT_EQ(detect_format(path), "dat");
  EXPECT_EQ(test::events_of(read(path).events), kRecordEvents);
}

TEST(DatDecoder, time_unwraps_after_2_pow_32) {
  // t = 2^32 - 10, then 5 (wrapped): 2^32 + 5.
  const auto d = decode_bytes(DatDecoder(cfg()), test::hex_bytes("F6 FF FF FF 01 00 00 00  05 00 00 00 02 00 00 00"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{4294967286ll, 1, 0, 0}, {4294967301ll, 2, 0, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 1u);
}

TEST(DatDecoder, small_backwards_step_is_not_a_wrap) {
  const auto d = decode_bytes(DatDecoder(cfg()), test::hex_bytes("10 00 00 00 01 00 00 00  05 00 00 00 02 00 00 00"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{16, 1, 0, 0}, {5, 2, 0, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 0u);
}

TEST(DatDecoder, bounds_apply_only_when_geometry_known) {
  const auto bytes = test::hex_bytes("01 00 00 00 80 02 00 00");  // x = 640
  EXPECT_EQ(decode_bytes(DatDecoder(cfg()), bytes).events.size(), 1u);
  const auto d = decode_bytes(DatDecoder(cfg(640, 480)), bytes);
  EXPECT_EQ(d.events.size(), 0u);
  EXPECT_EQ(d.stats.out_of_bounds, 1u);
}

// docs/formats.md 5.1: p is the 4-bit field [31:28], normalised to 0/1 (greater than 0 is ON: 5.2,
// 0.2, 16).
TEST(DatDecoder, polarity_is_the_4_bit_field_normalised) {
  const auto d = decode_bytes(DatDecoder(cfg()), test::hex_bytes("01 00 00 00 03 00 00 20  02 00 00 00 04 00 00 10"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 3, 0, 1}, {2, 4, 0, 1}}));
}

TEST(DatDecoder, version_1_layout) {
  // word 1 = x [8:0], y [16:9], p [17]: x=300, y=200, p=1.
  const std::uint32_t w1 = 300u | 200u << 9 | 1u << 17;
  auto bytes = test::le32_bytes({42u, w1});
  const auto d = decode_bytes(DatDecoder(cfg(0, 0, 0x00, 1)), bytes);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{42, 300, 200, 1}}));
}

TEST(DatDecoder, trigger_records) {
  // word 1: [3:0] edge, [31:26] channel.
  const auto d = decode_bytes(DatDecoder(cfg(0, 0, 0x0E)), test::le32_bytes({7u, 5u << 26 | 1u, 9u, 2u << 26}));
  EXPECT_TRUE(d.ev().empty());
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{7, 5, 1}, {9, 2, 0}}));
}

TEST(DatFile, remainder_record_is_counted) {
  const auto path = test::write_temp_file(
      "rem.dat", test::with_header(kDatHeader, test::hex_bytes("0C 08" + std::string(" ") + kRecords + " 01 02 03")));
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), kRecordEvents);
  EXPECT_EQ(rec.stats.trailing_bytes, 3u);
}

TEST(DatFile, unsupported_event_size_is_a_format_error) {
  const auto path = test::write_temp_file("size.dat", test::with_header(kDatHeader, test::hex_bytes("0C 10 00 00")));
  ReadOptions o;
  o.format = "dat";
  EXPECT_THROW(read(path, o), FormatError);
}

}  // namespace
}  // namespace evlib
