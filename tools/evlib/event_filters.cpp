#include "event_filters.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "cli_support.hpp"
#include "evlib/error.hpp"
#include "evlib/ops/background_activity.hpp"
#include "evlib/ops/fast_decay.hpp"
#include "evlib/ops/hot_pixels.hpp"
#include "evlib/ops/refractory.hpp"
#include "evlib/ops/stcf.hpp"

namespace evlib::cli {

namespace {

// "a:b:c" -> {"a", "b", "c"}.
std::vector<std::string> fields(const std::string& spec) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (true) {
    const std::size_t colon = spec.find(':', at);
    out.push_back(spec.substr(at, colon - at));
    if (colon == std::string::npos) return out;
    at = colon + 1;
  }
}

// A duration of at least 1 µs.
std::int64_t positive_time(const std::string& text, const std::string& what) {
  const std::int64_t us = parse_time_us(text);
  if (us <= 0) throw InvalidArgument(what + " must be positive, got '" + text + "'");
  return us;
}

std::string format_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// A finite number in [lo, hi], all of the text.
double number(const std::string& text, double lo, double hi, const std::string& what) {
  char* end = nullptr;
  const double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= lo && v <= hi) || std::isspace(static_cast<unsigned char>(text[0]))) {
    throw InvalidArgument(what + ": expected a number from " + format_number(lo) + " to " + format_number(hi) + ", got '" + text + "'");
  }
  return v;
}

struct RefractorySpec {
  std::int64_t period_us;
  ops::RefractoryConvention convention;
};
RefractorySpec parse_refractory(const std::string& spec) {
  const std::string usage = "expected PERIOD[:tonic|dv|evlib] (e.g. 1ms or 1ms:tonic), got '" + spec + "'";
  const auto f = fields(spec);
  if (f.size() > 2) throw InvalidArgument(usage);
  RefractorySpec r{positive_time(f[0], "the period"), ops::RefractoryConvention::kFirstKept};
  if (f.size() == 2) {
    if (f[1] == "tonic") r.convention = ops::RefractoryConvention::kTonic;
    else if (f[1] == "dv") r.convention = ops::RefractoryConvention::kDvProcessing;
    else if (f[1] != "evlib") throw InvalidArgument(usage);
  }
  return r;
}

// --denoise: the background-activity filter, or dv-processing's fast-decay filter with the
// parameters named as in the Python API (evlib.ops.FastDecay), each optional, in any order.
struct DenoiseSpec {
  enum class Kind { kBackgroundActivity, kFastDecay } kind = Kind::kBackgroundActivity;
  std::int64_t duration_us = 0;
  ops::BackgroundActivityConvention convention = ops::BackgroundActivityConvention::kDvProcessing;
  ops::FastDecayOptions fast_decay;  // its sensor is set when the filter is built
};
DenoiseSpec parse_denoise(const std::string& spec) {
  const std::string usage = "expected baf:DURATION[:dv|jaer|tonic] (e.g. baf:2ms) or "
                            "fast-decay[:half_life=TIME][:subdivision_factor=N][:noise_threshold=X] "
                            "(e.g. fast-decay:half_life=10ms), got '" + spec + "'";
  const auto f = fields(spec);
  DenoiseSpec d;
  if (f[0] == "fast-decay") {
    d.kind = DenoiseSpec::Kind::kFastDecay;
    for (std::size_t i = 1; i < f.size(); ++i) {
      const std::size_t equals = f[i].find('=');
      const std::string key = f[i].substr(0, equals), value = equals == std::string::npos ? "" : f[i].substr(equals + 1);
      if (equals == std::string::npos) throw InvalidArgument(usage);
      if (key == "half_life") {
        d.fast_decay.half_life_us = positive_time(value, "the half-life");
      } else if (key == "subdivision_factor") {
        const double n = number(value, 1, 65536, "subdivision_factor");
        if (n != std::floor(n)) throw InvalidArgument("subdivision_factor: expected a whole number, got '" + value + "'");
        d.fast_decay.subdivision = static_cast<std::uint32_t>(n);
      } else if (key == "noise_threshold") {
        d.fast_decay.noise_threshold = static_cast<float>(number(value, 0, std::numeric_limits<float>::max(), "noise_threshold"));
      } else {
        throw InvalidArgument(usage);
      }
    }
    return d;
  }
  if (f.size() < 2 || f.size() > 3 || f[0] != "baf") throw InvalidArgument(usage);
  d.duration_us = positive_time(f[1], "the duration");
  if (f.size() == 3) {
    if (f[2] == "jaer") d.convention = ops::BackgroundActivityConvention::kJaer;
    else if (f[2] == "tonic") d.convention = ops::BackgroundActivityConvention::kTonicDenoise;
    else if (f[2] != "dv") throw InvalidArgument(usage);
  }
  return d;
}

