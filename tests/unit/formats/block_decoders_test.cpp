// The EVT 2.0, EVT 2.1 and DAT block decoders (AVX-512 and AVX2, each where this CPU has it)
// against the scalar loop: same events, triggers, counters and first error on synthetic scenes,
// real recordings, random words and damaged input, fed in any split and into small sinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <random>
#include <string>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "formats/prophesee/block_decoders.hpp"
#include "formats/prophesee/dat.hpp"
#include "formats/prophesee/evt2.hpp"
#include "formats/prophesee/evt21.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::BlockIsa;

// The block decoders this CPU runs (the scalar loop is the reference, not in this list).
std::vector<BlockIsa> block_paths() {
  std::vector<BlockIsa> out;
  if (detail::cpu_block_isa() >= BlockIsa::kAvx2) out.push_back(BlockIsa::kAvx2);
  if (detail::cpu_block_isa() >= BlockIsa::kAvx512) out.push_back(BlockIsa::kAvx512);
  return out;
}
std::string name_of(BlockIsa isa) { return isa == BlockIsa::kAvx512 ? "AVX-512" : isa == BlockIsa::kAvx2 ? "AVX2" : "scalar"; }

struct Geometry {
  std::uint32_t width = 1280, height = 720;
};

detail::Evt2Decoder evt2(BlockIsa isa, Geometry g, const EventFilter& filter = {}) {
  detail::WordDecoderConfig c = test::word_config(g.width, g.height);
  c.max_block_isa = isa;
  c.filter = filter;
  return detail::Evt2Decoder(c);
}
detail::Evt21Decoder evt21(BlockIsa isa, Geometry g, bool legacy, const EventFilter& filter = {}) {
  detail::WordDecoderConfig c = test::word_config(g.width, g.height);
  c.max_block_isa = isa;
  c.filter = filter;
  return detail::Evt21Decoder(c, legacy);
}
detail::DatDecoder dat(BlockIsa isa, Geometry g, const EventFilter& filter = {}) {
  detail::DatConfig c;
  c.width = g.width;
  c.height = g.height;
  c.max_block_isa = isa;
  c.filter = filter;
  return detail::DatDecoder(c);
}

// Decodes into a sink of `room` events, emptied into the result whenever it fills (as the
// streaming reader's chunks are), so that the block decoders meet full sinks mid-block.
template <class Decoder>
test::Decoded<Decoder> decode_in_small_sinks(Decoder decoder, const std::vector<std::uint8_t>& bytes, std::size_t room) {
  test::Decoded<Decoder> d;
  d.events = EventBatch::with_capacity(test::decode_capacity(decoder, bytes.data(), bytes.size()));
  EventBatch small = EventBatch::with_capacity(room);
  std::size_t pos = 0;
  const auto drain = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) d.events.push_back(small.t()[i], small.x()[i], small.y()[i], small.p()[i]);
  };
  while (pos < bytes.size()) {
    detail::ColumnSink sink = detail::ColumnSink::over(small);
    sink.n = 0;
    pos += decoder.feed(bytes.data() + pos, bytes.size() - pos, sink, d.triggers);
    drain(sink.n);
  }
  decoder.finish();
  d.stats = decoder.stats();
  return d;
}

template <class Decoder>
void expect_same(const test::Decoded<Decoder>& got, const test::Decoded<Decoder>& want, const std::string& what) {
  ASSERT_EQ(got.events.size(), want.events.size()) << what;
  const auto a = got.ev(), b = want.ev();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << what << ": event " << i << " of " << a.size();
  EXPECT_TRUE(test::same_triggers(got.triggers, want.triggers)) << what;
  EXPECT_EQ(got.stats.counters(), want.stats.counters()) << what;
  EXPECT_EQ(got.stats.words, want.stats.words) << what;
  EXPECT_EQ(got.stats.first_error_offset, want.stats.first_error_offset) << what;
  EXPECT_EQ(got.stats.first_error, want.stats.first_error) << what;
}

