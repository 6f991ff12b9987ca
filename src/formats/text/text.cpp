#include "formats/text/text.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>

#include "evlib/error.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/text/text_simd.hpp"

namespace evlib::detail {

namespace {

// A line longer than this is malformed; it is skipped without being kept, so that memory stays
// bounded whatever the input (a binary file read as text has no newlines).
constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;
// The sniffer looks at this much of the prefix.
constexpr std::size_t kSniffBytes = std::size_t{64} << 10;
// Coordinates are uint16: without a geometry every parsed value is in bounds.
constexpr std::uint32_t kNoBound = 0x10000;
// Smallest data line: four one-character fields, three separators and '\n'.
constexpr std::uint64_t kMinLineBytes = 8;

// Shared with the fast path (text_simd.hpp).
constexpr const std::uint64_t (&kPow10)[20] = kTextPow10;

inline bool is_digit(char c) noexcept { return static_cast<unsigned char>(c - '0') < 10; }
inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

// Fields of one line, for the slow paths (header, first data line, sniffing).
std::vector<std::string_view> split_fields(std::string_view line, bool comma) {
  std::vector<std::string_view> out;
  line = trim_blanks(line);
  if (line.empty()) return out;
  if (comma) {
    std::size_t start = 0;
    while (true) {
      const std::size_t c = line.find(',', start);
      out.push_back(trim_blanks(line.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start)));
      if (c == std::string_view::npos) break;
      start = c + 1;
    }
    return out;
  }
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    const std::size_t s = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > s) out.push_back(line.substr(s, i - s));
  }
  return out;
}

