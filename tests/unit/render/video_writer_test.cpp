// Videos decoded back with FFmpeg's libraries: frame count, size, frame times, and PSNR against
// the frames given (lossy codecs). Built only with EVLIB_WITH_VIDEO (tests/CMakeLists.txt).
#include "evlib/render/video_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "evlib/error.hpp"
#include "support/test_support.hpp"
#include "unit/render/render_test_support.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

namespace evlib::render {
namespace {

struct Decoded {
  int width = 0, height = 0;
  std::vector<double> times;  // seconds
  std::vector<std::vector<std::uint8_t>> rgb;
};

Decoded decode(const std::string& path) {
  Decoded out;
  AVFormatContext* format = nullptr;
  EXPECT_EQ(avformat_open_input(&format, path.c_str(), nullptr, nullptr), 0);
  EXPECT_GE(avformat_find_stream_info(format, nullptr), 0);
  const AVCodec* codec = nullptr;
  const int index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  EXPECT_GE(index, 0);
  AVStream* stream = format->streams[index];
  AVCodecContext* context = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(context, stream->codecpar);
  EXPECT_EQ(avcodec_open2(context, codec, nullptr), 0);
  out.width = context->width;
  out.height = context->height;
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  SwsContext* to_rgb = nullptr;
  auto take = [&] {
    while (avcodec_receive_frame(context, frame) == 0) {
      out.times.push_back(double(frame->best_effort_timestamp) * av_q2d(stream->time_base));
      to_rgb = sws_getCachedContext(to_rgb, frame->width, frame->height, AVPixelFormat(frame->format), frame->width,
                                    frame->height, AV_PIX_FMT_RGB24, SWS_BILINEAR | SWS_ACCURATE_RND, nullptr, nullptr,
                                    nullptr);
      std::vector<std::uint8_t> rgb(std::size_t(frame->width) * frame->height * 3);
      std::uint8_t* dst[1] = {rgb.data()};
      const int stride[1] = {frame->width * 3};
      sws_scale(to_rgb, frame->data, frame->linesize, 0, frame->height, dst, stride);
      out.rgb.push_back(std::move(rgb));
    }
  };
  while (av_read_frame(format, packet) >= 0) {
    if (packet->stream_index == index) {
      avcodec_send_packet(context, packet);
      take();
    }
    av_packet_unref(packet);
  }
  avcodec_send_packet(context, nullptr);
  take();
  sws_freeContext(to_rgb);
  av_frame_free(&frame);
  av_packet_free(&packet);
  avcodec_free_context(&context);
  avformat_close_input(&format);
  return out;
}

double psnr(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  const double mse = sum / double(a.size());
  return mse == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

// 40 frames of a 320 x 240 rendering: moving blobs of events, so that frames differ.
std::vector<std::vector<std::uint8_t>> rendered_frames(ops::SensorSize sensor) {
  testing::Events e;
  for (std::int64_t t = 0; t < 400'000; t += 20) {
    const double phase = double(t) / 400'000 * 6.283;
    const auto x = static_cast<std::uint16_t>(sensor.width / 2 + std::cos(phase) * sensor.width / 3 + (t / 20 % 17) - 8);
    const auto y = static_cast<std::uint16_t>(sensor.height / 2 + std::sin(phase) * sensor.height / 3 + (t / 20 % 13) - 6);
    e.add(t, x, y, static_cast<std::uint8_t>(t / 20 % 3 != 0));
  }
  RenderOptions o;
  o.fps = 100.0;
  o.accumulate_us = 10'000;
  std::vector<std::vector<std::uint8_t>> frames;
  for (auto& f : testing::all_frames(e, sensor, o)) frames.push_back(std::move(f.rgb));
  return frames;
}

struct VideoCase {
  const char* name;
  const char* codec;
  double min_psnr;
};

class VideoRoundTrip : public ::testing::TestWithParam<VideoCase> {};

TEST_P(VideoRoundTrip, decodes_to_the_frames_given) {
  const VideoCase c = GetParam();
  const ops::SensorSize sensor{320, 240};
  const auto frames = rendered_frames(sensor);
  ASSERT_EQ(frames.size(), 40u);
  const std::string dir = evlib::test::temp_dir();
  const std::string path = dir + "/" + c.name;
  VideoWriter writer(path, sensor.width, sensor.height, {.fps = 25.0, .codec = c.codec});
  for (const auto& f : frames) writer.write(f);
  writer.finish();
  EXPECT_EQ(evlib::test::list_dir(dir), std::vector<std::string>{c.name});  // renamed into place
  const Decoded d = decode(path);
  EXPECT_EQ(d.width, 320);
  EXPECT_EQ(d.height, 240);
  ASSERT_EQ(d.rgb.size(), frames.size());
  for (std::size_t k = 0; k < frames.size(); ++k) {
    EXPECT_NEAR(d.times[k] - d.times[0], double(k) / 25.0, 1e-3) << "frame " << k;
    EXPECT_GE(psnr(d.rgb[k], frames[k]), c.min_psnr) << "frame " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, VideoRoundTrip,
                         ::testing::Values(VideoCase{"h264.mp4", "", 30.0}, VideoCase{"mpeg4.mp4", "mpeg4", 25.0},
                                           VideoCase{"mjpeg.avi", "", 25.0}, VideoCase{"h264.mkv", "", 30.0},
                                           VideoCase{"clip.gif", "", 99.0}),  // exact: psnr's 99
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& ch : name) ch = ch == '.' ? '_' : ch;
                           return name;
                         });

// Frames through FFmpeg's GIF encoder and back: a second frame on the first frame's palette (the
// encoder crops it and makes unchanged pixels transparent, by index), a palette that grows, 256
// colours, 300 (reduced), then the first frame's colours again on a palette started afresh, which
// FFmpeg compared by index with the reduced frame's when it equalled the first frame's palette.
TEST(VideoWriter, gif_frames_decode_to_their_colours_whatever_their_palettes) {
  const std::uint32_t width = 64, height = 48;
  const auto frame_of = [&](auto color_of) {
    std::vector<std::uint8_t> rgb(std::size_t{width} * height * 3);
    for (std::size_t i = 0; i < std::size_t{width} * height; ++i) {
      const std::uint32_t c = color_of(i);
      rgb[3 * i] = static_cast<std::uint8_t>(c >> 16), rgb[3 * i + 1] = static_cast<std::uint8_t>(c >> 8);
      rgb[3 * i + 2] = static_cast<std::uint8_t>(c);
    }
    return rgb;
  };
  const auto palette_a = [](std::size_t i) { return std::uint32_t(i % 40) * 0x050301; };  // 40 colours
  std::vector<std::vector<std::uint8_t>> frames{
      frame_of(palette_a),
      frame_of([&](std::size_t i) { return i / 64 % 8 == 3 ? palette_a(i + 7) : palette_a(i); }),  // same colours
      frame_of([&](std::size_t i) { return i % 3 == 0 ? 0x800000u + std::uint32_t(i % 100) : palette_a(i); }),
      frame_of([](std::size_t i) { return std::uint32_t(i % 256) * 0x000101 + 0x200000; }),  // 256 colours
      frame_of([](std::size_t i) { return std::uint32_t(i % 300) * 0x010001; }),               // 300: reduced
      frame_of(palette_a),
      frame_of(palette_a)};
  const std::string path = evlib::test::temp_dir() + "/palettes.gif";
  VideoWriter writer(path, width, height, {.fps = 10.0});
  for (const auto& f : frames) writer.write(f);
  writer.finish();
  const Decoded d = decode(path);
  ASSERT_EQ(d.rgb.size(), frames.size());
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (k == 4) {  // 300 colours: 256 exact, the others a neighbour's
      EXPECT_GT(psnr(d.rgb[k], frames[k]), 30.0);
      continue;
    }
    EXPECT_EQ(d.rgb[k], frames[k]) << "frame " << k;
  }
}

TEST(VideoWriter, odd_sizes_lose_a_column_and_a_row_in_4_2_0) {
  const std::string path = evlib::test::temp_dir() + "/odd.mp4";
  VideoWriter writer(path, 33, 17, {});
  const std::vector<std::uint8_t> frame(33 * 17 * 3, 90);
  for (int i = 0; i < 3; ++i) writer.write(frame);
  writer.finish();
  const Decoded d = decode(path);
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.height, 16);
  EXPECT_EQ(d.rgb.size(), 3u);
}

