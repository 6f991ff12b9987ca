#include "cli_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "evlib/error.hpp"
#include "evlib/writer.hpp"
#include "evlib/temporary_files.hpp"

namespace evlib::cli {

namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points past U+10FFFF are not).
std::size_t utf8_sequence(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned c = byte(i);
  const auto continuation = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return continuation(i + 1, lo, hi) && continuation(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return continuation(i + 1, lo, hi) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

// Valid JSON whatever the bytes: control characters are escaped, and a byte that does not start
// a valid UTF-8 sequence (a header in Latin-1, random bytes) is given as the code point of its
// Latin-1 reading, \u00XX.
std::string Json::quote(const std::string& s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (const std::size_t n = c >= 0x80 ? utf8_sequence(s, i) : 0; n != 0) {
      out.append(s, i, n);
      i += n - 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x80) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string first_problem(const DecodeStats& stats) {
  const std::string what = printable(stats.first_error);
  if (stats.first_error_offset == FormatError::kNoOffset) return what;
  return "at byte " + std::to_string(stats.first_error_offset) + ": " + what;
}

std::string printable(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

void Json::key(const std::string& k) {
  if (!body_.empty()) body_ += ", ";
  body_ += quote(k) + ": ";
}
Json& Json::field(const std::string& k, const std::string& v) {
  key(k);
  body_ += quote(v);
  return *this;
}
Json& Json::field(const std::string& k, std::int64_t v) {
  key(k);
  body_ += std::to_string(v);
  return *this;
}
Json& Json::field(const std::string& k, std::uint64_t v) {
  key(k);
  body_ += std::to_string(v);
  return *this;
}
Json& Json::field(const std::string& k, double v) {
  key(k);
  if (!std::isfinite(v)) {
    body_ += "null";
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    body_ += buf;
  }
  return *this;
}
Json& Json::field(const std::string& k, bool v) {
  key(k);
  body_ += v ? "true" : "false";
  return *this;
}
Json& Json::null_field(const std::string& k) {
  key(k);
  body_ += "null";
  return *this;
}
Json& Json::object(const std::string& k, const Json& inner) { return raw(k, inner.str()); }
Json& Json::raw(const std::string& k, const std::string& text) {
  key(k);
  body_ += text;
  return *this;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string human_count(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f ", v);
  }
  return buf;
}

Progress::Progress(std::uint64_t total_bytes, bool enabled)
    : total_(total_bytes), enabled_(enabled && stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done, std::uint64_t events) {
  update(total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 0.0, events);
}

void Progress::update(double fraction, std::uint64_t events) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double frac = std::clamp(fraction, 0.0, 1.0);
  const int width = 30, filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, ' ');
  std::fprintf(stderr, "\r[%s] %5.1f%%  %sevents  %sevents/s ", bar.c_str(), frac * 100.0,
               human_count(static_cast<double>(events)).c_str(),
               human_count(secs > 0 ? static_cast<double>(events) / secs : 0.0).c_str());
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r%*s\r", 72, "");
  drawn_ = false;
}

std::vector<std::string> option_values(FormatOption option) {
  std::vector<std::string> values;
  for (const FormatInfo& f : formats()) {
    for (const FormatOptionInfo& o : f.read_options) {
      if (o.option != option) continue;
      for (const std::string& v : o.values) {
        if (!v.empty() && std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
      }
    }
  }
  return values;
}

namespace {

// "a, b or c".
std::string or_list(const std::vector<std::string>& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size(); ++i) s += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + values[i];
  return s;
}

// Names --format accepts: container names, then each readable format with its aliases.
std::string readable_names() {
  std::vector<std::string> containers;
  std::string names;
  for (const FormatInfo& f : formats()) {
    if (!f.readable) continue;
    if (!f.container.empty() && std::find(containers.begin(), containers.end(), f.container) == containers.end()) {
      containers.push_back(f.container);
    }
    names += ", " + f.name;
    for (const std::string& alias : f.aliases) names += "/" + alias;
  }
  std::string out;
  for (const std::string& c : containers) out += (out.empty() ? "" : ", ") + c;
  return out + names;
}

}  // namespace

void ReaderFlags::add_to(CLI::App& app) {
  app.add_option("--format", format, "Input format (default: detect from content): " + readable_names());
  app.add_option("--text-columns", options.text_columns,
                 "Column order of text and plain 2-D NumPy input, e.g. txyp (default) or xypt; _ skips a column");
  const auto units = option_values(FormatOption::text_time_unit);
  app.add_option("--time-unit", options.text_time_unit,
                 "Time unit of text / NumPy input: " + or_list(units) + " (default: s if the time has a '.', else us)")
      ->check(CLI::IsMember(units));
  app.add_flag("--strict", options.strict, "Fail on the first corrupt word instead of counting it");
  app.add_flag("--metavision-time", options.metavision_time_shift,
               "Apply Metavision's RAW time shift (default: absolute sensor time)");
  app.add_option("--width", options.width, "Override the sensor width")->check(CLI::Range(1u, 65536u));
  app.add_option("--height", options.height, "Override the sensor height")->check(CLI::Range(1u, 65536u));
  const auto orders = option_values(FormatOption::evt21_endianness);
  app.add_option("--evt21-endianness", options.evt21_endianness, "EVT 2.1 half-word order: " + or_list(orders))
      ->check(CLI::IsMember(orders));
  app.add_option("--chunk", chunk, "Events per streamed chunk, 1 to 2^30 (default: about 1 M, fewer when memory is short)")
      ->check(CLI::Range(std::uint64_t{1}, kMaxChunkEvents));
}

ReadOptions ReaderFlags::resolve() const {
  ReadOptions o = options;
  o.format = format;
  if (chunk != 0) o.chunk_events = chunk;
  return o;
}

}  // namespace evlib::cli

namespace evlib::cli {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits with at most one '.' and at least one digit: no sign, exponent, inf or nan.
bool plain_decimal(const std::string& s) {
  const auto digits = std::count_if(s.begin(), s.end(), is_digit);
  const auto dots = std::count(s.begin(), s.end(), '.');
  return digits > 0 && dots <= 1 && static_cast<std::size_t>(digits + dots) == s.size();
}

// A plain_decimal() number times 10^scale_digits, rounded half up, as an exact integer; false
// when that exceeds `max`.
bool scaled_decimal(const std::string& number, int scale_digits, unsigned __int128 max, unsigned __int128& out) {
  const auto dot = number.find('.');
  const std::string fraction = dot == std::string::npos ? "" : number.substr(dot + 1);
  unsigned __int128 v = 0;
  for (char c : number.substr(0, dot)) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return false;
  }
  for (std::size_t k = 0; k < static_cast<std::size_t>(scale_digits); ++k) {
    v = v * 10 + (k < fraction.size() ? static_cast<unsigned>(fraction[k] - '0') : 0u);
  }
  if (static_cast<std::size_t>(scale_digits) < fraction.size() && fraction[scale_digits] >= '5') ++v;
  if (v > max) return false;
  out = v;
  return true;
}

bool strip_suffix(std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  s.resize(s.size() - suffix.size());
  return true;
}

}  // namespace

