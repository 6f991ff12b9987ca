#include "evlib/render/video_writer.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "evlib/error.hpp"
#include "formats/common/columns.hpp"
#include "io/atomic_file.hpp"
#include "render/gif_palette.hpp"

#if EVLIB_WITH_VIDEO
#include <dlfcn.h>

#include <string_view>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#endif

namespace evlib::render {

namespace {

constexpr std::array<const char*, 4> kVideoExtensions = {".mp4", ".mkv", ".avi", ".gif"};

std::string extension_of(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  const std::size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  std::ranges::transform(ext, ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

}  // namespace

std::string video_extensions() {
  std::string list;
  for (const char* e : kVideoExtensions) list += (list.empty() ? "" : ", ") + std::string(e);
  return list;
}

bool is_video_path(const std::string& path) {
  const std::string ext = extension_of(path);
  return std::ranges::find(kVideoExtensions, ext) != kVideoExtensions.end();
}

std::optional<std::string> frame_rate_refused(const std::string& path, double fps) {
  // Frame times are whole units of the container's clock: distinct times need a frame period of
  // at least one unit (GIF: 1/100 s; FFmpeg's AVI muxer fails past 1000 frames a second).
  const std::string ext = extension_of(path);
  const double most = ext == ".gif" ? 100.0 : ext == ".avi" ? 1000.0 : 0.0;
  if (most > 0 && fps > most) {
    char asked[32];
    std::snprintf(asked, sizeof asked, "%g", fps);
    return std::string(ext == ".gif" ? "a GIF" : "an AVI") + " file holds at most " + std::to_string(static_cast<int>(most)) +
           " frames a second (its frame times are whole " + (ext == ".gif" ? "hundredths" : "thousandths") +
           " of a second), not " + asked;
  }
  return std::nullopt;
}

#if EVLIB_WITH_VIDEO

namespace {

// FFmpeg's libraries are opened when the first video is written, not linked: linked, they and
// the ~130 libraries they depend on (codecs, hardware acceleration) added 24 MiB to the resident
// memory of every evlib process, video or not. The headers give the functions' types and the
// major versions (the sonames) this build was compiled against.
#define EVLIB_FFMPEG_FUNCTIONS(X) \
  X(avutil, av_frame_alloc) \
  X(avutil, av_frame_free) \
  X(avutil, av_frame_get_buffer) \
  X(avutil, av_frame_make_writable) \
  X(avutil, av_log_set_level) \
  X(avutil, av_log_set_callback) \
  X(avutil, av_log_default_callback) \
  X(avutil, av_opt_set) \
  X(avutil, av_opt_set_int) \
  X(avutil, av_strerror) \
  X(avutil, av_d2q) \
  X(swscale, sws_scale) \
  X(swscale, sws_getContext) \
  X(swscale, sws_freeContext) \
  X(avcodec, av_packet_alloc) \
  X(avcodec, av_packet_free) \
  X(avcodec, av_packet_rescale_ts) \
  X(avcodec, avcodec_find_encoder_by_name) \
  X(avcodec, avcodec_free_context) \
  X(avcodec, avcodec_parameters_from_context) \
  X(avcodec, avcodec_receive_packet) \
  X(avcodec, avcodec_send_frame) \
  X(avcodec, avcodec_alloc_context3) \
  X(avcodec, avcodec_open2) \
  X(avformat, av_guess_format) \
  X(avformat, av_interleaved_write_frame) \
  X(avformat, av_write_trailer) \
  X(avformat, avformat_free_context) \
  X(avformat, avformat_new_stream) \
  X(avformat, avformat_write_header) \
  X(avformat, avio_closep) \
  X(avformat, avio_open) \
  X(avformat, avformat_alloc_output_context2)

#define EVLIB_STRINGIFY_(x) #x
#define EVLIB_STRINGIFY(x) EVLIB_STRINGIFY_(x)

struct FfmpegApi {
#define EVLIB_FFMPEG_MEMBER(lib, name) decltype(&::name) name = nullptr;
  EVLIB_FFMPEG_FUNCTIONS(EVLIB_FFMPEG_MEMBER)
#undef EVLIB_FFMPEG_MEMBER
  std::string error;  // why the libraries could not be used, "" when they can
};

FfmpegApi load_ffmpeg() {
  FfmpegApi api;
  struct Library {
    const char* name;
    const char* soname;
    void* handle = nullptr;
  };
  Library libraries[] = {{"avutil", "libavutil.so." EVLIB_STRINGIFY(LIBAVUTIL_VERSION_MAJOR)},
                         {"swscale", "libswscale.so." EVLIB_STRINGIFY(LIBSWSCALE_VERSION_MAJOR)},
                         {"avcodec", "libavcodec.so." EVLIB_STRINGIFY(LIBAVCODEC_VERSION_MAJOR)},
                         {"avformat", "libavformat.so." EVLIB_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR)}};
  for (Library& library : libraries) {
    library.handle = ::dlopen(library.soname, RTLD_NOW | RTLD_LOCAL);
    if (library.handle == nullptr) {
      api.error = std::string("cannot load FFmpeg's ") + library.soname + " (install FFmpeg's libraries)";
      return api;
    }
  }
  const auto handle_of = [&](std::string_view lib) {
    for (const Library& library : libraries)
      if (lib == library.name) return library.handle;
    return static_cast<void*>(nullptr);
  };
#define EVLIB_FFMPEG_LOAD(lib, name)                                                       \
  api.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle_of(#lib), #name));        \
  if (api.name == nullptr && api.error.empty()) api.error = "FFmpeg's lib" #lib " has no " #name;
  EVLIB_FFMPEG_FUNCTIONS(EVLIB_FFMPEG_LOAD)
#undef EVLIB_FFMPEG_LOAD
  return api;  // the libraries stay loaded for the life of the process
}

// FFmpeg's libx264 wrapper takes a setting of --x264-params that libx264 refuses (an unknown key,
// a value it cannot parse) with a warning, below the level printed here, and encodes without it:
// the warnings FFmpeg gives while this thread opens an encoder are collected instead, so that the
// open fails naming them. Every other message goes to FFmpeg's own printer. The callback is the
// process's for the FFmpeg libraries evlib loads (RTLD_LOCAL: a host's own FFmpeg, as PyAV's,
// keeps its own); a host that sets another one on these libraries turns the check off.
thread_local std::vector<std::string>* opening_warnings = nullptr;
// Likewise the errors FFmpeg reports while this thread opens the encoder or writes the header:
// kept for the one-line error that names them, not printed as raw log lines.
thread_local std::vector<std::string>* opening_errors = nullptr;
// FFmpeg's own printer, kept in a plain pointer: the callback may run during the process's exit,
// after api()'s object is destroyed.
decltype(&::av_log_default_callback) default_log = nullptr;

// FFmpeg's log callback (a C function pointer; nothing may be thrown through FFmpeg's C code).
void collect_open_warnings(void* context, int level, const char* format, va_list args) noexcept {
  std::vector<std::string>* into = level == AV_LOG_WARNING ? opening_warnings
                                   : level <= AV_LOG_ERROR ? opening_errors
                                                           : nullptr;
  if (into != nullptr) {
    char text[512];
    va_list copy;
    va_copy(copy, args);
    std::vsnprintf(text, sizeof text, format, copy);
    va_end(copy);
    try {
      std::string line = text;
      while (!line.empty() && (line.back() == '\n' || line.back() == '.')) line.pop_back();
      into->push_back(std::move(line));
      if (into == opening_errors) return;  // said in the error instead
    } catch (...) {  // out of memory: the message is lost, as FFmpeg's own printing would lose it
    }
  }
  default_log(context, level, format, args);
}

// Errors FFmpeg reported during a call that then succeeded: printed as FFmpeg would have, and
// dropped (the next call's failure names only its own).
void print_unused(std::vector<std::string>& errors) {
  for (const std::string& e : errors) std::fprintf(stderr, "evlib: FFmpeg: %s\n", e.c_str());
  errors.clear();
}

// The errors FFmpeg gave, for a failure message: " (FFmpeg: a; b)", or nothing.
std::string ffmpeg_said(const std::vector<std::string>& errors) {
  std::string said;
  for (const std::string& e : errors) said += (said.empty() ? " (FFmpeg: " : "; ") + e;
  return said.empty() ? said : said + ")";
}

const FfmpegApi& api() {
  static const FfmpegApi loaded = [] {
    FfmpegApi api = load_ffmpeg();
    if (api.error.empty()) {
      default_log = api.av_log_default_callback;
      api.av_log_set_callback(collect_open_warnings);
    }
    return api;
  }();
  return loaded;
}

}  // namespace

bool video_available() noexcept { return api().error.empty(); }

namespace {

std::string av_message(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  api().av_strerror(err, text, sizeof text);
  return text;
}

// The value of key in libx264's "key=value:key=value" settings (FFmpeg trims the blanks around
// keys and values too), or nullopt.
std::optional<std::string> x264_param(std::string_view params, std::string_view key) {
  std::optional<std::string> found;  // the last one wins, as in x264's own parsing
  while (!params.empty()) {
    const std::size_t end = std::min(params.find(':'), params.size());
    const std::string_view item = params.substr(0, end);
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && evlib::detail::trim_blanks(item.substr(0, eq)) == key)
      found = std::string(evlib::detail::trim_blanks(item.substr(eq + 1)));
    params.remove_prefix(std::min(end + 1, params.size()));
  }
  return found;
}

}  // namespace

struct VideoWriter::Impl {
  std::string path;
  std::uint32_t width = 0, height = 0;  // of the frames given
  int coded_width = 0, coded_height = 0;
  evlib::detail::AtomicFile file;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVStream* stream = nullptr;
  SwsContext* scaler = nullptr;  // RGB to the codec's pixels; none for GIF's palette
  std::unique_ptr<detail::GifPalette> gif_palette;
  AVFrame* picture = nullptr;
  AVPacket* packet = nullptr;
  std::string codec_name;
  std::int64_t next_pts = 0;

