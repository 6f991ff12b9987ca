#pragma once
// ECF, the event codec of Prophesee HDF5 files (docs/formats.md 7.3), written from the spec. One HDF5
// chunk of /CD/events is one ECF block:
//
//   uint32 H (N = H >> 2 events; bit 1 YXP_PACKED, bit 0 XP_PACKED), uint64 t0,
//   a timestamp stream, then either packed (y,x,p) groups, or a y run-length stream followed by
//   packed (x,p) groups or by a masked-x stream and a polarity run-length stream.
//
// The decoder treats its input as untrusted: every read is checked against the block size and a
// malformed block yields an error (with the byte offset) instead of reading or writing out of
// bounds. All multi-byte values are little-endian.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace evlib::detail::ecf {

inline constexpr std::size_t kMaxEvents = 65535;  // N is stored in 30 bits but the format caps it
inline constexpr std::size_t kHeaderBytes = 12;
inline constexpr std::uint32_t kXpPacked = 1;
inline constexpr std::uint32_t kYxpPacked = 2;
inline constexpr std::uint32_t kCoordinateLimit = 2048;  // x and y are 11-bit fields in the packed modes

enum class Mode { automatic, yxp_packed, xp_packed, masked_x };

// Output columns with room for a known number of events.
struct Columns {
  std::int64_t* t;
  std::uint16_t* x;
  std::uint16_t* y;
  std::uint8_t* p;
};

struct DecodeResult {
  std::size_t events = 0;        // events written (N on success)
  std::size_t bytes = 0;         // bytes of the block consumed (the rest is padding)
  const char* error = nullptr;   // nullptr on success, else what was wrong
  std::size_t error_offset = 0;  // byte offset inside the block where the error was found
  bool ok() const noexcept { return error == nullptr; }
};

// The event count N announced by the block header, or nullopt when the block is shorter than a
// header or N exceeds kMaxEvents.
std::optional<std::size_t> block_event_count(std::span<const std::uint8_t> block) noexcept;

// Decodes one block into out, which has room for `capacity` events. Fails (without writing past
// capacity events or reading past the block) when N > capacity, N > kMaxEvents, a stream ends
// early, a run would produce more than N values, or a large time delta exceeds 64 bits.
// Masked-x words may yield x up to 2047 + 5; callers check coordinates against their geometry.
DecodeResult decode(std::span<const std::uint8_t> block, const Columns& out, std::size_t capacity) noexcept;

// Events to encode: parallel columns of equal length.
struct EventColumns {
  std::span<const std::int64_t> t;
  std::span<const std::uint16_t> x;
  std::span<const std::uint16_t> y;
  std::span<const std::uint8_t> p;
};

// Appends the ECF block of `events` to out and returns the mode used. Throws InvalidArgument
// (naming the event index) for more than kMaxEvents events, columns of unequal length, x or y
// >= 2048, p > 1, or a decreasing timestamp: the reference encoder clamps these silently, evlib
// refuses to lose data. Mode::automatic applies the reference heuristic (docs/formats.md 7.3); every
// mode decodes to the same events.
Mode encode(const EventColumns& events, std::vector<std::uint8_t>& out, Mode mode = Mode::automatic);

// The mode Mode::automatic picks for these events (looks at the first quarter only).
Mode choose_mode(const EventColumns& events) noexcept;

}  // namespace evlib::detail::ecf
