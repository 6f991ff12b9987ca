#pragma once
// Small helpers shared by the subcommands: JSON output, a progress bar, option plumbing.
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
  // A scan of path with these flags applied.
  Scan make(const std::string& path, const ReadOptions& options) const;
};

// The values a read option accepts, from the formats that read it ("" = the default, left out).
std::vector<std::string> option_values(FormatOption option);

// Parses a time with unit (s, ms, us; plain numbers are µs).
std::int64_t parse_time_us(const std::string& text);
// Parses a byte size with an optional K/M/G suffix (powers of 1024).
std::uint64_t parse_bytes(const std::string& text);
// The formats evlib::Writer accepts, comma separated, for help texts and messages.
std::string writable_list();

bool stderr_is_terminal();
std::string human_count(double v);

}  // namespace evlib::cli
