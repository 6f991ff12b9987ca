// `evlib frames`, run as a subprocess: each frame it writes is the library's operation applied to
// the same window of the whole file (clean slicing with the last window included), whatever
// --chunk splits the stream into; the .npy and HDF5 outputs hold the same frames.
#include <gtest/gtest.h>

#if __has_include(<hdf5.h>)
#include <hdf5.h>
#define EVLIB_TEST_HDF5 1
#endif

#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "evlib/formats.hpp"
#include "evlib/ops/event_frame.hpp"
#include "evlib/ops/slicing.hpp"
#include "evlib/ops/stacked_histogram.hpp"
#include "evlib/ops/time_surface.hpp"
#include "evlib/ops/voxel_grid.hpp"
#include "evlib/reader.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }
std::string q(const std::string& s) { return "'" + s + "'"; }

constexpr ops::SensorSize kSensor{40, 30};

std::string scene_file(const test::ScopedTempDir& dir) {
  SceneOptions scene;
  scene.width = kSensor.width;
  scene.height = kSensor.height;
  scene.event_rate = 1e6;
  scene.seed = 11;
  return test::write_scene(dir.file("in.raw"), "evt3", scene, 30000);
}

struct Npy {
  std::string descr;
  std::vector<std::size_t> shape;
  std::vector<std::uint8_t> data;
};

// The parts of a .npy file the frames command writes: descr, shape and the data bytes.
Npy read_npy(const std::string& path) {
  const std::vector<std::uint8_t> bytes = test::read_file(path);
  EXPECT_GE(bytes.size(), 10u);
  EXPECT_EQ(std::memcmp(bytes.data(), "\x93NUMPY\x01\x00", 8), 0);
  const std::size_t header_length = bytes[8] | (bytes[9] << 8);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + static_cast<std::ptrdiff_t>(header_length));
  EXPECT_EQ((10 + header_length) % 64, 0u);
  Npy npy;
  const std::size_t d = header.find("'descr': '") + 10;
  npy.descr = header.substr(d, header.find('\'', d) - d);
  std::size_t at = header.find("'shape': (") + 10;
  while (header[at] != ')') {
    std::size_t used = 0;
    npy.shape.push_back(std::stoull(header.substr(at), &used));
    at += used;
    while (header[at] == ',' || header[at] == ' ') ++at;
  }
  npy.data.assign(bytes.begin() + 10 + static_cast<std::ptrdiff_t>(header_length), bytes.end());
  return npy;
}

template <class T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Runs `evlib frames` and returns what it wrote to OUT.npy.
Npy frames(const test::ScopedTempDir& dir, const std::string& in, const std::string& options) {
  const std::string out = dir.file("out.npy");
  std::string stdout_text, err;
  EXPECT_EQ(test::run_command(cli() + " frames -q --force " + options + " " + q(in) + " " + q(out), &stdout_text, &err), 0)
      << err;
  return read_npy(out);
}

std::vector<ops::IndexRange> time_windows(const EventBatch& all, std::int64_t window_us) {
  return ops::slice_events(all.t(), ops::TimeWindowSlicing{window_us, 0, true, std::nullopt, std::nullopt},
                           ops::SliceConvention::kClean);
}

std::vector<ops::IndexRange> count_windows(const EventBatch& all, std::size_t count) {
  return ops::slice_events(all.t(), ops::EventCountSlicing{count, 0, true}, ops::SliceConvention::kClean);
}

TEST(FramesCommand, histogram_per_time_window_is_event_frames_over_the_clean_windows_whatever_the_chunk) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  const auto windows = time_windows(all, 3000);
  ASSERT_GT(windows.size(), 5u);
  ops::EventFrameOptions options;
  options.sensor = kSensor;
  const std::vector<std::uint8_t> expected = bytes_of(ops::event_frames<std::int16_t>(all, windows, options));
  for (const char* chunk : {"--chunk 777", "--chunk 100000"}) {
    const Npy npy = frames(dir, in, std::string("--repr histogram --window 3ms ") + chunk);
    EXPECT_EQ(npy.descr, "<i2");
    EXPECT_EQ(npy.shape, (std::vector<std::size_t>{windows.size(), 2, kSensor.height, kSensor.width})) << chunk;
    EXPECT_EQ(npy.data, expected) << chunk;
  }
  options.polarities = 1;
  const Npy one = frames(dir, in, "--repr histogram --window 3ms --polarities 1 --dtype float32 --chunk 500");
  EXPECT_EQ(one.descr, "<f4");
  EXPECT_EQ(one.data, bytes_of(ops::event_frames<float>(all, windows, options)));
}

