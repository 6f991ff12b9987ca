#include "formats/numpy/npy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "evlib/error.hpp"
#include "formats/common/decoder_support.hpp"
#include "formats/common/columns.hpp"

namespace evlib::detail {

namespace {

constexpr std::uint64_t kMaxItemsize = std::uint64_t{1} << 30;
// Coordinates are uint16: without a geometry every value in [0, 65535] is in bounds.
constexpr std::uint64_t kNoBound = 0x10000;
// Records converted per step: the staging columns (4 x 8 bytes x kBlock) stay in L2.
constexpr std::size_t kBlock = 8192;
// A time that cannot be represented (NaN, out of int64 range) while staging.
constexpr std::int64_t kInvalid = std::numeric_limits<std::int64_t>::min();
// Windows of the extra ByteSources of a column-major array.
constexpr std::size_t kColumnWindow = std::size_t{1} << 20;

constexpr std::int64_t kPow10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};

inline bool is_digit(char c) noexcept { return static_cast<unsigned char>(c - '0') < 10; }

// ---- the header dict: a Python literal (strings, integers, True/False/None, tuples, lists, dicts) ----

struct PyValue {
  enum class Kind { none, boolean, integer, string, sequence, dict };
  Kind kind = Kind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string text;  // string value
  std::string raw;   // the literal as written
  std::vector<PyValue> items;      // sequence items, or dict values
  std::vector<std::string> keys;   // dict keys (a vector of pairs would need PyValue complete)

  const PyValue* get(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

class PyParser {
 public:
  PyParser(std::string_view text, const std::string& path, std::uint64_t offset)
      : text_(text), path_(path), offset_(offset) {}

  PyValue parse() {
    PyValue v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(path_, offset_ + pos_, "malformed .npy header: " + what);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  PyValue value(int depth) {
    if (depth > 16) fail("nested too deeply");
    skip_space();
    const std::size_t start = pos_;
    PyValue v;
    const char c = peek();
    if (c == '{') {
      v = dict(depth);
    } else if (c == '[' || c == '(') {
      v = sequence(depth, c == '[' ? ']' : ')');
    } else if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::string;
      v.text = string_literal();
    } else if (c == '-' || is_digit(c)) {
      v = integer();
    } else if (word("True")) {
      v.kind = PyValue::Kind::boolean;
      v.boolean = true;
    } else if (word("False")) {
      v.kind = PyValue::Kind::boolean;
    } else if (word("None")) {
      v.kind = PyValue::Kind::none;
    } else {
      fail(c == '\0' ? "ends early" : std::string("unexpected character '") + c + "'");
    }
    v.raw = std::string(text_.substr(start, pos_ - start));
    return v;
  }

  std::string string_literal() {
    const char quote = text_[pos_++];
    std::string s;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      char c = text_[pos_++];
      if (c == quote) return s;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated string");
        c = text_[pos_++];
      }
      s += c;
    }
  }

  PyValue integer() {
    PyValue v;
    v.kind = PyValue::Kind::integer;
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    std::uint64_t n = 0;
    const std::size_t first = pos_;
    while (is_digit(peek())) {
      if (pos_ - first >= 18) fail("integer too large");
      n = n * 10 + static_cast<std::uint64_t>(text_[pos_++] - '0');
    }
    if (pos_ == first) fail("expected digits");
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long, e.g. "(4407L,)"
    v.integer = negative ? -static_cast<std::int64_t>(n) : static_cast<std::int64_t>(n);
    return v;
  }

  PyValue sequence(int depth, char close) {
    PyValue v;
    v.kind = PyValue::Kind::sequence;
    ++pos_;
    while (true) {
      skip_space();
      if (peek() == close) {
        ++pos_;
        return v;
      }
      v.items.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != close) {
        fail(std::string("expected ',' or '") + close + "'");
      }
    }
  }

  PyValue dict(int depth) {
    PyValue v;
    v.kind = PyValue::Kind::dict;
    ++pos_;
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      if (peek() != '\'' && peek() != '"') fail("dict keys must be strings");
      std::string key = string_literal();
      skip_space();
      if (peek() != ':') fail("expected ':'");
      ++pos_;
      v.keys.push_back(std::move(key));
      v.items.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail("expected ',' or '}'");
      }
    }
  }

  std::string_view text_;
  const std::string& path_;
  std::uint64_t offset_;
  std::size_t pos_ = 0;
};

// ---- dtypes ----