  // The queue between write() and the encoder thread.
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::vector<std::uint8_t>> queue;
  std::vector<std::vector<std::uint8_t>> spare;  // buffers to reuse
  bool closing = false;
  std::exception_ptr failure;
  std::thread encoder;
  static constexpr std::size_t kMaxQueued = 4;

  Impl(const std::string& p, std::uint32_t w, std::uint32_t h, const VideoOptions& options)
      : path(p), width(w), height(h), file(p, options.overwrite, evlib::detail::AtomicFile::NonRegular::kRefuse) {
    try {
      open(options);
    } catch (...) {
      release();
      throw;
    }
    encoder = std::thread([this] { run(); });
  }

  ~Impl() {
    stop();
    release();
  }

  [[noreturn]] void fail(const std::string& what, int err = 0) const {
    throw IoError(path, what + (err != 0 ? ": " + av_message(err) : std::string()));
  }

  void open(const VideoOptions& options) {
    api().av_log_set_level(AV_LOG_ERROR);  // libx264 prints its statistics at the info level
    const AVOutputFormat* container = api().av_guess_format(nullptr, path.c_str(), nullptr);
    if (container == nullptr) fail("FFmpeg has no container for this extension");
    int err = api().avformat_alloc_output_context2(&format, container, nullptr, file.temp_path().c_str());
    if (err < 0 || format == nullptr) fail("cannot set up the container", err);
    const std::string ext = extension_of(path);
    codec_name = options.codec;
    if (codec_name.empty()) {
      if (ext == ".gif") codec_name = "gif";
      else if (ext == ".avi") codec_name = "mjpeg";
      else codec_name = api().avcodec_find_encoder_by_name("libx264") != nullptr ? "libx264" : "mpeg4";
    }
    const AVCodec* encoder_codec = api().avcodec_find_encoder_by_name(codec_name.c_str());
    if (encoder_codec == nullptr) fail("FFmpeg has no encoder '" + codec_name + "'");
    AVPixelFormat pixels = AV_PIX_FMT_YUV420P;
    // GIF: 256 colours of our own choosing per frame (gif_palette.hpp), where FFmpeg's RGB8
    // would bend every colour to 3-3-2 bits.
    if (codec_name == "gif") pixels = AV_PIX_FMT_PAL8;
    else if (codec_name == "mjpeg") pixels = AV_PIX_FMT_YUVJ420P;
    const bool subsampled = pixels == AV_PIX_FMT_YUV420P || pixels == AV_PIX_FMT_YUVJ420P;
    coded_width = static_cast<int>(subsampled ? width & ~1u : width);
    coded_height = static_cast<int>(subsampled ? height & ~1u : height);
    if (coded_width == 0 || coded_height == 0) fail("the frames are too small to encode");
    stream = api().avformat_new_stream(format, nullptr);
    codec = api().avcodec_alloc_context3(encoder_codec);
    if (stream == nullptr || codec == nullptr) fail("out of memory");
    const AVRational rate = api().av_d2q(options.fps, 100000);
    codec->width = coded_width;
    codec->height = coded_height;
    codec->pix_fmt = pixels;
    codec->time_base = av_inv_q(rate);
    codec->framerate = rate;
    codec->gop_size = 30;
    codec->thread_count = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (codec_name == "libx264") {
      api().av_opt_set(codec->priv_data, "preset", options.preset.c_str(), 0);
      api().av_opt_set_int(codec->priv_data, "crf", options.crf, 0);
      if (!options.x264_params.empty() && api().av_opt_set(codec->priv_data, "x264-params", options.x264_params.c_str(), 0) < 0)
        fail("libx264 does not take the settings '" + options.x264_params + "'");
      // FFmpeg puts its own crf back before every frame, so a crf among the settings would be
      // silently lost: it becomes FFmpeg's.
      if (const auto crf = x264_param(options.x264_params, "crf");
          crf && api().av_opt_set(codec->priv_data, "crf", crf->c_str(), 0) < 0)
        fail("libx264 does not take crf=" + *crf + " (a number from 0 to 51)");
    } else if (codec_name == "mpeg4" || codec_name == "mjpeg") {
      codec->flags |= AV_CODEC_FLAG_QSCALE;
      codec->global_quality = FF_QP2LAMBDA * 2;
      codec->qmin = codec->qmax = 2;
    }
    if (format->oformat->flags & AVFMT_GLOBALHEADER) codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    std::vector<std::string> warnings, errors;
    opening_warnings = &warnings;
    opening_errors = &errors;
    err = api().avcodec_open2(codec, encoder_codec, nullptr);
    opening_warnings = opening_errors = nullptr;
    if (err < 0) fail("cannot open the " + codec_name + " encoder" + ffmpeg_said(errors), err);
    print_unused(errors);
    std::string refused;  // "'key = value', ..." of the settings libx264 refused
    constexpr std::string_view kRefusal = "Error parsing option ";
    for (const std::string& warning : warnings)
      if (warning.starts_with(kRefusal)) refused += (refused.empty() ? "" : ", ") + warning.substr(kRefusal.size());
    if (!refused.empty()) fail("libx264 does not take the setting(s) " + refused + " of --x264-params (x264_params)");
    if ((err = api().avcodec_parameters_from_context(stream->codecpar, codec)) < 0) fail("cannot set the stream up", err);
    stream->time_base = codec->time_base;
    stream->avg_frame_rate = rate;
    if ((err = api().avio_open(&format->pb, file.temp_path().c_str(), AVIO_FLAG_WRITE)) < 0) fail("cannot open for writing", err);
    opening_errors = &errors;
    err = api().avformat_write_header(format, nullptr);
    opening_errors = nullptr;
    if (err < 0) fail("cannot write the header" + ffmpeg_said(errors), err);
    print_unused(errors);
    if (pixels == AV_PIX_FMT_PAL8) {
      gif_palette = std::make_unique<detail::GifPalette>();
    } else {
      scaler = api().sws_getContext(coded_width, coded_height, AV_PIX_FMT_RGB24, coded_width, coded_height, pixels,
                                    SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
      if (scaler == nullptr) fail("out of memory");
    }
    picture = api().av_frame_alloc();
    packet = api().av_packet_alloc();
    if (picture == nullptr || packet == nullptr) fail("out of memory");
    picture->format = pixels;
    picture->width = coded_width;
    picture->height = coded_height;
    if ((err = api().av_frame_get_buffer(picture, 0)) < 0) fail("out of memory", err);
  }

  void drain_packets() {
    while (true) {
      const int err = api().avcodec_receive_packet(codec, packet);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) fail("encoding failed", err);
      api().av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
      packet->stream_index = stream->index;
      const int written = api().av_interleaved_write_frame(format, packet);
      if (written < 0) fail("write failed", written);
    }
  }

