// evlib convert IN OUT: any readable recording to any writable format, streamed chunk by chunk
// (Reader -> Writer), so memory stays bounded whatever the input size.
//
// The Writer writes to a temporary file renamed into place by close(); every failure path
// (corrupt input in --strict mode, an event the target cannot hold, SIGINT/SIGTERM/SIGHUP)
// unwinds through the Writer's destructor, which removes that file. An existing OUT is only
// replaced with --force; an OUT that is a FIFO or character device (/dev/null) is written in
// place, a symbolic link is written through.
//
// With --recursive, IN and OUT are directories: every event file under IN is converted to the
// same relative path under OUT with the target's extension, several files at once (--jobs), each
// streamed as above. Since an output appears only when complete, a rerun skips the files that
// exist and converts the rest (resumable); --force converts everything again. A file that fails
// is reported and the others go on; the exit status is then 1 and the failed files are named.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <memory>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

namespace fs = std::filesystem;

struct ConvertArgs {
  std::string in;
  std::string out;
  std::string to;
  ReaderFlags flags;
  FilterFlags filters;
  bool force = false;
  bool quiet = false;
  bool drop_triggers = false;
  bool recursive = false;
  unsigned jobs = 0;  // --recursive: files at once (0: the number of cores)
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
  InputGuard(a.in).refuse(a.out);
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

// What one conversion did.
struct Converted {
  std::string in_format;
  std::uint64_t events = 0, triggers = 0, dropped = 0, events_read = 0;
  double seconds = 0;
};

// Converts a.in to a.out (no signal handling: the caller holds the InterruptGuard); throws on
// any failure, Interrupted when a signal came. Shows a progress bar unless a.quiet.
Converted convert_file(const ConvertArgs& a, const Target& target, const ReadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  InputGuard(a.in).refuse(a.out);  // --force replaces an old output, never the recording read
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
  Converted done;
  done.in_format = meta.format;
  while (auto chunk = reader.next()) {
    InterruptGuard::check();
    if (!chunk->triggers.empty() && !target.info.traits.holds_triggers) {
      if (!a.drop_triggers) {
        throw InvalidArgument(a.in + " has external triggers, which a " + target.name +
                              " file cannot hold; add --drop-triggers to convert the events only");
      }
      done.dropped += chunk->triggers.size();
      chunk->triggers.clear();
    }
    done.events_read += chunk->events.size();
    if (!filters.empty()) chunk->events = filters.apply(std::move(chunk->events));
    if (done.events == 0 && !chunk->events.empty()) warn_time_range(target.name, chunk->events.t()[0], a.out);
    try {
      writer.write(chunk->events, chunk->triggers);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("cannot write " + a.out + " as " + target.name + ": " + e.what());
    }
    done.events += chunk->events.size();
    done.triggers += chunk->triggers.size();
    progress.update(chunk->bytes_done, done.events);
  }
  InterruptGuard::check();
  writer.close();
  progress.finish();
  const DecodeStats& st = reader.stats();
  if (st.corrupt() != 0) {
    std::fprintf(stderr, "evlib: warning: %s: %llu corrupt or dropped input items (first problem: %s)\n", a.in.c_str(),
                 static_cast<unsigned long long>(st.corrupt()), first_problem(st).c_str());
  }
  done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return done;
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
    const Converted done = convert_file(a, target, options);
    if (done.dropped != 0 && !a.quiet) {
      std::fprintf(stderr, "evlib: dropped %llu external triggers (--drop-triggers)\n", static_cast<unsigned long long>(done.dropped));
    }
    if (!a.quiet && a.filters.any()) {
      std::printf("filters kept %llu of %llu events\n", static_cast<unsigned long long>(done.events),
                  static_cast<unsigned long long>(done.events_read));
    }
    if (!a.quiet) {
      std::printf("converted %llu events and %llu triggers: %s (%s) -> %s (%s) in %.2f s (%sevents/s)\n",
                  static_cast<unsigned long long>(done.events), static_cast<unsigned long long>(done.triggers), a.in.c_str(),
                  done.in_format.c_str(), a.out.c_str(), target.name.c_str(), done.seconds,
                  human_count(done.seconds > 0 ? static_cast<double>(done.events_read) / done.seconds : 0.0).c_str());
    }
    return 0;
  } catch (const Interrupted&) {
    // The Writer has been destroyed by now, and with it the temporary file.
    std::fprintf(stderr, "\nevlib: interrupted; %s was not written\n", a.out.c_str());
    return InterruptGuard::exit_code();
  }
}

// ---- convert --recursive SRC_DIR DST_DIR: a directory tree, file by file, several at once ----

// The extension of the target's files: the first one that maps back to the target's name
// (".csv" for csv, not text's ".txt"), else its usual one.
std::string output_extension(const Target& target) {
  for (const std::string& ext : target.info.write_extensions) {
    if (write_format_for("x" + ext) == target.name) return ext;
  }
  if (target.info.write_extensions.empty()) throw InvalidArgument("format " + target.name + " has no file extension");
  return target.info.write_extensions.front();
}

