// The format registry: every list evlib gives (writable names, the CLI's --to help), the writer's
// choice by name and by extension, aliases, and the options that key a format's index cache all
// come from the one entry per format.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
#include "io/format_reader.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

// Events every writable format holds exactly: sorted times below 2^24 µs, 11-bit coordinates.
EventBatch small_scene() {
  return test::batch_of({{10, 1, 2, 1}, {10, 3, 2, 1}, {75, 639, 479, 0}, {4096, 100, 200, 1}, {70000, 5, 6, 0}});
}

WriteOptions geometry(const std::string& format) {
  WriteOptions wo;
  wo.format = format;
  wo.width = 640;
  wo.height = 480;
  return wo;
}

// Every name Writer::create accepts for f: its own and its write aliases.
std::vector<std::string> write_names(const FormatInfo& f) {
  std::vector<std::string> names;
  const auto writable = writable_formats();
  for (const std::string& n : writable) {
    if (n == f.name || std::find(f.aliases.begin(), f.aliases.end(), n) != f.aliases.end()) names.push_back(n);
  }
  return names;
}

TEST(Registry, writable_formats_are_the_writable_entries_and_their_write_names) {
  std::vector<std::string> from_entries;
  for (const FormatInfo& f : formats()) {
    if (!f.writable) continue;
    EXPECT_FALSE(f.write_extensions.empty()) << f.name;
    for (const std::string& n : write_names(f)) from_entries.push_back(n);
    EXPECT_EQ(write_names(f).front(), f.name);
  }
  EXPECT_EQ(from_entries, writable_formats());
  for (const char* name : {"evt3", "evt2", "dat", "aedat4", "npy", "npz", "text", "csv"}) {
    EXPECT_EQ(std::count(from_entries.begin(), from_entries.end(), name), 1) << name;
  }
}

TEST(Registry, supported_formats_are_the_readable_entries) {
  std::vector<std::string> readable;
  for (const FormatInfo& f : formats()) {
    if (f.readable) readable.push_back(f.name);
  }
  EXPECT_EQ(readable, supported_formats());
}

TEST(Registry, every_writable_format_round_trips_through_writer_create_by_name) {
  test::ScopedTempDir dir;
  const EventBatch events = small_scene();
  for (const FormatInfo& f : formats()) {
    if (!f.writable) continue;
    for (const std::string& name : write_names(f)) {
      SCOPED_TRACE(name);
      // A neutral extension: the name alone picks the encoder; reading it back names it too.
      const std::string path = test::write_events(dir.file("by-name-" + name + ".out"), geometry(name), events);
      ReadOptions ro;
      ro.format = name;
      const Recording back = read(path, ro);
      EXPECT_EQ(back.metadata->format, f.name);
      EXPECT_EQ(digest(back.events), digest(events));
    }
  }
}

TEST(Registry, every_writable_format_round_trips_through_writer_create_by_extension) {
  test::ScopedTempDir dir;
  const EventBatch events = small_scene();
  for (const FormatInfo& f : formats()) {
    if (!f.writable) continue;
    for (const std::string& ext : f.write_extensions) {
      SCOPED_TRACE(f.name + " " + ext);
      const std::string path = dir.file("by-ext-" + f.name + ext);
      const std::string written_as = write_format_for(path).value_or("?");
      // An extension two formats write (".raw") belongs to the first registered (EVT 3.0).
      const auto owner = format_info(written_as);
      ASSERT_TRUE(owner.has_value());
      test::write_events(path, geometry(""), events);
      const Recording back = read(path);
      EXPECT_EQ(back.metadata->format, owner->name);
      EXPECT_EQ(detect_format(path), owner->name);
      EXPECT_EQ(digest(back.events), digest(events));
    }
  }
  EXPECT_EQ(write_format_for("a.RAW"), "evt3");
  EXPECT_EQ(write_format_for("a.csv"), "csv");
  EXPECT_EQ(write_format_for("a.txt"), "text");
  EXPECT_EQ(write_format_for("a.hdf5"), "hdf5");
  EXPECT_EQ(write_format_for("a.mp4"), std::nullopt);
}

