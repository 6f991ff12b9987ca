// evlib generate OUT: write a seeded synthetic recording (for tests and benchmarks).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/formats.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"

namespace evlib::cli {

namespace {

struct GenerateArgs {
  std::string path;
  std::string format;
  std::uint64_t events = 10'000'000;
  SceneOptions scene;
  std::string scene_name = "noise";  // --scene: noise or edges (checked by CLI11)
  bool force = false;
  bool quiet = false;
};

// The format written: --to, else the extension's (only .raw, EVT 3.0, keeps time modulo a period).
std::string output_format(const GenerateArgs& a) {
  std::string f = a.format;
  std::transform(f.begin(), f.end(), f.begin(), [](unsigned char c) { return std::tolower(c); });
  if (f.empty() && a.path.size() >= 4 && a.path.compare(a.path.size() - 4, 4, ".raw") == 0) f = "evt3";
  return f;
}

int run_generate(const GenerateArgs& a) {
  WriteOptions wo;
  wo.format = a.format;
  wo.width = a.scene.width;
  wo.height = a.scene.height;
  wo.overwrite = a.force;
  // The seed goes into the header of a format that has one (a .npy or text file has none).
  const std::string format = !a.format.empty() ? a.format : write_format_for(a.path).value_or("");
  const std::optional<FormatInfo> info = format_info(format);
  if (info && std::any_of(info->write_options.begin(), info->write_options.end(),
                          [](const FormatOptionInfo& o) { return o.option == FormatOption::header; }))
    wo.header.emplace_back("evlib_synthetic_seed", std::to_string(a.scene.seed));
  Writer writer = Writer::create(a.path, wo);
  SceneGenerator gen(a.scene);
  EventBatch batch = EventBatch::with_capacity(std::size_t{1} << 20);
  TriggerBatch triggers;
  Progress progress(a.events, !a.quiet);
  std::uint64_t done = 0;
  while (done < a.events) {
    batch.set_size(0);
    triggers.clear();
    gen.generate(batch, triggers, static_cast<std::size_t>(std::min<std::uint64_t>(a.events - done, batch.capacity())));
    if (done == 0 && !batch.empty()) warn_time_range(output_format(a), batch.t()[0], a.path);
    writer.write(batch, triggers);
    done += batch.size();
    progress.update(done, done);
  }
  progress.finish();
  writer.close();
  if (!a.quiet) std::fprintf(stderr, "wrote %llu events to %s\n", static_cast<unsigned long long>(done), a.path.c_str());
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Write a seeded synthetic recording in any writable format");
  cmd->add_option("OUT", args->path, "Output file")->required();
  cmd->add_option("--to,--format", args->format, "Output format: " + writable_list() + " (default: from the extension)");
  cmd->add_option("-n,--events", args->events, "Number of events, 0 to 10^12 (default 10000000)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000'000'000}));
  cmd->add_option("--width", args->scene.width, "Sensor width, 32 to 65536 (default 1280; RAW formats hold at most 2048)")->check(CLI::Range(32u, 65536u));
  cmd->add_option("--height", args->scene.height, "Sensor height, 1 to 65536 (default 720; RAW formats hold at most 2048)")->check(CLI::Range(1u, 65536u));
  cmd->add_option("--seed", args->scene.seed, "Random seed (default 1)");
  cmd->add_option("--rate", args->scene.event_rate, "Mean event rate in events/s, 0.001 to 1e10 (default 2e7)")
      ->check(number_in(1e-3, 1e10));
  cmd->add_option("--t-start", args->scene.t_start, "Time of the first event in µs, 0 to 1e18 (default 0)")
      ->check(CLI::Range(std::int64_t{0}, kMaxAbsTimeUs));
  cmd->add_option("--trigger-rate", args->scene.trigger_rate, "Trigger edges per second, 0 to 1e9 (default 0; evt2, evt3, hdf5 and aedat4 hold triggers)")
      ->check(number_in(0, 1e9));
  cmd->add_option("--run-fraction", args->scene.run_fraction, "Fraction of bursts that are row runs, 0 to 1 (default 0.1; scene noise)")
      ->check(number_in(0, 1));
  cmd->add_option("--scene", args->scene_name,
                  "noise: pixels spread uniformly (default); edges: the rims of a dozen moving discs and background activity")
      ->check(CLI::IsMember({"noise", "edges"}));
  cmd->add_option("--background", args->scene.background_share,
                  "Scene edges: share of background-activity events (uniform pixels), 0 to 1 (default 0.05)")
      ->check(number_in(0, 1));
  cmd->add_flag("-f,--force", args->force, "Replace OUT if it exists");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress or summary on stderr");
  cmd->callback([args, &exit_code] {
    args->scene.kind = args->scene_name == "edges" ? SceneKind::kMovingEdges : SceneKind::kNoise;
    exit_code = run_generate(*args);
  });
}

}  // namespace evlib::cli
