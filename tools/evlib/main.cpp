// evlib: inspect, dump, benchmark, generate and convert event-camera recordings.
#include <cstdio>
#include <new>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/error.hpp"

namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 success; 1 the request cannot be carried out (e.g. the target format cannot hold\n"
    "the data); 2 I/O error (missing file, unwritable output, full disk); 3 unsupported format;\n"
    "4 malformed data (--strict); 64 wrong command line (unknown option, missing, malformed or\n"
    "out-of-range value); 128+N ended by signal N (130: SIGINT). Errors are one line on stderr.";

// Prints an error as one line (a message may hold line breaks, or bytes of a file) and returns code.
int fail(int code, std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "evlib: error: %s\n", evlib::cli::printable(message).c_str());
  return code;
}

// A command-line error in one line, with the help to read, and the usage exit code. --help and
// --version (CLI11 reports them as "errors" with exit code 0) print as usual.
int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == 0) return app.exit(e);
  std::string command = "evlib";
  for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
  std::string message = e.what();
  if (command == "evlib" && argc > 1 && argv[1][0] != '-') {
    message = "unknown command '" + std::string(argv[1]) + "' (commands:";
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) message += " " + sub->get_name();
    message += ")";
  }
  return fail(evlib::cli::kExitUsage, message + " (see '" + command + " --help')");
}

}  // namespace

int main(int argc, char** argv) {
  evlib::cli::remove_temporary_files_on_signals();
  CLI::App app{"evlib: fast, correct event-camera data. Reads Prophesee RAW (EVT 2.0/2.1/3.0), DAT and HDF5 (ECF),\n"
               "iniVation AEDAT 1.0/2.0/3.x/4.0, text/CSV and NumPy .npy/.npz; writes " + evlib::cli::writable_list() + "."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "evlib 0.1.0");
  app.footer(kExitCodes);
  int exit_code = 0;
  evlib::cli::add_info_command(app, exit_code);
  evlib::cli::add_dump_command(app, exit_code);
  evlib::cli::add_bench_command(app, exit_code);
  evlib::cli::add_generate_command(app, exit_code);
  evlib::cli::add_convert_command(app, exit_code);
  evlib::cli::add_render_command(app, exit_code);
  evlib::cli::add_frames_command(app, exit_code);
  try {
    app.parse(argc, argv);
    evlib::cli::finish_stdout();
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  } catch (const evlib::UnsupportedFormat& e) {
    return fail(3, e.what());
  } catch (const evlib::FormatError& e) {
    return fail(4, e.what());
  } catch (const evlib::IoError& e) {
    return fail(2, e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, "out of memory (give a smaller --chunk or --memory-limit, or fewer --threads)");
  } catch (const std::exception& e) {
    return fail(1, e.what());
  }
  return exit_code;
}
