// evlib dump FILE: print events as text.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "event_filters.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace evlib::cli {

namespace {

struct DumpArgs {
  std::string path;
  ReaderFlags flags;
  ScanFlags scan;
  FilterFlags filters;
  bool quiet = false;
  std::uint64_t head = std::numeric_limits<std::uint64_t>::max();
  bool csv = false;
  bool triggers = false;
};

// Buffered writer to standard output with to_chars: dumping is I/O bound, not printf bound.
// Every write is checked: a full disk or a closed descriptor ends the dump with an error.
class Out {
 public:
  void number(std::int64_t v) {
    if (used_ + 24 > sizeof buf_) flush();
    used_ = static_cast<std::size_t>(std::to_chars(buf_ + used_, buf_ + sizeof buf_, v).ptr - buf_);
  }
  void ch(char c) {
    if (used_ + 1 > sizeof buf_) flush();
    buf_[used_++] = c;
  }
  void text(const char* s) {
    while (*s) ch(*s++);
  }
  void flush() {
    std::size_t done = 0;
    while (done < used_) {
      const ssize_t r = ::write(STDOUT_FILENO, buf_ + done, used_ - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IoError("standard output", std::string("write failed: ") + std::strerror(errno));
      done += static_cast<std::size_t>(r);
    }
    used_ = 0;
  }

 private:
  char buf_[1 << 16];
  std::size_t used_ = 0;
};

int run_dump(const DumpArgs& a) {
  Progress progress(0, !a.quiet);
  const Scan scan = a.scan.make(a.path, a.flags.resolve()).on_progress([&](const ScanProgress& p) {
    progress.update(p.fraction(), p.events);
  });
  const ReadOptions options = a.flags.resolve();
  FirstPass first_pass;
  if (readable_twice(a.path)) {
    first_pass = [&](const std::function<void(const EventBatch&)>& visit) {
      BatchStream pass = a.scan.make(a.path, options).chunks();
      while (auto chunk = pass.next()) visit(chunk->events);
    };
  }
  EventFilters filters(a.filters,
                       {options.width != 0 ? options.width : scan.metadata().width, options.height != 0 ? options.height : scan.metadata().height},
                       a.path, first_pass);
  BatchStream chunks = scan.chunks();
  Out out;
  const char sep = a.csv ? ',' : ' ';
  if (a.triggers) {
    out.text(a.csv ? "t,channel,value\n" : "# t channel value\n");
  } else {
    out.text(a.csv ? "t,x,y,p\n" : "# t x y p\n");
  }
  std::uint64_t printed = 0;
  while (printed < a.head) {
    auto chunk = chunks.next();
    if (!chunk) break;
    if (a.triggers) {
      const TriggerBatch& tr = chunk->triggers;
      for (std::size_t i = 0; i < tr.size() && printed < a.head; ++i, ++printed) {
        out.number(tr.t[i]), out.ch(sep), out.number(tr.channel[i]), out.ch(sep), out.number(tr.value[i]), out.ch('\n');
      }
      continue;
    }
    const EventBatch e = filters.apply(std::move(chunk->events));
    const auto t = e.t();
    const auto x = e.x();
    const auto y = e.y();
    const auto p = e.p();
    for (std::size_t i = 0; i < e.size() && printed < a.head; ++i, ++printed) {
      out.number(t[i]), out.ch(sep), out.number(x[i]), out.ch(sep), out.number(y[i]), out.ch(sep), out.number(p[i]);
      out.ch('\n');
    }
  }
  out.flush();
  return 0;
}

}  // namespace

void add_dump_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DumpArgs>();
  CLI::App* cmd = app.add_subcommand("dump", "Print events (t x y p, one per line)");
  cmd->add_option("FILE", args->path, "Recording to read")->required();
  cmd->add_option("-n,--head", args->head, "Print only the first N events (or triggers)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{std::numeric_limits<std::int64_t>::max()}));
  cmd->add_flag("--csv", args->csv, "Comma-separated with a header line");
  cmd->add_flag("--triggers", args->triggers, "Print the external trigger table instead of events");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  args->flags.add_to(*cmd);
  args->scan.add_to(*cmd);
  args->filters.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_dump(*args); });
}

}  // namespace evlib::cli