// Every block path this CPU has, whole, cut at `cuts` and into small sinks, against the scalar loop.
template <class Make>
void expect_blocks_match_scalar(Make make, const std::vector<std::uint8_t>& bytes, const std::vector<std::size_t>& cuts) {
  const auto scalar = test::decode_bytes(make(BlockIsa::kScalar), bytes);
  for (const BlockIsa isa : block_paths()) {
    expect_same(test::decode_bytes(make(isa), bytes), scalar, name_of(isa) + ", whole");
    expect_same(test::decode_bytes(make(isa), bytes, cuts), scalar, name_of(isa) + ", cut");
    for (const std::size_t room : {std::size_t{40}, std::size_t{1000}}) {
      expect_same(decode_in_small_sinks(make(isa), bytes, room), scalar, name_of(isa) + ", room " + std::to_string(room));
    }
  }
}

std::vector<std::size_t> random_cuts(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> cuts;
  for (std::size_t c = 1 + rng() % 97; c < size; c += 1 + rng() % 5000) cuts.push_back(c);
  return cuts;
}

std::vector<std::uint8_t> scene_payload(const test::ScopedTempDir& dir, const std::string& format, std::uint64_t seed,
                                        std::int64_t t_start) {
  SceneOptions so;
  so.seed = seed;
  so.trigger_rate = format == "dat" ? 0 : 2000;  // a DAT file holds one event type
  so.t_start = t_start;
  const std::string ext = format == "dat" ? ".dat" : ".raw";
  return test::payload_of(test::write_scene(dir.file(format + std::to_string(seed) + ext), format, so, 200'000));
}

TEST(BlockDecoders, this_machine_runs_a_block_decoder_or_the_tests_say_so) {
  if (block_paths().empty()) GTEST_SKIP() << "no AVX2 here: only the scalar loops run";
  EXPECT_EQ(block_paths().back(), detail::cpu_block_isa());
}

TEST(BlockDecoders, evt2_blocks_equal_the_scalar_loop_on_synthetic_scenes_across_a_time_wrap) {
  test::ScopedTempDir dir;
  // The 34-bit clock wraps 2^34 µs in: a scene starting just before it crosses it.
  const std::int64_t near_wrap = (std::int64_t{1} << 34) - 30'000;
  for (const std::int64_t start : {std::int64_t{0}, near_wrap}) {
    const auto bytes = scene_payload(dir, "evt2", 1 + static_cast<std::uint64_t>(start % 7), start);
    expect_blocks_match_scalar([](BlockIsa isa) { return evt2(isa, {}); }, bytes, random_cuts(bytes.size(), 5));
  }
}

TEST(BlockDecoders, evt21_blocks_equal_the_scalar_loop_on_synthetic_scenes_in_both_layouts) {
  test::ScopedTempDir dir;
  const auto bytes = scene_payload(dir, "evt21", 3, (std::int64_t{1} << 34) - 30'000);
  const bool legacy = detail::Evt21Decoder::guess_legacy_layout(bytes.data(), bytes.size()) == 1;
  expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, {}, legacy); }, bytes, random_cuts(bytes.size(), 6));
  // The other layout reads the same bytes as other words: damage everywhere, same verdicts.
  expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, {}, !legacy); }, bytes, random_cuts(bytes.size(), 7));
}