std::int64_t parse_time_us(const std::string& text) {
  const bool signed_ = !text.empty() && (text.front() == '-' || text.front() == '+');
  std::string number = signed_ ? text.substr(1) : text;
  int scale_digits = 0;  // us, or no unit
  if (strip_suffix(number, "ms")) {
    scale_digits = 3;
  } else if (!strip_suffix(number, "us") && strip_suffix(number, "s")) {
    scale_digits = 6;
  }
  if (!plain_decimal(number)) {
    const auto unit_at = std::min(text.find_first_not_of("+-0123456789."), text.size());
    const bool letters = unit_at < text.size() && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(unit_at), text.end(),
                                                              [](unsigned char c) { return std::isalpha(c) != 0; });
    if (letters && plain_decimal(text.substr(signed_ ? 1 : 0, unit_at - (signed_ ? 1 : 0)))) {
      throw InvalidArgument("unknown time unit in '" + text + "' (s, ms or us)");
    }
    throw InvalidArgument("not a time: '" + text + "' (digits with a unit s, ms or us, e.g. 12.5s, 12500ms, 12500000us)");
  }
  // Times are whole µs everywhere (as in Python): 1.5us was rounded to 2 µs, 0.4us to 0.
  if (const auto dot = number.find('.'); dot != std::string::npos &&
                                         number.find_first_not_of('0', std::min(number.size(), dot + 1 + scale_digits)) != std::string::npos) {
    throw InvalidArgument("'" + text + "' is not a whole number of microseconds");
  }
  unsigned __int128 us = 0;
  if (!scaled_decimal(number, scale_digits, static_cast<unsigned __int128>(kMaxAbsTimeUs), us)) {
    throw InvalidArgument("time out of range: '" + text + "' (at most 1e18 us either side of 0, about 31,700 years)");
  }
  const auto magnitude = static_cast<std::int64_t>(us);
  return text.front() == '-' ? -magnitude : magnitude;
}

