// DAT writer (docs/formats.md 15.5): EventCD records with 32-bit time. Times past 2^32 µs are stored
// modulo 2^32, which the reader unwraps as long as consecutive events are less than 2^31 µs apart.
#include <algorithm>
#include <ctime>
#include <string>

#include "evlib/error.hpp"
#include "formats/common/encoder.hpp"

namespace evlib::detail {

namespace {

class DatEncoder final : public EventEncoder {
 public:
  explicit DatEncoder(const WriteOptions& options)
      : options_(options),
        width_(options.width != 0 ? options.width : 1u << 14),
        height_(options.height != 0 ? options.height : 1u << 14) {
    if (width_ > (1u << 14) || height_ > (1u << 14)) {
      throw InvalidArgument("DAT addresses at most 16384x16384 pixels (14-bit coordinates): cannot write a " +
                            std::to_string(options.width) + "x" + std::to_string(options.height) +
                            " geometry (.npy, .npz and plain .h5 files hold any)");
    }
  }

  void begin(AtomicFile& out) override {
    std::string h = "% Data file containing CD events\n% Version 2\n";
    if (options_.width != 0) h += "% Width " + std::to_string(options_.width) + "\n";
    if (options_.height != 0) h += "% Height " + std::to_string(options_.height) + "\n";
    h += percent_header_lines(options_, {"Data", "Version", "Width", "Height", "end"});
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
      // The reader drops an event outside the geometry the header states: refused here instead.
      if (x[i] >= width_ || y[i] >= height_) [[unlikely]] {
        throw InvalidArgument("event " + std::to_string(i) + " at (" + std::to_string(x[i]) + ", " + std::to_string(y[i]) +
                              ") is outside the " + std::to_string(width_) + "x" + std::to_string(height_) + " DAT geometry");
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
  std::uint32_t width_, height_;  // the geometry stated, else what 14 bits hold
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
  // plugin_name and system_ID name the source camera's decoder: a copied one could make
  // Metavision decode this stream as another encoding.
  h += percent_header_lines(options,
                            {"camera_integrator_name", "date", "evt", "format", "geometry", "plugin_integrator_name",
                             "plugin_name", "system_ID", "end"});
  h += "% end\n";
  return h;
}

std::string percent_header_lines(const WriteOptions& options, std::initializer_list<std::string_view> owned) {
  std::string lines;
  for (const auto& [key, v] : options.header) {
    // A key ends at its first space: "Creation date" (AEDAT 2 headers) is written Creation_date,
    // where it read back as key "Creation" and value "date ...".
    std::string k = key;
    std::replace(k.begin(), k.end(), ' ', '_');
    if (!writer_owns_key(k, owned)) lines += "% " + k + " " + v + "\n";
  }
  return lines;
}

}  // namespace evlib::detail