// A type string: [<>|=] kind size [unit], e.g. "<i8", "|b1", ">f4", "<M8[us]", "u1".
NpyType parse_type(const std::string& s, const std::string& path, std::uint64_t offset) {
  auto bad = [&](const std::string& why) -> FormatError {
    return FormatError(path, offset, "dtype '" + s + "': " + why);
  };
  NpyType t;
  t.text = s;
  std::size_t i = 0;
  char order = '=';
  if (i < s.size() && std::strchr("<>|=", s[i]) != nullptr) order = s[i++];
  if (i >= s.size()) throw bad("no type");
  const char kind = s[i++];
  std::uint64_t size = 0;
  const std::size_t digits = i;
  while (i < s.size() && is_digit(s[i])) {
    if (i - digits >= 9) throw bad("size too large");
    size = size * 10 + static_cast<std::uint64_t>(s[i++] - '0');
  }
  const bool sized = i > digits;
  std::string unit;
  if (i < s.size() && s[i] == '[') {
    const std::size_t close = s.find(']', i);
    if (close == std::string::npos) throw bad("unterminated unit");
    unit = s.substr(i + 1, close - i - 1);
    i = close + 1;
  }
  if (i != s.size()) throw bad("unexpected characters");
  switch (kind) {
    case 'b':
    case '?':
      t.kind = NpyType::Kind::boolean;
      t.size = sized ? size : 1;
      if (t.size != 1) throw bad("booleans have size 1");
      break;
    case 'i':
    case 'u':
      t.kind = kind == 'i' ? NpyType::Kind::signed_int : NpyType::Kind::unsigned_int;
      t.size = size;
      if (size != 1 && size != 2 && size != 4 && size != 8) throw bad("integers have size 1, 2, 4 or 8");
      break;
    case 'f':
      t.size = size;
      if (size == 4 || size == 8) {
        t.kind = NpyType::Kind::floating;
      } else if (size == 0) {
        throw bad("no size");
      }  // half and long double: kept as "other" (usable only as padding)
      break;
    case 'M':
    case 'm':
      t.size = size;
      if (size != 8) throw bad("datetime64/timedelta64 have size 8");
      t.time_exponent = time_unit_exponent(unit);
      if (t.time_exponent != kNoTimeUnit) t.kind = NpyType::Kind::datetime;  // else "other": D, h, ps, ...
      break;
    case 'U':
      t.size = size * 4;
      break;
    case 'c':
    case 'V':
    case 'S':
    case 'a':
      t.size = size;
      break;
    case 'O':
      throw bad("object arrays hold pickled Python objects and cannot be read");
    default:
      throw bad("unsupported kind '" + std::string(1, kind) + "'");
  }
  if (!sized && kind != '?') throw bad("no size");
  t.swap = order == '>' && t.size > 1;
  return t;
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& path, std::uint64_t offset) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) throw FormatError(path, offset, "array size overflows");
  return a * b;
}

// Elements of a field's subarray shape (1 for scalars).
std::uint64_t shape_product(const PyValue& shape, const std::string& path, std::uint64_t offset) {
  if (shape.kind == PyValue::Kind::integer) {
    if (shape.integer < 0) throw FormatError(path, offset, "negative dimension in a dtype");
    return static_cast<std::uint64_t>(shape.integer);
  }
  if (shape.kind != PyValue::Kind::sequence) throw FormatError(path, offset, "a field shape must be a tuple");
  std::uint64_t n = 1;
  for (const PyValue& d : shape.items) {
    if (d.kind != PyValue::Kind::integer || d.integer < 0) throw FormatError(path, offset, "bad field shape");
    n = checked_mul(n, static_cast<std::uint64_t>(d.integer), path, offset);
  }
  return n;
}

std::uint64_t descr_size(const PyValue& descr, const std::string& path, std::uint64_t offset, int depth);

// Fields of a list descr, with running offsets (numpy writes padding as ('', '|Vn') entries).
std::vector<NpyField> parse_fields(const PyValue& descr, const std::string& path, std::uint64_t offset, int depth,
                                   std::uint64_t& itemsize) {
  std::vector<NpyField> fields;
  std::uint64_t at = 0;
  for (const PyValue& item : descr.items) {
    if (item.kind != PyValue::Kind::sequence || item.items.size() < 2 || item.items.size() > 3) {
      throw FormatError(path, offset, "malformed .npy header: a structured descr entry must be (name, type[, shape])");
    }
    NpyField f;
    const PyValue& name = item.items[0];
    if (name.kind == PyValue::Kind::string) {
      f.name = name.text;
    } else if (name.kind == PyValue::Kind::sequence && name.items.size() == 2 &&
               name.items[1].kind == PyValue::Kind::string) {
      f.name = name.items[1].text;  // (title, name)
    } else {
      throw FormatError(path, offset, "malformed .npy header: a field name must be a string");
    }
    const PyValue& type = item.items[1];
    std::uint64_t size = 0;
    if (type.kind == PyValue::Kind::string) {
      f.type = parse_type(type.text, path, offset);
      size = f.type.size;
    } else if (type.kind == PyValue::Kind::sequence) {
      size = descr_size(type, path, offset, depth + 1);  // nested structure: only skipped over
      f.scalar = false;
      f.type.text = type.raw;
    } else {
      throw FormatError(path, offset, "malformed .npy header: a field type must be a string or a list");
    }
    if (item.items.size() == 3) {
      size = checked_mul(size, shape_product(item.items[2], path, offset), path, offset);
      f.scalar = false;
    }
    f.offset = at;
    at += size;
    if (at > kMaxItemsize) throw FormatError(path, offset, "record size too large");
    fields.push_back(std::move(f));
  }
  itemsize = at;
  return fields;
}

std::uint64_t descr_size(const PyValue& descr, const std::string& path, std::uint64_t offset, int depth) {
  if (depth > 8) throw FormatError(path, offset, "dtype nested too deeply");
  std::uint64_t size = 0;
  parse_fields(descr, path, offset, depth, size);
  return size;
}

bool usable_number(const NpyType& t) {
  return t.kind != NpyType::Kind::other;
}

// ---- converting columns ----