  void encode(const std::vector<std::uint8_t>& rgb) {
    int err = api().av_frame_make_writable(picture);
    if (err < 0) fail("out of memory", err);
    const std::uint8_t* source[1] = {rgb.data()};
    const int stride[1] = {static_cast<int>(width * 3)};
    if (gif_palette) {
      gif_palette->index(rgb.data(), width, static_cast<std::size_t>(coded_height), picture->data[0], picture->linesize[0]);
      std::memcpy(picture->data[1], gif_palette->entries().data(), sizeof(detail::GifPalette::Entries));
    } else {
      api().sws_scale(scaler, source, stride, 0, coded_height, picture->data, picture->linesize);
    }
    picture->pts = next_pts++;
    if ((err = api().avcodec_send_frame(codec, picture)) < 0) fail("encoding failed", err);
    drain_packets();
  }

  void run() {
    try {
      while (true) {
        std::vector<std::uint8_t> frame;
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return closing || !queue.empty(); });
          if (queue.empty()) break;
          frame = std::move(queue.front());
          queue.pop_front();
        }
        changed.notify_all();
        encode(frame);
        std::lock_guard lock(mutex);
        spare.push_back(std::move(frame));
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      failure = std::current_exception();
      queue.clear();
    }
    changed.notify_all();
  }