// A token that reads as a number: optional sign, digits with at most one '.', optional exponent.
bool is_number(std::string_view s) {
  std::size_t i = 0, digits = 0;
  bool dot = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  for (; i < s.size(); ++i) {
    if (is_digit(s[i])) {
      ++digits;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// Whether a (trimmed) line starts like a number, i.e. is a data line rather than a header row.
bool starts_numeric(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') ++i;
  return i < s.size() && is_digit(s[i]);
}

bool is_comment_or_blank(std::string_view trimmed) {
  return trimmed.empty() || trimmed.front() == '#' || trimmed.front() == '%';
}

// Exponent notation ("3.811e-3"): from_chars<double>, scaled to µs and rounded to nearest. A double
// cannot hold every decimal exactly, which is why this is only the fallback of parse_time().
const char* parse_time_double(const char* start, const char* end, int exponent, std::int64_t& us) {
  if (*start == '+') ++start;
  double v = 0;
  const auto [next, ec] = std::from_chars(start, end, v);
  if (ec != std::errc{} || !std::isfinite(v)) return nullptr;
  const double scaled = v * std::pow(10.0, exponent);
  if (!(std::fabs(scaled) < 9.2e18)) return nullptr;
  us = std::llround(scaled);
  return next;
}

bool has_all_roles(const std::vector<TextRole>& roles) {
  auto has = [&](TextRole r) { return std::find(roles.begin(), roles.end(), r) != roles.end(); };
  return has(TextRole::t) && has(TextRole::x) && has(TextRole::y) && has(TextRole::p);
}

// Roles of the columns of a header row; later duplicates of a role are skipped.
std::vector<TextRole> roles_from_names(const std::vector<std::string_view>& names, int* unit) {
  std::vector<TextRole> roles;
  for (std::string_view n : names) {
    int u = kNoTimeUnit;
    TextRole r = column_role(n, &u);
    if (r != TextRole::skip && std::find(roles.begin(), roles.end(), r) != roles.end()) r = TextRole::skip;
    if (r == TextRole::t && unit != nullptr) *unit = u;
    roles.push_back(r);
  }
  return roles;
}

// What the lines before the first event say, and the options that shape the layout.
struct TextSetup {
  std::string path;
  std::uint64_t data_offset = 0;  // where the reader starts parsing
  std::uint64_t first_line = 1;   // line number at data_offset
  std::vector<TextRole> header_roles;
  bool have_header = false;
  bool header_comma = false;
  int header_unit = kNoTimeUnit;
  std::string header_text;
  bool percent_geometry = false;
  std::uint32_t width = 0, height = 0;  // from `%geometry`, or the caller's override
  std::string columns_option;
  int unit_option = kNoTimeUnit;
  bool decided = false;
  TextLayout layout;
};

// Completes the layout from the first data line (docs/formats.md 12 reader rules; see text.hpp).
TextLayout decide_layout(std::string_view first_line, const TextSetup& s, std::uint64_t offset) {
  TextLayout layout;
  first_line = trim_blanks(first_line);
  layout.comma = s.header_comma || first_line.find(',') != std::string_view::npos;
  if (!s.columns_option.empty()) {
    layout.roles = roles_from_spec(s.columns_option);
  } else if (s.have_header) {
    if (!has_all_roles(s.header_roles)) {
      throw FormatError(s.path, offset,
                        "the header row '" + s.header_text +
                            "' does not name all of the t, x, y and p columns; give the column order (--text-columns)");
    }
    layout.roles = s.header_roles;
  } else {
    layout.roles = roles_from_spec(s.percent_geometry ? "xypt" : "txyp");
  }
  while (!layout.roles.empty() && layout.roles.back() == TextRole::skip) layout.roles.pop_back();
  const auto fields = split_fields(first_line, layout.comma);
  if (fields.size() < layout.roles.size()) {
    throw FormatError(s.path, offset,
                      "the first data line has " + std::to_string(fields.size()) + " column(s) but the column order '" +
                          spec_of(layout.roles) + "' needs " + std::to_string(layout.roles.size()) +
                          " (give the column order with --text-columns)");
  }
  layout.ignore_rest = fields.size() > layout.roles.size();
  if (s.unit_option != kNoTimeUnit) {
    layout.time_exponent = s.unit_option;
  } else if (s.header_unit != kNoTimeUnit) {
    layout.time_exponent = s.header_unit;
  } else {
    const std::size_t ti = static_cast<std::size_t>(
        std::find(layout.roles.begin(), layout.roles.end(), TextRole::t) - layout.roles.begin());
    const std::string_view tok = fields[ti];
    if (tok.find_first_of(".eE") != std::string_view::npos) {
      layout.time_exponent = 6;  // seconds
    } else {
      // Integers are µs; beyond 10^17 they can only be ns (10^17 µs is over 3000 years).
      const std::string_view digits = !tok.empty() && (tok[0] == '-' || tok[0] == '+') ? tok.substr(1) : tok;
      std::uint64_t value = 0;
      const std::errc ec = std::from_chars(digits.data(), digits.data() + digits.size(), value).ec;
      const bool huge = ec == std::errc::result_out_of_range || (ec == std::errc{} && value > kPow10[17]);
      layout.time_exponent = huge ? -3 : 0;
    }
  }
  return layout;
}

// `%geometry:W,H` (Prophesee's standalone decoders) or `%geometry:WxH`.
bool parse_percent_geometry(std::string_view line, std::uint32_t& w, std::uint32_t& h) {
  constexpr std::string_view kKey = "%geometry:";
  if (line.substr(0, kKey.size()) != kKey) return false;
  line.remove_prefix(kKey.size());
  const std::size_t sep = line.find_first_of(",x");
  if (sep == std::string_view::npos) return false;
  const std::string_view a = trim_blanks(line.substr(0, sep)), b = trim_blanks(line.substr(sep + 1));
  std::uint32_t wv = 0, hv = 0;
  const auto ra = std::from_chars(a.data(), a.data() + a.size(), wv);
  const auto rb = std::from_chars(b.data(), b.data() + b.size(), hv);
  if (ra.ec != std::errc{} || rb.ec != std::errc{} || ra.ptr != a.data() + a.size() || rb.ptr != b.data() + b.size() ||
      wv == 0 || hv == 0 || wv > kNoBound || hv > kNoBound) {
    return false;
  }
  w = wv, h = hv;
  return true;
}

// Reads comments, `%geometry`, the header row and the first data line from the prefix.
// Returns the first data line when the prefix holds it.
std::optional<std::string_view> scan_preamble(const std::vector<std::uint8_t>& prefix, bool whole_file, TextSetup& s,
                                              std::uint64_t& first_data_offset) {
  const char* const base = reinterpret_cast<const char*>(prefix.data());
  std::size_t pos = 0;
  std::uint64_t line_no = 1;
  std::vector<TextRole> comment_roles;
  int comment_unit = kNoTimeUnit;
  std::string comment_text;
  while (pos < prefix.size()) {
    const void* nl = std::memchr(base + pos, '\n', prefix.size() - pos);
    if (nl == nullptr && !whole_file) break;  // the prefix ends inside this line
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : prefix.size();
    const std::string_view line = trim_blanks(std::string_view(base + pos, end - pos));
    const std::size_t next = nl ? end + 1 : end;
    if (!line.empty() && line.front() == '%') {
      if (parse_percent_geometry(line, s.width, s.height)) s.percent_geometry = true;
    } else if (!line.empty() && line.front() == '#' && !s.have_header) {
      // A comment made only of column names is a header (evlib writes "# timestamp x y polarity").
      const std::string_view body = trim_blanks(line.substr(1));
      const auto names = split_fields(body, body.find(',') != std::string_view::npos);
      int unit = kNoTimeUnit;
      const auto roles = roles_from_names(names, &unit);
      if (has_all_roles(roles) && std::count(roles.begin(), roles.end(), TextRole::skip) == 0) {
        comment_roles = roles;
        comment_unit = unit;
        comment_text = std::string(body);
      }
    } else if (!line.empty() && line.front() != '#') {
      if (!s.have_header && !starts_numeric(line)) {
        s.have_header = true;
        s.header_text = std::string(line);
        s.header_comma = line.find(',') != std::string_view::npos;
        std::vector<std::string_view> names = split_fields(line, s.header_comma);
        s.header_roles = roles_from_names(names, &s.header_unit);
      } else {
        s.data_offset = pos;
        s.first_line = line_no;
        first_data_offset = pos;
        if (!s.have_header && !comment_roles.empty()) {
          s.have_header = true;
          s.header_roles = comment_roles;
          s.header_unit = comment_unit;
          s.header_text = comment_text;
          s.header_comma = comment_text.find(',') != std::string::npos;
        }
        return line;
      }
    }
    pos = next;
    ++line_no;
    s.data_offset = pos;
    s.first_line = line_no;
  }
  if (!s.have_header && !comment_roles.empty()) {
    s.have_header = true;
    s.header_roles = comment_roles;
    s.header_unit = comment_unit;
    s.header_text = comment_text;
    s.header_comma = comment_text.find(',') != std::string::npos;
  }
  return std::nullopt;
}

// One parsed data line.
struct LineEvent {
  std::int64_t t = 0;
  std::uint16_t x = 0, y = 0;
  std::uint8_t p = 0;
};

// ---- digits eight at a time (SWAR) ----
// Lines are short and their fields shorter: instead of one multiply-add per character, eight
// bytes are loaded at once, the run of leading digits is found with a few mask operations and
// converted with three multiplies. Needs 8 (or 16) readable bytes at p: callers check against the
// region end and fall back to the byte loop near it.

// Loads 8 bytes at p; returns how many leading bytes are ASCII digits (0..8) and sets x.
[[gnu::always_inline]] inline unsigned swar_load(const char* p, std::uint64_t& x) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  x = w ^ 0x3030303030303030ull;
  // A byte is a non-digit when (x & 0x7F) + 0x76 or x itself has its top bit set (x >= 10).
  const std::uint64_t non_digit = (((x & 0x7F7F7F7F7F7F7F7Full) + 0x7676767676767676ull) | x) & 0x8080808080808080ull;
  return non_digit == 0 ? 8 : static_cast<unsigned>(std::countr_zero(non_digit)) / 8;
}

// Leading digits at p as an unsigned integer; returns the byte after them (p itself when there
// are none), or nullptr past 19 digits. Uses SWAR when 16 bytes are readable.
[[gnu::always_inline]] inline const char* parse_digits(const char* p, const char* end, std::uint64_t& value) {
  if (end - p >= 16) [[likely]] {
    std::uint64_t x;
    const unsigned n = swar_load(p, x);
    if (n < 8) {
      value = n == 0 ? 0 : swar_digits_value(x, n);
      return p + n;
    }
    std::uint64_t x2;
    const unsigned n2 = swar_load(p + 8, x2);
    if (n2 < 8) {
      value = swar_digits_value(x, 8) * kPow10[n2] + (n2 == 0 ? 0 : swar_digits_value(x2, n2));
      return p + 8 + n2;
    }
  }
  const char* const first = p;
  std::uint64_t v = 0;
  while (is_digit(*p)) {
    v = v * 10 + static_cast<std::uint64_t>(*p - '0');
    ++p;
  }
  if (p - first > 19) return nullptr;  // does not fit 64 bits (the wrapped value is never used)
  value = v;
  return p;
}

// The fraction digits at p: the first `keep` of them as an integer (kept = how many there were,
// at most keep), round_up from the next one; returns the byte after the last digit.
[[gnu::always_inline]] inline const char* parse_fraction(const char* p, const char* end, int keep, std::uint64_t& frac,
                                                         int& kept, bool& round_up) {
  if (end - p >= 8 && keep < 8) [[likely]] {
    std::uint64_t x;
    const unsigned n = swar_load(p, x);
    const unsigned take = std::min<unsigned>(n, static_cast<unsigned>(keep) + 1);
    const std::uint64_t v = take == 0 ? 0 : swar_digits_value(x, take);
    if (take == static_cast<unsigned>(keep) + 1) {
      frac = v / 10;
      round_up = v % 10 >= 5;
      kept = keep;
    } else {
      frac = v;
      kept = static_cast<int>(take);
    }
    p += n;
    if (n == 8) {
      while (is_digit(*p)) ++p;
    }
    return p;
  }
  while (kept < keep && is_digit(*p)) {
    frac = frac * 10 + static_cast<std::uint64_t>(*p - '0');
    ++kept;
    ++p;
  }
  if (is_digit(*p)) {
    round_up = *p >= '5';  // the first digit below 1 µs decides (ties away from zero)
    ++p;
    while (is_digit(*p)) ++p;
  }
  return p;
}

// Fixed-point parse of a decimal time: the digits below the unit's µs position are kept exactly
// and the next one rounds (so "0.003811000" s is exactly 3811 µs, which a double multiply can miss
// by one). Only exponent notation goes through from_chars<double>. Inline: it is the hot path.
[[gnu::always_inline]] inline const char* parse_time(const char* p, const char* end, int exponent, std::int64_t& us) {
  const char* const start = p;
  const bool negative = *p == '-';
  if (*p == '-' || *p == '+') ++p;
  std::uint64_t whole = 0;
  const char* const digits = p;
  if ((p = parse_digits(p, end, whole)) == nullptr) return nullptr;
  const bool have_whole = p != digits;
  if (exponent == 0 && have_whole && *p != '.' && (*p | 0x20) != 'e') [[likely]] {
    // Integer µs, the common case of files we write.
    if (whole > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return nullptr;
    us = negative ? -static_cast<std::int64_t>(whole) : static_cast<std::int64_t>(whole);
    return p;
  }
  bool any = have_whole;
  const int keep = exponent > 0 ? exponent : 0;  // fraction digits that are whole µs
  std::uint64_t frac = 0;
  int kept = 0;
  bool round_up = false;
  if (*p == '.') {
    const char* const first = ++p;
    p = parse_fraction(p, end, keep, frac, kept, round_up);
    any |= p != first;
  }
  if (!any) return nullptr;
  if ((*p | 0x20) == 'e') return parse_time_double(start, end, exponent, us);
  std::uint64_t magnitude;
  if (exponent >= 0) {
    const std::uint64_t scale = kPow10[exponent];
    if (whole >= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale) return nullptr;
    magnitude = whole * scale + frac * kPow10[keep - kept] + (round_up ? 1 : 0);
  } else {
    // ns: the integer part decides the rounding on its own (a fraction of a ns cannot reach 0.5 µs).
    const std::uint64_t div = kPow10[-exponent];
    magnitude = whole / div + (whole % div >= div / 2 ? 1 : 0);
  }
  us = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
  return p;
}

// A coordinate: decimal digits of a value below 65536 (std::from_chars<uint16_t> is not inlined by
// GCC 12 and cost a fifth of the parse time; this is the same check on the SWAR digit run).
[[gnu::always_inline]] inline const char* parse_u16(const char* p, const char* end, std::uint16_t& out) {
  std::uint64_t v = 0;
  const char* q = parse_digits(p, end, v);
  if (q == nullptr || q == p || v > 0xFFFF) return nullptr;
  out = static_cast<std::uint16_t>(v);
  return q;
}

// A polarity: any integer, value > 0 => 1 (docs/formats.md 0.2, so -1/+1 and 0/1 both map to 0/1).
[[gnu::always_inline]] inline const char* parse_polarity(const char* p, const char* end, std::uint8_t& out) {
  if ((*p == '0' || *p == '1') && !is_digit(p[1])) {  // the usual single digit
    out = static_cast<std::uint8_t>(*p - '0');
    return p + 1;
  }
  if (*p == '+') ++p;
  int v = 0;
  const auto [next, ec] = std::from_chars(p, end, v);
  if (ec != std::errc{}) return nullptr;
  out = v > 0;
  return next;
}

template <bool Comma>
[[gnu::always_inline]] inline const char* skip_separator(const char* p) {
  if constexpr (Comma) {
    while (is_blank(*p)) ++p;
    if (*p != ',') return nullptr;
    ++p;
    while (is_blank(*p)) ++p;
    return p;
  } else {
    if (!is_blank(*p)) return nullptr;
    do ++p;
    while (is_blank(*p));
    return p;
  }
}

template <bool Comma>
inline const char* skip_field(const char* p) {
  const char* const start = p;
  if constexpr (Comma) {
    while (*p != ',' && *p != '\n' && *p != '\r') ++p;
    return p;
  } else {
    while (!is_blank(*p) && *p != '\n' && *p != '\r') ++p;
    return p == start ? nullptr : p;
  }
}

template <bool Comma>
[[gnu::always_inline]] inline const char* parse_field(TextRole role, const char* p, const char* end, int exponent, LineEvent& ev) {
  switch (role) {
    case TextRole::t: return parse_time(p, end, exponent, ev.t);
    case TextRole::x: return parse_u16(p, end, ev.x);
    case TextRole::y: return parse_u16(p, end, ev.y);
    case TextRole::p: return parse_polarity(p, end, ev.p);
    case TextRole::skip: break;
  }
  return skip_field<Comma>(p);
}

// After the last column parsed: the end of the line (or of the last field, when the rest of the
// line holds columns nobody asked for). Returns the byte after '\n'.
template <bool Comma>
[[gnu::always_inline]] inline const char* finish_line(const char* p, const char* end, bool ignore_rest) {
  if (ignore_rest) {
    const char c = *p;
    if (!(is_blank(c) || c == '\r' || c == '\n' || (Comma && c == ','))) return nullptr;
    return static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))) + 1;
  }
  while (is_blank(*p) || *p == '\r') ++p;
  return *p == '\n' ? p + 1 : nullptr;
}

