#include "evlib/ops/event_frame.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "pixel_cells.hpp"

namespace evlib::ops {
namespace {

template <class T, CountOverflow O>
inline void count_one(T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    v += T(1);
  } else if constexpr (O == CountOverflow::kWrap) {
    using U = std::make_unsigned_t<T>;
    v = static_cast<T>(static_cast<U>(static_cast<U>(v) + 1u));
  } else {
    v = static_cast<T>(v + (v != std::numeric_limits<T>::max()));
  }
}

// Frames beyond the core's caches (e.g. 3.7 MB of uint16 at 1280x720) prefetch each event's cell.
template <class T, CountOverflow O, bool kMerge>
void count_events(EventView events, SensorSize sensor, T* frame) {
  const std::uint16_t* x = events.x().data();
  const std::uint16_t* y = events.y().data();
  const std::uint8_t* p = kMerge ? nullptr : events.p().data();
  const auto count = [frame](std::size_t, std::size_t cell) { count_one<T, O>(frame[cell]); };
  if ((kMerge ? 1 : 2) * sensor.pixels() * sizeof(T) >= detail::kPrefetchedStateBytes) {
    // As an integer: the cell may be kNoCell, off the frame (only a wasted prefetch).
    const auto address = [frame](std::size_t cell) {
      return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(frame) + cell * sizeof(T));
    };
    detail::for_each_pixel_cell_prefetched<!kMerge>(x, y, p, events.size(), sensor, address, count);
  } else {
    detail::for_each_pixel_cell<!kMerge>(x, y, p, events.size(), sensor, count);
  }
}

void require_frame_options(const EventFrameOptions& options) {
  detail::require_sensor(options.sensor, "event frame");
  if (options.polarities != 1 && options.polarities != 2)
    throw std::invalid_argument("event frame: polarities must be 1 or 2");
}

}  // namespace

template <class T>
void accumulate_frame(EventView events, const EventFrameOptions& options, std::span<T> frame) {
  require_frame_options(options);
  const std::size_t size = options.polarities * options.sensor.pixels();
  if (frame.size() != size)
    throw std::invalid_argument("event frame: the frame holds " + std::to_string(frame.size()) + " values, not " +
                                std::to_string(size));
  if (events.empty()) return;
  detail::require_columns(events, kColumnX | kColumnY | (options.polarities == 2 ? kColumnP : 0u), "event frame");
  const bool merge = options.polarities == 1;
  const bool wrap = options.overflow == CountOverflow::kWrap;
  T* out = frame.data();
  if (merge && wrap) count_events<T, CountOverflow::kWrap, true>(events, options.sensor, out);
  else if (merge) count_events<T, CountOverflow::kSaturate, true>(events, options.sensor, out);
  else if (wrap) count_events<T, CountOverflow::kWrap, false>(events, options.sensor, out);
  else count_events<T, CountOverflow::kSaturate, false>(events, options.sensor, out);
}

namespace {

// Each window's events added into its frame of out (size checked by the caller).
template <class T>
void accumulate_frames(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options,
                       std::span<T> out) {
  const std::size_t frame = options.polarities * options.sensor.pixels();
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const IndexRange r = windows[w];
    if (r.begin > r.end || r.end > events.size()) throw std::invalid_argument("event frame: a window lies outside the events");
    accumulate_frame(events.slice(r.begin, r.end), options, out.subspan(w * frame, frame));
  }
}

}  // namespace

namespace {

template <class T>
void require_frames_size(std::span<const IndexRange> windows, const EventFrameOptions& options, std::span<T> out) {
  require_frame_options(options);
  const std::size_t frame = options.polarities * options.sensor.pixels();
  if (out.size() != windows.size() * frame)
    throw std::invalid_argument("event frame: the output holds " + std::to_string(out.size()) + " values, not " +
                                std::to_string(windows.size() * frame));
}

}  // namespace

template <class T>
void event_frames(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options,
                  std::span<T> out) {
  require_frames_size(windows, options, out);
  std::ranges::fill(out, T{});
  accumulate_frames(events, windows, options, out);
}

template <class T>
void event_frames_into_zeroed(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options,
                              std::span<T> out) {
  require_frames_size(windows, options, out);
  accumulate_frames(events, windows, options, out);
}

template <class T>
std::vector<T> event_frames(EventView events, std::span<const IndexRange> windows, const EventFrameOptions& options) {
  require_frame_options(options);
  std::vector<T> out(windows.size() * options.polarities * options.sensor.pixels());  // zeroed once, here
  accumulate_frames(events, windows, options, std::span<T>(out));
  return out;
}

#define EVLIB_EVENT_FRAME_INSTANTIATE(T)                                                                           \
  template void accumulate_frame<T>(EventView, const EventFrameOptions&, std::span<T>);                           \
  template void event_frames<T>(EventView, std::span<const IndexRange>, const EventFrameOptions&, std::span<T>);  \
  template void event_frames_into_zeroed<T>(EventView, std::span<const IndexRange>, const EventFrameOptions&,      \
                                            std::span<T>);                                                        \
  template std::vector<T> event_frames<T>(EventView, std::span<const IndexRange>, const EventFrameOptions&);
EVLIB_EVENT_FRAME_INSTANTIATE(std::int8_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::int16_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::int32_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::int64_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::uint8_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::uint16_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::uint32_t)
EVLIB_EVENT_FRAME_INSTANTIATE(std::uint64_t)
EVLIB_EVENT_FRAME_INSTANTIATE(float)
EVLIB_EVENT_FRAME_INSTANTIATE(double)
#undef EVLIB_EVENT_FRAME_INSTANTIATE

}  // namespace evlib::ops
