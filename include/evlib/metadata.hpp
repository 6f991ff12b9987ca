#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace evlib {

// What a file says about itself, known before any event is decoded.
struct Metadata {
  std::string path;
  std::string format;              // registry name: "evt2", "evt21", "evt3", "dat", ...
  std::uint32_t width = 0;         // 0 = the file does not say
  std::uint32_t height = 0;
  std::vector<std::pair<std::string, std::string>> header;  // in file order, later duplicates win on lookup
  std::uint64_t data_offset = 0;   // first byte of the event payload
  std::uint64_t file_size = 0;
  std::int64_t time_shift = 0;     // subtracted from every timestamp (Metavision compatibility), else 0

  // The value of the last header entry named key, or nullptr.
  const std::string* header_value(const std::string& key) const;
};

// Corrupt or dropped input, counted by kind. Lenient readers report these; strict readers raise
// a FormatError at the first chunk that has any corrupt word (first_error_offset says where).
struct DecodeStats {
  std::uint64_t words = 0;                  // words (or records) examined
  std::uint64_t before_first_time_high = 0; // words dropped because the time base was unknown
  std::uint64_t out_of_bounds = 0;          // events outside the sensor geometry, dropped
  std::uint64_t missing_row = 0;            // EVT3 column words without a valid ADDR_Y
  std::uint64_t missing_vector_base = 0;    // EVT3 vector words without VECT_BASE_X
  std::uint64_t non_cd_row_events = 0;      // EVT3 events on a non-CD (type 0x1) row, dropped
  std::uint64_t orphan_continued = 0;       // CONTINUED words with no group to continue
  std::uint64_t partial_groups = 0;         // OTHERS / IMU groups cut short
  std::uint64_t unknown_words = 0;          // reserved type nibbles, malformed text lines, unusable NumPy values
  std::uint64_t non_monotonic_time_high = 0;// TIME_HIGH going back without a wrap
  std::uint64_t time_wraps = 0;             // counter wraps handled (not an error)
  std::uint64_t monitoring_events = 0;      // OTHERS groups (ERC counters, padding), not an error
  std::uint64_t imu_samples = 0;            // EVT2 IMU groups, AEDAT 3/4 IMU samples, skipped, not an error
  std::uint64_t skipped_records = 0;        // AEDAT APS/IMU records, frames, other packet types: skipped, not an error
  std::uint64_t invalid_events = 0;         // AEDAT 3 events the recorder marked invalid, dropped, not an error
  std::uint64_t corrupt_packets = 0;        // AEDAT 3/4 packets whose header or payload does not parse, skipped
  std::uint64_t trailing_bytes = 0;         // bytes of an incomplete final word or record
  // Absolute file offset of the first corrupt word; ~0 (FormatError::kNoOffset) when the format
  // has no byte offsets to give (HDF5: first_error names the event and the dataset instead).
  std::uint64_t first_error_offset = ~std::uint64_t{0};
  std::string first_error;                  // what it was

  // Sum of the kinds that mean damaged input (not wraps, monitoring or IMU).
  std::uint64_t corrupt() const noexcept {
    return out_of_bounds + missing_row + missing_vector_base + non_cd_row_events + orphan_continued +
           partial_groups + unknown_words + non_monotonic_time_high + corrupt_packets + trailing_bytes;
  }
  // Records where the first corruption happened. Cold path: called once per corrupt word.
  void note_error(std::uint64_t offset, const char* what) {
    if (first_error_offset == ~std::uint64_t{0}) {
      first_error_offset = offset;
      first_error = what;
    }
  }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const;
  // Adds the counts of a decoder that read another part of the same file (parallel decoding);
  // the first error kept is the one at the lowest offset.
  DecodeStats& operator+=(const DecodeStats& other);
};

}  // namespace evlib
