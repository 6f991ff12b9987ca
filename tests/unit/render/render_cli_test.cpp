// `evlib render` run as a subprocess: the PNG it writes, decoded with libpng, against the frame
// the generator makes in memory from the same file; usage errors and their exit codes.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "evlib/render/frame_generator.hpp"
#include "evlib/render/png_image.hpp"
#include "evlib/render/video_writer.hpp"
#include "evlib/scan.hpp"
#include "support/test_support.hpp"

namespace evlib::render {
namespace {

std::string cli() { return std::string("'") + EVLIB_CLI + "'"; }

class RenderCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    file_ = new std::string(*dir_ + "/scene.raw");
    std::string err;
    ASSERT_EQ(test::run_command(cli() + " generate -q -n 300000 --rate 5e6 --width 320 --height 240 '" + *file_ + "'",
                                nullptr, &err),
              0)
        << err;
  }
  static std::string* dir_;
  static std::string* file_;
};
std::string* RenderCli::dir_ = nullptr;
std::string* RenderCli::file_ = nullptr;

TEST_F(RenderCli, an_end_far_past_the_recording_is_refused_from_the_time_index_before_rendering) {
  const std::string file = *dir_ + "/indexed.raw", out = *dir_ + "/far.mp4";
  std::filesystem::copy_file(*file_, file, std::filesystem::copy_options::overwrite_existing);
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " info '" + file + "'", nullptr, &err), 0) << err;  // builds the index
  ASSERT_EQ(test::run_command(cli() + " render -q '" + file + "' '" + out + "' --to 1000000s", nullptr, &err), 1);
  EXPECT_NE(err.find("by its time index"), std::string::npos) << err;
  // Without the index, the same end is refused after the events' frames, by the last event.
  ASSERT_EQ(test::run_command(cli() + " render -q --no-index '" + file + "' '" + out + "' --to 1000000s", nullptr, &err), 1);
  EXPECT_NE(err.find("after the last event at"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(RenderCli, the_png_at_a_time_is_the_frame_made_in_memory) {
  const std::string out = *dir_ + "/at.png";
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " render -q --force '" + *file_ + "' '" + out +
                                  "' --at 40ms --accumulate 7ms --mode counts --palette cool-warm",
                              nullptr, &err),
            0)
      << err;
  const RgbImage png = read_png(out);
  RenderOptions o;
  o.mode.mode = Mode::kCounts;
  o.mode.palette = palette_by_name("cool-warm");
  o.accumulate_us = 7'000;
  o.from_us = 33'000;
  o.to_us = 40'000;
  o.fps = 1e6 / 7'000;
  BatchStream chunks = scan(*file_).time(33'000, 40'000).chunks();
  FrameGenerator generator(
      [&]() -> std::optional<EventBatch> {
        auto c = chunks.next();
        if (!c) return std::nullopt;
        return std::move(c->events);
      },
      {320, 240}, o);
  const Frame* f = generator.next();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->t_us, 40'000);
  EXPECT_GT(f->events, 1000u);
  EXPECT_EQ(png.width, 320u);
  EXPECT_EQ(png.height, 240u);
  EXPECT_TRUE(std::equal(png.rgb.begin(), png.rgb.end(), f->rgb.begin(), f->rgb.end()));
  EXPECT_EQ(generator.next(), nullptr);
}

TEST_F(RenderCli, a_pattern_gets_one_file_per_frame) {
  const std::string sub = *dir_ + "/frames";
  ASSERT_EQ(test::run_command("mkdir -p '" + sub + "'"), 0);
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/f_%03d.png' --fps 100", nullptr, &err), 0)
      << err;
  // 300 000 events at 5 M events/s: 60 ms, 6 slices of 10 ms.
  std::vector<std::string> names = test::list_dir(sub);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"f_000.png", "f_001.png", "f_002.png", "f_003.png",
                                                           "f_004.png", "f_005.png"}));
  // Existing frames are not replaced without --force.
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/f_%03d.png' --fps 100", nullptr, &err), 2);
  EXPECT_NE(err.find("exists"), std::string::npos) << err;
}

TEST_F(RenderCli, a_time_without_events_is_a_background_frame) {
  const std::string out = *dir_ + "/late.png";
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + out + "' --at 100s --palette dv", nullptr, &err), 0)
      << err;
  const RgbImage png = read_png(out);
  EXPECT_TRUE(std::all_of(png.rgb.begin(), png.rgb.end(), [](std::uint8_t v) { return v == 255; }));
}