// A window reaching past int64's top: its end wrapped, and `frames` wrote empty windows until
// the disk was full (49.5 GB). It is one window holding every event, as in Python's Pipeline.
TEST(FramesCommand, a_window_reaching_past_the_top_of_int64_is_one_window_of_every_event) {
  test::ScopedTempDir dir;
  const std::string in = dir.file("top.txt");
  std::string text;
  const std::int64_t top = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t t : {top - 1500, top - 10, top}) text += std::to_string(t) + " 1 1 1\n";
  test::write_file(in, {text.begin(), text.end()});
  for (const char* repr : {"histogram --window 1s", "voxel-grid --bins 2 --window 1s", "histogram --count 2"}) {
    std::string err;
    ASSERT_EQ(test::run_command("ulimit -f 10000; " + cli() + " frames -q --force --width 4 --height 4 --time-unit us --repr " +
                                    repr + " " + q(in) + " " + q(dir.file("top.npy")),
                                nullptr, &err),
              0)
        << repr << ": " << err;
    const Npy npy = read_npy(dir.file("top.npy"));
    EXPECT_EQ(npy.shape[0], std::string(repr).find("--count") != std::string::npos ? 2u : 1u) << repr;
  }
}

TEST(FramesCommand, stacked_histogram_per_event_count_is_rvt_histograms_of_the_same_windows) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  const auto windows = count_windows(all, 7000);  // 30000 events: four full windows and a short one
  ASSERT_EQ(windows.size(), 5u);
  ops::StackedHistogramOptions options;
  options.bins = 4;
  options.count_cutoff = 10;
  options.downsample_by_2 = true;
  std::vector<std::uint8_t> expected;
  for (const ops::IndexRange& w : windows) {
    const auto h = ops::stacked_histogram(all.view().slice(w.begin, w.end), kSensor, options);
    expected.insert(expected.end(), h.begin(), h.end());
  }
  for (const char* chunk : {"--chunk 999", "--chunk 30000"}) {
    const Npy npy = frames(dir, in, std::string("--repr stacked-histogram --count 7000 --bins 4 --cutoff 10 --downsample ") + chunk);
    EXPECT_EQ(npy.descr, "|u1");
    EXPECT_EQ(npy.shape, (std::vector<std::size_t>{5, 8, kSensor.height / 2, kSensor.width / 2}));
    EXPECT_EQ(npy.data, expected) << chunk;
  }
}

// A window spread over many chunks and more than one of the command's 65536-event blocks is
// handed over in pieces (stacked histogram), joined (voxel grid, exact counts) or counted as it
// comes (histogram): the frames are still the library's frames of the whole windows.
TEST(FramesCommand, windows_longer_than_a_block_of_the_open_window_give_the_library_frames) {
  const test::ScopedTempDir dir;
  SceneOptions scene;
  scene.width = kSensor.width;
  scene.height = kSensor.height;
  scene.event_rate = 1e6;
  scene.seed = 5;
  const std::string in = test::write_scene(dir.file("long.raw"), "evt3", scene, 400000);
  const EventBatch all = read(in).events;
  const auto windows = time_windows(all, 150000);  // about 150 000 events each: three blocks
  ASSERT_GE(windows.size(), 3u);
  ASSERT_GT(windows.front().end - windows.front().begin, 2u * 65536u);
  for (const bool exact : {false, true}) {
    ops::StackedHistogramOptions options;
    options.bins = 5;
    options.count_cutoff = 200;
    options.fastmode = !exact;
    std::vector<std::uint8_t> expected;
    for (const ops::IndexRange& w : windows) {
      const auto h = ops::stacked_histogram(all.view().slice(w.begin, w.end), kSensor, options);
      expected.insert(expected.end(), h.begin(), h.end());
    }
    const Npy npy = frames(dir, in, std::string("--repr stacked-histogram --window 150ms --bins 5 --cutoff 200 --chunk 4099") +
                                        (exact ? " --exact-counts" : ""));
    EXPECT_EQ(npy.data, expected) << (exact ? "exact counts" : "fast mode");
  }
  ops::VoxelGridOptions voxel;
  voxel.sensor = kSensor;
  voxel.bins = 3;
  std::vector<float> grids;
  for (const ops::IndexRange& w : windows) {
    const auto g = ops::voxel_grid<float>(all.view().slice(w.begin, w.end), voxel);
    grids.insert(grids.end(), g.begin(), g.end());
  }
  EXPECT_EQ(frames(dir, in, "--repr voxel-grid --window 150ms --bins 3 --chunk 4099").data, bytes_of(grids));
  // A histogram counts each chunk's part of the window as it comes (time and count windows).
  ops::EventFrameOptions frame;
  frame.sensor = kSensor;
  EXPECT_EQ(frames(dir, in, "--repr histogram --window 150ms --chunk 4099").data,
            bytes_of(ops::event_frames<std::int16_t>(all, windows, frame)));
  const auto by_count = count_windows(all, 150001);
  EXPECT_EQ(frames(dir, in, "--repr histogram --count 150001 --chunk 4099").data,
            bytes_of(ops::event_frames<std::int16_t>(all, by_count, frame)));
}