enum class Role { time, coord, polarity };
using Convert = void (*)(const std::uint8_t* src, std::size_t stride, std::size_t n, std::int64_t* out, int exponent);

template <class U>
inline U byte_swap(U v) noexcept {
  if constexpr (sizeof(U) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(U) == 4) {
    return __builtin_bswap32(v);
  } else {
    return __builtin_bswap64(v);
  }
}

template <class T, bool Swap>
inline T load(const std::uint8_t* p) noexcept {
  if constexpr (!Swap || sizeof(T) == 1) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  } else {
    using U = std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
    U u;
    std::memcpy(&u, p, sizeof u);
    u = byte_swap(u);
    T v;
    std::memcpy(&v, &u, sizeof v);
    return v;
  }
}

// µs from an integer time in units of 10^exponent µs; kInvalid when it does not fit.
inline std::int64_t scale_time(std::int64_t v, int exponent) noexcept {
  if (exponent == 0 || v == kInvalid) return v;
  if (exponent > 0) {
    const std::int64_t m = kPow10[exponent];
    if (v > std::numeric_limits<std::int64_t>::max() / m || v < -(std::numeric_limits<std::int64_t>::max() / m)) {
      return kInvalid;
    }
    return v * m;
  }
  // ns and finer: round to nearest, ties away from zero.
  const std::int64_t d = kPow10[-exponent];
  const std::int64_t q = v / d, r = v % d;
  if (r >= d / 2 + d % 2) return q + 1;
  if (r <= -(d / 2 + d % 2)) return q - 1;
  return q;
}

inline std::int64_t float_time(double v, int exponent) noexcept {
  const double scaled = v * std::pow(10.0, exponent);
  if (!(std::fabs(scaled) < 9.2e18)) return kInvalid;  // also NaN
  return std::llround(scaled);
}

template <class T, bool Swap, Role R>
void convert(const std::uint8_t* src, std::size_t stride, std::size_t n, std::int64_t* out, int exponent) {
  for (std::size_t i = 0; i < n; ++i, src += stride) {
    const T v = load<T, Swap>(src);
    if constexpr (R == Role::polarity) {
      out[i] = v > T(0);  // docs/formats.md 0.2: value > 0 => ON
    } else if constexpr (std::is_floating_point_v<T>) {
      if constexpr (R == Role::time) {
        out[i] = float_time(static_cast<double>(v), exponent);
      } else {
        out[i] = (v >= T(0) && v < T(65536)) ? static_cast<std::int64_t>(v) : -1;
      }
    } else if constexpr (std::is_unsigned_v<T> && sizeof(T) == 8) {
      const std::int64_t s = v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                                 ? kInvalid
                                 : static_cast<std::int64_t>(v);
      if constexpr (R == Role::time) {
        out[i] = scale_time(s, exponent);
      } else {
        out[i] = s == kInvalid ? -1 : s;
      }
    } else if constexpr (R == Role::time) {
      out[i] = scale_time(static_cast<std::int64_t>(v), exponent);
    } else {
      out[i] = static_cast<std::int64_t>(v);
    }
  }
}

template <class T, Role R>
Convert pick_order(bool swap) {
  return swap ? &convert<T, true, R> : &convert<T, false, R>;
}

template <Role R>
Convert pick_convert(const NpyType& t) {
  switch (t.kind) {
    case NpyType::Kind::boolean: return pick_order<std::uint8_t, R>(false);
    case NpyType::Kind::unsigned_int:
      switch (t.size) {
        case 1: return pick_order<std::uint8_t, R>(false);
        case 2: return pick_order<std::uint16_t, R>(t.swap);
        case 4: return pick_order<std::uint32_t, R>(t.swap);
        default: return pick_order<std::uint64_t, R>(t.swap);
      }
    case NpyType::Kind::signed_int:
      switch (t.size) {
        case 1: return pick_order<std::int8_t, R>(false);
        case 2: return pick_order<std::int16_t, R>(t.swap);
        case 4: return pick_order<std::int32_t, R>(t.swap);
        default: return pick_order<std::int64_t, R>(t.swap);
      }
    case NpyType::Kind::datetime: return pick_order<std::int64_t, R>(t.swap);
    case NpyType::Kind::floating: return t.size == 4 ? pick_order<float, R>(t.swap) : pick_order<double, R>(t.swap);
    case NpyType::Kind::other: break;
  }
  return nullptr;
}

// ---- streams and records ----

class RegionStream final : public ArrayStream {
 public:
  RegionStream(std::unique_ptr<ByteSource> source, std::uint64_t offset, std::uint64_t length)
      : source_(std::move(source)), start_(offset), length_(length), left_(length), position_(offset) {
    source_->seek(offset);
  }
  bool seekable() const override { return source_->seekable(); }
  void seek(std::uint64_t pos) override {
    source_->seek(start_ + pos);
    left_ = length_ > pos ? length_ - pos : 0;
    position_ = start_ + pos;
  }
  std::span<const std::uint8_t> next() override {
    if (left_ == 0) return {};
    auto w = source_->next();
    if (w.size() > left_) w = w.first(static_cast<std::size_t>(left_));
    left_ -= w.size();
    position_ = source_->window_offset() + w.size();
    return w;
  }
  std::uint64_t file_position() const override { return position_; }
  std::uint64_t error_offset(std::uint64_t pos) const override { return start_ + pos; }

