#include "evlib/ops/common.hpp"

#include <stdexcept>
#include <string>

#include <unistd.h>

namespace evlib::ops {

EventBatch select_events(EventView events, std::span<const std::uint8_t> keep) {
  if (keep.size() != events.size()) throw std::invalid_argument("select_events: keep mask size differs from the events'");
  std::size_t kept = 0;
  for (std::uint8_t k : keep) kept += k != 0;
  unsigned columns = (events.has_t() ? kColumnT : 0u) | (events.has_x() ? kColumnX : 0u) |
                     (events.has_y() ? kColumnY : 0u) | (events.has_p() ? kColumnP : 0u);
  EventBatch out = EventBatch::with_columns(kept, columns);
  std::int64_t* t = events.has_t() ? out.t_data() : nullptr;
  std::uint16_t* x = events.has_x() ? out.x_data() : nullptr;
  std::uint16_t* y = events.has_y() ? out.y_data() : nullptr;
  std::uint8_t* p = events.has_p() ? out.p_data() : nullptr;
  std::size_t j = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!keep[i]) continue;
    if (t) t[j] = events.t()[i];
    if (x) x[j] = events.x()[i];
    if (y) y[j] = events.y()[i];
    if (p) p[j] = events.p()[i];
    ++j;
  }
  out.set_size(kept);
  return out;
}

namespace detail {

void require_columns(EventView events, unsigned columns, const char* operation) {
  auto missing = [&](unsigned bit, bool present, const char* name) {
    if ((columns & bit) && !present && !events.empty())
      throw std::invalid_argument(std::string(operation) + ": the events have no " + name + " column");
  };
  missing(kColumnT, events.has_t(), "t");
  missing(kColumnX, events.has_x(), "x");
  missing(kColumnY, events.has_y(), "y");
  missing(kColumnP, events.has_p(), "p");
}

void require_keep_size(EventView events, std::span<std::uint8_t> keep, const char* operation) {
  if (keep.size() != events.size())
    throw std::invalid_argument(std::string(operation) + ": keep mask holds " + std::to_string(keep.size()) +
                                " flags for " + std::to_string(events.size()) + " events");
}

double physical_memory_bytes() noexcept {
  static const double bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0x1p62;
  }();
  return bytes;
}

void require_sensor(SensorSize sensor, const char* operation) {
  if (sensor.width == 0 || sensor.height == 0 || sensor.width > 65536 || sensor.height > 65536)
    throw std::invalid_argument(std::string(operation) + ": sensor size must be 1..65536 in each dimension");
}

}  // namespace detail
}  // namespace evlib::ops