// Parsers of one data line at p (which ends in '\n' before end): the byte after its '\n', or
// nullptr when it is not a well-formed event line (a comment, a blank or a malformed line).
// Any column order:
template <bool Comma>
struct AnyOrder {
  const TextLayout& layout;
  const char* operator()(const char* p, const char* end, LineEvent& ev) const {
    while (is_blank(*p)) ++p;
    const std::size_t columns = layout.roles.size();
    for (std::size_t k = 0; k < columns; ++k) {
      if (k != 0 && (p = skip_separator<Comma>(p)) == nullptr) return nullptr;
      if ((p = parse_field<Comma>(layout.roles[k], p, end, layout.time_exponent, ev)) == nullptr) return nullptr;
    }
    return finish_line<Comma>(p, end, layout.ignore_rest);
  }
};

// The orders met in practice (RPG "t x y p", Prophesee CSV "x,y,p,t"), unrolled at compile time.
template <bool Comma, TextRole A, TextRole B, TextRole C, TextRole D>
struct FixedOrder {
  const TextLayout& layout;
  [[gnu::always_inline]] const char* operator()(const char* p, const char* end, LineEvent& ev) const {
    const int e = layout.time_exponent;
    while (is_blank(*p)) ++p;
    if ((p = parse_field<Comma>(A, p, end, e, ev)) == nullptr) return nullptr;
    if ((p = skip_separator<Comma>(p)) == nullptr) return nullptr;
    if ((p = parse_field<Comma>(B, p, end, e, ev)) == nullptr) return nullptr;
    if ((p = skip_separator<Comma>(p)) == nullptr) return nullptr;
    if ((p = parse_field<Comma>(C, p, end, e, ev)) == nullptr) return nullptr;
    if ((p = skip_separator<Comma>(p)) == nullptr) return nullptr;
    if ((p = parse_field<Comma>(D, p, end, e, ev)) == nullptr) return nullptr;
    return finish_line<Comma>(p, end, layout.ignore_rest);
  }
};

