// The text reader's fast line path (text_simd.cpp) against its scalar parser, the reference: the
// same events, counters and first error on random and adversarial lines, for every column order
// and unit the fast path takes, and with lines split at every byte of a window.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/text/text.hpp"
#include "io/byte_source.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::TextLinePath;
using test::Ev;

struct TextRead {
  std::vector<Ev> events;
  DecodeStats stats;
  std::string error;  // the FormatError of strict mode, if any
};

// Every event and the reader's counters, through ByteSource windows of `window` bytes.
TextRead read_on_path(const std::string& path, TextLinePath line_path, std::size_t window,
                      const ReadOptions& options = {}) {
  TextRead out;
  try {
    auto source = std::make_unique<detail::ByteSource>(path, 0, window);
    const auto prefix = source->prefix(detail::kPrefixBytes);
    Metadata meta;
    auto reader = detail::open_text_on_path(std::move(source), prefix, options, meta, line_path);
    EventBatch batch = EventBatch::with_capacity(1000);
    TriggerBatch triggers;
    bool more = true;
    while (more) {
      batch.set_size(0);
      more = reader->fill(batch, triggers);
      const auto ev = test::events_of(batch);
      out.events.insert(out.events.end(), ev.begin(), ev.end());
    }
    out.stats = reader->stats();
  } catch (const FormatError& e) {
    out.error = e.what();
  }
  return out;
}

// The fast paths this CPU runs.
std::vector<TextLinePath> fast_paths() {
  std::vector<TextLinePath> out;
  for (TextLinePath p : {TextLinePath::kSse2, TextLinePath::kAvx2}) {
    if (detail::usable_text_line_path(p) == p) out.push_back(p);
  }
  return out;
}

const char* name_of(TextLinePath p) { return p == TextLinePath::kAvx2 ? "AVX2" : "SSE2"; }

void expect_same_as_scalar(const std::string& content, const ReadOptions& options, std::size_t window,
                           const std::string& what) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("lines.txt");
  test::write_file(path, {content.begin(), content.end()});
  const TextRead scalar = read_on_path(path, TextLinePath::kScalar, window, options);
  for (TextLinePath p : fast_paths()) {
    const TextRead fast = read_on_path(path, p, window, options);
    const std::string where = what + ", " + name_of(p) + ", window " + std::to_string(window);
    ASSERT_EQ(fast.events, scalar.events) << where;
    EXPECT_EQ(fast.error, scalar.error) << where;
    EXPECT_EQ(fast.stats.words, scalar.stats.words) << where;
    EXPECT_EQ(fast.stats.unknown_words, scalar.stats.unknown_words) << where;
    EXPECT_EQ(fast.stats.out_of_bounds, scalar.stats.out_of_bounds) << where;
    EXPECT_EQ(fast.stats.first_error_offset, scalar.stats.first_error_offset) << where;
    EXPECT_EQ(fast.stats.first_error, scalar.stats.first_error) << where;
  }
}

std::string digits(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
  return s;
}

// A time token: mostly the usual forms (seconds with decimals, integer µs), sometimes odd ones.
std::string time_token(std::mt19937_64& rng, bool usual) {
  if (usual || rng() % 4 != 0) {
    const int whole = 1 + static_cast<int>(rng() % (rng() % 8 == 0 ? 18 : 5));
    std::string t = digits(rng, whole);
    if (rng() % 2 == 0) t += "." + digits(rng, 1 + static_cast<int>(rng() % 10));
    return t;
  }
  static const std::vector<std::string> odd = {"-1.5", "+2.25", "1.", ".5", "3e-3", "1.2.3", "1..2", "-0",
                                              "99999999999999999999", "12345678901234567.8", "9223372036854.775807",
                                              "x", "", "1e", "0.0000005", "0.0000004999", "5.9999995"};
  return odd[rng() % odd.size()];
}

