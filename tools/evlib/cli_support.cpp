#include "cli_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "evlib/error.hpp"
#include "evlib/writer.hpp"

namespace evlib::cli {

std::string Json::quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
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
  app.add_option("--width", options.width, "Override the sensor width");
  app.add_option("--height", options.height, "Override the sensor height");
  const auto orders = option_values(FormatOption::evt21_endianness);
  app.add_option("--evt21-endianness", options.evt21_endianness, "EVT 2.1 half-word order: " + or_list(orders))
      ->check(CLI::IsMember(orders));
  app.add_option("--chunk", chunk, "Events per streamed chunk (default 1048576)");
}

ReadOptions ReaderFlags::resolve() const {
  ReadOptions o = options;
  o.format = format;
  if (chunk != 0) o.chunk_events = chunk;
  return o;
}

}  // namespace evlib::cli

namespace evlib::cli {

std::int64_t parse_time_us(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw InvalidArgument("not a time: '" + text + "' (use e.g. 12.5s, 12500ms, 12500000us)");
  }
  const std::string unit = text.substr(used);
  double scale = 1;
  if (unit == "s") {
    scale = 1e6;
  } else if (unit == "ms") {
    scale = 1e3;
  } else if (unit != "us" && unit != "") {
    throw InvalidArgument("unknown time unit in '" + text + "' (s, ms, us)");
  }
  return static_cast<std::int64_t>(std::llround(value * scale));
}

std::string writable_list() {
  std::string s;
  for (const auto& n : writable_formats()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::uint64_t parse_bytes(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw InvalidArgument("not a size: '" + text + "' (use e.g. 64M, 2G)");
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double scale = 1;
  if (unit == "K" || unit == "k") scale = 1024.0;
  else if (unit == "M" || unit == "m") scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") scale = 1024.0 * 1024 * 1024;
  else if (!unit.empty()) throw InvalidArgument("unknown size unit in '" + text + "' (K, M, G)");
  return static_cast<std::uint64_t>(value * scale);
}

void ScanFlags::add_to(CLI::App& app, bool with_filters) {
  if (with_filters) {
    app.add_option("--from", from, "Start of the time window, inclusive (12.5s, 12500ms, 12500000us; file clock)");
    app.add_option("--to", to, "End of the time window, exclusive");
    app.add_option("--roi", roi, "Region of interest x0,y0,x1,y1 (half-open)");
    app.add_option("--polarity", polarity, "Only this polarity (1 = ON, 0 = OFF)")->check(CLI::Range(0, 1));
  }
  app.add_option("--threads", threads,
                 "Decoding threads (default: all cores, up to 8): EVT 2.0/2.1/3.0, DAT and AEDAT 1.0/2.0 split at sync "
                 "points, and every format that can resume at its time index");
  app.add_option("--memory-limit", memory_limit, "Memory budget for buffers, e.g. 32M (default: adapts to available memory)");
  app.add_flag("--no-index", no_index, "Neither use nor build the time index");
}

Scan ScanFlags::make(const std::string& path, const ReadOptions& options) const {
  Scan s(path, options);
  if (!from.empty() || !to.empty()) {
    s = s.time(from.empty() ? std::numeric_limits<std::int64_t>::min() : parse_time_us(from),
           to.empty() ? std::numeric_limits<std::int64_t>::max() : parse_time_us(to));
  }
  if (!roi.empty()) {
    unsigned v[4];
    if (std::sscanf(roi.c_str(), "%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3]) != 4) {
      throw InvalidArgument("--roi wants x0,y0,x1,y1, got '" + roi + "'");
    }
    s = s.roi(v[0], v[1], v[2], v[3]);
  }
  if (polarity >= 0) s = s.polarity(static_cast<std::uint8_t>(polarity));
  s = s.threads(threads);
  if (!memory_limit.empty()) s = s.memory_limit(parse_bytes(memory_limit));
  if (no_index) s = s.index(IndexPolicy::kOff);
  return s;
}

}  // namespace evlib::cli