bool has_order(const TextLayout& layout, TextRole a, TextRole b, TextRole c, TextRole d) {
  return layout.roles.size() == 4 && layout.roles[0] == a && layout.roles[1] == b && layout.roles[2] == c &&
         layout.roles[3] == d;
}

// Streams data lines out of a ByteSource. Windows are parsed in place up to their last '\n';
// the partial line at the end of a window is carried over (copied) and completed by the next.
class TextReader final : public FormatReader {
 public:
  TextReader(std::unique_ptr<ByteSource> source, TextSetup setup, bool strict, TextLinePath path)
      : source_(std::move(source)), setup_(std::move(setup)), strict_(strict), line_(setup_.first_line - 1),
        width_(setup_.width != 0 ? setup_.width : kNoBound), height_(setup_.height != 0 ? setup_.height : kNoBound),
        path_(usable_text_line_path(path)) {
    source_->seek(setup_.data_offset);
    region_.offset = setup_.data_offset;
  }

  using FormatReader::fill;
  bool fill(EventBatch& batch, TriggerBatch&, std::size_t limit) override {
    ColumnSink sink = ColumnSink::over(batch);
    sink.cap = std::min(sink.cap, std::max(limit, sink.n + 1));
    while (!finished_ && sink.n < sink.cap) {
      if (region_.cur == region_.end) {
        if (!advance()) finished_ = true;
      } else if (!setup_.decided) {
        decide_lazily();
      } else if (setup_.layout.comma) {
        dispatch<true>(sink);
      } else {
        dispatch<false>(sink);
      }
    }
    batch.set_size(sink.n);
    if (strict_ && stats_.corrupt() != 0) {
      throw FormatError(setup_.path, stats_.first_error_offset, stats_.first_error + " (strict mode)");
    }
    return !finished_;
  }

