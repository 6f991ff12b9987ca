#pragma once
// The TIME_HIGH words of the EVT 2.0 and EVT 2.1 writers (docs/formats.md 15.2, 15.3): one before
// the first event, then one per step of at most 128 units (8.192 ms) of elapsed time, so that
// every known decoder detects the 2^34 µs wrap.
#include <algorithm>
#include <cstdint>
#include <string>

#include "evlib/error.hpp"

namespace evlib::detail {

// The most TIME_HIGH words the RAW writers put in one gap between events: a gap of hours would
// otherwise become hundreds of MB of time words (EVT 3.0 writes one per 4.096 ms, EVT 2.x one
// per 8.192 ms), held in memory until the flush.
inline constexpr std::int64_t kMostTimeHighsPerGap = std::int64_t{1} << 20;

class TimeHighClock {
 public:
  // exact_wrap: cross each 2^34 µs boundary as TIME_HIGH 0x0FFFFFFF then 0 (Metavision's EVT 2.1
  // decoder recognises a wrap only as that step).
  explicit TimeHighClock(const char* format, bool exact_wrap = false) : format_(format), exact_wrap_(exact_wrap) {}

  // Calls put(value) for each TIME_HIGH (28 bits) needed before a word at time t; index names
  // the event or trigger in errors.
  template <class Put>
  void advance_to(std::int64_t t, std::size_t index, Put&& put) {
    if (t < 0) throw InvalidArgument(std::string(format_) + " cannot store negative time (event " + std::to_string(index) + ")");
    // Events and triggers are merged per batch; across the two tables time may step back by less
    // than one TIME_HIGH unit, which the format represents fine.
    const std::int64_t th = t >> 6;
    if (have_time_ && th > current_ && (th - current_) / 128 > kMostTimeHighsPerGap) {
      throw InvalidArgument(std::string(format_) + ": the gap of " + std::to_string((th - current_) << 6) +
                            " us before event " + std::to_string(index) + " would take " +
                            std::to_string((th - current_) / 128) +
                            " TIME_HIGH words (one per 8192 us); gaps over 2^20 of them (2.4 hours) are refused");
    }
    if (!have_time_) {
      put(static_cast<std::uint32_t>(th & 0x0FFFFFFF));
      current_ = th;
      have_time_ = true;
      return;
    }
    if (th < current_) {
      throw InvalidArgument("events must be in non-decreasing time order (event " + std::to_string(index) + ")");
    }
    while (current_ < th) {
      std::int64_t next = current_ + std::min<std::int64_t>(th - current_, 128);
      if (exact_wrap_ && (next >> 28) != (current_ >> 28) && (current_ & 0x0FFFFFFF) != 0x0FFFFFFF) {
        next = current_ | 0x0FFFFFFF;
      }
      current_ = next;
      put(static_cast<std::uint32_t>(current_ & 0x0FFFFFFF));
    }
  }

 private:
  const char* format_;
  const bool exact_wrap_;
  bool have_time_ = false;
  std::int64_t current_ = 0;
};

}  // namespace evlib::detail
