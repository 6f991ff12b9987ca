#include "formats/inivation/aedat2.hpp"

#include <algorithm>
#include <cctype>

#include "evlib/error.hpp"
#include "formats/inivation/aedat_header.hpp"
#include "io/format_reader.hpp"
#include "io/word_stream_reader.hpp"

namespace evlib::detail {

namespace {

struct KnownCamera {
  const char* key;  // matched against the lower-cased name with punctuation removed
  AedatCamera camera;
};

// Geometry per camera family (docs/formats.md 9.3). Tmpdiff128 is the DVS128's jAER class name.
const KnownCamera kCameras[] = {
    {"davis128", {"davis128", AedatLayout::kDavis, 128, 128}},
    {"davis208", {"davis208", AedatLayout::kDavis, 208, 192}},
    {"davis240", {"davis240", AedatLayout::kDavis, 240, 180}},
    {"davis346", {"davis346", AedatLayout::kDavis, 346, 260}},
    {"davis640", {"davis640", AedatLayout::kDavis, 640, 480}},
    {"dvs128", {"dvs128", AedatLayout::kDvs128, 128, 128}},
    {"tmpdiff128", {"dvs128", AedatLayout::kDvs128, 128, 128}},
};

std::string camera_names() {
  std::string s;
  for (const std::string& name : aedat_camera_names()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

bool at_end_of_input(const std::vector<std::uint8_t>& prefix, const ByteSource& source) {
  return prefix.size() < kPrefixBytes || (source.size() != 0 && prefix.size() >= source.size());
}

int sniff_aedat2(const std::vector<std::uint8_t>& prefix, const std::string&) {
  const int v = aedat_version_line(prefix.data(), prefix.size());
  if (v == 20 || v == 10) return 100;
  if (v >= 0 || prefix.empty() || prefix[0] != '#') return 0;
  // No version line: AEDAT 1.0 only with jAER's own header lines. Binary data after `#` lines is
  // no evidence: a ROS bag ("#ROSBAG V2.0") and many other containers start that way.
  const AedatHeader h = parse_aedat_header(prefix.data(), prefix.size(), prefix.size() < kPrefixBytes);
  return h.find("AEChip") != nullptr || h.find("HardwareInterface") != nullptr ? 60 : 0;
}

AedatCamera choose_camera(const std::string& path, const AedatHeader& h, const ReadOptions& options) {
  if (!options.aedat_camera.empty()) {
    if (auto c = aedat_camera_from_name(options.aedat_camera)) return *c;
    throw InvalidArgument("unknown aedat_camera '" + options.aedat_camera + "' (known: " + camera_names() + ")");
  }
  for (const char* key : {"AEChip", "HardwareInterface"}) {
    if (const std::string* v = h.find(key)) {
      if (auto c = aedat_camera_from_name(*v)) return *c;
    }
  }
  // AEDAT 1.0 (16-bit addresses) was only ever written for the DVS128 family.
  if (h.major == 1) return *aedat_camera_from_name("dvs128");
  const std::string* chip = h.find("AEChip");
  throw FormatError(path, 0,
                    "cannot tell the camera of this AEDAT file (" +
                        (chip ? "unknown AEChip '" + *chip + "'" : std::string("no '# AEChip:' line")) +
                        "); set ReadOptions::aedat_camera to one of " + camera_names());
}

std::unique_ptr<FormatReader> open_aedat2(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                          const ReadOptions& options, Metadata& metadata) {
  const std::string path = source->path();
  const AedatHeader h = parse_aedat_header(prefix.data(), prefix.size(), at_end_of_input(prefix, *source));
  if (h.has_version_line && !(h.major == 2 && h.minor == 0) && !(h.major == 1 && h.minor == 0)) {
    throw FormatError(path, 0, "AEDAT " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                                   " is not AEDAT 1.0/2.0 (use format aedat3 / aedat4)");
  }
  const std::uint64_t data_offset = h.complete ? h.data_offset : find_aedat_header_end(path, h.data_offset);
  const AedatCamera camera = choose_camera(path, h, options);
  if (h.major == 1 && camera.layout == AedatLayout::kDavis) {
    throw FormatError(path, 0, "AEDAT 1.0 records carry 16-bit addresses; the " + camera.name +
                                   " layout needs AEDAT 2.0 (32-bit addresses)");
  }
  Aedat2Config config;
  config.layout = camera.layout;
  config.width = options.width != 0 ? options.width : camera.width;
  config.height = options.height != 0 ? options.height : camera.height;
  config.stream_offset = data_offset;

  metadata.format = "aedat2";
  metadata.width = config.width;
  metadata.height = config.height;
  metadata.data_offset = data_offset;
  metadata.header.emplace_back("version", std::to_string(h.major) + "." + std::to_string(h.minor));
  metadata.header.emplace_back("camera", camera.name);
  metadata.header.insert(metadata.header.end(), h.entries.begin(), h.entries.end());
  if (h.major == 1) {
    return std::make_unique<WordStreamReader<Aedat2Decoder<6>>>(std::move(source), data_offset,
                                                                 Aedat2Decoder<6>(config), options.strict);
  }
  return std::make_unique<WordStreamReader<Aedat2Decoder<8>>>(std::move(source), data_offset,
                                                               Aedat2Decoder<8>(config), options.strict);
}

}  // namespace

std::vector<std::string> aedat_camera_names() {
  return {"dvs128", "davis128", "davis208", "davis240", "davis346", "davis640"};
}

std::optional<AedatCamera> aedat_camera_from_name(std::string_view name) {
  std::string key;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  for (const KnownCamera& k : kCameras) {
    if (key.find(k.key) != std::string::npos) return k.camera;
  }
  return std::nullopt;
}

FormatDecoder aedat2_decoder() { return {&sniff_aedat2, &open_aedat2}; }

}  // namespace evlib::detail
