// EVT 3.0 decoder: docs/formats.md 4.5 test vectors and the 4.2 / 4.4 state-machine rules.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/prophesee/evt3.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::Evt3Decoder;
using test::decode_bytes;
using test::Ev;
using test::le16_bytes;
using test::Trig;
using test::word_config;

// EVT 3.0 words (docs/formats.md 4.1).
constexpr std::uint16_t Y(unsigned y) { return static_cast<std::uint16_t>(0x0000 | y); }
constexpr std::uint16_t X(unsigned x, unsigned p = 0) { return static_cast<std::uint16_t>(0x2000 | p << 11 | x); }
constexpr std::uint16_t BASE(unsigned x, unsigned p = 0) { return static_cast<std::uint16_t>(0x3000 | p << 11 | x); }
constexpr std::uint16_t V12(unsigned m) { return static_cast<std::uint16_t>(0x4000 | m); }
constexpr std::uint16_t V8(unsigned m) { return static_cast<std::uint16_t>(0x5000 | m); }
constexpr std::uint16_t TL(unsigned v) { return static_cast<std::uint16_t>(0x6000 | v); }
constexpr std::uint16_t C4(unsigned v) { return static_cast<std::uint16_t>(0x7000 | v); }
constexpr std::uint16_t TH(unsigned v) { return static_cast<std::uint16_t>(0x8000 | v); }
constexpr std::uint16_t TRIG(unsigned ch, unsigned v) { return static_cast<std::uint16_t>(0xA000 | ch << 8 | v); }
constexpr std::uint16_t OTHERS(unsigned s) { return static_cast<std::uint16_t>(0xE000 | s); }
constexpr std::uint16_t C12(unsigned v) { return static_cast<std::uint16_t>(0xF000 | v); }

auto decode100(const std::vector<std::uint16_t>& words) {
  return decode_bytes(Evt3Decoder(word_config(100, 100)), le16_bytes(words));
}
auto decode_hd(const std::vector<std::uint8_t>& bytes) {
  return decode_bytes(Evt3Decoder(word_config(1280, 720)), bytes);
}

const char* kEvt3Header = "% evt 3.0\n% format EVT3;height=720;width=1280\n% end\n";

// ---- docs/formats.md 4.5.1 (openeb decoders_evt3_decoder_gtest.cpp), width = height = 100 ----

TEST(Evt3Decoder, openeb_basic_row_and_columns) {
  const auto d = decode100({TH(0), Y(1), X(2, 0), X(3, 1)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 1, 0}, {0, 3, 1, 1}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3Decoder, openeb_drops_words_before_first_time_high) {
  const auto d = decode100({Y(1), X(2), TH(3), Y(4), X(5)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{3 * 4096, 5, 4, 0}}));
  EXPECT_EQ(d.stats.before_first_time_high, 2u);
}

TEST(Evt3Decoder, openeb_time_high_loop_after_0xFFD) {
  std::vector<std::uint16_t> words;
  for (unsigned v = 0; v <= 0xFFD; ++v) words.push_back(TH(v));
  for (auto w : {Y(1), X(2), TH(1), X(3), TH(2), X(4)}) words.push_back(w);
  const auto d = decode100(words);
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0xFFDll * 4096, 2, 1, 0}, {0x1001ll * 4096, 3, 1, 0}, {0x1002ll * 4096, 4, 1, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 1u);
  EXPECT_EQ(d.stats.non_monotonic_time_high, 0u);
}