std::uintmax_t video_bytes(const VideoOptions& options) {
  const ops::SensorSize sensor{320, 240};
  const std::string path = evlib::test::temp_dir() + "/quality.mp4";
  VideoWriter writer(path, sensor.width, sensor.height, options);
  for (const auto& f : rendered_frames(sensor)) writer.write(f);
  writer.finish();
  return std::filesystem::file_size(path);
}

// FFmpeg re-applies its own crf before each frame, over one given among libx264's settings.
TEST(VideoWriter, a_crf_among_the_x264_settings_sets_the_quality_as_the_crf_option_does) {
  const auto fine = video_bytes({.crf = 10});
  const auto coarse = video_bytes({.crf = 45});
  ASSERT_LT(coarse * 2, fine);
  const auto coarse_by_params = video_bytes({.crf = 10, .x264_params = "trellis=0: crf = 45"});
  EXPECT_LT(coarse_by_params * 2, fine);
  EXPECT_NEAR(double(coarse_by_params), double(coarse), 0.2 * double(coarse));
  EXPECT_THROW(video_bytes({.x264_params = "crf=high"}), IoError);
}

// FFmpeg's wrapper only warns of a setting libx264 refuses and encodes without it.
TEST(VideoWriter, x264_settings_that_libx264_refuses_are_an_error_naming_them) {
  const std::string dir = evlib::test::temp_dir();
  try {
    VideoWriter writer(dir + "/refused.mp4", 64, 48, {.x264_params = "keyint=60:no-such-key=1:bframes=lots"});
    FAIL() << "the settings were taken";
  } catch (const IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'no-such-key = 1'"), std::string::npos) << what;
    EXPECT_NE(what.find("'bframes = lots'"), std::string::npos) << what;
    EXPECT_EQ(what.find("keyint"), std::string::npos) << what;
  }
  EXPECT_TRUE(evlib::test::list_dir(dir).empty());  // no temporary file left
  VideoWriter fine(dir + "/fine.mp4", 64, 48, {.x264_params = "keyint=60:bframes=2"});
  fine.write(std::vector<std::uint8_t>(64 * 48 * 3, 7));
  fine.finish();
  EXPECT_EQ(evlib::test::list_dir(dir), std::vector<std::string>{"fine.mp4"});
}