std::string writable_list() {
  std::string s;
  for (const auto& n : writable_formats()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::uint64_t parse_bytes(const std::string& text) {
  std::string number = text;
  if (!strip_suffix(number, "B")) strip_suffix(number, "b");
  strip_suffix(number, "i");
  int shift = 0;
  if (!number.empty()) {
    const std::string units = "KkMmGgTt";
    const auto unit = units.find(number.back());
    if (unit != std::string::npos) {
      shift = 10 * static_cast<int>(unit / 2 + 1);
      number.pop_back();
    }
  }
  const auto dot = number.find('.');
  const std::size_t decimals = dot == std::string::npos ? 0 : number.size() - dot - 1;
  if (!plain_decimal(number) || decimals > 18) {
    throw InvalidArgument("not a size: '" + text + "' (a number with an optional K, M, G or T, e.g. 64M, 1.5G)");
  }
  // Exact: the number times 10^decimals, times 2^shift, divided by 10^decimals.
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 62;
  unsigned __int128 pow10 = 1;
  for (std::size_t k = 0; k < decimals; ++k) pow10 *= 10;
  unsigned __int128 scaled = 0;
  if (!scaled_decimal(number, static_cast<int>(decimals), (static_cast<unsigned __int128>(kLimit) * pow10) >> shift, scaled)) {
    throw InvalidArgument("size out of range: '" + text + "' (at most 4E)");
  }
  return static_cast<std::uint64_t>((scaled << shift) / pow10);
}

Roi parse_roi(const std::string& text) {
  const std::string usage = "wants x0,y0,x1,y1: four whole numbers from 0 to 65536 with x0 <= x1 and y0 <= y1, got '" + text + "'";
  std::uint32_t v[4];
  std::size_t at = 0;
  for (int k = 0; k < 4; ++k) {
    const auto comma = k < 3 ? text.find(',', at) : text.size();
    if (comma == std::string::npos) throw InvalidArgument(usage);
    const std::string field = text.substr(at, comma - at);
    if (field.empty() || field.size() > 5) throw InvalidArgument(usage);
    unsigned value = 0;
    for (char c : field) {
      if (!is_digit(c)) throw InvalidArgument(usage);
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65536) throw InvalidArgument(usage);
    v[k] = value;
    at = comma + 1;
  }
  if (v[0] > v[2] || v[1] > v[3]) throw InvalidArgument(usage);
  return {v[0], v[1], v[2], v[3]};
}

InputGuard::InputGuard(std::string input) : path_(std::move(input)) {
  struct stat st {};
  // "-": standard input, when redirected from a regular file (`< rec.raw`).
  known_ = (path_ == "-" ? ::fstat(STDIN_FILENO, &st) : ::stat(path_.c_str(), &st)) == 0 && S_ISREG(st.st_mode);
  device_ = st.st_dev;
  inode_ = st.st_ino;
}

void InputGuard::refuse(const std::string& output) const {
  struct stat st {};
  if (known_ && ::stat(output.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_)
    throw IoError(output, "is the input " + path_ + ": give another output name");
}

// Whether the input can be read twice. Standard input redirected from a file can (the reader reads it
// with pread() from the start), unless something consumed part of it first.
bool readable_twice(const std::string& path) {
  struct stat st {};
  if (path == "-") return ::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && ::lseek(STDIN_FILENO, 0, SEEK_CUR) == 0;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

CLI::Validator time_value() { return parsed_by(parse_time_us, "TIME"); }
CLI::Validator count_list_value(std::uint64_t max) {
  return parsed_by([max](const std::string& text) { parse_count_list(text, max); }, "LIST");
}
CLI::Validator roi_value() { return parsed_by(parse_roi, "x0,y0,x1,y1"); }
CLI::Validator size_value() {
  return parsed_by(
      [](const std::string& text) {
        if (parse_bytes(text) < kMinMemoryLimit) throw InvalidArgument("'" + text + "' is less than the smallest budget, 1M");
      },
      "SIZE");
}

CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        if (CLI::detail::lexical_cast(text, v) && v >= lo && v <= hi) return {};  // false for nan
        return "'" + text + "' is not a number from " + CLI::detail::to_string(lo) + " to " + CLI::detail::to_string(hi);
      },
      "NUMBER");
}

std::vector<std::uint64_t> parse_count_list(const std::string& text, std::uint64_t max) {
  std::vector<std::uint64_t> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    unsigned __int128 v = 0;
    if (!plain_decimal(item) || item.find('.') != std::string::npos || !scaled_decimal(item, 0, max, v) || v == 0) {
      throw InvalidArgument("wants a comma-separated list of whole numbers from 1 to " + std::to_string(max) + ", got '" +
                            item + "' in '" + text + "'");
    }
    out.push_back(static_cast<std::uint64_t>(v));
    at = comma + 1;
  }
  return out;
}