TEST(BlockDecoders, dat_blocks_equal_the_scalar_loop_on_synthetic_scenes_across_a_time_wrap) {
  test::ScopedTempDir dir;
  for (const std::int64_t start : {std::int64_t{0}, (std::int64_t{1} << 32) - 30'000}) {
    const auto bytes = scene_payload(dir, "dat", 4 + static_cast<std::uint64_t>(start % 5), start);
    expect_blocks_match_scalar([](BlockIsa isa) { return dat(isa, {}); }, bytes, random_cuts(bytes.size(), 8));
  }
}

// Pushed-down filters: time windows inside and around the data, regions, one polarity, and all
// of them at once.
std::vector<EventFilter> some_filters(std::int64_t t_first, std::int64_t t_last) {
  std::vector<EventFilter> out;
  const std::int64_t span = std::max<std::int64_t>(t_last - t_first, 1);
  EventFilter window;
  window.t0 = t_first + span / 3;
  window.t1 = t_first + 2 * span / 3;
  out.push_back(window);
  EventFilter region;
  region.x0 = 100;
  region.x1 = 700;
  region.y0 = 50;
  region.y1 = 400;
  out.push_back(region);
  EventFilter on;
  on.polarities = 2;
  out.push_back(on);
  EventFilter all = window;
  all.x0 = 3;
  all.x1 = 1000;
  all.y1 = 600;
  all.polarities = 1;
  out.push_back(all);
  return out;
}

TEST(BlockDecoders, filtered_dat_blocks_equal_the_filtered_scalar_loop) {
  test::ScopedTempDir dir;
  const std::int64_t start = (std::int64_t{1} << 32) - 5'000;  // a window across the 32-bit wrap
  const auto bytes = scene_payload(dir, "dat", 11, start);
  const auto whole = test::decode_bytes(dat(BlockIsa::kScalar, {}), bytes);
  const auto t = whole.events.t();
  for (const EventFilter& f : some_filters(t.front(), t.back())) {
    expect_blocks_match_scalar([&](BlockIsa isa) { return dat(isa, {}, f); }, bytes, random_cuts(bytes.size(), 12));
  }
}

TEST(BlockDecoders, filtered_evt2_blocks_equal_the_filtered_scalar_loop) {
  test::ScopedTempDir dir;
  const std::int64_t start = (std::int64_t{1} << 34) - 5'000;  // a window across the 34-bit wrap
  const auto bytes = scene_payload(dir, "evt2", 9, start);
  const auto whole = test::decode_bytes(evt2(BlockIsa::kScalar, {}), bytes);
  const auto t = whole.events.t();
  for (const EventFilter& f : some_filters(t.front(), t.back())) {
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt2(isa, {}, f); }, bytes, random_cuts(bytes.size(), 10));
  }
}

// Words of each type the decoders know and some they do not, coordinates beyond small sensors,
// TIME_HIGH values that repeat, rise, step back a little and wrap: every fallback is exercised.
TEST(BlockDecoders, filtered_evt21_blocks_equal_the_filtered_scalar_loop) {
  test::ScopedTempDir dir;
  const auto bytes = scene_payload(dir, "evt21", 13, (std::int64_t{1} << 34) - 5'000);  // a window across the wrap
  const bool legacy = detail::Evt21Decoder::guess_legacy_layout(bytes.data(), bytes.size()) == 1;
  const auto whole = test::decode_bytes(evt21(BlockIsa::kScalar, {}, legacy), bytes);
  const auto t = whole.events.t();
  for (const EventFilter& f : some_filters(t.front(), t.back())) {
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, {}, legacy, f); }, bytes, random_cuts(bytes.size(), 14));
  }
}

