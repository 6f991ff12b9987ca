#include "formats/prophesee/prophesee_header.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "formats/common/decoder_support.hpp"

namespace evlib::detail {

const std::string* PercentHeader::find(const std::string& key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

namespace {

std::vector<std::string> split_whitespace(std::string_view line) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) tokens.emplace_back(line.substr(start, i - start));
  }
  return tokens;
}

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::uint32_t parse_uint(const std::string& s) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (end == s.c_str() || v > 0xFFFFFFFFul) return 0;
  return static_cast<std::uint32_t>(v);
}

struct SystemInfo {
  int id;
  const char* encoding;
  std::uint32_t width, height;
};

// The system_ID table of docs/formats.md 1.3.
constexpr SystemInfo kSystems[] = {
    {21, "evt2", 640, 480},  {28, "evt2", 640, 480},  {26, "evt2", 1280, 720}, {23, "evt2", 640, 480},
    {151, "evt2", 640, 480}, {25, "evt2", 640, 480},  {153, "evt2", 640, 480}, {29, "evt2", 640, 480},
    {35, "evt2", 640, 480},  {30, "evt3", 1280, 720}, {46, "evt3", 1280, 720}, {33, "evt2", 640, 480},
    {161, "evt2", 640, 480}, {34, "evt2", 640, 480},  {162, "evt2", 640, 480}, {41, "evt2", 640, 480},
    {31, "evt2", 1280, 720}, {39, "evt2", 1280, 720}, {40, "evt3", 640, 480},  {48, "evt3", 1280, 720},
    {50, "evt3", 1280, 720}, {49, "evt3", 1280, 720},
};

// Known ids without a default encoding, for geometry only.
constexpr SystemInfo kSystemGeometry[] = {
    {0x34, "", 1280, 720}, {0x35, "", 1280, 720}, {0x36, "", 1280, 720},
    {0x3A, "", 1280, 720}, {0x3B, "", 320, 320},  {0x40, "", 320, 320}, {0x42, "", 1280, 720},
};

const SystemInfo* find_system(const PercentHeader& h) {
  const std::string* id = h.find("system_ID");
  if (id == nullptr) return nullptr;
  char* end = nullptr;
  const long v = std::strtol(id->c_str(), &end, 10);
  if (end == id->c_str()) return nullptr;
  for (const auto& s : kSystems) {
    if (s.id == v) return &s;
  }
  for (const auto& s : kSystemGeometry) {
    if (s.id == v) return &s;
  }
  return nullptr;
}

bool prophesee_integrators(const PercentHeader& h) {
  const std::string* cam = h.find("camera_integrator_name");
  const std::string* plug = h.find("plugin_integrator_name");
  std::string c = cam ? *cam : "", p = plug ? *plug : "";
  if (c.empty() && p.empty()) {
    const std::string* legacy = h.find("integrator_name");
    c = p = legacy ? *legacy : "Prophesee";
    if (c.empty()) c = p = "Prophesee";
  }
  return c == "Prophesee" && p == "Prophesee";
}

// Geometry from sensor generation, sensor name or plugin name (docs/formats.md 1.3, geometry step 4).
bool geometry_from_sensor(const PercentHeader& h, std::uint32_t& w, std::uint32_t& ht) {
  std::string hint;
  for (const char* key : {"generation", "sensor_generation", "sensor_name", "plugin_name"}) {
    if (const std::string* v = h.find(key)) {
      hint += ' ';
      hint += to_lower(*v);
    }
  }
  if (hint.empty()) return false;
  auto has = [&](const char* s) { return hint.find(s) != std::string::npos; };
  if (has("320")) {
    w = 320, ht = 320;
  } else if (has("imx636") || has("imx646") || has("imx637") || has("imx647") || has("gen4") || has("evk4") ||
             has(" 4.")) {
    w = 1280, ht = 720;
  } else if (has("gen3") || has("gen31") || has(" 3.")) {
    w = 640, ht = 480;
  } else if (has("atis") || has("hvga")) {
    w = 480, ht = 360;
  } else {
    return false;
  }
  return true;
}

std::string encoding_from_evt_key(const std::string& evt) {
  if (evt == "2.0") return "evt2";
  if (evt == "2.1") return "evt21";
  if (evt == "3.0") return "evt3";
  return "";
}

