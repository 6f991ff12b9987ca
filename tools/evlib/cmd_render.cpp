// evlib render FILE OUT: frames of a recording as PNG images (one at --at, or a %05d pattern)
// or a video (.mp4, .avi, .gif, .mkv), by the rules of docs/rendering.md.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <vector>
#include <ctime>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/error.hpp"
#include "evlib/render/frame_generator.hpp"
#include "evlib/render/png_image.hpp"
#include "evlib/render/video_writer.hpp"
#include "evlib/scan.hpp"

namespace evlib::cli {

namespace {

struct RenderArgs {
  std::string path, out;
  ReaderFlags flags;
  ScanFlags scan;
  std::string at;
  std::string accumulate = "10ms";
  double fps = 30.0;
  double speed = 1.0;
  std::string palette = "prophesee-dark";
  std::string colors;
  std::string mode = "last";
  unsigned count_saturation = 4;
  double decay = 0.0;  // 0: derived from --accumulate
  double contribution = 0.15;
  bool no_decay_sync = false;
  std::string codec;
  std::string preset = "fast";
  int crf = 18;
  std::string x264_params;
  int encoder_threads = 0;
  bool overlay = false;
  bool force = false;
  bool quiet = false;
  bool bench = false;
  // Whether these were given (not their defaults), for the options that exclude one another.
  const CLI::Option* fps_option = nullptr;
  const CLI::Option* speed_option = nullptr;
  const CLI::Option* palette_option = nullptr;
};

// Whether s ends with the lower-case suffix, in any case (.png, .PNG).
bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

bool given(const CLI::Option* option) { return option != nullptr && option->count() > 0; }

render::RenderOptions render_options(const RenderArgs& a) {
  render::RenderOptions o;
  o.mode.mode = render::mode_by_name(a.mode);
  o.mode.palette = a.colors.empty() ? render::palette_by_name(a.palette) : render::palette_from_colors(a.colors);
  o.mode.count_saturation = a.count_saturation;
  o.accumulate_us = parse_time_us(a.accumulate);
  if (o.accumulate_us < 1) throw CLI::ValidationError("--accumulate", "must be at least 1us");
  o.fps = a.fps;
  o.speed = a.speed;
  o.overlay = a.overlay;
  if (!a.scan.from.empty()) o.from_us = parse_time_us(a.scan.from);
  if (!a.scan.to.empty()) o.to_us = parse_time_us(a.scan.to);
  o.mode.decay.synchronous_decay = !a.no_decay_sync;
  o.mode.decay.contribution = static_cast<float>(a.contribution);
  // Without --decay, a pixel fades over about one accumulation time: the exponential's time
  // constant, or the linear slope that takes the full range in that time.
  const double range = double{o.mode.decay.max_potential} - o.mode.decay.min_potential;
  o.mode.decay.decay_param = a.decay > 0 ? a.decay
                             : o.mode.mode == render::Mode::kLinearDecay ? range / double(o.accumulate_us)
                                                                         : double(o.accumulate_us);
  if (!a.colors.empty() && given(a.palette_option))
    throw CLI::ValidationError("--colors", "sets the palette's colours: give --palette or --colors, not both");
  if (o.from_us && o.to_us && *o.from_us >= *o.to_us)
    throw CLI::ValidationError("--to", "the window ends (" + a.scan.to + ") before or where it starts (--from " + a.scan.from + ")");
  if (!a.at.empty()) {
    if (o.from_us || o.to_us) throw CLI::ValidationError("--at", "cannot be combined with --from/--to");
    const std::int64_t at = parse_time_us(a.at);
    if (render::is_decay(o.mode.mode)) {
      // A decay mode's picture depends on every earlier event (and, with the synchronous decay,
      // on the frames before it): the frames of the video, from the recording's start, up to
      // the one ending at --at (the video's frame itself when --at is one of its frame times).
      o.to_us = at;
    } else {
      // One frame ending at --at: its window is the one slice [at - accumulate, at).
      if (given(a.fps_option) || given(a.speed_option))
        throw CLI::ValidationError("--at", "renders the one window [at - accumulate, at) in mode " + a.mode +
                                               ": --fps and --speed do not apply");
      if (o.accumulate_us > std::int64_t{1'000'000'000'000'000})
        throw CLI::ValidationError("--accumulate", "at most 1e15 us (about 31 years) with --at");
      o.from_us = at - o.accumulate_us;
      o.to_us = at;
      o.speed = 1.0;
      o.fps = 1e6 / double(o.accumulate_us);
    }
  }
  try {
    render::frame_period_us(o);  // validates
  } catch (const InvalidArgument& e) {
    // The period is speed / fps: name the option the user gave (--speed's extremes, or --fps).
    throw CLI::ValidationError(given(a.speed_option) && a.speed != 1.0 ? "--fps / --speed" : "--fps", e.what());
  }
  return o;
}

ops::SensorSize sensor_of(const RenderArgs& a, const Scan& scan, const ReadOptions& options) {
  const Metadata& meta = scan.metadata();
  ops::SensorSize sensor{options.width != 0 ? options.width : meta.width,
                         options.height != 0 ? options.height : meta.height};
  if (sensor.width == 0 || sensor.height == 0) {
    // A format without a sensor size (DAT, text, NumPy): the events' extent, as `evlib info`
    // infers it (docs/formats.md 0.5), from one pass over the file's x and y.
    // The whole file's (not the window's or region's of --from/--to/--roi/--polarity).
    if (!readable_twice(a.path))  // the second open of a pipe would wait for a writer forever
      throw InvalidArgument(a.path + " states no sensor size, and it cannot be read twice to infer it from its events "
                            "(not a regular file): give --width and --height");
    std::uint32_t x_end = 0, y_end = 0;
    BatchStream chunks = Scan(a.path, options).chunks();
    while (auto chunk = chunks.next()) {
      const EventView v = chunk->events.view();
      for (const std::uint16_t x : v.x()) x_end = std::max<std::uint32_t>(x_end, x + 1u);
      for (const std::uint16_t y : v.y()) y_end = std::max<std::uint32_t>(y_end, y + 1u);
    }
    if (sensor.width == 0) sensor.width = x_end;
    if (sensor.height == 0) sensor.height = y_end;
    if (sensor.width == 0 || sensor.height == 0)
      throw InvalidArgument(a.path + " states no sensor size and has no events to infer it from: give --width and --height");
  }
  return sensor;
}

void refuse_existing(const std::string& path, bool force) {
  struct stat st {};
  if (!force && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    throw IoError(path, "file exists (use --force to replace it)");
}

int run_bench(const RenderArgs& a, const Scan& scan, ops::SensorSize sensor, const render::RenderOptions& options) {
  // Decode first, then time the rendering alone over the events in memory.
  const EventBatch all = scan.collect();
  constexpr std::size_t kPiece = std::size_t{1} << 20;
  std::size_t offset = 0;
  render::FrameGenerator generator(
      [&]() -> std::optional<EventBatch> {
        if (offset >= all.size()) return std::nullopt;
        const std::size_t end = std::min(all.size(), offset + kPiece);
        EventBatch piece = all.slice(offset, end);
        offset = end;
        return piece;
      },
      sensor, options);
  // The thread's CPU time besides the wall time: on a shared machine the wall time also counts
  // the time the thread waited for a core.
  const auto cpu_now = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  };
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_now();
  std::uint64_t frames = 0, added = 0;
  while (const render::Frame* f = generator.next()) ++frames, added += f->events;
  const double cpu = cpu_now() - cpu_start;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("render %s: %llu events, %llu frames %ux%u (%s, %s), %.3f s: %.1f M events/s, %.1f frames/s; "
              "thread CPU %.3f s: %.1f M events/s\n",
              a.path.c_str(), static_cast<unsigned long long>(all.size()), static_cast<unsigned long long>(frames),
              sensor.width, sensor.height, std::string(render::mode_name(options.mode.mode)).c_str(),
              options.mode.palette.name.c_str(), seconds, double(all.size()) / seconds / 1e6, double(frames) / seconds,
              cpu, double(all.size()) / cpu / 1e6);
  return 0;
}

// The latest time of the file's time index when one is at hand without decoding: no event lies
// after it (FrameGenerator refuses an end far past it before rendering).
std::optional<std::int64_t> events_end_bound(const Scan& scan) {
  const auto segments = scan.time_index();
  if (!segments) return std::nullopt;
  std::optional<std::int64_t> bound;
  for (const IndexSegment& segment : *segments)
    if (segment.events != 0) bound = std::max(bound.value_or(segment.t_max), segment.t_max);
  return bound;
}

int run_render(const RenderArgs& a) {
  const ReadOptions read_options = a.flags.resolve();
  render::RenderOptions options = render_options(a);
  Progress progress(0, !a.quiet && !a.bench);
  Scan scan = a.scan.make(a.path, read_options).on_progress([&](const ScanProgress& p) {
    progress.update(p.fraction(), p.events);
  });
  const ops::SensorSize sensor = sensor_of(a, scan, read_options);  // before --at's window: the whole file's
  const bool seekable = readable_twice(a.path);
  if (!a.at.empty() && !seekable)  // its time index would read the pipe to its end, then open it again
    throw CLI::ValidationError("--at", a.path + " is not a regular file (a pipe?): --at finds its time through the "
                                        "recording's time index, which needs a file; write the events to a file first");
  if (!a.at.empty()) {  // a decay mode reads from the recording's start
    scan = scan.time(options.from_us.value_or(std::numeric_limits<std::int64_t>::min()), *options.to_us);
  }
  if (seekable) options.events_end_bound_us = events_end_bound(scan);
  if (a.bench) {
    if (!a.out.empty()) throw CLI::ValidationError("OUT", "--bench writes nothing: give no OUT");
    return run_bench(a, scan, sensor, options);
  }

  if (a.out.empty()) throw CLI::RequiredError("OUT");
  const bool pattern = render::is_frame_pattern(a.out);
  const bool video = !pattern && render::is_video_path(a.out);
  if (pattern && !ends_with(a.out, ".png"))
    throw CLI::ValidationError("OUT", a.out + ": a frame pattern writes PNG images and must end in .png (a video is one file: OUT.mp4)");
  if (!pattern && !video) {
    if (!ends_with(a.out, ".png"))
      throw CLI::ValidationError("OUT", a.out + ": unknown output type (give .png with --at, a %05d.png pattern, or a video: " +
                                            render::video_extensions() + ")");
    if (a.at.empty())
      throw CLI::ValidationError("OUT", a.out + ": a single PNG needs --at TIME (or give a pattern such as frame_%05d.png)");
  }
  if (video && !a.at.empty()) throw CLI::ValidationError("--at", "renders one image; give OUT.png, not " + a.out);
  if (video) {
    if (const auto refused = render::frame_rate_refused(a.out, a.fps)) throw CLI::ValidationError("--fps", *refused);
  }
  const InputGuard input_guard(a.path);
  if (!pattern) {
    input_guard.refuse(a.out);
    refuse_existing(a.out, a.force);
  }
  if (pattern && !a.force) {
    // Before any frame is written: a render that stopped at the first existing frame would
    // leave the ones before it written over.
    if (const auto existing = render::existing_frame(a.out))
      throw IoError(*existing, "file exists, named by the pattern " + a.out + " (use --force to replace the frames)");
  }

  BatchStream chunks = scan.chunks();
  render::FrameGenerator generator(
      [&]() -> std::optional<EventBatch> {
        auto chunk = chunks.next();
        if (!chunk) return std::nullopt;
        return std::move(chunk->events);
      },
      sensor, options);
  std::unique_ptr<render::VideoWriter> writer;
  if (video) {
    render::VideoOptions vo;
    vo.fps = a.fps;
    vo.codec = a.codec;
    vo.preset = a.preset;
    vo.crf = a.crf;
    vo.x264_params = a.x264_params;
    vo.threads = a.encoder_threads;
    vo.overwrite = a.force;
    writer = std::make_unique<render::VideoWriter>(a.out, sensor.width, sensor.height, vo);
  }
  std::uint64_t frames = 0;
  std::vector<std::uint8_t> last_rgb;  // --at: the last frame (a decay mode renders those before it too)
  while (const render::Frame* f = generator.next()) {
    if (writer) {
      writer->write(f->rgb);
    } else if (pattern) {
      // Without --force a frame never replaces a file (one made after the check above, or one the
      // check cannot list: the number in a directory name).
      const std::string frame = render::frame_path(a.out, f->index);
      input_guard.refuse(frame);
      render::write_png(frame, f->rgb, f->width, f->height, a.force);
    } else {
      last_rgb.assign(f->rgb.begin(), f->rgb.end());
    }
    ++frames;
  }
  progress.finish();
  // With --at, or --from and --to, every slice is a frame; otherwise none means no events. Checked
  // before the video is finished: the writer then discards its file, and an existing OUT stays.
  if (frames == 0) {
    const std::string selection = a.scan.selection();
    throw InvalidArgument(a.path + ": no events to render" + (selection.empty() ? "" : " (none selected by " + selection + ")"));
  }
  if (writer) writer->finish();
  if (!pattern && !video) render::write_png(a.out, last_rgb, sensor.width, sensor.height, true);
  if (!a.quiet)
    std::fprintf(stderr, "evlib: %llu frame%s %ux%u written to %s\n", static_cast<unsigned long long>(frames),
                 frames == 1 ? "" : "s", sensor.width, sensor.height, a.out.c_str());
  return 0;
}

}  // namespace

void add_render_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RenderArgs>();
  CLI::App* cmd = app.add_subcommand("render", "Draw frames of a recording to PNG or video (docs/rendering.md)");
  cmd->add_option("FILE", args->path, "Recording to read")->required();
  cmd->add_option("OUT", args->out,
                  "OUT.png (with --at), a pattern such as frames/f_%05d.png, or a video: " + render::video_extensions() + " (not with --bench)");
  cmd->add_option("--at", args->at,
                  "Render the one frame ending at this time (12.5s, 12500ms, us) into OUT.png (decay modes: the video's "
                  "frames up to it, from the recording's start)")
      ->check(time_value());
  cmd->add_option("--accumulate", args->accumulate, "Events shown per frame: this much time before the frame (default 10ms)")
      ->check(time_value());
  args->fps_option = cmd->add_option("--fps", args->fps, "Frames per second of output (default 30)")->check(number_in(1e-3, 1e4));
  args->speed_option = cmd->add_option("--speed", args->speed, "Event time per output time: 0.1 plays ten times slower (default 1)")
                           ->check(number_in(1e-6, 1e6));
  args->palette_option = cmd->add_option("--palette", args->palette, "prophesee-dark (default), prophesee-light, dv, cool-warm or gray")
                             ->check(parsed_by([](const std::string& v) { render::palette_by_name(v); }, "PALETTE"));
  cmd->add_option("--colors", args->colors, "Custom colours bg,on,off as hex RRGGBB (e.g. 000000,ffffff,3060ff)")
      ->check(parsed_by([](const std::string& v) { render::palette_from_colors(v); }, "BG,ON,OFF"));
  cmd->add_option("--mode", args->mode,
                  "last (default: last event wins), counts, exp-decay, linear-decay, time-surface, time-decay (OpenEB's)")
      ->check(parsed_by([](const std::string& v) { render::mode_by_name(v); }, "MODE"));
  cmd->add_option("--count-saturation", args->count_saturation, "counts: |ON - OFF| shown at full colour (default 4)")
      ->check(CLI::Range(1u, 65535u));
  cmd->add_option("--decay", args->decay,
                  "exp-decay, time-decay: time constant in us; linear-decay: potential per us (default: from --accumulate)")
      ->check(number_in(1e-12, 1e15));
  cmd->add_option("--contribution", args->contribution, "Decay modes: potential an event adds (default 0.15)")
      ->check(number_in(1e-6, 1.0));
  cmd->add_flag("--no-decay-sync", args->no_decay_sync,
                "Decay modes: decay a pixel only at its events (dv-processing's default), not at every frame");
  cmd->add_option("--codec", args->codec, "Video codec (default: libx264 for .mp4/.mkv when available, else mpeg4; gif; mjpeg for .avi)");
  cmd->add_flag("--overlay", args->overlay, "Write the frame time and the window's event rate in the top-left corner");
  cmd->add_option("--preset", args->preset, "libx264 preset: ultrafast ... veryslow (default fast)");
  cmd->add_option("--crf", args->crf, "libx264 quality, 0 (lossless) to 51; lower is better and larger (default 18)")
      ->check(CLI::Range(0, 51));
  cmd->add_option("--x264-params", args->x264_params, "libx264 settings over the preset and --crf, key=value:key=value (e.g. trellis=0); other codecs ignore them");
  cmd->add_option("--encoder-threads", args->encoder_threads, "Encoder threads (default 0: one per hardware thread)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("-f,--force", args->force, "Replace OUT (or the pattern's files) if they exist");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar or summary");
  cmd->add_flag("--bench", args->bench, "Decode into memory, then time the rendering alone (no output written)");
  args->flags.add_to(*cmd);
  args->scan.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_render(*args); });
}

}  // namespace evlib::cli
