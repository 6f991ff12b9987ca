// The filter options of `evlib convert` and `evlib dump` (--hot-pixels, --refractory, --denoise
// baf and fast-decay, --stcf), run as a subprocess: the events they keep are those of the C++ kernels applied to the
// whole file in the same order, whatever --chunk splits the stream into.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/fast_decay.hpp"
#include "evlib/ops/hot_pixels.hpp"
#include "evlib/ops/refractory.hpp"
#include "evlib/ops/stcf.hpp"
#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

constexpr ops::SensorSize kSensor{64, 48};

// A dense scene on a small sensor, so that every filter drops some events and keeps others.
std::string scene_file(const test::ScopedTempDir& dir, const std::string& format = "evt3") {
  SceneOptions scene;
  scene.width = kSensor.width;
  scene.height = kSensor.height;
  scene.event_rate = 1e6;
  scene.seed = 7;
  return test::write_scene(dir.file(format == "evt3" ? "in.raw" : "in." + format), format, scene, 40000);
}

template <class Filter>
EventBatch keep_of(Filter& filter, const EventBatch& events) {
  std::vector<std::uint8_t> keep(events.size());
  filter.apply(events, keep);
  return ops::select_events(events, keep);
}

// The CLI's order: hot pixels, refractory, background activity, STCF.
struct Expected {
  std::vector<std::uint8_t> hot_mask;  // empty: no --hot-pixels
  std::optional<ops::RefractoryFilter> refractory;
  std::optional<ops::BackgroundActivityFilter> denoise;
  std::optional<ops::FastDecayFilter> fast_decay;  // the other --denoise
  std::optional<ops::StcfFilter> stcf;

  EventBatch apply(EventBatch events) {
    if (!hot_mask.empty()) {
      const ops::PixelMaskFilter mask(kSensor, hot_mask);
      events = keep_of(mask, events);
    }
    if (refractory) events = keep_of(*refractory, events);
    if (denoise) events = keep_of(*denoise, events);
    if (fast_decay) events = keep_of(*fast_decay, events);
    if (stcf) events = keep_of(*stcf, events);
    return events;
  }
};

// Converts with the given options to .npy and returns the digest of what was written.
std::string converted_digest(const test::ScopedTempDir& dir, const std::string& in, const std::string& options) {
  const std::string out = dir.file("out.npy");
  std::string stdout_text, err;
  EXPECT_EQ(test::run_command(cli() + " convert -q --force " + options + " " + q(in) + " " + q(out), &stdout_text, &err), 0) << err;
  return digest(read(out).events);
}

ops::StcfOptions stcf_options(int k, std::int64_t us) {
  ops::StcfOptions o;
  o.min_correlated = k;
  o.correlation_time_us = us;
  return o;
}

TEST(FilterOptions, convert_keeps_what_the_kernels_keep_over_the_whole_file_whatever_the_chunk) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;

  ops::PixelCounter counter(kSensor);
  counter.add(all);
  Expected e;
  e.hot_mask = ops::hot_pixels_by_percentile(counter, 99.0);
  e.refractory.emplace(kSensor, 1000, ops::RefractoryConvention::kFirstKept);
  e.denoise.emplace(kSensor, 2000, ops::BackgroundActivityConvention::kDvProcessing);
  e.stcf.emplace(kSensor, stcf_options(2, 2000));
  const EventBatch kept = e.apply(all);
  ASSERT_GT(kept.size(), 0u);
  ASSERT_LT(kept.size(), all.size()) << "the filters drop events of this scene";

  const std::string filters = "--hot-pixels percentile:99 --refractory 1ms --denoise baf:2ms --stcf 2:2ms";
  EXPECT_EQ(converted_digest(dir, in, filters), digest(kept));
  EXPECT_EQ(converted_digest(dir, in, filters + " --chunk 1000"), digest(kept));
  EXPECT_EQ(converted_digest(dir, in, filters + " --chunk 777"), digest(kept));
}

struct OneFilter {
  std::string option;
  std::function<Expected()> expected;
};

// The STCF kernel with these options as the expected filter.
std::function<Expected()> stcf_expected(ops::StcfOptions o, bool jaer_border = false, bool polarities_must_match = false,
                                        std::optional<std::int64_t> shot_noise_time_us = std::nullopt) {
  o.jaer_border = jaer_border;
  o.polarities_must_match = polarities_must_match;
  o.shot_noise_time_us = shot_noise_time_us;
  return [o] {
    Expected e;
    e.stcf.emplace(kSensor, o);
    return e;
  };
}

