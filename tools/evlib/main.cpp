// evlib: inspect, dump, benchmark, generate and convert event-camera recordings.
#include <cstdio>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"evlib: fast, correct event-camera data. Reads Prophesee RAW (EVT 2.0/2.1/3.0), DAT and HDF5 (ECF),\n"
               "iniVation AEDAT 1.0/2.0/3.x/4.0, text/CSV and NumPy .npy/.npz; writes " + evlib::cli::writable_list() + "."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "evlib 0.1.0");
  int exit_code = 0;
  evlib::cli::add_info_command(app, exit_code);
  evlib::cli::add_dump_command(app, exit_code);
  evlib::cli::add_bench_command(app, exit_code);
  evlib::cli::add_generate_command(app, exit_code);
  evlib::cli::add_convert_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const evlib::UnsupportedFormat& e) {
    std::fprintf(stderr, "evlib: error: %s\n", e.what());
    return 3;
  } catch (const evlib::FormatError& e) {
    std::fprintf(stderr, "evlib: error: %s\n", e.what());
    return 4;
  } catch (const evlib::IoError& e) {
    std::fprintf(stderr, "evlib: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "evlib: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