  const DecodeStats& stats() const override { return stats_; }

  std::uint64_t bytes_done() const override {
    return region_.offset + static_cast<std::uint64_t>(region_.cur - region_.begin);
  }

  // Every event is one line: count the newlines left in the file.
  std::size_t upper_bound_events() override {
    if (!source_->seekable()) return std::size_t{1} << 20;  // a pipe cannot be read twice
    ByteSource scan(setup_.path, bytes_done());
    std::size_t lines = 2;
    for (auto w = scan.next(); !w.empty(); w = scan.next()) {
      lines += static_cast<std::size_t>(std::count(w.begin(), w.end(), std::uint8_t{'\n'}));
    }
    return lines;
  }

  // Time index. Snapshots are taken between fill() calls, always at the start of a line: the
  // state is the number of the last line parsed and the layout (decided from the first data
  // line, which a reader resumed further on must not decide again from another).
  bool can_snapshot() const override { return source_->seekable(); }
  std::string snapshot() const override {
    std::string out;
    const auto put = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    const TextLayout& l = setup_.layout;
    put(line_);
    put(static_cast<std::uint8_t>(setup_.decided));
    put(static_cast<std::uint8_t>(l.comma));
    put(static_cast<std::uint8_t>(l.ignore_rest));
    put(static_cast<std::int32_t>(l.time_exponent));
    for (const TextRole r : l.roles) put(r);
    return out;
  }
  void resume(const std::string& snapshot, std::uint64_t offset) override {
    constexpr std::size_t kFixed = sizeof(std::uint64_t) + 3 + sizeof(std::int32_t);
    if (!source_->seekable() || snapshot.size() < kFixed || snapshot.size() > kFixed + 64 || offset < setup_.data_offset) {
      throw InvalidArgument("snapshot does not fit this reader");
    }
    const char* at = snapshot.data();
    const auto get = [&at](auto& v) {
      std::memcpy(&v, at, sizeof v);
      at += sizeof v;
    };
    std::uint8_t decided = 0, comma = 0, ignore_rest = 0;
    std::int32_t exponent = 0;
    get(line_);
    get(decided);
    get(comma);
    get(ignore_rest);
    get(exponent);
    setup_.decided = decided != 0;
    setup_.layout.comma = comma != 0;
    setup_.layout.ignore_rest = ignore_rest != 0;
    setup_.layout.time_exponent = exponent;
    setup_.layout.roles.clear();
    for (; at < snapshot.data() + snapshot.size(); ++at) setup_.layout.roles.push_back(static_cast<TextRole>(*at));
    source_->seek(offset);
    region_ = Region{};
    region_.offset = offset;
    window_ = {};
    window_offset_ = offset;
    body_end_ = window_rest_ = nullptr;
    carry_.clear();
    carry_too_long_ = in_carry_ = eof_ = finished_ = false;
    stats_ = DecodeStats{};  // counters restart with the segment
  }
  // A segment ends where the next one starts: at the start of a line.
  void set_end(std::uint64_t offset) override { source_->set_end(offset); }

