// evlib bench FILE: decode throughput and peak memory, medians of several runs.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace evlib::cli {

namespace {

struct BenchArgs {
  std::string path;
  ReaderFlags flags;
  int runs = 5;
  bool stream = false;
  bool json = false;
  unsigned threads = 0;  // 0: evlib::read (one decoding thread); N: Scan::collect on N threads
};

// Reads the file once so that every timed run starts with it in the page cache.
void warm_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  std::vector<char> buf(std::size_t{4} << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
}

std::uint64_t peak_rss_bytes() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
}

// One timed decode; returns the number of events.
std::uint64_t decode_once(const BenchArgs& a, const ReadOptions& options) {
  if (!a.stream && a.threads != 0) return Scan(a.path, options).threads(a.threads).collect().size();
  if (!a.stream) return read(a.path, options).events.size();
  Reader reader = Reader::open(a.path, options);
  std::uint64_t n = 0;
  while (auto chunk = reader.next()) n += chunk->events.size();
  return n;
}

int run_bench(const BenchArgs& a) {
  if (a.runs < 1) throw InvalidArgument("--runs must be at least 1");
  const ReadOptions options = a.flags.resolve();
  const Metadata meta = read_metadata(a.path, options);
  warm_page_cache(a.path);
  if (a.threads != 0) {
    // Parallel decoding splits the file at its time index: build it (untimed) if missing.
    Scan warm(a.path, options);
    auto chunks = warm.chunks();
    while (chunks.next()) {
    }
  }
  const std::uint64_t rss_before = peak_rss_bytes();
  std::vector<double> seconds;
  std::uint64_t events = 0;
  for (int r = 0; r < a.runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t n = decode_once(a, options);
    const auto t1 = std::chrono::steady_clock::now();
    if (r > 0 && n != events) throw Error("event count changed between runs: decoder is not deterministic");
    events = n;
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  const std::uint64_t rss = peak_rss_bytes();
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  const double best = sorted.front(), worst = sorted.back();
  const double ev = static_cast<double>(events), mb = static_cast<double>(meta.file_size) / 1e6;
  const double bytes_per_event = events ? static_cast<double>(rss) / ev : 0.0;
  if (a.json) {
    Json j;
    j.field("path", a.path).field("format", meta.format).field("mode", a.stream ? "stream" : "whole-file");
    j.field("threads", a.threads == 0 ? 1u : a.threads);
    j.field("runs", a.runs).field("events", events).field("input_bytes", meta.file_size);
    j.field("median_s", median).field("min_s", best).field("max_s", worst);
    j.field("median_mev_s", ev / median / 1e6).field("min_mev_s", ev / worst / 1e6).field("max_mev_s", ev / best / 1e6);
    j.field("median_mb_s", mb / median).field("peak_rss_bytes", rss).field("rss_before_bytes", rss_before);
    j.field("peak_rss_bytes_per_event", bytes_per_event);
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%s: %s, %llu events, %.1f MB, %s, %d runs\n", a.path.c_str(), meta.format.c_str(),
                static_cast<unsigned long long>(events), mb, a.stream ? "streaming" : "whole file into memory", a.runs);
    std::printf("throughput  median %.1f M events/s (%.0f MB/s); min %.1f, max %.1f M events/s\n", ev / median / 1e6,
                mb / median, ev / worst / 1e6, ev / best / 1e6);
    std::printf("peak RSS    %.1f MiB = %.2f bytes/event\n", static_cast<double>(rss) / (1 << 20), bytes_per_event);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure decode throughput (median, min, max) and peak memory");
  cmd->add_option("FILE", args->path, "Recording to decode")->required();
  cmd->add_option("-r,--runs", args->runs, "Timed runs (default 5)");
  cmd->add_flag("--stream", args->stream, "Measure streaming with reused chunk buffers instead of a whole-file read");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->add_option("--threads", args->threads,
                  "Decode the whole file on N threads (split at the time index, built first if missing)");
  args->flags.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_bench(*args); });
}

}  // namespace evlib::cli