constexpr std::string_view kTempPrefix = ".evlib-tmp-";  // src/io/atomic_file.hpp

bool is_temporary(const fs::path& p) { return p.filename().string().starts_with(kTempPrefix); }

struct TreeFile {
  fs::path in, out;
  std::string rel_in, rel_out;  // relative to SRC and DST: what messages name
};

enum class Outcome { kPending, kConverted, kExists, kUnrecognised, kFailed, kInterrupted };

struct TreeResult {
  Outcome outcome = Outcome::kPending;
  std::string message;  // the error, or why it was skipped
  std::uint64_t events = 0;
};

// Files of the tree in path order, DST left out when it lies inside SRC, temporary files of
// unfinished writes left out.
std::vector<TreeFile> list_tree(const fs::path& src, const fs::path& dst, const std::string& ext) {
  const fs::path dst_real = fs::weakly_canonical(dst);
  std::vector<TreeFile> files;
  for (auto it = fs::recursive_directory_iterator(src, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && fs::weakly_canonical(it->path()) == dst_real) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || is_temporary(it->path())) continue;
    TreeFile f;
    f.in = it->path();
    const fs::path rel = fs::relative(f.in, src);
    f.out = dst / rel;
    f.out.replace_extension(ext);
    f.rel_in = rel.string();
    f.rel_out = fs::relative(f.out, dst).string();
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](const TreeFile& a, const TreeFile& b) { return a.in < b.in; });
  return files;
}