 private:
  std::unique_ptr<ByteSource> source_;
  std::uint64_t start_, length_, left_, position_;
};

// Whole records out of a stream: pointers into its windows, or into a staging copy for the one
// record that straddles two windows.
class RecordCursor {
 public:
  RecordCursor(ArrayPart part, std::uint64_t records)
      : stream_(std::move(part.stream)), pending_(part.pending), data_offset_(part.data_offset),
        record_(part.record_bytes), remaining_(records), max_records_(part.max_records) {}

  // Up to max whole records at ptr; 0 when the array (or the stream) has ended.
  std::size_t peek(const std::uint8_t*& ptr, std::size_t max) {
    if (remaining_ == 0 || ended_) return 0;
    if (staged_) {
      ptr = staging_.data();
      return 1;
    }
    while (pending_.size() < record_) {
      if (pending_.empty()) {
        pending_ = stream_->next();
        if (pending_.empty()) return end_early();
        continue;
      }
      // A record straddles two windows: assemble it.
      staging_.assign(pending_.begin(), pending_.end());
      while (staging_.size() < record_) {
        const auto w = stream_->next();
        if (w.empty()) {
          leftover_ = staging_.size();
          return end_early();
        }
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(record_ - staging_.size(), w.size()));
        staging_.insert(staging_.end(), w.begin(), w.begin() + static_cast<std::ptrdiff_t>(take));
        pending_ = w.subspan(take);
      }
      staged_ = true;
      ptr = staging_.data();
      return 1;
    }
    ptr = pending_.data();
    return static_cast<std::size_t>(std::min<std::uint64_t>({max, pending_.size() / record_, remaining_}));
  }

  void consume(std::size_t n) {
    if (staged_) {
      staged_ = false;
    } else {
      pending_ = pending_.subspan(static_cast<std::size_t>(n * record_));
    }
    remaining_ -= n;
    done_ += n;
  }

  bool seekable() const { return stream_->seekable(); }
  // Continues at record `index` of `records` (a time index segment's start).
  void seek_record(std::uint64_t index, std::uint64_t records) {
    stream_->seek(data_offset_ + index * record_);
    pending_ = {};
    staging_.clear();
    staged_ = ended_ = false;
    remaining_ = records > index ? records - index : 0;
    done_ = index;
    leftover_ = 0;
  }
  // The record at a file offset that record_offset() gave.
  std::uint64_t record_at(std::uint64_t offset) const {
    const std::uint64_t first = record_offset(0);
    return offset > first ? (offset - first) / record_ : 0;
  }

  // Gives up on the stream after an error.
  void abandon() {
    ended_ = true;
    pending_ = {};
  }

  std::uint64_t remaining() const { return remaining_; }
  // Records still to come as far as the bytes available allow.
  std::uint64_t plausible_remaining() const {
    return std::min(remaining_, max_records_ > done_ ? max_records_ - done_ : 0);
  }
  std::uint64_t done() const { return done_; }
  std::uint64_t leftover_bytes() const { return leftover_; }
  std::uint64_t record_offset(std::uint64_t index) const {
    return stream_->error_offset(data_offset_ + index * record_);
  }
  std::uint64_t file_position() const { return stream_->file_position(); }
  // Lets the stream check its end once every record was taken (not after an error).
  void finish_stream() {
    if (remaining_ == 0 && !ended_) stream_->finish();
  }

 private:
  std::size_t end_early() {
    ended_ = true;
    pending_ = {};
    staging_.clear();
    return 0;
  }

  std::unique_ptr<ArrayStream> stream_;
  std::span<const std::uint8_t> pending_;
  std::vector<std::uint8_t> staging_;
  bool staged_ = false;
  bool ended_ = false;
  std::uint64_t data_offset_;
  std::uint64_t record_;
  std::uint64_t remaining_;
  std::uint64_t max_records_;
  std::uint64_t done_ = 0;
  std::uint64_t leftover_ = 0;
};

struct ColumnPlan {
  std::size_t part = 0;
  std::uint64_t offset = 0;
  Convert convert = nullptr;
};

class ArrayReader final : public FormatReader {
 public:
  ArrayReader(std::string path, std::vector<ArrayPart> parts, const EventColumns& columns, std::uint64_t count,
              bool strict, std::uint32_t width, std::uint32_t height)
      : path_(std::move(path)), count_(count), strict_(strict), time_exponent_(columns.time_exponent),
        width_(width != 0 ? width : kNoBound), height_(height != 0 ? height : kNoBound) {
    for (ArrayPart& part : parts) {
      strides_.push_back(part.record_bytes);
      cursors_.emplace_back(std::move(part), count);
    }
    plan_[0] = {columns.t.part, columns.t.offset, pick_convert<Role::time>(columns.t.type)};
    plan_[1] = {columns.x.part, columns.x.offset, pick_convert<Role::coord>(columns.x.type)};
    plan_[2] = {columns.y.part, columns.y.offset, pick_convert<Role::coord>(columns.y.type)};
    plan_[3] = {columns.p.part, columns.p.offset, pick_convert<Role::polarity>(columns.p.type)};
    for (auto& column : staging_) column.resize(kBlock);
    seekable_ = std::all_of(cursors_.begin(), cursors_.end(), [](const RecordCursor& c) { return c.seekable(); });
    end_record_ = count_;
    direct_ = direct_layout(columns);
    plan_p_signed_ = columns.p.type.kind == NpyType::Kind::signed_int;
  }

