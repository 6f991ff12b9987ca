#include <algorithm>
#include <cctype>

#include "evlib/error.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

FormatDescriptor evt2_format();
FormatDescriptor evt21_format();
FormatDescriptor evt3_format();
FormatDescriptor dat_format();
FormatDescriptor hdf5_format();
FormatDescriptor aedat2_format();
FormatDescriptor aedat3_format();
FormatDescriptor aedat4_format();
FormatDescriptor npy_format();
FormatDescriptor npz_format();
FormatDescriptor text_format();

const std::vector<FormatDescriptor>& registry() {
  static const std::vector<FormatDescriptor> formats = {evt3_format(), evt2_format(), evt21_format(), dat_format(),
                                                        hdf5_format(), aedat2_format(), aedat3_format(),
                                                        aedat4_format(), npy_format(), npz_format(), text_format()};
  return formats;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool extension_matches(const FormatDescriptor& f, const std::string& path) {
  const std::string p = lower(path);
  return std::any_of(f.extensions.begin(), f.extensions.end(), [&](const std::string& ext) {
    return p.size() >= ext.size() && p.compare(p.size() - ext.size(), ext.size(), ext) == 0;
  });
}

}  // namespace

const FormatDescriptor& find_format(const std::string& path, const std::vector<std::uint8_t>& prefix,
                                    const ReadOptions& options) {
  const auto& formats = registry();
  if (!options.format.empty()) {
    const std::string wanted = lower(options.format);
    const std::string canonical = wanted == "evt2.0" ? "evt2" : wanted == "evt2.1" ? "evt21" : wanted == "evt3.0" ? "evt3" : wanted;
    if (canonical == "raw") {
      // The RAW container: let its header pick the encoding.
      for (const auto& f : formats) {
        if (f.extensions.front() == ".raw" && f.sniff(prefix, path) > 0) return f;
      }
      throw UnsupportedFormat(path, "the RAW header names no supported encoding");
    }
    for (const auto& f : formats) {
      if (canonical == f.name) return f;
    }
    throw UnsupportedFormat(path, "unknown format '" + options.format + "'");
  }
  if (prefix.empty()) throw FormatError(path, 0, "file is empty");
  const FormatDescriptor* best = nullptr;
  int best_score = 0;
  for (const auto& f : formats) {
    // Content decides; a matching extension breaks ties.
    const int score = f.sniff(prefix, path) * 2 + (extension_matches(f, path) ? 1 : 0);
    if (score > best_score && score > 1) {
      best = &f;
      best_score = score;
    }
  }
  if (best == nullptr) throw UnsupportedFormat(path, "unrecognised file format");
  return *best;
}

}  // namespace evlib::detail
