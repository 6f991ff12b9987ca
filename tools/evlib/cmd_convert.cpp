// evlib convert IN OUT: any readable recording to any writable format, streamed chunk by chunk
// (Reader -> Writer), so memory stays bounded whatever the input size.
//
// The Writer writes to a temporary file renamed into place by close(); every failure path
// (corrupt input in --strict mode, an event the target cannot hold, SIGINT/SIGTERM/SIGHUP)
// unwinds through the Writer's destructor, which removes that file. An existing OUT is only
// replaced with --force; an OUT that is a FIFO or character device (/dev/null) is written in
// place, a symbolic link is written through.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "event_filters.hpp"
#include "evlib/error.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/summary.hpp"
#include "evlib/writer.hpp"

namespace evlib::cli {

namespace {

struct ConvertArgs {
  std::string in;
  std::string out;
  std::string to;
  ReaderFlags flags;
  FilterFlags filters;
  bool force = false;
  bool quiet = false;
  bool drop_triggers = false;
};

// Set by the signal handler to the signal's number, checked between chunks: the conversion
// then unwinds normally.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int sig) { g_interrupted = sig; }

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// SIGINT, SIGTERM and SIGHUP set a flag for the duration of a conversion (no SA_RESTART needed:
// reads retry on EINTR), and the previous handlers come back afterwards.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    for (std::size_t k = 0; k < std::size(kSignals); ++k) {
      ::sigaction(kSignals[k], nullptr, &old_[k]);
      // A signal ignored by whoever started us (nohup) stays ignored.
      if (old_[k].sa_handler != SIG_IGN) ::sigaction(kSignals[k], &sa, nullptr);
    }
  }
  ~InterruptGuard() {
    for (std::size_t k = 0; k < std::size(kSignals); ++k) ::sigaction(kSignals[k], &old_[k], nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static void check() {
    if (g_interrupted) throw Interrupted();
  }
  // The shell's exit status for the signal that interrupted: 128 + its number.
  static int exit_code() { return 128 + g_interrupted; }

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[std::size(kSignals)] {};
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The target: --to, else the extension (as evlib::Writer picks it), and what the registry says
// about it.
struct Target {
  std::string name;
  FormatInfo info;
};

Target target_format(const ConvertArgs& a) {
  const std::string f = a.to.empty() ? write_format_for(a.out).value_or("") : lower(a.to);
  if (f.empty()) {
    throw InvalidArgument(a.out + ": cannot tell the output format from the extension; give --to (" + writable_list() + ")");
  }
  const auto info = format_info(f);
  if (info && !info->unavailable.empty()) throw UnsupportedFormat::unavailable(a.out, info->unavailable);
  const auto formats = writable_formats();
  if (!info || std::find(formats.begin(), formats.end(), f) == formats.end()) {
    throw InvalidArgument("cannot write format '" + f + "' (writable: " + writable_list() + ")");
  }
  return {f, *info};
}

// Every writer whose file states the sensor size gets one, from the events when the input
// states none, except where it is merely optional (DAT).
bool infer_geometry_for(const Target& target) {
  return target.info.traits.geometry == GeometryNeed::required || target.info.traits.geometry == GeometryNeed::expected;
}


// Fails before any input is read when OUT cannot be written (the Writer checks again).
void check_output(const ConvertArgs& a) {
  struct stat st {};
  if (::stat(a.out.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) throw IoError(a.out, "is a directory: give a file name");
  if (S_ISREG(st.st_mode) && !a.force) throw IoError(a.out, "file exists (use --force to replace it)");
}

// A first pass over the input for the geometry the file does not state.
void infer_geometry(const ConvertArgs& a, const ReadOptions& options, const std::string& target, std::uint32_t& width,
                    std::uint32_t& height) {
  if (!readable_twice(a.in)) {
    throw InvalidArgument(a.in + " states no sensor geometry and a " + target +
                          " file needs one; it cannot be read twice to infer it (not a regular file): give --width and --height");
  }
  Reader reader = Reader::open(a.in, options);
  Summary s;
  Progress progress(reader.metadata().file_size, !a.quiet);
  while (auto chunk = reader.next()) {
    InterruptGuard::check();
    s.add(chunk->events);
    progress.update(chunk->bytes_done, s.events);
  }
  progress.finish();
  if (s.events == 0) {
    throw InvalidArgument(a.in + " states no sensor geometry and has no events to infer it from; give --width and --height");
  }
  if (width == 0) width = s.x_max + 1;
  if (height == 0) height = s.y_max + 1;
  if (!a.quiet) {
    std::fprintf(stderr, "evlib: %s states no geometry; using %u x %u from the events (give --width/--height to set it)\n",
                 a.in.c_str(), width, height);
  }
}

int run_convert(const ConvertArgs& a) {
  if (a.out == "-") {
    throw InvalidArgument("convert writes a file (renamed into place when complete); standard output is not supported");
  }
  const Target target = target_format(a);
  check_output(a);
  const ReadOptions options = a.flags.resolve();
  InterruptGuard guard;
  try {
    const auto start = std::chrono::steady_clock::now();
    Reader reader = Reader::open(a.in, options);
    const Metadata& meta = reader.metadata();
    WriteOptions wo;
    wo.format = target.name;
    wo.overwrite = a.force;
    wo.width = options.width != 0 ? options.width : meta.width;
    wo.height = options.height != 0 ? options.height : meta.height;
    if ((wo.width == 0 || wo.height == 0) && infer_geometry_for(target)) {
      infer_geometry(a, options, target.name, wo.width, wo.height);
    }

    FirstPass first_pass;
    if (readable_twice(a.in)) {
      first_pass = [&](const std::function<void(const EventBatch&)>& visit) {
        Reader pass = Reader::open(a.in, options);
        while (auto chunk = pass.next()) {
          InterruptGuard::check();
          visit(chunk->events);
        }
      };
    }
    EventFilters filters(a.filters, {wo.width, wo.height}, a.in, first_pass);

    Writer writer = Writer::create(a.out, wo);
    Progress progress(meta.file_size, !a.quiet);
    std::uint64_t events = 0, triggers = 0, dropped = 0, events_read = 0;
    while (auto chunk = reader.next()) {
      InterruptGuard::check();
      if (!chunk->triggers.empty() && !target.info.traits.holds_triggers) {
        if (!a.drop_triggers) {
          throw InvalidArgument(a.in + " has external triggers, which a " + target.name +
                                " file cannot hold; add --drop-triggers to convert the events only");
        }
        dropped += chunk->triggers.size();
        chunk->triggers.clear();
      }
      events_read += chunk->events.size();
      if (!filters.empty()) chunk->events = filters.apply(std::move(chunk->events));
      if (events == 0 && !chunk->events.empty()) warn_time_range(target.name, chunk->events.t()[0], a.out);
      try {
        writer.write(chunk->events, chunk->triggers);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("cannot write " + a.out + " as " + target.name + ": " + e.what());
      }
      events += chunk->events.size();
      triggers += chunk->triggers.size();
      progress.update(chunk->bytes_done, events);
    }
    InterruptGuard::check();
    writer.close();
    progress.finish();
    const DecodeStats& st = reader.stats();
    if (st.corrupt() != 0) {
      std::fprintf(stderr, "evlib: warning: %s: %llu corrupt or dropped input items (first problem: %s)\n", a.in.c_str(),
                   static_cast<unsigned long long>(st.corrupt()), first_problem(st).c_str());
    }
    if (dropped != 0 && !a.quiet) {
      std::fprintf(stderr, "evlib: dropped %llu external triggers (--drop-triggers)\n", static_cast<unsigned long long>(dropped));
    }
    if (!a.quiet && !filters.empty()) {
      std::printf("filters kept %llu of %llu events\n", static_cast<unsigned long long>(events),
                  static_cast<unsigned long long>(events_read));
    }
    if (!a.quiet) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("converted %llu events and %llu triggers: %s (%s) -> %s (%s) in %.2f s (%sevents/s)\n",
                  static_cast<unsigned long long>(events), static_cast<unsigned long long>(triggers), a.in.c_str(),
                  meta.format.c_str(), a.out.c_str(), target.name.c_str(), secs,
                  human_count(secs > 0 ? static_cast<double>(events_read) / secs : 0.0).c_str());
    }
    return 0;
  } catch (const Interrupted&) {
    // The Writer has been destroyed by now, and with it the temporary file.
    std::fprintf(stderr, "\nevlib: interrupted; %s was not written\n", a.out.c_str());
    return InterruptGuard::exit_code();
  }
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a recording to another format (streamed, bounded memory)");
  cmd->add_option("IN", args->in, "Recording to read ('-' for stdin)")->required();
  cmd->add_option("OUT", args->out, "File to write (format from --to or the extension)")->required();
  cmd->add_option("--to", args->to, "Output format: " + writable_list());
  cmd->add_flag("--force", args->force, "Replace OUT if it exists");
  cmd->add_flag("--drop-triggers", args->drop_triggers, "Leave out external triggers when the output format cannot hold them");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar or summary");
  args->flags.add_to(*cmd);
  args->filters.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_convert(*args); });
}

}  // namespace evlib::cli