TEST(Evt3Decoder, openeb_time_high_forward_jump_is_accepted) {
  const auto d = decode100({TH(0), Y(1), X(2), TH(2), X(3), TH(3), X(4)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 1, 0}, {8192, 3, 1, 0}, {12288, 4, 1, 0}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3Decoder, openeb_vector_triplet_gives_32_events) {
  const auto d = decode100({TH(0), Y(1), BASE(1), V12(0xFFF), V12(0xFFF), V8(0xFF)});
  ASSERT_EQ(d.events.size(), 32u);
  for (unsigned k = 0; k < 32; ++k) EXPECT_EQ(d.ev()[k], (Ev{0, static_cast<std::uint16_t>(1 + k), 1, 0})) << k;
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3Decoder, openeb_erc_counter_group_is_one_monitoring_event) {
  // 0x014 + CONT12(0x123) + CONT12(0x456) + CONT4(0x7) = ERC count 0x7456123. evlib does not
  // expose monitoring payloads; what is observable is one complete OTHERS group, no CD event.
  const auto d = decode100({TH(0), OTHERS(0x014), C12(0x123), C12(0x456), C4(0x7)});
  EXPECT_TRUE(d.ev().empty());
  EXPECT_EQ(d.stats.monitoring_events, 1u);
  EXPECT_EQ(d.stats.partial_groups, 0u);
  EXPECT_EQ(d.stats.orphan_continued, 0u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

// ---- docs/formats.md 4.5.2 - 4.5.4 (derived) ----

TEST(Evt3Decoder, derived_vector_2_events_and_trigger) {
  const auto d = decode_hd(test::hex_bytes("07 00 01 20 23 81 56 64 2C 01 F4 21 F5 29 01 A3"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1193046, 500, 300, 0}, {1193046, 501, 300, 1}}));
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{1193046, 3, 1}}));
  EXPECT_EQ(d.stats.before_first_time_high, 2u);
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3Decoder, derived_vector_3_vector_words) {
  const auto d = decode_hd(test::hex_bytes("01 80 10 60 05 00 64 38 01 48 00 40 81 50"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{4112, 100, 5, 1}, {4112, 111, 5, 1}, {4112, 124, 5, 1}, {4112, 131, 5, 1}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3Decoder, derived_vector_4_24_bit_wrap) {
  const auto d = decode_hd(test::hex_bytes("FF 8F FF 6F 01 00 02 20 00 80 01 60 03 20"));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{16777215, 2, 1, 0}, {16777217, 3, 1, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 1u);
}

TEST(Evt3File, derived_vector_2_through_reader) {
  const auto path = test::write_temp_file(
      "v2.raw", test::with_header(kEvt3Header, test::hex_bytes("07 00 01 20 23 81 56 64 2C 01 F4 21 F5 29 01 A3")));
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "evt3");
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1193046, 500, 300, 0}, {1193046, 501, 300, 1}}));
  EXPECT_EQ(test::triggers_of(rec.triggers), (std::vector<Trig>{{1193046, 3, 1}}));
  EXPECT_EQ(rec.stats.before_first_time_high, 2u);
}

TEST(Evt3File, derived_vectors_3_and_4_through_reader) {
  auto p3 = test::write_temp_file("v3.raw", test::with_header(kEvt3Header, test::hex_bytes("01 80 10 60 05 00 64 38 01 48 00 40 81 50")));
  EXPECT_EQ(test::events_of(read(p3).events),
            (std::vector<Ev>{{4112, 100, 5, 1}, {4112, 111, 5, 1}, {4112, 124, 5, 1}, {4112, 131, 5, 1}}));
  auto p4 = test::write_temp_file("v4.raw", test::with_header(kEvt3Header, test::hex_bytes("FF 8F FF 6F 01 00 02 20 00 80 01 60 03 20")));
  EXPECT_EQ(test::events_of(read(p4).events), (std::vector<Ev>{{16777215, 2, 1, 0}, {16777217, 3, 1, 0}}));
}

// ---- docs/formats.md 4.2 / 4.4 rules ----

TEST(Evt3Decoder, time_high_repeat_keeps_time_low) {
  const auto d = decode100({TH(1), TL(5), Y(1), X(2), TH(1), X(3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{4101, 2, 1, 0}, {4101, 3, 1, 0}}));
}

TEST(Evt3Decoder, time_high_change_resets_time_low) {
  const auto d = decode100({TH(1), TL(5), Y(1), X(2), TH(2), X(3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{4101, 2, 1, 0}, {8192, 3, 1, 0}}));
}

