// evlib info FILE: what a recording holds, streamed in bounded memory.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/summary.hpp"

namespace evlib::cli {

namespace {

struct InfoArgs {
  std::string path;
  ReaderFlags flags;
  ScanFlags scan;
  bool json = false;
  bool digest = false;
  bool quiet = false;
};

void print_human(const Metadata& m, const Summary& s, const DecodeStats& st, const std::string& digest_hex,
                 bool inferred) {
  std::printf("file            %s\n", printable(m.path).c_str());
  std::printf("format          %s\n", m.format.c_str());
  std::printf("geometry        %u x %u%s\n", m.width, m.height, inferred ? " (inferred from the events)" : "");
  std::printf("file size       %llu bytes (events from byte %llu)\n", static_cast<unsigned long long>(m.file_size),
              static_cast<unsigned long long>(m.data_offset));
  std::printf("header         %s\n", m.header.empty() ? " (none)" : "");
  for (const auto& [k, v] : m.header) std::printf("  %-24s %s\n", printable(k).c_str(), printable(v).c_str());
  std::printf("events          %llu\n", static_cast<unsigned long long>(s.events));
  if (s.events > 0) {
    std::printf("first t         %lld us\n", static_cast<long long>(s.t_first));
    std::printf("last t          %lld us\n", static_cast<long long>(s.t_last));
    std::printf("t range         [%lld, %lld] us\n", static_cast<long long>(s.t_min), static_cast<long long>(s.t_max));
    std::printf("duration        %.6f s\n", static_cast<double>(s.duration()) / 1e6);
    std::printf("mean rate       %sevents/s\n", human_count(s.rate()).c_str());
    std::printf("x range         [%u, %u]\n", s.x_min, s.x_max);
    std::printf("y range         [%u, %u]\n", s.y_min, s.y_max);
    std::printf("ON / OFF        %llu / %llu\n", static_cast<unsigned long long>(s.on),
                static_cast<unsigned long long>(s.off));
    if (s.backward_steps) std::printf("time steps back %llu\n", static_cast<unsigned long long>(s.backward_steps));
  }
  std::printf("triggers        %llu\n", static_cast<unsigned long long>(s.triggers));
  std::printf("corrupt/dropped %llu\n", static_cast<unsigned long long>(st.corrupt() + st.before_first_time_high));
  for (const auto& [name, value] : st.counters()) {
    if (value != 0) std::printf("  %-24s %llu\n", name.c_str(), static_cast<unsigned long long>(value));
  }
  if (!st.first_error.empty()) {
    std::printf("  first problem    %s\n", first_problem(st).c_str());
  }
  if (!digest_hex.empty()) std::printf("digest          %s\n", digest_hex.c_str());
}

void print_json(const Metadata& m, const Summary& s, const DecodeStats& st, const std::string& digest_hex,
                bool inferred, double seconds) {
  Json header;
  for (const auto& [k, v] : m.header) header.field(k, v);
  Json stats;
  for (const auto& [name, value] : st.counters()) stats.field(name, value);
  stats.field("corrupt", st.corrupt());
  stats.field("words", st.words);  // input words (records) decoded: shows what a time index saved
  if (!st.first_error.empty()) {
    if (st.first_error_offset == FormatError::kNoOffset) {
      stats.null_field("first_error_offset");
    } else {
      stats.field("first_error_offset", st.first_error_offset);
    }
    stats.field("first_error", st.first_error);
  }
  Json j;
  j.field("path", m.path).field("format", m.format).field("width", m.width).field("height", m.height);
  j.field("geometry_inferred", inferred);
  j.field("file_size", m.file_size).field("data_offset", m.data_offset);
  j.field("events", s.events);
  if (s.events > 0) {
    j.field("t_min", s.t_min).field("t_max", s.t_max).field("t_first", s.t_first).field("t_last", s.t_last);
    j.field("duration_us", s.duration()).field("rate", s.rate());
    j.field("x_min", s.x_min).field("x_max", s.x_max).field("y_min", s.y_min).field("y_max", s.y_max);
  } else {
    for (const char* k : {"t_min", "t_max", "t_first", "t_last", "x_min", "x_max", "y_min", "y_max"}) j.null_field(k);
    j.field("duration_us", std::int64_t{0}).field("rate", 0.0);
  }
  j.field("on", s.on).field("off", s.off).field("triggers", s.triggers);
  j.field("time_shift", m.time_shift);
  j.object("header", header).object("decode", stats);
  if (!digest_hex.empty()) j.field("digest", digest_hex);
  j.field("seconds", seconds);  // opening to summary, in this process (no start-up, no printing)
  std::printf("%s\n", j.str().c_str());
}

int run_info(const InfoArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  Summary summary;
  std::unique_ptr<EventDigest> digest;
  if (a.digest) digest = std::make_unique<EventDigest>();
  Progress progress(0, !a.quiet);
  const Scan scan = a.scan.make(a.path, a.flags.resolve()).on_progress([&](const ScanProgress& p) {
    progress.update(p.fraction(), p.events);
  });
  BatchStream chunks = scan.chunks();
  while (auto chunk = chunks.next()) {
    summary.add(chunk->events);
    summary.add(chunk->triggers);
    if (digest) digest->update(chunk->events);
  }
  progress.finish();
  Metadata m = chunks.metadata();  // the stream's: with the time shift it learnt while decoding
  const DecodeStats stats = chunks.stats();
  // Geometry the file does not state is inferred from the events (docs/formats.md 0.5).
  const bool inferred = (m.width == 0 || m.height == 0) && summary.events > 0;
  if (inferred) {
    if (m.width == 0) m.width = summary.x_max + 1;
    if (m.height == 0) m.height = summary.y_max + 1;
  }
  const std::string hex = digest ? digest->finish() : "";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.json) {
    print_json(m, summary, stats, hex, inferred, seconds);
  } else {
    print_human(m, summary, stats, hex, inferred);
  }
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Summarise a recording: format, geometry, header, counts, time range");
  cmd->add_option("FILE", args->path, "Recording to read")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->add_flag("--digest", args->digest, "Add the SHA-256 of the decoded events (13-byte rows t,x,y,p)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  args->flags.add_to(*cmd);
  args->scan.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_info(*args); });
}

}  // namespace evlib::cli