  using FormatReader::fill;
  bool fill(EventBatch& batch, TriggerBatch&, std::size_t limit) override {
    ColumnSink sink = ColumnSink::over(batch);
    sink.cap = std::min(sink.cap, std::max(limit, sink.n + 1));
    while (!finished_ && sink.n < sink.cap) {
      const std::uint64_t done = cursors_.front().done();
      if (end_record_ < count_ && done >= end_record_) {  // the end of a time index segment
        finished_ = true;
        break;
      }
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>({sink.cap - sink.n, kBlock, end_record_ - done}));
      std::array<const std::uint8_t*, 4> ptr{};
      for (std::size_t s = 0; s < cursors_.size() && k != 0; ++s) k = peek(s, ptr[s], k);
      if (k == 0) {
        finish();
        break;
      }
      decode(ptr, k, sink);
      for (RecordCursor& c : cursors_) c.consume(k);
    }
    batch.set_size(sink.n);
    if (strict_ && stats_.corrupt() != 0) {
      throw FormatError(path_, stats_.first_error_offset, stats_.first_error + " (strict mode)");
    }
    return !finished_;
  }

  const DecodeStats& stats() const override { return stats_; }
  std::size_t upper_bound_events() override {
    std::uint64_t bound = cursors_.front().plausible_remaining();
    for (const RecordCursor& c : cursors_) bound = std::min(bound, c.plausible_remaining());
    return static_cast<std::size_t>(bound) + 1;
  }
  // Seekable arrays: the file offset of the next record of the first stream (what the time
  // index stores); otherwise how far the stream has been read.
  std::uint64_t bytes_done() const override {
    const RecordCursor& c = cursors_.front();
    return seekable_ ? c.record_offset(c.done()) : c.file_position();
  }

  // Time index: the state is the record number (every stream advances record by record).
  bool can_snapshot() const override { return seekable_; }
  std::string snapshot() const override {
    const std::uint64_t done = cursors_.front().done();
    return std::string(reinterpret_cast<const char*>(&done), sizeof done);
  }
  void resume(const std::string& snapshot, std::uint64_t) override {
    std::uint64_t record = 0;
    if (!seekable_ || snapshot.size() != sizeof record) throw InvalidArgument("snapshot does not fit this reader");
    std::memcpy(&record, snapshot.data(), sizeof record);
    for (RecordCursor& c : cursors_) c.seek_record(std::min(record, count_), count_);
    stats_ = DecodeStats{};  // counters restart with the segment
    finished_ = false;
    end_record_ = count_;
  }
  void set_end(std::uint64_t offset) override { end_record_ = std::min(count_, cursors_.front().record_at(offset)); }

 private:
  std::size_t peek(std::size_t s, const std::uint8_t*& ptr, std::size_t max) {
    try {
      return std::min(max, cursors_[s].peek(ptr, max));
    } catch (const FormatError& e) {
      if (strict_) throw;
      ++stats_.unknown_words;
      stats_.note_error(e.offset(), e.detail().c_str());
      cursors_[s].abandon();
      return 0;
    }
  }

  // The layout evlib writes (and expelliarmus, tonic): little-endian int64 µs, 16-bit coordinates,
  // a one-byte polarity. Those are decoded straight into the columns, without the staging pass.
  enum class Direct { none, unsigned_xy, signed_xy };
  static Direct direct_layout(const EventColumns& c) {
    using K = NpyType::Kind;
    const auto is = [](const NpyType& t, K kind, std::uint64_t size) { return t.kind == kind && t.size == size && !t.swap; };
    if (!is(c.t.type, K::signed_int, 8) || c.time_exponent != 0) return Direct::none;
    if (!is(c.p.type, K::unsigned_int, 1) && !is(c.p.type, K::boolean, 1) && !is(c.p.type, K::signed_int, 1)) return Direct::none;
    if (is(c.x.type, K::unsigned_int, 2) && is(c.y.type, K::unsigned_int, 2)) return Direct::unsigned_xy;
    if (is(c.x.type, K::signed_int, 2) && is(c.y.type, K::signed_int, 2)) return Direct::signed_xy;
    return Direct::none;
  }

  template <bool SignedXY>
  void decode_direct(const std::array<const std::uint8_t*, 4>& ptr, std::size_t k, ColumnSink& sink) {
    const std::uint8_t* t = ptr[plan_[0].part] + plan_[0].offset;
    const std::uint8_t* x = ptr[plan_[1].part] + plan_[1].offset;
    const std::uint8_t* y = ptr[plan_[2].part] + plan_[2].offset;
    const std::uint8_t* p = ptr[plan_[3].part] + plan_[3].offset;
    const std::size_t st = strides_[plan_[0].part], sx = strides_[plan_[1].part], sy = strides_[plan_[2].part],
                      sp = strides_[plan_[3].part];
    const std::uint32_t w = static_cast<std::uint32_t>(width_), h = static_cast<std::uint32_t>(height_);
    const std::uint8_t sign_mask = plan_p_signed_ ? 0x80 : 0x00;
    for (std::size_t i = 0; i < k; ++i) {
      std::uint32_t xv = load_le16(x + i * sx), yv = load_le16(y + i * sy);
      if constexpr (SignedXY) {  // negative int16 values become huge and fail the bound below
        xv = static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<std::int16_t>(xv)));
        yv = static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<std::int16_t>(yv)));
      }
      if (xv < w && yv < h) [[likely]] {
        const std::uint8_t pv = p[i * sp];  // value > 0: a set sign bit of an int8 is negative
        sink.emit(static_cast<std::int64_t>(load_le64(t + i * st)), xv, yv, pv != 0 && (pv & sign_mask) == 0);
      } else {
        ++stats_.out_of_bounds;
        stats_.note_error(cursors_.front().record_offset(cursors_.front().done() + i),
                          "coordinates outside [0, 65535] or the sensor geometry");
      }
    }
    stats_.words += k;
  }

  void decode(const std::array<const std::uint8_t*, 4>& ptr, std::size_t k, ColumnSink& sink) {
    if (direct_ == Direct::unsigned_xy) return decode_direct<false>(ptr, k, sink);
    if (direct_ == Direct::signed_xy) return decode_direct<true>(ptr, k, sink);
    for (std::size_t r = 0; r < 4; ++r) {
      const ColumnPlan& c = plan_[r];
      c.convert(ptr[c.part] + c.offset, static_cast<std::size_t>(strides_[c.part]), k, staging_[r].data(), time_exponent_);
    }
    const std::int64_t* t = staging_[0].data();
    const std::int64_t* x = staging_[1].data();
    const std::int64_t* y = staging_[2].data();
    const std::int64_t* p = staging_[3].data();
    const std::uint64_t w = width_, h = height_;
    for (std::size_t i = 0; i < k; ++i) {
      if (static_cast<std::uint64_t>(x[i]) < w && static_cast<std::uint64_t>(y[i]) < h && t[i] != kInvalid) [[likely]] {
        sink.emit(t[i], static_cast<std::uint32_t>(x[i]), static_cast<std::uint32_t>(y[i]), static_cast<std::uint32_t>(p[i]));
      } else if (t[i] == kInvalid) {
        ++stats_.unknown_words;
        stats_.note_error(cursors_.front().record_offset(cursors_.front().done() + i), "time does not fit int64 microseconds");
      } else {
        ++stats_.out_of_bounds;
        stats_.note_error(cursors_.front().record_offset(cursors_.front().done() + i),
                          "coordinates outside [0, 65535] or the sensor geometry");
      }
    }
    stats_.words += k;
  }

  // The end of the data: an array cut short is reported once per stream.
  void finish() {
    finished_ = true;
    for (RecordCursor& c : cursors_) {
      try {
        c.finish_stream();
      } catch (const FormatError& e) {
        if (strict_) throw;
        ++stats_.unknown_words;
        stats_.note_error(e.offset(), e.detail().c_str());
      }
    }
    for (const RecordCursor& c : cursors_) {
      if (c.remaining() == 0) continue;
      stats_.trailing_bytes += c.leftover_bytes();
      ++stats_.unknown_words;
      const std::string what = "array data ends after " + std::to_string(c.done()) + " of " + std::to_string(count_) +
                               " records (file truncated)";
      stats_.note_error(c.record_offset(c.done()), what.c_str());
    }
  }

  std::string path_;
  std::uint64_t count_;
  bool strict_;
  int time_exponent_;
  std::uint64_t width_, height_;
  std::vector<RecordCursor> cursors_;
  std::vector<std::uint64_t> strides_;
  std::array<ColumnPlan, 4> plan_;
  std::array<std::vector<std::int64_t>, 4> staging_;
  DecodeStats stats_;
  Direct direct_ = Direct::none;
  bool plan_p_signed_ = false;
  bool finished_ = false;
  bool seekable_ = false;
  std::uint64_t end_record_ = 0;  // records stop here (set_end); count_ when unbounded
};

