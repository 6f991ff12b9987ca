#pragma once
// The formats evlib knows, as its format registry describes them: names, extensions, what this
// build can read and write, what a format can store, and which options it reads. Every list
// evlib prints (supported_formats(), writable_formats(), the CLI's help) comes from here.
//
//   for (const evlib::FormatInfo& f : evlib::formats()) {
//     if (f.writable && f.traits.holds_triggers) ...
//   }
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace evlib {

// A field of ReadOptions or WriteOptions whose meaning depends on the format.
enum class FormatOption : std::uint8_t {
  geometry,               // width and height (reading: override the file's; writing: stored)
  metavision_time_shift,  // ReadOptions::metavision_time_shift
  evt21_endianness,       // ReadOptions::evt21_endianness
  aedat_camera,           // ReadOptions::aedat_camera
  text_columns,           // ReadOptions::text_columns
  text_time_unit,         // ReadOptions::text_time_unit
  compression,            // WriteOptions::compression
  header,                 // WriteOptions::header
};

// One option a format reads, with the values it accepts.
struct FormatOptionInfo {
  FormatOption option = FormatOption::geometry;
  std::string field;                // the field's name: "evt21_endianness", "width, height"
  std::vector<std::string> values;  // the accepted values ("" = the default); empty for free-form values
};

// Where the sensor size stands in a written file.
enum class GeometryNeed : std::uint8_t {
  none,      // the file has no place for it (text, CSV, NumPy)
  optional,  // stored when WriteOptions has it (DAT)
  expected,  // stored, and other readers rely on it (Metavision's HDF5): `evlib convert` infers one
             // from the events when its input states none
  required,  // Writer::create refuses to write the file without it (RAW, AEDAT 4)
};

struct FormatTraits {
  GeometryNeed geometry = GeometryNeed::none;
  bool holds_triggers = false;  // a written file can carry external triggers
  // Time is stored modulo 2^time_wrap_bits µs from the first event on: a recording whose first
  // event is at or past it reads back shifted by a multiple of it (EVT 3.0: 24, EVT 2.0: 34).
  // 0: time is stored whole.
  int time_wrap_bits = 0;
};

struct FormatInfo {
  std::string name;                           // ReadOptions::format / WriteOptions::format
  std::string description;
  std::vector<std::string> aliases;           // other names for it: "evt3.0", "csv" (text with commas)
  std::string container;                      // shared container name ("raw": the header picks the encoding)
  std::vector<std::string> read_extensions;   // detection hints (the content decides)
  std::vector<std::string> write_extensions;  // extensions Writer::create maps to it (first: the usual one)
  bool readable = false;                      // by this build
  bool writable = false;
  std::string unavailable;                    // why this build can neither read nor write it ("" if it can)
  FormatTraits traits;
  std::vector<FormatOptionInfo> read_options;   // ReadOptions fields it reads
  std::vector<FormatOptionInfo> write_options;  // WriteOptions fields it reads
};

// Every registered format, in detection order (also those this build cannot read or write).
std::vector<FormatInfo> formats();
// The format a name or alias denotes (case-insensitive), or nullopt.
std::optional<FormatInfo> format_info(std::string_view name);
// The name Writer::create writes under for a file name whose WriteOptions::format is empty:
// ".raw" -> "evt3", ".csv" -> "csv", ...; nullopt when the extension names no format.
std::optional<std::string> write_format_for(std::string_view path);

}  // namespace evlib