// An encoder or container that refuses the request: FFmpeg's own reason in the one-line error
// (it was printed as raw log lines before a bare "Invalid argument").
TEST(VideoWriter, an_encoder_or_container_that_refuses_says_why_in_the_error) {
  const std::string dir = evlib::test::temp_dir();
  for (const VideoOptions& options : {VideoOptions{.preset = "bogus"}, VideoOptions{.codec = "gif"}}) {
    try {
      VideoWriter writer(dir + "/refused.mp4", 64, 48, options);
      ADD_FAILURE() << "taken: " << options.preset << options.codec;
    } catch (const IoError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("(FFmpeg: "), std::string::npos) << what;
      EXPECT_NE(what.find(options.codec.empty() ? "bogus" : "gif"), std::string::npos) << what;
    }
  }
  EXPECT_TRUE(evlib::test::list_dir(dir).empty());
}

TEST(VideoWriter, leaves_nothing_when_not_finished_and_refuses_what_it_cannot_write) {
  const std::string dir = evlib::test::temp_dir();
  {
    VideoWriter writer(dir + "/unfinished.mp4", 64, 48, {});
    writer.write(std::vector<std::uint8_t>(64 * 48 * 3, 0));
  }
  EXPECT_TRUE(evlib::test::list_dir(dir).empty());
  EXPECT_THROW(VideoWriter(dir + "/x.mp4", 64, 48, {.codec = "no-such-codec"}), IoError);
  EXPECT_TRUE(evlib::test::list_dir(dir).empty());
  EXPECT_THROW(VideoWriter(dir + "/x.txt", 64, 48, {}), InvalidArgument);
  VideoWriter writer(dir + "/size.mp4", 64, 48, {});
  EXPECT_THROW(writer.write(std::vector<std::uint8_t>(10, 0)), InvalidArgument);
}

}  // namespace
}  // namespace evlib::render