TEST(FilterOptions, each_convention_matches_its_kernel_at_any_chunk_size) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  ops::PixelCounter counter(kSensor);
  counter.add(all);
  const std::vector<OneFilter> cases = {
      {"--refractory 1ms:tonic", [] { Expected e; e.refractory.emplace(kSensor, 1000, ops::RefractoryConvention::kTonic); return e; }},
      {"--refractory 500us:dv", [] { Expected e; e.refractory.emplace(kSensor, 500, ops::RefractoryConvention::kDvProcessing); return e; }},
      {"--refractory 2ms:evlib", [] { Expected e; e.refractory.emplace(kSensor, 2000, ops::RefractoryConvention::kFirstKept); return e; }},
      {"--denoise baf:1ms:jaer", [] { Expected e; e.denoise.emplace(kSensor, 1000, ops::BackgroundActivityConvention::kJaer); return e; }},
      {"--denoise baf:3ms:tonic", [] { Expected e; e.denoise.emplace(kSensor, 3000, ops::BackgroundActivityConvention::kTonicDenoise); return e; }},
      {"--denoise baf:2ms:dv", [] { Expected e; e.denoise.emplace(kSensor, 2000, ops::BackgroundActivityConvention::kDvProcessing); return e; }},
      {"--denoise fast-decay", [] { Expected e; e.fast_decay.emplace(ops::FastDecayOptions{.sensor = kSensor}); return e; }},
      {"--denoise fast-decay:noise_threshold=2.5:half_life=3ms:subdivision_factor=2",
       [] {
         Expected e;
         e.fast_decay.emplace(ops::FastDecayOptions{.sensor = kSensor, .half_life_us = 3000, .subdivision = 2, .noise_threshold = 2.5f});
         return e;
       }},
      {"--stcf 3:5ms", stcf_expected(stcf_options(3, 5000))},
      {"--stcf 3:5ms:jaer", stcf_expected(stcf_options(3, 5000), true)},
      {"--stcf 2:5ms:polarity:jaer", stcf_expected(stcf_options(2, 5000), true, true)},
      {"--stcf 1:5ms:shot=2ms", stcf_expected(stcf_options(1, 5000), false, false, 2000)},
      {"--stcf 2:5ms:jaer:polarity:shot", stcf_expected(stcf_options(2, 5000), true, true, 1000)},
      {"--hot-pixels rate:1000", [&] { Expected e; e.hot_mask = ops::hot_pixels_by_rate(counter, 1000); return e; }},
  };
  for (const OneFilter& c : cases) {
    const std::string want = digest(c.expected().apply(all));
    EXPECT_NE(want, digest(all)) << c.option << " drops some events of this scene";
    EXPECT_EQ(converted_digest(dir, in, c.option + " --chunk 1000"), want) << c.option;
    EXPECT_EQ(converted_digest(dir, in, c.option), want) << c.option;
  }
}

// A 2-D .npy of uint8 (height, width).
void write_mask_npy(const std::string& path, const std::vector<std::uint8_t>& mask) {
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(kSensor.height) + ", " +
                       std::to_string(kSensor.width) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<std::uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(header.size()),
                                     static_cast<std::uint8_t>(header.size() >> 8)};
  for (const char c : header) bytes.push_back(static_cast<std::uint8_t>(c));  // (insert: a false -Wstringop-overread)
  bytes.insert(bytes.end(), mask.begin(), mask.end());
  test::write_file(path, bytes);
}

TEST(FilterOptions, convert_says_how_many_events_the_filters_kept) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  Expected e;
  e.refractory.emplace(kSensor, 1000, ops::RefractoryConvention::kFirstKept);
  const EventBatch kept = e.apply(all);
  std::string out, err;
  ASSERT_EQ(test::run_command(cli() + " convert --refractory 1ms " + q(in) + " " + q(dir.file("out.npy")), &out, &err), 0) << err;
  EXPECT_NE(out.find("filters kept " + std::to_string(kept.size()) + " of " + std::to_string(all.size()) + " events\n"),
            std::string::npos)
      << out;
}

TEST(FilterOptions, a_mask_file_drops_the_pixels_it_flags) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  std::vector<std::uint8_t> mask(kSensor.pixels());
  for (std::size_t i = 0; i < mask.size(); i += 3) mask[i] = 1;
  write_mask_npy(dir.file("mask.npy"), mask);
  Expected e;
  e.hot_mask = mask;
  const std::string want = digest(e.apply(all));
  EXPECT_NE(want, digest(all));
  EXPECT_EQ(converted_digest(dir, in, "--hot-pixels mask:" + q(dir.file("mask.npy"))), want);
}