  std::size_t loose_upper_bound_events() override {
    if (!source_->seekable()) return std::size_t{1} << 20;
    const std::uint64_t done = bytes_done();
    const std::uint64_t rest = source_->size() > done ? source_->size() - done : 0;
    return static_cast<std::size_t>(rest / kMinLineBytes + 2);
  }

 private:
  // Complete lines being parsed: a window up to its last '\n', or the carried line.
  struct Region {
    const char* begin = nullptr;
    const char* cur = nullptr;
    const char* end = nullptr;
    std::uint64_t offset = 0;  // file offset of begin
  };

  void set_region(const char* begin, const char* end, std::uint64_t offset) {
    region_ = Region{begin, begin, end, offset};
  }

  // Moves on to the next complete lines; false at the end of the input.
  bool advance() {
    if (in_carry_) {
      // The carried line is done: go on with the lines of the window that completed it.
      in_carry_ = false;
      carry_.clear();
      if (eof_) return false;
      set_region(window_rest_, body_end_, window_offset_ + static_cast<std::uint64_t>(window_rest_ - window_begin()));
      return true;
    }
    if (!window_.empty()) stash(body_end_, window_end());
    if (eof_) return false;
    window_ = source_->next();
    window_offset_ = source_->window_offset();
    if (window_.empty()) {
      eof_ = true;
      if (carry_.empty() && !carry_too_long_) return false;
      carry_ += '\n';  // the last line has no newline: parse it as if it had one
      return complete_carry();
    }
    const char* const begin = window_begin();
    const char* const end = window_end();
    const void* last = ::memrchr(begin, '\n', window_.size());
    body_end_ = last != nullptr ? static_cast<const char*>(last) + 1 : begin;
    if (carry_.empty() && !carry_too_long_) {
      set_region(begin, body_end_, window_offset_);
      return true;
    }
    const void* first = std::memchr(begin, '\n', window_.size());
    if (first == nullptr) {  // the carried line goes on through the whole window
      stash(begin, end);
      body_end_ = end;
      set_region(end, end, window_offset_ + window_.size());
      return true;
    }
    window_rest_ = static_cast<const char*>(first) + 1;
    stash(begin, window_rest_);
    return complete_carry();
  }

  // Appends bytes of an unfinished line to the carry (or drops them once the line is too long).
  void stash(const char* from, const char* to) {
    if (from == to) return;
    if (carry_.empty() && !carry_too_long_) {
      carry_offset_ = window_offset_ + static_cast<std::uint64_t>(from - window_begin());
    }
    if (carry_too_long_) return;
    if (carry_.size() + static_cast<std::size_t>(to - from) > kMaxLineBytes) {
      carry_too_long_ = true;
      carry_.clear();
      carry_.shrink_to_fit();
      return;
    }
    carry_.append(from, to);
  }

  // The carried line is complete (it ends in '\n'): parse it next.
  bool complete_carry() {
    in_carry_ = true;
    if (carry_too_long_) {
      carry_too_long_ = false;
      carry_.clear();
      ++line_;
      ++stats_.words;
      malformed(carry_offset_, "line longer than 1 MiB");
      set_region(nullptr, nullptr, carry_offset_);
      return true;
    }
    set_region(carry_.data(), carry_.data() + carry_.size(), carry_offset_);
    return true;
  }

