#pragma once
// The event columns of tabular inputs, shared by the text / CSV and the NumPy readers: which
// column holds t, x, y or p (ReadOptions::text_columns, or column names), and the unit of t
// (ReadOptions::text_time_unit, or a unit suffix of the time column's name).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace evlib::detail {

enum class TextRole : std::uint8_t { skip, t, x, y, p };

// Marks "no unit given" where a time exponent is expected.
constexpr int kNoTimeUnit = -100;

// The exponent e with µs = value * 10^e for a unit name: "s" 6, "ms" 3, "us"/"µs" 0, "ns" -3;
// kNoTimeUnit for anything else.
int time_unit_exponent(std::string_view unit);
// "s", "ms", "us" or "ns" for an exponent time_unit_exponent() returns.
const char* time_unit_name(int exponent);
// The values ReadOptions::text_time_unit accepts ("" = decide from the data).
const std::vector<std::string>& time_unit_names();
// ReadOptions::text_time_unit as an exponent, kNoTimeUnit when it is empty. Throws
// InvalidArgument for a unit it does not know.
int time_unit_option(const std::string& unit);

// The role of a column or field name (case-insensitive, quotes and spaces ignored). A unit suffix
// such as "t_us", "time[s]" or "timestamp (ns)" is stripped and its exponent stored in
// *unit_exponent (kNoTimeUnit when there is none).
TextRole column_role(std::string_view name, int* unit_exponent = nullptr);
// Column roles from a ReadOptions::text_columns order such as "txyp" or "xy_pt": each of t, x, y
// and p once, '_' for a column to skip. Throws InvalidArgument otherwise.
std::vector<TextRole> roles_from_spec(std::string_view spec);
// The order string of roles ("txyp", '_' for skipped columns).
std::string spec_of(const std::vector<TextRole>& roles);

// Blanks (space, tab, CR, LF) removed from both ends.
inline std::string_view trim_blanks(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}
std::string ascii_lower(std::string_view s);

}  // namespace evlib::detail