  void push(std::span<const std::uint8_t> rgb) {
    if (rgb.size() != std::size_t{width} * height * 3) throw InvalidArgument(path + ": a frame of the wrong size");
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return failure || queue.size() < kMaxQueued; });
    if (failure) std::rethrow_exception(failure);
    std::vector<std::uint8_t> buffer;
    if (!spare.empty()) {
      buffer = std::move(spare.back());
      spare.pop_back();
    }
    buffer.assign(rgb.begin(), rgb.end());
    queue.push_back(std::move(buffer));
    lock.unlock();
    changed.notify_all();
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      closing = true;
    }
    changed.notify_all();
    if (encoder.joinable()) encoder.join();
  }

  void finish() {
    stop();
    if (failure) std::rethrow_exception(failure);
    // A container without a frame is no video (players refuse it): nothing is written, and a
    // file the video was to replace stays.
    if (next_pts == 0) throw InvalidArgument(path + ": no frames to write (no video written)");
    int err = api().avcodec_send_frame(codec, nullptr);
    if (err < 0) fail("encoding failed", err);
    drain_packets();
    if ((err = api().av_write_trailer(format)) < 0) fail("cannot write the trailer", err);
    if ((err = api().avio_closep(&format->pb)) < 0) fail("write failed", err);
    file.commit();
  }

  void release() {
    if (format != nullptr && format->pb != nullptr) api().avio_closep(&format->pb);
    api().sws_freeContext(scaler);
    scaler = nullptr;
    api().av_frame_free(&picture);
    api().av_packet_free(&packet);
    api().avcodec_free_context(&codec);
    api().avformat_free_context(format);
    format = nullptr;
  }
};

