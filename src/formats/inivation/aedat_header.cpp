#include "formats/inivation/aedat_header.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "evlib/error.hpp"
#include "io/byte_source.hpp"

namespace evlib::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// jAER ends its header with "#End Of ASCII Header"; AEDAT 3.1 with "#!END-HEADER". With the
// sentinel, data starts right after it even when the first data byte happens to be '#'.
bool is_sentinel(std::string_view line) {
  line = trim(line);
  return iequals(line, "#End Of ASCII Header") || iequals(line, "#!END-HEADER");
}

// "# AEChip: eu.seebetter..." -> ("AEChip", "eu.seebetter..."). Free-text lines, XML and lines
// whose "key" is implausible are not entries.
bool split_entry(std::string_view line, std::pair<std::string, std::string>& out) {
  std::string_view body = trim(line.substr(1));
  const std::size_t colon = body.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 48) return false;
  // "key: value" has a blank after the colon; "created Fri Sep 18 09:50:42" is free text.
  if (colon + 1 < body.size() && body[colon + 1] != ' ' && body[colon + 1] != '\t') return false;
  const std::string_view key = trim(body.substr(0, colon));
  if (key.empty() || key.front() == '<' || key.front() == '!' ||
      key.find_first_of("<>\"=") != std::string_view::npos) {
    return false;
  }
  out = {std::string(key), std::string(trim(body.substr(colon + 1)))};
  return true;
}

void parse_version(std::string_view line, AedatHeader& h) {
  const int v = aedat_version_line(reinterpret_cast<const std::uint8_t*>(line.data()), line.size());
  if (v < 0) return;
  h.has_version_line = true;
  h.major = v / 10;
  h.minor = v % 10;
}

}  // namespace

const std::string* AedatHeader::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (iequals(k, key)) return &v;
  }
  return nullptr;
}

const std::pair<std::string, std::string>* AedatHeader::find_prefix(std::string_view prefix) const {
  for (const auto& e : entries) {
    if (starts_with_ci(e.first, prefix)) return &e;
  }
  return nullptr;
}

int aedat_version_line(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kMagic[] = "#!AER-DAT";
  constexpr std::size_t n = sizeof kMagic - 1;
  if (size < n + 3 || std::memcmp(bytes, kMagic, n) != 0) return -1;
  const std::uint8_t major = bytes[n], dot = bytes[n + 1], minor = bytes[n + 2];
  if (!std::isdigit(major) || dot != '.' || !std::isdigit(minor)) return -1;
  return (major - '0') * 10 + (minor - '0');
}

AedatHeader parse_aedat_header(const std::uint8_t* bytes, std::size_t size, bool at_eof) {
  AedatHeader h;
  std::size_t pos = 0;
  bool in_preferences = false;
  while (pos < size && bytes[pos] == '#') {
    const auto* nl = static_cast<const std::uint8_t*>(std::memchr(bytes + pos, '\n', size - pos));
    if (nl == nullptr && !at_eof) {
      h.data_offset = pos;  // an unfinished line: the caller must look further
      return h;
    }
    const std::size_t end = nl == nullptr ? size : static_cast<std::size_t>(nl - bytes);
    const std::string_view line(reinterpret_cast<const char*>(bytes + pos), end - pos);
    pos = nl == nullptr ? size : end + 1;
    ++h.line_count;
    if (h.line_count == 1) parse_version(line, h);
    if (is_sentinel(line)) {
      h.sentinel = true;
      break;
    }
    // jAER dumps the chip's preferences as XML between these two lines; none of it is metadata.
    if (starts_with_ci(line, "#Start of Preferences")) in_preferences = true;
    if (starts_with_ci(line, "#End of Preferences")) in_preferences = false;
    std::pair<std::string, std::string> entry;
    if (!in_preferences && !(h.line_count == 1 && h.has_version_line) && split_entry(line, entry)) h.entries.push_back(std::move(entry));
  }
  h.data_offset = pos;
  h.complete = true;
  return h;
}

std::uint64_t find_aedat_header_end(const std::string& path, std::uint64_t from) {
  ByteSource source(path, from);
  if (!source.seekable()) {
    throw FormatError(path, from, "AEDAT header longer than the 1 MiB prefix on an input that cannot be re-read");
  }
  bool line_start = true;
  std::string head;  // the first bytes of the current line, enough to recognise the sentinel
  for (auto w = source.next(); !w.empty(); w = source.next()) {
    const std::uint64_t base = source.window_offset();
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (line_start) {
        if (w[i] != '#') return base + i;
        line_start = false;
        head.clear();
      }
      if (w[i] == '\n') {
        if (is_sentinel(head)) return base + i + 1;
        line_start = true;
      } else if (head.size() < 32) {
        head.push_back(static_cast<char>(w[i]));
      }
    }
  }
  return source.size();  // the file ends inside the header: no data
}

}  // namespace evlib::detail