std::string coordinate_token(std::mt19937_64& rng, bool usual) {
  if (usual || rng() % 6 != 0) return std::to_string(rng() % (rng() % 4 == 0 ? 70000 : 1300));
  static const std::vector<std::string> odd = {"00012", "000000012", "65535", "65536", "99999", "-1", "1.0", "", "a7"};
  return odd[rng() % odd.size()];
}

std::string polarity_token(std::mt19937_64& rng, bool usual) {
  if (usual || rng() % 6 != 0) return std::to_string(rng() % 2);
  static const std::vector<std::string> odd = {"-1", "+1", "2", "9", "10", "01", "", "p"};
  return odd[rng() % odd.size()];
}

std::string separator(std::mt19937_64& rng, bool comma, bool usual) {
  if (usual || rng() % 6 != 0) return comma ? "," : (rng() % 8 == 0 ? "\t" : " ");
  static const std::vector<std::string> blank = {"  ", " \t", "\t\t", "", ",", " , "};
  static const std::vector<std::string> with_comma = {" ,", ", ", ",,", "", " ", "\t,\t"};
  return comma ? with_comma[rng() % with_comma.size()] : blank[rng() % blank.size()];
}

// One line of the given column order (t at `t_column`, 0 or 3); `usual` lines have the common form.
std::string random_line(std::mt19937_64& rng, bool comma, bool xypt, bool usual) {
  if (!usual && rng() % 10 == 0) {
    static const std::vector<std::string> odd = {"# comment", "", "   ", "%geometry:1,1", "1 2 3", "1 2 3 4 5",
                                                "1,2,3", "1,2,3,4,5", "\r", "t x y p"};
    return odd[rng() % odd.size()] + "\n";
  }
  std::vector<std::string> fields = {time_token(rng, usual), coordinate_token(rng, usual),
                                     coordinate_token(rng, usual), polarity_token(rng, usual)};
  if (xypt) fields = {fields[1], fields[2], fields[3], fields[0]};
  std::string line;
  if (!usual && rng() % 10 == 0) line += rng() % 2 ? " " : "\t";
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i == 0 ? "" : separator(rng, comma, usual)) + fields[i];
  if (!usual && rng() % 10 == 0) line += rng() % 2 ? " " : "\t";
  if (!usual && rng() % 12 == 0) line += std::string(static_cast<std::size_t>(rng() % 40), '0');
  line += rng() % 8 == 0 ? "\r\n" : "\n";
  return line;
}

struct FileKind {
  const char* header;  // first line (decides the order and separator); "" for none
  bool comma, xypt;
};

const FileKind kKinds[] = {{"", false, false},
                           {"# t x y p\n", false, false},
                           {"t,x,y,p\n", true, false},
                           {"x,y,p,t\n", true, true},
                           {"%geometry:1280,720\n", false, true}};

std::string random_file(std::mt19937_64& rng, const FileKind& kind, int lines, int odd_in) {
  // The first data line is usual: it decides the layout, which both paths must share.
  std::string text = std::string(kind.header) + random_line(rng, kind.comma, kind.xypt, true);
  for (int i = 1; i < lines; ++i) text += random_line(rng, kind.comma, kind.xypt, rng() % odd_in != 0);
  return text;
}

TEST(TextFastPath, random_usual_and_odd_lines_read_as_the_scalar_parser_reads_them) {
  std::mt19937_64 rng(17);
  for (const FileKind& kind : kKinds) {
    for (int round = 0; round < 6; ++round) {
      const std::string text = random_file(rng, kind, 3000, round % 2 == 0 ? 4 : 60);
      expect_same_as_scalar(text, {}, std::size_t{1} << 20, kind.header);
      expect_same_as_scalar(text, {}, 4093, kind.header);
    }
  }
}

TEST(TextFastPath, every_time_unit_and_sensor_bound_reads_as_the_scalar_parser) {
  std::mt19937_64 rng(18);
  for (const char* unit : {"s", "ms", "us", "ns"}) {
    for (const FileKind& kind : kKinds) {
      ReadOptions o;
      o.text_time_unit = unit;
      o.width = 640;  // the generated coordinates go past it: counted as out of bounds
      o.height = 480;
      expect_same_as_scalar(random_file(rng, kind, 1500, 8), o, std::size_t{1} << 20, std::string(unit) + kind.header);
    }
  }
}