ops::StcfOptions parse_stcf(const std::string& spec) {
  const std::string usage =
      "expected K:CORRELATION_TIME[:jaer][:polarity][:shot[=SHOT_TIME]] with K from 1 to 9 (e.g. 2:2ms), got '" + spec + "'";
  const auto f = fields(spec);
  if (f.size() < 2 || f.size() > 5 || f[0].size() != 1 || f[0][0] < '1' || f[0][0] > '9') throw InvalidArgument(usage);
  ops::StcfOptions o;
  o.min_correlated = f[0][0] - '0';
  o.correlation_time_us = positive_time(f[1], "the correlation time");
  for (std::size_t k = 2; k < f.size(); ++k) {
    if (f[k] == "shot" || f[k].starts_with("shot=")) {
      if (o.shot_noise_time_us) throw InvalidArgument(usage);
      // jAER's shotNoiseCorrelationTimeS defaults to 1 ms; 0 drops opposite polarities at the same time only.
      o.shot_noise_time_us = f[k] == "shot" ? 1000 : parse_time_us(f[k].substr(5));
      if (*o.shot_noise_time_us < 0) throw InvalidArgument("the shot-noise time must not be negative, got '" + f[k] + "'");
      continue;
    }
    bool* flag = f[k] == "jaer" ? &o.jaer_border : f[k] == "polarity" ? &o.polarities_must_match : nullptr;
    if (flag == nullptr || *flag) throw InvalidArgument(usage);  // unknown or repeated
    *flag = true;
  }
  return o;
}

enum class HotRule { kRate, kPercentile, kMask };
struct HotPixelSpec {
  HotRule rule;
  double value = 0;
  std::string mask_path;
};
HotPixelSpec parse_hot_pixels(const std::string& spec) {
  const std::string usage = "expected rate:HZ, percentile:Q (0 to 100) or mask:FILE.npy, got '" + spec + "'";
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos) throw InvalidArgument(usage);
  const std::string kind = spec.substr(0, colon), arg = spec.substr(colon + 1);
  if (kind == "rate") return {HotRule::kRate, number(arg, 0, 1e12, "rate"), {}};
  if (kind == "percentile") return {HotRule::kPercentile, number(arg, 0, 100, "percentile"), {}};
  if (kind == "mask" && !arg.empty()) return {HotRule::kMask, 0, arg};
  throw InvalidArgument(usage);
}

