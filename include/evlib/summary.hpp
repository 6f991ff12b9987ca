#pragma once
// Streaming statistics of an event stream: what `evlib info` reports.
#include <cstdint>
#include <limits>

#include "evlib/event_batch.hpp"

namespace evlib {

struct Summary {
  std::uint64_t events = 0;
  std::uint64_t on = 0;
  std::uint64_t off = 0;
  std::uint64_t triggers = 0;
  std::int64_t t_first = 0;  // first event in file order
  std::int64_t t_last = 0;   // last event in file order
  std::int64_t t_min = std::numeric_limits<std::int64_t>::max();
  std::int64_t t_max = std::numeric_limits<std::int64_t>::min();
  std::uint32_t x_min = 0xFFFF, x_max = 0, y_min = 0xFFFF, y_max = 0;
  std::uint64_t backward_steps = 0;  // times t decreased from one event to the next

  void add(EventView events);
  void add(const TriggerBatch& triggers) { this->triggers += triggers.size(); }
  std::int64_t duration() const { return events == 0 ? 0 : t_max - t_min; }
  // Mean event rate in events per second over [t_min, t_max].
  double rate() const;
};

}  // namespace evlib