VideoWriter::VideoWriter(const std::string& path, std::uint32_t width, std::uint32_t height, VideoOptions options) {
  if (!is_video_path(path)) throw InvalidArgument(path + ": not a video file name (" + video_extensions() + ")");
  if (!(options.fps > 0)) throw InvalidArgument(path + ": the frame rate must be positive");
  if (const auto refused = frame_rate_refused(path, options.fps)) throw InvalidArgument(path + ": " + *refused);
  if (!api().error.empty()) throw InvalidArgument(path + ": " + api().error);
  impl_ = std::make_unique<Impl>(path, width, height, options);
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(std::span<const std::uint8_t> rgb) { impl_->push(rgb); }
void VideoWriter::finish() { impl_->finish(); }
const std::string& VideoWriter::codec() const noexcept { return impl_->codec_name; }

#else  // without FFmpeg

bool video_available() noexcept { return false; }

struct VideoWriter::Impl {
  std::string codec;
};

VideoWriter::VideoWriter(const std::string& path, std::uint32_t, std::uint32_t, VideoOptions) {
  throw InvalidArgument(path + ": this evlib was built without video output (FFmpeg's libraries, EVLIB_WITH_VIDEO); "
                        "write PNG frames (a %05d.png pattern) instead");
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(std::span<const std::uint8_t>) {}
void VideoWriter::finish() {}
const std::string& VideoWriter::codec() const noexcept { return impl_->codec; }

#endif

}  // namespace evlib::render
