// The `% key value` header of RAW files: docs/formats.md 1.1 - 1.4.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/prophesee/prophesee_header.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::parse_percent_header;
using detail::resolve_raw_encoding;

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

const std::string k52 = "% evt 3.0\n% format EVT3;height=720;width=1280\n% end\n";

TEST(RawHeader, vector_52_byte_header_keys_and_offset) {
  ASSERT_EQ(k52.size(), 52u);
  const auto b = test::with_header(k52, test::hex_bytes("23 81 10 60 2C 01 F4 21 F5 29"));
  const auto h = parse_percent_header(b.data(), b.size());
  EXPECT_EQ(h.data_offset, 52u);
  EXPECT_TRUE(h.has_end);
  ASSERT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.entries[0], (std::pair<std::string, std::string>{"evt", "3.0"}));
  EXPECT_EQ(h.entries[1], (std::pair<std::string, std::string>{"format", "EVT3;height=720;width=1280"}));
  const auto enc = resolve_raw_encoding(h, b.data() + h.data_offset, b.size() - h.data_offset);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->name, "evt3");
  EXPECT_EQ(enc->width, 1280u);
  EXPECT_EQ(enc->height, 720u);
}

TEST(RawHeader, vector_52_byte_header_through_read_metadata) {
  const auto path = test::write_temp_file("h52.raw", test::with_header(k52, test::hex_bytes("23 81 10 60 2C 01 F4 21 F5 29")));
  const Metadata m = read_metadata(path);
  EXPECT_EQ(m.format, "evt3");
  EXPECT_EQ(m.width, 1280u);
  EXPECT_EQ(m.height, 720u);
  EXPECT_EQ(m.data_offset, 52u);
  EXPECT_EQ(m.file_size, 62u);
  ASSERT_NE(m.header_value("evt"), nullptr);
  EXPECT_EQ(*m.header_value("evt"), "3.0");
  EXPECT_EQ(*m.header_value("format"), "EVT3;height=720;width=1280");
}

TEST(RawHeader, openeb_lines_after_end_are_data) {
  const std::string text = "% Key1 Value1\n% Key2 Value2\n% Key3 Value3\n% Key3 Value3\n% end\n% Key4 Value4\n";
  const auto b = bytes(text);
  const auto h = parse_percent_header(b.data(), b.size());
  ASSERT_NE(h.find("Key1"), nullptr);
  ASSERT_NE(h.find("Key2"), nullptr);
  ASSERT_NE(h.find("Key3"), nullptr);
  EXPECT_EQ(*h.find("Key1"), "Value1");
  EXPECT_EQ(*h.find("Key3"), "Value3");
  EXPECT_EQ(h.find("end"), nullptr);
  EXPECT_EQ(h.find("Key4"), nullptr);
  EXPECT_TRUE(h.has_end);
  EXPECT_EQ(h.data_offset, text.find("% Key4"));
}

TEST(RawHeader, header_without_end_stops_at_first_non_percent_space) {
  const std::string text = "% evt 2.0\n% system_ID 21\n%x not header\n";
  const auto b = bytes(text);
  const auto h = parse_percent_header(b.data(), b.size());
  EXPECT_FALSE(h.has_end);
  EXPECT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.data_offset, text.find("%x"));
}

TEST(RawHeader, later_duplicate_wins_and_value_tokens_are_rejoined) {
  const std::string text = "% date 2020-09-25   07:48:29\r\n% k a\n% k  b\tc \n% end\r\n";
  const auto b = bytes(text);
  const auto h = parse_percent_header(b.data(), b.size());
  ASSERT_NE(h.find("date"), nullptr);
  EXPECT_EQ(*h.find("date"), "2020-09-25 07:48:29");
  EXPECT_EQ(*h.find("k"), "b c");
  EXPECT_TRUE(h.has_end);
  EXPECT_EQ(h.data_offset, text.size());
}

TEST(RawHeader, evt_key_and_system_id_give_encoding_and_geometry) {
  const auto b = bytes("% evt 2.0\n% integrator_name Prophesee\n% system_ID 21\n");
  const auto h = parse_percent_header(b.data(), b.size());
  const auto enc = resolve_raw_encoding(h, nullptr, 0);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->name, "evt2");
  EXPECT_EQ(enc->width, 640u);
  EXPECT_EQ(enc->height, 480u);
}

