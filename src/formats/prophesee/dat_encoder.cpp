// DAT writer (docs/formats.md 15.5): EventCD records with 32-bit time. Times past 2^32 µs are stored
// modulo 2^32, which the reader unwraps as long as consecutive events are less than 2^31 µs apart.
#include <ctime>
#include <string>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"

namespace evlib::detail {

namespace {

class DatEncoder final : public EventEncoder {
 public:
  explicit DatEncoder(const WriteOptions& options) : options_(options) {}

  void begin(AtomicFile& out) override {
    std::string h = "% Data file containing CD events\n% Version 2\n";
    if (options_.width != 0) h += "% Width " + std::to_string(options_.width) + "\n";
    if (options_.height != 0) h += "% Height " + std::to_string(options_.height) + "\n";
    for (const auto& [k, v] : options_.header) h += "% " + k + " " + v + "\n";
    h += "% end\n";
    h += '\x0C';
    h += '\x08';
    out.write(h.data(), h.size());
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) override {
    if (!triggers.empty()) {
      throw InvalidArgument("a DAT file holds one event type: write triggers to a separate trigger DAT file");
    }
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (t[i] < 0 || (have_time_ && (t[i] < last_t_ || t[i] - last_t_ >= (std::int64_t{1} << 31))) ||
          (!have_time_ && t[i] >= (std::int64_t{1} << 32))) {
        throw InvalidArgument("DAT cannot represent the time of event " + std::to_string(i) +
                              " (negative, decreasing, first past 2^32 µs, or a gap of 2^31 µs or more)");
      }
      if (x[i] >= (1u << 14) || y[i] >= (1u << 14)) {
        throw InvalidArgument("event " + std::to_string(i) + " coordinates do not fit DAT's 14 bits");
      }
      have_time_ = true;
      last_t_ = t[i];
      words_.put<std::uint32_t>(static_cast<std::uint32_t>(t[i]));
      words_.put<std::uint32_t>((p[i] ? 1u << 28 : 0u) | static_cast<std::uint32_t>(y[i]) << 14 | x[i]);
    }
    words_.flush_to(out);
  }

  void end(AtomicFile& out) override { words_.flush_to(out); }

 private:
  WriteOptions options_;
  WordBuffer words_;
  bool have_time_ = false;
  std::int64_t last_t_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_dat_encoder(const WriteOptions& options) {
  return std::make_unique<DatEncoder>(options);
}

std::string raw_header(const std::string& evt_version, const std::string& format_name, const WriteOptions& options) {
  std::string h = "% camera_integrator_name evlib\n";
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  h += std::string("% date ") + date + "\n";
  h += "% evt " + evt_version + "\n";
  h += "% format " + format_name;
  if (options.height != 0) h += ";height=" + std::to_string(options.height);
  if (options.width != 0) h += ";width=" + std::to_string(options.width);
  h += "\n";
  if (options.width != 0 && options.height != 0) {
    h += "% geometry " + std::to_string(options.width) + "x" + std::to_string(options.height) + "\n";
  }
  h += "% plugin_integrator_name evlib\n";
  for (const auto& [k, v] : options.header) h += "% " + k + " " + v + "\n";
  h += "% end\n";
  return h;
}

}  // namespace evlib::detail