TEST_F(RenderCli, crf_sets_the_video_quality_and_stops_at_51) {
  if (!video_available()) GTEST_SKIP() << "built without FFmpeg's libraries";
  auto bytes = [&](const std::string& name, const std::string& options) -> std::uintmax_t {
    const std::string out = *dir_ + "/" + name;
    std::string err;
    EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + out + "' --fps 100 --preset ultrafast " + options,
                                nullptr, &err),
              0)
        << err;
    return std::filesystem::exists(out) ? std::filesystem::file_size(out) : 0;
  };
  const auto fine = bytes("fine.mp4", "--crf 5");
  const auto coarse = bytes("coarse.mp4", "--crf 45");
  EXPECT_LT(coarse * 2, fine);
  EXPECT_GT(coarse, 0u);
  EXPECT_NEAR(double(bytes("settings.mp4", "--x264-params crf=45")), double(coarse), 0.2 * double(coarse));
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' '" + *dir_ + "/no.mp4' --crf 52", nullptr, &err), 64);
  EXPECT_NE(err.find("crf"), std::string::npos) << err;
}

TEST_F(RenderCli, wrong_requests_fail_with_one_line_and_the_documented_code) {
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' x.png --palette rainbow", nullptr, &err), 64);
  EXPECT_NE(err.find("unknown palette"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' x.png --mode blur", nullptr, &err), 64);
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' x.png --colors 1,2,3", nullptr, &err), 64);
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' '" + *dir_ + "/x.png'", nullptr, &err), 64);
  EXPECT_NE(err.find("needs --at"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' '" + *dir_ + "/x.bmp' --at 1ms", nullptr, &err), 64);
  EXPECT_NE(err.find("unknown output type"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' '" + *dir_ + "/x.png' --at 10ms --from 1ms", nullptr, &err), 64);
  EXPECT_EQ(test::run_command(cli() + " render '" + *dir_ + "/missing.raw' '" + *dir_ + "/y.png' --at 1ms", nullptr, &err), 2);
  for (const std::string& name : test::list_dir(*dir_)) EXPECT_EQ(name.find(".evlib-tmp"), std::string::npos) << name;
}

TEST_F(RenderCli, options_that_do_not_apply_together_are_usage_errors) {
  const std::string out = "'" + *dir_ + "/unused.png'";
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' " + out + " --at 10ms --fps 50", nullptr, &err), 64);
  EXPECT_NE(err.find("--fps and --speed do not apply"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' " + out + " --at 10ms --colors 000000,ffffff,0000ff --palette dv",
                              nullptr, &err),
            64);
  EXPECT_EQ(test::run_command(cli() + " render '" + *file_ + "' '" + *dir_ + "/f_%03d.png' --from 30ms --to 20ms", nullptr, &err), 64);
  EXPECT_NE(err.find("before or where it starts"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render --bench '" + *file_ + "' " + out, nullptr, &err), 64);
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/unused.png"));
}

TEST_F(RenderCli, a_pattern_names_png_files_and_is_refused_before_writing_when_one_of_its_frames_exists) {
  const std::string sub = *dir_ + "/pattern";
  ASSERT_EQ(test::run_command("mkdir -p '" + sub + "'"), 0);
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/v_%03d.mp4' --fps 100", nullptr, &err), 64);
  EXPECT_NE(err.find("must end in .png"), std::string::npos) << err;
  EXPECT_TRUE(test::list_dir(sub).empty());
  // The fifth of six frames exists: nothing is written, not the four before it.
  ASSERT_EQ(test::run_command("touch '" + sub + "/f_004.png'"), 0);
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/f_%03d.png' --fps 100", nullptr, &err), 2);
  EXPECT_NE(err.find("f_004.png: file exists"), std::string::npos) << err;
  EXPECT_EQ(test::list_dir(sub), std::vector<std::string>{"f_004.png"});
  // A number in a directory name: the check looks at frame 0 only, and the frames are written
  // without replacing, so a later frame's existing file stops the render and stays as it was.
  ASSERT_EQ(test::run_command("mkdir -p '" + sub + "/d0' '" + sub + "/d1' && echo kept > '" + sub + "/d1/f.png'"), 0);
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/d%d/f.png' --fps 100", nullptr, &err), 2);
  EXPECT_NE(err.find("d1/f.png: file exists"), std::string::npos) << err;
  std::string kept;
  ASSERT_EQ(test::run_command("cat '" + sub + "/d1/f.png'", &kept), 0);
  EXPECT_EQ(kept, "kept\n");
  ASSERT_EQ(test::run_command("rm -r '" + sub + "/d0' '" + sub + "/d1'"), 0);
  // A name that only looks like a frame is no frame: blanks or digits, then the suffix.
  ASSERT_EQ(test::run_command("rm '" + sub + "/f_004.png' && touch '" + sub + "/f_x04.png' '" + sub + "/f_004.png.bak'"), 0);
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + sub + "/f_%03d.png' --fps 100", nullptr, &err), 0) << err;
  EXPECT_EQ(test::list_dir(sub).size(), 8u);
}

TEST_F(RenderCli, a_render_without_frames_leaves_no_video_and_keeps_the_one_it_was_to_replace) {
  if (!video_available()) GTEST_SKIP() << "built without FFmpeg's libraries";
  for (const char* name : {"kept.mp4", "kept.avi", "kept.gif"}) {
    const std::string out = *dir_ + "/" + name;
    std::string err;
    ASSERT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + out + "' --fps 50", nullptr, &err), 0) << err;
    const auto size = std::filesystem::file_size(out);
    const auto written = std::filesystem::last_write_time(out);
    EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + out + "' --from 100s --force", nullptr, &err), 1);
    EXPECT_NE(err.find("no events to render (none selected by --from)"), std::string::npos) << err;
    EXPECT_EQ(std::filesystem::file_size(out), size) << name;
    EXPECT_EQ(std::filesystem::last_write_time(out), written) << name;
    const std::string fresh = *dir_ + "/none_" + name;
    EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + fresh + "' --to -1s", nullptr, &err), 1);
    EXPECT_FALSE(std::filesystem::exists(fresh)) << fresh;
    // The message names what selected no events (it blamed "the time window" for a region too).
    EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + fresh + "' --roi 65535,65535,65536,65536 --polarity 1",
                                nullptr, &err),
              1);
    EXPECT_NE(err.find("no events to render (none selected by --roi, --polarity)"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(fresh)) << fresh;
  }
  for (const std::string& name : test::list_dir(*dir_)) EXPECT_EQ(name.find(".evlib-tmp"), std::string::npos) << name;
}