TEST(BlockDecoders, evt2_blocks_equal_the_scalar_loop_on_random_damaged_words) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 40; ++round) {
    std::uint32_t th = static_cast<std::uint32_t>(rng() % (1u << 28));
    std::vector<std::uint32_t> words;
    if (round % 4 != 0) words.push_back(0x80000000u | th);  // a quarter of the rounds start without one
    const int n = 3000 + static_cast<int>(rng() % 3000);
    const bool clean = round % 2 == 0;  // half the rounds: only CD and rising TIME_HIGH words
    for (int k = 0; k < n; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      const std::uint32_t payload = static_cast<std::uint32_t>(rng()) & 0x0FFFFFFF;
      if (r < 60) {
        if (clean || r < 40) {
          th = std::min<std::uint32_t>(th + static_cast<std::uint32_t>(rng() % 3), 0x0FFFFFFF);
        } else if (r < 50) {
          th -= std::min<std::uint32_t>(th, 1 + static_cast<std::uint32_t>(rng() % 5));  // backwards
        } else {
          th = static_cast<std::uint32_t>(rng() % 16);  // a wrap
        }
        words.push_back(0x80000000u | th);
      } else if (clean || r < 960) {
        words.push_back((static_cast<std::uint32_t>(rng() % 2) << 28) | payload);
      } else {
        words.push_back((static_cast<std::uint32_t>(rng() % 16) << 28) | payload);
      }
    }
    const Geometry g = round % 3 == 0 ? Geometry{2048, 2048} : Geometry{300 + static_cast<std::uint32_t>(rng() % 1800),
                                                                       200 + static_cast<std::uint32_t>(rng() % 1900)};
    const auto bytes = test::le32_bytes(words);
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt2(isa, g); }, bytes, {5, 64, 999, 4321});
    const std::int64_t t_mid = std::int64_t{th} << 6;
    const EventFilter f = some_filters(t_mid - 20'000, t_mid + 20'000)[static_cast<std::size_t>(round) % 4];
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt2(isa, g, f); }, bytes, {5, 64, 999, 4321});
  }
}

TEST(BlockDecoders, evt21_blocks_equal_the_scalar_loop_on_random_damaged_words) {
  std::mt19937_64 rng(22);
  for (int round = 0; round < 40; ++round) {
    std::uint32_t th = static_cast<std::uint32_t>(rng() % (1u << 28));
    std::vector<std::uint32_t> halves;  // header, mask pairs in the chosen layout
    const bool legacy = round % 2 == 1;
    const auto push = [&](std::uint32_t header, std::uint32_t mask) {
      halves.push_back(legacy ? header : mask);
      halves.push_back(legacy ? mask : header);
    };
    if (round % 4 != 0) push(0x80000000u | th, 0);
    for (int k = 0; k < 3000; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      const std::uint32_t header = static_cast<std::uint32_t>(rng()) & 0x0FFFFFFF;
      std::uint32_t mask = static_cast<std::uint32_t>(rng());
      if (r % 5 == 0) mask &= static_cast<std::uint32_t>(rng());
      if (r % 17 == 0) mask = 0;
      if (r < 60) {
        th = r < 45 ? std::min<std::uint32_t>(th + static_cast<std::uint32_t>(rng() % 3), 0x0FFFFFFF)
                    : static_cast<std::uint32_t>(rng() % (1u << 28));
        push(0x80000000u | th, 0);
      } else if (r < 970 || round % 3 == 0) {
        push((static_cast<std::uint32_t>(rng() % 2) << 28) | header, mask);
      } else {
        push((static_cast<std::uint32_t>(rng() % 16) << 28) | header, mask);
      }
    }
    const Geometry g = round % 3 == 0 ? Geometry{2048, 2048} : Geometry{300 + static_cast<std::uint32_t>(rng() % 1800),
                                                                       200 + static_cast<std::uint32_t>(rng() % 1900)};
    const auto bytes = test::le32_bytes(halves);
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, g, legacy); }, bytes, {5, 64, 999, 4321});
  }
}