TEST(Evt3Decoder, decreasing_time_low_is_kept_not_a_wrap) {
  const auto d = decode100({TH(0xB2D), TL(0x32B), Y(1), X(2), TH(0xB2D), TL(0x320), X(3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0xB2D32Bll, 2, 1, 0}, {0xB2D320ll, 3, 1, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 0u);
}

TEST(Evt3Decoder, small_backwards_time_high_is_non_monotonic_not_a_loop) {
  const auto d = decode100({TH(10), Y(1), X(2), TH(9), X(3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{10 * 4096, 2, 1, 0}, {9 * 4096, 3, 1, 0}}));
  EXPECT_EQ(d.stats.time_wraps, 0u);
  EXPECT_EQ(d.stats.non_monotonic_time_high, 1u);
}

TEST(Evt3Decoder, columns_before_any_row_are_dropped_and_counted) {
  const auto d = decode100({TH(0), X(2), BASE(0), V12(0x3), Y(1), X(3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 3, 1, 0}}));
  EXPECT_EQ(d.stats.missing_row, 3u);
}

// The time index is built by an unfiltered decoder; a filtered one resumed from its snapshot
// must judge the current row by its own filter (a row outside it once leaked its vectors).
TEST(Evt3Decoder, a_filtered_decoder_resumed_from_an_unfiltered_snapshot_applies_its_row_filter) {
  const auto before = le16_bytes({TH(1), TL(5), Y(519), BASE(180, 1)});
  const auto after = le16_bytes({V12(0xFFF), X(190, 1), Y(100), BASE(180, 1), V8(0x3)});
  Evt3Decoder indexer(word_config(1280, 720));
  EventBatch scratch = EventBatch::with_capacity(64);
  TriggerBatch triggers;
  test::decode_into(indexer, before.data(), before.size(), {}, scratch, triggers);
  detail::WordDecoderConfig narrow = word_config(1280, 720);
  narrow.filter.y0 = 20;
  narrow.filter.y1 = 300;
  Evt3Decoder resumed(narrow);
  resumed.restore(indexer.state());
  const auto got = decode_bytes(resumed, after);
  ASSERT_EQ(got.events.size(), 2u) << "row 519 is outside [20, 300): only row 100's vector passes";
  EXPECT_EQ(got.events.y()[0], 100);
  EXPECT_EQ(got.events.x()[0], 180);
  EXPECT_EQ(got.events.x()[1], 181);
}

TEST(Evt3Decoder, vector_without_base_is_counted) {
  const auto d = decode100({TH(0), Y(1), V12(0x1), V8(0x1)});
  EXPECT_TRUE(d.ev().empty());
  EXPECT_EQ(d.stats.missing_vector_base, 2u);
}

TEST(Evt3Decoder, lone_vect8_decodes_per_word) {
  const auto d = decode100({TH(0), Y(7), BASE(40, 1), V8(0x81)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 40, 7, 1}, {0, 47, 7, 1}}));
}

TEST(Evt3Decoder, row_beyond_height_drops_its_events) {
  const auto d = decode100({TH(0), Y(150), X(2), BASE(0), V12(0x3), Y(99), X(99)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 99, 99, 0}}));
  EXPECT_EQ(d.stats.out_of_bounds, 3u);
}

TEST(Evt3Decoder, column_beyond_width_is_dropped) {
  const auto d = decode100({TH(0), Y(1), X(100), X(99)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 99, 1, 0}}));
  EXPECT_EQ(d.stats.out_of_bounds, 1u);
}

TEST(Evt3Decoder, vector_overhanging_width_keeps_in_bounds_events) {
  const auto d = decode100({TH(0), Y(1), BASE(90), V12(0xFFF)});
  ASSERT_EQ(d.events.size(), 10u);
  EXPECT_EQ(d.ev().front(), (Ev{0, 90, 1, 0}));
  EXPECT_EQ(d.ev().back(), (Ev{0, 99, 1, 0}));
  EXPECT_EQ(d.stats.out_of_bounds, 2u);
}

TEST(Evt3Decoder, non_cd_row_events_are_not_cd_events) {
  const auto d = decode100({TH(0), static_cast<std::uint16_t>(0x1000 | 3), X(2), Y(3), X(4)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 4, 3, 0}}));
  EXPECT_EQ(d.stats.non_cd_row_events, 1u);
}

TEST(Evt3Decoder, addr_y_ignores_the_system_type_bit) {
  const auto d = decode100({TH(0), static_cast<std::uint16_t>(0x0800 | 5), X(2, 1)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 5, 1}}));
}