TEST(RawHeader, system_id_48_gives_evt3_hd) {
  const auto b = bytes("% integrator_name Prophesee\n% system_ID 48\n");
  const auto h = parse_percent_header(b.data(), b.size());
  const auto enc = resolve_raw_encoding(h, nullptr, 0);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->name, "evt3");
  EXPECT_EQ(enc->width, 1280u);
  EXPECT_EQ(enc->height, 720u);
}

TEST(RawHeader, system_id_ignored_for_non_prophesee_integrators) {
  const auto b = bytes("% camera_integrator_name Other\n% plugin_integrator_name Other\n% evt 3.0\n% system_ID 48\n");
  const auto h = parse_percent_header(b.data(), b.size());
  const auto enc = resolve_raw_encoding(h, nullptr, 0);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->name, "evt3");
  EXPECT_EQ(enc->width, 0u);
  EXPECT_EQ(enc->height, 0u);
}

TEST(RawHeader, geometry_key_fills_missing_format_geometry) {
  const auto b = bytes("% evt 3.0\n% geometry 640x480\n% end\n");
  const auto h = parse_percent_header(b.data(), b.size());
  const auto enc = resolve_raw_encoding(h, nullptr, 0);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->width, 640u);
  EXPECT_EQ(enc->height, 480u);
}

TEST(RawHeader, real_evt3_file_binary_at_166_system_id_48) {
  EVLIB_REQUIRE_RECORDINGS("evt3/evt3_test_pedestrians.raw");
  const Metadata m = read_metadata(test::shared_data("evt3/evt3_test_pedestrians.raw"));
  EXPECT_EQ(m.format, "evt3");
  EXPECT_EQ(m.width, 1280u);
  EXPECT_EQ(m.height, 720u);
  EXPECT_EQ(m.data_offset, 166u);
  EXPECT_EQ(m.header.size(), 7u);
  ASSERT_NE(m.header_value("system_ID"), nullptr);
  EXPECT_EQ(*m.header_value("system_ID"), "48");
}

TEST(RawHeader, real_evt2_file_binary_at_164_system_id_21) {
  EVLIB_REQUIRE_RECORDINGS("evt2/evt2_sample.raw");
  const std::string path = test::shared_data("evt2/evt2_sample.raw");
  const Metadata m = read_metadata(path);
  EXPECT_EQ(m.format, "evt2");
  EXPECT_EQ(m.width, 640u);
  EXPECT_EQ(m.height, 480u);
  EXPECT_EQ(m.data_offset, 164u);
  EXPECT_EQ(m.header.size(), 7u);
  const auto b = test::read_file(path);
  // docs/formats.md 2.5.3: the payload starts with TIME_HIGH 0x5070.
  EXPECT_EQ(std::vector<std::uint8_t>(b.begin() + 164, b.begin() + 168), test::hex_bytes("70 50 00 80"));
}

TEST(RawHeader, detect_format_uses_content_not_extension) {
  const auto path = test::write_temp_file("evt2_named.dat", test::with_header("% evt 2.0\n% format EVT2;height=480;width=640\n% end\n",
                                                                             test::hex_bytes("0F 00 00 80 14 50 00 1A")));
  EXPECT_EQ(detect_format(path), "evt2");
}

TEST(RawHeader, width_and_height_options_override_the_header) {
  const auto path = test::write_temp_file("h.raw", test::with_header(k52, test::hex_bytes("2D 8B")));
  ReadOptions o;
  o.width = 320;
  o.height = 240;
  const Metadata m = read_metadata(path, o);
  EXPECT_EQ(m.width, 320u);
  EXPECT_EQ(m.height, 240u);
}

// Coordinates are uint16 in evlib: a 65536-wide geometry holds x = 65535 (the CLI says 1 to 65536;
// the readers stopped at 65535 before), one more is refused (RAW and DAT alike).
TEST(RawHeader, width_and_height_options_go_up_to_65536) {
  const auto raw = test::write_temp_file("wide.raw", test::with_header(k52, test::hex_bytes("2D 8B")));
  const auto dat = test::write_temp_file("wide.dat", test::with_header("% Height 480\n% Width 640\n", test::hex_bytes("00 08")));
  for (const auto& path : {raw, dat}) {
    ReadOptions o;
    o.width = 65536;
    o.height = 65536;
    const Metadata m = read_metadata(path, o);
    EXPECT_EQ(m.width, 65536u) << path;
    EXPECT_EQ(m.height, 65536u) << path;
    o.width = 65537;
    EXPECT_THROW(read_metadata(path, o), InvalidArgument) << path;
  }
}

}  // namespace
}  // namespace evlib