const char* role_letter(int r) { return r == 0 ? "t" : r == 1 ? "x" : r == 2 ? "y" : "p"; }

int sniff_npy(const std::vector<std::uint8_t>& prefix, const std::string&) {
  static constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  return prefix.size() >= 6 && std::equal(kMagic, kMagic + 6, prefix.begin()) ? 100 : 0;
}

}  // namespace

std::uint64_t NpyHeader::count(const std::string& path) const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n = checked_mul(n, d, path, 0);
  checked_mul(n, std::max<std::uint64_t>(itemsize, 1), path, 0);
  return n;
}

std::uint64_t NpyHeader::records(const std::string& path) const {
  const std::uint64_t elements = count(path);
  return structured || shape.size() < 2 ? elements : shape[0];
}

std::uint64_t npy_header_size(const std::uint8_t* b, std::size_t n, const std::string& path, std::uint64_t offset) {
  static constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (n < 6 || !std::equal(kMagic, kMagic + 6, b)) throw FormatError(path, offset, "not a NumPy array (no \\x93NUMPY magic)");
  if (n < 12) throw FormatError(path, offset + n, "file ends inside the .npy preamble");
  const int major = b[6];
  std::uint64_t size;
  if (major == 1) {
    size = 10 + (std::uint64_t{b[8]} | std::uint64_t{b[9]} << 8);
  } else if (major == 2 || major == 3) {
    size = 12 + std::uint64_t{load_le32(b + 8)};
  } else {
    throw FormatError(path, offset + 6, "unsupported .npy version " + std::to_string(major) + "." + std::to_string(b[7]));
  }
  if (size > kMaxNpyHeader) {
    throw FormatError(path, offset + 8, ".npy header of " + std::to_string(size) + " bytes is too long");
  }
  return size;
}