TEST(FilterOptions, a_mask_of_another_shape_is_refused_in_one_line) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  write_mask_npy(dir.file("mask.npy"), std::vector<std::uint8_t>(kSensor.pixels()));
  std::string out, err;
  EXPECT_NE(test::run_command(cli() + " convert -q --width 65 --height 48 --hot-pixels mask:" + q(dir.file("mask.npy")) + " " + q(in) +
                                  " " + q(dir.file("out.npy")),
                              &out, &err),
            0);
  EXPECT_NE(err.find("mask.npy"), std::string::npos) << err;
  EXPECT_NE(err.find("(48, 65)"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(FilterOptions, dump_prints_the_events_the_kernels_keep_whatever_the_chunk) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  for (const std::string denoise : {"baf:2ms:jaer", "fast-decay:half_life=2ms:noise_threshold=3"}) {
    Expected e;
    e.refractory.emplace(kSensor, 1000, ops::RefractoryConvention::kTonic);
    if (denoise[0] == 'b') e.denoise.emplace(kSensor, 2000, ops::BackgroundActivityConvention::kJaer);
    else e.fast_decay.emplace(ops::FastDecayOptions{.sensor = kSensor, .half_life_us = 2000, .noise_threshold = 3.f});
    const EventBatch kept = e.apply(read(in).events);
    ASSERT_GT(kept.size(), 0u) << denoise;
    std::string want = "t,x,y,p\n";
    for (std::size_t i = 0; i < kept.size(); ++i) {
      want += std::to_string(kept.t()[i]) + "," + std::to_string(kept.x()[i]) + "," + std::to_string(kept.y()[i]) + "," +
              std::to_string(kept.p()[i]) + "\n";
    }
    for (const std::string chunk : {"", " --chunk 1000"}) {
      std::string out, err;
      ASSERT_EQ(test::run_command(cli() + " dump -q --csv --refractory 1ms:tonic --denoise " + denoise + chunk + " " + q(in), &out, &err),
                0)
          << err;
      EXPECT_EQ(out, want) << denoise << chunk;
    }
  }
}

TEST(FilterOptions, a_file_without_geometry_is_filtered_on_the_sensor_its_events_span) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir, "npy");
  const EventBatch all = read(in).events;
  ASSERT_EQ(read(in).metadata->width, 0u) << "a .npy states no geometry";
  std::uint32_t w = 0, h = 0;
  for (auto x : all.x()) w = std::max<std::uint32_t>(w, x + 1u);
  for (auto y : all.y()) h = std::max<std::uint32_t>(h, y + 1u);
  ops::BackgroundActivityFilter baf({w, h}, 2000, ops::BackgroundActivityConvention::kDvProcessing);
  EXPECT_EQ(converted_digest(dir, in, "--denoise baf:2ms --chunk 1000"), digest(keep_of(baf, all)));
}

TEST(FilterOptions, a_malformed_spec_is_a_one_line_usage_error) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  for (const std::string bad : {"--refractory 1ms:fast", "--refractory -1ms", "--refractory 0", "--denoise 2ms", "--denoise baf:2ms:x",
                                "--denoise fast-decay:half_life=0", "--denoise fast-decay:speed=2", "--denoise fast-decay:half_life",
                                "--denoise fast-decay:subdivision_factor=1.5", "--denoise fast-decay:noise_threshold=-1",
                                "--denoise fast-decay:subdivision_factor=0", "--denoise fast_decay",
                                "--stcf 0:2ms", "--stcf 10:2ms", "--stcf 2", "--stcf 2:2ms:tonic", "--stcf 2:2ms:jaer:jaer", "--stcf 2:2ms:shot:shot=1ms", "--stcf 2:2ms:shot=-1ms", "--stcf 2:2ms:shot=x", "--hot-pixels rate:", "--hot-pixels percentile:101",
                                "--hot-pixels percentile:nan", "--hot-pixels top:5", "--hot-pixels mask:"}) {
    for (const std::string command : {"dump", "convert"}) {
      std::string out, err;
      const std::string output = command == "convert" ? " " + q(dir.file("bad.npy")) : "";
      EXPECT_EQ(test::run_command(cli() + " " + command + " -q " + bad + " " + q(in) + output, &out, &err), 64) << bad << ": " << err;
      EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << bad << ": " << err;
      EXPECT_NE(err.find(bad.substr(0, bad.find(' '))), std::string::npos) << bad << ": " << err;
    }
  }
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";

class FilterOptionsOnRecordings : public test::RecordingsTest {
 protected:
  FilterOptionsOnRecordings() : RecordingsTest({kEvt3, kEvt2}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(FilterOptionsOnRecordings);

TEST_P(FilterOptionsOnRecordings, every_filter_gives_the_kernels_result_at_chunk_1000_and_by_default) {
  const test::ScopedTempDir dir;
  for (const std::string& in : recordings({kEvt3, kEvt2})) {
    const Recording rec = read(in);
    const ops::SensorSize sensor{rec.metadata->width, rec.metadata->height};
    ops::PixelCounter counter(sensor);
    counter.add(rec.events);
    ops::PixelMaskFilter hot(sensor, ops::hot_pixels_by_percentile(counter, 99.9));
    ops::RefractoryFilter refractory(sensor, 1000, ops::RefractoryConvention::kFirstKept);
    ops::BackgroundActivityFilter baf(sensor, 2000, ops::BackgroundActivityConvention::kDvProcessing);
    ops::StcfFilter stcf(sensor, stcf_options(2, 2000));
    EventBatch kept = keep_of(hot, rec.events);
    kept = keep_of(refractory, kept);
    kept = keep_of(baf, kept);
    kept = keep_of(stcf, kept);
    const std::string filters = "--hot-pixels percentile:99.9 --refractory 1ms --denoise baf:2ms --stcf 2:2ms";
    EXPECT_EQ(converted_digest(dir, in, filters + " --chunk 1000"), digest(kept)) << in;
    EXPECT_EQ(converted_digest(dir, in, filters), digest(kept)) << in;
  }
}

}  // namespace
}  // namespace evlib