// A 2-D .npy of shape (height, width), C order, of booleans or integers: non-zero = hot.
std::vector<std::uint8_t> load_mask(const std::string& path, ops::SensorSize sensor) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, std::string("cannot open the hot-pixel mask: ") + std::strerror(errno));
  char magic[10];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw FormatError(path, 0, "not a .npy file (no \\x93NUMPY magic)");
  std::size_t header_len = static_cast<unsigned char>(magic[8]) | static_cast<std::size_t>(static_cast<unsigned char>(magic[9])) << 8;
  if (magic[6] >= 2) {
    char more[2];
    in.read(more, 2);
    header_len |= static_cast<std::size_t>(static_cast<unsigned char>(more[0])) << 16 | static_cast<std::size_t>(static_cast<unsigned char>(more[1])) << 24;
  }
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) throw FormatError(path, 10, "truncated .npy header");
  auto value_of = [&](const std::string& key) {
    const std::size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw FormatError(path, 10, "the .npy header has no '" + key + "'");
    std::size_t v = header.find(':', k) + 1;
    while (v < header.size() && header[v] == ' ') ++v;
    return header.substr(v, header.find(key == "shape" ? ')' : ',', v) - v + (key == "shape"));
  };
  const std::string descr = value_of("descr");
  if (value_of("fortran_order").rfind("False", 0) != 0) throw FormatError(path, 10, "a Fortran-order mask is not supported; save it in C order");
  std::size_t item = 0;
  if (descr == "'|b1'" || descr == "'|u1'" || descr == "'|i1'") item = 1;
  else if (descr == "'<u2'" || descr == "'<i2'") item = 2;
  else if (descr == "'<u4'" || descr == "'<i4'") item = 4;
  else if (descr == "'<u8'" || descr == "'<i8'") item = 8;
  else throw FormatError(path, 10, "mask dtype " + descr + " is not supported (booleans or little-endian integers)");
  const std::string want = "(" + std::to_string(sensor.height) + ", " + std::to_string(sensor.width) + ")";
  if (value_of("shape") != want) {
    throw InvalidArgument(path + ": the mask's shape " + value_of("shape") + " is not the sensor's (height, width) " + want);
  }
  std::vector<unsigned char> raw(sensor.pixels() * item);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  if (!in) throw FormatError(path, 10 + header_len, "the mask's data is shorter than its shape");
  std::vector<std::uint8_t> mask(sensor.pixels());
  for (std::size_t i = 0; i < mask.size(); ++i) {
    bool hot = false;
    for (std::size_t b = 0; b < item; ++b) hot |= raw[i * item + b] != 0;
    mask[i] = hot;
  }
  return mask;
}

}  // namespace

bool FilterFlags::needs_counts() const {
  return !hot_pixels.empty() && parse_hot_pixels(hot_pixels).rule != HotRule::kMask;
}

void FilterFlags::add_to(CLI::App& app) {
  auto add = [&app](const char* name, std::string& spec, const std::string& help, CLI::Validator check) {
    app.add_option(name, spec, help)->check(std::move(check))->type_name("SPEC")->group("Filters (applied in this order, streaming)");
  };
  add("--hot-pixels", hot_pixels,
      "Drop hot pixels: rate:HZ (tonic: more events than HZ x duration), percentile:Q (evlib 0.13: more "
      "than the Q-th percentile of the per-pixel counts; a first pass counts), or mask:FILE.npy "
      "((height, width), non-zero = hot)", parsed_by(parse_hot_pixels, ""));
  add("--refractory", refractory,
      "Refractory period per pixel: PERIOD[:tonic|dv|evlib] (default evlib: a pixel's first event kept, then "
      "t - last > PERIOD; tonic: > from -PERIOD; dv: >= from 0)", parsed_by(parse_refractory, ""));
  add("--denoise", denoise,
      "Background-activity filter: baf:DURATION[:dv|jaer|tonic] (default dv: one of the 8 neighbours fired "
      "less than DURATION before), or dv-processing's fast-decay filter: "
      "fast-decay[:half_life=TIME][:subdivision_factor=N][:noise_threshold=X] (defaults 10ms, 4, 6: kept when "
      "the decaying event count of its N x N cell exceeds X)", parsed_by(parse_denoise, ""));
  add("--stcf", stcf,
      "Spatio-temporal correlation filter: K:TIME[:jaer][:polarity][:shot[=SHOT_TIME]], kept when K of the 3x3 neighbours fired less "
      "than TIME before (a pixel's first event passes); jaer: jAER's neighbourhood, which leaves out the last column "
      "and (its y counting from the bottom) the first row; polarity: only neighbours whose last event had the event's polarity (jAER's "
      "polaritiesMustMatch); both: jAER's current filter; shot[=SHOT_TIME]: jAER's alternating-polarity shot-noise "
      "test, a passing event is dropped when its pixel's last event had the other polarity and came at most "
      "SHOT_TIME (default 1ms) before",
      parsed_by(parse_stcf, ""));
}