NpyHeader parse_npy_header(const std::uint8_t* b, std::size_t n, const std::string& path, std::uint64_t offset) {
  NpyHeader h;
  h.header_bytes = npy_header_size(b, n, path, offset);
  if (h.header_bytes > n) throw FormatError(path, offset + n, "file ends inside the .npy header");
  h.major = b[6];
  const std::size_t text_at = h.major == 1 ? 10 : 12;
  const std::string_view text(reinterpret_cast<const char*>(b) + text_at, static_cast<std::size_t>(h.header_bytes) - text_at);
  const PyValue dict = PyParser(text, path, offset + text_at).parse();
  if (dict.kind != PyValue::Kind::dict) throw FormatError(path, offset + text_at, "malformed .npy header: not a dict");
  const PyValue* descr = dict.get("descr");
  const PyValue* fortran = dict.get("fortran_order");
  const PyValue* shape = dict.get("shape");
  if (descr == nullptr || fortran == nullptr || shape == nullptr) {
    throw FormatError(path, offset + text_at, "malformed .npy header: needs 'descr', 'fortran_order' and 'shape'");
  }
  h.descr = descr->raw;
  h.shape_text = shape->raw;
  if (descr->kind == PyValue::Kind::string) {
    h.element = parse_type(descr->text, path, offset + text_at);
    h.itemsize = h.element.size;
  } else if (descr->kind == PyValue::Kind::sequence) {
    h.structured = true;
    h.fields = parse_fields(*descr, path, offset + text_at, 0, h.itemsize);
  } else {
    throw FormatError(path, offset + text_at, "malformed .npy header: 'descr' must be a string or a list");
  }
  if (fortran->kind != PyValue::Kind::boolean) {
    throw FormatError(path, offset + text_at, "malformed .npy header: 'fortran_order' must be True or False");
  }
  h.fortran_order = fortran->boolean;
  if (shape->kind != PyValue::Kind::sequence) throw FormatError(path, offset + text_at, "malformed .npy header: 'shape' must be a tuple");
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::Kind::integer || d.integer < 0) {
      throw FormatError(path, offset + text_at, "malformed .npy header: dimensions must be non-negative integers");
    }
    h.shape.push_back(static_cast<std::uint64_t>(d.integer));
  }
  h.count(path);  // checks that the data size fits 64 bits
  return h;
}

EventColumns event_columns(const NpyHeader& h, const ReadOptions& options, const std::string& path, std::uint64_t offset) {
  EventColumns cols;
  std::array<ColumnRef*, 4> refs = {&cols.t, &cols.x, &cols.y, &cols.p};
  std::array<std::string, 4> names;
  if (h.structured) {
    if (h.fortran_order && h.shape.size() > 1) {
      throw FormatError(path, offset, "Fortran-ordered structured arrays of more than one dimension are not supported");
    }
    if (h.itemsize == 0) throw FormatError(path, offset, "structured array with empty records");
    std::array<bool, 4> found{};
    std::string all;
    for (const NpyField& f : h.fields) {
      if (f.name.empty()) continue;  // padding
      all += (all.empty() ? "" : ", ") + f.name;
      const TextRole role = column_role(f.name);
      if (role == TextRole::skip || !f.scalar) continue;
      const int r = static_cast<int>(role) - 1;
      if (found[r]) continue;
      found[r] = true;
      *refs[r] = ColumnRef{0, f.offset, f.type};
      names[r] = f.name;
    }
    for (int r = 0; r < 4; ++r) {
      if (!found[r]) {
        static const char* const kNames[4] = {"t, ts, time, timestamp", "x", "y", "p, pol, polarity, on"};
        throw FormatError(path, offset,
                          std::string("the structured array has no ") + role_letter(r) + " field (looked for " + kNames[r] +
                              "; fields: " + all + ")");
      }
    }
  } else {
    if (h.shape.size() != 2 || h.shape[1] < 4 || h.shape[1] > 16) {
      throw FormatError(path, offset,
                        "a plain array of shape " + h.shape_text +
                            " is not an event table: expected a structured array or a 2-D array (N, C) with 4 to 16 "
                            "columns (a (4, N) array must be transposed)");
    }
    const std::string spec = options.text_columns.empty() ? "txyp" : options.text_columns;
    const std::vector<TextRole> roles = roles_from_spec(spec);
    if (roles.size() > h.shape[1]) {
      throw FormatError(path, offset,
                        "the array has " + std::to_string(h.shape[1]) + " columns but the column order '" + spec + "' needs " +
                            std::to_string(roles.size()));
    }
    cols.columns = h.shape[1];
    cols.column_major = h.fortran_order;
    cols.column_index.resize(4);
    for (std::size_t c = 0; c < roles.size(); ++c) {
      if (roles[c] == TextRole::skip) continue;
      const std::size_t r = static_cast<std::size_t>(roles[c]) - 1;
      cols.column_index[r] = c;
      *refs[r] = cols.column_major ? ColumnRef{r, 0, h.element} : ColumnRef{0, c * h.element.size, h.element};
      names[r] = "column " + std::to_string(c);
    }
  }
  for (int r = 0; r < 4; ++r) {
    const NpyType& type = refs[r]->type;
    if (!usable_number(type) || (r == 0 && type.kind == NpyType::Kind::boolean)) {
      throw FormatError(path, offset, std::string("the ") + role_letter(r) + " field '" + names[r] + "' has type '" +
                                          type.text + "', which is not a usable number");
    }
  }
  // The time unit (see npy.hpp): datetime64 carries its own; else the option; else float => s, integer => µs.
  const NpyType& tt = cols.t.type;
  if (tt.kind == NpyType::Kind::datetime) {
    cols.time_exponent = tt.time_exponent;
  } else if (!options.text_time_unit.empty()) {
    cols.time_exponent = time_unit_option(options.text_time_unit);
  } else {
    cols.time_exponent = tt.kind == NpyType::Kind::floating ? 6 : 0;
  }
  for (int r = 0; r < 4; ++r) {
    cols.description += std::string(r ? ", " : "") + role_letter(r) + "=" + names[r] + " " + refs[r]->type.text;
  }
  cols.description += std::string(", time unit ") + time_unit_name(cols.time_exponent);
  return cols;
}