TEST_F(RenderCli, a_file_without_a_sensor_size_is_drawn_at_the_extent_of_all_its_events) {
  // .npy states no size: the whole file's extent (as `evlib info`), not the region's or window's.
  const std::string npy = *dir_ + "/sizeless.npy", out = *dir_ + "/sizeless.png";
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q -n 2000 --width 50 --height 40 '" + npy + "'", nullptr, &err), 0) << err;
  ASSERT_EQ(test::run_command(cli() + " render -q '" + npy + "' '" + out + "' --at 100us --roi 0,0,10,10", nullptr, &err), 0)
      << err;
  const RgbImage png = read_png(out);
  EXPECT_EQ(png.width, 50u);
  EXPECT_EQ(png.height, 40u);
}

// What needs a second pass over the input (--at's time index, a sensor size from the events) is
// refused on a pipe, in one line, instead of opening it again and waiting for a writer forever;
// a render in one pass reads it.
TEST_F(RenderCli, a_pipe_is_rendered_in_one_pass_or_refused_where_it_would_be_read_twice) {
  const std::string fifo = *dir_ + "/pipe.raw", text_fifo = *dir_ + "/pipe.txt";
  std::filesystem::remove(fifo);
  std::filesystem::remove(text_fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ASSERT_EQ(::mkfifo(text_fifo.c_str(), 0644), 0);
  const auto through_pipe = [&](const std::string& source, const std::string& pipe, const std::string& args, std::string* err) {
    // The writer is ended by timeout when evlib refuses without reading.
    return test::run_command("(timeout 20 cat '" + source + "' > '" + pipe + "' &) ; timeout 30 " + cli() + " render -q --force '" +
                                 pipe + "' " + args,
                             nullptr, err);
  };
  std::string err;
  EXPECT_EQ(through_pipe(*file_, fifo, "'" + *dir_ + "/piped.png' --at 10ms", &err), 64);
  EXPECT_NE(err.find("--at: " + fifo + " is not a regular file"), std::string::npos) << err;
  const std::string text = *dir_ + "/two.txt";
  const std::string lines = "0 0 0 1\n100 1 1 0\n";
  test::write_file(text, std::vector<std::uint8_t>(lines.begin(), lines.end()));
  EXPECT_EQ(through_pipe(text, text_fifo, "'" + *dir_ + "/piped.gif'", &err), 1);
  EXPECT_NE(err.find("cannot be read twice to infer it"), std::string::npos) << err;
  EXPECT_EQ(through_pipe(text, text_fifo, "'" + *dir_ + "/piped.gif' --width 4 --height 4", &err), 0) << err;
  EXPECT_EQ(through_pipe(*file_, fifo, "'" + *dir_ + "/piped_%03d.png' --to 20ms", &err), 0) << err;
  EXPECT_TRUE(std::filesystem::exists(*dir_ + "/piped_000.png"));
}

// --force replaces an old output, never the recording: the input under another name, through a
// symlink, or as one of a pattern's frames is refused.
TEST_F(RenderCli, the_input_itself_is_never_an_output_even_with_force) {
  const std::string as_video = *dir_ + "/recording.mp4", link = *dir_ + "/link.gif", as_frame = *dir_ + "/f00000.png";
  std::filesystem::copy_file(*file_, as_video, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(*file_, as_frame, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(link);
  std::filesystem::create_symlink(as_video, link);
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render -q --force '" + as_video + "' '" + as_video + "'", nullptr, &err), 2);
  EXPECT_NE(err.find("is the input"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render -q --force '" + as_video + "' '" + link + "'", nullptr, &err), 2);
  EXPECT_EQ(test::run_command(cli() + " render -q --force '" + as_frame + "' '" + *dir_ + "/f%05d.png'", nullptr, &err), 2);
  EXPECT_NE(err.find("is the input"), std::string::npos) << err;
  EXPECT_EQ(test::read_file(as_video), test::read_file(*file_));
  EXPECT_EQ(test::read_file(as_frame), test::read_file(*file_));
}

TEST_F(RenderCli, a_frame_rate_the_container_cannot_hold_is_refused_before_writing) {
  if (!video_available()) GTEST_SKIP() << "built without FFmpeg's libraries";
  std::string err;
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + *dir_ + "/fast.gif' --fps 120", nullptr, &err), 64);
  EXPECT_NE(err.find("at most 100 frames a second"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + *dir_ + "/fast.avi' --fps 2000", nullptr, &err), 64);
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/fast.gif"));
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/fast.avi"));
  EXPECT_EQ(test::run_command(cli() + " render -q '" + *file_ + "' '" + *dir_ + "/fast.gif' --fps 100", nullptr, &err), 0) << err;
}

TEST_F(RenderCli, in_a_decay_mode_the_png_at_a_time_is_the_videos_frame_ending_then) {
  // The decay modes' pictures depend on every earlier event (and exp-decay's on the frames
  // before, through the synchronous decay): --at renders the frames from the start.
  const std::string sub = *dir_ + "/decay";
  ASSERT_EQ(test::run_command("mkdir -p '" + sub + "'"), 0);
  for (const char* mode : {"time-decay", "exp-decay", "linear-decay"}) {
    std::string err;
    ASSERT_EQ(test::run_command(cli() + " render -q --force '" + *file_ + "' '" + sub + "/f_%03d.png' --fps 100 --mode " + mode,
                                nullptr, &err),
              0)
        << err;
    ASSERT_EQ(test::run_command(cli() + " render -q --force '" + *file_ + "' '" + sub + "/at.png' --at 40ms --fps 100 --mode " + mode,
                                nullptr, &err),
              0)
        << err;
    // The file's events start at 0: frame 3 ends at 40 ms.
    const RgbImage at = read_png(sub + "/at.png"), frame = read_png(sub + "/f_003.png");
    EXPECT_EQ(at.rgb, frame.rgb) << mode;
    EXPECT_NE(frame.rgb, read_png(sub + "/f_002.png").rgb) << mode;
  }
}

}  // namespace
}  // namespace evlib::render
