#include "formats/common/columns.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include "evlib/error.hpp"

namespace evlib::detail {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int time_unit_exponent(std::string_view unit) {
  const std::string u = ascii_lower(trim_blanks(unit));
  if (u == "s" || u == "sec" || u == "seconds") return 6;
  if (u == "ms") return 3;
  if (u == "us" || u == "\xC2\xB5s" || u == "usec") return 0;
  if (u == "ns") return -3;
  return kNoTimeUnit;
}

const char* time_unit_name(int exponent) {
  switch (exponent) {
    case 6: return "s";
    case 3: return "ms";
    case 0: return "us";
    default: return "ns";
  }
}

const std::vector<std::string>& time_unit_names() {
  static const std::vector<std::string> names = {"", "s", "ms", "us", "ns"};
  return names;
}

int time_unit_option(const std::string& unit) {
  if (unit.empty()) return kNoTimeUnit;
  const int exponent = time_unit_exponent(unit);
  if (exponent == kNoTimeUnit) throw InvalidArgument("time unit '" + unit + "': use s, ms, us or ns");
  return exponent;
}

TextRole column_role(std::string_view name, int* unit_exponent) {
  std::string n = ascii_lower(trim_blanks(name));
  if (n.size() >= 2 && (n.front() == '"' || n.front() == '\'') && n.back() == n.front()) n = n.substr(1, n.size() - 2);
  int unit = kNoTimeUnit;
  // A unit suffix: "t[us]", "time (s)", "t_us".
  if (!n.empty() && (n.back() == ']' || n.back() == ')')) {
    const std::size_t open = n.find_last_of(n.back() == ']' ? '[' : '(');
    if (open != std::string::npos) {
      unit = time_unit_exponent(std::string_view(n).substr(open + 1, n.size() - open - 2));
      if (unit != kNoTimeUnit) n = std::string(trim_blanks(std::string_view(n).substr(0, open)));
    }
  } else if (const std::size_t us = n.rfind('_'); us != std::string::npos) {
    unit = time_unit_exponent(std::string_view(n).substr(us + 1));
    if (unit != kNoTimeUnit) n.resize(us);
  }
  if (unit_exponent != nullptr) *unit_exponent = unit;
  static const char* const kT[] = {"t", "ts", "time", "times", "timestamp", "timestamps"};
  static const char* const kX[] = {"x", "xs", "x_pos", "col"};
  static const char* const kY[] = {"y", "ys", "y_pos", "row"};
  static const char* const kP[] = {"p", "ps", "pol", "polarity", "polarities", "on"};
  auto in = [&](const auto& names) { return std::any_of(std::begin(names), std::end(names), [&](const char* c) { return n == c; }); };
  if (in(kT)) return TextRole::t;
  if (unit_exponent != nullptr) *unit_exponent = kNoTimeUnit;  // a unit only means something on the time column
  if (unit != kNoTimeUnit) return TextRole::skip;
  if (in(kX)) return TextRole::x;
  if (in(kY)) return TextRole::y;
  if (in(kP)) return TextRole::p;
  return TextRole::skip;
}

std::vector<TextRole> roles_from_spec(std::string_view spec) {
  std::vector<TextRole> roles;
  int seen[5] = {};
  for (char c : spec) {
    TextRole r;
    switch (std::tolower(static_cast<unsigned char>(c))) {
      case 't': r = TextRole::t; break;
      case 'x': r = TextRole::x; break;
      case 'y': r = TextRole::y; break;
      case 'p': r = TextRole::p; break;
      case '_': r = TextRole::skip; break;
      default: r = TextRole::skip, seen[0] = 99;
    }
    ++seen[static_cast<int>(r)];
    roles.push_back(r);
  }
  if (seen[0] >= 99 || seen[1] != 1 || seen[2] != 1 || seen[3] != 1 || seen[4] != 1 || spec.size() > 64) {
    throw InvalidArgument("column order '" + std::string(spec) +
                          "': use each of the letters t, x, y, p once and '_' for a column to skip (e.g. txyp, xypt)");
  }
  return roles;
}

std::string spec_of(const std::vector<TextRole>& roles) {
  std::string s;
  for (TextRole r : roles) s += "_txyp"[static_cast<int>(r)];
  return s;
}

}  // namespace evlib::detail
