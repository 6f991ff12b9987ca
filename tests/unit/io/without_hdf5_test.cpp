// A build configured with -DEVLIB_WITH_HDF5=OFF (tests/CMakeLists.txt compiles this file only
// then): HDF5 files are still recognised, by their signature, and refused with one clear error,
// for reading and for writing; every other format is unaffected.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "evlib/error.hpp"
#include "evlib/formats.hpp"
#include "evlib/reader.hpp"
#include "evlib/writer.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

const std::string kWhy = "built without HDF5 support (reconfigure with -DEVLIB_WITH_HDF5=ON)";

// What the exception says, or "" when f does not throw UnsupportedFormat.
template <class F>
std::string unsupported_message(F&& f) {
  try {
    f();
  } catch (const UnsupportedFormat& e) {
    return e.what();
  }
  return "";
}

// The first bytes of an HDF5 file: the superblock signature, then anything.
std::vector<std::uint8_t> hdf5_signature() {
  return {0x89, 'H', 'D', 'F', '\r', '\n', 0x1A, '\n', 0, 0, 0, 0, 0, 0, 0, 0};
}

TEST(WithoutHdf5, reading_an_hdf5_file_says_how_to_get_support) {
  test::ScopedTempDir dir;
  for (const char* name : {"rec.h5", "rec.hdf5", "no-extension"}) {
    const std::string path = dir.file(name);
    test::write_file(path, hdf5_signature());
    EXPECT_EQ(unsupported_message([&] { read(path); }), path + ": " + kWhy);
    EXPECT_EQ(unsupported_message([&] { Reader::open(path); }), path + ": " + kWhy);
    EXPECT_EQ(unsupported_message([&] { detect_format(path); }), path + ": " + kWhy);
    ReadOptions named;
    named.format = "hdf5";
    EXPECT_EQ(unsupported_message([&] { read(path, named); }), path + ": " + kWhy);
  }
}

TEST(WithoutHdf5, writing_an_hdf5_file_says_how_to_get_support) {
  test::ScopedTempDir dir;
  WriteOptions wo;
  wo.width = 640;
  wo.height = 480;
  for (const char* name : {"out.h5", "out.hdf5"}) {
    const std::string path = dir.file(name);
    EXPECT_EQ(unsupported_message([&] { Writer::create(path, wo); }), path + ": " + kWhy);
  }
  WriteOptions named = wo;
  named.format = "hdf5";
  EXPECT_EQ(unsupported_message([&] { Writer::create(dir.file("out.bin"), named); }), dir.file("out.bin") + ": " + kWhy);
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(WithoutHdf5, lists_leave_hdf5_out_and_say_why) {
  const auto info = format_info("hdf5");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->readable);
  EXPECT_FALSE(info->writable);
  EXPECT_EQ(info->unavailable, kWhy);
  const auto readable = supported_formats();
  const auto writable = writable_formats();
  EXPECT_EQ(std::count(readable.begin(), readable.end(), "hdf5"), 0);
  EXPECT_EQ(std::count(writable.begin(), writable.end(), "hdf5"), 0);
  EXPECT_EQ(std::count(writable.begin(), writable.end(), "evt3"), 1);
}

TEST(WithoutHdf5, convert_to_hdf5_fails_before_reading_its_input) {
  test::ScopedTempDir dir;
  const std::string in = test::write_events(dir.file("in.txt"), {}, test::batch_of({{1, 2, 3, 1}}));
  const std::string out = dir.file("out.h5");
  std::string err;
  EXPECT_EQ(test::run_command(std::string("'") + EVLIB_CLI + "' convert -q '" + in + "' '" + out + "'", nullptr, &err), 3);
  EXPECT_NE(err.find(out + ": " + kWhy), std::string::npos) << err;
  EXPECT_FALSE(test::file_exists(out));
}

}  // namespace
}  // namespace evlib