// Long runs the eight-word AVX-512 step takes whole (sparse and dense masks, rising and equal
// TIME_HIGHs), broken now and then by one word it does not take, into sinks whose room runs out
// at every place relative to the step's kEvt21BlockRoom.
TEST(BlockDecoders, evt21_eight_word_steps_equal_the_scalar_loop_across_sink_boundaries) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 12; ++round) {
    const bool legacy = round % 2 == 1;
    std::vector<std::uint32_t> halves;
    const auto push = [&](std::uint32_t header, std::uint32_t mask) {
      halves.push_back(legacy ? header : mask);
      halves.push_back(legacy ? mask : header);
    };
    std::uint32_t th = static_cast<std::uint32_t>(rng() % (1u << 27));
    push(0x80000000u | th, 0);
    for (int k = 0; k < 6000; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      std::uint32_t mask = 1u << (rng() % 32);
      if (r % 3 == 0) mask |= 1u << (rng() % 32);
      if (round % 3 == 2 || r % 50 == 0) mask = static_cast<std::uint32_t>(rng());  // dense: several vectors a pair
      if (r % 41 == 0) mask = 0;
      const std::uint32_t x_base = static_cast<std::uint32_t>(rng() % (1280 - 32));
      const std::uint32_t header = (static_cast<std::uint32_t>(rng() % 64) << 22) | (x_base << 11) |
                                   static_cast<std::uint32_t>(rng() % 720);
      if (r < 80) {
        th += static_cast<std::uint32_t>(rng() % 2);
        push(0x80000000u | th, 0);
      } else if (r == 80) {
        push(0x80000000u | (th - 1), 0);  // a backwards step: the scalar loop's
      } else if (r == 81) {
        push(0xA0000000u | header, 0);  // a trigger
      } else if (r == 82) {
        push((static_cast<std::uint32_t>(rng() % 2) << 28) | (0x7F0u << 11) | 5u, 0xFFFF0000u);  // beyond the sensor
      } else {
        push((static_cast<std::uint32_t>(rng() % 2) << 28) | header, mask);
      }
    }
    const auto bytes = test::le32_bytes(halves);
    expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, {}, legacy); }, bytes, random_cuts(bytes.size(), 8));
    const auto scalar = test::decode_bytes(evt21(BlockIsa::kScalar, {}, legacy), bytes);
    for (const BlockIsa isa : block_paths()) {
      for (const std::size_t room : {std::size_t{255}, std::size_t{256}, std::size_t{300}, std::size_t{4099}}) {
        expect_same(decode_in_small_sinks(evt21(isa, {}, legacy), bytes, room), scalar,
                    name_of(isa) + ", room " + std::to_string(room));
      }
    }
    const auto t = scalar.events.t();
    for (const EventFilter& f : some_filters(t.front(), t.back())) {
      expect_blocks_match_scalar([&](BlockIsa isa) { return evt21(isa, {}, legacy, f); }, bytes, {8, 800, 8008});
    }
  }
}

// The stateless expansion behind bench --stream's EVT 2.1 ceiling: every CD word's set mask
// bits as events (t its 6-bit time), any other word skipped, in both half-word orders.
TEST(BlockDecoders, evt21_stateless_expansion_lists_every_cd_words_mask_bits_in_order) {
  if (detail::cpu_block_isa() < BlockIsa::kAvx512) GTEST_SKIP() << "no AVX-512 here: the ceiling uses a plain loop";
  std::mt19937_64 rng(5);
  for (const bool legacy : {false, true}) {
    std::vector<std::uint32_t> halves;
    std::vector<std::int64_t> t;
    std::vector<std::uint16_t> x, y;
    std::vector<std::uint8_t> p;
    for (int k = 0; k < 4000; ++k) {
      const std::uint32_t header = static_cast<std::uint32_t>(rng()) >> (k % 3 == 0 ? 0 : 3);  // types 0-1 mostly
      const std::uint32_t mask = k % 5 == 0 ? static_cast<std::uint32_t>(rng()) : 1u << (rng() % 32);
      halves.push_back(legacy ? header : mask);
      halves.push_back(legacy ? mask : header);
      for (std::uint32_t m = (header >> 28) <= 1 ? mask : 0; m != 0; m &= m - 1) {
        t.push_back((header >> 22) & 63);
        x.push_back(static_cast<std::uint16_t>(((header >> 11) & 0x7FF) + static_cast<std::uint32_t>(std::countr_zero(m))));
        y.push_back(static_cast<std::uint16_t>(header & 0x7FF));
        p.push_back(static_cast<std::uint8_t>(header >> 28));
      }
    }
    const auto bytes = test::le32_bytes(halves);
    const std::size_t room = t.size() + detail::kEvt21BlockRoom;
    std::vector<std::int64_t> got_t(room);
    std::vector<std::uint16_t> got_x(room), got_y(room);
    std::vector<std::uint8_t> got_p(room);
    detail::BlockColumns cols{got_t.data(), got_x.data(), got_y.data(), got_p.data(), 0};
    ASSERT_EQ(detail::evt21_expand_stateless(BlockIsa::kAvx512, bytes.data(), 4000, legacy, cols), 4000u);
    ASSERT_EQ(cols.n, t.size());
    got_t.resize(cols.n), got_x.resize(cols.n), got_y.resize(cols.n), got_p.resize(cols.n);
    EXPECT_EQ(got_t, t);
    EXPECT_EQ(got_x, x);
    EXPECT_EQ(got_y, y);
    EXPECT_EQ(got_p, p);
  }
}

