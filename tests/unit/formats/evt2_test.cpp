// EVT 2.0 decoder: docs/formats.md 2.5 test vectors and the 2.3 / 2.4 rules.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "evlib/reader.hpp"
#include "formats/prophesee/evt2.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::Evt2Decoder;
using test::decode_bytes;
using test::Ev;
using test::le32_bytes;
using test::Trig;
using test::word_config;

constexpr std::uint32_t TH(std::uint32_t v) { return 0x80000000u | v; }
constexpr std::uint32_t CD(unsigned p, unsigned lsb, unsigned x, unsigned y) {
  return (p ? 1u : 0u) << 28 | lsb << 22 | x << 11 | y;
}
constexpr std::uint32_t TRIG(unsigned lsb, unsigned ch, unsigned v) { return 0xAu << 28 | lsb << 22 | ch << 8 | v; }

auto decode_vga(const std::vector<std::uint8_t>& bytes, const std::vector<std::size_t>& cuts = {}) {
  return decode_bytes(Evt2Decoder(word_config(640, 480)), bytes, cuts);
}

const char* kEvt2Header = "% evt 2.0\n% format EVT2;height=480;width=640\n% end\n";
const char* kVector1 = "01 08 40 11  0F 00 00 80  14 50 00 1A  DF F9 53 0B  01 00 80 AC";
const char* kVector2 = "FF FF FF 8F  04 18 C0 0F  00 00 00 80  06 28 80 10";

TEST(Evt2Decoder, derived_vector_1_events_trigger_and_pre_time_high_drop) {
  const auto d = decode_vga(test::hex_bytes(kVector1));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1000, 10, 20, 1}, {1005, 639, 479, 0}}));
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{1010, 0, 1}}));
  EXPECT_EQ(d.stats.before_first_time_high, 1u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt2Decoder, derived_vector_2_34_bit_wrap) {
  const auto d = decode_vga(test::hex_bytes(kVector2));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{17179869183ll, 3, 4, 0}, {17179869186ll, 5, 6, 1}}));
  EXPECT_EQ(d.stats.time_wraps, 1u);
  EXPECT_EQ(d.stats.non_monotonic_time_high, 0u);
}

TEST(Evt2File, derived_vectors_through_reader) {
  const auto p1 = test::write_temp_file("v1.raw", test::with_header(kEvt2Header, test::hex_bytes(kVector1)));
  const Recording r1 = read(p1);
  EXPECT_EQ(r1.metadata->format, "evt2");
  EXPECT_EQ(r1.metadata->width, 640u);
  EXPECT_EQ(r1.metadata->height, 480u);
  EXPECT_EQ(test::events_of(r1.events), (std::vector<Ev>{{1000, 10, 20, 1}, {1005, 639, 479, 0}}));
  EXPECT_EQ(test::triggers_of(r1.triggers), (std::vector<Trig>{{1010, 0, 1}}));
  const auto p2 = test::write_temp_file("v2.raw", test::with_header(kEvt2Header, test::hex_bytes(kVector2)));
  EXPECT_EQ(test::events_of(read(p2).events), (std::vector<Ev>{{17179869183ll, 3, 4, 0}, {17179869186ll, 5, 6, 1}}));
}

TEST(Evt2Decoder, vectors_decode_identically_at_every_split) {
  for (const char* hex : {kVector1, kVector2}) {
    const auto bytes = test::hex_bytes(hex);
    const auto whole = decode_vga(bytes);
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      const auto d = decode_vga(bytes, {cut});
      EXPECT_EQ(d.ev(), whole.ev()) << cut;
      EXPECT_EQ(d.tr(), whole.tr()) << cut;
    }
  }
}

TEST(Evt2Decoder, small_backwards_time_high_is_non_monotonic) {
  const auto d = decode_vga(le32_bytes({TH(100), CD(1, 1, 2, 3), TH(99), CD(0, 2, 4, 5)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{6401, 2, 3, 1}, {99 * 64 + 2, 4, 5, 0}}));
  EXPECT_EQ(d.stats.non_monotonic_time_high, 1u);
  EXPECT_EQ(d.stats.time_wraps, 0u);
}

TEST(Evt2Decoder, out_of_geometry_events_are_dropped_and_counted) {
  const auto d = decode_vga(le32_bytes({TH(0), CD(1, 0, 640, 0), CD(1, 0, 0, 480), CD(1, 0, 639, 479)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 639, 479, 1}}));
  EXPECT_EQ(d.stats.out_of_bounds, 2u);
}

TEST(Evt2Decoder, trigger_channel_is_5_bits) {
  const auto d = decode_vga(le32_bytes({TH(1), TRIG(3, 31, 0), TRIG(4, 17, 1)}));
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{67, 31, 0}, {68, 17, 1}}));
}

TEST(Evt2Decoder, others_continued_and_imu_groups_are_not_corruption) {
  std::vector<std::uint32_t> words = {TH(0), 0xE0000014u, 0xF0000123u, CD(1, 1, 1, 1), 0xD0000000u};
  for (int k = 0; k < 5; ++k) words.push_back(0xF0000000u);
  words.push_back(CD(0, 2, 2, 2));
  const auto d = decode_vga(le32_bytes(words));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 1, 1, 1}, {2, 2, 2, 0}}));
  EXPECT_EQ(d.stats.monitoring_events, 1u);
  EXPECT_EQ(d.stats.imu_samples, 1u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt2Decoder, reserved_types_and_orphan_continued_are_skipped_and_counted) {
  const auto d = decode_vga(le32_bytes({TH(0), 0x20000000u, 0x70000000u, 0x90000000u, 0xB0000000u, 0xC0000000u,
                                        0xF0000000u, CD(1, 5, 6, 7)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{5, 6, 7, 1}}));
  EXPECT_EQ(d.stats.unknown_words, 5u);
  EXPECT_EQ(d.stats.orphan_continued, 1u);
}

// docs/formats.md 2.2: an IMU sample is 6 *consecutive* words (0xD then five 0xF); a group cut by
// another word is partial and the CONTINUED words after the cut have no group to continue.
TEST(Evt2Decoder, imu_group_cut_by_a_cd_word_is_partial) {
  const auto d = decode_vga(le32_bytes({TH(0), 0xD0000000u, 0xF0000000u, 0xF0000000u, CD(1, 1, 1, 1), 0xF0000000u,
                                        0xF0000000u, 0xF0000000u}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 1, 1, 1}}));
  EXPECT_EQ(d.stats.partial_groups, 1u);
  EXPECT_EQ(d.stats.orphan_continued, 3u);
}

TEST(Evt2Decoder, metavision_time_shift_subtracts_first_time_high_times_64) {
  const auto d = decode_bytes(Evt2Decoder(word_config(640, 480, true)), le32_bytes({TH(0x5070), CD(1, 9, 237, 121), TH(0x5071), CD(0, 1, 1, 1)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{9, 237, 121, 1}, {65, 1, 1, 0}}));
}

TEST(Evt2Decoder, truncated_final_word_is_counted) {
  auto bytes = le32_bytes({TH(0), CD(1, 0, 1, 1)});
  bytes.insert(bytes.end(), {0x01, 0x02, 0x03});
  const auto d = decode_vga(bytes);
  EXPECT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.stats.trailing_bytes, 3u);
}

}  // namespace
}  // namespace evlib