std::string encoding_from_format_name(const std::string& name) {
  const std::string n = to_lower(name);
  if (n == "evt2") return "evt2";
  if (n == "evt21") return "evt21";
  if (n == "evt3") return "evt3";
  return n;  // unsupported encodings (EVT4, HISTO3D, ...) keep their name for the error message
}

// Last resort: which word size makes the payload look like a Prophesee stream. EVT3 streams are
// dominated by nibbles 0,2,3,4,5,6,8 in 16-bit words; EVT2 by 0,1,8 in 32-bit words.
std::string guess_encoding(const std::uint8_t* p, std::size_t n) {
  n = std::min<std::size_t>(n, 1 << 16);
  if (n < 64) return "";
  std::size_t evt3_good = 0, evt3_words = n / 2, evt2_good = 0, evt2_words = n / 4;
  for (std::size_t i = 0; i + 2 <= n; i += 2) {
    const unsigned t = load_le16(p + i) >> 12;
    evt3_good += (t == 0 || t == 2 || t == 3 || t == 4 || t == 5 || t == 6 || t == 8);
  }
  for (std::size_t i = 0; i + 4 <= n; i += 4) {
    const unsigned t = load_le32(p + i) >> 28;
    evt2_good += (t == 0 || t == 1 || t == 8 || t == 0xA || t == 0xE || t == 0xF);
  }
  const double f3 = static_cast<double>(evt3_good) / static_cast<double>(evt3_words);
  const double f2 = static_cast<double>(evt2_good) / static_cast<double>(evt2_words);
  if (f2 > 0.98 && f2 >= f3) return "evt2";
  if (f3 > 0.95) return "evt3";
  return "";
}

}  // namespace

PercentHeader parse_percent_header(const std::uint8_t* bytes, std::size_t size) {
  PercentHeader h;
  std::size_t pos = 0;
  while (pos + 1 < size && bytes[pos] == '%' && bytes[pos + 1] == ' ') {
    std::size_t eol = pos;
    while (eol < size && bytes[eol] != '\n') ++eol;
    if (eol == size) {  // the header line runs past the bytes we have
      h.complete = false;
      h.data_offset = size;
      return h;
    }
    const std::string_view line(reinterpret_cast<const char*>(bytes) + pos + 2, eol - pos - 2);
    pos = eol + 1;
    auto tokens = split_whitespace(line);
    if (tokens.empty()) continue;
    if (tokens[0] == "end") {
      h.has_end = true;
      break;
    }
    std::string value;
    for (std::size_t i = 1; i < tokens.size(); ++i) value += (i > 1 ? " " : "") + tokens[i];
    h.entries.emplace_back(std::move(tokens[0]), std::move(value));
  }
  h.data_offset = pos;
  return h;
}

bool looks_like_raw_header(const PercentHeader& h) {
  for (const char* key : {"format", "evt", "system_ID", "plugin_name", "integrator_name", "camera_integrator_name",
                          "plugin_integrator_name", "serial_number", "firmware_version", "geometry"}) {
    if (h.find(key) != nullptr) return true;
  }
  return false;
}

bool looks_like_dat_header(const PercentHeader& h) {
  if (h.find("Version") || h.find("Width") || h.find("Height")) return true;
  for (const auto& [k, v] : h.entries) {
    if (k == "Data") return true;  // "% Data file containing <type> events"
  }
  return false;
}

