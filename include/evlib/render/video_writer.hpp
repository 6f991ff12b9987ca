#pragma once
// Videos of rendered frames through FFmpeg's libraries (libavcodec, libavformat, libswscale),
// when evlib is built with them (CMake option EVLIB_WITH_VIDEO). Encoding runs on a thread of
// its own, so that rendering and encoding use two cores; the file is written under a temporary
// name and renamed into place by finish() (docs/rendering.md "Output").
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace evlib::render {

// Whether this build writes videos.
bool video_available() noexcept;
// The extensions VideoWriter accepts, for messages: ".mp4, .mkv, .avi, .gif".
std::string video_extensions();
// Whether path ends in one of them.
bool is_video_path(const std::string& path);
// Why a video at path cannot hold fps frames a second (.gif: 100 at most, .avi: 1000), or none.
std::optional<std::string> frame_rate_refused(const std::string& path, double fps);

struct VideoOptions {
  double fps = 30.0;
  // "" picks by container: .mp4/.mkv libx264 when FFmpeg has it (else mpeg4), .avi mjpeg
  // (OpenEB's metavision_file_to_video), .gif gif.
  std::string codec;
  std::string preset = "fast";  // libx264's preset
  int crf = 18;                 // libx264's constant rate factor (quality; lower is better)
  // libx264's extra settings over the preset, "key=value:key=value" (x264's --x264-params).
  std::string x264_params;
  // Encoder threads; 0: one per hardware thread (libx264's frame threads: the renderer needs a
  // fraction of a core, so the encoder may take both).
  int threads = 0;
  bool overwrite = true;
};

class VideoWriter {
 public:
  // Opens the encoder and the temporary file; IoError / InvalidArgument naming path otherwise.
  // Odd sizes lose their last column or row where the codec needs even sizes (4:2:0).
  VideoWriter(const std::string& path, std::uint32_t width, std::uint32_t height, VideoOptions options = {});
  ~VideoWriter();  // without finish(): stops the encoder and removes the temporary file
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Queues one RGB frame (height * width * 3 bytes; copied), frame times 0, 1/fps, 2/fps...
  // Rethrows an error of the encoder thread.
  void write(std::span<const std::uint8_t> rgb);
  // Drains the encoder, writes the trailer and renames the file into place.
  void finish();
  const std::string& codec() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace evlib::render