TEST(Registry, csv_is_text_with_commas_and_a_header_row) {
  test::ScopedTempDir dir;
  const std::string path = test::write_events(dir.file("e.csv"), geometry(""), small_scene());
  const auto bytes = test::read_file(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "t,x,y,p\n");
  EXPECT_EQ(format_info("csv")->name, "text");
}

TEST(Registry, aliases_resolve_for_reading_and_writing) {
  EXPECT_EQ(format_info("evt2.0")->name, "evt2");
  EXPECT_EQ(format_info("EVT2.1")->name, "evt21");
  EXPECT_EQ(format_info("evt3.0")->name, "evt3");
  EXPECT_EQ(format_info("Evt3")->name, "evt3");
  EXPECT_FALSE(format_info("raw").has_value()) << "raw is a container, not one format";
  EXPECT_FALSE(format_info("mp4").has_value());

  test::ScopedTempDir dir;
  const EventBatch events = small_scene();
  const std::string evt3 = test::write_events(dir.file("a.raw"), geometry("evt3.0"), events);
  const std::string evt2 = test::write_events(dir.file("b.raw"), geometry("EVT2.0"), events);
  for (const auto& [path, name] : {std::pair{evt3, "evt3"}, std::pair{evt2, "evt2"}}) {
    for (const char* requested : {"raw", "RAW", ""}) {
      ReadOptions ro;
      ro.format = requested;  // the container: the header picks the encoding
      const Recording back = read(path, ro);
      EXPECT_EQ(back.metadata->format, name) << requested;
      EXPECT_EQ(digest(back.events), digest(events));
    }
    ReadOptions by_alias;
    by_alias.format = std::string(name) + ".0";
    EXPECT_EQ(read(path, by_alias).metadata->format, name);
  }
  const std::string evt21 = test::write_events(dir.file("c.raw"), geometry("EVT2.1"), events);
  EXPECT_EQ(read(evt21).metadata->format, "evt21");
  EXPECT_EQ(digest(read(evt21).events), digest(events));
  EXPECT_THROW(Writer::create(dir.file("c.raw"), geometry("raw")), UnsupportedFormat);
}

TEST(Registry, formats_that_require_geometry_refuse_to_write_without_it) {
  test::ScopedTempDir dir;
  for (const FormatInfo& f : formats()) {
    if (!f.writable) continue;
    WriteOptions wo;
    wo.format = f.name;
    const std::string path = dir.file("nogeo-" + f.name);
    if (f.traits.geometry == GeometryNeed::required) {
      EXPECT_THROW(Writer::create(path, wo), InvalidArgument) << f.name;
    } else {
      EXPECT_NO_THROW(test::write_events(path, wo, small_scene())) << f.name;
    }
  }
}

TEST(Registry, traits_say_what_a_written_file_holds) {
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  triggers.push_back(20, 0, 1);  // channel 0: the one every trigger-holding format has
  for (const FormatInfo& f : formats()) {
    if (!f.writable) continue;
    SCOPED_TRACE(f.name);
    const std::string path = dir.file("trig-" + f.name);
    bool written = true;
    try {
      test::write_events(path, geometry(f.name), small_scene(), triggers);
    } catch (const InvalidArgument&) {
      written = false;
    }
    EXPECT_EQ(written, f.traits.holds_triggers);
    if (written) EXPECT_EQ(read(path).triggers.size(), 1u);
  }
  EXPECT_EQ(format_info("evt3")->traits.time_wrap_bits, 24);
  EXPECT_EQ(format_info("evt2")->traits.time_wrap_bits, 34);
  EXPECT_EQ(format_info("npy")->traits.time_wrap_bits, 0);
}