TEST(Evt3Decoder, trigger_channel_and_value) {
  const auto d = decode100({TH(2), TL(7), TRIG(0xF, 0), TRIG(5, 1)});
  EXPECT_EQ(d.tr(), (std::vector<Trig>{{8199, 15, 0}, {8199, 5, 1}}));
}

TEST(Evt3Decoder, reserved_words_are_skipped_and_counted) {
  const auto d = decode100({TH(0), Y(1), 0x9123, 0xB000, 0xC000, 0xD000, X(2)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 1, 0}}));
  EXPECT_EQ(d.stats.unknown_words, 4u);
}

TEST(Evt3Decoder, orphan_continued_is_counted) {
  const auto d = decode100({TH(0), C12(1), C4(1), Y(1), X(2)});
  EXPECT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.stats.orphan_continued, 2u);
}

TEST(Evt3Decoder, others_group_split_across_feeds_stays_pending) {
  const auto bytes = le16_bytes({TH(0), OTHERS(0x016), C12(0x1), C12(0x2), C4(0x3), Y(1), X(2)});
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    const auto d = decode_bytes(Evt3Decoder(word_config(100, 100)), bytes, {cut});
    EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 1, 0}})) << cut;
    EXPECT_EQ(d.stats.monitoring_events, 1u) << cut;
    EXPECT_EQ(d.stats.corrupt(), 0u) << cut;
  }
}

TEST(Evt3Decoder, others_group_cut_by_the_end_of_stream_is_partial) {
  const auto d = decode100({TH(0), OTHERS(0x014), C12(0x1)});
  EXPECT_EQ(d.stats.monitoring_events, 1u);
  EXPECT_EQ(d.stats.partial_groups, 1u);
}

// docs/formats.md 4.2 step 9: OTHERS collects the *immediately* following CONTINUED words, and a
// group cut short by another word is a partial group.
TEST(Evt3Decoder, others_group_is_cut_by_a_non_continued_word) {
  const auto d = decode100({TH(0), OTHERS(0x014), C12(0x1), Y(1), X(2), C12(0x2), C4(0x3)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{0, 2, 1, 0}}));
  EXPECT_EQ(d.stats.partial_groups, 1u);
  EXPECT_EQ(d.stats.orphan_continued, 2u);
}

// docs/formats.md 4.4: MIPI padding (0x01A) and DUMMY (0x0FF) OTHERS words carry no events and are
// skipped; they are legitimate transport content, not corruption.
TEST(Evt3Decoder, padding_others_words_are_not_corruption) {
  const auto d = decode100({TH(0), TL(1), OTHERS(0x01A), OTHERS(0x0FF), OTHERS(0x01A), Y(1), X(2)});
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{1, 2, 1, 0}}));
  EXPECT_EQ(d.stats.corrupt(), 0u);
}

TEST(Evt3File, strict_mode_accepts_padding_words) {
  const auto path = test::write_temp_file(
      "padding.raw", test::with_header(kEvt3Header, le16_bytes({TH(0), TL(1), OTHERS(0x01A), OTHERS(0x0FF), Y(1), X(2)})));
  ReadOptions strict;
  strict.strict = true;
  try {
    const Recording rec = read(path, strict);
    EXPECT_EQ(rec.events.size(), 1u);
  } catch (const Error& e) {
    ADD_FAILURE() << "strict read of a padded stream threw: " << e.what();
  }
}

TEST(Evt3Decoder, trailing_odd_byte_is_counted) {
  auto bytes = le16_bytes({TH(0), Y(1), X(2)});
  bytes.push_back(0x20);
  const auto d = decode_bytes(Evt3Decoder(word_config(100, 100)), bytes);
  EXPECT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.stats.trailing_bytes, 1u);
}

TEST(Evt3Decoder, metavision_time_shift_uses_first_time_high_minus_one) {
  const auto d = decode_bytes(Evt3Decoder(word_config(100, 100, true)), le16_bytes({TH(0xB2D), TL(3), Y(1), X(2), TH(0xB2E), X(3)}));
  EXPECT_EQ(d.ev(), (std::vector<Ev>{{4096 + 3, 2, 1, 0}, {8192, 3, 1, 0}}));
  const auto z = decode_bytes(Evt3Decoder(word_config(100, 100, true)), le16_bytes({TH(0), TL(3), Y(1), X(2)}));
  EXPECT_EQ(z.ev(), (std::vector<Ev>{{3, 2, 1, 0}}));
}

