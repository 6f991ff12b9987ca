#pragma once
// Text / CSV events (docs/formats.md 12): one event per line, whitespace or comma separated, `#` and
// `%` comment lines (`%geometry:W,H` is parsed), an optional header row naming the columns.
//
// Rules, in the order they apply (an explicit ReadOptions field always wins):
//   - delimiter: comma if the header or the first data line contains one, else runs of spaces/tabs;
//   - columns: ReadOptions::text_columns ("txyp", "xypt", '_' skips a column); else the header row
//     (t <- t/ts/time/timestamp(s), x <- x/xs/x_pos/col, y <- y/ys/y_pos/row, p <- p/ps/pol/polarity/on;
//     a `#` comment line made only of such names counts as a header, e.g. evlib's
//     "# timestamp x y polarity"); else "xypt" when a `%geometry` line is present (Prophesee's
//     standalone decoders write that line before x,y,p,t rows); else the RPG order "txyp".
//     Columns after the last one needed are ignored when the first data line has them.
//   - time unit: ReadOptions::text_time_unit; else a unit in the header name ("t_us", "time[s]");
//     else from the first data line's time field: a '.' or an exponent means seconds, an integer
//     means µs (or ns when it exceeds 10^17, docs/formats.md 12). Times are converted to integer µs
//     rounded to nearest (ties away from zero) with exact decimal arithmetic.
//   - polarity: any integer, value > 0 => 1 (so -1/+1 and 0/1 both work).
// Malformed lines are counted in DecodeStats::unknown_words (first one in first_error, with its
// line number) and skipped; strict mode raises FormatError at the first one.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "formats/common/columns.hpp"
#include "formats/text/text_simd.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

// How the data lines of one file are laid out.
struct TextLayout {
  std::vector<TextRole> roles;  // one per column, up to the last column needed
  bool comma = false;           // ',' separates fields (blanks around it allowed); else runs of blanks
  bool ignore_rest = false;     // lines have more columns than roles: the rest of a line is skipped
  int time_exponent = 6;        // µs = value * 10^time_exponent: s 6, ms 3, us 0, ns -3
};

// Parses one time token at p; the buffer holds a '\n' after the token, which stops every scan, and
// end bounds it. Returns the first byte after the token, or nullptr when the token is not a number
// or the time does not fit int64 µs.
const char* parse_text_time(const char* p, const char* end, int time_exponent, std::int64_t& us);

// Opens a text file on `source` (the registry entry point); exposed so that tests can pass a
// source with small windows to exercise lines split across windows.
std::unique_ptr<FormatReader> open_text(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                        const ReadOptions& options, Metadata& metadata);
// The same with the line parser chosen (TextLinePath::kScalar: the reference alone), so that tests
// can compare the fast path with it; open_text() uses the best this CPU runs.
std::unique_ptr<FormatReader> open_text_on_path(std::unique_ptr<ByteSource> source,
                                                const std::vector<std::uint8_t>& prefix, const ReadOptions& options,
                                                Metadata& metadata, TextLinePath path);

}  // namespace evlib::detail