TEST(TextFastPath, lines_split_at_every_byte_of_a_window_read_as_the_scalar_parser) {
  std::mt19937_64 rng(19);
  for (const FileKind& kind : kKinds) {
    const std::string text = random_file(rng, kind, 60, 3);
    for (std::size_t window = 1; window <= 90; ++window) expect_same_as_scalar(text, {}, window, kind.header);
  }
}

TEST(TextFastPath, strict_mode_raises_the_same_error_at_the_same_line) {
  std::mt19937_64 rng(20);
  for (const FileKind& kind : kKinds) {
    std::string text = random_file(rng, kind, 400, 1000000);
    text += kind.comma ? "1,2,3,-\n" : "1 2 3 -\n";
    text += random_file(rng, {"", kind.comma, kind.xypt}, 50, 1000000);
    ReadOptions o;
    o.strict = true;
    expect_same_as_scalar(text, o, std::size_t{1} << 20, kind.header);
  }
}

// Fields at the edges of the fast path's reach: long digit runs, lines of 30-34 bytes (the 32-byte
// classification), many decimals, values at the limits, missing fields and extra blanks.
TEST(TextFastPath, adversarial_lines_read_as_the_scalar_parser) {
  const std::vector<std::string> lines = {
      "1 2 3 4",
      "0.123456789012 65535 65535 1",
      "1234567890123456 1 1 0",
      "12345678901234567 1 1 0",
      "123456789012345678 1 1 0",
      "9223372036854775807 1 1 0",
      "9223372036854775808 1 1 0",
      "1234567890.1234567890123 12 12 1",
      "12345678901.123456 65535 65535 1",
      "123456789012.12345 65535 655 0",
      "1.9999995 1 1 1",
      "0.0000015 1 1 1",
      "0.0000025 1 1 1",
      "0.5 00001 00002 1",
      "0.5 000001 2 1",
      "0.5 65536 2 1",
      "0.5 1 2",
      "0.5 1  2 1",
      "0.5  1 2 1",
      " 0.5 1 2 1",
      "0.5 1 2 1 ",
      "0.5 1 2 1\t",
      "0.5 1 2 1 \r",
      "0.5\t1\t2\t1\r",
      "0.5 1 2 1\r\r",
      "0.5 1 2 1 9",
      "0.5 1 2 11",
      "0.5. 1 2 1",
      "0..5 1 2 1",
      "0.5 1.5 2 1",
      ".5 1 2 1",
      "5. 1 2 1",
      "-0.5 1 2 1",
      "0.5 1 2 -1",
      "0.5 1 2 +1",
      "5e-1 1 2 1",
      "",
      "#0.5 1 2 1",
  };
  for (const FileKind& kind : kKinds) {
    std::string text = std::string(kind.header) + (kind.comma ? "1,2,3,1\n" : "1 2 3 1\n");
    for (const std::string& line : lines) {
      std::string l = line;
      if (kind.comma) {
        for (char& c : l) c = c == ' ' ? ',' : c;
      }
      if (kind.xypt) {
        // Move the first field to the end.
        const std::size_t sep = l.find_first_of(kind.comma ? "," : " \t");
        if (sep != std::string::npos && sep != 0) l = l.substr(sep + 1) + l.substr(sep, 1) + l.substr(0, sep);
      }
      text += l + "\n";
      for (int pad = 0; pad < 3; ++pad) text += (kind.comma ? "7,8,9,0" : "7 8 9 0") + std::string(1, '\n');
    }
    expect_same_as_scalar(text, {}, std::size_t{1} << 20, kind.header);
    for (std::size_t window : {5u, 31u, 32u, 33u, 40u, 41u, 64u}) expect_same_as_scalar(text, {}, window, kind.header);
  }
}

// A usual line's expected event, worked out here from its digit strings (not by either parser).
struct UsualLine {
  std::string text;
  Ev event;
};