  // Lines before the layout is known (only when the prefix did not hold the first data line).
  void decide_lazily() {
    const char* line = region_.cur;
    const char* nl = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(region_.end - line)));
    const std::string_view text = trim_blanks(std::string_view(line, static_cast<std::size_t>(nl - line)));
    if (is_comment_or_blank(text)) {
      ++line_;
      region_.cur = nl + 1;
      return;
    }
    if (!setup_.have_header && !starts_numeric(text)) {
      ++line_;
      setup_.have_header = true;
      setup_.header_text = std::string(text);
      setup_.header_comma = text.find(',') != std::string_view::npos;
      setup_.header_roles = roles_from_names(split_fields(text, setup_.header_comma), &setup_.header_unit);
      region_.cur = nl + 1;
      return;
    }
    setup_.layout = decide_layout(text, setup_, bytes_done());
    setup_.decided = true;  // the line itself is parsed by parse_lines()
  }

  template <bool Comma>
  void dispatch(ColumnSink& sink) {
    using R = TextRole;
    const TextLayout& layout = setup_.layout;
    const bool txyp = has_order(layout, R::t, R::x, R::y, R::p), xypt = has_order(layout, R::x, R::y, R::p, R::t);
    // The fast path knows these two orders, whole lines (no columns to ignore) and the four units.
    const TextFastLayout fast{xypt, Comma, layout.time_exponent, width_, height_};
    const bool use_fast = path_ != TextLinePath::kScalar && (txyp || xypt) && !layout.ignore_rest &&
                          layout.time_exponent >= -3 && layout.time_exponent <= 6;
    if (txyp) {
      parse_lines(sink, FixedOrder<Comma, R::t, R::x, R::y, R::p>{layout}, use_fast ? &fast : nullptr);
    } else if (xypt) {
      parse_lines(sink, FixedOrder<Comma, R::x, R::y, R::p, R::t>{layout}, use_fast ? &fast : nullptr);
    } else {
      parse_lines(sink, AnyOrder<Comma>{layout}, nullptr);
    }
  }

  // After a line the fast path did not take, this many lines go to the scalar parser alone before
  // the fast path is tried again, so that a file of unusual lines pays its checks once in a while.
  static constexpr std::uint32_t kScalarRunAfterMiss = 16;

  // The hot loop: one event per line, until the chunk is full or the region ends. Runs of lines of
  // the common form go through the fast path (when `fast` is given), the others one by one
  // through parse_line, the reference.
  template <class ParseLine>
  void parse_lines(ColumnSink& sink, ParseLine parse_line, const TextFastLayout* fast) {
    const char* p = region_.cur;
    const char* const end = region_.end;
    const std::uint32_t width = width_, height = height_;
    std::uint64_t line = line_, words = 0;
    std::uint32_t scalar_run = 0;
    LineEvent ev;
    while (p < end && sink.n < sink.cap) {
      if (fast != nullptr && scalar_run == 0) {
        const std::size_t before = sink.n;
        p = text_fast_lines(path_, p, end, *fast, sink);
        const std::uint64_t taken = sink.n - before;  // one line per event
        line += taken;
        words += taken;
        if (taken == 0) scalar_run = kScalarRunAfterMiss;
        if (p == end || sink.n == sink.cap) break;
      } else if (scalar_run != 0) {
        --scalar_run;
      }
      ++line;
      const char* next = parse_line(p, end, ev);
      if (next != nullptr) [[likely]] {
        ++words;
        if (ev.x < width && ev.y < height) [[likely]] {
          sink.emit(ev.t, ev.x, ev.y, ev.p);
        } else {
          ++stats_.out_of_bounds;
          stats_.note_error(offset_of(p), "event beyond the sensor geometry");
        }
        p = next;
      } else {
        line_ = line;
        p = other_line(p, end, words);
      }
    }
    line_ = line;
    stats_.words += words;
    region_.cur = p;
  }

  // A line that is not an event: comments and blank lines are skipped, anything else is counted.
  const char* other_line(const char* p, const char* end, std::uint64_t& words) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const std::string_view text = trim_blanks(std::string_view(p, static_cast<std::size_t>(nl - p)));
    if (is_comment_or_blank(text)) return nl + 1;
    ++words;
    if (stats_.first_error_offset == ~std::uint64_t{0}) {
      std::string quoted;
      for (char c : text.substr(0, 60)) quoted += (c >= 0x20 && c < 0x7F) ? c : '?';
      if (text.size() > 60) quoted += "...";
      malformed(offset_of(p), "\"" + quoted + "\" is not " + std::to_string(setup_.layout.roles.size()) +
                                  " numeric " + (setup_.layout.comma ? "comma" : "whitespace") +
                                  "-separated columns " + spec_of(setup_.layout.roles));
    } else {
      ++stats_.unknown_words;
    }
    return nl + 1;
  }

  void malformed(std::uint64_t offset, const std::string& why) {
    ++stats_.unknown_words;
    stats_.note_error(offset, ("malformed text line " + std::to_string(line_) + ": " + why).c_str());
  }

  std::uint64_t offset_of(const char* p) const { return region_.offset + static_cast<std::uint64_t>(p - region_.begin); }
  const char* window_begin() const { return reinterpret_cast<const char*>(window_.data()); }
  const char* window_end() const { return window_begin() + window_.size(); }

  std::unique_ptr<ByteSource> source_;
  TextSetup setup_;
  bool strict_;
  std::uint64_t line_;  // number of the last line parsed
  std::uint32_t width_, height_;
  TextLinePath path_;  // kScalar: parse_line alone
  DecodeStats stats_;
  Region region_;
  std::span<const std::uint8_t> window_;
  std::uint64_t window_offset_ = 0;
  const char* body_end_ = nullptr;     // after the last '\n' of the window
  const char* window_rest_ = nullptr;  // the window's first complete line after a carried line
  std::string carry_;                  // an unfinished line from earlier windows
  std::uint64_t carry_offset_ = 0;
  bool carry_too_long_ = false;
  bool in_carry_ = false;
  bool eof_ = false;
  bool finished_ = false;
};