void finish_stdout() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (!flushed || std::ferror(stdout)) {
    throw IoError("standard output", std::string("write failed: ") + (err != 0 ? std::strerror(err) : "error while writing"));
  }
}

void warn_time_range(const std::string& format, std::int64_t t_first, const std::string& out) {
  const auto info = format_info(format);
  const int bits = info ? info->traits.time_wrap_bits : 0;
  if (bits == 0 || t_first < (std::int64_t{1} << bits)) return;
  const std::int64_t shift = (t_first >> bits) << bits;
  std::fprintf(stderr,
               "evlib: warning: %s stores time modulo 2^%d us: %s will read back with times %lld us earlier "
               "(the first event is at %lld us)\n",
               format.c_str(), bits, out.c_str(), static_cast<long long>(shift), static_cast<long long>(t_first));
}

namespace {
extern "C" void remove_temporary_files_and_end(int sig) {
  remove_temporary_files();
  ::raise(sig);  // the default action again (SA_RESETHAND), at once (SA_NODEFER)
}
}  // namespace

void remove_temporary_files_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = remove_temporary_files_and_end;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGVTALRM, SIGPROF}) {
    struct sigaction old {};
    // A signal ignored by whoever started us (nohup, a background job) stays ignored.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &sa, nullptr);
  }
  std::signal(SIGXFSZ, SIG_IGN);
}

void ScanFlags::add_to(CLI::App& app, bool with_filters) {
  if (with_filters) {
    app.add_option("--from", from, "Start of the time window, inclusive (12.5s, 12500ms, 12500000us; file clock)")
        ->check(time_value());
    app.add_option("--to", to, "End of the time window, exclusive")->check(time_value());
    app.add_option("--roi", roi, "Region of interest x0,y0,x1,y1 (half-open, 0 to 65536)")->check(roi_value());
    app.add_option("--polarity", polarity, "Only this polarity (1 = ON, 0 = OFF)")->check(CLI::Range(0, 1));
  }
  app.add_option("--threads", threads,
                 "Decoding threads, 1 to 256 (default: all cores, up to 8; fewer when the memory budget cannot hold "
                 "them): EVT 2.0/2.1/3.0, DAT and AEDAT 1.0/2.0 split at sync points, and every format that can "
                 "resume at its time index")
      ->check(CLI::Range(1u, kMaxThreads));
  app.add_option("--memory-limit", memory_limit, "Memory budget for buffers, at least 1M, e.g. 32M (default: 64M for streaming)")
      ->check(size_value());
  app.add_flag("--no-index", no_index, "Neither use nor build the time index");
}

std::string ScanFlags::selection() const {
  std::string given;
  const auto add = [&](bool present, const char* option) {
    if (present) given += (given.empty() ? "" : ", ") + std::string(option);
  };
  add(!from.empty(), "--from");
  add(!to.empty(), "--to");
  add(!roi.empty(), "--roi");
  add(polarity >= 0, "--polarity");
  return given;
}

Scan ScanFlags::make(const std::string& path, const ReadOptions& options) const {
  Scan s(path, options);
  if (!from.empty() || !to.empty()) {
    const std::int64_t t0 = from.empty() ? std::numeric_limits<std::int64_t>::min() : parse_time_us(from);
    const std::int64_t t1 = to.empty() ? std::numeric_limits<std::int64_t>::max() : parse_time_us(to);
    if (t1 < t0) throw CLI::ValidationError("--to", "the window ends (" + to + ") before it starts (--from " + from + ")");
    s = s.time(t0, t1);
  }
  if (!roi.empty()) {
    const Roi r = parse_roi(roi);
    s = s.roi(r.x0, r.y0, r.x1, r.y1);
  }
  if (polarity >= 0) s = s.polarity(static_cast<std::uint8_t>(polarity));
  s = s.threads(threads);
  if (!memory_limit.empty()) s = s.memory_limit(parse_bytes(memory_limit));
  if (no_index) s = s.index(IndexPolicy::kOff);
  return s;
}

}  // namespace evlib::cli