struct EventFilters::Stage {
  virtual ~Stage() = default;
  virtual std::size_t apply(EventView events, std::span<std::uint8_t> keep) = 0;
};

namespace {

template <class Filter>
struct FilterStage final : EventFilters::Stage {
  explicit FilterStage(Filter f) : filter(std::move(f)) {}
  std::size_t apply(EventView events, std::span<std::uint8_t> keep) override { return filter.apply(events, keep); }
  Filter filter;
};

template <class Filter>
std::unique_ptr<EventFilters::Stage> stage(Filter f) {
  return std::make_unique<FilterStage<Filter>>(std::move(f));
}

void require_first_pass(const FirstPass& first_pass, const std::string& input, const std::string& why) {
  if (!first_pass) {
    throw InvalidArgument(input + ": " + why + " needs a first pass over the input, which cannot be read twice (not a regular file)");
  }
}

}  // namespace

EventFilters::EventFilters(const FilterFlags& flags, ops::SensorSize sensor, const std::string& input, const FirstPass& first_pass) {
  if (!flags.any()) return;
  if (sensor.width == 0 || sensor.height == 0) {
    require_first_pass(first_pass, input, "filtering a file that states no sensor size (give --width and --height)");
    std::uint32_t x_max = 0, y_max = 0;
    bool seen = false;
    first_pass([&](const EventBatch& events) {
      for (std::uint16_t x : events.x()) x_max = std::max<std::uint32_t>(x_max, x);
      for (std::uint16_t y : events.y()) y_max = std::max<std::uint32_t>(y_max, y);
      seen |= !events.empty();
    });
    if (sensor.width == 0) sensor.width = seen ? x_max + 1 : 1;
    if (sensor.height == 0) sensor.height = seen ? y_max + 1 : 1;
  }
  if (!flags.hot_pixels.empty()) {
    const HotPixelSpec hot = parse_hot_pixels(flags.hot_pixels);
    std::vector<std::uint8_t> mask;
    if (hot.rule == HotRule::kMask) {
      mask = load_mask(hot.mask_path, sensor);
    } else {
      require_first_pass(first_pass, input, "--hot-pixels " + flags.hot_pixels);
      ops::PixelCounter counter(sensor);
      first_pass([&](const EventBatch& events) { counter.add(events); });
      mask = hot.rule == HotRule::kRate ? ops::hot_pixels_by_rate(counter, hot.value) : ops::hot_pixels_by_percentile(counter, hot.value);
    }
    stages_.push_back(stage(ops::PixelMaskFilter(sensor, std::move(mask))));
  }
  if (!flags.refractory.empty()) {
    const RefractorySpec r = parse_refractory(flags.refractory);
    stages_.push_back(stage(ops::RefractoryFilter(sensor, r.period_us, r.convention)));
  }
  if (!flags.denoise.empty()) {
    DenoiseSpec d = parse_denoise(flags.denoise);
    if (d.kind == DenoiseSpec::Kind::kFastDecay) {
      d.fast_decay.sensor = sensor;
      stages_.push_back(stage(ops::FastDecayFilter(d.fast_decay)));
    } else {
      stages_.push_back(stage(ops::BackgroundActivityFilter(sensor, d.duration_us, d.convention)));
    }
  }
  if (!flags.stcf.empty()) stages_.push_back(stage(ops::StcfFilter(sensor, parse_stcf(flags.stcf))));
}

EventFilters::~EventFilters() = default;
EventFilters::EventFilters(EventFilters&&) noexcept = default;
EventFilters& EventFilters::operator=(EventFilters&&) noexcept = default;

bool EventFilters::empty() const noexcept { return stages_.empty(); }

EventBatch EventFilters::apply(EventBatch events) {
  std::vector<std::uint8_t> keep;
  for (auto& s : stages_) {
    if (events.empty()) break;
    keep.resize(events.size());
    if (s->apply(events, keep) != events.size()) events = ops::select_events(events, keep);
  }
  return events;
}

}  // namespace evlib::cli