TEST(Registry, cli_to_option_and_generate_help_list_exactly_the_writable_formats) {
  std::string writable;
  for (const std::string& n : writable_formats()) writable += (writable.empty() ? "" : ", ") + n;
  for (const char* command : {"convert", "generate"}) {
    std::string out;
    ASSERT_EQ(test::run_command(std::string("'") + EVLIB_CLI + "' " + command + " --help", &out), 0) << command;
    const std::string marker = "Output format: ";
    const auto at = out.find(marker);
    ASSERT_NE(at, std::string::npos) << out;
    const std::string listed = out.substr(at + marker.size(), writable.size() + 1);
    EXPECT_EQ(listed.substr(0, writable.size()), writable) << command;
    EXPECT_TRUE(listed.size() == writable.size() || listed.back() == '\n' || listed.back() == ' ') << command << ": " << listed;
  }
}

// Sets the ReadOptions field behind `option` to a value other than its default.
void change(ReadOptions& o, FormatOption option) {
  switch (option) {
    case FormatOption::geometry: o.width = 320; break;
    case FormatOption::metavision_time_shift: o.metavision_time_shift = true; break;
    case FormatOption::evt21_endianness: o.evt21_endianness = "legacy"; break;
    case FormatOption::aedat_camera: o.aedat_camera = "davis346"; break;
    case FormatOption::text_columns: o.text_columns = "xypt"; break;
    case FormatOption::text_time_unit: o.text_time_unit = "ms"; break;
    case FormatOption::compression:
    case FormatOption::header: break;
  }
}

TEST(Registry, index_options_hash_follows_the_options_a_format_reads) {
  const FormatOption read_options[] = {FormatOption::geometry,     FormatOption::metavision_time_shift,
                                       FormatOption::evt21_endianness, FormatOption::aedat_camera,
                                       FormatOption::text_columns, FormatOption::text_time_unit};
  for (const FormatInfo& f : formats()) {
    const std::uint64_t base = detail::read_options_hash(f.name, ReadOptions{});
    for (FormatOption option : read_options) {
      ReadOptions changed;
      change(changed, option);
      const bool reads = std::any_of(f.read_options.begin(), f.read_options.end(),
                                     [&](const FormatOptionInfo& o) { return o.option == option; });
      EXPECT_EQ(detail::read_options_hash(f.name, changed) != base, reads)
          << f.name << " " << static_cast<int>(option) << (reads ? ": an option it reads" : ": an option it ignores");
    }
    // Options every format treats alike never key the cache.
    ReadOptions other;
    other.strict = true;
    other.chunk_events = 4096;
    other.format = f.name;
    EXPECT_EQ(detail::read_options_hash(f.name, other), base) << f.name;
  }
  const auto text = format_info("text")->read_options, evt3 = format_info("evt3")->read_options;
  EXPECT_TRUE(std::any_of(text.begin(), text.end(), [](const FormatOptionInfo& o) { return o.option == FormatOption::text_time_unit; }));
  EXPECT_TRUE(std::none_of(evt3.begin(), evt3.end(), [](const FormatOptionInfo& o) { return o.option == FormatOption::text_columns; }));
}

TEST(Registry, option_schema_lists_the_values_readers_accept) {
  test::ScopedTempDir dir;
  const std::string path = test::write_events(dir.file("e.txt"), geometry(""), small_scene());
  const auto text = format_info("text")->read_options;
  for (const FormatOptionInfo& o : text) {
    if (o.option != FormatOption::text_time_unit) continue;
    EXPECT_EQ(o.field, "text_time_unit");
    for (const std::string& unit : o.values) {
      ReadOptions ro;
      ro.text_time_unit = unit;
      EXPECT_NO_THROW(read(path, ro)) << unit;
    }
  }
  ReadOptions bad;
  bad.text_time_unit = "fortnights";
  EXPECT_THROW(read(path, bad), InvalidArgument);
}

}  // namespace
}  // namespace evlib