TEST(FramesCommand, voxel_grids_in_both_conventions_are_the_library_grids_of_each_window) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  const auto windows = time_windows(all, 2500);
  ops::VoxelGridOptions options;
  options.sensor = kSensor;
  options.bins = 3;
  std::vector<float> e2vid;
  std::vector<double> tonic;
  for (const ops::IndexRange& w : windows) {
    const EventView window = all.view().slice(w.begin, w.end);
    options.convention = ops::VoxelConvention::kE2vid;
    options.normalize = true;
    const auto a = ops::voxel_grid<float>(window, options);
    e2vid.insert(e2vid.end(), a.begin(), a.end());
    options.convention = ops::VoxelConvention::kTonic;
    options.normalize = false;
    const auto b = ops::voxel_grid<double>(window, options);
    tonic.insert(tonic.end(), b.begin(), b.end());
  }
  const Npy a = frames(dir, in, "--repr voxel-grid --window 2500us --bins 3 --normalize --chunk 333");
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.data, bytes_of(e2vid));
  const Npy b = frames(dir, in, "--repr voxel-grid --window 2.5ms --bins 3 --convention tonic --chunk 4096");
  EXPECT_EQ(b.descr, "<f8");
  EXPECT_EQ(b.shape, (std::vector<std::size_t>{windows.size(), 3, kSensor.height, kSensor.width}));
  EXPECT_EQ(b.data, bytes_of(tonic));
}

TEST(FramesCommand, time_surfaces_are_tonics_surfaces_with_dt_the_window) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const EventBatch all = read(in).events;
  ops::HotsOptions options;
  options.sensor = kSensor;
  options.dt_us = 4000;
  options.tau_us = 2000;
  options.include_incomplete = true;
  const std::vector<double> expected = ops::hots_time_surfaces(all, options);
  for (const char* chunk : {"--chunk 512", "--chunk 100000"}) {
    const Npy npy = frames(dir, in, std::string("--repr time-surface --window 4ms --tau 2ms ") + chunk);
    EXPECT_EQ(npy.descr, "<f8");
    EXPECT_EQ(npy.shape[0] * 2 * kSensor.pixels(), expected.size());
    EXPECT_EQ(npy.data, bytes_of(expected)) << chunk;
  }
}

TEST(FramesCommand, filters_run_before_the_windows) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  // Only ON events: the OFF channel of every frame is zero, and the ON channel is unchanged.
  const Npy all = frames(dir, in, "--repr histogram --window 5ms --dtype int32");
  const Npy on = frames(dir, in, "--repr histogram --window 5ms --dtype int32 --polarity 1");
  ASSERT_EQ(all.data.size(), on.data.size());
  const std::size_t plane = kSensor.pixels() * 4;
  for (std::size_t f = 0; f < all.shape[0]; ++f) {
    const auto* off = on.data.data() + f * 2 * plane;
    EXPECT_TRUE(std::all_of(off, off + plane, [](std::uint8_t b) { return b == 0; }));
    EXPECT_EQ(std::memcmp(on.data.data() + f * 2 * plane + plane, all.data.data() + f * 2 * plane + plane, plane), 0);
  }
}