// Mostly printable ASCII with 3-5 numeric columns per data line (docs/formats.md 0.4), or a header
// row naming t, x, y and p (an empty CSV with a header is still a text event file). A few bad
// lines do not disqualify a file (real files have them); wider lines are accepted after a header
// that names the event columns, or when only their first columns are numbers.
int sniff_text(const std::vector<std::uint8_t>& prefix, const std::string& path) {
  const std::size_t n = std::min(prefix.size(), kSniffBytes);
  if (n == 0) return 0;
  std::size_t odd = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = prefix[i];
    if (b == 0) return 0;
    if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F) ++odd;
  }
  if (odd * 100 > n) return 0;
  const bool whole = prefix.size() <= kSniffBytes && prefix.size() < kPrefixBytes;
  const char* const base = reinterpret_cast<const char*>(prefix.data());
  std::size_t pos = 0, exact = 0, loose = 0, bad = 0, columns = 0;
  bool header = false, named = false;
  while (pos < n && exact + loose + bad < 32) {
    const void* nl = std::memchr(base + pos, '\n', n - pos);
    if (nl == nullptr && !whole) break;
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : n;
    const std::string_view line = trim_blanks(std::string_view(base + pos, end - pos));
    pos = end + 1;
    if (is_comment_or_blank(line)) {
      // evlib's own text header: a file of no events is still one (it was "unrecognised").
      if (line == "# t x y p" && exact + loose + bad == 0) header = named = true;
      continue;
    }
    if (!header && exact + loose + bad == 0 && !starts_numeric(line)) {
      header = true;
      named = has_all_roles(roles_from_names(split_fields(line, line.find(',') != std::string_view::npos), nullptr));
      continue;
    }
    const auto fields = split_fields(line, line.find(',') != std::string_view::npos);
    const std::size_t numeric = static_cast<std::size_t>(
        std::find_if_not(fields.begin(), fields.end(), is_number) - fields.begin());
    if (columns == 0 && numeric >= 3) columns = fields.size();
    if (fields.size() != columns || numeric < 3 || fields.size() > 16) {
      ++bad;
    } else if (numeric == fields.size() && (fields.size() <= 5 || named)) {
      ++exact;
    } else {
      ++loose;
    }
  }
  const std::size_t good = exact + loose;
  if (good == 0) return named && bad == 0 ? 40 : 0;
  // A .txt/.csv name lowers the bar to a majority of good lines (damaged files stay readable).
  const std::string p = ascii_lower(path);
  const bool text_name = p.ends_with(".txt") || p.ends_with(".csv");
  if (good < (text_name ? bad : 3 * bad)) return 0;
  if (header && !named) return 0;  // a header that names no event columns: not recognisably events
  if (loose == 0 && bad == 0) return good >= 2 ? 70 : 50;
  return 40;
}

}  // namespace

const char* parse_text_time(const char* p, const char* end, int exponent, std::int64_t& us) {
  return parse_time(p, end, exponent, us);
}

std::unique_ptr<FormatReader> open_text(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata) {
  return open_text_on_path(std::move(source), prefix, options, metadata, TextLinePath::kBest);
}

std::unique_ptr<FormatReader> open_text_on_path(std::unique_ptr<ByteSource> source,
                                                const std::vector<std::uint8_t>& prefix, const ReadOptions& options,
                                                Metadata& metadata, TextLinePath path) {
  TextSetup setup;
  setup.path = source->path();
  setup.columns_option = options.text_columns;
  if (!setup.columns_option.empty()) roles_from_spec(setup.columns_option);  // validates
  setup.unit_option = time_unit_option(options.text_time_unit);
  const bool whole_file = prefix.size() < kPrefixBytes;
  std::uint64_t first_offset = 0;
  const auto first_line = scan_preamble(prefix, whole_file, setup, first_offset);
  if (first_line) {
    setup.layout = decide_layout(*first_line, setup, first_offset);
    setup.decided = true;
  }
  if (options.width != 0) setup.width = options.width;
  if (options.height != 0) setup.height = options.height;
  metadata.format = "text";
  metadata.width = setup.width;
  metadata.height = setup.height;
  metadata.data_offset = setup.data_offset;
  if (setup.percent_geometry) {
    metadata.header.emplace_back("geometry", std::to_string(setup.width) + "x" + std::to_string(setup.height));
  }
  if (setup.have_header) metadata.header.emplace_back("header", setup.header_text);
  if (setup.decided) {
    metadata.header.emplace_back("columns", spec_of(setup.layout.roles));
    metadata.header.emplace_back("delimiter", setup.layout.comma ? "comma" : "whitespace");
    metadata.header.emplace_back("time_unit", time_unit_name(setup.layout.time_exponent));
  }
  return std::make_unique<TextReader>(std::move(source), std::move(setup), options.strict, path);
}

FormatDecoder text_decoder() { return {&sniff_text, &open_text}; }

}  // namespace evlib::detail