TEST(Evt3Decoder, error_offsets_are_absolute_file_offsets) {
  const auto d = decode_bytes(Evt3Decoder(word_config(100, 100, false, 1000)), le16_bytes({TH(0), Y(1), X(2), 0x9000, X(3)}));
  EXPECT_EQ(d.stats.unknown_words, 1u);
  EXPECT_EQ(d.stats.first_error_offset, 1000u + 3 * 2);
}

TEST(Evt3Decoder, count_upper_bound_covers_columns_and_vector_bits) {
  const auto bytes = le16_bytes({TH(0), Y(1), X(2), X(3), BASE(0), V12(0xFFF), V12(0x001), V8(0x81), TL(5)});
  EXPECT_EQ(Evt3Decoder::count_upper_bound(bytes.data(), bytes.size()), 2u + 12u + 1u + 2u);
}

TEST(Evt3Decoder, vector_columns_past_65535_are_out_of_bounds_even_on_a_wider_sensor) {
  // 5500 empty VECT_12 words move the base to 66000: columns are uint16, so the events of the
  // last word are beyond any representable sensor, with or without a pushed-down filter.
  std::vector<std::uint16_t> words = {TH(0), Y(1), BASE(0)};
  for (int k = 0; k < 5500; ++k) words.push_back(V12(0));
  words.push_back(V12(0x003));
  for (const bool filtered : {false, true}) {
    detail::WordDecoderConfig c = word_config(70'000, 70'000);
    if (filtered) c.filter.polarities = 1;  // OFF events only
    const auto d = decode_bytes(Evt3Decoder(c), le16_bytes(words));
    EXPECT_TRUE(d.events.empty()) << "filtered " << filtered;
    EXPECT_EQ(d.stats.out_of_bounds, 2u) << "filtered " << filtered;
  }
}

TEST(Evt3Decoder, a_long_run_before_the_first_time_high_is_dropped_across_buffers) {
  // Thousands of words of every other type, then TIME_HIGH: all dropped and counted, wherever
  // the buffers are cut (the skip takes four words at a time, with a word-wise tail).
  std::vector<std::uint16_t> words;
  for (unsigned i = 0; i < 5001; ++i) words.push_back(static_cast<std::uint16_t>((i % 16 == 8 ? 0x9 : i % 16) << 12 | 0x800));
  for (auto w : {TH(3), Y(4), X(5)}) words.push_back(w);
  const auto bytes = le16_bytes(words);
  const std::vector<std::vector<std::size_t>> splits = {{}, {2}, {6, 10, 4096}, {10002}, {bytes.size() - 2}};
  for (const auto& cuts : splits) {
    const auto d = decode_bytes(Evt3Decoder(word_config(100, 100)), bytes, cuts);
    EXPECT_EQ(d.ev(), (std::vector<Ev>{{3 * 4096, 5, 4, 0}})) << cuts.size() << " cuts";
    EXPECT_EQ(d.stats.before_first_time_high, 5001u) << cuts.size() << " cuts";
  }
}

TEST(FindWordType, finds_the_first_word_of_the_type_and_nothing_else) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    // Words of other types (their lower 12 bits random, so that 0x8 appears in other nibbles),
    // with a few of the wanted type, maybe none; the answer must be the first such word.
    std::vector<std::uint16_t> words(rng() % 40);
    for (auto& w : words) w = static_cast<std::uint16_t>(((rng() % 15 + 9) % 16) << 12 | (rng() & 0xFFF));
    for (unsigned k = rng() % 3; k > 0 && !words.empty(); --k) words[rng() % words.size()] = TH(rng() & 0xFFF);
    const auto bytes = le16_bytes(words);
    const std::size_t from = words.empty() ? 0 : rng() % (words.size() + 1);
    std::size_t expected = from;
    while (expected < words.size() && (words[expected] >> 12) != 0x8) ++expected;
    EXPECT_EQ(detail::find_word_type(bytes.data(), from, words.size(), 0x8), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace evlib