// Event files whose outputs would share a name (a.dat and a.raw both to a.npy): each would
// replace the other's output, which one last depending on the jobs' timing. None of them is
// converted; each fails, naming the others. Files that are no recordings (a rec.bias beside
// rec.raw) and a file that is its own output (an earlier run's, converting in place) collide
// with nothing. Returns which files collide.
std::vector<bool> refuse_colliding_outputs(const std::vector<TreeFile>& files, const ReadOptions& options,
                                           std::vector<TreeResult>& results) {
  std::map<fs::path, std::vector<std::size_t>> by_output;
  for (std::size_t i = 0; i < files.size(); ++i)
    if (files[i].out != files[i].in) by_output[files[i].out].push_back(i);
  const auto recording = [&](std::size_t i) {
    if (!options.format.empty()) return true;  // --format: every file is read as one
    try {
      (void)detect_format(files[i].in.string());
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  std::vector<bool> colliding(files.size(), false);
  for (auto& [out, all] : by_output) {
    if (all.size() < 2) continue;
    std::vector<std::size_t> group;
    for (const std::size_t i : all)
      if (recording(i)) group.push_back(i);
    if (group.size() < 2) continue;
    std::string names;
    for (const std::size_t i : group) names += (names.empty() ? "" : ", ") + files[i].rel_in;
    for (const std::size_t i : group) {
      colliding[i] = true;
      results[i] = {Outcome::kFailed, names + " would all be converted to " + files[i].rel_out + ": none converted (rename all but one)", 0};
    }
  }
  return colliding;
}

// A run killed outright (SIGKILL, power loss) leaves its temporary files behind: never a file
// under its final name, so removing them loses nothing. Returns how many were removed.
std::size_t remove_stale_temporaries(const fs::path& dst) {
  std::size_t removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dst, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(dst, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && is_temporary(it->path()) && fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

TreeResult convert_tree_file(const ConvertArgs& a, const Target& target, const ReadOptions& options, const TreeFile& f) {
  try {
    if (options.format.empty()) {
      try {
        (void)detect_format(f.in.string());
      } catch (const UnsupportedFormat&) {
        return {Outcome::kUnrecognised, "not a recognised event file", 0};
      }
    }
    if (fs::weakly_canonical(f.in) == fs::weakly_canonical(f.out)) {
      return {Outcome::kFailed, "the output would replace the input (choose another DST_DIR or --to)", 0};
    }
    fs::create_directories(f.out.parent_path());
    ConvertArgs one = a;
    one.in = f.in.string();
    one.out = f.out.string();
    one.quiet = true;
    const Converted done = convert_file(one, target, options);
    return {Outcome::kConverted, "", done.events};
  } catch (const Interrupted&) {
    return {Outcome::kInterrupted, "interrupted", 0};
  } catch (const std::exception& e) {
    return {Outcome::kFailed, e.what(), 0};
  }
}

int run_recursive(const ConvertArgs& a) {
  if (a.to.empty()) throw InvalidArgument("convert --recursive needs --to FORMAT (" + writable_list() + ")");
  const Target target = target_format(a);
  const ReadOptions options = a.flags.resolve();
  const fs::path src = a.in, dst = a.out;
  if (!fs::is_directory(src)) throw IoError(a.in, "is not a directory (convert --recursive SRC_DIR DST_DIR)");
  if (fs::exists(dst) && !fs::is_directory(dst)) throw IoError(a.out, "exists and is not a directory");

  const std::vector<TreeFile> files = list_tree(src, dst, output_extension(target));
  const std::size_t stale = remove_stale_temporaries(dst);
  if (stale != 0 && !a.quiet) {
    std::fprintf(stderr, "evlib: removed %zu temporary file(s) left in %s by an interrupted run\n", stale, a.out.c_str());
  }
  std::vector<TreeResult> results(files.size());
  const std::vector<bool> colliding = refuse_colliding_outputs(files, options, results);
  for (std::size_t i = 0; i < files.size(); ++i)
    if (colliding[i]) std::fprintf(stderr, "evlib: error: %s: %s\n", files[i].in.c_str(), results[i].message.c_str());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (colliding[i]) continue;
    if (!a.force && fs::exists(files[i].out)) {
      results[i] = {Outcome::kExists, "", 0};  // complete: outputs appear only by rename
    } else {
      todo.push_back(i);
    }
  }
  const unsigned jobs = std::max(1u, std::min<unsigned>(a.jobs != 0 ? a.jobs : std::max(1u, std::thread::hardware_concurrency()),
                                                        static_cast<unsigned>(std::max<std::size_t>(todo.size(), 1))));
  if (!a.quiet) {
    std::printf("%zu file(s) in %s: %zu not yet converted to %s, %zu already converted; %u at a time\n", files.size(), a.in.c_str(),
                todo.size(), target.name.c_str(),
                static_cast<std::size_t>(std::count_if(results.begin(), results.end(),
                                                       [](const TreeResult& r) { return r.outcome == Outcome::kExists; })),
                jobs);
    std::fflush(stdout);
  }

  InterruptGuard guard;
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::size_t finished = 0;
  std::uint64_t events = 0;
  std::mutex report;
  auto work = [&] {
    for (std::size_t k; (k = next++) < todo.size();) {
      if (g_interrupted) return;
      const TreeFile& f = files[todo[k]];
      TreeResult r = convert_tree_file(a, target, options, f);
      const std::lock_guard lock(report);
      ++finished;
      events += r.events;
      if (!a.quiet && r.outcome == Outcome::kConverted) {
        std::printf("[%zu/%zu] %s -> %s (%sevents)\n", finished, todo.size(), f.rel_in.c_str(), f.rel_out.c_str(),
                    human_count(static_cast<double>(r.events)).c_str());
        std::fflush(stdout);
      } else if (r.outcome == Outcome::kUnrecognised && !a.quiet) {
        std::fprintf(stderr, "evlib: skipped %s: %s\n", f.in.c_str(), r.message.c_str());
      } else if (r.outcome == Outcome::kFailed) {
        // Most errors name the file already.
        const bool named = r.message.find(f.in.string()) != std::string::npos;
        std::fprintf(stderr, "evlib: error: %s%s%s\n", named ? "" : f.in.c_str(), named ? "" : ": ", r.message.c_str());
      }
      results[todo[k]] = std::move(r);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned k = 0; k < jobs; ++k) pool.emplace_back(work);
  }

  std::vector<std::string> failed;
  std::size_t converted = 0, unrecognised = 0, existing = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (results[i].outcome == Outcome::kFailed) failed.push_back(files[i].in.string());
    converted += results[i].outcome == Outcome::kConverted;
    existing += results[i].outcome == Outcome::kExists;
    unrecognised += results[i].outcome == Outcome::kUnrecognised;
  }
  if (g_interrupted) {
    std::fprintf(stderr, "\nevlib: interrupted after converting %zu file(s); rerun the same command to convert the rest\n", converted);
    return InterruptGuard::exit_code();
  }
  if (!a.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("converted %zu file(s) (%sevents) in %.2f s; %zu already converted, %zu not event files, %zu failed\n", converted,
                human_count(static_cast<double>(events)).c_str(), secs, existing, unrecognised, failed.size());
  }
  if (!failed.empty()) {
    std::string names;
    for (const std::string& name : failed) names += (names.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "evlib: %zu file(s) failed: %s\n", failed.size(), names.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a recording to another format (streamed, bounded memory)");
  cmd->add_option("IN", args->in, "Recording to read ('-' for stdin); with --recursive, a directory")->required();
  cmd->add_option("OUT", args->out, "File to write (format from --to or the extension); with --recursive, a directory")->required();
  cmd->add_flag("-r,--recursive", args->recursive,
                "Convert every event file under the directory IN to the same relative path under OUT, with the --to "
                "format's extension; files already converted are skipped (outputs appear complete or not at all), "
                "other files are skipped with a note, and a failed file does not stop the others");
  cmd->add_option("-j,--jobs", args->jobs, "With --recursive: files converted at once (default: the number of cores)")
      ->check(CLI::Range(1u, kMaxThreads));
  cmd->add_option("--to", args->to, "Output format: " + writable_list());
  cmd->add_flag("-f,--force", args->force, "Replace OUT if it exists (with --recursive: convert again files already converted)");
  cmd->add_flag("--drop-triggers", args->drop_triggers, "Leave out external triggers when the output format cannot hold them");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar or summary");
  args->flags.add_to(*cmd);
  args->filters.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = args->recursive ? run_recursive(*args) : run_convert(*args); });
}

}  // namespace evlib::cli
