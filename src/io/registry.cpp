// The format registry: one entry per format, and everything evlib derives from it (detection,
// the reader and writer a name or an extension picks, the lists of names, the options that key
// the index cache). HACKING.md, "Adding a format", says how to add one.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/common/columns.hpp"
#include "formats/common/encoder.hpp"
#include "formats/hdf5/hdf5.hpp"
#include "formats/inivation/aedat2.hpp"
#include "io/format_reader.hpp"
#include "io/time_index.hpp"

#ifndef EVLIB_WITH_HDF5
#error "EVLIB_WITH_HDF5 (0 or 1) comes from CMake's option of the same name"
#endif

namespace evlib::detail {

// Each format's reader entry points (sniff + open) and encoder factory, defined in its files under
// src/formats/ (HDF5's in formats/hdf5/hdf5.hpp, as a build may leave them out).
FormatDecoder evt2_decoder();
FormatDecoder evt21_decoder();
FormatDecoder evt3_decoder();
FormatDecoder dat_decoder();
FormatDecoder aedat2_decoder();
FormatDecoder aedat3_decoder();
FormatDecoder aedat4_decoder();
FormatDecoder npy_decoder();
FormatDecoder npz_decoder();
FormatDecoder text_decoder();
std::unique_ptr<EventEncoder> make_evt2_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_evt21_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_evt3_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_dat_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_aedat4_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_npy_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_npz_encoder(const WriteOptions& options);
std::unique_ptr<EventEncoder> make_text_encoder(const WriteOptions& options);  // "t x y p" lines
std::unique_ptr<EventEncoder> make_csv_encoder(const WriteOptions& options);   // "t,x,y,p" header and lines

namespace {

std::vector<FormatDescriptor> make_registry() {
  const OptionSpec geometry{FormatOption::geometry, {}};
  const OptionSpec time_shift{FormatOption::metavision_time_shift, {}};
  const OptionSpec header{FormatOption::header, {}};
  const OptionSpec columns{FormatOption::text_columns, {}};
  const OptionSpec time_unit{FormatOption::text_time_unit, time_unit_names()};
  const FormatTraits raw_traits{.geometry = GeometryNeed::required, .holds_triggers = true};
  const FormatTraits table_traits{};  // no geometry, no triggers, whole time
  // Detection order: on equal confidence (and equal extension match) the earlier entry wins.
  return {
      {.name = "evt3",
       .description = "Prophesee RAW, EVT 3.0",
       .decoder = evt3_decoder(),
       .writes = {{"evt3", {".raw"}, &make_evt3_encoder}},
       .read_extensions = {".raw"},
       .aliases = {"evt3.0"},
       .container = "raw",
       .traits = {.geometry = GeometryNeed::required, .holds_triggers = true, .time_wrap_bits = 24},
       .read_options = {geometry, time_shift},
       .write_options = {geometry, header}},
      {.name = "evt2",
       .description = "Prophesee RAW, EVT 2.0",
       .decoder = evt2_decoder(),
       .writes = {{"evt2", {".raw"}, &make_evt2_encoder}},
       .read_extensions = {".raw"},
       .aliases = {"evt2.0"},
       .container = "raw",
       .traits = {.geometry = GeometryNeed::required, .holds_triggers = true, .time_wrap_bits = 34},
       .read_options = {geometry, time_shift},
       .write_options = {geometry, header}},
      {.name = "evt21",
       .description = "Prophesee RAW, EVT 2.1",
       .decoder = evt21_decoder(),
       .writes = {{"evt21", {".raw"}, &make_evt21_encoder}},
       .read_extensions = {".raw"},
       .aliases = {"evt2.1"},
       .container = "raw",
       .traits = {.geometry = GeometryNeed::required, .holds_triggers = true, .time_wrap_bits = 34},
       .read_options = {geometry, time_shift, {FormatOption::evt21_endianness, {"", "little", "legacy"}}},
       .write_options = {geometry, header}},
      {.name = "dat",
       .description = "Prophesee DAT",
       .decoder = dat_decoder(),
       .writes = {{"dat", {".dat"}, &make_dat_encoder}},
       .read_extensions = {".dat"},
       .traits = {.geometry = GeometryNeed::optional},
       .read_options = {geometry},
       .write_options = {geometry, header}},
      {.name = "hdf5",
       .description = "HDF5 events (Prophesee ECF, DSEC, event_utils, MVSEC, evlib)",
#if EVLIB_WITH_HDF5
       .decoder = hdf5_decoder(),
       .writes = {{"hdf5", {".h5", ".hdf5"}, &make_hdf5_encoder}},
#else
       .decoder = {.sniff = &sniff_hdf5},  // recognised, to say why it cannot be read
       .writes = {{"hdf5", {".h5", ".hdf5"}}},
#endif
       .read_extensions = {".h5", ".hdf5", ".hdf"},
       .traits = {.geometry = GeometryNeed::expected, .holds_triggers = true},
       .read_options = {geometry, time_shift},
       .write_options = {geometry, header,
                         {FormatOption::compression,
                          {"", "none", "gzip", "gzip=0", "gzip=1", "gzip=2", "gzip=3", "gzip=4", "gzip=5", "gzip=6",
                           "gzip=7", "gzip=8", "gzip=9", "ecf"}}},
#if !EVLIB_WITH_HDF5
       .unavailable = "built without HDF5 support (reconfigure with -DEVLIB_WITH_HDF5=ON)",
#endif
      },
      {.name = "aedat2",
       .description = "iniVation/jAER AEDAT 1.0 and 2.0",
       .decoder = aedat2_decoder(),
       .read_extensions = {".aedat"},
       .traits = {.holds_triggers = true},
       .read_options = {geometry, {FormatOption::aedat_camera, aedat_camera_names()}}},
      {.name = "aedat3",
       .description = "iniVation cAER AEDAT 3.0 and 3.1",
       .decoder = aedat3_decoder(),
       .read_extensions = {".aedat"},
       .traits = {.geometry = GeometryNeed::optional, .holds_triggers = true},
       .read_options = {geometry}},
      {.name = "aedat4",
       .description = "iniVation DV AEDAT 4.0",
       .decoder = aedat4_decoder(),
       .writes = {{"aedat4", {".aedat4"}, &make_aedat4_encoder}},
       .read_extensions = {".aedat4"},
       .traits = raw_traits,
       .read_options = {geometry},
       .write_options = {geometry, header, {FormatOption::compression, {"", "lz4", "lz4_high", "zstd", "zstd_high", "none"}}}},
      {.name = "npy",
       .description = "NumPy .npy event array",
       .decoder = npy_decoder(),
       .writes = {{"npy", {".npy"}, &make_npy_encoder}},
       .read_extensions = {".npy"},
       .traits = table_traits,
       .read_options = {geometry, columns, time_unit}},
      {.name = "npz",
       .description = "NumPy .npz archive of event arrays",
       .decoder = npz_decoder(),
       .writes = {{"npz", {".npz"}, &make_npz_encoder}},
       .read_extensions = {".npz"},
       .traits = table_traits,
       .read_options = {geometry, columns, time_unit}},
      {.name = "text",
       .description = "text events, one per line (t x y p; CSV: t,x,y,p)",
       .decoder = text_decoder(),
       .writes = {{"text", {".txt"}, &make_text_encoder}, {"csv", {".csv"}, &make_csv_encoder}},
       .read_extensions = {".txt", ".csv"},
       .traits = table_traits,
       .read_options = {geometry, columns, time_unit}},
  };
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool extension_matches(const FormatDescriptor& f, const std::string& lower_path) {
  return std::any_of(f.read_extensions.begin(), f.read_extensions.end(),
                     [&](const std::string& ext) { return ends_with(lower_path, ext); });
}

// The write target of f that `name` (lower case) denotes: a write name, or f's name or alias
// (its first target).
const WriteTarget* target_named(const FormatDescriptor& f, const std::string& name) {
  for (const WriteTarget& w : f.writes) {
    if (name == w.name) return &w;
  }
  const bool is_f = name == f.name || std::find(f.aliases.begin(), f.aliases.end(), name) != f.aliases.end();
  return is_f && !f.writes.empty() ? &f.writes.front() : nullptr;
}

// The write target whose extension path (lower case) ends in, first registered first.
WriteChoice target_for_extension(const std::string& lower_path) {
  for (const FormatDescriptor& f : registry()) {
    for (const WriteTarget& w : f.writes) {
      for (const std::string& ext : w.extensions) {
        if (ends_with(lower_path, ext)) return {&f, &w};
      }
    }
  }
  return {};
}

bool starts_with_bytes(const std::vector<std::uint8_t>& prefix, std::string_view magic) {
  return prefix.size() >= magic.size() && std::equal(magic.begin(), magic.end(), prefix.begin(),
                                                     [](char m, std::uint8_t b) { return static_cast<std::uint8_t>(m) == b; });
}

// Containers that often hold event-camera data but that evlib does not read: named in the error,
// so that the user learns what the file is rather than that it is unrecognised (or, worse, has it
// decoded as something it resembles).
const char* foreign_container(const std::vector<std::uint8_t>& prefix) {
  using namespace std::string_view_literals;
  if (starts_with_bytes(prefix, "#ROSBAG V"sv)) return "a ROS 1 bag (rosbag)";
  if (starts_with_bytes(prefix, "\x89MCAP0\r\n"sv)) return "an MCAP file (ROS 2 bag)";
  if (starts_with_bytes(prefix, "SQLite format 3\0"sv)) return "an SQLite database (a ROS 2 bag's .db3?)";
  if (starts_with_bytes(prefix, "Event Stream"sv)) return "an Event Stream (.es) file";
  return nullptr;
}

[[noreturn]] void refuse_unavailable(const std::string& path, const FormatDescriptor& f) {
  throw UnsupportedFormat::unavailable(path, f.unavailable);
}

const FormatDescriptor& readable_or_throw(const std::string& path, const FormatDescriptor& f) {
  if (f.unavailable != nullptr) refuse_unavailable(path, f);
  if (f.decoder.open == nullptr) throw UnsupportedFormat(path, std::string("cannot read format '") + f.name + "'");
  return f;
}

std::string option_field(FormatOption option) {
  switch (option) {
    case FormatOption::geometry: return "width, height";
    case FormatOption::metavision_time_shift: return "metavision_time_shift";
    case FormatOption::evt21_endianness: return "evt21_endianness";
    case FormatOption::aedat_camera: return "aedat_camera";
    case FormatOption::text_columns: return "text_columns";
    case FormatOption::text_time_unit: return "text_time_unit";
    case FormatOption::compression: return "compression";
    case FormatOption::header: return "header";
  }
  return "";
}

// A read option's value in options, as the index cache key hashes it.
std::string read_option_value(FormatOption option, const ReadOptions& options) {
  switch (option) {
    case FormatOption::geometry: return std::to_string(options.width) + "x" + std::to_string(options.height);
    case FormatOption::metavision_time_shift: return options.metavision_time_shift ? "shift" : "abs";
    case FormatOption::evt21_endianness: return options.evt21_endianness;
    case FormatOption::aedat_camera: return options.aedat_camera;
    case FormatOption::text_columns: return options.text_columns;
    case FormatOption::text_time_unit: return options.text_time_unit;
    case FormatOption::compression:
    case FormatOption::header: break;  // write options
  }
  return "";
}

std::vector<FormatOptionInfo> option_infos(const std::vector<OptionSpec>& specs) {
  std::vector<FormatOptionInfo> out;
  for (const OptionSpec& s : specs) out.push_back({s.option, option_field(s.option), s.values});
  return out;
}

FormatInfo info_of(const FormatDescriptor& f) {
  FormatInfo info;
  info.name = f.name;
  info.description = f.description;
  info.aliases = f.aliases;
  for (const WriteTarget& w : f.writes) {
    if (w.name != info.name) info.aliases.emplace_back(w.name);
    info.write_extensions.insert(info.write_extensions.end(), w.extensions.begin(), w.extensions.end());
  }
  info.container = f.container;
  info.read_extensions = f.read_extensions;
  info.readable = f.readable();
  info.writable = f.writable();
  info.unavailable = f.unavailable != nullptr ? f.unavailable : "";
  info.traits = f.traits;
  info.read_options = option_infos(f.read_options);
  info.write_options = option_infos(f.write_options);
  return info;
}

}  // namespace

const std::vector<FormatDescriptor>& registry() {
  static const std::vector<FormatDescriptor> formats = make_registry();
  return formats;
}

const FormatDescriptor* format_named(std::string_view name) {
  const std::string wanted = ascii_lower(name);
  for (const FormatDescriptor& f : registry()) {
    if (wanted == f.name || target_named(f, wanted) != nullptr ||
        std::find(f.aliases.begin(), f.aliases.end(), wanted) != f.aliases.end()) {
      return &f;
    }
  }
  return nullptr;
}

const FormatDescriptor& find_format(const std::string& path, const std::vector<std::uint8_t>& prefix,
                                    const ReadOptions& options) {
  const auto& formats = registry();
  if (!options.format.empty()) {
    const std::string wanted = ascii_lower(options.format);
    bool container = false;
    for (const auto& f : formats) {
      if (wanted != f.container) continue;
      container = true;
      // A container: its header picks the encoding.
      if (f.decoder.sniff(prefix, path) > 0) return readable_or_throw(path, f);
    }
    if (container) throw UnsupportedFormat(path, "the " + options.format + " header names no supported encoding");
    if (const FormatDescriptor* f = format_named(wanted)) return readable_or_throw(path, *f);
    throw UnsupportedFormat(path, "unknown format '" + options.format + "'");
  }
  if (prefix.empty()) throw FormatError(path, 0, "file is empty");
  // Their magic numbers are unambiguous, so no weak match of another format may claim them.
  if (const char* what = foreign_container(prefix)) {
    throw UnsupportedFormat(path, std::string(what) + ", which evlib does not read: export its events to a supported format first");
  }
  const std::string lower_path = ascii_lower(path);
  const FormatDescriptor* best = nullptr;
  int best_score = 0;
  for (const auto& f : formats) {
    // Content decides; a matching extension breaks ties.
    const int score = f.decoder.sniff(prefix, path) * 2 + (extension_matches(f, lower_path) ? 1 : 0);
    if (score > best_score && score > 1) {
      best = &f;
      best_score = score;
    }
  }
  if (best == nullptr) throw UnsupportedFormat(path, "unrecognised file format; force one with --format (CLI) or format= (Python)");
  return readable_or_throw(path, *best);
}

WriteChoice find_write_target(const std::string& path, const std::string& requested) {
  WriteChoice choice;
  if (requested.empty()) {
    choice = target_for_extension(ascii_lower(path));
    if (choice.target == nullptr) {
      std::string names;
      for (const auto& n : writable_formats()) names += (names.empty() ? "" : ", ") + n;
      throw InvalidArgument(path + ": cannot tell the output format from the extension; give one (" + names + ")");
    }
  } else if (const FormatDescriptor* f = format_named(requested)) {
    choice = {f, target_named(*f, ascii_lower(requested))};
  }
  if (choice.format != nullptr && choice.format->unavailable != nullptr) refuse_unavailable(path, *choice.format);
  if (choice.target == nullptr) throw UnsupportedFormat(path, "cannot write format '" + requested + "'");
  return choice;
}

std::uint64_t read_options_hash(const std::string& format, const ReadOptions& options) {
  static const std::vector<OptionSpec> every_option = {
      {FormatOption::geometry, {}},     {FormatOption::metavision_time_shift, {}}, {FormatOption::evt21_endianness, {}},
      {FormatOption::aedat_camera, {}}, {FormatOption::text_columns, {}},          {FormatOption::text_time_unit, {}}};
  const FormatDescriptor* f = format_named(format);
  std::string key;
  for (const OptionSpec& s : f != nullptr ? f->read_options : every_option) {
    key += option_field(s.option) + "=" + read_option_value(s.option, options) + "|";
  }
  return fnv1a(key.data(), key.size());
}

}  // namespace evlib::detail

namespace evlib {

std::vector<FormatInfo> formats() {
  std::vector<FormatInfo> out;
  for (const auto& f : detail::registry()) out.push_back(detail::info_of(f));
  return out;
}

std::optional<FormatInfo> format_info(std::string_view name) {
  const detail::FormatDescriptor* f = detail::format_named(name);
  if (f == nullptr) return std::nullopt;
  return detail::info_of(*f);
}

std::optional<std::string> write_format_for(std::string_view path) {
  const detail::WriteChoice choice = detail::target_for_extension(detail::ascii_lower(path));
  if (choice.target == nullptr) return std::nullopt;
  return std::string(choice.target->name);
}

std::vector<std::string> supported_formats() {
  std::vector<std::string> names;
  for (const auto& f : detail::registry()) {
    if (f.readable()) names.emplace_back(f.name);
  }
  return names;
}

std::vector<std::string> writable_formats() {
  std::vector<std::string> names;
  for (const auto& f : detail::registry()) {
    if (!f.writable()) continue;
    for (const auto& w : f.writes) names.emplace_back(w.name);
  }
  return names;
}

}  // namespace evlib