#ifdef EVLIB_TEST_HDF5
TEST(FramesCommand, hdf5_output_holds_the_same_frames_and_the_window_bounds) {
  if (!format_info("hdf5")->writable) GTEST_SKIP() << "built without HDF5 (EVLIB_WITH_HDF5=OFF)";
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const Npy npy = frames(dir, in, "--repr histogram --window 3ms --dtype uint16");
  const std::string out = dir.file("out.h5");
  std::string stdout_text, err;
  ASSERT_EQ(test::run_command(cli() + " frames -q --repr histogram --window 3ms --dtype uint16 --compression gzip --chunk 1000 " +
                                  q(in) + " " + q(out), &stdout_text, &err), 0) << err;
  const hid_t file = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t ds = H5Dopen2(file, "frames", H5P_DEFAULT);
  const hid_t space = H5Dget_space(ds);
  hsize_t dims[4] = {};
  ASSERT_EQ(H5Sget_simple_extent_ndims(space), 4);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  EXPECT_EQ(std::vector<std::size_t>(dims, dims + 4), npy.shape);
  std::vector<std::uint8_t> data(npy.data.size());
  EXPECT_GE(H5Dread(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
  EXPECT_EQ(data, npy.data);
  const hid_t begins = H5Dopen2(file, "frames_t_begin", H5P_DEFAULT);
  std::vector<std::int64_t> t_begin(dims[0]);
  EXPECT_GE(H5Dread(begins, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t_begin.data()), 0);
  const EventBatch events = read(in).events;
  for (std::size_t k = 0; k < t_begin.size(); ++k) EXPECT_EQ(t_begin[k], events.t()[0] + static_cast<std::int64_t>(k) * 3000);
  H5Dclose(begins);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
}
#endif

TEST(FramesCommand, refuses_bad_requests_in_one_line_and_leaves_no_file) {
  const test::ScopedTempDir dir;
  const std::string in = scene_file(dir);
  const std::string out = dir.file("refused.npy");
  std::string stdout_text, err;
  // Wrong or missing options are usage errors: exit 64, as the help says (they exited 1).
  EXPECT_EQ(test::run_command(cli() + " frames --repr time-surface --count 100 " + q(in) + " " + q(out), &stdout_text, &err), 64);
  EXPECT_NE(err.find("needs --window"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " frames --repr stacked-histogram --window 1ms --dtype int16 " + q(in) + " " + q(out),
                              &stdout_text, &err), 64);
  EXPECT_NE(err.find("uint8 only"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " frames --repr histogram " + q(in) + " " + q(out), &stdout_text, &err), 64);
  // Another representation's option is refused, not ignored (--bins with histogram wrote a plain histogram).
  EXPECT_EQ(test::run_command(cli() + " frames --repr histogram --window 1ms --bins 5 " + q(in) + " " + q(out), &stdout_text, &err), 64);
  EXPECT_NE(err.find("--bins: applies to --repr stacked-histogram or voxel-grid, not histogram"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " frames --repr voxel-grid --window 1ms --wrap " + q(in) + " " + q(out), &stdout_text, &err), 64);
  EXPECT_EQ(test::run_command(cli() + " frames --repr histogram --window 0 " + q(in) + " " + q(out), &stdout_text, &err), 64);
  EXPECT_NE(err.find("--window: must be a positive time"), std::string::npos) << err;
  // Times are whole microseconds (1.5us was rounded to 2 µs, 0.4us to 0), in every option.
  for (const char* option : {"--window 1.5us", "--window 0.0000004s", "--window 1ms --stcf 2:1.5us", "--count 9 --refractory 2.5us"}) {
    EXPECT_EQ(test::run_command(cli() + " frames --repr histogram " + option + " " + q(in) + " " + q(out), &stdout_text, &err), 64)
        << option;
    EXPECT_NE(err.find("not a whole number of microseconds"), std::string::npos) << option << ": " << err;
  }
  EXPECT_FALSE(test::file_exists(out));
  test::write_file(out, {1, 2, 3});
  EXPECT_EQ(test::run_command(cli() + " frames -q --repr histogram --count 10 " + q(in) + " " + q(out), &stdout_text, &err), 2);
  EXPECT_EQ(test::read_file(out), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(test::list_dir(dir.path()).size(), 2u) << "a temporary file was left behind";
}

}  // namespace
}  // namespace evlib