TEST(BlockDecoders, dat_blocks_equal_the_scalar_loop_on_random_records_with_wraps_and_bad_coordinates) {
  std::mt19937_64 rng(23);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::uint32_t> words;
    std::uint32_t t = static_cast<std::uint32_t>(rng());
    for (int k = 0; k < 3000; ++k) {
      const std::uint32_t r = static_cast<std::uint32_t>(rng() % 1000);
      if (r < 5) {
        t = static_cast<std::uint32_t>(rng());  // anywhere: a wrap when it drops by more than 2^31
      } else if (r < 20) {
        t -= static_cast<std::uint32_t>(rng() % 100);  // a small step back (no wrap)
      } else {
        t += static_cast<std::uint32_t>(rng() % 50);  // may cross 2^32: a wrap
      }
      std::uint32_t word = static_cast<std::uint32_t>(rng());
      if (round % 2 == 0) word &= ~(std::uint32_t{0x3FF} << 4 | std::uint32_t{0x3FF} << 18);  // mostly inside
      words.push_back(t);
      words.push_back(word);
    }
    const Geometry g = round % 3 == 0 ? Geometry{0, 0} : Geometry{300 + static_cast<std::uint32_t>(rng() % 1800),
                                                                  200 + static_cast<std::uint32_t>(rng() % 1900)};
    auto bytes = test::le32_bytes(words);
    if (round % 5 == 4) bytes.erase(bytes.end() - 3, bytes.end());  // a truncated final record
    expect_blocks_match_scalar([&](BlockIsa isa) { return dat(isa, g); }, bytes, {5, 64, 999, 4321});
    const EventFilter f = some_filters(t - (std::int64_t{1} << 31), t)[static_cast<std::size_t>(round) % 4];
    expect_blocks_match_scalar([&](BlockIsa isa) { return dat(isa, g, f); }, bytes, {5, 64, 999, 4321});
  }
}

// On synthetic stand-ins and on the real recordings.
class BlockDecoderFiles : public test::RecordingsTest {
 protected:
  BlockDecoderFiles() : RecordingsTest({"evt2/evt2_sample.raw", "dat/NCARS_obj_004397_td.dat"}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(BlockDecoderFiles);

TEST_P(BlockDecoderFiles, block_decoders_equal_the_scalar_loop_on_recordings) {
  for (const std::string& path : recordings({"evt2/evt2_sample.raw", "dat/NCARS_obj_004397_td.dat"})) {
    const Metadata m = read_metadata(path);
    const auto bytes = test::payload_of(path);
    const Geometry g{m.width, m.height};
    SCOPED_TRACE(path);
    if (m.format == "dat") {
      expect_blocks_match_scalar([&](BlockIsa isa) { return dat(isa, g); }, bytes, {1, 3, 64, 1000, 4097});
    } else {
      expect_blocks_match_scalar([&](BlockIsa isa) { return evt2(isa, g); }, bytes, {1, 3, 64, 1000, 4097});
    }
  }
}

}  // namespace
}  // namespace evlib
