#pragma once
// Small helpers shared by the subcommands: JSON output, a progress bar, option plumbing.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace evlib::cli {

// Minimal JSON object writer (flat keys, nested objects by hand).
class Json {
 public:
  Json& field(const std::string& key, const std::string& value);
  Json& field(const std::string& key, const char* value) { return field(key, std::string(value)); }
  Json& field(const std::string& key, std::int64_t value);
  Json& field(const std::string& key, std::uint64_t value);
  Json& field(const std::string& key, std::uint32_t value) { return field(key, std::uint64_t{value}); }
  Json& field(const std::string& key, int value) { return field(key, std::int64_t{value}); }
  Json& field(const std::string& key, double value);
  Json& field(const std::string& key, bool value);
  Json& null_field(const std::string& key);
  Json& object(const std::string& key, const Json& inner);
  Json& raw(const std::string& key, const std::string& json_text);
  std::string str() const { return "{" + body_ + "}"; }

  static std::string quote(const std::string& s);

 private:
  void key(const std::string& k);
  std::string body_;
};

// Text from a file made safe to print to a terminal: control characters (an escape sequence in
// a header) as \xNN.
std::string printable(const std::string& s);

// Where the first problem of a decode was and what it was, printable: "at byte N: what", or
// "what" alone when the format gives no byte offset (HDF5 names the event).
std::string first_problem(const DecodeStats& stats);

// A one-line progress bar on stderr, drawn only when stderr is a terminal and not --quiet.
class Progress {
 public:
  Progress(std::uint64_t total, bool enabled);
  ~Progress();
  // Progress as done / total (total from the constructor), or as a fraction when total is 0.
  void update(std::uint64_t done, std::uint64_t events);
  void update(double fraction, std::uint64_t events);
  void finish();

 private:
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// Reader options every reading subcommand accepts.
struct ReaderFlags {
  ReadOptions options;
  std::string format;
  std::size_t chunk = 0;
  void add_to(CLI::App& app);
  ReadOptions resolve() const;
};

// Scan options shared by the streaming commands: a time window, a region, a polarity, threads,
// a memory budget and the time index.
struct ScanFlags {
  std::string from, to;       // "12.5s", "12500ms", "12500000us" or plain µs
  std::string roi;            // "x0,y0,x1,y1"
  int polarity = -1;          // 0 or 1; -1 = both
  unsigned threads = 0;       // 0 = all cores
  std::string memory_limit;   // "64M", "2G", bytes
  bool no_index = false;
  void add_to(CLI::App& app, bool with_filters = true);
  // The selecting options given, for messages: "--from, --roi" ("" when none was).
  std::string selection() const;
  // A scan of path with these flags applied.
  Scan make(const std::string& path, const ReadOptions& options) const;
};

// The values a read option accepts, from the formats that read it ("" = the default, left out).
std::vector<std::string> option_values(FormatOption option);

// Parses a time with unit (s, ms, us; plain numbers are µs).
// Exit code of a wrong command line (an unknown option, a missing or malformed value, a value
// out of range): EX_USAGE. The others: 1 the request cannot be carried out, 2 I/O, 3 unsupported
// format, 4 malformed data, 128 + N a signal N (`evlib --help`, README).
constexpr int kExitUsage = 64;
// The ranges of --chunk (events a chunk; 2^30 events is 13 GiB of columns) and --threads.
constexpr std::uint64_t kMaxChunkEvents = std::uint64_t{1} << 30;
constexpr unsigned kMaxThreads = 256;
// The range of every time option: +-10^18 us (about 31,700 years), so that no unit overflows.
constexpr std::int64_t kMaxAbsTimeUs = 1'000'000'000'000'000'000;
// The smallest --memory-limit.
constexpr std::uint64_t kMinMemoryLimit = std::uint64_t{1} << 20;

// Parses a time: digits with an optional fraction and a unit s, ms or us (none: us); throws
// InvalidArgument for anything else (no exponent, inf or nan) or past kMaxAbsTimeUs.
std::int64_t parse_time_us(const std::string& text);
// Parses a byte size: digits with an optional fraction and a K/M/G/T suffix (powers of 1024).
std::uint64_t parse_bytes(const std::string& text);
// The formats evlib::Writer accepts, comma separated, for help texts and messages.
std::string writable_list();
struct Roi {
  std::uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};
// Parses x0,y0,x1,y1: four whole numbers from 0 to 65536, x0 <= x1 and y0 <= y1.
Roi parse_roi(const std::string& text);
// CLI11 validators running the parsers above while the command line is parsed, so that a bad
// value is a usage error before any work starts.
// A validator that accepts what `parse` accepts and says why it does not otherwise.
template <class Parse>
CLI::Validator parsed_by(Parse parse, const std::string& what) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      },
      what);
}
CLI::Validator time_value();
CLI::Validator size_value();
CLI::Validator roi_value();
// A number in [lo, hi]; unlike CLI::Range it refuses nan.
CLI::Validator number_in(double lo, double hi);
// A comma-separated list of whole numbers in [1, max], e.g. "1,2,4": what --chunk-sizes and
// --compare-threads take. Throws InvalidArgument otherwise.
std::vector<std::uint64_t> parse_count_list(const std::string& text, std::uint64_t max);
CLI::Validator count_list_value(std::uint64_t max);

// Throws IoError naming standard output when what was printed to it could not all be written.
void finish_stdout();
// RAW encodings keep time modulo a power of two from their first TIME_HIGH on: events written
// to `format` from t_first on read back shifted when t_first is past it. Says so on stderr.
void warn_time_range(const std::string& format, std::int64_t t_first, const std::string& out);
// Signals that end the process first remove the temporary files of unfinished writes
// (evlib::remove_temporary_files); SIGXFSZ is ignored, so that a write past `ulimit -f` fails
// with EFBIG like any full disk instead of killing the process.
void remove_temporary_files_on_signals();

// Refuses an output that is the input file itself (by device and inode: through a symlink or
// another name too): --force replaces an old output, never the recording being read.
class InputGuard {
 public:
  explicit InputGuard(std::string input);
  // Throws IoError naming output when it is the input file.
  void refuse(const std::string& output) const;

 private:
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool known_ = false;
};

// Whether path can be read twice (a first pass, then the real one): a regular file, or standard
// input ("-") redirected from one and not consumed yet.
bool readable_twice(const std::string& path);
bool stderr_is_terminal();
std::string human_count(double v);

}  // namespace evlib::cli
