#include "cli_support.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

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

void Progress::update(std::uint64_t bytes_done, std::uint64_t events) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(bytes_done) / static_cast<double>(total_)) : 0.0;
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

void ReaderFlags::add_to(CLI::App& app) {
  app.add_option("--format", format, "Input format (default: detect from content): evt2, evt21, evt3, raw, dat");
  app.add_flag("--strict", options.strict, "Fail on the first corrupt word instead of counting it");
  app.add_flag("--metavision-time", options.metavision_time_shift,
               "Apply Metavision's RAW time shift (default: absolute sensor time)");
  app.add_option("--width", options.width, "Override the sensor width");
  app.add_option("--height", options.height, "Override the sensor height");
  app.add_option("--evt21-endianness", options.evt21_endianness, "EVT 2.1 half-word order: little or legacy")
      ->check(CLI::IsMember({"little", "legacy"}));
  app.add_option("--chunk", chunk, "Events per streamed chunk (default 1048576)");
}

ReadOptions ReaderFlags::resolve() const {
  ReadOptions o = options;
  o.format = format;
  if (chunk != 0) o.chunk_events = chunk;
  return o;
}

}  // namespace evlib::cli
