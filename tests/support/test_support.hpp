#pragma once
// Helpers shared by the unit tests.
#include <cstdint>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"

namespace evlib::test {

// Path of a file in ../shared/data (the real recordings), e.g. shared_data("evt3/x.raw").
std::string shared_data(const std::string& relative);
// A fresh empty directory for this test; removed by the OS tmp cleaner, not by us.
std::string temp_dir();
// Writes bytes to a new file under temp_dir() and returns its path.
std::string write_temp_file(const std::string& name, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_file(const std::string& path);
// Bytes from a hex string such as "2D 8B 00 60" (spaces ignored).
std::vector<std::uint8_t> hex_bytes(const std::string& hex);
// Concatenation helper: a header string followed by bytes.
std::vector<std::uint8_t> with_header(const std::string& header, const std::vector<std::uint8_t>& payload);

}  // namespace evlib::test
