// Text and CSV writers (format "text" for .txt, "csv" for .csv): one "t x y p" line per event
// with t in integer µs, so every event survives a round trip exactly. A .txt file starts with the
// comment "# t x y p" (which names the columns for readers that understand it and is skipped by
// np.loadtxt); a .csv file starts with the header row "t,x,y,p". Triggers have no place in these
// files and are refused. Readers that apply docs/formats.md 12's "integers beyond 10^17 are ns" rule
// (evlib's does) misread times past 10^17 µs (over 3000 years); nothing else is lost.
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"

namespace evlib::detail {

namespace {

// The longest line: 20 characters of int64, two 5-digit coordinates, 1 polarity, 3 separators, '\n'.
constexpr std::size_t kMaxLine = 20 + 5 + 5 + 1 + 3 + 1;

class TextEncoder final : public EventEncoder {
 public:
  explicit TextEncoder(bool csv) : csv_(csv), buffer_(std::size_t{1} << 20) {}

  void begin(AtomicFile& out) override {
    const char* header = csv_ ? "t,x,y,p\n" : "# t x y p\n";
    out.write(header, std::strlen(header));
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    if (!triggers.empty()) {
      throw InvalidArgument(std::string(csv_ ? "CSV" : "text") +
                            " event files hold CD events only; external triggers cannot be written");
    }
    if (csv_) {
      format<','>(events, out);
    } else {
      format<' '>(events, out);
    }
  }

  void end(AtomicFile&) override {}

 private:
  template <char Sep>
  void format(const EventBatch& events, AtomicFile& out) {
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    char* const begin = buffer_.data();
    char* const limit = begin + buffer_.size() - kMaxLine;
    char* q = begin;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (q > limit) {
        out.write(begin, static_cast<std::size_t>(q - begin));
        q = begin;
      }
      q = std::to_chars(q, q + 20, t[i]).ptr;
      *q++ = Sep;
      q = std::to_chars(q, q + 5, x[i]).ptr;
      *q++ = Sep;
      q = std::to_chars(q, q + 5, y[i]).ptr;
      *q++ = Sep;
      *q++ = p[i] ? '1' : '0';
      *q++ = '\n';
    }
    out.write(begin, static_cast<std::size_t>(q - begin));
  }

  bool csv_;
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<EventEncoder> make_text_encoder(const WriteOptions&) { return std::make_unique<TextEncoder>(false); }

std::unique_ptr<EventEncoder> make_csv_encoder(const WriteOptions&) { return std::make_unique<TextEncoder>(true); }

}  // namespace evlib::detail
