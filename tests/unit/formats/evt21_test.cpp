// EVT 2.1 decoder: docs/formats.md 3.4 test vectors (openeb and derived) in both half-word layouts.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "evlib/reader.hpp"
#include "formats/prophesee/evt21.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::Evt21Decoder;
using test::decode_bytes;
using test::Ev;
using test::Trig;
using test::word_config;

// A logical 64-bit word: H = type/ts/x/y half, L = mask/payload half.
struct Word {
  std::uint32_t h, l;
};
Word TH(std::uint32_t v) { return {0x80000000u | v, 0}; }
Word CD(unsigned p, unsigned ts, unsigned xbase, unsigned y, std::uint32_t mask) {
  return {(p ? 1u : 0u) << 28 | ts << 22 | xbase << 11 | y, mask};
}

std::vector<std::uint8_t> bytes_of(const std::vector<Word>& words, bool legacy) {
  std::vector<std::uint32_t> halves;
  for (const Word& w : words) {
    halves.push_back(legacy ? w.h : w.l);
    halves.push_back(legacy ? w.l : w.h);
  }
  return test::le32_bytes(halves);
}

auto decode21(const std::vector<Word>& words, bool legacy) {
  return decode_bytes(Evt21Decoder(word_config(2048, 2048), legacy), bytes_of(words, legacy));
}

class Evt21Layouts : public ::testing::TestWithParam<bool> {};

TEST_P(Evt21Layouts, openeb_masks_expand_to_events) {
  const auto d = decode21({TH(0), CD(0, 0, 5, 4, 0b10001001), CD(1, 0, 10, 6, 1u << 4 | 1u << 10 | 1u << 14)}, GetParam());
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 5, 4, 0}, {0, 8, 4, 0}, {0, 12, 4, 0}, {0, 14, 6, 1}, {0, 20, 6, 1}, {0, 24, 6, 1}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST_P(Evt21Layouts, openeb_loops_on_max_to_zero_time_high) {
  const auto d = decode21({TH(0), CD(1, 5, 0, 0, 1), TH((1u << 28) - 1), TH(0), CD(1, 5, 0, 0, 1), TH((1u << 28) - 1),
                           TH(0), CD(1, 5, 0, 0, 1)},
                          GetParam());
  const std::int64_t loop = std::int64_t{1} << 34;
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{5, 0, 0, 1}, {loop + 5, 0, 0, 1}, {2 * loop + 5, 0, 0, 1}}));
  EXPECT_EQ(d.stats.time_wraps, 2u);
}

TEST_P(Evt21Layouts, openeb_time_high_2_pow_25_is_not_sign_extended) {
  const auto d = decode21({TH(1u << 25), CD(0, 5, 0, 0, 1)}, GetParam());
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{(std::int64_t{1} << 31) + 5, 0, 0, 0}}));
}

TEST_P(Evt21Layouts, openeb_word_before_first_time_high_is_dropped) {
  const auto d = decode21({CD(1, 0, 0, 0, 0xFF), TH(3), CD(1, 0, 0, 0, 1)}, GetParam());
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{192, 0, 0, 1}}));
  EXPECT_EQ(d.stats.before_first_time_high, 1u);
}

TEST_P(Evt21Layouts, count_upper_bound_counts_only_cd_mask_bits) {
  // The type/x/y half of a CD word has many bits set; only the mask's bits are events. A
  // trigger word's payload half is not a mask either.
  const std::vector<Word> words{TH(0x0FFFFFFF), CD(1, 63, 2047, 2047, 0b1011), CD(0, 63, 2047, 2047, 1u << 31),
                                {0xA0000000u | 0x0FFFFFFFu, 0xFFFFFFFFu}};
  const auto bytes = bytes_of(words, GetParam());
  EXPECT_EQ(Evt21Decoder(word_config(4096, 4096), GetParam()).count_upper_bound(bytes.data(), bytes.size()), 4u);
}

INSTANTIATE_TEST_SUITE_P(Evt21Decoder, Evt21Layouts, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("legacy") : std::string("little"); });

const char* kLittle = "00 00 00 00 05 00 00 80  05 00 00 00 04 50 C0 10";
const char* kLegacy = "05 00 00 80 00 00 00 00  04 50 C0 10 05 00 00 00";
const std::vector<Ev> kDerivedEvents = {{323, 10, 4, 1}, {323, 12, 4, 1}};

TEST(Evt21Decoder, derived_vector_2_little_layout) {
  const auto d = decode_bytes(Evt21Decoder(word_config(1280, 720), false), test::hex_bytes(kLittle));
  EXPECT_EQ(d.ev(), kDerivedEvents);
}

TEST(Evt21Decoder, derived_vector_2_legacy_layout) {
  const auto d = decode_bytes(Evt21Decoder(word_config(1280, 720), true), test::hex_bytes(kLegacy));
  EXPECT_EQ(d.ev(), kDerivedEvents);
}

TEST(Evt21Decoder, derived_vector_2_wrong_layout_does_not_give_the_events) {
  const auto d = decode_bytes(Evt21Decoder(word_config(1280, 720), true), test::hex_bytes(kLittle));
  EXPECT_NE(d.ev(), kDerivedEvents);
}

TEST(Evt21Decoder, guesses_layout_from_time_high_words) {
  const auto little = test::hex_bytes(kLittle), legacy = test::hex_bytes(kLegacy);
  EXPECT_EQ(Evt21Decoder::guess_legacy_layout(little.data(), little.size()), 0);
  EXPECT_EQ(Evt21Decoder::guess_legacy_layout(legacy.data(), legacy.size()), 1);
}

TEST(Evt21File, derived_vector_2_with_endianness_in_format_key) {
  const auto lp = test::write_temp_file(
      "little.raw", test::with_header("% format EVT21;endianness=little;height=720;width=1280\n% end\n", test::hex_bytes(kLittle)));
  const auto gp = test::write_temp_file(
      "legacy.raw", test::with_header("% format EVT21;endianness=legacy;height=720;width=1280\n% end\n", test::hex_bytes(kLegacy)));
  const Recording l = read(lp), g = read(gp);
  EXPECT_EQ(l.metadata->format, "evt21");
  EXPECT_EQ(test::events_of(l.events), kDerivedEvents);
  EXPECT_EQ(test::events_of(g.events), kDerivedEvents);
}

TEST(Evt21File, derived_vector_2_layout_detected_without_endianness_key) {
  for (const char* hex : {kLittle, kLegacy}) {
    const auto p = test::write_temp_file("auto.raw", test::with_header("% format EVT21;height=720;width=1280\n% end\n", test::hex_bytes(hex)));
    EXPECT_EQ(test::events_of(read(p).events), kDerivedEvents) << hex;
  }
}

TEST(Evt21File, endianness_option_overrides_header) {
  const auto p = test::write_temp_file(
      "wrong.raw", test::with_header("% format EVT21;endianness=little;height=720;width=1280\n% end\n", test::hex_bytes(kLegacy)));
  ReadOptions o;
  o.evt21_endianness = "legacy";
  EXPECT_EQ(test::events_of(read(p, o).events), kDerivedEvents);
}

TEST(Evt21Decoder, trigger_word) {
  // EXT_TRIGGER: [63:60]=0xA, [59:54] ts, [44:40] channel, [32] value.
  const Word trig{0xA0000000u | 7u << 22 | 9u << 8 | 1u, 0};
  const auto d = decode21({TH(2), trig}, false);
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{2 * 64 + 7, 9, 1}}));
}

}  // namespace
}  // namespace evlib