NpyHeader read_stream_header(ArrayStream& stream, const std::string& path, std::uint64_t offset,
                             std::span<const std::uint8_t>& rest) {
  std::vector<std::uint8_t> bytes;
  std::uint64_t need = 0;
  std::span<const std::uint8_t> w;
  while (need == 0 || bytes.size() < need) {
    if (w.empty()) {
      w = stream.next();
      if (w.empty()) {
        if (bytes.size() >= 6 && need == 0) npy_header_size(bytes.data(), bytes.size(), path, offset);  // names the problem
        throw FormatError(path, offset + bytes.size(), bytes.empty() ? "empty array data (no .npy header)" : "data ends inside the .npy header");
      }
    }
    const std::size_t want = static_cast<std::size_t>((need == 0 ? 12 : need) - bytes.size());
    const std::size_t take = std::min(want, w.size());
    bytes.insert(bytes.end(), w.begin(), w.begin() + static_cast<std::ptrdiff_t>(take));
    w = w.subspan(take);
    if (need == 0 && bytes.size() >= 12) need = npy_header_size(bytes.data(), bytes.size(), path, offset);
  }
  rest = w;
  return parse_npy_header(bytes.data(), bytes.size(), path, offset);
}

std::unique_ptr<ArrayStream> region_stream(std::unique_ptr<ByteSource> source, std::uint64_t offset, std::uint64_t length) {
  return std::make_unique<RegionStream>(std::move(source), offset, length);
}

std::unique_ptr<FormatReader> make_array_reader(const std::string& path, std::vector<ArrayPart> parts,
                                                const EventColumns& columns, std::uint64_t count,
                                                const ReadOptions& options, std::uint32_t width, std::uint32_t height) {
  return std::make_unique<ArrayReader>(path, std::move(parts), columns, count, options.strict, width, height);
}

std::unique_ptr<FormatReader> open_npy(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>&,
                                       const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  const bool seekable = source->seekable();
  const std::uint64_t size = source->size();  // 0 for a pipe: nothing to bound with
  auto stream = region_stream(std::move(source), 0, std::numeric_limits<std::uint64_t>::max());
  std::span<const std::uint8_t> rest;
  const NpyHeader h = read_stream_header(*stream, path, 0, rest);
  const EventColumns cols = event_columns(h, options, path, 8);
  const std::uint64_t count = h.records(path);
  std::vector<ArrayPart> parts;
  if (!cols.column_major) {
    const std::uint64_t record = h.itemsize * (h.structured ? 1 : h.shape[1]);
    parts.push_back({std::move(stream), rest, h.header_bytes, record});
    if (size != 0) parts.back().max_records = size > h.header_bytes ? (size - h.header_bytes) / record : 0;
  } else {
    // Fortran (N, C): each column is contiguous; read the four needed ones side by side.
    if (!seekable) throw FormatError(path, FormatError::kNoOffset, "a Fortran-ordered .npy needs a seekable file, not a pipe");
    const std::uint64_t rows = h.shape[0], el = h.element.size;
    for (std::size_t r = 0; r < 4; ++r) {
      const std::uint64_t at = h.header_bytes + cols.column_index[r] * rows * el;
      auto src = std::make_unique<ByteSource>(path, 0, kColumnWindow);
      parts.push_back({region_stream(std::move(src), at, rows * el), {}, 0, el});
      parts.back().max_records = size > at ? (size - at) / el : 0;
    }
  }
  const std::uint32_t width = options.width, height = options.height;
  metadata.format = "npy";
  metadata.width = width;
  metadata.height = height;
  metadata.data_offset = h.header_bytes;
  metadata.header.emplace_back("npy_version", std::to_string(h.major) + ".0");
  metadata.header.emplace_back("descr", h.descr);
  metadata.header.emplace_back("shape", h.shape_text);
  metadata.header.emplace_back("fortran_order", h.fortran_order ? "True" : "False");
  metadata.header.emplace_back("columns", cols.description);
  return make_array_reader(path, std::move(parts), cols, count, options, width, height);
}

FormatDecoder npy_decoder() { return {&sniff_npy, &open_npy}; }

}  // namespace evlib::detail