std::optional<RawEncoding> resolve_raw_encoding(const PercentHeader& h, const std::uint8_t* payload,
                                                std::size_t payload_size) {
  RawEncoding enc;
  const SystemInfo* system = prophesee_integrators(h) ? find_system(h) : nullptr;
  if (const std::string* format = h.find("format")) {
    std::size_t start = 0;
    bool first = true;
    while (start <= format->size()) {
      std::size_t end = format->find(';', start);
      if (end == std::string::npos) end = format->size();
      const std::string item = format->substr(start, end - start);
      if (first) {
        enc.name = encoding_from_format_name(item);
        first = false;
      } else if (auto eq = item.find('='); eq != std::string::npos) {
        const std::string key = to_lower(item.substr(0, eq)), value = item.substr(eq + 1);
        if (key == "width") enc.width = parse_uint(value);
        if (key == "height") enc.height = parse_uint(value);
        if (key == "endianness") enc.endianness = to_lower(value);
      }
      start = end + 1;
    }
  } else if (const std::string* evt = h.find("evt"); evt && !encoding_from_evt_key(*evt).empty()) {
    enc.name = encoding_from_evt_key(*evt);
  } else if (system != nullptr && system->encoding[0] != '\0') {
    enc.name = system->encoding;
  } else {
    enc.name = guess_encoding(payload, payload_size);
    if (enc.name.empty()) return std::nullopt;
  }
  if (const std::string* geometry = h.find("geometry")) {
    const auto x = geometry->find('x');
    if (x != std::string::npos) {
      const std::uint32_t w = parse_uint(geometry->substr(0, x)), ht = parse_uint(geometry->substr(x + 1));
      if (w != 0 && ht != 0 && enc.width == 0 && enc.height == 0) enc.width = w, enc.height = ht;
    }
  }
  if (enc.width == 0 || enc.height == 0) {
    if (system != nullptr) {
      enc.width = system->width, enc.height = system->height;
    } else {
      std::uint32_t w = 0, ht = 0;
      if (geometry_from_sensor(h, w, ht)) enc.width = w, enc.height = ht;
    }
  }
  if (enc.name == "evt21" && enc.endianness.empty()) {
    if (const std::string* e = h.find("endianness")) enc.endianness = to_lower(*e);
  }
  return enc;
}

}  // namespace evlib::detail

#include "evlib/error.hpp"

namespace evlib::detail {

namespace {
bool has_extension(const std::string& path, const char* ext) {
  const std::string e(ext);
  return path.size() >= e.size() && to_lower(path.substr(path.size() - e.size())) == e;
}
}  // namespace

int sniff_raw(const std::vector<std::uint8_t>& prefix, const std::string& path, const char* encoding) {
  const PercentHeader h = parse_percent_header(prefix.data(), prefix.size());
  const std::uint8_t* payload = prefix.data() + h.data_offset;
  const std::size_t payload_size = prefix.size() - h.data_offset;
  if (h.entries.empty()) {
    // No header at all: only a .raw extension plus a convincing payload.
    if (!has_extension(path, ".raw")) return 0;
    return guess_encoding(payload, payload_size) == encoding ? 30 : 0;
  }
  if (!looks_like_raw_header(h) && looks_like_dat_header(h)) return 0;
  const auto enc = resolve_raw_encoding(h, payload, payload_size);
  if (!enc || enc->name != encoding) return 0;
  return looks_like_raw_header(h) ? 90 : 40;
}

RawEncoding open_raw_header(const std::string& path, const std::vector<std::uint8_t>& prefix,
                            const ReadOptions& options, Metadata& metadata, const char* encoding) {
  const PercentHeader h = parse_percent_header(prefix.data(), prefix.size());
  if (!h.complete) throw FormatError(path, h.data_offset, "RAW header line longer than the header limit or unterminated");
  const auto resolved = resolve_raw_encoding(h, prefix.data() + h.data_offset, prefix.size() - h.data_offset);
  RawEncoding enc = resolved ? *resolved : RawEncoding{};
  if (resolved && resolved->name != encoding && options.format.empty()) {
    throw FormatError(path, 0, "RAW header declares encoding '" + resolved->name + "', not " + encoding);
  }
  enc.name = encoding;
  // Coordinates are 11-bit in RAW streams and uint16 in evlib: a larger geometry is a broken
  // header (or option), not a sensor.
  if (enc.width > 0x10000 || enc.height > 0x10000) {
    throw FormatError(path, 0, "implausible sensor geometry " + std::to_string(enc.width) + "x" + std::to_string(enc.height));
  }
  if (options.width > 0x10000 || options.height > 0x10000) throw InvalidArgument("width and height must be at most 65536");
  if (options.width != 0) enc.width = options.width;
  if (options.height != 0) enc.height = options.height;
  if (!options.evt21_endianness.empty()) enc.endianness = options.evt21_endianness;
  metadata.format = encoding;
  metadata.width = enc.width;
  metadata.height = enc.height;
  metadata.header = h.entries;
  metadata.data_offset = h.data_offset;
  return enc;
}

}  // namespace evlib::detail
