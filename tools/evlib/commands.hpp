#pragma once
#include <CLI/CLI.hpp>

namespace evlib::cli {

// Each registers its subcommand; the callback runs it and sets the exit code.
void add_info_command(CLI::App& app, int& exit_code);
void add_dump_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_generate_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_render_command(CLI::App& app, int& exit_code);
void add_frames_command(CLI::App& app, int& exit_code);

}  // namespace evlib::cli