// A time of the fast path's form for a unit (10^exponent µs per unit), with its µs: the integer
// digits, then the fraction's first `keep` digits (padded with zeros), the next one rounding;
// in ns the integer part alone, rounded.
std::pair<std::string, std::int64_t> usual_time(std::mt19937_64& rng, int exponent) {
  const int keep = exponent > 0 ? exponent : 0;
  const int max_int = exponent > 0 ? 15 - exponent : 16;
  const int int_digits = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_int));
  const int frac_digits = exponent < 0 ? 0 : static_cast<int>(rng() % static_cast<unsigned>(keep + 4));
  const std::string whole = digits(rng, int_digits), frac = digits(rng, frac_digits);
  std::int64_t us;
  if (exponent < 0) {
    us = static_cast<std::int64_t>((std::stoull(whole) + 500) / 1000);
  } else {
    std::string fixed = whole + frac.substr(0, static_cast<std::size_t>(std::min(keep, frac_digits)));
    fixed += std::string(static_cast<std::size_t>(std::max(0, keep - frac_digits)), '0');
    us = static_cast<std::int64_t>(std::stoull(fixed)) + (frac_digits > keep && frac[static_cast<std::size_t>(keep)] >= '5');
  }
  return {frac_digits == 0 ? whole : whole + "." + frac, us};
}

UsualLine usual_line(std::mt19937_64& rng, bool comma, bool xypt, int exponent) {
  const auto [time, us] = usual_time(rng, exponent);
  const auto x = static_cast<std::uint16_t>(rng() % 65536), y = static_cast<std::uint16_t>(rng() % 1000);
  const auto p = static_cast<std::uint8_t>(rng() % 2);
  const std::string sep = comma ? "," : (rng() % 4 == 0 ? "\t" : " ");
  const std::string xs = std::to_string(x), ys = std::to_string(y), ps = std::to_string(p);
  std::string text = xypt ? xs + sep + ys + sep + ps + sep + time : time + sep + xs + sep + ys + sep + ps;
  text += rng() % 5 == 0 ? "\r\n" : "\n";
  return {text, Ev{us, x, y, p}};
}

TEST(TextFastPath, takes_every_usual_line_of_each_layout_and_unit_with_the_expected_event) {
  std::mt19937_64 rng(21);
  for (TextLinePath path : fast_paths()) {
    for (const bool comma : {false, true}) {
      for (const bool xypt : {false, true}) {
        for (const int exponent : {6, 3, 0, -3}) {
          std::string text;
          std::vector<Ev> expected;
          for (int i = 0; i < 400; ++i) {
            const UsualLine line = usual_line(rng, comma, xypt, exponent);
            text += line.text;
            expected.push_back(line.event);
          }
          const std::size_t lines_end = text.size();
          text += std::string(detail::kTextFastReach, '#');  // not a line: the fast path stops there
          EventBatch batch = EventBatch::with_capacity(expected.size());
          detail::ColumnSink sink = detail::ColumnSink::over(batch);
          const detail::TextFastLayout layout{xypt, comma, exponent};
          const char* stop = detail::text_fast_lines(path, text.data(), text.data() + text.size(), layout, sink);
          const std::string where = std::string(name_of(path)) + (comma ? " comma" : " blank") +
                                    (xypt ? " xypt" : " txyp") + " exponent " + std::to_string(exponent);
          EXPECT_EQ(static_cast<std::size_t>(stop - text.data()), lines_end) << where;
          ASSERT_EQ(sink.n, expected.size()) << where;
          batch.set_size(sink.n);
          EXPECT_EQ(test::events_of(batch), expected) << where;
        }
      }
    }
  }
}

