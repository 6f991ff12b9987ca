// The AVX-512 block decoder of EVT 3.0 against the scalar loop: same events, triggers and
// counters on synthetic scenes, real recordings and random word soups, fed in any split.
#include <gtest/gtest.h>

#include <random>

#include "evlib/synth.hpp"
#include "formats/prophesee/evt3.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::Evt3Decoder;

Evt3Decoder decoder(bool simd, std::uint32_t width = 1280, std::uint32_t height = 720) {
  detail::WordDecoderConfig c = test::word_config(width, height);
  c.simd = simd;
  return Evt3Decoder(c);
}

void expect_same_as_scalar(const std::vector<std::uint8_t>& bytes, const std::vector<std::size_t>& cuts,
                           std::uint32_t width = 1280, std::uint32_t height = 720) {
  const auto scalar = test::decode_bytes(decoder(false, width, height), bytes, cuts);
  const auto simd = test::decode_bytes(decoder(true, width, height), bytes, cuts);
  ASSERT_EQ(simd.events.size(), scalar.events.size());
  const auto a = simd.ev(), b = scalar.ev();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "event " << i << " of " << a.size();
  EXPECT_TRUE(test::same_triggers(simd.triggers, scalar.triggers));
  EXPECT_EQ(simd.stats.counters(), scalar.stats.counters());
  EXPECT_EQ(simd.stats.words, scalar.stats.words);
  EXPECT_EQ(simd.stats.first_error_offset, scalar.stats.first_error_offset);
}

std::vector<std::uint8_t> scene_payload(const test::ScopedTempDir& dir, double run_fraction, std::uint64_t seed) {
  SceneOptions so;
  so.seed = seed;
  so.run_fraction = run_fraction;
  so.trigger_rate = 2000;
  so.t_start = (std::int64_t{1} << 24) - 50'000;  // a time wrap early on
  const std::string path = test::write_scene(dir.file("s" + std::to_string(seed) + ".raw"), "evt3", so, 300'000);
  return test::payload_of(path);
}

TEST(Evt3Simd, this_machine_runs_the_block_decoder_or_the_tests_say_so) {
  if (!detail::evt3_avx512_available()) GTEST_SKIP() << "no AVX-512 here: only the scalar loop runs";
  SUCCEED();
}

TEST(Evt3Simd, block_decoder_equals_the_scalar_loop_on_synthetic_scenes) {
  test::ScopedTempDir dir;
  std::uint64_t seed = 1;
  for (const double runs : {0.0, 0.3, 0.9}) {
    const auto bytes = scene_payload(dir, runs, seed++);
    expect_same_as_scalar(bytes, {});
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> cuts;
    for (std::size_t c = 1 + rng() % 97; c < bytes.size(); c += 1 + rng() % 5000) cuts.push_back(c);
    expect_same_as_scalar(bytes, cuts);
  }
}

// On a synthetic stand-in of the real recording and on the real one.
class Evt3SimdFiles : public test::RecordingsTest {
 protected:
  Evt3SimdFiles() : RecordingsTest({"evt3/evt3_test_pedestrians.raw"}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(Evt3SimdFiles);

TEST_P(Evt3SimdFiles, block_decoder_equals_the_scalar_loop_on_a_recording) {
  const auto bytes = test::payload_of(recording("evt3/evt3_test_pedestrians.raw"));
  expect_same_as_scalar(bytes, {}, 1280, 720);
  expect_same_as_scalar(bytes, {1, 3, 64, 1000, 4097}, 1280, 720);
}

TEST(Evt3Simd, block_decoder_equals_the_scalar_loop_on_random_words_and_small_sensors) {
  // Mostly the fast types, with rows and columns beyond a small sensor, vectors before any base,
  // and a sprinkle of every other type: every fallback of the block decoder is exercised.
  std::mt19937_64 rng(3);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::uint16_t> words = {static_cast<std::uint16_t>(0x8000 | rng() % 4096)};
    const int n = 2000 + static_cast<int>(rng() % 3000);
    for (int k = 0; k < n; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      const std::uint16_t v = static_cast<std::uint16_t>(rng() % 4096);
      std::uint16_t type = r < 300 ? 0x0 : r < 600 ? 0x2 : r < 700 ? 0x6 : r < 760 ? 0x3 : r < 850 ? 0x4 : r < 930 ? 0x5
                                                                                                    : static_cast<std::uint16_t>(rng() % 16);
      if (round % 2 == 0 && type > 0x6) type = 0x2;  // half the rounds: only the fast types
      words.push_back(static_cast<std::uint16_t>(type << 12 | v));
    }
    const std::uint32_t width = round % 3 == 0 ? 2048 : 300 + static_cast<std::uint32_t>(rng() % 1700);
    const std::uint32_t height = round % 3 == 0 ? 2048 : 200 + static_cast<std::uint32_t>(rng() % 1800);
    expect_same_as_scalar(test::le16_bytes(words), {}, width, height);
    expect_same_as_scalar(test::le16_bytes(words), {7, 100, 333, 2001}, width, height);
  }
}

TEST(Evt3Simd, block_decoder_equals_the_scalar_loop_on_dense_vectors_and_crowded_time_lows) {
  // Blocks of mostly vector words (up to 384 events in 32 words, so the slots of one block span
  // many windows) and blocks with more TIME_LOW words than the block decoder takes (those go
  // to the scalar loop): both must give the scalar loop's events.
  std::mt19937_64 rng(11);
  for (int round = 0; round < 24; ++round) {
    const std::uint32_t time_lows = round % 3 == 0 ? 600 : 40;  // per mille
    std::vector<std::uint16_t> words = {static_cast<std::uint16_t>(0x8000 | rng() % 4096), 0x0000 | 5, 0x3000 | 7};
    for (int k = 0; k < 4000; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      std::uint16_t v = static_cast<std::uint16_t>(rng() % 4096);
      std::uint16_t type = 0x4;
      if (r < time_lows) {
        type = 0x6;
      } else if (r < time_lows + 30) {
        type = 0x0;
        v %= 700;
      } else if (r < time_lows + 60) {
        type = 0x3;
        v %= 600;
      } else if (r < time_lows + 200) {
        type = 0x5;
      } else if (round % 2 == 0) {
        v |= 0x0FFF;  // full vectors: 12 events a word
      }
      words.push_back(static_cast<std::uint16_t>(type << 12 | v));
    }
    expect_same_as_scalar(test::le16_bytes(words), {}, 1280, 720);
    expect_same_as_scalar(test::le16_bytes(words), {5, 64, 999, 4321}, 1280, 720);
  }
}

}  // namespace
}  // namespace evlib