// Lines at the limits of the fast path, and lines it must leave to the scalar parser, at every
// offset from a block's start (so each crosses the 64-byte boundary somewhere), between and
// after lines it takes.
TEST(TextFastPath, edge_lines_at_every_block_offset_read_as_the_scalar_parser) {
  const std::vector<std::string> edges = {
      "123456789.123456 65535 65535 1",    // the most integer digits with six decimals
      "1234567890.123456 1 1 1",           // one more: the scalar parser's
      "1234567890123456 1 1 0",            // 16 integer digits
      "0.1234567 0000012 0000034 1",       // rounding digit; x and y of 7 digits, led by zeros
      "0.1234565 00000012 3 1",            // x of 8 digits
      "0.5 1 2 -1",
      "0.5 1 2 2",
      "0.5 1 2 9",
      "0.5\t1\t2\t1\r",                   // CRLF
      "# a comment in the middle",
      "0.5 1.5 2 1",
      "0.5 1 2 1 1",
  };
  for (const FileKind& kind : kKinds) {
    for (const std::string& edge : edges) {
      std::string l = edge;
      if (kind.comma) {
        for (char& c : l) c = c == ' ' || c == '\t' ? ',' : c;
      }
      if (kind.xypt && l[0] != '#') {
        const std::size_t sep = l.find_first_of(kind.comma ? "," : " \t");
        l = l.substr(sep + 1) + l.substr(sep, 1) + l.substr(0, sep);
        if (l.find('\r') != std::string::npos) {  // keep the '\r' last
          l.erase(l.find('\r'), 1);
          l += "\r";
        }
      }
      const char sep = kind.comma ? ',' : ' ';
      const auto line_of = [&](const std::string& time) {
        const std::string xyp = std::string("7") + sep + "8" + sep + "1";
        return (kind.xypt ? xyp + sep + time : time + sep + xyp) + "\n";
      };
      const std::string usual = line_of("0.25");
      for (std::size_t offset = 0; offset < 64; ++offset) {
        // A first line `offset` bytes longer moves the edge line that far past a block start.
        std::string text = std::string(kind.header) + line_of("0.2" + std::string(offset, '5'));
        text += l + "\n";
        for (int i = 0; i < 8; ++i) text += usual;
        text += l;  // the last line, without '\n'
        expect_same_as_scalar(text, {}, std::size_t{1} << 20, kind.header + l);
      }
    }
  }
}

TEST(TextFastPath, takes_the_usual_lines_of_our_writers_and_of_rpg_files) {
  // Not a speed check: the fast path must not silently decline the forms it is for.
  test::ScopedTempDir dir;
  std::string text = "# t x y p\n";
  for (int i = 0; i < 1000; ++i) text += "0.00" + std::to_string(1000 + i) + "000 " + std::to_string(i % 640) + " 7 1\n";
  const std::string path = dir.file("rpg.txt");
  test::write_file(path, {text.begin(), text.end()});
  for (TextLinePath p : fast_paths()) {
    auto source = std::make_unique<detail::ByteSource>(path, 0, std::size_t{1} << 20);
    const auto prefix = source->prefix(detail::kPrefixBytes);
    Metadata meta;
    auto reader = detail::open_text_on_path(std::move(source), prefix, {}, meta, p);
    EventBatch batch = EventBatch::with_capacity(2000);
    TriggerBatch triggers;
    reader->fill(batch, triggers);
    ASSERT_EQ(batch.size(), 1000u);
    EXPECT_EQ(batch.t()[0], 1000);
    EXPECT_EQ(batch.t()[999], 1999);
  }
  // The fast path itself on a buffer: it stops at the comment.
  const std::string lines = "0.001000 5 6 1\n12 7 8 0\n# stop\n" + std::string(64, '\n');
  for (TextLinePath p : fast_paths()) {
    EventBatch batch = EventBatch::with_capacity(8);
    detail::ColumnSink sink = detail::ColumnSink::over(batch);
    const detail::TextFastLayout layout{};
    const char* stop = detail::text_fast_lines(p, lines.data(), lines.data() + lines.size(), layout, sink);
    EXPECT_EQ(sink.n, 2u) << name_of(p);
    EXPECT_EQ(stop - lines.data(), 24) << name_of(p);
    EXPECT_EQ(batch.t_data()[1], 12000000) << name_of(p);
  }
}

}  // namespace
}  // namespace evlib
